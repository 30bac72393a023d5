"""The clocks: virtual time ordering, cancel, auto-advance, OOTS timers and the MSH adapter."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from simulators.as4.msh import AccessPoint, MissingReceiptError, WireEvent, closed_port_url
from simulators.clock import DEFAULT_START, Clock, SystemClock, Timers, VirtualClock, msh_kwargs
from tests.as4.conftest import pki  # noqa: F401 - the session test PKI fixture
from tests.as4.test_msh import network, payloads, with_retries

HANG_GUARD = 5.0  # real seconds; a hang guard, not a speed target


def run(coro, timeout: float = 10.0):
    async def guarded():
        async with asyncio.timeout(timeout):
            return await coro
    return asyncio.run(guarded())


# --- reading the time ----------------------------------------------------------------------------------
def test_virtual_clock_starts_at_fixed_instant_and_is_consistent():
    clock = VirtualClock()
    assert clock.now() == DEFAULT_START == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert clock.now().utcoffset() == timedelta(0) and clock.monotonic() == 0.0
    t0, m0 = clock.now(), clock.monotonic()
    for step in (0.1, 0.2, 1.5, 2400, 0.000001, 86_400 * 3):
        clock.advance(step)
        assert (clock.now() - t0).total_seconds() == pytest.approx(clock.monotonic() - m0, abs=1e-9)
    assert clock.elapsed() == clock.now() - DEFAULT_START
    clock.advance(timedelta(minutes=5))
    assert clock.now() - t0 == timedelta(seconds=clock.monotonic() - m0)


def test_start_must_be_aware_and_is_normalised_to_utc():
    with pytest.raises(ValueError):
        VirtualClock(datetime(2026, 1, 1))
    paris = timezone(timedelta(hours=1))
    clock = VirtualClock(datetime(2026, 1, 1, 1, 0, tzinfo=paris))
    assert clock.now() == DEFAULT_START and clock.now().tzinfo == timezone.utc


def test_time_never_moves_backwards():
    clock = VirtualClock()
    clock.advance(10)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance_to(DEFAULT_START)
    with pytest.raises(ValueError):
        clock.advance_to(datetime(2026, 1, 2))  # naive


def test_clocks_satisfy_the_protocol():
    assert isinstance(VirtualClock(), Clock) and isinstance(SystemClock(), Clock)


# --- timers and sleeps ---------------------------------------------------------------------------------
def test_call_later_fires_in_deadline_order_fifo_for_ties_with_now_at_deadline():
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []
    note = lambda tag: seen.append((tag, clock.monotonic()))  # noqa: E731
    clock.call_later(30, note, "c30")
    clock.call_later(10, note, "a10")
    clock.call_later(20, note, "b20-first")
    clock.call_later(20, note, "b20-second")
    clock.call_at(DEFAULT_START + timedelta(seconds=20), note, "b20-third")
    assert clock.next_deadline() == DEFAULT_START + timedelta(seconds=10)
    assert clock.advance(25) == 4
    assert seen == [("a10", 10), ("b20-first", 20), ("b20-second", 20), ("b20-third", 20)]
    assert clock.monotonic() == 25
    clock.advance(5)
    assert seen[-1] == ("c30", 30) and clock.pending() == []


def test_cancel():
    clock = VirtualClock()
    seen = []
    h1 = clock.call_later(10, seen.append, 1)
    h2 = clock.call_later(10, seen.append, 2)
    h1.cancel()
    h1.cancel()  # idempotent
    assert h1.cancelled() and [t for t in clock.pending()] == [h2]
    clock.advance(10)
    assert seen == [2] and h2.fired()
    h2.cancel()  # after firing: no effect
    assert not h2.cancelled()


def test_advance_to_fires_due_timers_and_lands_exactly():
    clock = VirtualClock()
    seen = []
    clock.call_at(DEFAULT_START + timedelta(minutes=5), seen.append, "t1")
    clock.call_at(DEFAULT_START + timedelta(minutes=40), seen.append, "t3")
    target = DEFAULT_START + timedelta(minutes=5)
    assert clock.advance_to(target) == 1 and seen == ["t1"] and clock.now() == target
    clock.advance_to(target)  # same instant: allowed, nothing more due
    assert seen == ["t1"]
    clock.advance_to(DEFAULT_START + timedelta(hours=1))
    assert seen == ["t1", "t3"] and clock.now() == DEFAULT_START + timedelta(hours=1)


def test_timer_in_the_past_fires_on_next_move():
    clock = VirtualClock()
    clock.advance(60)
    seen = []
    clock.call_at(DEFAULT_START, seen.append, "late")
    clock.advance(0)
    assert seen == ["late"] and clock.monotonic() == 60


def test_sleepers_wake_in_deadline_order_fifo_for_equal_deadlines():
    async def scenario():
        clock = VirtualClock()
        order: list[str] = []

        async def sleeper(tag: str, seconds: float) -> None:
            await clock.sleep(seconds)
            order.append(tag)

        tasks = [asyncio.create_task(sleeper(tag, s))
                 for tag, s in (("c", 3), ("a", 1), ("b1", 2), ("b2", 2), ("b3", 2))]
        await clock.run_until_idle()  # all parked; time does not move without auto_advance
        assert order == [] and clock.monotonic() == 0
        clock.advance(2)
        await clock.run_until_idle()
        assert order == ["a", "b1", "b2", "b3"]
        clock.advance(1)
        await asyncio.gather(*tasks)
        assert order == ["a", "b1", "b2", "b3", "c"]
    run(scenario())


def test_sleep_does_not_wake_before_its_deadline_and_returns_result():
    async def scenario():
        clock = VirtualClock()
        task = asyncio.create_task(clock.sleep(1.5, result="done"))
        await clock.run_until_idle()
        clock.advance(1.499999)
        await clock.run_until_idle()
        assert not task.done()
        clock.advance(0.000001)
        assert await task == "done"
    run(scenario())


def test_cancelled_sleep_removes_its_timer():
    async def scenario():
        clock = VirtualClock()
        task = asyncio.create_task(clock.sleep(60))
        await clock.run_until_idle()
        assert len(clock.pending()) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.pending() == [] and clock.next_deadline() is None
    run(scenario())


def test_run_for_steps_deadline_by_deadline_so_rearmed_sleeps_fire_in_order():
    async def scenario():
        clock = VirtualClock()
        log: list[tuple[str, float]] = []

        async def chain():
            await clock.sleep(10)
            log.append(("chain-10", clock.monotonic()))
            await clock.sleep(5)
            log.append(("chain-15", clock.monotonic()))

        async def single():
            await clock.sleep(50)
            log.append(("single-50", clock.monotonic()))

        tasks = [asyncio.create_task(chain()), asyncio.create_task(single())]
        await clock.run_for(100)
        await asyncio.gather(*tasks)
        assert log == [("chain-10", 10), ("chain-15", 15), ("single-50", 50)]
        assert clock.monotonic() == 100
    run(scenario())


# --- auto-advance --------------------------------------------------------------------------------------
def test_forty_minute_t3_wait_completes_at_once():
    timers = Timers()

    async def scenario():
        clock = VirtualClock()

        async def wait_t3():
            await clock.sleep(timers.requester_timeout("t3").total_seconds())
            return clock.now()

        return clock, await clock.run(wait_t3())

    started = time.monotonic()
    clock, woke = run(scenario())
    assert time.monotonic() - started < HANG_GUARD
    assert woke == DEFAULT_START + timedelta(minutes=41) == clock.now()


def test_auto_advance_with_concurrent_tasks_and_a_deferred_answer():
    """A provider answers after T1-ish delays while the requester waits on a future (not on the clock):
    the grace path of the driver must still move time."""
    timers = Timers()

    async def scenario():
        clock = VirtualClock()
        log: list[tuple[str, float]] = []

        async def provider(name: str, delay: timedelta, answer: asyncio.Future[str]) -> None:
            await clock.sleep(delay.total_seconds())
            log.append((name, clock.monotonic()))
            answer.set_result(name)

        async def ticker():
            for _ in range(3):
                await clock.sleep(120)
                log.append(("tick", clock.monotonic()))

        async def requester():
            loop = asyncio.get_running_loop()
            answers = [loop.create_future() for _ in range(3)]
            delays = (timers.t2, timers.t1, timers.t3)
            tasks = [asyncio.create_task(provider(f"p{i}", d, f))
                     for i, (d, f) in enumerate(zip(delays, answers))]
            tasks.append(asyncio.create_task(ticker()))
            async with asyncio.timeout(HANG_GUARD):  # real time: these waits are on plain futures
                got = [await f for f in answers]
            await asyncio.gather(*tasks)
            return got

        got = await clock.run(requester())
        return clock, got, log

    started = time.monotonic()
    clock, got, log = run(scenario())
    assert time.monotonic() - started < HANG_GUARD
    assert got == ["p0", "p1", "p2"]
    assert log == [("tick", 120), ("tick", 240), ("p1", 300), ("tick", 360), ("p0", 900), ("p2", 2400)]
    assert clock.monotonic() == 2400


def test_run_until_idle_with_auto_advance_drains_all_timers():
    async def scenario():
        clock = VirtualClock(auto_advance=True)
        done: list[float] = []

        async def worker(seconds: float):
            await clock.sleep(seconds)
            done.append(clock.monotonic())
            await clock.sleep(seconds)
            done.append(clock.monotonic())

        tasks = [asyncio.create_task(worker(s)) for s in (300, 60, 900)]
        await clock.run_until_idle()
        assert all(t.done() for t in tasks)
        assert done == [60, 120, 300, 600, 900, 1800] and clock.next_deadline() is None
    run(scenario())


def test_run_propagates_exceptions_and_bounds_endless_timers():
    async def scenario():
        clock = VirtualClock()

        async def boom():
            await clock.sleep(5)
            raise LookupError("late")

        with pytest.raises(LookupError):
            await clock.run(boom())
        assert clock.monotonic() == 5

        async def forever():
            while True:
                await clock.sleep(1)

        with pytest.raises(RuntimeError, match="jumps"):
            await clock.run(forever(), max_jumps=100)
    run(scenario())


# --- real time ------------------------------------------------------------------------------------------
def test_system_clock_sanity():
    async def scenario():
        clock = SystemClock()
        now = clock.now()
        assert now.tzinfo is not None and abs((now - datetime.now(timezone.utc)).total_seconds()) < 5
        m0 = clock.monotonic()
        await clock.sleep(0.01)
        assert clock.monotonic() - m0 >= 0.009
        fired = asyncio.Event()
        clock.call_later(0.01, fired.set)
        cancelled = clock.call_at(clock.now() + timedelta(seconds=0.01), pytest.fail, "cancelled timer fired")
        cancelled.cancel()
        await asyncio.wait_for(fired.wait(), 2)
        await asyncio.sleep(0.05)
    run(scenario())


# --- OOTS timers ---------------------------------------------------------------------------------------
def test_oots_timers():
    t = Timers()
    assert (t.t1, t.t2, t.t3, t.transport) == (timedelta(minutes=5), timedelta(minutes=15),
                                              timedelta(minutes=40), timedelta(minutes=1))
    assert t.requester_timeout("t1") == timedelta(minutes=6) > t.provider_timeout("t1")
    assert t.requester_timeout("t3") == timedelta(minutes=41)
    assert t.total() == timedelta(hours=1) and t.total(3) == timedelta(hours=3)
    assert t.requester_deadline(DEFAULT_START, "t2") == DEFAULT_START + timedelta(minutes=16)
    fast = Timers.from_minutes(t1=0.5, t2=1, t3=2, transport=0.1)
    assert fast.requester_timeout("t1") == timedelta(seconds=36) and fast.total(2) == timedelta(minutes=7)
    with pytest.raises(ValueError):
        Timers(t1=timedelta(0))
    with pytest.raises(ValueError):
        t.provider_timeout("t4")  # type: ignore[arg-type]


# --- the MSH adapter -----------------------------------------------------------------------------------
def test_msh_kwargs_types():
    clock = VirtualClock()
    kw = clock.msh_kwargs()
    assert set(kw) == {"sleep", "clock"} and kw == msh_kwargs(clock)
    assert kw["clock"]() == DEFAULT_START and asyncio.iscoroutinefunction(kw["sleep"])
    assert SystemClock().msh_kwargs()["clock"]().tzinfo is not None


@pytest.mark.case("AS4-REL-002", ref="reception awareness on a virtual clock")
def test_access_point_retries_on_the_virtual_clock_then_missing_receipt(pki):  # noqa: F811
    events: list[WireEvent] = []

    async def scenario():
        clock = VirtualClock()
        pm = network(pki)
        alice = AccessPoint("alice", pki, pm, on_wire=events.append, **clock.msh_kwargs())
        leg = with_retries(pm.leg("ootsRequestLeg"), count=3, window_minutes=40)  # resends at 800/1600/2400 s
        try:
            with pytest.raises(MissingReceiptError) as exc:
                await clock.run(alice.send(alice.user_message("bob"), payloads(), url=closed_port_url(), leg=leg))
            return clock, exc.value
        finally:
            await alice.stop()

    started = time.monotonic()
    clock, err = run(scenario())
    assert time.monotonic() - started < HANG_GUARD
    assert err.code == "EBMS:0301" and err.short_description == "MissingReceipt"
    assert len(err.attempts) == 4 and all("ConnectionFailure" in a.error for a in err.attempts)
    assert len(events) == 4 and len({e.body for e in events}) == 1
    assert clock.now() == DEFAULT_START + timedelta(minutes=40)
