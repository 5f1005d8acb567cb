"""Resource series: what was watched beside the load (the target's processes, its
Prometheus metrics, the generator itself), one value per sample over the run.

Immutable, so a Snapshot can hand them to the dashboard across threads. The
series are shown and listed, never judged, unless a threshold names one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Point = tuple[float, float]  # (seconds since the run started, value)


@dataclass(frozen=True, slots=True)
class ResourceSeries:
    """One watched quantity over time.

    ``key`` is unique in a run and is what thresholds and comparisons match:
    ``pid:<pid>:cpu_pct``, ``scrape:<metric>{labels}``. ``kind`` is ``gauge``
    (a value at each sample) or ``rate`` (a counter's increase per second over
    the interval ending at each sample).
    """

    key: str
    source: str  # where it came from: "pid 1234 (uvicorn)", a scrape URL (redacted)
    metric: str  # the metric's name without labels: "cpu_pct", "db_pool_in_use"
    label: str  # what a chart's title says
    unit: str  # "%", "bytes", "count", "/s", ""
    kind: str = "gauge"
    points: tuple[Point, ...] = ()
    # rate series: the increase over the whole span, so the mean is exact whatever
    # the sampling (a mean of per-interval rates would weigh a short last interval
    # like a full one).
    increase: float | None = None
    span_s: float = 0.0  # rate series: seconds from the first sample to the last

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points if not math.isnan(v)]

    @property
    def last(self) -> float | None:
        values = self.values
        return values[-1] if values else None

    @property
    def max(self) -> float | None:
        values = self.values
        return max(values) if values else None

    @property
    def min(self) -> float | None:
        values = self.values
        return min(values) if values else None

    @property
    def mean(self) -> float | None:
        """A gauge's average sample; a rate's increase over its span, per second."""
        if self.kind == "rate" and self.increase is not None:
            return self.increase / self.span_s if self.span_s > 0 else None
        values = self.values
        return sum(values) / len(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "key": self.key,
            "source": self.source,
            "metric": self.metric,
            "label": self.label,
            "unit": self.unit,
            "kind": self.kind,
            "min": _r(self.min),
            "mean": _r(self.mean),
            "max": _r(self.max),
            "last": _r(self.last),
            "points": [[round(t, 3), _r(v)] for t, v in self.points],
        }
        if self.kind == "rate":
            d["increase"] = _r(self.increase)
            d["span_s"] = round(self.span_s, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResourceSeries:
        return cls(
            key=str(d.get("key", "")),
            source=str(d.get("source", "")),
            metric=str(d.get("metric", "")),
            label=str(d.get("label", d.get("key", ""))),
            unit=str(d.get("unit", "")),
            kind=str(d.get("kind", "gauge")),
            points=tuple(
                (float(t), math.nan if v is None else float(v)) for t, v in d.get("points", [])
            ),
            increase=None if d.get("increase") is None else float(d["increase"]),
            span_s=float(d.get("span_s", 0.0)),
        )


def _r(x: float | None) -> float | None:
    if x is None or math.isnan(x):
        return None
    return round(x, 4) if abs(x) < 100 else round(x, 1)
