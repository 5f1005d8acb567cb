"""The result of a run: one model behind the JSON report, the store, the text
report and comparisons. It keeps the merged histograms, so every figure can be
recomputed exactly from what a report file holds.

The engine builds it (``Run.result()``); nothing here knows the engine.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .. import __version__
from .histogram import NBUCKETS, SUB_BITS, Histogram
from .model import ErrorRow, FlowStats, Latency, Stats, TimelinePoint
from .resources import ResourceSeries

REPORT_FORMAT = 1
HISTOGRAM_SCHEME = {
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


@dataclass
class FlowResult:
    """One flow (or script task): its iterations and their duration histogram."""

    name: str
    stats: FlowStats
    histogram: Histogram  # from the intended start in the open model
    service_histogram: Histogram | None = None  # open model: from the first send


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

    def flow(self, name: str) -> FlowResult | None:
        for f in self.flows:
            if f.name == name:
                return f
        return None

    def endpoint(self, name: str) -> EndpointResult | None:
        for e in self.endpoints:
            if e.name == name:
                return e
        return None

    # -- the JSON report ------------------------------------------------------
    def to_report(self) -> dict[str, Any]:
        summary = self.summary.to_dict()
        histograms: dict[str, Any] = {
            **HISTOGRAM_SCHEME,
            "total": _hist_dict(self.histogram),
            "endpoints": [
                {"method": e.method, "name": e.name, **_hist_dict(e.histogram)}
                for e in self.endpoints
            ],
            "per_second": self.per_second,
        }
        if self.service_histogram is not None:
            lag = self.lag
            summary["lag_ms"] = lag.to_dict() if lag is not None else None
            histograms["latency"] = "corrected: from each request's intended start"
            histograms["service_total"] = _hist_dict(self.service_histogram)
            histograms["service_endpoints"] = [
                {
                    "method": e.method,
                    "name": e.name,
                    **_hist_dict(e.service_histogram or Histogram()),
                }
                for e in self.endpoints
            ]
            histograms["per_second_service"] = self.per_second_service
            histograms["lag"] = _hist_dict(self.lag_histogram or Histogram())
        flows: dict[str, Any] = {}
        if self.flows:
            flows["flows"] = [{"name": f.name, **f.stats.to_dict()} for f in self.flows]
            histograms["flows"] = [{"name": f.name, **_hist_dict(f.histogram)} for f in self.flows]
            if self.service_histogram is not None:
                histograms["service_flows"] = [
                    {"name": f.name, **_hist_dict(f.service_histogram or Histogram())}
                    for f in self.flows
                ]
        return {
            "tool": self.tool,
            "version": self.version,
            "format": REPORT_FORMAT,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "host": self.host,
            "scenario_name": self.scenario_name,
            "load": self.load,
            "environment": self.environment,
            "outcome": self.outcome,
            **({"generator": self.generator} if self.generator else {}),
            "scenario": self.scenario,
            "summary": summary,
            "endpoints": [
                {"method": e.method, "name": e.name, **e.stats.to_dict()} for e in self.endpoints
            ],
            **flows,
            **self._resources_report(),
            **({"warmup": self.warmup} if self.warmup else {}),
            "errors": [e.to_dict() for e in self.errors],
            "timeline": [p.to_dict() for p in self.timeline],
            "histograms": histograms,
        }

    def _resources_report(self) -> dict[str, Any]:
        if not self.resources and not self.monitor:
            return {}
        return {
            "resources": {
                **self.monitor,
                "series": [s.to_dict() for s in self.resources],
            }
        }

    @classmethod
    def from_report(cls, data: dict[str, Any]) -> RunResult:
        """Rebuild a result from a report; percentiles come from the stored histograms."""
        hists = data.get("histograms") or {}
        duration = float(data.get("duration_s", 0.0))
        if hists and hists.get("buckets", NBUCKETS) != NBUCKETS:
            raise ValueError("histograms use a different bucket layout")

        def latency_of(d: dict, key: str, h: Histogram | None) -> Latency:
            if h is not None and h.total:
                return Latency.from_histogram(h)
            return Latency.from_dict(d.get(key) or {})

        def stats_of(d: dict, h: Histogram | None, sh: Histogram | None = None) -> Stats:
            service = None
            if sh is not None or d.get("service_latency_ms") is not None:
                service = latency_of(d, "service_latency_ms", sh)
            return Stats(
                requests=int(d.get("requests", 0)),
                failures=int(d.get("failures", 0)),
                rps=float(d.get("rps", 0.0)),
                bytes_received=int(d.get("bytes_received", 0)),
                bytes_sent=int(d.get("bytes_sent", 0)),
                statuses=tuple(
                    sorted((int(s), int(n)) for s, n in (d.get("status_codes") or {}).items())
                ),
                latency=latency_of(d, "latency_ms", h),
                service=service,
                dropped=int(d.get("dropped", 0)),
            )

        total_h = _hist_from(hists.get("total"))
        service_h = _hist_from(hists.get("service_total"))
        ep_hists = {(h.get("method"), h.get("name")): h for h in hists.get("endpoints", [])}
        svc_hists = {
            (h.get("method"), h.get("name")): h for h in hists.get("service_endpoints", [])
        }
        endpoints = []
        for e in data.get("endpoints", []):
            key = (e.get("method"), e.get("name"))
            h = _hist_from(ep_hists.get(key))
            sh = _hist_from(svc_hists.get(key))
            endpoints.append(
                EndpointResult(
                    e.get("method", ""), e.get("name", ""), stats_of(e, h, sh), h or Histogram(), sh
                )
            )
        flow_hists = {h.get("name"): h for h in hists.get("flows", [])}
        flow_svc = {h.get("name"): h for h in hists.get("service_flows", [])}
        flows = []
        for f in data.get("flows", []):
            h = _hist_from(flow_hists.get(f.get("name"))) or Histogram()
            sh = _hist_from(flow_svc.get(f.get("name")))
            service = None
            if sh is not None or f.get("service_duration_ms") is not None:
                service = latency_of(f, "service_duration_ms", sh)
            flows.append(
                FlowResult(
                    name=f.get("name", ""),
                    stats=FlowStats(
                        iterations=int(f.get("iterations", 0)),
                        failed=int(f.get("failed_iterations", 0)),
                        rate=float(f.get("iterations_per_s", 0.0)),
                        duration=latency_of(f, "iteration_duration_ms", h),
                        service=service,
                    ),
                    histogram=h,
                    service_histogram=sh,
                )
            )
        errors = [
            ErrorRow(
                kind=e.get("kind", "other"),
                status=e.get("status"),
                endpoint=e.get("endpoint", ""),
                method=e.get("method", ""),
                count=int(e.get("count", 0)),
                message=e.get("message", ""),
                first_seen_s=_opt_float(e.get("first_seen_s")),
                last_seen_s=_opt_float(e.get("last_seen_s")),
            )
            for e in data.get("errors", [])
        ]
        timeline = [
            TimelinePoint(
                t=int(p.get("t", i)),
                requests=int(p.get("rps", 0)),
                failures=int(p.get("errors", 0)),
                users=int(p.get("users", 0)),
                p50_ms=float(p.get("p50_ms", 0.0)),
                p95_ms=float(p.get("p95_ms", 0.0)),
                p99_ms=float(p.get("p99_ms", 0.0)),
                paused=bool(p.get("paused", False)),
                target=p.get("target"),
                service_p99_ms=p.get("service_p99_ms"),
                dropped=int(p.get("dropped", 0)),
                warmup=bool(p.get("warmup", False)),
            )
            for i, p in enumerate(data.get("timeline", []))
        ]
        return cls(
            started_at=data.get("started_at", ""),
            duration_s=duration,
            host=data.get("host", ""),
            scenario_name=data.get("scenario_name") or (data.get("scenario") or {}).get("name", ""),
            load=dict(data.get("load", {})),
            scenario=dict(data.get("scenario", {})),
            summary=stats_of(data.get("summary", {}), total_h, service_h),
            histogram=total_h or Histogram(),
            endpoints=endpoints,
            errors=errors,
            timeline=timeline,
            per_second=list(hists.get("per_second", [])),
            service_histogram=service_h,
            per_second_service=list(hists.get("per_second_service", [])),
            lag_histogram=_hist_from(hists.get("lag")),
            outcome=dict(data.get("outcome", {})),
            generator=dict(data.get("generator") or {}),
            environment=dict(data.get("environment", {})),
            flows=flows,
            resources=[
                ResourceSeries.from_dict(d) for d in (data.get("resources") or {}).get("series", [])
            ],
            monitor={k: v for k, v in (data.get("resources") or {}).items() if k != "series"},
            warmup=dict(data.get("warmup") or {}),
            tool=data.get("tool", "tui-loadtest"),
            version=data.get("version", ""),
        )


def service_view(result: RunResult) -> RunResult:
    """An open-model result seen through its service time (from the moment each
    request was sent), which is what a closed-model run measures; closed-model
    results are returned as they are."""
    if result.service_histogram is None:
        return result
    endpoints = [
        replace(
            e,
            stats=replace(e.stats, latency=e.stats.service or e.stats.latency),
            histogram=e.service_histogram or e.histogram,
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
        summary=replace(result.summary, latency=result.summary.service or result.summary.latency),
        histogram=result.service_histogram,
        endpoints=endpoints,
        flows=flows,
        per_second=result.per_second_service or result.per_second,
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _hist_dict(h: Histogram) -> dict[str, Any]:
    return {"count": h.total, "sum_us": h.sum_us, "buckets": h.to_sparse()}


def _hist_from(d: dict | None) -> Histogram | None:
    if not d:
        return None
    return Histogram.from_sparse(d.get("buckets", []), int(d.get("sum_us", 0)))


def environment(workers: int) -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "workers": workers,
    }


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
