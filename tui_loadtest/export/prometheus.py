"""``--prometheus ADDR``: the run's figures on ``/metrics``, in Prometheus' text format.

``prometheus_client``'s WSGI app serves it from threads of their own (one per
scrape); each scrape reads a copy of the :class:`~tui_loadtest.export.totals.RunTotals`,
taken under their lock, so a scraper, however slow, never touches the merge thread.
A scrape counts once its answer is written, so that the end of a run can wait for
one that read the final figures and reached Prometheus.
The endpoint binds before any load: a taken port is one line and exit 2. It
listens on loopback unless the user allows another address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ..errors import UserError, os_reason
from .buckets import EDGES_S, cumulative

if TYPE_CHECKING:
    from .totals import RunTotals, View

DEFAULT_PORT = 9646
LINGER_MAX_S = 15.0  # the longest wait for Prometheus' last scrape once the run is over
_LE = [floatToGoString(s) for s in EDGES_S] + ["+Inf"]


def parse_address(text: str, *, allow_remote: bool, flag: str = "--prometheus") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (loopback), ``[::1]:PORT``; another address
    than loopback only with ``allow_remote``. One line (UserError) otherwise."""
    value = text.strip()
    host, port_text = "127.0.0.1", value
    if value.startswith("["):
        inside, _, rest = value[1:].partition("]")
        host, port_text = inside, rest.removeprefix(":")
    elif ":" in value:
        host, _, port_text = value.rpartition(":")
        host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise UserError(f"{flag}: expected HOST:PORT, like 127.0.0.1:{DEFAULT_PORT}, got {text!r}")
    if not allow_remote and not is_loopback(host):
        raise UserError(
            f"{flag} {text}: {host} is not a loopback address, so the metrics would be open to"
            " the network; pass --prometheus-allow-remote (or prometheus_allow_remote = true"
            " in [export]) to serve them there"
        )
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


class PrometheusEndpoint:
    """The ``/metrics`` endpoint for the whole command (every run of a ``--repeat``)."""

    def __init__(self, host: str, port: int) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._collector = _RunCollector()
        self._registry.register(self._collector)
        ProcessCollector(registry=self._registry)  # the coordinator's own CPU and memory
        app = _counting(make_wsgi_app(self._registry), self._collector)
        server_class = _Server6 if ":" in host else ThreadingWSGIServer
        try:
            self._server = make_server(host, port, app, server_class, handler_class=_Quiet)
        except OSError as exc:
            where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
            why = "the port is taken" if exc.errno == 98 else os_reason(exc)
            raise UserError(f"--prometheus {where}: cannot listen: {why}") from None
        bound_host, bound_port = self._server.server_address[:2]
        self.port = int(bound_port)
        name = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        shown = f"[{name}]" if ":" in name else name
        self.url = f"http://{shown}:{self.port}/metrics"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="prometheus", daemon=True
        )
        self._thread.start()

    def attach(self, totals: RunTotals) -> None:
        self._collector.totals = totals
        self._collector.scraped.new_run()

    @property
    def scrapes(self) -> int:
        return self._collector.scrapes

    def close(self, note: Callable[[str], None] | None = None) -> None:
        """Wait (a little) for Prometheus' last scrape, then stop serving.

        Only when something scraped during the run: its last scrape then sees the final
        figures. It waits for one more scrape, at most 1.5 scrape intervals (as seen)
        and :data:`LINGER_MAX_S`; Ctrl+C cuts it short."""
        c = self._collector
        if c.interval_s is not None and c.totals is not None and c.totals.done:
            wait = min(LINGER_MAX_S, 1.5 * c.interval_s)
            if note is not None:
                note(f"waiting up to {wait:.0f} s for Prometheus' last scrape of {self.url}")
            with contextlib.suppress(KeyboardInterrupt):
                c.scraped.wait_for_final(wait)
        self._server.shutdown()
        self._server.server_close()


class _Quiet(WSGIRequestHandler):
    """No line on stderr per scrape; a scraper silent for 30 s loses its thread."""

    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _Scrapes:
    """How many scrapes were answered, and how many of them read a finished run's
    figures: the end of a run waits for one of those."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.count = 0
        self.final = 0

    def one(self, final: bool) -> None:
        with self._cond:
            self.count += 1
            self.final += final
            self._cond.notify_all()

    def new_run(self) -> None:
        with self._cond:
            self.final = 0

    def wait_for_final(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.final > 0, timeout_s)


def _counting(app: Callable[..., Iterable[bytes]], collector: _RunCollector) -> Callable[..., Any]:
    """The WSGI app, counting each scrape once the server has written its answer (when
    it closes the body), as final when its figures were read after the run's end."""

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        totals = collector.totals
        final = totals is not None and totals.done  # read before the figures are
        return _Closing(app(environ, start_response), lambda: collector.scraped.one(final))

    return counted


class _Closing:
    """A WSGI body that calls ``then`` when the server is done writing it."""

    def __init__(self, body: Iterable[bytes], then: Callable[[], None]) -> None:
        self._body, self._then = body, then

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._then()


class _RunCollector(Collector):
    def __init__(self) -> None:
        self.totals: RunTotals | None = None
        self.scraped = _Scrapes()
        self._last: float | None = None
        self.interval_s: float | None = None  # between the last two scrapes

    @property
    def scrapes(self) -> int:
        return self.scraped.count

    def collect(self) -> Iterator[Metric]:
        now = time.monotonic()
        if self._last is not None:
            self.interval_s = now - self._last
        self._last = now
        totals = self.totals
        if totals is not None:
            yield from families(totals.view())


def families(v: View) -> Iterator[Metric]:
    """Every metric of one run (docs/metrics-out.md lists them)."""
    run = [v.run_id, v.scenario]
    run_labels = ["run_id", "scenario"]
    ep_labels = [*run_labels, "endpoint", "method"]

    info = GaugeMetricFamily(
        "tui_loadtest_run_info",
        "The run: its id, scenario and load model (always 1).",
        labels=[*run_labels, "mode"],
    )
    info.add_metric([*run, v.mode], 1)
    yield info
    yield _gauge(
        "tui_loadtest_run_start_time_seconds",
        "When the run started (Unix time).",
        run_labels,
        run,
        v.started_unix,
    )
    yield _gauge(
        "tui_loadtest_run_done", "1 once the run has ended.", run_labels, run, float(v.done)
    )
    yield _gauge(
        "tui_loadtest_users",
        "Users running now (open model: requests in flight).",
        run_labels,
        run,
        v.users,
    )
    yield _gauge(
        "tui_loadtest_users_planned",
        "The users the run asks for now (closed model).",
        run_labels,
        run,
        v.users_planned,
    )

    requests = CounterMetricFamily(
        "tui_loadtest_requests",
        "Requests that ended, by status class (none: no response: timeout, refused, reset).",
        labels=[*ep_labels, "status_class"],
    )
    failures = CounterMetricFamily(
        "tui_loadtest_failures",
        "Requests that failed (a failing status, or no response).",
        labels=ep_labels,
    )
    errors = CounterMetricFamily(
        "tui_loadtest_errors",
        "Failures by kind, as the report's errors table counts them.",
        labels=[*ep_labels, "kind"],
    )
    latency = HistogramMetricFamily(
        "tui_loadtest_request_duration_seconds",
        "Response time; each le is an edge of the run's own histogram: exact counts.",
        labels=ep_labels,
    )
    for ep in v.endpoints:
        labels = [*run, ep.name, ep.method]
        for cls, n in sorted(ep.requests.items()):
            requests.add_metric([*labels, cls], n)
        failures.add_metric(labels, ep.failures)
        for kind, n in sorted(ep.errors.items()):
            errors.add_metric([*labels, kind], n)
        latency.add_metric(
            labels, list(zip(_LE, cumulative(ep.slots), strict=True)), ep.sum_us / 1e6
        )
    yield requests
    yield failures
    yield errors
    yield latency

    received = CounterMetricFamily(
        "tui_loadtest_received_bytes", "Response bytes received.", labels=run_labels
    )
    received.add_metric(run, v.bytes_received)
    yield received
    sent = CounterMetricFamily("tui_loadtest_sent_bytes", "Request bytes sent.", labels=run_labels)
    sent.add_metric(run, v.bytes_sent)
    yield sent

    if v.flows:
        iterations = CounterMetricFamily(
            "tui_loadtest_flow_iterations",
            "Flow (script task) iterations that ended.",
            labels=[*run_labels, "flow"],
        )
        failed = CounterMetricFamily(
            "tui_loadtest_flow_iterations_failed",
            "Iterations with a failed step, or that raised.",
            labels=[*run_labels, "flow"],
        )
        for name, n, bad in v.flows:
            iterations.add_metric([*run, name], n)
            failed.add_metric([*run, name], bad)
        yield iterations
        yield failed

    if v.mode == "arrival-rate":
        yield _gauge(
            "tui_loadtest_arrival_rate",
            "The arrival rate asked for now (requests/s).",
            run_labels,
            run,
            v.rate_target or 0.0,
        )
        dropped = CounterMetricFamily(
            "tui_loadtest_arrivals_dropped",
            "Arrivals dropped: every connection busy, queue full.",
            labels=run_labels,
        )
        dropped.add_metric(run, v.dropped)
        yield dropped

    cpu = GaugeMetricFamily(
        "tui_loadtest_generator_cpu_percent",
        "Each worker process's CPU over the last second, % of one core.",
        labels=[*run_labels, "worker"],
    )
    for worker, pct in sorted(v.cpu.items()):
        cpu.add_metric([*run, str(worker)], pct)
    yield cpu
    lag = HistogramMetricFamily(
        "tui_loadtest_generator_loop_lag_seconds",
        "How late the workers' event loops ran (25 ms heartbeats, time-weighted).",
        labels=run_labels,
    )
    lag.add_metric(run, list(zip(_LE, cumulative(v.loop_slots), strict=True)), v.loop_sum_us / 1e6)
    yield lag


def _gauge(name: str, doc: str, labels: list[str], values: list[str], value: float) -> Metric:
    g = GaugeMetricFamily(name, doc, labels=labels)
    g.add_metric(values, value)
    return g
