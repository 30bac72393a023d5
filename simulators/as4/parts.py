"""MIME payload parts of an AS4 message, shared by packaging, compression and WS-Security."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Attachment:
    """One SwA payload part.

    ``content_id`` is the bare id (no ``<>``, no ``cid:``), as referenced by ``eb:PartInfo/@href``
    (``cid:`` + content_id). ``headers`` keeps any further MIME headers (lower-case names) that the
    WS-Security attachment transforms must cover (``content-description``, ``content-disposition``...).
    """

    content_id: str
    content_type: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def href(self) -> str:
        return "cid:" + self.content_id
