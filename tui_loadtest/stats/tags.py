"""Endpoints grouped by tag: each tag's requests, failures, rate and latency, from the
merged histograms of the endpoints that carry it (an endpoint with two tags counts in
both); and by ``[[scenarios]]`` entry (``GroupResult``), merged the same way. The tags of
each endpoint are read from the result's redacted scenario (``endpoint_tags``), so a
report loaded from a file groups as the run did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .histogram import Histogram
from .model import Latency, Stats

__all__ = ["GroupResult", "TagResult", "endpoint_tags", "merged_stats", "tag_results"]


class _Endpoint(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def stats(self) -> Stats: ...

    @property
    def histogram(self) -> Histogram: ...

    @property
    def service_histogram(self) -> Histogram | None: ...


@dataclass(frozen=True)
class GroupResult:
    """One ``[[scenarios]]`` entry: its endpoints' figures together, and its iterations."""

    name: str
    mode: str  # "users" or "arrival-rate" ("" when the report does not say)
    endpoints: tuple[str, ...]
    stats: Stats
    histogram: Histogram
    iterations: int = 0
    failed_iterations: int = 0


@dataclass(frozen=True)
class TagResult:
    """One tag: the endpoints that carry it, their figures together."""

    tag: str
    endpoints: tuple[str, ...]
    stats: Stats
    histogram: Histogram


def endpoint_tags(scenario: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each tagged endpoint's tags, as the report's scenario keeps them."""
    raw = scenario.get("endpoint_tags") if isinstance(scenario, dict) else None
    if not isinstance(raw, dict):
        return {}
    return {
        str(name): tuple(str(t) for t in tags)
        for name, tags in raw.items()
        if isinstance(tags, list)
    }


def merged_stats(endpoints: Sequence[_Endpoint], duration_s: float) -> tuple[Stats, Histogram]:
    """Several endpoints' figures as one: counts added, histograms merged."""
    hist = Histogram()
    service: Histogram | None = None
    requests = failures = received = sent = redirects = dropped = 0
    statuses: dict[int, int] = {}
    for e in endpoints:
        s = e.stats
        hist.merge(e.histogram)
        if e.service_histogram is not None:
            service = service or Histogram()
            service.merge(e.service_histogram)
        requests += s.requests
        failures += s.failures
        received += s.bytes_received
        sent += s.bytes_sent
        redirects += s.redirects
        dropped += s.dropped
        for status, n in s.statuses:
            statuses[status] = statuses.get(status, 0) + n
    stats = Stats(
        requests=requests,
        failures=failures,
        rps=requests / duration_s if duration_s > 0 else 0.0,
        bytes_received=received,
        bytes_sent=sent,
        statuses=tuple(sorted(statuses.items())),
        redirects=redirects,
        latency=Latency.from_histogram(hist),
        service=Latency.from_histogram(service) if service is not None else None,
        dropped=dropped,
    )
    return stats, hist


def tag_results(
    scenario: dict[str, Any], endpoints: Iterable[_Endpoint], duration_s: float
) -> list[TagResult]:
    """Every tag of the scenario's endpoints, in the order first met."""
    tags_of = endpoint_tags(scenario)
    members: dict[str, list[_Endpoint]] = {}
    for e in endpoints:
        for tag in tags_of.get(e.name, ()):
            members.setdefault(tag, []).append(e)
    out = []
    for tag, group in members.items():
        stats, hist = merged_stats(group, duration_s)
        out.append(TagResult(tag, tuple(e.name for e in group), stats, hist))
    return out
