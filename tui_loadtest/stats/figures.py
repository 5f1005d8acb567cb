"""Whether a result's figures can be true: the check for results that come from outside.

A run this tool measured is consistent by construction. A report file, a body sent
to ``serve`` or an import from Locust is not: failures above requests were listed as
"500.00%" and made a comparison crash (a square root of a negative variance), and a
count of 1e30 overflowed SQLite. Such figures are refused where they come in, with
one line naming where in the result the problem is.
"""

from __future__ import annotations

import math
from itertools import pairwise

from .model import Latency, Stats
from .result import RunResult

__all__ = ["MAX_COUNT", "MAX_FIGURE", "figures_problem", "percentiles_problem", "stats_problem"]

MAX_COUNT = 2**53  # counts a float still holds exactly: far past any run
MAX_FIGURE = 1e15  # rates, milliseconds and seconds beyond this are not measurements

PERCENTILES = ("p50", "p90", "p95", "p99", "p999")


def figures_problem(result: RunResult) -> str | None:
    """What makes ``result``'s figures impossible (``"summary: failures ..."``), or None."""
    places: list[tuple[str, Stats]] = [("summary", result.summary)]
    places += [(f"endpoints ({e.name})", e.stats) for e in result.endpoints]
    for where, stats in places:
        problem = stats_problem(stats)
        if problem:
            return f"{where}: {problem}"
    for flow in result.flows:
        s = flow.stats
        if not 0 <= s.failed <= s.iterations <= MAX_COUNT:
            return (
                f"flows ({flow.name}): failed iterations ({s.failed}) must be 0 to the"
                f" iterations ({s.iterations})"
            )
    for error in result.errors:
        if not 0 <= error.count <= MAX_COUNT:
            return f"errors ({error.endpoint}): count: expected 0 to {MAX_COUNT}, got {error.count}"
    if not (math.isfinite(result.duration_s) and 0 <= result.duration_s <= MAX_FIGURE):
        return f"duration_s: expected 0 to {MAX_FIGURE:g} seconds, got {result.duration_s}"
    return None


def stats_problem(stats: Stats) -> str | None:
    """Counts in range, failures no more than requests, percentiles that never decrease."""
    for name, value in (("requests", stats.requests), ("failures", stats.failures)):
        if not 0 <= value <= MAX_COUNT:
            return f"{name}: expected 0 to {MAX_COUNT}, got {value}"
    if stats.failures > stats.requests:
        return f"failures ({stats.failures}) are more than requests ({stats.requests})"
    if not (math.isfinite(stats.rps) and 0 <= stats.rps <= MAX_FIGURE):
        return f"rps: expected 0 to {MAX_FIGURE:g}, got {stats.rps}"
    stream = stats.stream
    for label, latency in (
        ("latency", stats.latency),
        ("service latency", stats.service),
        ("time to first byte", stats.ttfb),
        ("time to first event", stream.ttft if stream else None),
        ("time between events", stream.inter_event if stream else None),
    ):
        problem = latency and percentiles_problem(latency)
        if problem:
            return f"{label}: {problem}"
    return None


def percentiles_problem(latency: Latency) -> str | None:
    """Figures in range, and p50 <= p90 <= p95 <= p99 <= p99.9 (min, mean and max are
    left out: a source that rounds its percentiles, as Locust does, puts p50 under min)."""
    for name in ("min", "mean", *PERCENTILES, "max"):
        value = getattr(latency, name)
        if not (math.isfinite(value) and 0 <= value <= MAX_FIGURE):
            return f"{name}: expected 0 to {MAX_FIGURE:g} ms, got {value}"
    for low, high in pairwise(PERCENTILES):
        a, b = getattr(latency, low), getattr(latency, high)
        if b < a:
            return f"{high} ({b:g} ms) is below {low} ({a:g} ms): percentiles never decrease"
    return None
