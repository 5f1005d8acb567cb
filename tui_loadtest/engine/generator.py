"""Is the load generator itself the bottleneck? Its processes' CPU, second by second.

A worker runs one event loop on one core: near 100 % of that core, responses wait
in its sockets before it reads them, so latencies grow and throughput flattens
although the target is fine. Each worker reports the CPU its process used with
every second's delta (so remote workers measure themselves); the coordinator
samples its own process here. Past :data:`SATURATED_PCT` for
:data:`SATURATED_S` seconds in a row the run is marked saturated (Locust warns
at 90 % too), with a warning event, a badge and a sentence in the report.

Two more things disturb a generator without showing in its CPU: its event loop
running late (a blocking call in a script, the machine's other work taking the
core; measured in each worker by engine/loop_watch.py and summed up here by
:func:`loop_section`), and the machine being busy (its load average and the CPU
time a hypervisor stole, sampled here once a second). Comparisons read them to
tell a change of the target from a disturbed generator (compare/disturbance.py).
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import psutil

from ..stats.histogram import Histogram
from ..stats.model import Latency
from ..stats.resources import ResourceSeries
from .loop_watch import PERIOD_S, STALL_S, culprit_key

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
        # The machine, once a second: its 1-minute load average, and the share of CPU
        # time stolen by a hypervisor (None where the platform does not say).
        self.load_average: list[float] = []
        self.steal_pct: list[float | None] = []
        self._times = _cpu_times()

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
        self._sample_machine(seconds)

    def _sample_machine(self, seconds: int) -> None:
        try:
            load = psutil.getloadavg()[0]
        except (OSError, AttributeError):
            load = None
        times = _cpu_times()
        steal = None
        if times is not None and self._times is not None:
            total = _total(times) - _total(self._times)
            stolen = getattr(times, "steal", None)
            if stolen is not None and total > 0:
                steal = 100 * max(0.0, stolen - getattr(self._times, "steal", 0.0)) / total
        self._times = times
        if load is not None:
            self.load_average.extend([round(load, 2)] * seconds)
        self.steal_pct.extend([None if steal is None else round(steal, 2)] * seconds)

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
        loop: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The report's ``generator`` section (``loop``: :func:`loop_section`'s)."""
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
            **({"loop": loop} if loop else {}),
            "machine": self.machine(),
        }

    def machine(self) -> dict[str, Any]:
        """The machine over the run: CPUs, load average and steal (mean and max)."""
        steal = [v for v in self.steal_pct if v is not None]
        return {
            "cpus": psutil.cpu_count() or 1,
            "load_average": _mean_max(self.load_average),
            "steal_pct": _mean_max(steal) if steal else None,
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


def loop_section(
    lag: Histogram,
    stalls: list[tuple[int, int, str, float, int]],
    requests: int,
) -> dict[str, Any]:
    """The ``generator.loop`` section: how late the workers' event loops ran (their
    heartbeats' lateness, time-weighted, in ms), and the stalls past STALL_S: how many,
    how long, the requests whose latency holds one, the seconds they fell in, and the
    code that blocked the loop (worst first)."""
    by: dict[str, dict[str, Any]] = {}
    for _tick, worker, culprit, blocked, _n in stalls:
        entry = by.setdefault(
            culprit_key(culprit),
            {"culprit": culprit, "stalls": 0, "blocked_s": 0.0, "workers": []},
        )
        entry["stalls"] += 1
        entry["blocked_s"] += blocked
        if worker not in entry["workers"]:
            entry["workers"].append(worker)
    culprits = sorted(by.values(), key=lambda e: -e["blocked_s"])
    for entry in culprits:
        entry["blocked_s"] = round(entry["blocked_s"], 3)
    stalled = sum(n for *_, n in stalls)
    lat = Latency.from_histogram(lag)
    return {
        "heartbeat_ms": PERIOD_S * 1000,
        "stall_ms": STALL_S * 1000,
        "lag_ms": {k: round(getattr(lat, k), 3) for k in _LATENCY_KEYS} if lag.total else None,
        "stalls": len(stalls),
        "blocked_s": round(sum(b for *_, b, _n in stalls), 3),
        "max_stall_ms": round(max((b for *_, b, _n in stalls), default=0.0) * 1000, 1),
        "stalled_requests": stalled,
        "stalled_share": round(stalled / requests, 6) if requests else 0.0,
        "stalled_seconds": sorted({t for t, *_ in stalls}),
        "culprits": culprits[:10],
    }


_LATENCY_KEYS = ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max")


def _mean_max(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": round(sum(values) / len(values), 2), "max": round(max(values), 2)}


def _total(times: Any) -> float:
    """All CPU time in a psutil ``cpu_times()``; guest time is already in user and nice."""
    return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def _cpu_times() -> Any:
    try:
        return psutil.cpu_times()
    except (OSError, RuntimeError):
        return None


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
