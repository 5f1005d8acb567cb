"""Immutable views of a run: what every consumer (dashboard, headless printer,
report, store, comparison) reads. Built only from merged histograms and counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

from .histogram import Histogram
from .resources import ResourceSeries

QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency figures in milliseconds. NaN marks a figure the source does not report
    (a Snapshot of a watched Locust): the dashboard shows it as n/a, never as a number."""

    min: float = 0.0
    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    p999: float = 0.0
    max: float = 0.0

    @classmethod
    def from_histogram(cls, h: Histogram) -> Latency:
        if h.total == 0:
            return cls()
        p50, p90, p95, p99, p999 = (v / 1000 for v in h.percentiles(QUANTILES))
        return cls(
            min=h.min() / 1000,
            mean=h.mean() / 1000,
            p50=p50,
            p90=p90,
            p95=p95,
            p99=p99,
            p999=p999,
            max=h.max() / 1000,
        )


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Streamed answers over one span of time (docs/streams.md).

    ``ttft``: from each request's start (corrected in the open model) to its stream's
    first event (with ``tokens``: first token); ``inter_event``: each time between two
    events (tokens) of a stream. ``gen_tokens`` and ``gen_s`` are the tokens after each
    stream's first event and the time from its first to its last event, summed: their
    ratio is the streams' output speed."""

    streams: int = 0  # streams that ended (complete, or cut: counted in failures)
    events: int = 0
    tokens: int = 0
    ttft: Latency = field(default_factory=Latency)
    inter_event: Latency = field(default_factory=Latency)
    gen_tokens: int = 0
    gen_s: float = 0.0
    tokens_per_s: float = 0.0  # every token over the span's seconds (the run's throughput)

    @property
    def events_per_stream(self) -> float:
        return self.events / self.streams if self.streams else 0.0

    @property
    def output_tokens_per_s(self) -> float:
        """Tokens per second while a stream flows (after its first event), per stream."""
        return self.gen_tokens / self.gen_s if self.gen_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts and latency over one span of time (the whole run, or a recent window).

    ``requests`` counts every attempt that ended (response, timeout or connection
    failure). Latency covers the requests that received a response.
    """

    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    bytes_received: int = 0
    latency: Latency = field(default_factory=Latency)
    # Open model only: ``latency`` counts from each request's intended start
    # (corrected for coordinated omission); ``service`` from when it was sent.
    service: Latency | None = None
    dropped: int = 0  # open model: arrivals dropped because the queue was full
    bytes_sent: int = 0
    statuses: tuple[tuple[int, int], ...] = ()  # (HTTP status, responses), by status
    redirects: int = 0  # redirects followed within the requests (each request counts once)
    # Time to first byte: from the request's start (corrected in the open model, as
    # ``latency``) to the first byte of the response's head. None: not measured (a
    # report written before it was, a Locust import, no response).
    ttfb: Latency | None = None
    stream: StreamStats | None = None  # streamed requests (stream = ..., user.stream) only

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class EndpointSnapshot:
    """One request type (a row of every table): whole-run and recent-window stats."""

    name: str
    method: str
    total: Stats
    window: Stats
    scenario: str = ""  # its [[scenarios]] entry's name ("" in a file without them)


@dataclass(frozen=True, slots=True)
class FlowStats:
    """A flow's iterations over one span of time (k6's ``iterations`` and
    ``iteration_duration``). An iteration is failed when one of its steps failed."""

    iterations: int = 0
    failed: int = 0
    rate: float = 0.0  # iterations per second
    duration: Latency = field(default_factory=Latency)
    # Open model only: ``duration`` counts from each arrival's intended time; this
    # from the iteration's first send.
    service: Latency | None = None

    @property
    def failure_rate(self) -> float:
        return self.failed / self.iterations if self.iterations else 0.0


@dataclass(frozen=True, slots=True)
class FlowSnapshot:
    """One flow (a row of the flow table): whole-run and recent-window iterations."""

    name: str
    total: FlowStats
    window: FlowStats
    scenario: str = ""  # its [[scenarios]] entry's name ("" in a file without them)


@dataclass(frozen=True, slots=True)
class CheckStats:
    """One check on one endpoint's responses: how often it passed and failed. ``soft``:
    its failures were only counted (the requests were not failed)."""

    endpoint: str
    name: str
    passed: int
    failed: int
    soft: bool = False
    scenario: str = ""  # its endpoint's [[scenarios]] entry ("" in a file without them)

    @property
    def total(self) -> int:
        return self.passed + self.failed

    @property
    def pass_rate(self) -> float:
        """Passed / checked; 1.0 when the check never ran (nothing failed)."""
        return self.passed / self.total if self.total else 1.0


def check_rate(checks: Iterable[CheckStats], name: str | None = None) -> float | None:
    """The pass rate of ``checks`` (those named ``name``); None when none ran."""
    passed = failed = 0
    for c in checks:
        if name is None or c.name == name:
            passed += c.passed
            failed += c.failed
    total = passed + failed
    return passed / total if total else None


@dataclass(frozen=True, slots=True)
class ErrorRow:
    """One kind of failure on one endpoint: its count and the last message seen."""

    # "http", "timeout", "refused", "reset", "tls", "dns", "protocol", "generator" (this
    # machine's limits: open files, ports), "other"
    kind: str
    status: int | None
    endpoint: str
    method: str
    count: int
    message: str
    # Seconds since the run started of the first and the last second it was seen in
    # (None: not recorded, e.g. a report written before they were kept).
    first_seen_s: float | None = None
    last_seen_s: float | None = None
    scenario: str = ""  # its endpoint's [[scenarios]] entry ("" in a file without them)

    @property
    def label(self) -> str:
        return f"HTTP {self.status}" if self.kind == "http" and self.status else self.kind


@dataclass(frozen=True, slots=True)
class ScenarioSnapshot:
    """One ``[[scenarios]]`` entry of a run: its users (open model: requests in flight)
    and target (users, or req/s), whether it is paused, and its rows together over the
    whole run and the recent window, with its iterations (flows, script tasks)."""

    name: str
    mode: str  # "users" or "arrival-rate"
    users: int
    target: float
    paused: bool
    total: Stats
    window: Stats
    start_s: float = 0.0  # its load starts this long after the run's start
    iterations: int = 0
    failed_iterations: int = 0

    @property
    def is_open(self) -> bool:
        return self.mode == "arrival-rate"


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One second of the run, all endpoints and workers merged."""

    t: int  # seconds since the run started (this point covers [t, t+1))
    requests: int
    failures: int
    users: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    paused: bool = False
    target: float | None = None  # the target load then: users, or req/s in arrival-rate mode
    service_p99_ms: float | None = None  # open model: p99 of service time
    dropped: int = 0  # open model: arrivals dropped this second
    warmup: bool = False  # a second of the warm-up: shown, never in the run's figures

    @property
    def rps(self) -> float:
        return float(self.requests)


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One engine as a workers view shows it (Locust's workers tab): where it runs, its
    state, and its last reported second. ``lag_ms``: how long after that second ended
    its delta reached the coordinator (relay and clock offset together)."""

    worker: int
    host: str
    state: str  # starting, ready, running, done, failed, lost, stopped
    users: int = 0
    rps: float = 0.0  # requests that ended in its last reported second
    cpu_pct: float | None = None  # its process's CPU over that second, % of one core
    lag_ms: float | None = None
    requests: int = 0  # since the start
    address: str = ""  # a Dask worker's address ("" for a local process)


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth a line in the event log: spawn complete, first error of a kind, end."""

    t: float
    text: str
    level: str = "info"  # "info", "warning", "error"


# States a run goes through, in order ("paused" is shown while paused).
RunState = Literal["starting", "ramping", "running", "paused", "stopping", "done"]
STATES: tuple[RunState, ...] = get_args(RunState)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a live view needs, at one instant. Immutable: safe to hand across threads."""

    scenario_name: str
    host: str
    state: RunState
    elapsed_s: float
    duration_s: float | None  # planned run time, if time-bound
    requests_planned: int | None  # planned request count, if count-bound
    workers: int
    users_active: int
    users_target: int
    total: Stats
    window: Stats
    current_rps: float
    window_s: int
    endpoints: tuple[EndpointSnapshot, ...] = ()
    errors: tuple[ErrorRow, ...] = ()
    timeline: tuple[TimelinePoint, ...] = ()
    events: tuple[Event, ...] = ()
    # Open model (mode "arrival-rate"): the target rate now, and how late the
    # generator sent requests against their schedule over the recent window.
    mode: str = "users"
    rate_target: float | None = None
    lag: Latency | None = None
    flows: tuple[FlowSnapshot, ...] = ()  # journeys: one row per flow (or script task)
    # The generator's own load: the busiest worker's CPU (% of one core) over the
    # last second, and whether a process has been saturated (see engine/generator).
    generator_cpu_pct: float | None = None
    generator_saturated: bool = False
    # What is watched beside the load (monitor/): the target's processes and metrics.
    resources: tuple[ResourceSeries, ...] = ()
    warmup_s: float = 0.0  # the run's first seconds, measured apart (whole seconds)
    worker_rows: tuple[WorkerRow, ...] = ()  # one per engine, in worker order
    repeat: tuple[int, int] | None = None  # --repeat N: (this run, N)
    users_by_class: tuple[tuple[str, int], ...] = ()  # a locustfile's users, by class
    checks: tuple[CheckStats, ...] = ()  # checks on responses: each one's counts so far
    scenarios: tuple[ScenarioSnapshot, ...] = ()  # [[scenarios]]: each one's figures

    @property
    def warming_up(self) -> bool:
        """True while the warm-up lasts: totals start counting once it is over."""
        return self.elapsed_s < self.warmup_s and self.state in ("ramping", "running", "paused")

    @property
    def progress(self) -> float | None:
        """Fraction done (0..1), against run time or the request count; None if unbounded."""
        fractions = []
        if self.duration_s:
            fractions.append(min(1.0, self.elapsed_s / self.duration_s))
        if self.requests_planned:
            fractions.append(min(1.0, self.total.requests / self.requests_planned))
        return max(fractions) if fractions else None
