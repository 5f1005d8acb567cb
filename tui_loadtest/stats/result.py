"""The result of a run: one model behind the JSON report, the store, the text
report and comparisons. It keeps the merged histograms, so every figure can be
recomputed exactly from what a report file holds.

The engine builds it (``Run.result()``); nothing here knows the engine.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from .. import __version__
from . import report_format as fmt
from .histogram import NBUCKETS, SUB_BITS, Histogram
from .model import (
    CheckStats,
    ErrorRow,
    FlowStats,
    Latency,
    Stats,
    StreamStats,
    TimelinePoint,
    check_rate,
)
from .resources import ResourceSeries
from .tags import GroupResult, TagResult, merged_stats, tag_results
from .thresholds import ThresholdResult, evaluate, scenario_thresholds

REPORT_FORMAT = fmt.REPORT_FORMAT
HISTOGRAM_SCHEME: dict[str, Any] = {
    "unit": "us",
    "kind": "log-linear",
    "sub_bucket_bits": SUB_BITS,
    "buckets": NBUCKETS,
}


@dataclass
class EndpointResult:
    method: str
    name: str
    stats: Stats
    histogram: Histogram  # corrected latency in the open model
    service_histogram: Histogram | None = None  # open model only
    ttfb_histogram: Histogram | None = None  # times to first byte (None: not measured)
    ttft_histogram: Histogram | None = None  # streamed endpoints: times to first event
    gap_histogram: Histogram | None = None  # and times between events
    scenario: str = ""  # its [[scenarios]] entry ("" in a file without them)

    def stream_histograms(self) -> tuple[Histogram, Histogram] | None:
        """A stream's (time to first event, time between events); None: not a stream."""
        if self.ttft_histogram is None or self.gap_histogram is None:
            return None
        return self.ttft_histogram, self.gap_histogram


@dataclass
class FlowResult:
    """One flow (or script task): its iterations and their duration histogram."""

    name: str
    stats: FlowStats
    histogram: Histogram  # from the intended start in the open model
    service_histogram: Histogram | None = None  # open model: from the first send
    scenario: str = ""  # its [[scenarios]] entry ("" in a file without them)


@dataclass
class RunResult:
    """Everything a finished (or interrupted) run produced."""

    started_at: str  # ISO 8601, UTC
    duration_s: float
    host: str
    scenario_name: str
    load: dict[str, Any]
    scenario: dict[str, Any]  # redacted
    summary: Stats
    histogram: Histogram
    endpoints: list[EndpointResult]
    errors: list[ErrorRow]
    timeline: list[TimelinePoint]
    per_second: list[list[list[int]]] = field(default_factory=list)  # sparse, all endpoints
    # Open model: service-time histograms beside the corrected ones, and the
    # generator's lag against its schedule.
    service_histogram: Histogram | None = None
    per_second_service: list[list[list[int]]] = field(default_factory=list)
    lag_histogram: Histogram | None = None
    ttfb_histogram: Histogram | None = None  # every endpoint's times to first byte
    # Runs with streams: every streamed endpoint's times to first event and between events.
    ttft_histogram: Histogram | None = None
    gap_histogram: Histogram | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    # The generator's own load: CPU series and whether it was saturated (see
    # engine/generator.py); empty for results that predate it.
    generator: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    flows: list[FlowResult] = field(default_factory=list)  # journeys: one per flow
    # The target's processes and metrics over the run (monitor/), and how watching went.
    resources: list[ResourceSeries] = field(default_factory=list)
    monitor: dict[str, Any] = field(default_factory=dict)
    # The warm-up's own figures (summary, endpoints, errors, timeline), kept apart from
    # every figure above; empty without a warm-up.
    warmup: dict[str, Any] = field(default_factory=dict)
    # --repeat N: the figures above are the representative run's; ``repeats`` holds each
    # run's figures and their spread (stats/repeats.py), ``runs`` every run complete.
    repeats: dict[str, Any] = field(default_factory=dict)
    runs: list[RunResult] = field(default_factory=list)
    checks: list[CheckStats] = field(default_factory=list)  # checks on responses
    tool: str = "tui-loadtest"
    version: str = __version__

    # -- derived --------------------------------------------------------------
    @property
    def open_model(self) -> bool:
        return self.service_histogram is not None

    @property
    def lag(self) -> Latency | None:
        return Latency.from_histogram(self.lag_histogram) if self.lag_histogram else None

    @property
    def missing(self) -> list[str]:
        """Figures the source did not record (an import from Locust lists them in its
        scenario section), so that readers show them as not available, never as 0."""
        value = self.scenario.get("missing") if isinstance(self.scenario, dict) else None
        return [str(v) for v in value] if isinstance(value, list) else []

    @property
    def saturated(self) -> bool:
        """The generator ran out of CPU: its figures may understate the target."""
        return bool(self.generator.get("saturated"))

    @property
    def interrupted(self) -> bool:
        return bool(self.outcome.get("interrupted"))

    @property
    def unreachable(self) -> bool:
        """No request ever got a connection: every one failed to connect."""
        s = self.summary
        if s.requests == 0 or self.histogram.total:
            return False
        return self.outcome.get("connections", 0) == 0

    @property
    def iterations(self) -> int:
        """Iterations of every flow (or script task, ``on_start`` included); 0 without."""
        return sum(f.stats.iterations for f in self.flows)

    @property
    def failed_iterations(self) -> int:
        """Iterations that failed: a step failed, or the script's task raised."""
        return sum(f.stats.failed for f in self.flows)

    @property
    def iteration_failure_rate(self) -> float:
        total = self.iterations
        return self.failed_iterations / total if total else 0.0

    def stream_histograms(self) -> tuple[Histogram, Histogram] | None:
        """Every stream's (time to first event, time between events); None: no stream."""
        if self.ttft_histogram is None or self.gap_histogram is None:
            return None
        return self.ttft_histogram, self.gap_histogram

    def flow(self, name: str) -> FlowResult | None:
        for f in self.flows:
            if f.name == name:
                return f
        return None

    def tag_groups(self) -> list[TagResult]:
        """The endpoints grouped by tag (``tags = [...]``): each tag's figures together."""
        return tag_results(self.scenario, self.endpoints, self.duration_s)

    def tag_stats(self, tag: str) -> Stats | None:
        """The figures of the endpoints tagged ``tag``, together (None: no such tag)."""
        return next((t.stats for t in self.tag_groups() if t.tag == tag), None)

    def check_rate(self, name: str | None = None) -> float | None:
        """The pass rate of every check (of those named ``name``); None when none ran."""
        return check_rate(self.checks, name)

    def threshold_results(self) -> list[ThresholdResult]:
        """The scenario's thresholds, each with the value measured and passed or failed."""
        return evaluate(scenario_thresholds(self.scenario), self)

    def endpoint(self, name: str) -> EndpointResult | None:
        """The endpoint row called ``name``; rows of that name in several ``[[scenarios]]``
        together (their figures merged)."""
        found = [e for e in self.endpoints if e.name == name]
        if len(found) <= 1:
            return found[0] if found else None
        stats, hist = merged_stats(found, self.duration_s)
        service = None
        if any(e.service_histogram is not None for e in found):
            service = Histogram()
            for e in found:
                service.merge(e.service_histogram or Histogram())
        return EndpointResult(found[0].method, name, stats, hist, service)

    def scenario_groups(self) -> list[GroupResult]:
        """Each ``[[scenarios]]`` entry, in the file's order: its endpoints' figures
        together and its iterations (none for a file without them)."""
        listed = self.scenario.get("scenarios") if isinstance(self.scenario, dict) else None
        modes: dict[str, str] = {}
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                load = entry.get("load")
                mode = load.get("mode") if isinstance(load, dict) else None
                modes[entry["name"]] = mode if isinstance(mode, str) else ""
        for e in self.endpoints:
            if e.scenario:
                modes.setdefault(e.scenario, "")
        out = []
        for name, mode in modes.items():
            members = [e for e in self.endpoints if e.scenario == name]
            flows = [f for f in self.flows if f.scenario == name]
            stats, hist = merged_stats(members, self.duration_s)
            out.append(
                GroupResult(
                    name=name,
                    mode=mode,
                    endpoints=tuple(e.name for e in members),
                    stats=stats,
                    histogram=hist,
                    iterations=sum(f.stats.iterations for f in flows),
                    failed_iterations=sum(f.stats.failed for f in flows),
                )
            )
        return out

    def scenario_stats(self, name: str) -> Stats | None:
        """One ``[[scenarios]]`` entry's endpoints together (None: no such scenario)."""
        return next((g.stats for g in self.scenario_groups() if g.name == name), None)

    def scenario_iterations(self, name: str) -> tuple[int, int]:
        """One ``[[scenarios]]`` entry's iterations: (all, failed)."""
        flows = [f for f in self.flows if f.scenario == name]
        return sum(f.stats.iterations for f in flows), sum(f.stats.failed for f in flows)

    # -- the JSON report ------------------------------------------------------
    def to_struct(self) -> fmt.Report:
        """The report as typed structs (see :mod:`tui_loadtest.stats.report_format`)."""
        open_model = self.service_histogram is not None
        summary = _summary_struct(self.summary)
        if self.flows:  # what the flows below add up to, beside the requests' error rate
            summary.iterations = self.iterations
            summary.failed_iterations = self.failed_iterations
            summary.iteration_failure_rate = round(self.iteration_failure_rate, 6)
        histograms = fmt.HistogramsReport(
            **HISTOGRAM_SCHEME,
            total=_hist_struct(self.histogram),
            endpoints=[
                _endpoint_hist(e.method, e.name, e.histogram, e.scenario) for e in self.endpoints
            ],
            per_second=_pairs_list(self.per_second),
        )
        if open_model:
            lag = self.lag
            summary.lag_ms = _latency_struct(lag) if lag is not None else None
            histograms.latency = "corrected: from each request's intended start"
            histograms.service_total = _hist_struct(self.service_histogram or Histogram())
            histograms.service_endpoints = [
                _endpoint_hist(e.method, e.name, e.service_histogram or Histogram(), e.scenario)
                for e in self.endpoints
            ]
            histograms.per_second_service = _pairs_list(self.per_second_service)
            histograms.lag = _hist_struct(self.lag_histogram or Histogram())
        if self.ttfb_histogram is not None:
            histograms.ttfb_total = _hist_struct(self.ttfb_histogram)
            histograms.ttfb_endpoints = [
                _endpoint_hist(e.method, e.name, e.ttfb_histogram, e.scenario)
                for e in self.endpoints
                if e.ttfb_histogram is not None
            ]
        if self.ttft_histogram is not None and self.gap_histogram is not None:
            streamed = [(e, h) for e in self.endpoints if (h := e.stream_histograms())]
            histograms.ttft_total = _hist_struct(self.ttft_histogram)
            histograms.inter_event_total = _hist_struct(self.gap_histogram)
            histograms.ttft_endpoints = [
                _endpoint_hist(e.method, e.name, h, e.scenario) for e, (h, _) in streamed
            ]
            histograms.inter_event_endpoints = [
                _endpoint_hist(e.method, e.name, h, e.scenario) for e, (_, h) in streamed
            ]
        flows: list[fmt.FlowReport] | msgspec.UnsetType = msgspec.UNSET
        if self.flows:
            flows = [_flow_struct(f) for f in self.flows]
            histograms.flows = [_named_hist(f.name, f.histogram, f.scenario) for f in self.flows]
            if open_model:
                histograms.service_flows = [
                    _named_hist(f.name, f.service_histogram or Histogram(), f.scenario)
                    for f in self.flows
                ]
        return fmt.Report(
            tool=self.tool,
            version=self.version,
            started_at=self.started_at,
            duration_s=round(self.duration_s, 3),
            host=self.host,
            scenario_name=self.scenario_name,
            load=_typed(self.load, fmt.LoadReport, "load"),
            environment=_typed(self.environment, fmt.EnvironmentReport, "environment"),
            outcome=_typed(self.outcome, fmt.OutcomeReport, "outcome"),
            generator=(
                _typed(self.generator, fmt.GeneratorReport, "generator")
                if self.generator
                else msgspec.UNSET
            ),
            scenario=self.scenario,
            summary=summary,
            thresholds=[
                fmt.ThresholdReport(
                    metric=t.metric,
                    scope=t.scope,
                    limit=t.limit,
                    # Rounded as the summary rounds the same figure.
                    value=None
                    if t.value is None
                    else round(t.value, 6 if t.metric in _FRACTIONS else 3),
                    passed=t.passed,
                    label=t.label,
                )
                for t in self.threshold_results()
            ],
            endpoints=[_endpoint_struct(e) for e in self.endpoints],
            flows=flows,
            checks=[_check_struct(c) for c in self.checks] if self.checks else msgspec.UNSET,
            tags=[_tag_struct(t) for t in groups]
            if (groups := self.tag_groups())
            else msgspec.UNSET,
            scenarios=[_scenario_struct(g) for g in parts]
            if (parts := self.scenario_groups())
            else msgspec.UNSET,
            resources=self._resources_struct(),
            warmup=(
                _typed(self.warmup, fmt.WarmupReport, "warmup") if self.warmup else msgspec.UNSET
            ),
            repeats=self._repeats_struct(),
            errors=[_error_struct(e) for e in self.errors],
            timeline=[_point_struct(p) for p in self.timeline],
            histograms=histograms,
        )

    def _repeats_struct(self) -> fmt.RepeatsReport | msgspec.UnsetType:
        if not self.repeats:
            return msgspec.UNSET
        section = _typed(self.repeats, fmt.RepeatsReport, "repeats")
        section.reports = [r.to_struct() for r in self.runs]
        return section

    def to_report(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return msgspec.to_builtins(self.to_struct())

    def _resources_struct(self) -> fmt.ResourcesReport | msgspec.UnsetType:
        if not self.resources and not self.monitor:
            return msgspec.UNSET
        return _typed(
            {**self.monitor, "series": [s.to_dict() for s in self.resources]},
            fmt.ResourcesReport,
            "resources",
        )

    @classmethod
    def from_report(cls, data: dict[str, Any]) -> RunResult:
        """Rebuild a result from parsed report data (validated field by field:
        :class:`~tui_loadtest.stats.report_format.ReportError` names a bad one)."""
        return cls.from_struct(fmt.convert_report(data))

    @classmethod
    def from_struct(cls, report: fmt.Report) -> RunResult:
        """Rebuild a result from a report; percentiles come from the stored histograms."""
        hists = report.histograms
        if hists is not None and hists.buckets != NBUCKETS:
            raise fmt.ReportError(
                f"histograms.buckets: expected {NBUCKETS} (this version's bucket layout),"
                f" got {hists.buckets}"
            )
        if hists is not None and hists.sub_bucket_bits != SUB_BITS:
            raise fmt.ReportError(
                f"histograms.sub_bucket_bits: expected {SUB_BITS}, got {hists.sub_bucket_bits}"
            )

        def given(value: Any) -> Any:
            return None if value is msgspec.UNSET else value

        def stats_of(
            d: fmt.StatsReport | fmt.EndpointReport,
            h: Histogram | None,
            sh: Histogram | None,
            th: Histogram | None = None,
            streamed: tuple[Histogram | None, Histogram | None] = (None, None),
        ) -> Stats:
            service_ms = given(d.service_latency_ms)
            service = None
            if sh is not None or service_ms is not None:
                service = _latency_of(service_ms, sh)
            ttfb_ms = given(d.ttfb_ms)
            ttfb = None
            if th is not None or ttfb_ms is not None:
                ttfb = _latency_of(ttfb_ms, th)
            return Stats(
                requests=d.requests,
                failures=d.failures,
                rps=d.rps,
                bytes_received=d.bytes_received,
                bytes_sent=d.bytes_sent,
                statuses=tuple(sorted(d.status_codes.items())),
                redirects=d.redirects,
                latency=_latency_of(d.latency_ms, h),
                service=service,
                dropped=given(d.dropped) or 0,
                ttfb=ttfb,
                stream=_stream_of(given(d.stream), *streamed),
            )

        total_h = _hist_from(hists.total if hists else None)
        service_h = _hist_from(given(hists.service_total) if hists else None)
        ep_hists = {
            (given(h.scenario) or "", h.method, h.name): h
            for h in (hists.endpoints if hists else [])
        }
        svc_hists = {
            (given(h.scenario) or "", h.method, h.name): h
            for h in ((given(hists.service_endpoints) or []) if hists else [])
        }
        ttfb_h = _hist_from(given(hists.ttfb_total) if hists else None)
        ttfb_hists = {
            (given(h.scenario) or "", h.method, h.name): h
            for h in ((given(hists.ttfb_endpoints) or []) if hists else [])
        }
        ttft_h = _hist_from(given(hists.ttft_total) if hists else None)
        gap_h = _hist_from(given(hists.inter_event_total) if hists else None)

        def by_key(found: list[fmt.EndpointHistogramReport] | None) -> dict:
            return {(given(h.scenario) or "", h.method, h.name): h for h in found or []}

        ttft_hists = by_key(given(hists.ttft_endpoints) if hists else None)
        gap_hists = by_key(given(hists.inter_event_endpoints) if hists else None)
        endpoints = []
        for e in report.endpoints:
            part = given(e.scenario) or ""
            key = (part, e.method, e.name)
            h = _hist_from(ep_hists.get(key))
            sh = _hist_from(svc_hists.get(key))
            th = _hist_from(ttfb_hists.get(key))
            streamed = (_hist_from(ttft_hists.get(key)), _hist_from(gap_hists.get(key)))
            endpoints.append(
                EndpointResult(
                    e.method,
                    e.name,
                    stats_of(e, h, sh, th, streamed),
                    h or Histogram(),
                    sh,
                    th,
                    *streamed,
                    part,
                )
            )
        errors = [
            ErrorRow(
                kind=e.kind,
                status=e.status,
                endpoint=e.endpoint,
                method=e.method,
                count=e.count,
                message=e.message,
                first_seen_s=given(e.first_seen_s),
                last_seen_s=given(e.last_seen_s),
                scenario=given(e.scenario) or "",
            )
            for e in report.errors
        ]
        timeline = [
            TimelinePoint(
                t=p.t,
                requests=p.rps,
                failures=p.errors,
                users=p.users,
                p50_ms=p.p50_ms,
                p95_ms=p.p95_ms,
                p99_ms=p.p99_ms,
                paused=p.paused,
                target=given(p.target),
                service_p99_ms=given(p.service_p99_ms),
                dropped=given(p.dropped) or 0,
                warmup=given(p.warmup) or False,
            )
            for p in report.timeline
        ]
        resources = given(report.resources)
        series = resources.series if resources else []
        return cls(
            started_at=report.started_at,
            duration_s=report.duration_s,
            host=report.host,
            scenario_name=report.scenario_name,
            load=msgspec.to_builtins(report.load),
            scenario=dict(report.scenario),
            summary=stats_of(report.summary, total_h, service_h, ttfb_h, (ttft_h, gap_h)),
            histogram=total_h or Histogram(),
            endpoints=endpoints,
            errors=errors,
            timeline=timeline,
            per_second=_pairs_lists(hists.per_second if hists else []),
            service_histogram=service_h,
            per_second_service=_pairs_lists(
                (given(hists.per_second_service) or []) if hists else []
            ),
            lag_histogram=_hist_from(given(hists.lag) if hists else None),
            ttfb_histogram=ttfb_h,
            ttft_histogram=ttft_h,
            gap_histogram=gap_h,
            outcome=msgspec.to_builtins(report.outcome),
            generator=msgspec.to_builtins(given(report.generator) or {}),
            environment=msgspec.to_builtins(report.environment),
            flows=_flows_from(report),
            resources=[ResourceSeries.from_dict(msgspec.to_builtins(d)) for d in series],
            monitor={"sources": list(resources.sources)} if resources else {},
            warmup=msgspec.to_builtins(given(report.warmup) or {}),
            checks=[
                CheckStats(c.endpoint, c.name, c.passed, c.failed, c.soft, given(c.scenario) or "")
                for c in (given(report.checks) or [])
            ],
            **_repeats_from(given(report.repeats)),
            tool=report.tool,
            version=report.version,
        )


def _repeats_from(section: fmt.RepeatsReport | None) -> dict[str, Any]:
    """``repeats`` and ``runs`` of a report with repeated runs (nothing otherwise)."""
    if section is None:
        return {}
    runs = [RunResult.from_struct(r) for r in section.reports]
    section.reports = []
    plain = msgspec.to_builtins(section)
    plain.pop("reports", None)
    return {"repeats": plain, "runs": runs}


def service_view(result: RunResult) -> RunResult:
    """An open-model result seen through its service time (from the moment each
    request was sent), which is what a closed-model run measures; closed-model
    results are returned as they are."""
    if result.service_histogram is None:
        return result
    # Times to first byte are corrected in the open model and have no service-time
    # counterpart: the service view leaves them out rather than compare unlike figures.
    endpoints = [
        replace(
            e,
            stats=replace(
                e.stats, latency=e.stats.service or e.stats.latency, ttfb=None, stream=None
            ),
            histogram=e.service_histogram or e.histogram,
            ttfb_histogram=None,
            ttft_histogram=None,
            gap_histogram=None,
        )
        for e in result.endpoints
    ]
    flows = [
        replace(
            f,
            stats=replace(f.stats, duration=f.stats.service or f.stats.duration),
            histogram=f.service_histogram or f.histogram,
        )
        for f in result.flows
    ]
    return replace(
        result,
        summary=replace(
            result.summary,
            latency=result.summary.service or result.summary.latency,
            ttfb=None,
            stream=None,
        ),
        histogram=result.service_histogram,
        ttfb_histogram=None,
        ttft_histogram=None,
        gap_histogram=None,
        endpoints=endpoints,
        flows=flows,
        per_second=result.per_second_service or result.per_second,
    )


_FRACTIONS = ("error_rate", "iteration_failure_rate", "checks")


def _r(x: float) -> float:
    return round(x, 3)


_T = TypeVar(
    "_T",
    fmt.LoadReport,
    fmt.EnvironmentReport,
    fmt.OutcomeReport,
    fmt.GeneratorReport,
    fmt.ResourcesReport,
    fmt.WarmupReport,
    fmt.RepeatsReport,
)


def _typed(data: dict[str, Any], kind: type[_T], section: str) -> _T:
    """A section of the result as its struct; a key the format does not declare is a
    bug to fix there (stats/report_format.py), never silently left out of the file."""
    unknown = set(data) - set(kind.__struct_fields__)
    if unknown:
        raise ValueError(
            f"RunResult.{section} has keys the report format does not declare:"
            f" {', '.join(sorted(unknown))} (add them to stats/report_format.py)"
        )
    return msgspec.convert(data, kind)


def _latency_struct(lat: Latency) -> fmt.LatencyMs:
    return fmt.LatencyMs(
        min=_r(lat.min),
        mean=_r(lat.mean),
        p50=_r(lat.p50),
        p90=_r(lat.p90),
        p95=_r(lat.p95),
        p99=_r(lat.p99),
        p999=_r(lat.p999),
        max=_r(lat.max),
    )


def _latency_of(d: fmt.LatencyMs | None, h: Histogram | None) -> Latency:
    """From the histogram when there is one (exact), else from the figures written."""
    if h is not None and h.total:
        return Latency.from_histogram(h)
    if d is None:
        return Latency()
    return Latency(**msgspec.structs.asdict(d))


_S = TypeVar("_S", fmt.StatsReport, fmt.EndpointReport, fmt.TagReport, fmt.ScenarioReport)


def _stats_fields(s: Stats) -> dict[str, Any]:
    """The figures a summary and an endpoint row share, as the report writes them."""
    return {
        "requests": s.requests,
        "failures": s.failures,
        "error_rate": round(s.error_rate, 6),
        "rps": _r(s.rps),
        "bytes_received": s.bytes_received,
        "bytes_sent": s.bytes_sent,
        "status_codes": dict(s.statuses),
        "redirects": s.redirects,
        "latency_ms": _latency_struct(s.latency),
    }


def _summary_struct(s: Stats) -> fmt.StatsReport:
    return _with_service(fmt.StatsReport(**_stats_fields(s)), s)


def _endpoint_struct(e: EndpointResult) -> fmt.EndpointReport:
    out = _with_service(
        fmt.EndpointReport(method=e.method, name=e.name, **_stats_fields(e.stats)), e.stats
    )
    if e.scenario:
        out.scenario = e.scenario
    return out


def _scenario_struct(g: GroupResult) -> fmt.ScenarioReport:
    out = _with_service(
        fmt.ScenarioReport(
            name=g.name, mode=g.mode, endpoints=list(g.endpoints), **_stats_fields(g.stats)
        ),
        g.stats,
    )
    if g.iterations:
        out.iterations = g.iterations
        out.failed_iterations = g.failed_iterations
    return out


def _with_service(out: _S, s: Stats) -> _S:
    """Arrival-rate runs: the service-time figures and the drops beside the latency;
    and the time to first byte, once measured."""
    if s.service is not None:
        out.service_latency_ms = _latency_struct(s.service)
        out.dropped = s.dropped
    if s.ttfb is not None:
        out.ttfb_ms = _latency_struct(s.ttfb)
    if s.stream is not None:
        out.stream = _stream_struct(s.stream)
    return out


def _stream_struct(st: StreamStats) -> fmt.StreamReport:
    return fmt.StreamReport(
        streams=st.streams,
        events=st.events,
        events_per_stream=_r(st.events_per_stream),
        tokens=st.tokens,
        tokens_per_s=_r(st.tokens_per_s),
        output_tokens_per_s=_r(st.output_tokens_per_s),
        gen_tokens=st.gen_tokens,
        gen_s=round(st.gen_s, 6),
        ttft_ms=_latency_struct(st.ttft),
        inter_event_ms=_latency_struct(st.inter_event),
    )


def _stream_of(
    d: fmt.StreamReport | None, ttft: Histogram | None, gaps: Histogram | None
) -> StreamStats | None:
    """A stream's figures: the latencies from their histograms when kept (exact)."""
    if d is None:
        return None
    return StreamStats(
        streams=d.streams,
        events=d.events,
        tokens=d.tokens,
        ttft=_latency_of(d.ttft_ms, ttft),
        inter_event=_latency_of(d.inter_event_ms, gaps),
        gen_tokens=d.gen_tokens,
        gen_s=d.gen_s,
        tokens_per_s=d.tokens_per_s,
    )


def _error_struct(e: ErrorRow) -> fmt.ErrorReport:
    out = fmt.ErrorReport(
        kind=e.kind,
        status=e.status,
        endpoint=e.endpoint,
        method=e.method,
        count=e.count,
        message=e.message,
    )
    if e.first_seen_s is not None:
        out.first_seen_s = _r(e.first_seen_s)
    if e.last_seen_s is not None:
        out.last_seen_s = _r(e.last_seen_s)
    if e.scenario:
        out.scenario = e.scenario
    return out


def _tag_struct(t: TagResult) -> fmt.TagReport:
    return _with_service(
        fmt.TagReport(tag=t.tag, endpoints=list(t.endpoints), **_stats_fields(t.stats)), t.stats
    )


def _check_struct(c: CheckStats) -> fmt.CheckReport:
    out = fmt.CheckReport(
        endpoint=c.endpoint,
        name=c.name,
        passed=c.passed,
        failed=c.failed,
        pass_rate=round(c.pass_rate, 6),
        soft=c.soft,
    )
    if c.scenario:
        out.scenario = c.scenario
    return out


def _flow_struct(f: FlowResult) -> fmt.FlowReport:
    s = f.stats
    out = fmt.FlowReport(
        name=f.name,
        iterations=s.iterations,
        failed_iterations=s.failed,
        failure_rate=round(s.failure_rate, 6),
        iterations_per_s=_r(s.rate),
        iteration_duration_ms=_latency_struct(s.duration),
    )
    if s.service is not None:
        out.service_duration_ms = _latency_struct(s.service)
    if f.scenario:
        out.scenario = f.scenario
    return out


def _named_hist(name: str, h: Histogram, scenario: str = "") -> fmt.NamedHistogramReport:
    out = fmt.NamedHistogramReport(
        name=name, count=h.total, sum_us=h.sum_us, buckets=_pairs(h.to_sparse())
    )
    if scenario:
        out.scenario = scenario
    return out


def _flows_from(report: fmt.Report) -> list[FlowResult]:
    """Journeys: each flow's iterations, durations from its histogram when there is one."""
    if report.flows is msgspec.UNSET:
        return []
    hists = report.histograms
    by_name: dict[tuple[str, str], fmt.NamedHistogramReport] = {}
    svc_by_name: dict[tuple[str, str], fmt.NamedHistogramReport] = {}
    if hists is not None:
        if hists.flows is not msgspec.UNSET:
            by_name = {(_part(h.scenario), h.name): h for h in hists.flows}
        if hists.service_flows is not msgspec.UNSET:
            svc_by_name = {(_part(h.scenario), h.name): h for h in hists.service_flows}
    out = []
    for f in report.flows:
        part = _part(f.scenario)
        h = _hist_from(by_name.get((part, f.name))) or Histogram()
        sh = _hist_from(svc_by_name.get((part, f.name)))
        given_svc = None if f.service_duration_ms is msgspec.UNSET else f.service_duration_ms
        service = None
        if sh is not None or given_svc is not None:
            service = _latency_of(given_svc, sh)
        stats = FlowStats(
            iterations=f.iterations,
            failed=f.failed_iterations,
            rate=f.iterations_per_s,
            duration=_latency_of(f.iteration_duration_ms, h),
            service=service,
        )
        out.append(
            FlowResult(name=f.name, stats=stats, histogram=h, service_histogram=sh, scenario=part)
        )
    return out


def _part(value: str | msgspec.UnsetType) -> str:
    """A row's ``[[scenarios]]`` entry as a report writes it ("" when it has none)."""
    return value if isinstance(value, str) else ""


def _point_struct(p: TimelinePoint) -> fmt.TimelinePointReport:
    out = fmt.TimelinePointReport(
        t=p.t,
        rps=p.requests,
        users=p.users,
        p50_ms=_r(p.p50_ms),
        p95_ms=_r(p.p95_ms),
        p99_ms=_r(p.p99_ms),
        errors=p.failures,
        paused=p.paused,
    )
    if p.target is not None:
        out.target = _r(p.target)
    if p.service_p99_ms is not None:
        out.service_p99_ms = _r(p.service_p99_ms)
        out.dropped = p.dropped
    if p.warmup:
        out.warmup = True
    return out


def timeline_row(p: TimelinePoint) -> dict[str, Any]:
    """One second as the report's ``timeline`` writes it (the stream's lines start so)."""
    return msgspec.to_builtins(_point_struct(p))


def warmup_section(
    *,
    duration_s: float,
    planned_s: float | None,
    summary: Stats,
    endpoints: list[tuple[str, str, Stats]],
    errors: list[ErrorRow],
    timeline: list[TimelinePoint],
) -> dict[str, Any]:
    """The report's ``warmup`` section: the warm-up's own figures, kept apart from the run's."""
    return msgspec.to_builtins(
        fmt.WarmupReport(
            duration_s=round(duration_s, 3),
            planned_s=planned_s,
            summary=_summary_struct(summary),
            endpoints=[
                _endpoint_struct(EndpointResult(m, n, st, Histogram())) for m, n, st in endpoints
            ],
            errors=[_error_struct(e) for e in errors],
            timeline=[_point_struct(p) for p in timeline],
        )
    )


def _hist_struct(h: Histogram) -> fmt.HistogramReport:
    return fmt.HistogramReport(count=h.total, sum_us=h.sum_us, buckets=_pairs(h.to_sparse()))


def _endpoint_hist(
    method: str, name: str, h: Histogram, scenario: str = ""
) -> fmt.EndpointHistogramReport:
    out = fmt.EndpointHistogramReport(
        method=method, name=name, count=h.total, sum_us=h.sum_us, buckets=_pairs(h.to_sparse())
    )
    if scenario:
        out.scenario = scenario
    return out


def _pairs(sparse: list) -> fmt.Sparse:
    return [(int(i), int(c)) for i, c in sparse]


def _pairs_list(seconds: list[list[list[int]]]) -> list[fmt.Sparse]:
    return [_pairs(sec) for sec in seconds]


def _pairs_lists(seconds: list[fmt.Sparse]) -> list[list[list[int]]]:
    return [[[i, c] for i, c in sec] for sec in seconds]


def _hist_from(
    d: fmt.HistogramReport | fmt.EndpointHistogramReport | fmt.NamedHistogramReport | None,
) -> Histogram | None:
    if d is None:
        return None
    return Histogram.from_sparse([[i, c] for i, c in d.buckets], d.sum_us)


# A worker's clock further off ours than this is a warning: its deltas are keyed by
# wall-clock second, so an offset shifts its seconds (the handshake corrects the start).
CLOCK_WARN_S = 0.05


def environment(workers: int) -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "workers": workers,
    }


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
