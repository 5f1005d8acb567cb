"""One worker's share of a run with several scenarios (``[[scenarios]]``).

Each scenario gets a :class:`WorkerEngine` of its own in the worker's one event loop,
all started at the same instant, so that their seconds line up (a scenario's start
offset is applied inside its engine). A combiner waits for every engine still running
to send second ``t``, then sends one :class:`WorkerDelta` for all of them: each
scenario's rows, flows and checks at their place in the run's (the scenarios' rows in
turn, as ``Scenario.endpoints`` lists them), and each scenario's users, target and
pause in ``parts``. The coordinator and the pool see one engine per worker, as always.

The plain path is untouched: a file without ``[[scenarios]]`` runs one WorkerEngine,
and no request of a scenario's pays for the combining (once a second, per delta).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from ..scenario import Scenario
from ..stats.aggregate import EndpointDelta, FlowDelta, WorkerDelta
from .shares import WorkerShare
from .worker_engine import WorkerEngine


class _Layout:
    """Where one scenario's rows, flows and checks go in the worker's combined delta.

    Rows the scenario knows at load are ``row_base + i``; a script's, found as it runs,
    get the next free places of the combined delta as they are announced."""

    __slots__ = ("row_base", "rows", "flow_base", "flows", "check_base", "checks", "is_open")

    def __init__(self, row_base: int, flow_base: int, flows: int, check_base: int) -> None:
        self.row_base = row_base
        self.rows: list[int] | None = None  # a script's: its rows' places, in its order
        self.flow_base = flow_base
        self.flows = flows
        self.check_base = check_base
        self.checks: list[int] | None = None  # likewise for a script's checks
        self.is_open = False


class PartsEngine:
    """Runs one engine per ``[[scenarios]]`` entry and merges their seconds."""

    def __init__(
        self,
        scenario: Scenario,
        host: str,
        share: WorkerShare,
        send: Callable[[WorkerDelta], None],
    ) -> None:
        self.scenario = scenario
        self.share = share
        self.send = send
        self.engines: list[WorkerEngine] = []
        self.layouts: list[_Layout] = []
        views = scenario.part_views
        self.scripted = any(v.script is not None for v in views)
        self.mixed = len({v.load.is_open for v in views}) > 1
        row = flow = check = 0
        for k, view in enumerate(views):
            engine = WorkerEngine(
                view, host, share.parts[k], partial(self._take, k), watch_loop=k == 0
            )
            layout = _Layout(row, flow, engine.nflows, check)
            layout.is_open = view.load.is_open
            if view.script is not None:
                layout.rows, layout.checks = [], []
            else:
                row += len(view.endpoints)
                check += len(view.check_rows)
            flow += engine.nflows
            self.engines.append(engine)
            self.layouts.append(layout)
        # A script's rows and checks come after every scenario's known ones.
        self._static_rows = list(zip(scenario.endpoints, scenario.endpoint_groups, strict=True))
        self._static_checks = list(zip(scenario.check_rows, scenario.check_groups, strict=True))
        self._next_row = row
        self._next_check = check
        self._announced = not self.scripted  # the known rows, said in the first delta
        self._live = set(range(len(self.engines)))
        self._pending: dict[int, dict[int, WorkerDelta]] = {}
        self.tick = 0  # the next second to send (the worker's "done" says tick - 1)

    # -- control: all the scenarios, or one ---------------------------------------
    def stop(self) -> None:
        for engine in self.engines:
            engine.stop()

    def pause(self) -> None:
        for engine in self.engines:
            engine.pause()

    def resume(self) -> None:
        for engine in self.engines:
            engine.resume()

    def part(self, index: int) -> WorkerEngine | None:
        """The engine of the ``index``-th scenario (None: no such scenario)."""
        return self.engines[index] if 0 <= index < len(self.engines) else None

    # -- running ------------------------------------------------------------------
    async def run(self, delay_s: float = 0.0) -> None:
        """Run every scenario's engine from the same instant until each has ended."""
        await asyncio.gather(*(self._run_one(k, delay_s) for k in range(len(self.engines))))
        self._flush(final=True)

    async def _run_one(self, k: int, delay_s: float) -> None:
        try:
            await self.engines[k].run(delay_s)
        finally:  # its last delta came in as it ended: the others no longer wait for it
            self._live.discard(k)
            self._flush()

    def _take(self, k: int, delta: WorkerDelta) -> None:
        self._pending.setdefault(delta.tick, {})[k] = delta
        self._flush()

    def _flush(self, final: bool = False) -> None:
        """Send every second each engine still running has sent (``final``: all of them)."""
        while True:
            got = self._pending.get(self.tick)
            if got is None or (not final and any(k not in got for k in self._live)):
                return
            del self._pending[self.tick]
            self.send(self._merge(self.tick, got))
            self.tick += 1

    # -- merging ------------------------------------------------------------------
    def _merge(self, tick: int, got: dict[int, WorkerDelta]) -> WorkerDelta:
        endpoints: list[EndpointDelta] = []
        flows: list[FlowDelta] = []
        errors: list[tuple[str, int | None, int, int, str]] = []
        checks: list[tuple[int, int, int]] = []
        new_rows: list[tuple[str, str]] = []
        new_groups: list[str] = []
        new_checks: list[tuple[str, str, bool]] = []
        new_check_groups: list[str] = []
        if not self._announced:  # the first delta: every known row, so scripts' follow
            self._announced = True
            for key, group in self._static_rows:
                new_rows.append(key)
                new_groups.append(group)
            for row, group in self._static_checks:
                new_checks.append(row)
                new_check_groups.append(group)
        parts: list[tuple[int, float, bool]] = []
        lag: dict[int, int] = {}
        present = list(got.values())
        any_open = False
        for k, layout in enumerate(self.layouts):
            d = got.get(k)
            name = self.scenario.parts[k].name
            if d is None:  # ended: nothing more of it, but its place in the flows
                flows += [FlowDelta([]) for _ in range(layout.flows)]
                parts.append((0, 0.0, False))
                continue
            if layout.rows is not None:  # a script: its rows and checks as they come
                for key in d.new_endpoints:
                    layout.rows.append(self._next_row)
                    self._next_row += 1
                    new_rows.append(key)
                    new_groups.append(name)
                for endpoint, check, soft in d.new_checks:
                    layout.checks.append(self._next_check)  # type: ignore[union-attr]
                    self._next_check += 1
                    new_checks.append((endpoint, check, soft))
                    new_check_groups.append(name)
            row_of = _mapper(layout.row_base, layout.rows)
            for e in d.endpoints:
                e.index = row_of(e.index)
                if self.mixed and e.service_buckets is None:  # closed: service = latency
                    e.service_buckets, e.service_sum_us = e.buckets, e.sum_us
                endpoints.append(e)
            for f in d.flows:
                if self.mixed and f.service_buckets is None:
                    f.service_buckets, f.service_sum_us = f.buckets, f.sum_us
                flows.append(f)
            for kind, status, index, count, message in d.errors:
                at = row_of(index) if index >= 0 else -1 - (layout.flow_base + (-1 - index))
                errors.append((kind, status, at, count, message))
            check_of = _mapper(layout.check_base, layout.checks)
            checks += [(check_of(c), passed, failed) for c, passed, failed in d.checks]
            parts.append((d.users, d.target, d.paused))
            if d.lag_buckets is not None:
                any_open = True
                for bucket, count in d.lag_buckets:
                    lag[bucket] = lag.get(bucket, 0) + count
        closed = [p for k, p in enumerate(parts) if not self.layouts[k].is_open]
        target = sum(p[1] for p in closed) if closed else sum(p[1] for p in parts)
        cpu = [d.cpu_s for d in present if d.cpu_s is not None]
        rss = [d.rss_bytes for d in present if d.rss_bytes is not None]
        watched = got.get(0)  # the first engine watches the loop for the process
        return WorkerDelta(
            worker=self.share.worker,
            tick=tick,
            span_s=max(d.span_s for d in present),
            users=sum(d.users for d in present),
            endpoints=endpoints,
            errors=errors,
            paused=all(d.paused for d in present),
            connects=sum(d.connects for d in present),
            target=target,
            dropped=sum(d.dropped for d in present),
            lag_buckets=sorted(lag.items()) if any_open else None,
            lag_sum_us=sum(d.lag_sum_us for d in present),
            flows=flows,
            notes=[n for d in present for n in d.notes],
            new_endpoints=new_rows,
            new_endpoint_groups=new_groups,
            logs=[line for d in present for line in d.logs],
            paused_s=min(d.paused_s for d in present),
            users_peak=sum(d.users_peak for d in present),
            user_s=sum(d.user_s for d in present),
            cpu_s=max(cpu) if cpu else None,
            rss_bytes=max(rss) if rss else None,
            loop_lag=watched.loop_lag if watched is not None else None,
            loop_lag_sum_us=watched.loop_lag_sum_us if watched is not None else 0,
            stalls=[s for d in present for s in d.stalls],
            loop_notes=[n for d in present for n in d.loop_notes],
            checks=checks,
            new_checks=new_checks,
            new_check_groups=new_check_groups,
            http_debug=[x for d in present for x in d.http_debug],
            parts=parts,
        )


def _mapper(base: int, places: list[int] | None) -> Callable[[int], int]:
    """A scenario's own row (or check) number to the combined delta's."""
    if places is None:
        return lambda i: base + i
    return places.__getitem__


def apply_control(engine: WorkerEngine, msg: tuple[Any, ...]) -> None:
    """One control message of the coordinator's to one engine (engine/worker.py)."""
    op = msg[0]
    if op == "stop":
        engine.stop()
    elif op == "pause":
        engine.pause()
    elif op == "resume":
        engine.resume()
    elif op == "users":
        rate = float(msg[2]) if len(msg) > 2 else None
        classes = tuple(msg[3]) if len(msg) > 3 else None
        engine.set_target(int(msg[1]), manual=True, spawn_rate=rate, classes=classes)
    elif op == "rate":
        engine.set_rate(float(msg[1]))
