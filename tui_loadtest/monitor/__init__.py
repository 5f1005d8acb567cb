"""Watching the target while the load runs: local processes (``--monitor-pid``) and
Prometheus endpoints (``--scrape``, ``[monitor]``).

Each source samples in a thread of its own in the coordinator's process, so a
slow or dead endpoint never delays the run, a merge or another source, and no
worker's load loop ever does monitoring work. A failed scrape is an event, never
a failed request, and never stops the run. Series are kept as points
``(seconds since the run started, value)``; the coordinator puts them in each
Snapshot and in the result.

- ``pid``: a process tree through psutil (CPU %, RSS, threads, open files);
- ``prometheus``: fetch a text-format page, pick series, counters as rates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..scenario import MonitorSpec, redact_query
from ..stats.resources import Point, ResourceSeries
from . import prometheus
from .pid import PID_METRICS, ProcessWatch, check_pid

__all__ = ["Monitor", "check_pid"]

EventSink = Callable[[str, str], None]  # (text, level)
JOIN_S = 3.0  # stop(): how long the last samples may take


class _Series:
    """One series being recorded (mutable; read under the monitor's lock)."""

    def __init__(self, key: str, source: str, metric: str, label: str, unit: str, kind: str):
        self.key, self.source, self.metric = key, source, metric
        self.label, self.unit, self.kind = label, unit, kind
        self.points: list[Point] = []
        self.prev: tuple[float, float] | None = None  # rate: the last (t, counter value)
        self.first_t: float | None = None
        self.increase = 0.0

    def add(self, t: float, value: float) -> None:
        if self.kind == "gauge":
            self.points.append((t, value))
            return
        if self.prev is None:
            self.prev, self.first_t = (t, value), t
            return
        t0, v0 = self.prev
        if t <= t0:
            return
        delta = value - v0 if value >= v0 else value  # a counter that went down was reset
        self.increase += delta
        self.points.append((t, delta / (t - t0)))
        self.prev = (t, value)

    def frozen(self) -> ResourceSeries:
        rate = self.kind == "rate"
        span = (
            (self.prev[0] - self.first_t)
            if rate and self.prev and self.first_t is not None
            else 0.0
        )
        return ResourceSeries(
            key=self.key,
            source=self.source,
            metric=self.metric,
            label=self.label,
            unit=self.unit,
            kind=self.kind,
            points=tuple(self.points),
            increase=self.increase if rate else None,
            span_s=span,
        )


class _Source:
    """A thing sampled every ``interval`` seconds; ``sample`` returns (key, value) pairs."""

    interval = 1.0
    name = ""

    def sample(self, monitor: Monitor, t: float, now: float) -> None:
        raise NotImplementedError


class _PidSource(_Source):
    def __init__(self, pid: int) -> None:
        self.watch = ProcessWatch(pid)
        self.name = f"pid {pid} ({self.watch.name})"
        self.gone = False

    def sample(self, monitor: Monitor, t: float, now: float) -> None:
        if self.gone:
            return
        figures = self.watch.sample(now)
        if figures is None:
            self.gone = True
            monitor.event(f"monitored process {self.name} has exited", "warning")
            return
        pid = self.watch.pid
        for metric, unit, label in PID_METRICS:
            if metric in figures:
                key = f"pid:{pid}:{metric}"
                series = monitor.series_for(
                    key, self.name, metric, f"{self.watch.name} {pid} {label}", unit, "gauge"
                )
                monitor.add(series, t, figures[metric])


class _ScrapeSource(_Source):
    def __init__(self, url: str, spec: MonitorSpec, several: bool) -> None:
        self.url = url
        self.shown = redact_query(url)
        self.name = self.shown
        self.interval = spec.scrape_interval_s
        self.selectors = spec.metrics
        self.suffix = f"@{urlsplit(url).netloc}" if several else ""
        self.failing = False
        self.failures = 0
        self.scrapes = 0
        self.known: set[str] = set()
        self.capped_said = False

    def sample(self, monitor: Monitor, t: float, now: float) -> None:
        self.scrapes += 1
        try:
            text = prometheus.fetch(self.url, timeout=max(0.5, min(5.0, self.interval)))
            samples = prometheus.parse(text, self.selectors)
        except Exception as exc:  # noqa: BLE001 - any failure is an event, never the run's end
            self.failures += 1
            if not self.failing:
                self.failing = True
                monitor.event(
                    f"scrape {self.shown} failed: {_why(exc)}; retrying every "
                    f"{self.interval:g} s (not a failed request)",
                    "warning",
                )
            return
        if self.failing:
            self.failing = False
            monitor.event(f"scrape {self.shown} answers again")
        if not self.known and not samples:
            monitor.event(
                f"scrape {self.shown}: no series"
                + (" matched [monitor] metrics" if self.selectors else " on the page"),
                "warning",
            )
        samples, left_out = prometheus.cap(samples, self.known)
        if left_out and not self.capped_said:
            self.capped_said = True
            monitor.event(
                f"scrape {self.shown}: kept {len(samples)} series, left {left_out} out "
                "(pick them with [monitor] metrics)",
                "warning",
            )
        for s in samples:
            self.known.add(s.key)
            kind, unit = ("rate", "/s") if s.counter else ("gauge", _unit(s.name))
            series = monitor.series_for(
                f"scrape:{s.key}{self.suffix}", self.shown, s.name, s.key, unit, kind
            )
            monitor.add(series, t, s.value)


def _unit(name: str) -> str:
    """A gauge's unit from Prometheus's naming conventions (``_bytes``, ``_ratio``)."""
    if name.endswith("_bytes"):
        return "bytes"
    return ""


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # urllib.error.URLError wraps the socket error
    if reason is not None and not isinstance(reason, str):
        exc = reason
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return " ".join(text.split())[:200]


class Monitor:
    """Every source of a :class:`MonitorSpec`, each sampled in its own thread."""

    def __init__(
        self, spec: MonitorSpec, host: str = "", on_event: EventSink | None = None
    ) -> None:
        """``host``: the target's origin, for scrape URLs given as a path ("/metrics")."""
        self.spec = spec
        self._on_event = on_event
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self._version = 0
        self._frozen: tuple[int, tuple[ResourceSeries, ...]] = (0, ())
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._origin = 0.0
        several = len(spec.scrape) > 1
        self.sources: list[_Source] = [_PidSource(pid) for pid in spec.pids]
        self.sources += [
            _ScrapeSource(host.rstrip("/") + url if url.startswith("/") else url, spec, several)
            for url in spec.scrape
        ]

    # -- recording (from the source threads) ----------------------------------
    def event(self, text: str, level: str = "info") -> None:
        if self._on_event is not None:
            self._on_event(text, level)

    def series_for(
        self, key: str, source: str, metric: str, label: str, unit: str, kind: str
    ) -> _Series:
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(key, source, metric, label, unit, kind)
            return series

    def add(self, series: _Series, t: float, value: float) -> None:
        with self._lock:
            series.add(t, value)
            self._version += 1

    # -- lifecycle --------------------------------------------------------------
    def start(self, origin: float) -> None:
        """Sample from now on; ``origin`` (monotonic) is the run's second 0."""
        self._origin = origin
        for source in self.sources:
            thread = threading.Thread(
                target=self._run, args=(source,), name=f"tui-loadtest-monitor {source.name}",
                daemon=True,
            )  # fmt: skip
            self._threads.append(thread)
            thread.start()

    def stop(self, wait_s: float = JOIN_S) -> None:
        """Take the last samples (the load has ended) and end the threads; idempotent."""
        self._stop.set()
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, source: _Source) -> None:
        next_at = time.monotonic()
        while True:
            self._sample(source)
            next_at += source.interval
            now = time.monotonic()
            if next_at < now:  # a slow sample: skip the missed turns, keep the cadence
                next_at = now + source.interval - (now - next_at) % source.interval
            if self._stop.wait(next_at - now):
                break
        self._sample(source)  # the last one, after the load: counters' final increase

    def _sample(self, source: _Source) -> None:
        now = time.monotonic()
        try:
            source.sample(self, now - self._origin, now)
        except Exception as exc:  # noqa: BLE001 - monitoring never ends the run
            self.event(f"monitor {source.name}: {type(exc).__name__}: {exc}", "warning")

    # -- reading ------------------------------------------------------------------
    def series(self) -> tuple[ResourceSeries, ...]:
        """Every series so far (cached between samples: the dashboard reads it often)."""
        with self._lock:
            version, frozen = self._frozen
            if version != self._version:
                frozen = tuple(s.frozen() for s in self._series.values())
                self._frozen = (self._version, frozen)
            return frozen

    def report(self) -> dict[str, Any]:
        """What was watched and how it went (the report's ``resources.sources``)."""
        sources: list[dict[str, Any]] = []
        for source in self.sources:
            if isinstance(source, _ScrapeSource):
                sources.append(
                    {
                        "kind": "scrape",
                        "url": source.shown,
                        "interval_s": source.interval,
                        "scrapes": source.scrapes,
                        "failures": source.failures,
                    }
                )
            elif isinstance(source, _PidSource):
                sources.append(
                    {
                        "kind": "pid",
                        "pid": source.watch.pid,
                        "name": source.watch.name,
                        "exited": source.gone,
                    }
                )
        return {"sources": sources}
