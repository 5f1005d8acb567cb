"""Merging per-second worker deltas into run-wide statistics.

Workers never send individual requests: once a second each sends a
:class:`WorkerDelta` (counters plus the non-zero histogram buckets per endpoint).
Deltas add exactly, so a merged second is the same whichever worker served which
request. A second is *complete* once every worker still running has reported it;
only complete seconds enter the timeline, the window and the cumulative totals.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from .histogram import Histogram
from .model import (
    CheckStats,
    EndpointSnapshot,
    ErrorRow,
    Event,
    FlowSnapshot,
    FlowStats,
    Latency,
    RunState,
    ScenarioSnapshot,
    Snapshot,
    Stats,
    StreamStats,
    TimelinePoint,
)

# Error kinds, in the order tables show them.
# "generator": the load generator's own limits (open files, ports), not the target.
ERROR_KINDS = (
    "http",
    "capture",
    "check",
    "script",
    "timeout",
    "refused",
    "reset",
    "tls",
    "dns",
    "protocol",
    "stream",
    "redirects",
    "generator",
    "other",
)


@dataclass(slots=True)
class StreamDelta:
    """One streamed endpoint's second on one worker (engine/streams.py): times to first
    event and between events as (bucket, count) pairs with their sums (µs), and counts."""

    ttft: list[tuple[int, int]]
    ttft_sum_us: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    gap_sum_us: int = 0
    events: int = 0
    tokens: int = 0
    gen_tokens: int = 0  # tokens after each stream's first timed event
    gen_us: int = 0  # each stream's first to last event, summed (µs)
    streams: int = 0  # streams that ended (complete, or cut: a failure of kind "stream")


@dataclass(slots=True)
class EndpointDelta:
    """One endpoint's second on one worker (sent only for endpoints with activity in it)."""

    index: int  # the endpoint's row: its position in the scenario (a script: the worker's)
    buckets: list[tuple[int, int]]  # non-zero (bucket, count) pairs of response latencies
    sum_us: int = 0
    bytes_received: int = 0
    http_failures: int = 0  # responses that were not a success
    other_failures: int = 0  # no response: timeout, refused, reset...
    # Open model: ``buckets`` hold corrected latency (from the intended start);
    # these hold service time (from the moment the request was sent).
    service_buckets: list[tuple[int, int]] | None = None
    service_sum_us: int = 0
    bytes_sent: int = 0  # what the requests written this second weighed
    statuses: list[tuple[int, int]] = field(default_factory=list)  # (HTTP status, responses)
    redirects: int = 0  # redirects followed within these requests (hops, not requests)
    # Times to first byte of the responses (from the request's start, corrected in the
    # open model, to the first byte of the response's head): (bucket, count) pairs.
    ttfb_buckets: list[tuple[int, int]] | None = None
    ttfb_sum_us: int = 0
    stream: StreamDelta | None = None  # streamed requests only


@dataclass(slots=True)
class FlowDelta:
    """One flow's second on one worker: the iterations that ended, their durations."""

    buckets: list[tuple[int, int]]  # non-zero (bucket, count) pairs of iteration durations
    sum_us: int = 0
    failed: int = 0  # iterations with a failed step (counted in the buckets too)
    # Open model: ``buckets`` count from each arrival's intended time; these from the
    # iteration's first send.
    service_buckets: list[tuple[int, int]] | None = None
    service_sum_us: int = 0


@dataclass(slots=True)
class WorkerDelta:
    """What a worker sends once a second."""

    worker: int
    tick: int  # the second this covers: [tick, tick + 1) after the run started
    span_s: float  # how much of that second the worker was running (1.0 but for the last)
    users: int
    endpoints: list[EndpointDelta]  # the endpoints with activity in this second, any order
    # (kind, status or None, endpoint index, count, last message)
    errors: list[tuple[str, int | None, int, int, str]] = field(default_factory=list)
    paused: bool = False
    connects: int = 0  # connections opened this second
    target: float = 0.0  # this worker's target load: users, or req/s in arrival-rate mode
    # Open model: arrivals dropped (queue full, or unsent at the end), and how
    # late the scheduler handled arrivals against their intended time (µs).
    dropped: int = 0
    lag_buckets: list[tuple[int, int]] | None = None
    lag_sum_us: int = 0
    flows: list[FlowDelta] = field(default_factory=list)  # one per flow row, in order
    notes: list[str] = field(default_factory=list)  # one-off warnings (a data queue ran out)
    # Scripts name their requests as they run: (method, name) of the rows this worker
    # added since its last delta, in its own order (``endpoints`` has them all).
    new_endpoints: list[tuple[str, str]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)  # for the run's log file (tracebacks)
    paused_s: float = 0.0  # how much of the span the worker was paused
    users_peak: int = 0  # the most users (open model: connection slots) at once
    user_s: float = 0.0  # users integrated over the span (user-seconds)
    cpu_s: float | None = None  # CPU time the worker's process used over the span
    rss_bytes: int | None = None  # the worker process's resident memory at the end of the span
    # The worker's event loop (engine/loop_watch.py): how late its heartbeat ran, as
    # (bucket, count) pairs of µs, time-weighted; and each stall past 100 ms as
    # (the code that blocked it, seconds blocked, requests in flight across it).
    loop_lag: list[tuple[int, int]] | None = None
    loop_lag_sum_us: int = 0
    stalls: list[tuple[str, float, int]] = field(default_factory=list)
    quit: bool = False  # a locustfile called environment.runner.quit(): end the run
    exit_code: int | None = None  # a locustfile's environment.process_exit_code
    classes: dict[str, int] | None = None  # a locustfile's users by class, at the span's end
    # The first stall by each culprit, in words: events and headless lines like ``notes``,
    # but not the run's notes (the report's generator section counts every stall).
    loop_notes: list[str] = field(default_factory=list)
    # Checks on responses: (check row, passed, failed) for the checks that ran; a script
    # names its checks as it runs: (endpoint, name, soft) of the rows this worker added
    # since its last delta, in its own order (as ``new_endpoints``).
    checks: list[tuple[int, int, int]] = field(default_factory=list)
    new_checks: list[tuple[str, str, bool]] = field(default_factory=list)
    # --http-debug: (endpoint, the exchange as text) copied this second, for the HTTP log
    http_debug: list[tuple[str, str]] = field(default_factory=list)
    # [[scenarios]] (engine/parts.py): the scenario of each of ``new_endpoints`` and of
    # ``new_checks`` (empty: none), and each scenario's (users, target, paused), in order
    new_endpoint_groups: list[str] = field(default_factory=list)
    new_check_groups: list[str] = field(default_factory=list)
    parts: list[tuple[int, float, bool]] | None = None


class _StreamSpan:
    """A streamed endpoint's events over some span of time."""

    __slots__ = ("ttft", "gaps", "events", "tokens", "gen_tokens", "gen_us", "streams")

    def __init__(self) -> None:
        self.ttft = Histogram()
        self.gaps = Histogram()
        self.events = self.tokens = self.gen_tokens = self.gen_us = self.streams = 0

    def add(self, d: StreamDelta) -> None:
        self.ttft.add_sparse(d.ttft, d.ttft_sum_us)
        self.gaps.add_sparse(d.gaps, d.gap_sum_us)
        self.events += d.events
        self.tokens += d.tokens
        self.gen_tokens += d.gen_tokens
        self.gen_us += d.gen_us
        self.streams += d.streams

    def merge(self, other: _StreamSpan) -> None:
        self.ttft.merge(other.ttft)
        self.gaps.merge(other.gaps)
        self.events += other.events
        self.tokens += other.tokens
        self.gen_tokens += other.gen_tokens
        self.gen_us += other.gen_us
        self.streams += other.streams

    def stats(self, seconds: float) -> StreamStats:
        return StreamStats(
            streams=self.streams,
            events=self.events,
            tokens=self.tokens,
            ttft=Latency.from_histogram(self.ttft),
            inter_event=Latency.from_histogram(self.gaps),
            gen_tokens=self.gen_tokens,
            gen_s=self.gen_us / 1e6,
            tokens_per_s=self.tokens / seconds if seconds > 0 else 0.0,
        )


class _Span:
    """Counters and histograms for one endpoint over some span of time.

    What reading it costs (percentiles, sorted statuses) is kept until it changes:
    a snapshot reads every endpoint's totals each second, most of them unchanged.
    """

    __slots__ = ("hist", "service", "ttfb", "stream", "requests", "failures", "bytes_received",
                 "bytes_sent", "statuses", "redirects", "_read")  # fmt: skip

    def __init__(self) -> None:
        self.hist = Histogram()
        self.service: Histogram | None = None  # open model only
        self.ttfb: Histogram | None = None  # times to first byte, once any was recorded
        self.stream: _StreamSpan | None = None  # streamed requests only
        self.requests = 0
        self.failures = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self.statuses: dict[int, int] = {}
        self.redirects = 0
        # (latency, service latency, sorted statuses, TTFB) as last read; None once changed
        self._read: (
            tuple[Latency, Latency | None, tuple[tuple[int, int], ...], Latency | None] | None
        ) = None

    def add(self, d: EndpointDelta) -> None:
        self._read = None
        responses = self.hist.add_sparse(d.buckets, d.sum_us)
        if d.service_buckets is not None:
            if self.service is None:
                self.service = Histogram()
            self.service.add_sparse(d.service_buckets, d.service_sum_us)
        if d.ttfb_buckets is not None:
            if self.ttfb is None:
                self.ttfb = Histogram()
            self.ttfb.add_sparse(d.ttfb_buckets, d.ttfb_sum_us)
        if d.stream is not None:
            if self.stream is None:
                self.stream = _StreamSpan()
            self.stream.add(d.stream)
        self.requests += responses + d.other_failures  # as self_requests(d), counted once
        self.failures += d.http_failures + d.other_failures
        self.bytes_received += d.bytes_received
        self.bytes_sent += d.bytes_sent
        self.redirects += d.redirects
        statuses = self.statuses
        for status, count in d.statuses:
            statuses[status] = statuses.get(status, 0) + count

    def merge(self, other: _Span) -> None:
        self._read = None
        self.hist.merge(other.hist)
        if other.service is not None:
            if self.service is None:
                self.service = Histogram()
            self.service.merge(other.service)
        if other.ttfb is not None:
            if self.ttfb is None:
                self.ttfb = Histogram()
            self.ttfb.merge(other.ttfb)
        if other.stream is not None:
            if self.stream is None:
                self.stream = _StreamSpan()
            self.stream.merge(other.stream)
        self.requests += other.requests
        self.failures += other.failures
        self.bytes_received += other.bytes_received
        self.bytes_sent += other.bytes_sent
        self.redirects += other.redirects
        statuses = self.statuses
        for status, count in other.statuses.items():
            statuses[status] = statuses.get(status, 0) + count

    def copy(self) -> _Span:
        span = _Span()
        span.merge(self)
        return span

    def stats(self, seconds: float, dropped: int = 0) -> Stats:
        read = self._read
        if read is None:
            read = self._read = (
                Latency.from_histogram(self.hist),
                Latency.from_histogram(self.service) if self.service is not None else None,
                tuple(sorted(self.statuses.items())),
                Latency.from_histogram(self.ttfb) if self.ttfb is not None else None,
            )
        return Stats(
            requests=self.requests,
            failures=self.failures,
            rps=self.requests / seconds if seconds > 0 else 0.0,
            bytes_received=self.bytes_received,
            bytes_sent=self.bytes_sent,
            statuses=read[2],
            redirects=self.redirects,
            latency=read[0],
            service=read[1],
            dropped=dropped,
            ttfb=read[3],
            stream=self.stream.stats(seconds) if self.stream is not None else None,
        )


class _FlowSpan:
    """One flow's iterations over some span of time."""

    __slots__ = ("hist", "service", "failed")

    def __init__(self) -> None:
        self.hist = Histogram()
        self.service: Histogram | None = None  # open model only
        self.failed = 0

    def add(self, d: FlowDelta) -> None:
        self.hist.add_sparse(d.buckets, d.sum_us)
        if d.service_buckets is not None:
            if self.service is None:
                self.service = Histogram()
            self.service.add_sparse(d.service_buckets, d.service_sum_us)
        self.failed += d.failed

    def merge(self, other: _FlowSpan) -> None:
        self.hist.merge(other.hist)
        if other.service is not None:
            if self.service is None:
                self.service = Histogram()
            self.service.merge(other.service)
        self.failed += other.failed

    def stats(self, seconds: float) -> FlowStats:
        n = self.hist.total
        return FlowStats(
            iterations=n,
            failed=self.failed,
            rate=n / seconds if seconds > 0 else 0.0,
            duration=Latency.from_histogram(self.hist),
            service=Latency.from_histogram(self.service) if self.service is not None else None,
        )


def self_requests(d: EndpointDelta) -> int:
    """Requests that ended in this delta: every response plus every failure without one."""
    return sum(map(itemgetter(1), d.buckets)) + d.other_failures  # map: summed in C


class _Second:
    """One second being assembled from several workers' deltas.

    It holds the endpoints that were active in it only, so a second costs what its
    active endpoints cost, however many endpoints the scenario has. Once complete it
    is never changed again: listeners (the exporters, ``tui_loadtest.export``) read it
    from their own threads.
    """

    __slots__ = (
        "tick",
        "warmup",
        "point",
        "errors",
        "loop_lag",
        "reported",
        "span_s",
        "users",
        "endpoints",
        "total",
        "flows",
        "paused_s",
        "users_peak",
        "classes",
        "user_s",
        "cpu",
        "rss",
        "paused",
        "target",
        "dropped",
        "lag",
        "checks",
        "parts",
    )

    def __init__(self, n_flows: int = 0, n_parts: int = 0) -> None:
        self.tick = 0  # set once complete, with ``warmup`` and ``point``
        self.warmup = False
        self.point: TimelinePoint | None = None  # None: the run's last, partial second
        # (kind, status, endpoint row) -> [count, last message], this second's errors
        self.errors: dict[tuple[str, int | None, int], list] = {}
        self.loop_lag: Histogram | None = None  # the workers' event loops (µs, time-weighted)
        self.reported: set[int] = set()
        self.span_s = 0.0
        self.paused_s = 0.0
        self.users = 0
        self.users_peak = 0
        self.classes: dict[str, int] = {}  # a locustfile's users by class (all workers)
        self.user_s = 0.0
        self.cpu: dict[int, float] = {}  # worker -> % of one core over the second
        self.rss: dict[int, int] = {}  # worker -> resident memory (bytes)
        self.paused = False
        self.target = 0.0
        self.dropped = 0
        self.lag: Histogram | None = None
        self.endpoints: dict[int, _Span] = {}  # row -> its span, for active rows only
        self.total: _Span | None = None  # every endpoint together, once complete
        self.flows = [_FlowSpan() for _ in range(n_flows)]
        self.checks: dict[int, list[int]] = {}  # check row -> [passed, failed]
        # [[scenarios]]: each one's [users, target, workers paused], summed over workers
        self.parts: list[list] = [[0, 0.0, 0] for _ in range(n_parts)]


class RunAggregate:
    """The coordinator's merged view of a run, fed with worker deltas."""

    def __init__(
        self,
        endpoints: list[tuple[str, str]],  # (method, name) in plan order
        workers: int,
        window_s: int = 5,
        flows: tuple[str, ...] | list[str] = (),  # flow (or script task) names, in order
        warmup_s: float = 0.0,
        checks: tuple[tuple[str, str, bool], ...] | list[tuple[str, str, bool]] = (),
        *,
        groups: Sequence[str] = (),
        flow_groups: Sequence[str] = (),
        check_groups: Sequence[str] = (),
        parts: Sequence[tuple[str, str, float]] = (),
    ) -> None:
        """``groups``, ``flow_groups``, ``check_groups``: the ``[[scenarios]]`` entry of
        each endpoint, flow and check row (none: every row is the run's own); ``parts``:
        each entry's (name, mode, start offset), in order."""
        self.endpoint_keys = list(endpoints)
        self.n = len(endpoints)
        self.endpoint_groups = list(groups) or [""] * self.n
        self._row_at: dict[tuple[str, str, str], int] = {}
        for row, (key, group) in enumerate(
            zip(self.endpoint_keys, self.endpoint_groups, strict=True)
        ):
            self._row_at.setdefault((*key, group), row)
        self.flow_names = tuple(flows)
        self.flow_groups = tuple(flow_groups) or ("",) * len(self.flow_names)
        self.parts = tuple(parts)
        # Each [[scenarios]] entry as of the last complete second: users, target, paused.
        self.part_users = [0] * len(self.parts)
        self.part_targets = [0.0] * len(self.parts)
        self.part_paused = [False] * len(self.parts)
        # Scripts: each worker's own row order -> the run's (rows appear as they are named)
        self._rows_of: dict[int, list[int]] = {}
        self.flows = [_FlowSpan() for _ in self.flow_names]  # whole run
        self._notes: set[str] = set()
        # What the workers said once, in order: ``said`` every line (for a headless run to
        # print as it comes), ``notes`` the run's own (for the summary and the report).
        self.said: list[str] = []
        self.notes: list[str] = []
        self.window_s = window_s
        self.open_model = False
        self._live = set(range(workers))
        self._finished_at: dict[int, int] = {}  # worker -> last tick it reported
        self._pending: dict[int, _Second] = {}
        self.next_tick = 0  # the first second not yet complete
        self.cumulative = [_Span() for _ in range(self.n)]
        self._total = _Span()  # every endpoint over every complete second
        self.seconds: list[float] = []  # span of each second on the timeline
        self.tail_s = 0.0  # the last, partial second, left off the timeline (see _complete)
        self.active_s = 0.0  # time not paused, over every complete second
        self.users_peak = 0  # the most users at once (summed over workers' peaks)
        self.classes: dict[str, int] = {}  # a locustfile's users by class, last second
        self.class_peaks: dict[str, int] = {}  # ... the most of each at once
        self.user_s = 0.0  # users integrated over the run (user-seconds)
        # Per complete second: each worker's CPU (% of one core), None when not reported.
        self.cpu: list[list[float | None]] = []
        self.rss: list[list[int | None]] = []  # likewise, each worker's memory (bytes)
        self.workers = workers
        self.timeline: list[TimelinePoint] = []
        self.per_second_buckets: list[list[list[int]]] = []  # all endpoints, per second
        self.per_second_service_buckets: list[list[list[int]]] = []  # open model
        self._window: deque[_Second] = deque(maxlen=window_s)
        self.dropped = 0
        self.lag = Histogram()  # open model: scheduler lateness, whole run
        # Every worker's event loop past the warm-up (engine/loop_watch.py): how late its
        # heartbeat ran (time-weighted), and each stall as (second, worker, culprit,
        # seconds blocked, requests in flight across it).
        self.loop_lag = Histogram()
        self.stalls: list[tuple[int, int, str, float, int]] = []
        # (kind, status, endpoint index) -> [count, last message, first seen (s), last seen (s)]
        self.errors: dict[tuple[str, int | None, int], list] = {}
        self.events: list[Event] = []
        self.users = 0
        self.target = 0.0
        self.connects = 0  # connections ever opened, all workers
        # The warm-up: seconds [0, warmup_ticks) are loaded like the rest but kept apart
        # (Locust's --reset-stats): they enter these, never the totals above; the timeline
        # keeps them, marked, so charts can shade them.
        self.warmup_ticks = math.ceil(warmup_s - 1e-9) if warmup_s > 0 else 0
        self.warmup_cumulative = [_Span() for _ in range(self.n)]
        self.warmup_flows = [_FlowSpan() for _ in self.flow_names]
        self.warmup_active_s = 0.0
        self.warmup_wall_s = 0.0
        self.warmup_errors: dict[tuple[str, int | None, int], list] = {}
        # Told of each second as it completes, in the merge thread and under the run's
        # lock: each must only hand the (then unchanging) second over, never block.
        self.listeners: list[Callable[[_Second], None]] = []
        # Checks on responses, (endpoint, name, soft) by row, and each one's [passed,
        # failed] over the measured run (and over the warm-up apart); a script's checks
        # are added as its workers name them (each worker's own order -> the run's).
        self.check_keys: list[tuple[str, str, bool]] = list(checks)
        self.check_groups: list[str] = list(check_groups) or [""] * len(self.check_keys)
        self.check_counts: list[list[int]] = [[0, 0] for _ in self.check_keys]
        self.warmup_check_counts: list[list[int]] = [[0, 0] for _ in self.check_keys]
        self._checks_of: dict[int, list[int]] = {}

    # -- feeding ------------------------------------------------------------
    def add(self, delta: WorkerDelta) -> list[int]:
        """Merge one delta; return the ticks that became complete.

        A delta for a second already completed without it (its worker was late,
        see :meth:`complete_overdue`) goes into the earliest open second: the
        totals stay exact, only its place on the timeline moves.
        """
        late = delta.tick < self.next_tick
        tick = self.next_tick if late else delta.tick
        sec = self._pending.get(tick)
        if sec is None:
            sec = self._pending[tick] = _Second(len(self.flow_names), len(self.parts))
        if not late:
            sec.reported.add(delta.worker)
            sec.span_s = max(sec.span_s, delta.span_s)
            sec.paused_s = max(sec.paused_s, delta.paused_s)
            sec.users += delta.users
            sec.users_peak += delta.users_peak
            for name, n in (delta.classes or {}).items():
                sec.classes[name] = sec.classes.get(name, 0) + n
            if delta.cpu_s is not None and delta.span_s > 0:
                sec.cpu[delta.worker] = 100 * delta.cpu_s / delta.span_s
            if delta.rss_bytes is not None:
                sec.rss[delta.worker] = delta.rss_bytes
        sec.user_s += delta.user_s
        sec.paused = sec.paused or delta.paused
        if delta.parts is not None and not late:
            for acc, (users, target, paused) in zip(sec.parts, delta.parts, strict=False):
                acc[0] += users
                acc[1] += target
                acc[2] += paused
        sec.target += delta.target
        sec.dropped += delta.dropped
        if delta.lag_buckets is not None:
            self.open_model = True
            if sec.lag is None:
                sec.lag = Histogram()
            sec.lag.add_sparse(delta.lag_buckets, delta.lag_sum_us)
        self.connects += delta.connects
        if delta.loop_lag:
            if sec.loop_lag is None:
                sec.loop_lag = Histogram()
            sec.loop_lag.add_sparse(delta.loop_lag, delta.loop_lag_sum_us)
        if delta.tick >= self.warmup_ticks:
            if delta.loop_lag:
                self.loop_lag.add_sparse(delta.loop_lag, delta.loop_lag_sum_us)
            for culprit, blocked_s, in_flight in delta.stalls:
                self.stalls.append((delta.tick, delta.worker, culprit, blocked_s, in_flight))
        rows = self._rows(delta)
        spans = sec.endpoints
        for d in delta.endpoints:
            ep = d.index if rows is None else rows[d.index]
            span = spans.get(ep)
            if span is None:
                if not 0 <= ep < self.n:
                    raise ValueError(f"worker {delta.worker} sent endpoint row {ep} of {self.n}")
                span = spans[ep] = _Span()
            span.add(d)
        for flow, fd in zip(sec.flows, delta.flows, strict=True):
            flow.add(fd)
        if delta.checks or delta.new_checks:
            check_rows = self._check_rows(delta)
            for local, passed, failed in delta.checks:
                check = local if check_rows is None else check_rows[local]
                if not 0 <= check < len(self.check_keys):
                    raise ValueError(f"worker {delta.worker} sent check row {check}")
                counts = sec.checks.get(check)
                if counts is None:
                    sec.checks[check] = [passed, failed]
                else:
                    counts[0] += passed
                    counts[1] += failed
        for note in delta.notes:
            if self._say(delta, note):
                self.notes.append(note)
        for note in delta.loop_notes:
            self._say(delta, note)
        errors = self.warmup_errors if delta.tick < self.warmup_ticks else self.errors
        for kind, status, local, count, message in delta.errors:
            ep = rows[local] if rows is not None and local >= 0 else local
            key = (kind, status, ep)
            here = sec.errors.get(key)
            if here is None:
                sec.errors[key] = [count, message]
            else:
                here[0] += count
                here[1] = message
            row = errors.get(key)
            if row is None:
                errors[key] = [count, message, float(delta.tick), float(delta.tick)]
                method, name = self.row_key(ep)
                label = f"HTTP {status}" if kind == "http" else kind
                self.events.append(
                    Event(delta.tick + delta.span_s, f"first {label} on {name}: {message}", "error")
                )
            else:
                row[0] += count
                row[1] = message
                row[2] = min(row[2], float(delta.tick))
                row[3] = max(row[3], float(delta.tick))
        return self._complete_ready()

    def _say(self, delta: WorkerDelta, note: str) -> bool:
        """A worker's one-off warning as an event; False when another worker said it."""
        if note in self._notes:  # every worker may say it: the run says it once
            return False
        self._notes.add(note)
        self.said.append(note)
        self.events.append(Event(delta.tick + delta.span_s, note, "warning"))
        return True

    def _rows(self, delta: WorkerDelta) -> list[int] | None:
        """The run's row of each of this worker's rows; None when they are the same
        (every run but a script's)."""
        rows = self._rows_of.get(delta.worker)
        if delta.new_endpoints:
            if rows is None:
                rows = self._rows_of[delta.worker] = []
            groups = delta.new_endpoint_groups
            for i, key in enumerate(delta.new_endpoints):
                group = groups[i] if i < len(groups) else ""
                row = self._row_at.get((*key, group))
                rows.append(row if row is not None else self._add_row(key, group))
        return rows

    def _check_rows(self, delta: WorkerDelta) -> list[int] | None:
        """The run's check row of each of this worker's (None: the scenario's own order)."""
        rows = self._checks_of.get(delta.worker)
        if delta.new_checks:
            if rows is None:
                rows = self._checks_of[delta.worker] = []
            keys = [
                (e, n, g) for (e, n, _), g in zip(self.check_keys, self.check_groups, strict=True)
            ]
            groups = delta.new_check_groups
            for i, (endpoint, name, soft) in enumerate(delta.new_checks):
                group = groups[i] if i < len(groups) else ""
                if (endpoint, name, group) in keys:
                    rows.append(keys.index((endpoint, name, group)))
                else:
                    self.check_keys.append((endpoint, name, soft))
                    self.check_groups.append(group)
                    self.check_counts.append([0, 0])
                    self.warmup_check_counts.append([0, 0])
                    keys.append((endpoint, name, group))
                    rows.append(len(self.check_keys) - 1)
        return rows

    def _add_row(self, key: tuple[str, str], group: str = "") -> int:
        self.endpoint_keys.append(key)
        self.endpoint_groups.append(group)
        self._row_at.setdefault((*key, group), self.n)
        self.n += 1
        self.cumulative.append(_Span())
        self.warmup_cumulative.append(_Span())
        return self.n - 1

    def row_key(self, ep: int) -> tuple[str, str]:
        """``(method, name)`` of an error's row: an endpoint, or (negative) a flow's."""
        if ep < 0:
            return "TASK", self.flow_names[-1 - ep]
        return self.endpoint_keys[ep]

    def worker_finished(self, worker: int, last_tick: int) -> list[int]:
        """A worker stopped after reporting ``last_tick`` (-1 if it never reported)."""
        self._live.discard(worker)
        self._finished_at[worker] = last_tick
        return self._complete_ready()

    def finish(self) -> list[int]:
        """Every worker is gone: complete whatever seconds were reported."""
        self._live.clear()
        done = []
        for tick in sorted(self._pending):
            if tick >= self.next_tick:
                self.next_tick = tick
                done.append(self._complete(tick))
        self._pending.clear()
        return done

    def complete_overdue(self, through_tick: int) -> tuple[list[int], set[int]]:
        """Complete every second up to ``through_tick`` even if a worker has not
        reported it, so one stuck worker cannot freeze the live view.

        Returns the completed seconds and the workers that were missing.
        """
        done: list[int] = []
        missing: set[int] = set()
        while self.next_tick <= through_tick:
            tick = self.next_tick
            sec = self._pending.get(tick)
            if sec is None:
                sec = self._pending[tick] = _Second(len(self.flow_names), len(self.parts))
            missing |= {w for w in self._live if w not in sec.reported}
            done.append(self._complete(tick))
        return done, missing

    def _complete_ready(self) -> list[int]:
        done = []
        while True:
            tick = self.next_tick
            sec = self._pending.get(tick)
            if sec is None:
                break
            waiting = any(w not in sec.reported for w in self._live)
            if waiting:
                break
            done.append(self._complete(tick))
        return done

    def _complete(self, tick: int) -> int:
        sec = self._pending.pop(tick)
        span = sec.span_s or 1.0
        total = sec.total = _Span()
        warm = tick < self.warmup_ticks
        cumulative = self.warmup_cumulative if warm else self.cumulative
        for row, s in sec.endpoints.items():
            cumulative[row].merge(s)
            total.merge(s)
        if not warm:
            self._total.merge(total)
        for cum_flow, f in zip(self.warmup_flows if warm else self.flows, sec.flows, strict=True):
            cum_flow.merge(f)
        check_counts = self.warmup_check_counts if warm else self.check_counts
        for row, (passed, failed) in sec.checks.items():
            check_counts[row][0] += passed
            check_counts[row][1] += failed
        if warm:
            self.warmup_active_s += max(0.0, span - sec.paused_s)
            self.warmup_wall_s += span
        else:
            self.active_s += max(0.0, span - sec.paused_s)
            self.users_peak = max(self.users_peak, sec.users_peak)
            self.user_s += sec.user_s
            self.dropped += sec.dropped
            if sec.lag is not None:
                self.lag.merge(sec.lag)
        self._window.append(sec)
        self.users = sec.users
        if sec.classes or self.classes:
            self.classes = dict(sec.classes)
            for name, n in sec.classes.items():
                self.class_peaks[name] = max(self.class_peaks.get(name, 0), n)
        self.target = sec.target
        if sec.parts:
            live = max(1, len(sec.reported) or len(self._live))
            for i, (users, target, paused) in enumerate(sec.parts):
                self.part_users[i] = users
                self.part_targets[i] = target
                self.part_paused[i] = paused >= live
        self.next_tick = tick + 1
        sec.tick, sec.warmup = tick, warm
        if span < 1.0 and self.timeline:
            # The run's last, partial second (every worker ended in it): in the totals,
            # but not on the timeline, where its rate would read as a crash and its
            # few (often the slowest, drained) responses as a latency spike.
            self.tail_s += span
            self._tell(sec)
            return tick
        p50, p95, p99 = (v / 1000 for v in total.hist.percentiles((0.5, 0.95, 0.99)))
        service_p99 = total.service.percentile(0.99) / 1000 if total.service is not None else None
        sec.point = point = TimelinePoint(
            t=tick,
            requests=total.requests,
            failures=total.failures,
            users=sec.users,
            p50_ms=p50,
            p95_ms=p95,
            p99_ms=p99,
            paused=sec.paused,
            target=sec.target,
            service_p99_ms=service_p99,
            dropped=sec.dropped,
            warmup=warm,
        )
        self.timeline.append(point)
        self.per_second_buckets.append(total.hist.to_sparse())
        if total.service is not None:
            self.per_second_service_buckets.append(total.service.to_sparse())
        self.seconds.append(span)
        self.cpu.append([sec.cpu.get(w) for w in range(self.workers)])
        self.rss.append([sec.rss.get(w) for w in range(self.workers)])
        self._tell(sec)
        return tick

    def _tell(self, sec: _Second) -> None:
        for listener in self.listeners:
            listener(sec)

    # -- reading ------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        """Wall-clock seconds of the run, paused ones included."""
        return sum(self.seconds) + self.tail_s

    @property
    def rate_s(self) -> float:
        """Seconds that rates are taken over: the run's, less the time paused."""
        return self.active_s

    @property
    def users_average(self) -> float:
        """Users (open model: connection slots) averaged over the run's measured time."""
        d = self.duration_s - self.warmup_wall_s
        return self.user_s / d if d > 0 else 0.0

    def total_span(self, warmup: bool = False) -> _Span:
        """Every endpoint merged, over the measured run (``warmup``: over the warm-up);
        a copy, as the run goes on."""
        if not warmup:
            return self._total.copy()
        total = _Span()
        for s in self.warmup_cumulative:
            total.merge(s)
        return total

    def endpoint_stats(self) -> list[Stats]:
        d = self.rate_s
        return [s.stats(d) for s in self.cumulative]

    def window_spans(self) -> tuple[float, dict[int, _Span]]:
        """The recent window's seconds (not paused) and its active endpoints' spans by row."""
        seconds = sum(max(0.0, (sec.span_s or 1.0) - sec.paused_s) for sec in self._window)
        spans: dict[int, _Span] = {}
        for sec in self._window:
            for row, s in sec.endpoints.items():
                acc = spans.get(row)
                if acc is None:
                    acc = spans[row] = _Span()
                acc.merge(s)
        return seconds, spans

    def window_total(self) -> _Span:
        """Every endpoint over the recent window."""
        total = _Span()
        for sec in self._window:
            if sec.total is not None:
                total.merge(sec.total)
        return total

    def flow_stats(self) -> list[FlowStats]:
        """Each flow over the whole run."""
        d = self.rate_s
        return [f.stats(d) for f in self.flows]

    def flow_snapshots(self) -> tuple[FlowSnapshot, ...]:
        d = self.rate_s
        seconds = sum(max(0.0, (sec.span_s or 1.0) - sec.paused_s) for sec in self._window)
        recent = [_FlowSpan() for _ in self.flow_names]
        for sec in self._window:
            for acc, f in zip(recent, sec.flows, strict=True):
                acc.merge(f)
        return tuple(
            FlowSnapshot(name=name, total=c.stats(d), window=w.stats(seconds), scenario=group)
            for name, c, w, group in zip(
                self.flow_names, self.flows, recent, self.flow_groups, strict=True
            )
        )

    def part_snapshots(self) -> tuple[ScenarioSnapshot, ...]:
        """Each ``[[scenarios]]`` entry: its users, target and pause as of the last complete
        second, its rows together over the run and the recent window, its iterations."""
        if not self.parts:
            return ()
        d = self.rate_s
        w_seconds, w_spans = self.window_spans()
        out = []
        for i, (name, mode, start_s) in enumerate(self.parts):
            rows = [r for r, g in enumerate(self.endpoint_groups) if g == name]
            total, window = _Span(), _Span()
            for r in rows:
                total.merge(self.cumulative[r])
                if (w := w_spans.get(r)) is not None:
                    window.merge(w)
            flows = [f for f, g in zip(self.flows, self.flow_groups, strict=True) if g == name]
            out.append(
                ScenarioSnapshot(
                    name=name,
                    mode=mode,
                    users=self.part_users[i],
                    target=self.part_targets[i],
                    paused=self.part_paused[i],
                    total=total.stats(d),
                    window=window.stats(w_seconds),
                    start_s=start_s,
                    iterations=sum(f.hist.total for f in flows),
                    failed_iterations=sum(f.failed for f in flows),
                )
            )
        return tuple(out)

    def window_lag(self) -> Latency | None:
        """Scheduler lateness over the recent window (open model only)."""
        if not self.open_model:
            return None
        lag = Histogram()
        for sec in self._window:
            if sec.lag is not None:
                lag.merge(sec.lag)
        return Latency.from_histogram(lag)

    def check_stats(self, warmup: bool = False) -> list[CheckStats]:
        """Each check's counts over the measured run (``warmup``: over the warm-up)."""
        counts = self.warmup_check_counts if warmup else self.check_counts
        return [
            CheckStats(endpoint, name, passed, failed, soft, group)
            for (endpoint, name, soft), (passed, failed), group in zip(
                self.check_keys, counts, self.check_groups, strict=True
            )
        ]

    def error_rows(self, warmup: bool = False) -> list[ErrorRow]:
        """The errors of the measured run (``warmup``: of the warm-up)."""
        rows = []
        errors = self.warmup_errors if warmup else self.errors
        for (kind, status, ep), (count, message, first, last) in errors.items():
            method, name = self.row_key(ep)
            group = self.endpoint_groups[ep] if ep >= 0 else self.flow_groups[-1 - ep]
            rows.append(ErrorRow(kind, status, name, method, count, message, first, last, group))
        rows.sort(key=lambda r: -r.count)
        return rows

    def snapshot(
        self,
        *,
        scenario_name: str,
        host: str,
        state: RunState,
        elapsed_s: float,
        duration_s: float | None,
        requests_planned: int | None,
        workers: int,
        users_target: int,
        extra_events: list[Event] | None = None,
        mode: str = "users",
        rate_target: float | None = None,
        generator_cpu_pct: float | None = None,
        generator_saturated: bool = False,
    ) -> Snapshot:
        d = self.rate_s
        w_seconds, w_spans = self.window_spans()
        w_total = self.window_total()
        idle = _Span().stats(w_seconds)  # the window of every endpoint not active in it
        groups = self.endpoint_groups
        endpoints = tuple(
            EndpointSnapshot(
                name=name,
                method=method,
                total=c.stats(d),
                window=w.stats(w_seconds) if (w := w_spans.get(row)) is not None else idle,
                scenario=groups[row],
            )
            for row, ((method, name), c) in enumerate(
                zip(self.endpoint_keys, self.cumulative, strict=True)
            )
        )
        last = self.timeline[-1] if self.timeline else None
        current = last.requests / (self.seconds[-1] or 1.0) if last else 0.0
        events = (
            self.events
            if not extra_events
            else sorted([*self.events, *extra_events], key=lambda e: e.t)
        )
        return Snapshot(
            scenario_name=scenario_name,
            host=host,
            state=state,
            elapsed_s=elapsed_s,
            duration_s=duration_s,
            requests_planned=requests_planned,
            workers=workers,
            users_active=self.users,
            users_target=users_target,
            users_by_class=tuple(sorted(self.classes.items())),
            total=self._total.stats(d, self.dropped),
            window=w_total.stats(w_seconds, sum(sec.dropped for sec in self._window)),
            current_rps=current,
            window_s=self.window_s,
            endpoints=endpoints,
            errors=tuple(self.error_rows()),
            timeline=tuple(self.timeline),
            events=tuple(events),
            mode=mode,
            rate_target=rate_target,
            lag=self.window_lag(),
            flows=self.flow_snapshots(),
            generator_cpu_pct=generator_cpu_pct,
            generator_saturated=generator_saturated,
            checks=tuple(self.check_stats()),
            scenarios=self.part_snapshots(),
        )


# What listeners receive and read (a complete second, its spans), by public names.
Second = _Second
Span = _Span
FlowSpan = _FlowSpan
StreamSpan = _StreamSpan
