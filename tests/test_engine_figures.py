"""The engine's figures hold against a server that counts what it received: each
second is a wall-clock second, partial and paused seconds do not distort rates,
and the users reported are the users that ran."""

from __future__ import annotations

import asyncio
import time

import pytest

from tui_loadtest.engine.recording import SUM_SLOT
from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.stats.aggregate import RunAggregate, WorkerDelta

from .engine_harness import engine_clock, scenario
from .servers import CountingServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def counting():
    server = CountingServer()
    url = server.start()
    yield server, url
    server.stop()


def recorded(engine: WorkerEngine) -> int:
    """Responses recorded so far in the engine's current second."""
    return sum(sum(h[:SUM_SLOT]) for h in engine.buf.hist)


def responses(d: WorkerDelta) -> int:
    return sum(sum(c for _, c in e.buckets) for e in d.endpoints)


async def test_a_second_holds_what_completed_in_it_not_the_loops_batch(counting):
    """The loop is frozen from 0.8 s to 1.3 s with responses waiting in its sockets.
    They complete after 1.3 s, so second 0 holds exactly what was recorded before the
    freeze, even though the loop handles them before the tick timer runs."""
    server, url = counting
    sc = scenario([{"path": "/ok"}], load={"users": 20, "spawn_rate": 100_000})
    deltas: list[WorkerDelta] = []
    engine = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
    seen: dict[str, int] = {}

    def freeze() -> None:
        seen["before"] = recorded(engine)
        # Sleep to 1.3 s of the engine's clock: responses pile up meanwhile.
        time.sleep(max(0.0, engine.start_ns / 1e9 + 1.3 - time.perf_counter_ns() / 1e9))

    loop = asyncio.get_running_loop()
    loop.call_later(0.8, freeze)
    loop.call_later(2.5, engine.stop)
    await asyncio.wait_for(engine.run(), 30)
    assert deltas[0].tick == 0 and seen["before"] > 0
    assert responses(deltas[0]) == seen["before"]
    assert sum(map(responses, deltas)) == server.requests


async def run_with(sc, url: str, actions: dict[str, float]):  # noqa: ANN001, ANN201
    """Run an engine to its end, calling ``engine.<name>()`` at each given second;
    returns the engine, the aggregate and when each action really ran (engine clock)."""
    deltas: list[WorkerDelta] = []
    engine = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
    at: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    def call(name: str) -> None:
        at[name] = engine_clock(engine)
        getattr(engine, name)()

    for name, when in actions.items():
        loop.call_later(when, call, name)
    await asyncio.wait_for(engine.run(), 30)
    agg = RunAggregate([(r.method, r.name) for r in sc.requests], 1)
    for d in deltas:
        agg.add(d)
    agg.worker_finished(0, deltas[-1].tick)
    agg.finish()
    return engine, deltas, agg, at


async def test_the_last_partial_second_is_counted_but_left_off_the_timeline(counting):
    server, url = counting
    sc = scenario([{"path": "/ok"}], load={"users": 5, "think_time": "0.01s"})
    _, deltas, agg, _ = await run_with(sc, url, {"stop": 1.5})
    tail = deltas[-1]
    assert tail.tick == 1 and tail.span_s < 1.0 and responses(tail) > 0
    assert [p.t for p in agg.timeline] == [0]  # no crash of the rate at the end
    assert agg.timeline[0].requests + responses(tail) == agg.total_span().requests
    assert agg.total_span().requests == server.requests
    assert agg.duration_s == pytest.approx(1.0 + tail.span_s)


async def test_paused_time_does_not_count_in_rates(counting):
    server, url = counting
    sc = scenario([{"path": "/ok"}], load={"users": 3, "think_time": "0.01s"})
    _, _, agg, at = await run_with(sc, url, {"pause": 0.3, "resume": 1.6, "stop": 2.4})
    under_load = at["stop"] - (at["resume"] - at["pause"])
    # The pause lasts 1.3 s, so 0.1 s still tells it apart; the loop's lag on a
    # busy machine (13 ms once in CI) must not.
    assert agg.rate_s == pytest.approx(under_load, abs=0.1)
    stats = agg.endpoint_stats()[0]
    assert stats.requests == server.requests
    assert stats.rps == pytest.approx(server.requests / agg.rate_s)
    assert agg.timeline[0].paused  # the seconds stay on the timeline, marked


async def test_users_reached_and_their_average_are_what_ran(counting):
    """1,000 users asked at 20 per second for 1.5 s: the peak is the users that
    started (each opened one connection), the average their time over the run's."""
    server, url = counting
    sc = scenario([{"path": "/ok"}], load={"users": 1000, "spawn_rate": 20, "think_time": "0.02s"})
    _, _, agg, _ = await run_with(sc, url, {"stop": 1.5})
    assert 20 <= agg.users_peak == server.connections < 1000
    assert server.wait_idle()
    served = sum(c - o for o, c in zip(server.opened, server.closed, strict=True)) / 1e9
    assert agg.user_s == pytest.approx(served, rel=0.05, abs=0.05)
    assert agg.users_average == pytest.approx(agg.user_s / agg.duration_s)
