"""The JSON report file, as typed structs (msgspec): one definition for writing,
reading, validating and publishing its JSON Schema (``tui-loadtest schema report``).

Reading checks every field's type, so a malformed report fails with one line
naming the field (``r.json: summary.requests: expected an integer, got "abc"``)
instead of being half-read with defaults. Keys the writer adds only for some
runs (arrival-rate figures, a target per second) are ``UNSET`` otherwise and so
left out of the file, exactly as before the structs existed.

Compatibility: ``schema_version`` counts breaking changes of this layout.
Files without it are the original ``"format": 1`` reports, which have the
same layout (schema 1). Additions (new optional keys) do not bump it: readers
ignore keys they do not know. A file with a newer ``schema_version`` than
:data:`SCHEMA_VERSION` is refused with a line saying so.

The same layout is used for exported baselines (plus a ``baseline`` block)
and for the reports kept in the baseline store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

if TYPE_CHECKING:
    from ..scenario import LoadSpec

SCHEMA_VERSION = 1
REPORT_FORMAT = 1  # the original version key, kept for tools that read it


class LatencyMs(Struct, kw_only=True):
    """Latency figures in milliseconds (response-time percentiles)."""

    min: float
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float


class StreamReport(Struct, kw_only=True):
    """Streamed answers (``stream = ...``, a script's ``user.stream``): how many ended
    (cut ones included), their events and tokens; the time to first event (token) and
    between events; ``output_tokens_per_s``: tokens after each stream's first event over
    the time from its first to its last event (``gen_tokens`` / ``gen_s``);
    ``tokens_per_s``: every token over the run's time under load."""

    streams: int
    events: int
    events_per_stream: float
    tokens: int = 0
    tokens_per_s: float = 0.0
    output_tokens_per_s: float = 0.0
    gen_tokens: int = 0
    gen_s: float = 0.0
    ttft_ms: LatencyMs
    inter_event_ms: LatencyMs


class StatsReport(Struct, kw_only=True):
    """Counts and latency over the whole run (``summary``)."""

    requests: int
    failures: int
    error_rate: float
    rps: float
    bytes_received: int
    bytes_sent: int = 0  # reports before it was counted have neither of these two
    status_codes: dict[int, int] = msgspec.field(default_factory=dict)  # responses by status
    redirects: int = 0  # redirects followed within the requests (hops; a request counts once)
    latency_ms: LatencyMs
    # Arrival-rate runs only: latency from when each request was sent, and drops.
    service_latency_ms: LatencyMs | UnsetType = UNSET
    dropped: int | UnsetType = UNSET
    # Arrival-rate runs only: how late the generator sent requests.
    lag_ms: LatencyMs | None | UnsetType = UNSET
    # Time to first byte (reports before it was measured, and Locust imports, lack it).
    ttfb_ms: LatencyMs | UnsetType = UNSET
    stream: StreamReport | UnsetType = UNSET  # runs with streams: every stream together
    # Runs with flows or a script only: their iterations, all flows together (each one's
    # are in ``flows``); a task that raised is a failed iteration, not a failed request.
    iterations: int | UnsetType = UNSET
    failed_iterations: int | UnsetType = UNSET
    iteration_failure_rate: float | UnsetType = UNSET


class EndpointReport(Struct, kw_only=True):
    """One endpoint (method + name): the same figures as the summary."""

    method: str
    name: str
    requests: int
    failures: int
    error_rate: float
    rps: float
    bytes_received: int
    bytes_sent: int = 0  # reports before it was counted have neither of these two
    status_codes: dict[int, int] = msgspec.field(default_factory=dict)  # responses by status
    redirects: int = 0  # redirects followed within the requests (hops; a request counts once)
    latency_ms: LatencyMs
    service_latency_ms: LatencyMs | UnsetType = UNSET
    dropped: int | UnsetType = UNSET
    ttfb_ms: LatencyMs | UnsetType = UNSET  # time to first byte (as in the summary)
    stream: StreamReport | UnsetType = UNSET  # streamed endpoints
    scenario: str | UnsetType = UNSET  # its [[scenarios]] entry (files with them only)


class FlowReport(Struct, kw_only=True):
    """One journey flow (or script task): its iterations (k6's ``iterations`` and
    ``iteration_duration``); an iteration failed when one of its steps failed."""

    name: str
    iterations: int
    failed_iterations: int
    failure_rate: float
    iterations_per_s: float
    iteration_duration_ms: LatencyMs
    service_duration_ms: LatencyMs | UnsetType = UNSET  # arrival-rate runs
    scenario: str | UnsetType = UNSET  # its [[scenarios]] entry (files with them only)


class TagReport(Struct, kw_only=True):
    """The endpoints tagged ``tag`` (``tags = [...]``), together: the figures of the
    summary over them (an endpoint with two tags counts in both). Written for readers;
    recomputed from the endpoints' histograms when a report is read."""

    tag: str
    endpoints: list[str]
    requests: int
    failures: int
    error_rate: float
    rps: float
    bytes_received: int
    bytes_sent: int = 0
    status_codes: dict[int, int] = msgspec.field(default_factory=dict)
    redirects: int = 0
    latency_ms: LatencyMs
    service_latency_ms: LatencyMs | UnsetType = UNSET
    dropped: int | UnsetType = UNSET
    ttfb_ms: LatencyMs | UnsetType = UNSET  # time to first byte (as in the summary)
    stream: StreamReport | UnsetType = UNSET  # its streamed endpoints, together


class ScenarioReport(Struct, kw_only=True):
    """One ``[[scenarios]]`` entry: its endpoints together (the figures of the summary
    over them) and its iterations; its load is in ``scenario.scenarios``. Written for
    readers; recomputed from the endpoints' histograms when a report is read."""

    name: str
    mode: str  # "users" or "arrival-rate"
    endpoints: list[str]
    requests: int
    failures: int
    error_rate: float
    rps: float
    bytes_received: int
    bytes_sent: int = 0
    status_codes: dict[int, int] = msgspec.field(default_factory=dict)
    redirects: int = 0
    latency_ms: LatencyMs
    service_latency_ms: LatencyMs | UnsetType = UNSET
    dropped: int | UnsetType = UNSET
    ttfb_ms: LatencyMs | UnsetType = UNSET  # time to first byte (as in the summary)
    stream: StreamReport | UnsetType = UNSET  # its streamed endpoints, together
    iterations: int | UnsetType = UNSET  # scenarios with flows or a script only
    failed_iterations: int | UnsetType = UNSET


class CheckReport(Struct, kw_only=True):
    """One check on one endpoint's responses (``checks = [...]``, a script's
    ``user.check``): how often it passed and failed. ``soft``: failures were only counted."""

    endpoint: str
    name: str
    passed: int
    failed: int
    pass_rate: float  # passed / (passed + failed); 1.0 when it never ran
    soft: bool = False
    scenario: str | UnsetType = UNSET  # its endpoint's [[scenarios]] entry, if any


class ErrorReport(Struct, kw_only=True):
    """One kind of failure on one endpoint: its count and the last message seen."""

    kind: str
    status: int | None
    endpoint: str
    method: str
    count: int
    message: str
    # Seconds since the start of the first and the last second the kind was seen in
    # (reports written before they were kept have neither).
    first_seen_s: float | UnsetType = UNSET
    last_seen_s: float | UnsetType = UNSET
    scenario: str | UnsetType = UNSET  # its endpoint's [[scenarios]] entry, if any


class TimelinePointReport(Struct, kw_only=True):
    """One second of the run, every endpoint and worker merged."""

    t: int
    rps: int  # requests that ended in this second
    users: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    paused: bool
    target: float | UnsetType = UNSET
    service_p99_ms: float | UnsetType = UNSET
    dropped: int | UnsetType = UNSET
    warmup: bool | UnsetType = UNSET  # a second of the warm-up (only in the warmup section)


Sparse = list[tuple[int, int]]  # [bucket index, count] pairs, indexes ascending


class HistogramReport(Struct, kw_only=True):
    count: int
    sum_us: int
    buckets: Sparse


class EndpointHistogramReport(Struct, kw_only=True):
    method: str
    name: str
    count: int
    sum_us: int
    buckets: Sparse
    scenario: str | UnsetType = UNSET  # its [[scenarios]] entry (files with them only)


class NamedHistogramReport(Struct, kw_only=True):
    name: str
    count: int
    sum_us: int
    buckets: Sparse
    scenario: str | UnsetType = UNSET  # a flow's [[scenarios]] entry (files with them only)


class HistogramsReport(Struct, kw_only=True):
    """The merged log-linear histograms (µs): every percentile can be recomputed."""

    unit: str
    kind: str
    sub_bucket_bits: int
    buckets: int
    total: HistogramReport
    endpoints: list[EndpointHistogramReport]
    per_second: list[Sparse]
    latency: str | UnsetType = UNSET
    service_total: HistogramReport | UnsetType = UNSET
    service_endpoints: list[EndpointHistogramReport] | UnsetType = UNSET
    per_second_service: list[Sparse] | UnsetType = UNSET
    lag: HistogramReport | UnsetType = UNSET
    flows: list[NamedHistogramReport] | UnsetType = UNSET  # journeys: iteration durations
    service_flows: list[NamedHistogramReport] | UnsetType = UNSET
    # Times to first byte, beside the latency (reports before it was measured lack them).
    ttfb_total: HistogramReport | UnsetType = UNSET
    ttfb_endpoints: list[EndpointHistogramReport] | UnsetType = UNSET
    # Runs with streams: times to first event and between events (streamed endpoints').
    ttft_total: HistogramReport | UnsetType = UNSET
    ttft_endpoints: list[EndpointHistogramReport] | UnsetType = UNSET
    inter_event_total: HistogramReport | UnsetType = UNSET
    inter_event_endpoints: list[EndpointHistogramReport] | UnsetType = UNSET


class StageReport(Struct, kw_only=True):
    duration_s: float
    target: float


class LoadReport(Struct, kw_only=True):
    """The load that was run: the model, its shape and the workers."""

    model: str  # "closed" or "open"
    mode: str  # "users" or "arrival-rate"
    users: int  # open model: the cap on requests in flight
    spawn_rate: float | None = None
    rate: float | None = None
    max_users: int | None = None
    arrival: str | None = None
    stages: list[StageReport] = msgspec.field(default_factory=list)
    workers: int = 1
    run_time_s: float | None = None
    requests: int | None = None
    think_time_s: list[float] = msgspec.field(default_factory=lambda: [0.0, 0.0])
    warmup_s: float | UnsetType = UNSET  # runs with a warm-up


def load_report(load: LoadSpec, *, users: int, workers: int) -> LoadReport:
    """The report's ``load`` for a run of ``load`` (``users``: the target reached by
    the run, or the in-flight cap in arrival-rate mode): written in this one place."""
    is_open = load.is_open
    return LoadReport(
        model="open" if is_open else "closed",
        mode=load.mode,
        users=users,
        spawn_rate=None if is_open else load.effective_spawn_rate,
        rate=load.rate,
        max_users=load.max_users if is_open else None,
        arrival=load.arrival if is_open else None,
        stages=[StageReport(duration_s=st.duration_s, target=st.target) for st in load.stages],
        workers=workers,
        run_time_s=load.run_time_s,
        requests=load.requests,
        think_time_s=list(load.think_time),
        warmup_s=load.warmup_s if load.warmup_s else UNSET,
    )


class ShareReport(Struct, kw_only=True):
    """One engine's part of the load (users, the fraction of a rate, requests)."""

    users: int
    fraction: float
    requests: int | None = None
    spawn_rate: float | None = None


class EngineReport(Struct, kw_only=True):
    """Where one engine ran: its host, its share, and its clock against ours."""

    worker: int
    host: str = ""
    address: str = ""
    pid: int | None = None
    state: str = ""
    clock_offset_ms: float = 0.0
    rtt_ms: float | None = None
    share: ShareReport | None = None


class EnvironmentReport(Struct, kw_only=True):
    tool_version: str = ""
    python: str = ""
    platform: str = ""
    workers: int = 1
    # Reports before the cluster backend have neither of these two.
    backend: str | UnsetType = UNSET  # "local processes", or the Dask cluster's address
    engines: list[EngineReport] | UnsetType = UNSET


class UsersReport(Struct, kw_only=True):
    """Virtual users: planned, the most that were running at once, the time-weighted mean."""

    planned: int
    peak: int
    average: float
    # a locustfile's: the most users of each class at once (its classes only)
    by_class: dict[str, int] | UnsetType = UNSET


class LostWorkerReport(Struct, kw_only=True):
    """A worker that went away during the run (killed from outside, or lost remotely)."""

    worker: int
    at_s: float | None = None
    reason: str = ""
    missing_s: float | UnsetType = UNSET  # seconds of its share the run went without


class SetupReport(Struct, kw_only=True):
    """How the run's setup or teardown went (its requests are not measured; what a setup
    captured is a secret: never here)."""

    requests: int = 0
    duration_s: float = 0.0
    passed: bool = True
    failure: str | None = None
    skipped: str | None = None  # why it did not run (teardown: a second signal)


class OutcomeReport(Struct, kw_only=True):
    """How the run ended."""

    reason: str | None
    interrupted: bool
    connections: int  # connections opened: 0 with requests means the target was unreachable
    paused_s: float = 0.0
    worker_errors: list[str] = msgspec.field(default_factory=list)
    workers_lost: list[LostWorkerReport] | UnsetType = UNSET  # reports before it lack it
    users: UsersReport | UnsetType = UNSET  # reports before it was kept lack it
    # "1 of 4 workers lost at 0:42" when a run went on without some of its workers
    degraded: str | None | UnsetType = UNSET
    # What the workers said once (a data queue that ran out...): runs with any only
    notes: list[str] | UnsetType = UNSET
    setup: SetupReport | UnsetType = UNSET  # runs with a setup only
    teardown: SetupReport | UnsetType = UNSET  # runs with a teardown only


class GeneratorCpuReport(Struct, kw_only=True):
    """CPU (% of one core) per second: one series per worker, and the coordinator's."""

    workers: list[list[float | None]] = msgspec.field(default_factory=list)
    coordinator: list[float | None] = msgspec.field(default_factory=list)


class GeneratorRssReport(Struct, kw_only=True):
    """Resident memory (bytes) per second: one series per worker."""

    workers: list[list[int | None]] = msgspec.field(default_factory=list)


class LoopCulpritReport(Struct, kw_only=True):
    """Code that blocked a worker's event loop: where, how often, how long in all."""

    culprit: str  # "task browse (shop.py:42)", or the function without a script task
    stalls: int
    blocked_s: float
    workers: list[int] = msgspec.field(default_factory=list)


class GeneratorLoopReport(Struct, kw_only=True):
    """The workers' event loops (engine/loop_watch.py): how late their heartbeats ran
    (time-weighted: the wait an event arriving at a random moment saw, in ms), and every
    stall of at least ``stall_ms``: the requests whose latency holds one are counted in
    ``stalled_requests``, and the seconds they fell in listed in ``stalled_seconds``."""

    heartbeat_ms: float
    stall_ms: float
    lag_ms: LatencyMs | None = None
    stalls: int = 0
    blocked_s: float = 0.0
    max_stall_ms: float = 0.0
    stalled_requests: int = 0
    stalled_share: float = 0.0  # of the run's requests
    stalled_seconds: list[int] = msgspec.field(default_factory=list)
    culprits: list[LoopCulpritReport] = msgspec.field(default_factory=list)


class MeanMax(Struct, kw_only=True):
    mean: float
    max: float


class GeneratorMachineReport(Struct, kw_only=True):
    """The generator's machine over the run (the coordinator's, for remote workers)."""

    cpus: int
    load_average: MeanMax | None = None  # the 1-minute load average, sampled each second
    steal_pct: MeanMax | None = None  # CPU time a hypervisor took (None: not reported)


class GeneratorReport(Struct, kw_only=True):
    """The load generator's own load: was it the bottleneck?"""

    saturated: bool
    saturated_at_s: float | None = None
    saturated_by: str | None = None  # "worker 0" or "the coordinator"
    threshold_pct: float = 90.0
    peak_cpu_pct: float | None = None
    cpu_pct: GeneratorCpuReport = msgspec.field(default_factory=GeneratorCpuReport)
    # Each worker's resident memory (bytes) per second, and the most one worker held
    # (reports before it was sampled lack both). Like cpu_pct, a second per row of the
    # whole run, the warm-up's seconds included.
    rss_bytes: GeneratorRssReport | UnsetType = UNSET
    peak_rss_bytes: int | None | UnsetType = UNSET
    loop: GeneratorLoopReport | UnsetType = UNSET  # reports before it was measured lack it
    machine: GeneratorMachineReport | UnsetType = UNSET  # likewise


class ResourceSeriesReport(Struct, kw_only=True):
    """One watched series (a target process's CPU, a scraped metric) over the run."""

    key: str
    source: str
    metric: str
    label: str
    unit: str
    kind: str = "gauge"  # "gauge" or "rate" (a counter turned into a per-second rate)
    min: float | None = None
    mean: float | None = None
    max: float | None = None
    last: float | None = None
    points: list[tuple[float, float | None]] = msgspec.field(default_factory=list)
    increase: float | None | UnsetType = UNSET  # rate series only
    span_s: float | UnsetType = UNSET  # rate series only


class ResourcesReport(Struct, kw_only=True):
    """What was watched beside the load and how watching went."""

    sources: list[dict[str, Any]] = msgspec.field(default_factory=list)
    series: list[ResourceSeriesReport] = msgspec.field(default_factory=list)


class ThresholdReport(Struct, kw_only=True):
    """One of the scenario's thresholds and what the run measured against it."""

    metric: str
    scope: str  # "overall", the endpoint's name, "check C", "tag T" or "scenario S"
    limit: float
    value: float | None  # None: not measured (no responses), which fails
    passed: bool
    label: str  # e.g. "p95_ms <= 500"


class Report(Struct, kw_only=True):
    """A run's JSON report (``--out``, ``bench``, the baseline store)."""

    tool: str
    version: str
    format: int = REPORT_FORMAT
    schema_version: int = SCHEMA_VERSION
    started_at: str
    duration_s: float
    host: str
    scenario_name: str
    load: LoadReport
    environment: EnvironmentReport
    outcome: OutcomeReport
    generator: GeneratorReport | UnsetType = UNSET  # reports before it was sampled lack it
    scenario: dict[str, Any]  # the scenario as given, secrets redacted
    summary: StatsReport
    thresholds: list[ThresholdReport] = msgspec.field(default_factory=list)
    endpoints: list[EndpointReport]
    flows: list[FlowReport] | UnsetType = UNSET  # journeys only
    checks: list[CheckReport] | UnsetType = UNSET  # runs with checks only
    tags: list[TagReport] | UnsetType = UNSET  # scenarios with tags only
    scenarios: list[ScenarioReport] | UnsetType = UNSET  # files with [[scenarios]] only
    resources: ResourcesReport | UnsetType = UNSET  # --monitor-pid, --scrape, [monitor]
    warmup: WarmupReport | UnsetType = UNSET  # runs with a warm-up
    repeats: RepeatsReport | UnsetType = UNSET  # --repeat N: every run, their spread
    errors: list[ErrorReport]
    timeline: list[TimelinePointReport]
    histograms: HistogramsReport | None = None  # absent only in hand-made reports


class WarmupReport(Struct, kw_only=True):
    """The warm-up (``warmup`` in [load], ``--warmup``): loaded, measured apart, and kept
    out of every figure of the run itself."""

    duration_s: float
    planned_s: float | None = None
    summary: StatsReport
    endpoints: list[EndpointReport] = msgspec.field(default_factory=list)
    errors: list[ErrorReport] = msgspec.field(default_factory=list)
    timeline: list[TimelinePointReport] = msgspec.field(default_factory=list)


class RepeatRunReport(Struct, kw_only=True):
    """One of the repeated runs, in a line: what the spread is taken over."""

    run: int  # 1-based, in the order they ran
    started_at: str
    duration_s: float
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    error_rate: float
    interrupted: bool = False


class SpreadReport(Struct, kw_only=True):
    """A figure over the runs: min, median, max and the coefficient of variation."""

    min: float
    median: float
    max: float
    cv: float | None = None  # sample standard deviation / mean; None for one run or a mean of 0


class OutlierReport(Struct, kw_only=True):
    """The run that stands out (modified z-score over 3.5 and 10 % from the median)."""

    run: int
    metric: str
    value: float
    median: float
    z: float | None = None  # None: every other run had the same value


class RepeatsReport(Struct, kw_only=True):
    """``--repeat N``: the report's figures are the representative run's (the median
    P95); this section holds every run's figures, their spread, and every run's own
    complete report (``reports``), so that nothing measured is lost."""

    count: int
    cooldown_s: float = 0.0
    representative: int  # 1-based: the run whose figures the report shows
    runs: list[RepeatRunReport]
    spread: dict[str, SpreadReport]
    outlier: OutlierReport | None = None
    reports: list[Report] = msgspec.field(default_factory=list)


class BaselineBlock(Struct, kw_only=True):
    """What ``baselines export`` adds beside the report: the baseline's name and origin."""

    name: str
    created_at: str
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class ExportedBaseline(Report, kw_only=True):
    """A report with the baseline it was stored as (``baselines export`` / ``import``)."""

    baseline: BaselineBlock | None = None


def report_schema() -> dict[str, Any]:
    """The JSON Schema of a report (and of an exported baseline, which adds ``baseline``)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tui-loadtest report",
        "description": f"A run's JSON report, schema_version {SCHEMA_VERSION}; exported"
        " baselines add a `baseline` block. Readers ignore keys they do not know.",
        **msgspec.json.schema(ExportedBaseline),
    }


# ------------------------------------------------------------------ reading errors

_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


class ReportError(ValueError):
    """A report that does not match the layout; ``str()`` is ``field: what was wrong``."""


def convert_report(data: Any, kind: type[Report] = ExportedBaseline) -> Report:
    """Validate already-parsed JSON data (from the store) as a report."""
    _check_version(data)
    try:
        return msgspec.convert(data, type=kind, str_keys=True)  # JSON keys: "200" -> 200
    except msgspec.ValidationError as exc:
        raise ReportError(explain(exc, data)) from None


def _check_version(raw: Any) -> None:
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise ReportError(
            f"schema_version {version} was written by a newer tui-loadtest"
            f" (this one reads up to {SCHEMA_VERSION}); upgrade to read it"
        )


def explain(exc: msgspec.ValidationError, raw: Any) -> str:
    """msgspec's ``Expected `int`, got `str` - at `$.summary.requests``` as
    ``summary.requests: expected an integer, got "abc"``."""
    text = str(exc)
    message, _, where = text.rpartition(" - at `")
    if not _:
        message, where = text, "$`"
    path = where.rstrip("`")
    field = path.removeprefix("$").removeprefix(".") or "(the top level)"
    if message.startswith("Object missing required field `"):
        missing = message.split("`")[1]
        field = f"{field}.{missing}" if path != "$" else missing
        return f"{field}: missing"
    if message.startswith("Expected `array` of length "):
        length = message.removeprefix("Expected `array` of length ").split(",")[0]
        return f"{field}: expected a list of {length}, got {_show(_lookup(raw, path))}"
    if message.startswith("Expected `"):
        expected = message.split("`")[1]
        words = " or ".join(_TYPE_WORDS.get(t.strip(), t.strip()) for t in expected.split("|"))
        return f"{field}: expected {words}, got {_show(_lookup(raw, path))}"
    return f"{field}: {message[:1].lower()}{message[1:]}"


def _lookup(raw: Any, path: str) -> Any:
    """The value at a msgspec path like ``$.endpoints[0].requests`` (None if not found)."""
    node = raw
    for part in path.removeprefix("$").replace("[", ".[").split("."):
        if not part:
            continue
        try:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return node


def _show(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 40 else text[:39] + "…"
