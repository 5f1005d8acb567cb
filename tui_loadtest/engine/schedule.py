"""When arrivals are due in the open (arrival-rate) model.

The rate over time is piecewise linear (a constant rate, or ramps through
stages). ``cumulative(t)`` is the number of arrivals expected by time ``t``
and ``time_of(c)`` its inverse, so the k-th arrival is due at ``time_of(k)``:
even spacing at any rate, ramps included. Poisson arrivals use the same
inverse on positions spaced by Exp(1) (the time-rescaling theorem), so they
follow ramps too. Because every arrival's time comes from the schedule and not
from the previous one, a generator that falls behind catches up instead of
drifting.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ..scenario import LoadSpec


@dataclass(frozen=True, slots=True)
class Segment:
    start: float  # seconds
    end: float  # math.inf for the last, held segment
    rate0: float  # arrivals/s at start
    rate1: float  # arrivals/s at end (== rate0 when held)
    before: float  # cumulative arrivals at start

    def cumulative(self, t: float) -> float:
        x = t - self.start
        if self.end == math.inf or self.rate0 == self.rate1:
            return self.before + self.rate0 * x
        slope = (self.rate1 - self.rate0) / (self.end - self.start)
        return self.before + self.rate0 * x + slope * x * x / 2

    def time_of(self, c: float) -> float:
        need = c - self.before
        if need <= 0:
            return self.start
        if self.end == math.inf or self.rate0 == self.rate1:
            return self.start + need / self.rate0 if self.rate0 > 0 else math.inf
        slope = (self.rate1 - self.rate0) / (self.end - self.start)
        # slope/2 x² + rate0 x - need = 0, the root in [0, duration]
        a, b = slope / 2, self.rate0
        disc = max(0.0, b * b + 4 * a * need)
        x = (2 * need) / (b + math.sqrt(disc)) if b + math.sqrt(disc) > 0 else math.inf
        return self.start + x


class ArrivalSchedule:
    """One worker's arrival times, for its ``fraction`` of the scenario's rate."""

    def __init__(
        self,
        load: LoadSpec,
        fraction: float = 1.0,
        offset: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.fraction = fraction
        self.poisson = load.arrival == "poisson"
        self.rng = rng or random.Random()
        self.segments = self._segments(load)
        # Even arrivals sit at positions offset, offset+1, ...; workers use
        # offsets i/n so that the merged stream is evenly spaced too.
        self.position = offset if not self.poisson else self.rng.expovariate(1.0)
        self.rate_override: float | None = None

    def _segments(self, load: LoadSpec) -> list[Segment]:
        f = self.fraction
        segs: list[Segment] = []
        t, level, before = 0.0, 0.0, 0.0
        if not load.stages:
            return [Segment(0.0, math.inf, (load.rate or 0.0) * f, (load.rate or 0.0) * f, 0.0)]
        for stage in load.stages:
            seg = Segment(t, t + stage.duration_s, level * f, stage.target * f, before)
            segs.append(seg)
            before = seg.cumulative(seg.end)
            t, level = seg.end, stage.target
        segs.append(Segment(t, math.inf, level * f, level * f, before))
        return segs

    def segment_at(self, t: float) -> Segment:
        for seg in self.segments:
            if t < seg.end:
                return seg
        return self.segments[-1]

    def rate_at(self, t: float) -> float:
        """This worker's target rate (arrivals/s) at schedule time ``t``."""
        seg = self.segment_at(t)
        if seg.end == math.inf:
            return seg.rate0
        return seg.rate0 + (seg.rate1 - seg.rate0) * (t - seg.start) / (seg.end - seg.start)

    def cumulative(self, t: float) -> float:
        return self.segment_at(t).cumulative(t)

    def time_of(self, c: float) -> float:
        for seg in self.segments:
            if seg.end == math.inf or seg.cumulative(seg.end) > c:
                return seg.time_of(c)
        return math.inf

    def next_time(self) -> float:
        """Schedule time of the next arrival."""
        return self.time_of(self.position)

    def advance(self) -> None:
        self.position += self.rng.expovariate(1.0) if self.poisson else 1.0

    def set_rate(self, t: float, rate: float) -> None:
        """Switch to a constant ``rate`` (this worker's share) from time ``t`` on."""
        before = self.cumulative(t)
        self.segments = [
            *[s for s in self.segments if s.end <= t],
            Segment(t, math.inf, rate, rate, before),
        ]
        # positions already passed stay passed; the next one keeps its place
        self.position = max(self.position, before)
