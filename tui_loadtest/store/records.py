"""What the store holds: a baseline (a run's full result under a name) and its list entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..ratings import Rating, rate_error_rate, rate_response_ms
from ..scenario.redact import redact_scenario
from ..stats.result import RunResult

__all__ = ["TONE_ORDER", "Baseline", "BaselineInfo", "overall_rating", "redact_scenario"]


@dataclass
class Baseline:
    """A named run: the complete result (histograms included) and free-form metadata.

    ``metadata`` records where the baseline came from (``source``: "run",
    "dashboard", "report", "import"), the machine that ran it when known, and
    anything else a caller wants to keep beside it.
    """

    name: str
    created_at: str  # ISO 8601 with offset
    result: RunResult
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> BaselineInfo:
        return BaselineInfo.of(self)

    @property
    def runs(self) -> list[RunResult]:
        """Every run it holds, in order (``--repeat``, ``baselines add-run``); its
        ``result`` is then the representative one (the median P95)."""
        return self.result.runs or [self.result]


class BaselineInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A row of the baseline list: the indexed figures, without loading the histograms.

    One definition for three places: the store's list columns are its fields
    (``store.db.INFO_COLUMNS``), the API answers its fields under their wire names
    (``scenario_name`` is ``"scenario"``) plus the ``rating`` (:meth:`to_dict`), and
    ``serve``'s OpenAPI component is its JSON Schema (``serve.openapi``).
    """

    name: str
    created_at: str
    scenario_name: str = msgspec.field(name="scenario")
    host: str
    started_at: str
    duration_s: float
    requests: int
    failures: int
    error_rate: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    users: int
    workers: int
    tool_version: str
    python: str
    runs: int = 1  # runs held (--repeat, baselines add-run); the figures are the representative's
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)  # not a column: the row's JSON

    @classmethod
    def of(cls, baseline: Baseline) -> BaselineInfo:
        r = baseline.result
        s = r.summary
        env = r.environment
        return cls(
            name=baseline.name,
            created_at=baseline.created_at,
            scenario_name=r.scenario_name,
            host=r.host,
            started_at=r.started_at,
            duration_s=r.duration_s,
            requests=s.requests,
            failures=s.failures,
            error_rate=s.error_rate,
            rps=s.rps,
            p50_ms=s.latency.p50,
            p95_ms=s.latency.p95,
            p99_ms=s.latency.p99,
            users=int(r.load.get("users") or 0),
            workers=int(env.get("workers") or r.load.get("workers") or 1),
            tool_version=str(env.get("tool_version") or r.version or ""),
            python=str(env.get("python") or ""),
            runs=len(baseline.runs),
            metadata=dict(baseline.metadata),
        )

    @property
    def rating(self) -> Rating:
        return overall_rating(self.p95_ms, self.error_rate)

    def to_dict(self) -> dict[str, Any]:
        """The API's form: wire names, figures rounded, the rating before the metadata."""
        wire = msgspec.to_builtins(self)
        metadata = wire.pop("metadata")
        for key, digits in ROUNDED.items():
            wire[key] = round(wire[key], digits)
        return {**wire, "rating": self.rating.label, "metadata": metadata}


# Figures the API rounds (to the µs for milliseconds and seconds).
ROUNDED = {"duration_s": 3, "error_rate": 6, "rps": 3, "p50_ms": 3, "p95_ms": 3, "p99_ms": 3}


TONE_ORDER = ("good", "ok", "warn", "bad")


def overall_rating(p95_ms: float, error_rate: float) -> Rating:
    """A run's single rating: the worse of its P95 band and its error-rate band.

    Throughput is left out on purpose: it measures the load a test offered as
    much as the target's health (a closed model with think time is slow by
    design), so it is rated on its own line instead.
    """
    a, b = rate_response_ms(p95_ms), rate_error_rate(error_rate)
    return a if TONE_ORDER.index(a.tone) >= TONE_ORDER.index(b.tone) else b
