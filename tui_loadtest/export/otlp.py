"""``--otlp URL``: the run's figures as OpenTelemetry metrics over OTLP/HTTP.

Every ``interval_s`` (5 s by default) a thread of its own reads a copy of the
:class:`~tui_loadtest.export.totals.RunTotals` and sends it with the OpenTelemetry
SDK's OTLP/HTTP exporter, as cumulative sums, gauges and explicit-bucket
histograms whose bounds are our histogram's own edges (exact counts). The names are
the Prometheus endpoint's, without its suffixes; the attributes follow
OpenTelemetry's semantic conventions where they exist (``http.request.method``,
``http.response.status_code``, ``error.type``).

Only this module imports OpenTelemetry (the ``otel`` extra), and only a run asked
to export over OTLP imports this module (an ImportError: the extra is missing). A
collector that refuses, answers with an error or hangs costs one warning event (and
one more when it answers again); an export waits at most its timeout, in this
thread, never in the run's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from .. import __version__
from ..errors import UserError
from .buckets import EDGES_S

if TYPE_CHECKING:
    from .totals import RunTotals, View


def metrics_url(url: str) -> str:
    """The OTLP/HTTP metrics URL: a base URL gains ``/v1/metrics``; one line if not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--otlp: expected an http(s) URL like http://127.0.0.1:4318, got {url!r}")
    if parts.path in ("", "/"):
        return parts._replace(path="/v1/metrics").geturl()
    return parts.geturl()


class _LastMessage(logging.Handler):
    """The exporter's own log lines kept, not printed (they would tear the dashboard):
    the last one says why an export failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


class OtlpExporter:
    """Sends one run's totals every ``interval_s``; see the module docstring."""

    def __init__(self, url: str, interval_s: float = 5.0) -> None:
        self.url = metrics_url(url)
        self.interval_s = interval_s
        self._log = _LastMessage()
        otel_log = logging.getLogger("opentelemetry")
        otel_log.addHandler(self._log)
        otel_log.propagate = False
        # each export (with the exporter's own retries) gives up after this long
        self._timeout_s = min(10.0, max(1.0, interval_s))
        self._exporter = OTLPMetricExporter(endpoint=self.url, timeout=self._timeout_s)
        self._totals: RunTotals | None = None
        self._warn: Callable[[str], None] = lambda _: None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.exports = 0  # exports the collector took
        self.failures = 0

    def attach(self, totals: RunTotals, warn: Callable[[str], None]) -> None:
        """Export this run from now on (a new thread per run, the last one's done)."""
        self._totals, self._warn = totals, warn
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(totals, self._wake), name="tui-loadtest-otlp", daemon=True
        )
        self._thread.start()

    def _main(self, totals: RunTotals, wake: threading.Event) -> None:
        while not wake.wait(self.interval_s):
            self._send(totals, self._timeout_s)

    def _send(self, totals: RunTotals, timeout_s: float) -> bool:
        data = metrics_data(totals.view())
        try:
            ok = self._exporter.export(data, timeout_millis=timeout_s * 1000)
        except Exception as exc:  # noqa: BLE001 - whatever the transport raised: an event
            self._log.last, ok = f"{type(exc).__name__}: {exc}", MetricExportResult.FAILURE
        if ok == MetricExportResult.SUCCESS:
            self.exports += 1
            if self._failing:
                self._failing = False
                self._warn(f"OTLP export to {self.url} works again")
            return True
        self.failures += 1
        if not self._failing:
            self._failing = True
            why = self._log.last or "no answer"
            self._warn(
                f"OTLP export to {self.url} failed ({why}); trying again every"
                f" {self.interval_s:g} s, the report keeps every figure"
            )
        return False

    def finish_run(self, note: Callable[[str], None]) -> None:
        """After a run: stop its thread, then send its final figures (bounded)."""
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self._timeout_s + 1)
        totals = self._totals
        if totals is None:
            return
        sent = [False]
        last = threading.Thread(
            target=lambda: sent.__setitem__(0, self._send(totals, self._timeout_s)),
            name="tui-loadtest-otlp-final",
            daemon=True,
        )
        last.start()
        last.join(self._timeout_s + 1)
        if not sent[0]:
            why = self._log.last or f"no answer in {self._timeout_s:g} s"
            note(f"OTLP: the run's final figures did not reach {self.url} ({why})")

    def close(self) -> None:
        self._exporter.shutdown(timeout_millis=1000)


def metrics_data(v: View) -> MetricsData:
    """The OTLP request's content for one copy of the totals (cumulative temporality)."""
    start = int(v.started_unix * 1e9)
    now = time.time_ns()
    cumulative = AggregationTemporality.CUMULATIVE
    run = {"run_id": v.run_id, "scenario": v.scenario}

    def point(value: float, **attrs: Any) -> NumberDataPoint:
        return NumberDataPoint(
            attributes={**run, **attrs}, start_time_unix_nano=start, time_unix_nano=now, value=value
        )

    def counter(name: str, unit: str, doc: str, points: list[NumberDataPoint]) -> Metric:
        return Metric(
            name=name,
            description=doc,
            unit=unit,
            data=Sum(data_points=points, aggregation_temporality=cumulative, is_monotonic=True),
        )

    def gauge(name: str, unit: str, doc: str, points: list[NumberDataPoint]) -> Metric:
        return Metric(name=name, description=doc, unit=unit, data=Gauge(data_points=points))

    def histogram(
        attrs: dict[str, Any], slots: list[int], sum_s: float, low: float, high: float
    ) -> HistogramDataPoint:
        return HistogramDataPoint(
            attributes={**run, **attrs},
            start_time_unix_nano=start,
            time_unix_nano=now,
            count=sum(slots),
            sum=sum_s,
            bucket_counts=list(slots),
            explicit_bounds=list(EDGES_S),
            min=low,
            max=high,
        )

    requests, failures, errors, latency = [], [], [], []
    for ep in v.endpoints:
        at = {"endpoint": ep.name, "http.request.method": ep.method}
        for status, n in sorted(ep.statuses.items()):
            requests.append(point(n, **at, **{"http.response.status_code": status}))
        if ep.no_response:
            requests.append(point(ep.no_response, **at, **{"error.type": "no_response"}))
        failures.append(point(ep.failures, **at))
        for kind, n in sorted(ep.errors.items()):
            errors.append(point(n, **at, **{"error.type": kind}))
        latency.append(histogram(at, ep.slots, ep.sum_us / 1e6, ep.min_us / 1e6, ep.max_us / 1e6))
    metrics = [
        gauge("tui_loadtest_run_info", "1", "The run (always 1).", [point(1, mode=v.mode)]),
        gauge("tui_loadtest_run_done", "1", "1 once the run has ended.", [point(int(v.done))]),
        gauge("tui_loadtest_users", "{user}", "Users running now.", [point(v.users)]),
        gauge(
            "tui_loadtest_users_planned",
            "{user}",
            "The users the run asks for now.",
            [point(v.users_planned)],
        ),
        counter("tui_loadtest_requests", "{request}", "Requests that ended.", requests),
        counter("tui_loadtest_failures", "{request}", "Requests that failed.", failures),
        counter("tui_loadtest_errors", "{request}", "Failures by kind.", errors),
        Metric(
            name="tui_loadtest_request_duration",
            description="Response time.",
            unit="s",
            data=Histogram(data_points=latency, aggregation_temporality=cumulative),
        ),
        counter(
            "tui_loadtest_received_bytes",
            "By",
            "Response bytes received.",
            [point(v.bytes_received)],
        ),
        counter("tui_loadtest_sent_bytes", "By", "Request bytes sent.", [point(v.bytes_sent)]),
        gauge(
            "tui_loadtest_generator_cpu_percent",
            "%",
            "Each worker's CPU, % of one core.",
            [point(pct, worker=str(w)) for w, pct in sorted(v.cpu.items())],
        ),
    ]
    if v.flows:
        metrics.append(
            counter(
                "tui_loadtest_flow_iterations",
                "{iteration}",
                "Iterations.",
                [point(n, flow=name) for name, n, _ in v.flows],
            )
        )
        metrics.append(
            counter(
                "tui_loadtest_flow_iterations_failed",
                "{iteration}",
                "Iterations that failed.",
                [point(bad, flow=name) for name, _, bad in v.flows],
            )
        )
    if v.mode == "arrival-rate":
        metrics.append(
            gauge(
                "tui_loadtest_arrival_rate",
                "{request}/s",
                "The rate asked for.",
                [point(v.rate_target or 0.0)],
            )
        )
        metrics.append(
            counter(
                "tui_loadtest_arrivals_dropped",
                "{request}",
                "Arrivals dropped.",
                [point(v.dropped)],
            )
        )
    resource = Resource.create(
        {
            "service.name": "tui-loadtest",
            "service.version": __version__,
            "tui_loadtest.run_id": v.run_id,
        }
    )
    scope = InstrumentationScope("tui_loadtest", __version__)
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=resource,
                scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics, schema_url="")],
                schema_url="",
            )
        ]
    )
