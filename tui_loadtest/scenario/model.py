"""The scenario data model: what a validated scenario holds, and its constants.

Plain frozen dataclasses the engine, the gates and the reports read. Building
them from TOML (with every check) is ``loader``'s job; a model built here by
hand is trusted as is.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..durations import MAX_DURATION_S as MAX_DURATION_S  # one year; re-exported
from .messages import number_text

MODES = ("users", "arrival-rate")
DATA_MODES = ("circular", "random", "queue")
CAPTURE_SOURCES = ("json", "header", "cookie", "regex", "status")
# How a streamed body is read (``stream = ...``): server-sent events, every piece of body
# as it arrives, or newline-delimited lines (NDJSON).
STREAM_MODES = ("sse", "chunks", "lines")
# Responses kept for captures (and a script's ``.content``) are cut at this size.
DEFAULT_MAX_BODY = 1024 * 1024
ARRIVALS = ("even", "poisson")
TRANSPORTS = ("fast", "httpx")
# Arrival-rate mode opens a new request on schedule whether or not earlier ones
# finished; against a stalled server that would grow without bound. 1000 in
# flight is far above what a healthy target at a few thousand req/s needs and
# still well below typical file-descriptor limits.
DEFAULT_MAX_USERS = 1000
# Documented maximums (docs/scenarios.md, "Limits"). Beyond them a value is a typo or asks
# more of one machine than it has: 100,000 connections are more than one source
# address can open to one target (about 28,000 ephemeral ports on Linux), and the
# engine would fail later and worse (out of file descriptors, a spinning worker).
# The engine checks the same users against the process's file-descriptor limit.
MAX_USERS = 100_000
# The spawn rate that starts every user at once (``bench``, as the guide's
# performance_test.py starts its threads): the most a spawn rate may be.
AT_ONCE = float(MAX_USERS)
MAX_RATE = 1_000_000.0  # requests per second, arrival-rate mode
MAX_WEIGHT = 1_000_000.0  # weights are relative; more range than this is a typo
# What a run costs per endpoint: each worker keeps one recording list per endpoint
# (about 35 KB), and the coordinator's seconds hold the endpoints active in them
# only (sparse histograms). Measured with bench/many_endpoints.py (2 workers, 10
# users, 5 s): 5,000 endpoints took a 73 MB coordinator and 215 MB per worker.
MAX_ENDPOINTS = 5_000
MAX_WORKERS = 256  # worker processes; more than the cores only adds overhead
# Engines on a Dask cluster (one per Dask worker): 50 machines of 16 cores is 800.
MAX_CLUSTER_WORKERS = 4096
WORKER_LOSS = ("continue", "stop")  # what a run does when a worker is lost
LATENCY_FIGURES = ("p50", "p90", "p95", "p99", "p999", "max", "mean")
# Latencies measured beside the response time, as a threshold prefix: the time to first
# byte (every request), and a stream's time to first event and time between events.
LATENCY_FAMILIES = ("ttfb", "ttft", "inter_event")
BASE_METRICS = (
    *(f"{figure}_ms" for figure in LATENCY_FIGURES),
    "error_rate",
    "rps_min",
    "iteration_failure_rate",
)
THRESHOLD_METRICS = (
    *BASE_METRICS,
    *(f"{family}_{figure}_ms" for family in LATENCY_FAMILIES for figure in LATENCY_FIGURES),
)
# Metrics of the run as a whole only: iterations belong to flows and script tasks, not
# to an endpoint.
RUN_ONLY_METRICS = ("iteration_failure_rate",)

# ``{name}`` in a path or body: filled per request from the request's vars.
# ``${NAME}`` is not one: it names an environment variable, filled at load time.
PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class RequestSpec:
    """One weighted request of the mix; ``name`` labels its row in every table."""

    name: str
    method: str
    path: str
    weight: float = 1.0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str | None = None
    vars: tuple[tuple[str, tuple[str, ...]], ...] = ()
    expect_status: frozenset[int] | None = None
    json_body: bool = False  # body came from ``json``: filled values get JSON-escaped
    checks: tuple[CheckSpec, ...] = ()  # run on every response of the request
    tags: tuple[str, ...] = ()  # its own (a step's: beside its flow's and the scenario's)
    # A streamed answer (``stream``): read as it arrives, each event timed; ``tokens``
    # counts tokens per event (a ``json:`` or ``regex:`` expression, as a capture's);
    # ``idle_timeout_s``: the longest wait for the next event (None: ``[http] timeout``).
    stream: str | None = None
    tokens: CaptureSpec | None = None
    idle_timeout_s: float | None = None

    @property
    def has_header_placeholders(self) -> bool:
        """True when a header value holds a ``{name}`` (only journeys fill those)."""
        return any(PLACEHOLDER.search(value) for _, value in self.headers)

    def is_success(self, status: int) -> bool:
        """True if ``status`` counts as a success (default: any status below 400)."""
        if self.expect_status is not None:
            return status in self.expect_status
        return 100 <= status < 400

    def render(self, rng: random.Random | None = None) -> tuple[str, bytes | None]:
        """Return ``(path, body)`` with every ``{var}`` filled with a random choice.

        One value is drawn per var and used everywhere it appears, so a path
        and a body that both mention ``{id}`` agree. Requests without vars
        return their fixed path and body without any work.
        """
        if not self.vars:
            return self.path, self.body
        choice = (rng or random).choice
        return self.fill({name: choice(options) for name, options in self.vars})

    def fill(self, values: Mapping[str, str]) -> tuple[str, bytes | None]:
        """Return ``(path, body)`` with each ``{var}`` replaced by ``values[var]``."""
        path = fill_placeholders(self.path, values)
        if self.body is None:
            return path, None
        if self.json_body:
            values = {name: json.dumps(value)[1:-1] for name, value in values.items()}
        return path, fill_placeholders(self.body.decode(), values).encode()


@dataclass(frozen=True)
class Stage:
    """Ramp linearly from the previous stage's target (0 at the start) to ``target``."""

    duration_s: float
    target: float


@dataclass(frozen=True)
class LoadSpec:
    """The load shape.

    ``users`` mode (closed model): ``users`` virtual users loop request, think,
    request; throughput follows the server's latency. ``arrival-rate`` mode
    (open model): ``rate`` requests/s start on schedule regardless of latency,
    at most ``max_users`` in flight. With ``stages`` the level starts at 0,
    ramps linearly through each target and holds the last one if ``run_time``
    is longer than the stages; ``users``/``spawn_rate``/``rate`` are unused then.
    The run ends at ``run_time`` or after ``requests`` requests, whichever
    comes first; with neither (and no stages) it runs until interrupted.
    ``warmup_s``: the run's first seconds, loaded like the rest but measured
    apart (Locust's ``--reset-stats``); they are part of ``run_time``.
    """

    mode: str = "users"
    users: int = 10
    spawn_rate: float | None = None
    run_time_s: float | None = None
    requests: int | None = None
    think_time: tuple[float, float] = (0.0, 0.0)
    rate: float | None = None
    max_users: int = DEFAULT_MAX_USERS
    arrival: str = "even"
    stages: tuple[Stage, ...] = ()
    warmup_s: float = 0.0
    # One scenario of several ([[scenarios]]): when its load starts after the run's start,
    # when its engines stop it by themselves (the end of its stages), and its iterations:
    # ``iterations`` shared by all its users (k6's shared-iterations), or
    # ``iterations_per_user`` each (k6's per-vu-iterations). An iteration is a request
    # of the plain mix, a flow's run, or a script task's call.
    start_s: float = 0.0
    stop_after_s: float | None = None
    iterations: int | None = None
    iterations_per_user: int | None = None

    @property
    def counts_iterations(self) -> bool:
        """The load ends after a number of iterations (``iterations``, per user or shared)."""
        return self.iterations is not None or self.iterations_per_user is not None

    @property
    def effective_spawn_rate(self) -> float:
        """Users started per second; unset means all users within about a second."""
        return float(self.spawn_rate) if self.spawn_rate is not None else float(self.users)

    @property
    def starts_at_once(self) -> bool:
        """Every user starts at once rather than ramping up (the spawn rate ``AT_ONCE``)."""
        return self.effective_spawn_rate >= AT_ONCE

    @property
    def is_open(self) -> bool:
        """True for the open (arrival-rate) model."""
        return self.mode == "arrival-rate"

    @property
    def total_stage_time(self) -> float:
        """Seconds covered by all stages (0 without stages)."""
        return sum(stage.duration_s for stage in self.stages)

    @property
    def duration_s(self) -> float | None:
        """Planned run length: ``run_time``, else the stages' total, else None (no limit)."""
        if self.run_time_s is not None:
            return self.run_time_s
        if self.stages:
            return self.total_stage_time
        return None

    def level_at(self, elapsed_s: float) -> float:
        """Target users (closed) or req/s (open) at ``elapsed_s`` seconds into the run.

        Spawning towards the target at ``spawn_rate`` is left to the engine.
        """
        if not self.stages:
            return float(self.rate or 0.0) if self.is_open else float(self.users)
        start_level, start_time = 0.0, 0.0
        for stage in self.stages:
            end_time = start_time + stage.duration_s
            if elapsed_s < end_time:
                fraction = max(0.0, elapsed_s - start_time) / stage.duration_s
                return start_level + (stage.target - start_level) * fraction
            start_level, start_time = stage.target, end_time
        return start_level

    @property
    def peak_level(self) -> float:
        """Highest target users (closed) or req/s (open) the run will reach."""
        if self.stages:
            return max(stage.target for stage in self.stages)
        return self.level_at(0.0)

    @property
    def useful_workers(self) -> int:
        """The most worker processes this load keeps busy (at least 1).

        A worker needs at least one user (closed), or one connection and one
        request per second (open); more workers would idle or drop arrivals.
        """
        if self.is_open:
            return max(1, min(self.max_users, math.ceil(self.peak_level)))
        return max(1, int(self.peak_level))


DEFAULT_MAX_REDIRECTS = 10  # as requests and browsers
MAX_REDIRECTS = 100
DEFAULT_COMPRESSION = "gzip, deflate"
COMPRESSIONS = ("gzip", "deflate", "br")


@dataclass(frozen=True)
class HttpSpec:
    """Client options; ``headers`` are sent with every request (after ${VAR} substitution).

    Each virtual user is a session, as a browser's or ``requests.Session``'s: a cookie
    jar of its own (``cookies``), redirects followed (up to ``max_redirects``; 0: never)
    and compressed responses asked for (``compression``, an Accept-Encoding value, or
    "none") and decoded when something reads them."""

    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    keepalive: bool = True
    verify_tls: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    transport: str = "fast"
    http2: bool = False
    max_body: int = DEFAULT_MAX_BODY  # bytes of a response kept for captures (decoded too)
    cookies: bool = True
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    compression: str = DEFAULT_COMPRESSION
    ca_file: str | None = None  # CA certificates to verify the target with (PEM)
    client_cert: str | None = None  # a client certificate (PEM), for servers that ask
    client_key: str | None = None  # its key, when not in the certificate's file
    server_name: str | None = None  # TLS SNI and Host, when the target is given by IP
    proxy: str | None = None  # http://HOST:PORT; "" turns the environment's off

    @property
    def follow_redirects(self) -> bool:
        return self.max_redirects > 0


@dataclass(frozen=True)
class Threshold:
    """A CI gate: a metric must stay at or below ``limit`` (``rps_min``: at or above).

    ``checks``: the pass rate of the checks (all of them, or those named ``check``) must
    be above ``limit`` (``strict``) or at least ``limit``."""

    metric: str
    limit: float
    endpoint: str | None = None
    check: str | None = None  # metric "checks": the checks of this name (None: all)
    strict: bool = False  # "rate > x" rather than "rate >= x"
    tag: str | None = None  # the endpoints with this tag, together (not with ``endpoint``)
    scenario: str | None = None  # a [[scenarios]] entry's rows (and iterations), together

    @property
    def is_lower_bound(self) -> bool:
        """True when the measured value must reach the limit (throughput floors)."""
        return self.metric in ("rps_min", "checks")

    @property
    def key(self) -> str:
        """The threshold as written in the file, e.g. ``endpoints.GET /x.p99_ms``."""
        if self.metric == "checks":
            return "checks" if self.check is None else f"checks.{self.check}"
        if self.tag is not None:
            return f"tags.{self.tag}.{self.metric}"
        if self.scenario is not None:
            return f"scenarios.{self.scenario}.{self.metric}"
        prefix = f"endpoints.{self.endpoint}." if self.endpoint is not None else ""
        return prefix + self.metric

    @property
    def label(self) -> str:
        """Human-readable gate, e.g. ``p95_ms <= 500``, ``rps_min >= 100`` or
        ``checks rate > 0.99``."""
        operator = ">" if self.strict else ">=" if self.is_lower_bound else "<="
        if self.metric == "checks":
            return f"{self.key} rate {operator} {number_text(self.limit)}"
        return f"{self.key} {operator} {number_text(self.limit)}"

    def passes(self, value: float) -> bool:
        """True if the measured ``value`` satisfies the gate (limits are inclusive but
        for ``rate > x``)."""
        if self.strict:
            return value > self.limit
        return value >= self.limit if self.is_lower_bound else value <= self.limit


# A JSONPath segment: a key, an index, or None for ``[*]`` (one element at random).
PathSegment = str | int | None


@dataclass(frozen=True)
class CaptureSpec:
    """Where a step takes one value from its response: ``capture = { NAME = "SOURCE:EXPR" }``.

    ``source`` is one of :data:`CAPTURE_SOURCES`. ``json`` holds the parsed
    JSONPath segments; ``header`` the header name (``cookie``: the cookie's, read from
    the response's Set-Cookie headers); ``regex`` the pattern (group 1,
    or the whole match); ``status`` nothing. ``text`` is the expression as written,
    which messages quote (it never holds a captured value).
    """

    name: str
    source: str
    text: str
    path: tuple[PathSegment, ...] = ()
    header: str = ""
    pattern: str = ""


CHECK_SOURCES = ("status", "json", "header", "body", "duration")
CHECK_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "matches", "contains", "exists")
# The numbers a check compares ("duration < 300ms": µs; the rest as written).
CheckValue = str | int | float | bool | None


@dataclass(frozen=True)
class CheckSpec:
    """One check on a response: ``checks = ["json:$.status == 'ok'", ...]``.

    ``source``: one of :data:`CHECK_SOURCES` (``path``: a ``json`` source's JSONPath
    segments, ``header``: a header's name); ``op``: one of :data:`CHECK_OPS`; ``value``:
    the operand (a tuple for ``in``, a regex's text for ``matches``, whole µs for a
    ``duration``; None for ``exists``). ``name`` labels its row in every table (the
    text unless the check is named); ``soft``: a failure is only counted, the
    request is not failed. ``text`` is the check as written: it is the message of
    a failed request (never the value found, which may be a secret)."""

    text: str
    name: str
    source: str
    op: str
    value: CheckValue | tuple[CheckValue, ...] = None
    path: tuple[PathSegment, ...] = ()
    header: str = ""
    soft: bool = False

    @property
    def needs_body(self) -> bool:
        """True when the check reads the body (so its step keeps its responses)."""
        return self.source in ("json", "body")


@dataclass(frozen=True)
class StepSpec:
    """One step of a flow: a request, plus what it captures and whether it runs once."""

    request: RequestSpec
    once: bool = False
    captures: tuple[CaptureSpec, ...] = ()
    strict: bool = True  # a failed capture ends the iteration (False: go on, value unset)

    @property
    def name(self) -> str:
        return self.request.name


@dataclass(frozen=True)
class FlowSpec:
    """A user journey: its steps in order, picked by ``weight`` like requests are.

    ``think_time`` (low, high) applies between steps and between iterations;
    None means ``[load] think_time``.
    """

    name: str
    steps: tuple[StepSpec, ...]
    weight: float = 1.0
    think_time: tuple[float, float] | None = None
    tags: tuple[str, ...] = ()  # every step has them too


@dataclass(frozen=True)
class DataSpec:
    """A ``[[data]]`` CSV file read at load: each virtual user gets one row.

    ``mode``: ``circular`` (user n gets row n mod rows), ``random``, or ``queue``
    (each row to one user only). The rows travel with the scenario to the
    workers; they never enter a report (see ``redact``). ``secret_columns``: the
    columns whose values are scrubbed from error messages and logs as well
    (credential-named ones, and those the file's ``secret_columns`` lists).
    """

    file: str  # as written in the scenario
    path: str  # resolved against the scenario's folder
    mode: str
    columns: tuple[str, ...]
    # A PackedRows when loaded from a file; any sequence of rows when built by hand.
    rows: Sequence[tuple[str, ...]] = field(repr=False, default=())
    secret_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptSpec:
    """A Python user script (``script = "users.py"`` or ``tui-loadtest run users.py``).

    Checked at load by importing it: ``tasks`` are its ``@task`` functions with
    their weights; the workers import the file again to run them.
    """

    file: str  # as written
    path: str  # resolved
    tasks: tuple[tuple[str, float], ...]
    on_start: str | None = None  # the @on_start function's name, if any
    host: str | None = None  # a module-level ``host = "http://..."`` (Locust's), normalized
    setup: str | None = None  # the @setup function's name, if any
    teardown: str | None = None  # the @teardown function's name, if any
    # The modules the script imported from its own folder when it was loaded, as paths
    # relative to that folder (``helpers.py``, ``lib/__init__.py``): what a cluster ships.
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocustClass:
    """A user class of a locustfile, as the run spawns it."""

    name: str
    weight: float = 1.0
    fixed_count: int = 0
    host: str | None = None  # its ``host`` attribute, if any


@dataclass(frozen=True)
class LocustfileSpec:
    """A locustfile (``tui-loadtest run locustfile.py``, ``tui-loadtest locust run``).

    Checked at load by importing it with tui-loadtest's ``locust`` namespace: its user
    classes (those to run, with their weights), its task functions (the flow table's
    rows, each task's iterations and failures) and its LoadTestShape, if any. The
    workers import the file again to run it."""

    file: str  # as given
    path: str  # resolved
    classes: tuple[LocustClass, ...]
    tasks: tuple[str, ...]  # the task functions' qualified names, and each class's on_start
    shape: str | None = None  # the LoadTestShape class's name
    tags: tuple[str, ...] | None = None  # --tags
    exclude_tags: tuple[str, ...] | None = None  # --exclude-tags
    options: tuple[tuple[str, Any], ...] = ()  # environment.parsed_options, as pairs
    host: str | None = None  # --host: every class's host (None: each class's own)
    iterations: int = 0  # task iterations in all (locust-plugins' -i), 0: no limit
    stop_timeout: float = 0.0  # --stop-timeout: users finish their task up to this long
    start_classes: tuple[str, ...] | None = None  # the shape's first tick names these only
    # the modules it imported from its own folder, as paths relative to it (shipped
    # with it to a cluster's workers)
    modules: tuple[str, ...] = ()
    reads_stats: bool = True  # it (or its folder's modules) names ``stats``: keep Locust's
    # `locust run` without --stop-timeout: at the stop, requests in flight are given up
    # (not counted), as Locust kills its users; else they finish and count
    abandon_at_stop: bool = False


# What ``[monitor]`` scrapes: at most this many series per endpoint (a whole exporter can
# hold thousands; each series is a chart and a report entry), at least this interval.
MAX_SCRAPED_SERIES = 40
MIN_SCRAPE_INTERVAL_S = 0.1
LABEL_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class LabelMatcher:
    """One label condition of a metric selector, as PromQL writes it (regexes anchored)."""

    label: str
    op: str  # one of LABEL_OPS
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.label, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        found = re.fullmatch(self.value, have) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class MetricSelector:
    """``name`` or ``name{label="v", other=~"re.*"}``: which scraped series to keep."""

    name: str
    matchers: tuple[LabelMatcher, ...] = ()
    text: str = ""  # as written

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        return name == self.name and all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class MonitorSpec:
    """What to watch on the target while the load runs (``[monitor]``, ``--scrape``,
    ``--monitor-pid``): Prometheus endpoints every ``scrape_interval_s`` (all their
    counters and gauges, or the ``metrics`` picked) and local processes every second."""

    scrape: tuple[str, ...] = ()
    scrape_interval_s: float = 1.0
    metrics: tuple[MetricSelector, ...] = ()
    pids: tuple[int, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.scrape or self.pids)


@dataclass(frozen=True)
class ClusterSpec:
    """Where the engines run (``[cluster]``, or ``--cluster``): local processes when
    ``address`` is None, else a Dask cluster, ``local:N`` (one started on this machine)
    or a scheduler's ``tcp://HOST:PORT`` / ``tls://HOST:PORT``."""

    address: str | None = None
    workers: int | None = None  # how many of the cluster's workers (None: all)
    on_worker_loss: str = "continue"  # or "stop": see WORKER_LOSS

    @property
    def local_size(self) -> int | None:
        """N of ``local:N``; None for a scheduler's address (or local processes)."""
        if self.address is None or not self.address.startswith("local:"):
            return None
        return int(self.address.removeprefix("local:"))

    @property
    def remote(self) -> bool:
        """A running scheduler, whose workers may be other machines."""
        return self.address is not None and self.local_size is None


@dataclass(frozen=True)
class ExportSpec:
    """Live metrics out (``[export]``, ``--prometheus``, ``--otlp``, ``--stream``): where the
    run's figures go while it runs (``tui_loadtest.export``, docs/metrics-out.md)."""

    prometheus: str | None = None  # HOST:PORT of the /metrics endpoint
    prometheus_allow_remote: bool = False  # listen on an address other than loopback
    otlp: str | None = None  # an OTLP/HTTP collector's URL
    otlp_interval_s: float = 5.0
    stream: str | None = None  # the NDJSON file, one line per complete second
    run_id: str | None = None  # the run_id label (None: made up at the start)

    @property
    def active(self) -> bool:
        return bool(self.prometheus is not None or self.otlp or self.stream)


@dataclass(frozen=True)
class ScenarioPart:
    """One ``[[scenarios]]`` entry: a workload with its own load model (``load``: closed
    users, stages, an arrival rate, iterations; its start offset and think time), run
    beside the file's other scenarios on the same workers. It runs requests and flows of
    the file's ``[[requests]]`` and ``[[flows]]`` (by name), or a script of its own.
    Its rows keep their names and are grouped under ``name`` everywhere."""

    name: str
    load: LoadSpec
    requests: tuple[RequestSpec, ...] = ()
    flows: tuple[FlowSpec, ...] = ()
    script: ScriptSpec | None = None
    tags: tuple[str, ...] = ()  # every request and flow it runs has them too


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario. ``host`` None means the embedded demo target.

    ``redacted`` is a JSON-able copy for reports: every value keeps its
    ``${VAR}`` text (never the environment's value), and sensitive headers and
    query parameters named like credentials are replaced by ``<redacted>``.
    ``secrets`` holds the values that copy leaves out (environment values,
    literal credentials), so free text such as an error message can be scrubbed
    of them too (see ``redact.redact_text``).
    """

    name: str
    host: str | None
    load: LoadSpec
    http: HttpSpec
    requests: tuple[RequestSpec, ...]
    thresholds: tuple[Threshold, ...] = ()
    source: str | None = None
    redacted: dict[str, Any] = field(compare=False, default_factory=dict, repr=False)
    secrets: frozenset[str] = field(compare=False, default=frozenset(), repr=False)
    flows: tuple[FlowSpec, ...] = ()
    data: tuple[DataSpec, ...] = ()
    script: ScriptSpec | None = None
    monitor: MonitorSpec = field(default_factory=MonitorSpec)
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    locustfile: LocustfileSpec | None = None
    export: ExportSpec = field(default_factory=ExportSpec)
    tags: tuple[str, ...] = ()  # every request and flow of the scenario has them
    # [setup] and [teardown]: steps run once before and after the load (engine/setup.py);
    # ``setup_values`` are what the setup captured, filled in by the run before it starts
    # its workers (every user reads them; they are secrets, kept out of every artefact)
    setup: tuple[StepSpec, ...] = ()
    teardown: tuple[StepSpec, ...] = ()
    setup_values: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # [[scenarios]]: several workloads at once, each with its own load model (``load``
    # then holds only the run's length and warm-up). Empty: the file's one workload.
    parts: tuple[ScenarioPart, ...] = ()

    def part(self, index: int) -> Scenario:
        """The ``index``-th of ``parts`` as a scenario of its own: what one engine runs
        (the file's HTTP options, data files and setup values; its own load and rows)."""
        p = self.parts[index]
        return replace(
            self,
            name=p.name,
            load=p.load,
            requests=p.requests,
            flows=p.flows,
            script=p.script,
            tags=(*self.tags, *(t for t in p.tags if t not in self.tags)),
            thresholds=(),
            parts=(),
        )

    @property
    def part_views(self) -> tuple[Scenario, ...]:
        """Each of ``parts`` as a scenario (see :meth:`part`)."""
        return tuple(self.part(i) for i in range(len(self.parts)))

    @property
    def endpoint_groups(self) -> tuple[str, ...]:
        """The scenario (``[[scenarios]]`` name) of each row of :attr:`endpoints`; all ""
        for a file without ``[[scenarios]]``."""
        if not self.parts:
            return ("",) * len(self.endpoints)
        return tuple(v.name for v in self.part_views for _ in v.endpoints)

    @property
    def flow_groups(self) -> tuple[str, ...]:
        """The scenario of each of :attr:`flow_names` (all "" without ``[[scenarios]]``)."""
        if not self.parts:
            return ("",) * len(self.flow_names)
        return tuple(v.name for v in self.part_views for _ in v.flow_names)

    @property
    def check_groups(self) -> tuple[str, ...]:
        """The scenario of each of :attr:`check_rows` (all "" without ``[[scenarios]]``)."""
        if not self.parts:
            return ("",) * len(self.check_rows)
        return tuple(v.name for v in self.part_views for _ in v.check_rows)

    @property
    def setup_names(self) -> tuple[str, ...]:
        """The names the ``[setup]`` steps capture (every user can use them as ``{name}``)."""
        return tuple(dict.fromkeys(c.name for step in self.setup for c in step.captures))

    @property
    def has_setup(self) -> bool:
        """A ``[setup]`` or a script's ``@setup``."""
        return bool(self.setup) or (self.script is not None and self.script.setup is not None)

    @property
    def has_teardown(self) -> bool:
        """A ``[teardown]`` or a script's ``@teardown``."""
        return bool(self.teardown) or (self.script is not None and self.script.teardown is not None)

    @property
    def endpoint_tags(self) -> dict[str, tuple[str, ...]]:
        """Each endpoint row's tags: the scenario's, its flow's and its own (steps sharing
        a row share them all), in the order first written."""
        found: dict[str, dict[str, None]] = {}
        if self.parts:  # a row of the same name in two scenarios: the tags of both
            for view in self.part_views:
                for name, tags in view.endpoint_tags.items():
                    found.setdefault(name, {}).update(dict.fromkeys(tags))
            return {name: tuple(tags) for name, tags in found.items()}
        for r in self.requests:
            found.setdefault(r.name, {}).update(dict.fromkeys((*self.tags, *r.tags)))
        for f in self.flows:
            for step in f.steps:
                tags = (*self.tags, *f.tags, *step.request.tags)
                found.setdefault(step.name, {}).update(dict.fromkeys(tags))
        return {name: tuple(tags) for name, tags in found.items()}

    @property
    def endpoints(self) -> tuple[tuple[str, str], ...]:
        """``(method, name)`` of every row of the tables, in order: the requests, then
        each flow step under its name (steps sharing a name share a row). With
        ``[[scenarios]]``: each scenario's rows in turn (``endpoint_groups`` says whose)."""
        if self.parts:
            return tuple(row for view in self.part_views for row in view.endpoints)
        rows = [(r.method, r.name) for r in self.requests]
        seen = {name for _, name in rows}
        for flow in self.flows:
            for step in flow.steps:
                if step.name not in seen:
                    seen.add(step.name)
                    rows.append((step.request.method, step.name))
        return tuple(rows)

    @property
    def check_rows(self) -> tuple[tuple[str, str, bool], ...]:
        """``(endpoint name, check name, soft)`` of every check, in the order of the
        endpoints (a check on steps sharing a row, with the same name, is one row)."""
        if self.parts:
            return tuple(row for view in self.part_views for row in view.check_rows)
        rows: list[tuple[str, str, bool]] = []
        seen: set[tuple[str, str]] = set()
        specs = [*self.requests, *(step.request for f in self.flows for step in f.steps)]
        for spec in specs:
            for check in spec.checks:
                if (spec.name, check.name) not in seen:
                    seen.add((spec.name, check.name))
                    rows.append((spec.name, check.name, check.soft))
        return tuple(rows)

    @property
    def flow_names(self) -> tuple[str, ...]:
        """The rows of the flow table: each ``[[flows]]``, or each task of a script (with
        ``[[scenarios]]``: each scenario's in turn)."""
        if self.parts:
            return tuple(name for view in self.part_views for name in view.flow_names)
        if self.script is not None:
            names = tuple(name for name, _ in self.script.tasks)
            return names + ((self.script.on_start,) if self.script.on_start else ())
        if self.locustfile is not None:
            return self.locustfile.tasks
        return tuple(f.name for f in self.flows)

    @property
    def has_journeys(self) -> bool:
        """True when users follow flows, carry data rows or run a script, or a request has
        checks (not the plain mix: the plain path never looks at a response)."""
        return bool(self.flows or self.data or self.script or self.locustfile or self.setup) or any(
            r.has_header_placeholders or r.checks for r in self.requests
        )

    @property
    def is_demo(self) -> bool:
        """True when the run targets the embedded demo server."""
        return self.host is None


def fill_placeholders(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{name}`` found in ``values``; unknown names stay as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
