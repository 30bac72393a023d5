"""Routing: which URL an outgoing UserMessage is POSTed to (the MSH endpoint of its ``To`` party).

The :class:`Router` resolves ``To/PartyId`` (+ type) through a :class:`~simulators.as4.pmode.PModeSet`
(static discovery; OOTS has no SMP by default, as4-profile.md §6.6). Tests redirect a party with an
override (party name or party id -> URL), e.g. to a capturing server on a free loopback port.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from .errors import EbmsError
from .model import UserMessage
from .pmode import Leg, Party, PModeSet


class RoutingError(EbmsError):
    """No endpoint for a message: unknown ``To`` party (EBMS:0003, as Domibus on submission) or a
    known party without an endpoint or with an unusable URL (EBMS:0004)."""

    def __init__(self, code: str, detail: str, ref_to_message_id: str | None = None,
                 *, party_id: str | None = None, party_type: str | None = None) -> None:
        super().__init__(code, detail, ref_to_message_id)
        self.party_id = party_id
        self.party_type = party_type


@dataclass(frozen=True)
class Route:
    """Where a message goes: the receiving party, its URL, and the leg (None when the PMode has none
    for the message's service/action: the sender may still send it, e.g. in a negative test)."""

    party: Party
    url: str
    leg: Leg | None


def _check_url(url: str, who: str, ref: str | None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RoutingError("EBMS:0004", f"endpoint of {who} is not an http(s) URL: {url!r}", ref)
    return url


class Router:
    """Resolve the endpoint of a message's ``To`` party. Thread-safe; overrides may change at run time.

    ``overrides`` maps a party *name* or *party id* to a URL and wins over the PMode endpoint. An
    override keyed by a party id also routes messages to a party the PMode does not know (the
    message is then sent as is; the receiver decides what to answer).
    """

    def __init__(self, pmodes: PModeSet, overrides: Mapping[str, str] | None = None) -> None:
        self.pmodes = pmodes
        self._lock = threading.Lock()
        self._overrides: dict[str, str] = dict(overrides or {})

    # overrides ---------------------------------------------------------------------------------------
    def set_override(self, party: str, url: str) -> None:
        """Send whatever is addressed to ``party`` (name or party id) to ``url``."""
        _check_url(url, party, None)
        with self._lock:
            self._overrides[party] = url

    def clear_override(self, party: str | None = None) -> None:
        """Remove one override, or all of them."""
        with self._lock:
            if party is None:
                self._overrides.clear()
            else:
                self._overrides.pop(party, None)

    @property
    def overrides(self) -> dict[str, str]:
        with self._lock:
            return dict(self._overrides)

    # resolution ---------------------------------------------------------------------------------------
    def endpoint(self, party_id: str, party_type: str | None = None, *, ref: str | None = None) -> tuple[Party | None, str]:
        """(party, URL) for a PartyId; the party is None when only an override knows the id."""
        with self._lock:
            overrides = dict(self._overrides)
        try:
            party = self.pmodes.party_by_id(party_id, party_type)
        except EbmsError as e:
            if party_id in overrides:
                return None, overrides[party_id]
            raise RoutingError(e.code, f"cannot route to {party_id} ({party_type or 'no type'}): {e.detail}",
                               ref, party_id=party_id, party_type=party_type) from None
        url = overrides.get(party.name) or overrides.get(party.party_id) or party.endpoint
        if not url:
            raise RoutingError("EBMS:0004", f"party {party.name} has no endpoint", ref,
                               party_id=party_id, party_type=party_type)
        return party, _check_url(url, party.name, ref)

    def route(self, um: UserMessage) -> Route:
        """The route of ``um`` (raises :class:`RoutingError`)."""
        to = um.to_party
        party, url = self.endpoint(to.party_id, to.party_type, ref=um.message_id)
        if party is None:  # override only: a party the PMode does not know
            party = Party(to.party_id, to.party_id, to.party_type, url)
        try:
            leg = self.pmodes.leg_for(um.service.value, um.service.type, um.action)
        except EbmsError:
            leg = None
        return Route(party, url, leg)

    def url_for(self, um: UserMessage) -> str:
        """Just the URL of :meth:`route`."""
        return self.route(um).url
