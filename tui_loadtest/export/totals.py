"""A run's running totals as the live exporters read them, folded second by second.

The merge thread hands each complete second over (``Run.listen``); a thread of the
exporters' own (:class:`~tui_loadtest.export.feed.Feed`) folds it in here, and the
Prometheus endpoint and the OTLP exporter read copies under this object's lock,
never the run's. The figures are the report's: the warm-up's seconds move the
gauges only (the report keeps them apart too), every other second adds to the
counters and to the histogram buckets, cut exactly at our bucket edges
(:mod:`~tui_loadtest.export.buckets`).

Labels stay bounded: an endpoint is the scenario's name for it (never a URL), and
a script that names more than :data:`MAX_ENDPOINTS` rows has the rest counted under
``(other)``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .buckets import EDGES_US, add_buckets

if TYPE_CHECKING:
    from ..engine.coordinator import Run
    from ..stats.aggregate import Second

MAX_ENDPOINTS = 1000  # endpoint label values per run; later rows share "(other)"
OTHER = ("*", "(other)")
NO_RESPONSE = "none"  # the status class of a request that got no response


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


@dataclass(slots=True)
class EndpointTotals:
    """One endpoint (row) over the measured run."""

    method: str
    name: str
    requests: dict[str, int] = field(default_factory=dict)  # status class -> requests
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error kind -> count
    slots: list[int] = field(default_factory=lambda: [0] * (len(EDGES_US) + 1))
    sum_us: int = 0
    responses: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status -> responses
    no_response: int = 0  # requests without a response (timeouts, refused, reset)
    min_us: float = 0.0  # the fastest and slowest responses' buckets (their midpoints)
    max_us: float = 0.0

    def copy(self) -> EndpointTotals:
        return EndpointTotals(
            self.method,
            self.name,
            dict(self.requests),
            self.failures,
            dict(self.errors),
            list(self.slots),
            self.sum_us,
            self.responses,
            dict(self.statuses),
            self.no_response,
            self.min_us,
            self.max_us,
        )


@dataclass(slots=True)
class View:
    """A consistent copy of the totals, for one scrape or one export."""

    run_id: str
    scenario: str
    mode: str
    started_unix: float
    endpoints: list[EndpointTotals]
    flows: list[tuple[str, int, int]]  # (name, iterations, failed)
    dropped: int
    bytes_received: int
    bytes_sent: int
    loop_slots: list[int]
    loop_sum_us: int
    cpu: dict[int, float]  # worker -> % of one core, the last second
    users: int
    users_planned: int
    rate_target: float | None
    seconds: int  # measured seconds folded in
    done: bool


class RunTotals:
    """What the live exporters publish of one run (see the module docstring)."""

    def __init__(self, run: Run, run_id: str) -> None:
        self.run = run
        self.run_id = run_id
        self.scenario = run.scenario.name
        self.mode = run.load.mode
        self.started_unix = time.time()
        self._lock = threading.Lock()
        self._keys = run.aggregate.endpoint_keys  # grows as a script names rows
        # [[scenarios]]: each row's scenario, in its label (the same request in two
        # scenarios is two rows, and two series): "browse · GET /x"
        self._groups = run.aggregate.endpoint_groups
        self._endpoints: list[EndpointTotals] = []
        self._other: EndpointTotals | None = None
        self._flow_names = tuple(
            f"{group} · {name}" if group else name
            for name, group in zip(run.aggregate.flow_names, run.aggregate.flow_groups, strict=True)
        )
        self._iterations = [0] * len(self._flow_names)
        self._failed = [0] * len(self._flow_names)
        self._dropped = 0
        self._bytes = [0, 0]
        self._loop = [0] * (len(EDGES_US) + 1)
        self._loop_sum = 0
        self._cpu: dict[int, float] = {}
        self._seconds = 0
        self.done = False
        self._grow()

    def _grow(self) -> None:
        keys = self._keys
        while len(self._endpoints) < min(len(keys), MAX_ENDPOINTS):
            method, name = keys[len(self._endpoints)]
            group = self._groups[len(self._endpoints)]
            name = f"{group} · {name}" if group else name
            # "2xx" from 0: a counter first seen at 0 gives Prometheus' increase() its start
            self._endpoints.append(EndpointTotals(method, name, requests={"2xx": 0}))

    def _row(self, row: int) -> EndpointTotals:
        if row < MAX_ENDPOINTS:
            if row >= len(self._endpoints):
                self._grow()
            return self._endpoints[row]
        if self._other is None:
            self._other = EndpointTotals(*OTHER)
        return self._other

    def fold(self, sec: Second) -> None:
        """Add one complete second (in the feed's thread)."""
        with self._lock:
            self._cpu = dict(sec.cpu)
            if sec.warmup:
                return
            self._seconds += 1
            for row, span in sec.endpoints.items():
                ep = self._row(row)
                responses = 0
                statuses = ep.statuses
                for status, count in span.statuses.items():
                    statuses[status] = statuses.get(status, 0) + count
                    cls = status_class(status)
                    ep.requests[cls] = ep.requests.get(cls, 0) + count
                    responses += count
                unnamed = span.hist.total - responses  # responses with no status kept
                if unnamed > 0:
                    ep.requests["other"] = ep.requests.get("other", 0) + unnamed
                if span.requests > span.hist.total:  # no response: timeouts, refused, reset
                    missing = span.requests - span.hist.total
                    ep.requests[NO_RESPONSE] = ep.requests.get(NO_RESPONSE, 0) + missing
                    ep.no_response += missing
                if span.hist.total:
                    low, high = span.hist.min(), span.hist.max()
                    ep.min_us = low if not ep.responses else min(ep.min_us, low)
                    ep.max_us = max(ep.max_us, high)
                ep.failures += span.failures
                add_buckets(ep.slots, span.hist.items())
                ep.sum_us += span.hist.sum_us
                ep.responses += span.hist.total
                self._bytes[0] += span.bytes_received
                self._bytes[1] += span.bytes_sent
            for (kind, _status, row), (count, _message) in sec.errors.items():
                if row < 0:  # a flow's (script task's) own error: counted with the flow
                    continue
                errors = self._row(row).errors
                errors[kind] = errors.get(kind, 0) + count
            for i, flow in enumerate(sec.flows[: len(self._flow_names)]):
                self._iterations[i] += flow.hist.total
                self._failed[i] += flow.failed
            self._dropped += sec.dropped
            if sec.loop_lag is not None:
                add_buckets(self._loop, sec.loop_lag.items())
                self._loop_sum += sec.loop_lag.sum_us

    def finish(self) -> None:
        with self._lock:
            self.done = True

    def view(self) -> View:
        """A copy to read without holding anything: taken in microseconds per endpoint."""
        snap = self.run.snapshot  # immutable: swapped in by the merge thread
        with self._lock:
            endpoints = [ep.copy() for ep in self._endpoints]
            if self._other is not None:
                endpoints.append(self._other.copy())
            return View(
                run_id=self.run_id,
                scenario=self.scenario,
                mode=self.mode,
                started_unix=self.started_unix,
                endpoints=endpoints,
                flows=list(zip(self._flow_names, self._iterations, self._failed, strict=True)),
                dropped=self._dropped,
                bytes_received=self._bytes[0],
                bytes_sent=self._bytes[1],
                loop_slots=list(self._loop),
                loop_sum_us=self._loop_sum,
                cpu=dict(self._cpu),
                users=snap.users_active,
                users_planned=snap.users_target,
                rate_target=snap.rate_target,
                seconds=self._seconds,
                done=self.done,
            )
