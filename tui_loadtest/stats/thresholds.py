"""The scenario's thresholds measured on a result: what every artefact reports
(JSON, HTML, the text and dashboard summaries) and what the CI gates check.

They are read from the result's own redacted scenario, so a report loaded from
a file or the store shows the same threshold outcomes as the run that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..scenario import Threshold
from ..scenario.model import LATENCY_FAMILIES, THRESHOLD_METRICS
from .model import Latency, Stats

OVERALL = "overall"
_LATENCY = {
    "p50_ms": "p50",
    "p90_ms": "p90",
    "p95_ms": "p95",
    "p99_ms": "p99",
    "p999_ms": "p999",
    "max_ms": "max",
    "mean_ms": "mean",
}

_RATES = ("rps_min", "error_rate", "iteration_failure_rate", "checks")


class EndpointFigures(Protocol):
    @property
    def stats(self) -> Stats: ...


class Measured(Protocol):
    """What thresholds read of a run (a ``RunResult``): its summary, its endpoints and
    its iterations (flows and script tasks)."""

    @property
    def summary(self) -> Stats: ...

    @property
    def iterations(self) -> int: ...

    @property
    def iteration_failure_rate(self) -> float: ...

    def endpoint(self, name: str) -> EndpointFigures | None: ...

    def check_rate(self, name: str | None = None) -> float | None:
        """The pass rate of the checks (those named ``name``); None when none ran."""
        ...

    def tag_stats(self, tag: str) -> Stats | None:
        """The figures of the endpoints tagged ``tag``, together."""
        ...

    def scenario_stats(self, name: str) -> Stats | None:
        """The figures of one ``[[scenarios]]`` entry's endpoints, together."""
        ...

    def scenario_iterations(self, name: str) -> tuple[int, int]:
        """One ``[[scenarios]]`` entry's iterations: (all, failed)."""
        ...


@dataclass(frozen=True)
class ThresholdResult:
    """One threshold and what the run measured: ``value`` None means not measured
    (no responses), which fails: a gate must not pass on missing data."""

    metric: str
    scope: str  # OVERALL, the endpoint's name, "check NAME", "tag NAME" or "scenario NAME"
    limit: float
    value: float | None
    passed: bool
    label: str  # as written in the scenario, e.g. "p95_ms <= 500"


def measure(threshold: Threshold, result: Measured) -> float | None:
    """The value ``threshold`` is checked against; None when there is nothing to measure."""
    if threshold.metric == "iteration_failure_rate":
        if threshold.scenario is not None:
            done, failed = result.scenario_iterations(threshold.scenario)
            return failed / done if done else None
        return result.iteration_failure_rate if result.iterations else None
    if threshold.metric == "checks":
        return result.check_rate(threshold.check)
    stats: Stats | None = result.summary
    if threshold.tag is not None:
        stats = result.tag_stats(threshold.tag)
    elif threshold.scenario is not None:
        stats = result.scenario_stats(threshold.scenario)
    elif threshold.endpoint is not None:
        endpoint = result.endpoint(threshold.endpoint)
        stats = endpoint.stats if endpoint else None
    if stats is None or stats.requests == 0:
        return None
    if threshold.metric == "rps_min":
        return stats.rps
    if threshold.metric == "error_rate":
        return stats.error_rate
    if stats.requests == stats.failures:  # no response: no latency to judge
        return None
    family, base = split_metric(threshold.metric)
    latency = family_latency(stats, family)
    return None if latency is None else float(getattr(latency, _LATENCY[base]))


def split_metric(metric: str) -> tuple[str, str]:
    """``"ttft_p95_ms"`` -> ``("ttft", "p95_ms")``; ``"p95_ms"`` -> ``("", "p95_ms")``."""
    for family in LATENCY_FAMILIES:
        if metric.startswith(family + "_"):
            return family, metric[len(family) + 1 :]
    return "", metric


def family_latency(stats: Stats, family: str) -> Latency | None:
    """The latency figures a family of metrics reads (None: not measured in this run)."""
    if not family:
        return stats.latency
    if family == "ttfb":
        return stats.ttfb
    stream = stats.stream
    if stream is None or not stream.ttft.max:  # no stream, or no event came
        return None
    return stream.ttft if family == "ttft" else stream.inter_event


def evaluate(thresholds: Iterable[Threshold], result: Measured) -> list[ThresholdResult]:
    out = []
    for t in thresholds:
        value = measure(t, result)
        out.append(
            ThresholdResult(
                metric=t.metric,
                scope=_scope(t),
                limit=t.limit,
                value=value,
                passed=value is not None and t.passes(value),
                label=t.label,
            )
        )
    return out


def _scope(t: Threshold) -> str:
    if t.check is not None:
        return f"check {t.check}"
    if t.tag is not None:
        return f"tag {t.tag}"
    if t.scenario is not None:
        return f"scenario {t.scenario}"
    return t.endpoint if t.endpoint is not None else OVERALL


def scenario_thresholds(scenario: dict[str, Any]) -> list[Threshold]:
    """The thresholds a report's redacted scenario lists (skipping anything unreadable)."""
    out = []
    for item in scenario.get("thresholds") or []:
        if not isinstance(item, dict):
            continue
        metric, limit, endpoint = item.get("metric"), item.get("limit"), item.get("endpoint")
        if not isinstance(metric, str) or (metric not in THRESHOLD_METRICS and metric != "checks"):
            continue
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            continue
        check, strict, tag = item.get("check"), item.get("strict") is True, item.get("tag")
        part = item.get("scenario")
        if any(v is not None and not isinstance(v, str) for v in (check, tag, part)):
            continue
        if endpoint is None or isinstance(endpoint, str):
            out.append(
                Threshold(
                    metric,
                    float(limit),
                    endpoint,
                    check=check,
                    strict=strict,
                    tag=tag,
                    scenario=part,
                )
            )
    return out
