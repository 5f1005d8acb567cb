"""Run a WorkerEngine in the test's own event loop and merge what it reports.

Used by the transport and engine tests: the engine is the real one, talking to
real servers on loopback; only the worker process around it is left out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.scenario import Scenario, parse_scenario
from tui_loadtest.stats.aggregate import RunAggregate, WorkerDelta


def scenario(requests: list[dict[str, Any]], **sections: Any) -> Scenario:
    """A scenario from plain dicts, e.g. ``scenario([{"path": "/x"}], load={"users": 2})``."""
    data: dict[str, Any] = {"name": "test", "host": "http://127.0.0.1:1", "requests": requests}
    data.update(sections)
    return parse_scenario(data, "test.toml")


async def run_engine(
    sc: Scenario,
    host: str,
    *,
    stop_after: float | None = None,
    stop_when: Callable[[], bool] | None = None,
    timeout: float = 30.0,
    seen: dict[str, Any] | None = None,
    control: Callable[[WorkerEngine], Awaitable[None]] | None = None,
) -> RunAggregate:
    """Run one worker's engine to its end (budget spent, ``stop_after`` seconds, or
    ``stop_when()`` true: an event to await, where a fixed time depends on the machine).

    ``seen`` receives ``stopped_at``: when the stop really ran, in seconds of the
    engine's own clock (the arrival schedule's, in the open model). On a busy
    machine it comes later than asked, so tests compare against it, not against
    ``stop_after``. It also receives ``stopped_mono``, the ``time.monotonic()`` of the stop.

    ``control(engine)`` runs beside the engine and stops it when it returns: a test
    that needs the engine's own state to choose the moment (a user connecting).
    """
    deltas: list[WorkerDelta] = []
    engine = WorkerEngine(sc, host, make_shares(sc, 1)[0], deltas.append)

    def stop() -> None:
        if seen is not None:
            seen["stopped_at"] = engine_clock(engine)
            seen["stopped_mono"] = time.monotonic()
        engine.stop()

    if stop_after is not None:
        asyncio.get_running_loop().call_later(stop_after, stop)
    watcher = None
    if stop_when is not None:

        async def watch() -> None:
            while not stop_when():
                await asyncio.sleep(0.005)
            stop()

        watcher = asyncio.ensure_future(watch())
    controller = None
    if control is not None:

        async def decide() -> None:
            await control(engine)
            stop()

        controller = asyncio.ensure_future(decide())
    try:
        await asyncio.wait_for(engine.run(), timeout)
    finally:
        for task in (watcher, controller):
            if task is not None:
                task.cancel()
    agg = RunAggregate(list(sc.endpoints), 1, flows=sc.flow_names, checks=sc.check_rows)
    for d in deltas:
        agg.add(d)
    agg.worker_finished(0, deltas[-1].tick if deltas else -1)
    agg.finish()
    return agg


def engine_clock(engine: WorkerEngine) -> float:
    """Seconds since the engine started (the schedule's time in the open model)."""
    if engine.driver is not None:
        return (time.perf_counter_ns() - engine.driver.origin_ns) / 1e9
    return time.monotonic() - engine.start_mono


def totals(agg: RunAggregate) -> tuple[int, int, dict[str, int]]:
    """(requests, failures, {error kind or "HTTP nnn": count}) over the whole run."""
    span = agg.total_span()
    kinds: dict[str, int] = {}
    for row in agg.error_rows():
        kinds[row.label] = kinds.get(row.label, 0) + row.count
    return span.requests, span.failures, kinds
