"""Clocks for the simulators: real time, or a virtual clock that only moves when told to.

The harness is "deterministic when asked" (DESIGN.md): a :class:`VirtualClock` drives the OOTS timers
(T1/T2/T3, edm.md §8), preview expiry and deferred answers, so that a scenario "wait 40 minutes" runs
in milliseconds. Everything that waits or reads the time takes a :class:`Clock`:

* ``now()`` — timezone-aware UTC :class:`~datetime.datetime`;
* ``monotonic()`` — float seconds, for durations/TTLs (e.g. ``SuccessCache(clock=clock.monotonic)``);
* ``await sleep(seconds)``;
* ``call_at(when, callback, *args)`` / ``call_later(seconds, callback, *args)`` — a handle with ``cancel()``.

:class:`SystemClock` is real time (``asyncio.sleep`` and the event loop's timers).

:class:`VirtualClock` starts at a fixed instant (2026-01-01T00:00:00Z by default) and time only moves
through :meth:`~VirtualClock.advance`, :meth:`~VirtualClock.advance_to`, :meth:`~VirtualClock.run_for`,
:meth:`~VirtualClock.run_until_idle` (with ``auto_advance``) or the :meth:`~VirtualClock.run` driver.
``await clock.sleep(x)`` parks the task on an asyncio future of the running loop; the future is
resolved when the clock passes its deadline. Timers fire in deadline order, FIFO for equal deadlines
(a sequence number breaks ties), so woken tasks resume in that order. Virtual time is kept as integer
microseconds since the start: ``now()`` and ``monotonic()`` are derived from the same counter and
always agree exactly (``monotonic()`` is 0.0 at the start instant).

Auto-advance — :meth:`VirtualClock.run` (``await clock.run(coro)``) runs ``coro`` as a task and drives
the loop: whenever nothing else is ready, the clock jumps to the next deadline. "Nothing ready" is
decided as follows:

1. *settle*: the driver yields to the loop (``asyncio.sleep(0)``) until the loop's ready queue is
   empty (CPython's ``BaseEventLoop._ready``; on loops without it, e.g. uvloop, a fixed number of
   yields is used instead — a heuristic);
2. *fast path*: if every other live task is suspended in this clock's ``sleep``, the loop is idle by
   construction: jump at once;
3. *grace path*: otherwise some task waits on something else — real I/O, a worker thread, an
   ``asyncio.Event`` that a sleeping task will set... The driver cannot tell these apart, so it waits
   up to ``grace`` seconds of **real** time for activity (a new timer, the main task finishing). If
   nothing happened in that window, the loop is deemed idle and the clock jumps.

Limits (honest ones):

* real I/O and thread-pool work still take real time; virtual time does not pass while waiting for
  them *unless* they take longer than ``grace`` while a timer is pending (step 3), in which case the
  clock may jump ahead during the I/O. Raise ``grace`` for slow real work, or drive time by hand;
* each grace-path jump costs up to ``grace`` real seconds (default 0.02 s), the fast path costs none;
* timers of the event loop itself (``asyncio.sleep``, ``asyncio.timeout``, ``loop.call_later``,
  aiohttp timeouts) are real time and are not virtualised: only code that uses the clock is;
* a periodic task that always re-arms makes :meth:`~VirtualClock.run_until_idle` with
  ``auto_advance`` endless — bounded by ``max_jumps`` (RuntimeError);
* tasks still sleeping on the clock when ``run`` returns stay suspended (``asyncio.run`` cancels them
  at shutdown).

Not thread-safe: use a clock from the thread of the event loop that sleeps on it (advance it from
that thread too). Futures are bound to the loop running when ``sleep`` was called; a clock may be
reused across successive ``asyncio.run`` calls, but not shared by two loops at once.

Adapters: ``AccessPoint(..., **clock.msh_kwargs())`` gives the MSH the ``sleep`` coroutine
function (``Callable[[float], Awaitable]``) for its resend waits and the ``clock`` callable
(``Callable[[], datetime]``) for certificate validity and receipt timestamps. Note the MSH measures
attempt durations with ``time.monotonic()`` (real time) regardless.

:class:`Timers` holds the OOTS intervals (edm.md §8) as :class:`~datetime.timedelta`.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Coroutine, Literal, Protocol, TypeVar, runtime_checkable

__all__ = [
    "DEFAULT_START", "Clock", "ClockHandle", "SystemClock", "VirtualClock", "VirtualTimer", "Timers",
    "msh_kwargs",
]

T = TypeVar("T")

#: Where a :class:`VirtualClock` starts unless told otherwise.
DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)

_US = timedelta(microseconds=1)
_SETTLE_SPINS = 10_000  # upper bound of yields to let the ready queue drain
_BLIND_SPINS = 50       # yields used when the loop's ready queue cannot be inspected


@runtime_checkable
class ClockHandle(Protocol):
    """What ``call_at``/``call_later`` return (``asyncio.TimerHandle`` satisfies it)."""

    def cancel(self) -> None: ...


@runtime_checkable
class Clock(Protocol):
    """A source of time for the simulators (see the module documentation)."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, when: datetime, callback: Callable[..., object], *args: Any) -> ClockHandle: ...

    def call_later(self, seconds: float, callback: Callable[..., object], *args: Any) -> ClockHandle: ...


def msh_kwargs(clock: Clock) -> dict[str, Any]:
    """``sleep=`` and ``clock=`` for :class:`simulators.as4.msh.AccessPoint` from any :class:`Clock`."""
    return {"sleep": clock.sleep, "clock": clock.now}


def _aware_utc(when: datetime, what: str = "datetime") -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {when!r}")
    return when.astimezone(timezone.utc)


# --- real time -----------------------------------------------------------------------------------------
class SystemClock:
    """Real time: ``datetime.now(UTC)``, ``time.monotonic()``, ``asyncio.sleep`` and loop timers.

    ``call_at``/``call_later`` need a running event loop (they return ``asyncio.TimerHandle``);
    ``call_at`` converts the wall-clock target to a delay once, so a later wall-clock step (NTP) does
    not move it.
    """

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float, result: T | None = None) -> T | None:
        return await asyncio.sleep(seconds, result)

    def call_later(self, seconds: float, callback: Callable[..., object], *args: Any) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(max(float(seconds), 0.0), callback, *args)

    def call_at(self, when: datetime, callback: Callable[..., object], *args: Any) -> asyncio.TimerHandle:
        delay = (_aware_utc(when, "when") - self.now()).total_seconds()
        return self.call_later(delay, callback, *args)

    def msh_kwargs(self) -> dict[str, Any]:
        """``AccessPoint(..., **clock.msh_kwargs())``."""
        return msh_kwargs(self)

    def __repr__(self) -> str:
        return "SystemClock()"


# --- virtual time --------------------------------------------------------------------------------------
class VirtualTimer:
    """A pending callback of a :class:`VirtualClock` (returned by ``call_at``/``call_later``)."""

    __slots__ = ("_clock", "_when_us", "_seq", "_callback", "_args", "_cancelled", "_fired")

    def __init__(self, clock: VirtualClock, when_us: int, seq: int,
                 callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._clock = clock
        self._when_us = when_us
        self._seq = seq
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._fired = False

    def __lt__(self, other: VirtualTimer) -> bool:
        return (self._when_us, self._seq) < (other._when_us, other._seq)

    @property
    def when(self) -> datetime:
        """The virtual instant it fires at."""
        return self._clock._at(self._when_us)

    def cancel(self) -> None:
        """Do not fire (no effect once fired). Idempotent."""
        if not self._cancelled and not self._fired:
            self._cancelled = True
            self._clock._changed()

    def cancelled(self) -> bool:
        return self._cancelled

    def fired(self) -> bool:
        return self._fired

    def __repr__(self) -> str:
        state = "cancelled" if self._cancelled else "fired" if self._fired else "pending"
        return f"<VirtualTimer {self.when.isoformat()} {state} {self._callback!r}>"


class VirtualClock:
    """Virtual time that moves only when told (see the module documentation for the rules and limits).

    ``auto_advance=True`` makes :meth:`run_until_idle` jump from deadline to deadline until no timer
    is left; :meth:`run` always auto-advances. ``grace`` is the real-time quiet window of the
    auto-advance grace path (seconds).
    """

    def __init__(self, start: datetime = DEFAULT_START, *, auto_advance: bool = False,
                 grace: float = 0.02) -> None:
        self._start = _aware_utc(start, "start")
        self.auto_advance = auto_advance
        self.grace = grace
        self._now_us = 0
        self._heap: list[VirtualTimer] = []
        self._seq = itertools.count()
        self._sleepers: set[asyncio.Task[Any]] = set()
        self._version = 0
        self._activity: asyncio.Future[None] | None = None

    # --- reading the time ---------------------------------------------------------------------------
    def _at(self, us: int) -> datetime:
        return self._start + timedelta(microseconds=us)

    def _us(self, when: datetime) -> int:
        return (_aware_utc(when, "when") - self._start) // _US

    @property
    def start(self) -> datetime:
        return self._start

    def now(self) -> datetime:
        return self._at(self._now_us)

    def monotonic(self) -> float:
        """Seconds since the start instant (0.0 at start); moves exactly as ``now()`` does."""
        return self._now_us / 1_000_000

    def elapsed(self) -> timedelta:
        return timedelta(microseconds=self._now_us)

    # --- timers -------------------------------------------------------------------------------------
    def _changed(self) -> None:
        self._version += 1
        fut = self._activity
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _schedule(self, when_us: int, callback: Callable[..., object], args: tuple[Any, ...]) -> VirtualTimer:
        timer = VirtualTimer(self, max(when_us, self._now_us), next(self._seq), callback, args)
        heapq.heappush(self._heap, timer)
        self._changed()
        return timer

    def call_at(self, when: datetime, callback: Callable[..., object], *args: Any) -> VirtualTimer:
        """Run ``callback(*args)`` when the clock reaches ``when`` (at once on the next move if past).

        Callbacks run synchronously inside ``advance*``/``run*`` with ``now()`` equal to their deadline;
        an exception propagates out of that call (the timer is consumed, later ones stay pending).
        """
        return self._schedule(self._us(when), callback, args)

    def call_later(self, seconds: float, callback: Callable[..., object], *args: Any) -> VirtualTimer:
        return self._schedule(self._now_us + self._delay_us(seconds), callback, args)

    @staticmethod
    def _delay_us(seconds: float | timedelta) -> int:
        if isinstance(seconds, timedelta):
            return max(seconds // _US, 0)
        if seconds != seconds:  # NaN
            raise ValueError("delay is NaN")
        return max(math.ceil(seconds * 1_000_000), 0)  # never wake early

    def pending(self) -> list[VirtualTimer]:
        """The pending timers, in firing order."""
        return sorted(t for t in self._heap if not t._cancelled)

    def next_deadline(self) -> datetime | None:
        us = self._next_us()
        return None if us is None else self._at(us)

    def _next_us(self) -> int | None:
        while self._heap and self._heap[0]._cancelled:
            heapq.heappop(self._heap)
        return self._heap[0]._when_us if self._heap else None

    async def sleep(self, seconds: float | timedelta, result: T | None = None) -> T | None:
        """Suspend the calling task until the clock has been advanced ``seconds`` past now.

        ``seconds <= 0`` just yields once (like ``asyncio.sleep(0)``); cancelling the task cancels its timer.
        """
        delay = self._delay_us(seconds)
        if delay == 0:
            await asyncio.sleep(0)
            return result
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        timer = self._schedule(self._now_us + delay, _wake, (fut,))
        task = asyncio.current_task()
        if task is not None:
            self._sleepers.add(task)
        try:
            await fut
        finally:
            timer.cancel()
            if task is not None:
                self._sleepers.discard(task)
        return result

    # --- moving time by hand --------------------------------------------------------------------------
    def _fire_until(self, target_us: int) -> int:
        fired = 0
        while True:
            nxt = self._next_us()
            if nxt is None or nxt > target_us:
                break
            timer = heapq.heappop(self._heap)
            self._now_us = max(self._now_us, timer._when_us)
            timer._fired = True
            fired += 1
            self._changed()
            timer._callback(*timer._args)
        return fired

    def advance(self, seconds: float | timedelta) -> int:
        """Move time forward by ``seconds``, firing every timer due on the way (deadline order, FIFO).

        Synchronous: sleeping tasks are *woken* (their futures resolved, in order) but run only when the
        caller next yields to the loop, and then see the final time. A task woken at t=10 that sleeps 5
        again is therefore not fired at t=15 within this call; use :meth:`run_for` for step-by-step
        semantics. Returns the number of timers fired.
        """
        delay = seconds // _US if isinstance(seconds, timedelta) else seconds * 1_000_000
        if delay < 0:
            raise ValueError(f"cannot move a clock backwards ({seconds!r})")
        return self._advance_to_us(self._now_us + math.ceil(delay))

    def advance_to(self, when: datetime) -> int:
        """Move time forward to ``when`` (aware; not before now), as :meth:`advance`."""
        target = self._us(when)
        if target < self._now_us:
            raise ValueError(f"cannot move a clock backwards: {when.isoformat()} < {self.now().isoformat()}")
        return self._advance_to_us(target)

    def _advance_to_us(self, target_us: int) -> int:
        fired = self._fire_until(target_us)
        self._now_us = target_us
        return fired

    async def run_for(self, seconds: float | timedelta) -> None:
        """Advance by ``seconds`` one deadline at a time, letting woken tasks run (and re-arm) in between."""
        delay = seconds // _US if isinstance(seconds, timedelta) else math.ceil(seconds * 1_000_000)
        if delay < 0:
            raise ValueError(f"cannot move a clock backwards ({seconds!r})")
        await self.run_until(self._at(self._now_us + delay))

    async def run_until(self, when: datetime) -> None:
        """Advance to ``when`` one deadline at a time, letting woken tasks run in between."""
        target = self._us(when)
        if target < self._now_us:
            raise ValueError(f"cannot move a clock backwards: {when.isoformat()} < {self.now().isoformat()}")
        loop = asyncio.get_running_loop()
        await self._settle(loop)
        while (nxt := self._next_us()) is not None and nxt <= target:
            self._fire_until(nxt)  # the batch sharing this deadline, FIFO
            await self._settle(loop)
        self._now_us = target
        await self._settle(loop)

    # --- auto-advance --------------------------------------------------------------------------------
    async def run_until_idle(self, *, max_jumps: int = 1_000_000) -> None:
        """Let the loop run until nothing is ready.

        With ``auto_advance`` the clock then jumps to each next deadline (rules of :meth:`run`) until no
        timer is left; without, time does not move."""
        loop = asyncio.get_running_loop()
        if not self.auto_advance:
            await self._settle(loop)
            return
        await self._drive(loop, None, max_jumps)

    async def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], *, max_jumps: int = 1_000_000) -> T:
        """Run ``coro`` to completion, jumping to the next deadline whenever the loop is otherwise idle.

        Returns its result (or raises its exception). If ``run`` itself is cancelled, the task is cancelled.
        """
        loop = asyncio.get_running_loop()
        main = asyncio.ensure_future(coro)
        try:
            await self._drive(loop, main, max_jumps)
            return main.result()
        finally:
            if not main.done():
                main.cancel()
                try:
                    await main
                except BaseException:  # noqa: BLE001 - already cancelling / reporting the outer error
                    pass

    async def _drive(self, loop: asyncio.AbstractEventLoop, main: asyncio.Future[Any] | None,
                     max_jumps: int) -> None:
        me = asyncio.current_task()
        jumps = 0
        while True:
            await self._settle(loop)
            if main is not None and main.done():
                return
            nxt = self._next_us()
            if nxt is None:
                if main is None:
                    return  # idle and no timer left
                await self._wait_activity(loop, main, None)  # only real work can make progress
                continue
            if not self._all_on_clock(loop, me):
                version = self._version
                if await self._wait_activity(loop, main, self.grace):
                    continue  # something happened: re-evaluate
                await self._settle(loop)
                if self._version != version or (main is not None and main.done()):
                    continue
            nxt = self._next_us()
            if nxt is None:
                continue
            jumps += 1
            if jumps > max_jumps:
                raise RuntimeError(f"virtual clock: more than {max_jumps} jumps (a timer that always re-arms?)")
            self._fire_until(nxt)  # jump to the next deadline: its batch fires, FIFO

    def _all_on_clock(self, loop: asyncio.AbstractEventLoop, me: asyncio.Task[Any] | None) -> bool:
        return all(t in self._sleepers for t in asyncio.all_tasks(loop) if t is not me)

    async def _wait_activity(self, loop: asyncio.AbstractEventLoop, main: asyncio.Future[Any] | None,
                             timeout: float | None) -> bool:
        """Wait (real time) for a timer change or the main task to finish; False on timeout."""
        fut: asyncio.Future[None] = loop.create_future()
        self._activity = fut
        try:
            waits: set[asyncio.Future[Any]] = {fut} if main is None else {fut, main}
            done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            return bool(done)
        finally:
            self._activity = None
            if not fut.done():
                fut.cancel()

    @staticmethod
    async def _settle(loop: asyncio.AbstractEventLoop) -> None:
        ready = getattr(loop, "_ready", None)
        if ready is None:
            for _ in range(_BLIND_SPINS):
                await asyncio.sleep(0)
            return
        for _ in range(_SETTLE_SPINS):
            await asyncio.sleep(0)
            if not ready:
                return

    # --- adapters -------------------------------------------------------------------------------------
    def msh_kwargs(self) -> dict[str, Any]:
        """``AccessPoint(..., **clock.msh_kwargs())``: ``sleep`` (resend waits) and ``clock`` (now)."""
        return msh_kwargs(self)

    def __repr__(self) -> str:
        return f"<VirtualClock {self.now().isoformat()} pending={len(self.pending())}>"


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


# --- OOTS timers ---------------------------------------------------------------------------------------
TimerName = Literal["t1", "t2", "t3"]


@dataclass(frozen=True)
class Timers:
    """The OOTS exchange timers (TDD 4.4.3, edm.md §8), configurable.

    T1 request → first response (5 min), T2 user follows the preview link (15 min), T3 user previews and
    decides (40 min); the waiting side adds ``transport`` (1 min) so the requester's timeout exceeds the
    provider's. ``total(n)`` = (T1+T2+T3) × n requirements, as the TDD states it (no transport margin).
    """

    t1: timedelta = timedelta(minutes=5)
    t2: timedelta = timedelta(minutes=15)
    t3: timedelta = timedelta(minutes=40)
    transport: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        for name in ("t1", "t2", "t3"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"timer {name.upper()} must be positive")
        if self.transport < timedelta(0):
            raise ValueError("transport margin must not be negative")

    @classmethod
    def from_minutes(cls, t1: float = 5, t2: float = 15, t3: float = 40, transport: float = 1) -> Timers:
        return cls(timedelta(minutes=t1), timedelta(minutes=t2), timedelta(minutes=t3),
                   timedelta(minutes=transport))

    def provider_timeout(self, timer: TimerName) -> timedelta:
        """The provider-side bound for ``timer`` (T1, T2 or T3)."""
        if timer not in ("t1", "t2", "t3"):
            raise ValueError(f"unknown timer {timer!r} (t1, t2 or t3)")
        return getattr(self, timer)  # type: ignore[no-any-return]

    def requester_timeout(self, timer: TimerName) -> timedelta:
        """The waiting side's bound: the provider timeout + the transport margin."""
        return self.provider_timeout(timer) + self.transport

    def total(self, requirements: int = 1) -> timedelta:
        """(T1+T2+T3) × number of requirements."""
        if requirements < 1:
            raise ValueError("at least one requirement")
        return (self.t1 + self.t2 + self.t3) * requirements

    def provider_deadline(self, start: datetime, timer: TimerName) -> datetime:
        return _aware_utc(start, "start") + self.provider_timeout(timer)

    def requester_deadline(self, start: datetime, timer: TimerName) -> datetime:
        return _aware_utc(start, "start") + self.requester_timeout(timer)
