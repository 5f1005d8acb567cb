"""Is the load generator itself the bottleneck? Its processes' CPU, second by second.

A worker runs one event loop on one core: near 100 % of that core, responses wait
in its sockets before it reads them, so latencies grow and throughput flattens
although the target is fine. Each worker reports the CPU its process used with
every second's delta (so remote workers measure themselves); the coordinator
samples its own process here. Past :data:`SATURATED_PCT` for
:data:`SATURATED_S` seconds in a row the run is marked saturated (Locust warns
at 90 % too), with a warning event, a badge and a sentence in the report.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import psutil

from ..stats.resources import ResourceSeries

_V = TypeVar("_V", int, float)

SATURATED_PCT = 90.0  # % of one core
SATURATED_S = 3  # seconds in a row


class GeneratorWatch:
    """The generator's CPU series and the first time it was saturated."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._mark = (time.monotonic(), self._cpu())
        self.coordinator: list[float] = []  # % of one core, one per complete second
        self.saturated_at_s: float | None = None
        self.saturated_by = ""  # "worker 0" or "the coordinator"
        self.saturated_pct = 0.0
        self._series_key: tuple[int, int] = (0, 0)
        self._series: tuple[ResourceSeries, ...] = ()

    def _cpu(self) -> float:
        t = self._proc.cpu_times()
        return t.user + t.system

    def sample_coordinator(self, seconds: int) -> None:
        """Record this process's CPU since the last call, for ``seconds`` new seconds."""
        if seconds <= 0:
            return
        now, cpu = time.monotonic(), self._cpu()
        wall = now - self._mark[0]
        pct = 100 * (cpu - self._mark[1]) / wall if wall > 0 else 0.0
        self._mark = (now, cpu)
        self.coordinator.extend([round(pct, 1)] * seconds)

    def check(self, workers_cpu: list[list[float | None]], elapsed_s: float) -> str | None:
        """A warning the first time a process has been saturated for SATURATED_S seconds."""
        if self.saturated_at_s is not None:
            return None
        found = _saturated(_by_worker(workers_cpu))
        who = f"worker {found[0]}" if found else ""
        if found is None and len(self.coordinator) >= SATURATED_S:
            tail = self.coordinator[-SATURATED_S:]
            if min(tail) >= SATURATED_PCT:
                found, who = (-1, max(tail)), "the coordinator"
        if found is None:
            return None
        self.saturated_at_s = elapsed_s
        self.saturated_by = who
        self.saturated_pct = found[1]
        return (
            f"the generator is saturated: {who} at {found[1]:.0f} % CPU for "
            f"{SATURATED_S} s; latencies and throughput may understate the target "
            "(add --workers, lower the load, or use a bigger machine)"
        )

    def latest(self, workers_cpu: list[list[float | None]]) -> float | None:
        """The busiest worker's CPU over the last complete second."""
        if not workers_cpu:
            return None
        seen = [v for v in workers_cpu[-1] if v is not None]
        return max(seen) if seen else None

    def report(
        self,
        workers_cpu: list[list[float | None]],
        workers_rss: list[list[int | None]] | None = None,
    ) -> dict[str, Any]:
        """The report's ``generator`` section."""
        series = _by_worker(workers_cpu)
        values = [v for s in series for v in s if v is not None] + self.coordinator
        memory: dict[str, Any] = {}
        rss = _by_worker(workers_rss or [])
        if any(v is not None for s in rss for v in s):
            memory = {
                "rss_bytes": {"workers": rss},
                "peak_rss_bytes": max(v for s in rss for v in s if v is not None),
            }
        return {
            "saturated": self.saturated_at_s is not None,
            "saturated_at_s": _round(self.saturated_at_s),
            "saturated_by": self.saturated_by or None,
            "threshold_pct": SATURATED_PCT,
            "peak_cpu_pct": round(max(values), 1) if values else None,
            "cpu_pct": {
                "workers": [[_round(v) for v in s] for s in series],
                "coordinator": list(self.coordinator),
            },
            **memory,
        }

    def series(
        self,
        seconds: list[int],
        workers_cpu: list[list[float | None]],
        workers_rss: list[list[int | None]],
    ) -> tuple[ResourceSeries, ...]:
        """The generator's own CPU and memory per worker (and the coordinator's CPU), for
        the dashboard's resources panel; ``seconds``: the timeline's, one per row.
        Rebuilt only when a second was added (the dashboard reads it several times a second)."""
        key = (len(seconds), len(self.coordinator))
        if key == self._series_key:
            return self._series
        ends = [float(t + 1) for t in seconds]  # a second's figure stands at its end
        wanted: list[tuple[str, str, str, list[Any]]] = []
        for w, (cpu, rss) in enumerate(
            zip(_by_worker(workers_cpu), _by_worker(workers_rss), strict=True)
        ):
            wanted.append((f"generator:worker{w}:cpu_pct", f"generator worker {w} CPU", "%", cpu))
            wanted.append(
                (f"generator:worker{w}:rss_bytes", f"generator worker {w} memory", "bytes", rss)
            )
        wanted.append(("generator:coordinator:cpu_pct", "coordinator CPU", "%", self.coordinator))
        out = []
        for name, label, unit, values in wanted:
            points = tuple(
                (t, float(v)) for t, v in zip(ends, values, strict=False) if v is not None
            )
            if points:
                metric = name.rsplit(":", 1)[-1]
                source = "the generator"
                out.append(ResourceSeries(name, source, metric, label, unit, points=points))
        self._series_key, self._series = key, tuple(out)
        return self._series


def _by_worker(per_second: list[list[_V | None]]) -> list[list[_V | None]]:
    """Per second per worker, turned into one series per worker."""
    if not per_second:
        return []
    return [list(col) for col in zip(*per_second, strict=True)]


def _saturated(series: list[list[float | None]]) -> tuple[int, float] | None:
    """(worker, its highest CPU) for the first worker whose last seconds were all hot."""
    for w, s in enumerate(series):
        tail = s[-SATURATED_S:]
        if len(tail) == SATURATED_S and all(v is not None and v >= SATURATED_PCT for v in tail):
            return w, max(v for v in tail if v is not None)
    return None


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
