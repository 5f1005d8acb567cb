"""The open (arrival-rate) model and ramp stages, against loopback servers that
stall on purpose: the corrected latency must show a stall that service time
and closed-model tools hide, nothing may be skipped silently, and a late
generator must show up as lag.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tui_loadtest.engine.schedule import ArrivalSchedule
from tui_loadtest.scenario import LoadSpec, Stage

from .engine_harness import run_engine, scenario

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class StallingServer:
    """Answers in ``delay`` seconds, but stalls everything for ``stall`` seconds
    once every ``period`` seconds (starting ``first`` seconds in)."""

    def __init__(self, delay=0.001, stall=0.0, period=5.0, first=2.0) -> None:
        self.delay, self.stall, self.period, self.first = delay, stall, period, first
        self.requests = 0
        self.t0 = 0.0

    async def start(self) -> str:
        self.t0 = time.monotonic()
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                if self.stall:
                    phase = (time.monotonic() - self.t0 - self.first) % self.period
                    if phase < self.stall and time.monotonic() - self.t0 >= self.first:
                        await asyncio.sleep(self.stall - phase)
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.requests += 1
                writer.write(RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def open_scenario(**load):
    return scenario(
        [{"path": "/"}],
        load={"mode": "arrival-rate", **load},
        http={"timeout": "5s"},
    )


# -- the schedule ------------------------------------------------------------


def test_schedule_ramps_are_exact_and_invertible():
    load = LoadSpec(mode="arrival-rate", stages=(Stage(10, 100), Stage(10, 100), Stage(5, 0)))
    sched = ArrivalSchedule(load)
    assert sched.cumulative(10) == pytest.approx(500)  # ramp 0 -> 100 over 10 s
    assert sched.cumulative(20) == pytest.approx(1500)
    assert sched.cumulative(30) == pytest.approx(1750)  # back down to 0, then nothing
    for c in (0.5, 50, 499.5, 1000, 1600, 1749):
        assert sched.cumulative(sched.time_of(c)) == pytest.approx(c)
    assert sched.rate_at(5) == pytest.approx(50)


def test_workers_offsets_interleave_evenly():
    load = LoadSpec(mode="arrival-rate", rate=200.0)
    times = []
    for i in range(2):
        sched = ArrivalSchedule(load, fraction=0.5, offset=i / 2)
        for _ in range(100):
            times.append(sched.next_time())
            sched.advance()
    times.sort()
    gaps = {round(b - a, 9) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {0.005}  # 200 req/s from two workers: one arrival every 5 ms


def test_poisson_arrivals_have_the_right_mean_rate():
    sched = ArrivalSchedule(
        LoadSpec(mode="arrival-rate", rate=1000.0, arrival="poisson"), rng=random.Random(3)
    )
    n = 0
    while sched.next_time() < 20.0:
        sched.advance()
        n += 1
    assert abs(n - 20_000) < 3 * 20_000**0.5 + 1


# -- against a server that stalls ------------------------------------------


@pytest.mark.anyio
async def test_a_stall_shows_in_corrected_latency_not_in_service_time():
    server = StallingServer(delay=0.001, stall=1.0, period=5.0, first=2.0)
    url = await server.start()
    seen: dict = {}
    try:
        sc = open_scenario(rate=200, max_users=4)
        agg = await run_engine(sc, url, stop_after=10.0, seen=seen)
    finally:
        await server.stop()
    total = agg.total_span()
    corrected = total.hist.percentile(0.99) / 1000
    service = total.service.percentile(0.99) / 1000
    assert corrected >= 300, corrected  # the stall, as every user waiting felt it
    assert service < 50, service  # the server's own time, stall excluded for most
    # every scheduled arrival is accounted for: sent, or dropped and counted
    scheduled = 200 * seen["stopped_at"]
    assert abs(total.requests + agg.dropped - scheduled) <= 3
    assert total.failures == 0


@pytest.mark.anyio
@pytest.mark.parametrize(("rate", "max_users"), [(1e6, 10), (1e6, 5), (1e5, 5)])
async def test_a_budget_sent_at_once_reaches_the_server(rate, max_users):
    """Every arrival due at once, the budget spent before a connection is open: the
    requests already started (connecting or queued) still go out and are answered."""
    server = StallingServer(delay=0.0)
    url = await server.start()
    try:
        sc = scenario(
            [{"path": "/"}],
            load={"mode": "arrival-rate", "rate": rate, "max_users": max_users, "requests": 10},
            http={"timeout": "30s", "connect_timeout": "30s"},
        )
        agg = await run_engine(sc, url, timeout=20)
    finally:
        await server.stop()
    total = agg.total_span()
    assert (total.requests, total.failures, agg.dropped) == (10, 0, 0)
    assert server.requests == 10


@pytest.mark.anyio
async def test_a_full_queue_drops_and_counts(monkeypatch):
    from tui_loadtest.engine import open_model

    # queue bound = max(MIN_QUEUE, rate x timeout) = 50: a 1.5 s stall overflows it
    monkeypatch.setattr(open_model, "MIN_QUEUE", 50)
    server = StallingServer(delay=0.001, stall=1.5, period=100.0, first=0.2)
    url = await server.start()
    seen: dict = {}
    try:
        sc = scenario(
            [{"path": "/"}],
            load={"mode": "arrival-rate", "rate": 400, "max_users": 2},
            http={"timeout": "0.1s"},
        )
        agg = await run_engine(sc, url, stop_after=1.2, seen=seen)
    finally:
        await server.stop()
    assert agg.dropped > 100
    total = agg.total_span()
    assert abs(total.requests + agg.dropped - 400 * seen["stopped_at"]) <= 5


@pytest.mark.anyio
async def test_arrival_rate_follows_the_stages():
    server = StallingServer(delay=0.0)
    url = await server.start()
    stages = [
        {"duration": "2s", "target": 200},
        {"duration": "2s", "target": 200},
        {"duration": "2s", "target": 400},
    ]
    try:
        sc = scenario(
            [{"path": "/"}],
            load={"mode": "arrival-rate", "max_users": 50, "stages": stages, "run_time": "6s"},
        )
        seen: dict = {}
        agg = await run_engine(sc, url, stop_after=6.0, seen=seen)
    finally:
        await server.stop()
    # The integral of the stages' rates up to the stop (200, 400, 600 per 2 s stage,
    # then 400/s): a constant rate or a wrong ramp would miss it by a hundred or more.
    t = seen["stopped_at"]
    expected = 200 + 400 + 600 + 400 * (t - 6) if t >= 6 else ArrivalSchedule(sc.load).cumulative(t)
    total = agg.total_span()
    assert total.requests == server.requests
    # 1 %: arrivals due in the loop's last few ms before the stop (a busy machine) are
    # neither sent nor dropped; a wrong ramp misses by far more.
    assert abs(total.requests + agg.dropped - expected) <= max(3, expected / 100), (
        total.requests,
        expected,
        t,
    )
    # and the target the timeline shows climbs the ramp: 100 at 1 s ... 400 at 6 s
    targets = [p.target for p in agg.timeline]
    assert targets == sorted(targets) and targets[-1] == pytest.approx(400)


@pytest.mark.anyio
async def test_users_follow_the_stages_in_closed_mode():
    server = StallingServer(delay=0.0)
    url = await server.start()
    stages = [
        {"duration": "1s", "target": 10},
        {"duration": "1s", "target": 10},
        {"duration": "1s", "target": 2},
    ]
    try:
        sc = scenario([{"path": "/"}], load={"stages": stages, "think_time": "0.02s"})
        agg = await run_engine(sc, url, stop_after=3.5)
    finally:
        await server.stop()
    users = [p.users for p in agg.timeline]
    assert users[0] >= 8 and users[1] == 10  # ramped to 10 over the first second, then held
    assert users[2] <= 3  # and back down
    targets = [p.target for p in agg.timeline]
    assert targets[1] == 10


@pytest.mark.anyio
async def test_a_saturated_generator_reports_lag():
    server = StallingServer(delay=0.0)
    url = await server.start()
    loop = asyncio.get_running_loop()
    # freeze the generator's event loop for 300 ms, as an overloaded worker would be
    loop.call_later(0.5, time.sleep, 0.3)
    seen: dict = {}
    try:
        sc = open_scenario(rate=200, max_users=10)
        agg = await run_engine(sc, url, stop_after=1.5, seen=seen)
    finally:
        await server.stop()
    lag_p99 = agg.lag.percentile(0.99) / 1000
    assert lag_p99 >= 200, lag_p99
    total = agg.total_span()
    # the late requests are reported as late, not as a slow server
    assert total.service.percentile(0.9) / 1000 < 20
    assert total.hist.percentile(0.99) / 1000 >= 200
    # the schedule caught up
    assert abs(total.requests + agg.dropped - 200 * seen["stopped_at"]) <= 3


@pytest.mark.anyio
async def test_rate_changed_live_takes_effect_from_then_on():
    """100 req/s, then 300 req/s from whenever the change runs: what was sent (and
    counted by the server) follows the schedule whatever the machine's load, since
    the times used are those at which the change and the stop really ran."""
    server = StallingServer(delay=0.0)
    url = await server.start()
    deltas = []
    from tui_loadtest.engine.shares import make_shares
    from tui_loadtest.engine.worker_engine import WorkerEngine

    sc = open_scenario(rate=100, max_users=20)
    engine = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
    at: dict[str, float] = {}

    def now() -> float:  # schedule time: seconds since the engine's arrivals began
        return (time.perf_counter_ns() - engine.driver.origin_ns) / 1e9

    def change() -> None:
        at["rate"] = now()
        engine.set_rate(300.0)

    def stop() -> None:
        at["stop"] = now()
        engine.stop()

    loop = asyncio.get_running_loop()
    loop.call_later(1.0, change)
    loop.call_later(3.0, stop)
    try:
        await asyncio.wait_for(engine.run(), 10)
    finally:
        await server.stop()
    sent = sum(sum(c for _, c in e.buckets) + e.other_failures for d in deltas for e in d.endpoints)
    dropped = sum(d.dropped for d in deltas)
    assert sent == server.requests
    expected = 100 * at["rate"] + 300 * (at["stop"] - at["rate"])
    assert abs(sent + dropped - expected) <= 3, (sent, dropped, at)
    assert deltas[-1].target == pytest.approx(300)


@pytest.mark.anyio
async def test_a_manual_user_count_takes_over_from_the_stages():
    server = StallingServer(delay=0.0)
    url = await server.start()
    deltas = []
    from tui_loadtest.engine.shares import make_shares
    from tui_loadtest.engine.worker_engine import WorkerEngine

    stages = [{"duration": "5s", "target": 50}]
    sc = scenario([{"path": "/"}], load={"stages": stages, "think_time": "0.02s"})
    engine = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
    loop = asyncio.get_running_loop()
    loop.call_later(0.5, engine.set_target, 3, True)
    loop.call_later(2.0, engine.stop)
    try:
        await asyncio.wait_for(engine.run(), 10)
    finally:
        await server.stop()
    assert deltas[0].users == 3  # the ramp alone would be at 10 users after 1 s
