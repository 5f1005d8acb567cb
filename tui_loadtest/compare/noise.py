"""The noise model behind the verdicts: how uncertain each figure of one run is.

Each side of a row gets the standard error that independent requests would
give (order statistics read from the histogram for a percentile, Poisson for
throughput, binomial for the error rate), widened by that run's *design
effect*: requests are not independent on a real target (a slow second slows
every request in it), so a block bootstrap over the run's seconds (blocks of
about the cube root of the run's length in seconds, at least 20 blocks when
the run allows; each resample merges the drawn blocks' histograms and
recomputes percentile, throughput and error rate exactly as for the run)
measures how much larger the true variance is than the independent-requests
formula says, never less than 1. Endpoint rows use their run's design
effect, since reports keep each endpoint's histogram for the whole run but
not per second. A run without per-second data (an old report) uses a design
effect of 1.

The random generator is seeded by the caller, so the same two runs always
give the same verdicts. Everything is plain Python: about 0.6 s for two
10-minute runs at 1,200 req/s (``bench/verdicts.py --speed``).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from itertools import accumulate
from operator import mul
from statistics import NormalDist

from ..stats.histogram import NBUCKETS, Histogram, bucket_index, bucket_value
from ..stats.result import RunResult

MIN_BLOCKS = 20
# The percentiles the verdicts judge, by metric name.
QUANTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
# A percentile is judged only with this many samples beyond it (p99: 1000 responses).
MIN_TAIL = 10
# The design effect is taken at this lower confidence bound (see _deff).
DEFF_CONFIDENCE = 0.90
Z95 = NormalDist().inv_cdf(0.975)


def rank_log_se(h: Histogram, q: float) -> float | None:
    """Standard error of log(percentile q) from order statistics, for independent samples.

    The rank of the percentile varies by sqrt(n*q*(1-q)); the values 1.96 of
    those either side, read from the histogram, span about 2 * 1.96 standard
    errors. A percentile with fewer than MIN_TAIL samples beyond it (p99 of
    fewer than 1000 responses) is too close to the maximum to judge: None.
    """
    n = h.total
    if n * min(q, 1 - q) < MIN_TAIL:
        return None
    spread = Z95 * math.sqrt(n * q * (1 - q))
    lo_q = max(0.0, (q * n - spread) / n)
    hi_q = min(1.0, (q * n + spread) / n)
    lo, hi = h.percentiles([lo_q, hi_q])
    if lo <= 0 or hi <= 0:
        return None
    # A bucket is up to 1/128 of its value wide: readings closer than that are one bucket.
    return max(math.log(hi / lo), 1 / 128) / (2 * Z95)


def poisson_log_se(requests: int) -> float | None:
    return 1 / math.sqrt(requests) if requests else None


def binomial_se(failures: int, requests: int) -> float | None:
    if not requests:
        return None
    p = failures / requests
    return math.sqrt(p * (1 - p) / requests)


class RunNoise:
    """How much noisier one run is than independent requests would be, per metric.

    The run's seconds are grouped into blocks; blocks are drawn with
    replacement (as weights: how often each block was drawn), so a resampled
    histogram is ``sum(w[k] * block[k])``. A percentile of it is found by
    searching cumulative counts, each a dot product of the weights with the
    blocks' cumulative counts at one bucket. The variance of the resampled
    figures over the independent-samples variance is the *design effect*
    (at least 1) that widens every interval of this run.
    """

    def __init__(self, result: RunResult, resamples: int, rng: random.Random) -> None:
        seconds = result.per_second
        timeline = result.timeline
        self.usable = bool(seconds) and len(seconds) == len(timeline) and len(seconds) >= 2
        self.block_len = 0
        self.resamples = resamples
        self._hist = result.histogram
        self._quantiles: dict[float, list[float]] = {}
        self._deff: dict[float, float] = {}
        self._deff_at: dict[int, float] = {}
        self._blocks: list[list[int]] = []  # per block: cumulative count at each bucket index
        self.rates: list[float] = []
        self.error_rates: list[float] = []
        self.deff_rate = 1.0
        self.deff_errors = 1.0
        if not self.usable:
            return
        n = len(seconds)
        self.block_len = block_len = max(1, min(round(n ** (1 / 3)), n // MIN_BLOCKS))
        blocks: list[list[int]] = []
        counts: list[list[int]] = []
        reqs: list[int] = []
        fails: list[int] = []
        spans: list[int] = []
        for start in range(0, n, block_len):
            dense = [0] * NBUCKETS
            for pairs in seconds[start : start + block_len]:
                for index, count in pairs:
                    dense[index] += count
            counts.append(dense)
            blocks.append(list(accumulate(dense)))
            points = timeline[start : start + block_len]
            reqs.append(sum(p.requests for p in points))
            fails.append(sum(p.failures for p in points))
            spans.append(len(points))
        self._blocks = blocks
        self._totals = [cum[-1] for cum in blocks]
        self._union = [i for i, column in enumerate(zip(*counts, strict=True)) if any(column)]
        self._columns: dict[int, list[int]] = {}
        nb = len(blocks)
        picks = range(nb)
        self._weights: list[list[int]] = []
        for _ in range(resamples):
            w = [0] * nb
            for k in rng.choices(picks, k=nb):
                w[k] += 1
            self._weights.append(w)
        for w in self._weights:
            total_span = sum(map(mul, w, spans))
            total_reqs = sum(map(mul, w, reqs))
            self.rates.append(total_reqs / total_span if total_span else math.nan)
            self.error_rates.append(
                sum(map(mul, w, fails)) / total_reqs if total_reqs else math.nan
            )
        requests, failures = sum(reqs), sum(fails)
        logs = [math.log(v) for v in self.rates if v > 0 and math.isfinite(v)]
        self.deff_rate = _deff(_sd(logs), poisson_log_se(requests), len(blocks))
        self.deff_errors = _deff(
            _sd(self.error_rates), binomial_se(failures, requests), len(blocks)
        )

    def quantile(self, q: float) -> list[float]:
        """The percentile ``q`` (in µs) of each resampled run."""
        cached = self._quantiles.get(q)
        if cached is not None:
            return cached
        out: list[float] = []
        union = self._union if self.usable else []
        if union:
            start = min(bisect_left(union, _bucket_of(self._hist, q)), len(union) - 1)
            for w in self._weights:
                total = sum(map(mul, w, self._totals))
                if not total:
                    out.append(math.nan)
                    continue
                rank = max(1, min(total, math.ceil(q * total)))
                start = self._search(w, rank, start)  # the next resample lands nearby
                out.append(bucket_value(union[start]))
        self._quantiles[q] = out
        return out

    def deff_quantile(self, q: float) -> float:
        if q not in self._deff:
            logs = [math.log(v) for v in self.quantile(q) if v > 0 and math.isfinite(v)]
            self._deff[q] = _deff(_sd(logs), rank_log_se(self._hist, q), len(self._blocks))
        return self._deff[q]

    def deff_at(self, value_ms: float) -> float:
        """The design effect of this run at latency ``value_ms``, for an endpoint's percentile.

        Reports keep per-second histograms for the whole run only, so an endpoint's
        percentile is judged with the noise the run shows at the same latency: the
        share of requests at or below that value, resampled like everything else,
        against the binomial variance of that share (a percentile's variance follows
        from the variance of the distribution at its value, Woodruff's argument). A
        fast endpoint's P95 then gets the noise of the fast part of the run, not that
        of the run's own P95, which may lie among another endpoint's slow requests.
        """
        total = self._hist.total
        if not self.usable or not total or value_ms <= 0:
            return 1.0
        index = bucket_index(max(0, int(value_ms * 1000)))
        cached = self._deff_at.get(index)
        if cached is not None:
            return cached
        column = [cum[index] for cum in self._blocks]
        shares = []
        for w in self._weights:
            drawn = sum(map(mul, w, self._totals))
            if drawn:
                shares.append(sum(map(mul, w, column)) / drawn)
        p = sum(column) / sum(self._totals) if sum(self._totals) else 0.0
        binomial = math.sqrt(p * (1 - p) / total) if 0 < p < 1 else None
        self._deff_at[index] = deff = _deff(_sd(shares), binomial, len(self._blocks))
        return deff

    def deff_summary(self) -> dict[str, float]:
        out = {m: self.deff_quantile(q) for m, q in QUANTILES.items()}
        out.update(rps=self.deff_rate, error_rate=self.deff_errors)
        return {k: round(v, 2) for k, v in out.items()}

    def _cumulative(self, w: list[int], pos: int) -> int:
        column = self._columns.get(pos)
        if column is None:
            bucket = self._union[pos]
            column = [cum[bucket] for cum in self._blocks]
            self._columns[pos] = column
        return sum(map(mul, w, column))

    def _search(self, w: list[int], rank: int, start: int) -> int:
        """The first union position whose resampled cumulative count reaches ``rank``.

        Gallops outward from ``start``, then bisects: a few dot products each.
        """
        last = len(self._union) - 1
        if self._cumulative(w, start) >= rank:
            hi, step = start, 1
            lo = start - step
            while lo >= 0 and self._cumulative(w, lo) >= rank:
                hi = lo
                step *= 2
                lo = start - step
            lo = max(lo, -1)  # lo fails (or is before the first); hi passes
        else:
            lo, step = start, 1
            hi = start + step
            while hi <= last and self._cumulative(w, hi) < rank:
                lo = hi
                step *= 2
                hi = start + step
            hi = min(hi, last)  # the last position holds every sample: it passes
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._cumulative(w, mid) >= rank:
                hi = mid
            else:
                lo = mid
        return hi


def _bucket_of(h: Histogram, q: float) -> int:
    """The bucket index holding percentile ``q`` of ``h`` (0 if empty)."""
    total = h.total
    if not total:
        return 0
    rank = max(1, min(total, math.ceil(q * total)))
    seen = 0
    for index, count in enumerate(h.counts):
        seen += count
        if count and seen >= rank:
            return index
    return len(h.counts) - 1


def _sd(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v)]
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _deff(bootstrap_sd: float, iid_se: float | None, blocks: int = 0) -> float:
    """Bootstrap variance over independent-samples variance, never below 1.

    With few blocks the bootstrap variance is itself noisy (about a chi-square
    with blocks - 1 degrees of freedom), and a noisy ratio floored at 1 widens
    on average even where requests are independent. So the ratio is taken at
    its lower DEFF_CONFIDENCE bound: a run is called noisier than independent
    requests only by as much as its blocks show beyond chance.
    """
    if not iid_se:
        return 1.0
    ratio = (bootstrap_sd / iid_se) ** 2
    if blocks >= 2:
        ratio *= (blocks - 1) / chi2_quantile(DEFF_CONFIDENCE, blocks - 1)
    return max(1.0, ratio)


def chi2_quantile(p: float, df: int) -> float:
    """The chi-square quantile (Wilson-Hilferty: within 1 % for df >= 3)."""
    z = NormalDist().inv_cdf(p)
    k = 2 / (9 * df)
    return df * (1 - k + z * math.sqrt(k)) ** 3
