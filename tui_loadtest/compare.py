"""Side-by-side comparison of two runs, with verdicts that account for each run's noise.

A row (one metric of the whole run or of one endpoint) is **regressed** or
**improved** only when both hold:

1. the change is at least the threshold (10 % by default) in that direction,
   where lower latency and error rate are better and higher throughput is;
2. the change is beyond what the runs' own noise explains: its confidence
   interval excludes "no change". The confidence (95 % by default) holds for
   the whole table: each row's interval is widened for the number of rows
   tested (Bonferroni), so a table of many rows does not turn up a
   "regression" by chance.

Otherwise the row reads "no significant change". Some rows are shown but
never judged: the maximum (one request; nothing tells its noise) and a
percentile with fewer than ten samples beyond it (p99 of under 1000
responses, which is the maximum in disguise).

How the noise is measured. Each side of a row gets the standard error that
independent requests would give (order statistics read from the histogram
for a percentile, Poisson for throughput, binomial for the error rate),
widened by that run's *design effect*: requests are not independent on a
real target (a slow second slows every request in it), so a block bootstrap
over the run's seconds (blocks of about the cube root of the run's length in
seconds, at least 20 blocks when the run allows; each resample merges the
drawn blocks' histograms and recomputes percentile, throughput and error
rate exactly as for the run) measures how much larger the true variance is
than the independent-requests formula says, never less than 1. Endpoint
rows use their run's design effect, since reports keep each endpoint's
histogram for the whole run but not per second. A run without per-second
data (an old report) uses a design effect of 1.

The random generator is seeded, so the same two runs always give the same
verdicts. Everything is plain Python: about 0.3 s for two 10-minute runs at 1,200 req/s.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from itertools import accumulate
from operator import mul
from statistics import NormalDist
from typing import Any

from .stats.histogram import NBUCKETS, Histogram, bucket_value
from .stats.model import Stats
from .stats.result import EndpointResult, FlowResult, RunResult, service_view

REGRESSED = "regressed"
IMPROVED = "improved"
NO_CHANGE = "no significant change"

DEFAULT_THRESHOLD = 0.10
DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 1000
SEED = 20240101
MIN_BLOCKS = 20
# A percentile is judged only with this many samples beyond it (p99: 1000 responses).
MIN_TAIL = 10

QUANTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
METRICS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "rps", "error_rate")
LABELS = {
    "p50_ms": "P50",
    "p95_ms": "P95",
    "p99_ms": "P99",
    "max_ms": "Max",
    "rps": "Req/s",
    "error_rate": "Error rate",
}
HIGHER_IS_BETTER = frozenset({"rps"})
OVERALL = "overall"
# A flow's rows: scope "flow: NAME", method "FLOW"; requests are its iterations.
FLOW_PREFIX = "flow: "
FLOW_METHOD = "FLOW"


@dataclass(frozen=True)
class Row:
    """One metric of one scope, baseline (``a``) against current (``b``)."""

    scope: str  # OVERALL or the endpoint's name
    method: str  # the endpoint's method ("" for the whole run)
    metric: str  # one of METRICS
    a: float | None  # None: this scope is absent from that run
    b: float | None
    delta: float | None  # b - a
    pct: float | None  # (b - a) / a; None when a is 0 or absent
    direction: str  # "better", "worse" or "same", from the user's point of view
    ci: tuple[float, float] | None  # interval of b/a (error rate: of b - a)
    significant: bool
    verdict: str | None  # REGRESSED, IMPROVED, NO_CHANGE; None when not judged
    not_judged: str | None = None  # why a row present in both runs has no verdict

    @property
    def label(self) -> str:
        return LABELS[self.metric]

    @property
    def judged(self) -> bool:
        return self.verdict is not None

    def describe(self) -> str:
        """``overall P95 48.2 -> 63.1 ms (+30.9%)``: one line naming the row and its change."""
        where = "overall" if self.scope == OVERALL else self.scope
        return f"{where} {self.label} {fmt_value(self.metric, self.a)} -> " + (
            f"{fmt_value(self.metric, self.b)}{unit(self.metric)} ({fmt_change(self)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "method": self.method,
            "metric": self.metric,
            "baseline": _round(self.a),
            "current": _round(self.b),
            "delta": _round(self.delta),
            "pct": None if self.pct is None else round(self.pct * 100, 2),
            "direction": self.direction,
            "ci": None if self.ci is None else [_round(self.ci[0]), _round(self.ci[1])],
            "significant": self.significant,
            "verdict": self.verdict,
            "not_judged": self.not_judged,
        }


@dataclass
class Comparison:
    """Every row plus the overall verdict: regressed if any row regressed,
    improved if some improved and none regressed, else no significant change."""

    baseline_name: str
    current_name: str
    threshold: float
    confidence: float
    rows: list[Row]
    verdict: str
    method: dict[str, Any] = field(default_factory=dict)

    @property
    def overall(self) -> list[Row]:
        return [r for r in self.rows if r.scope == OVERALL]

    @property
    def scopes(self) -> list[str]:
        """Endpoint names in row order (the whole run first)."""
        seen: dict[str, None] = {}
        for r in self.rows:
            seen.setdefault(r.scope, None)
        return list(seen)

    def scope_rows(self, scope: str) -> list[Row]:
        return [r for r in self.rows if r.scope == scope]

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == REGRESSED]

    @property
    def improvements(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == IMPROVED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline_name,
            "current": self.current_name,
            "threshold_pct": round(self.threshold * 100, 3),
            "confidence": self.confidence,
            "verdict": self.verdict,
            "method": self.method,
            "rows": [r.to_dict() for r in self.rows],
        }


def compare(
    baseline: RunResult,
    current: RunResult,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = SEED,
    baseline_name: str = "baseline",
    current_name: str = "current",
) -> Comparison:
    """Compare ``current`` against ``baseline``; ``threshold`` is a fraction (0.10 = 10 %).

    Latency is compared like with like: two arrival-rate runs by their corrected
    latency; an arrival-rate run against a closed-model one by its service time,
    the only latency a closed-model run has.
    """
    baseline, current, view = _like_with_like(baseline, current)
    if threshold < 0:
        raise ValueError("threshold must not be negative")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    rng = random.Random(seed)
    noise_a = RunNoise(baseline, resamples, rng)
    noise_b = RunNoise(current, resamples, rng)

    whole_a = _Sample.of_run(baseline)
    whole_b = _Sample.of_run(current)
    tests = _tests(OVERALL, "", whole_a, whole_b, noise_a, noise_b)
    keys_a = [(e.method, e.name) for e in baseline.endpoints]
    keys_b = [(e.method, e.name) for e in current.endpoints]
    single = len(keys_a) == 1 and keys_a == keys_b
    for method, name in keys_a + [k for k in keys_b if k not in keys_a]:
        if single:  # the whole run is this endpoint: its rows are the whole-run rows
            tests += [replace(t, scope=name, method=method, copy=True) for t in tests[:]]
            continue
        ea, eb = _find(baseline, method, name), _find(current, method, name)
        sa = _Sample.of_endpoint(ea, baseline.duration_s) if ea else None
        sb = _Sample.of_endpoint(eb, current.duration_s) if eb else None
        tests += _tests(name, method, sa, sb, noise_a, noise_b)
    # Journeys: each flow is judged like an endpoint, on its iterations (their
    # duration, rate and the share that failed).
    names_a = [f.name for f in baseline.flows]
    for name in names_a + [f.name for f in current.flows if f.name not in names_a]:
        fa, fb = baseline.flow(name), current.flow(name)
        sa = _Sample.of_flow(fa, baseline.duration_s) if fa else None
        sb = _Sample.of_flow(fb, current.duration_s) if fb else None
        tests += _tests(f"{FLOW_PREFIX}{name}", FLOW_METHOD, sa, sb, noise_a, noise_b)

    # The confidence holds for the whole table: each row's interval is widened
    # for the number of rows tested (Bonferroni), so a table of many rows does
    # not find a "regression" somewhere by chance.
    tested = sum(1 for t in tests if t.se is not None and not t.copy)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / (2 * max(1, tested)))
    rows = [_judge(t, threshold, z) for t in tests]

    judged = [r for r in rows if r.judged]
    if any(r.verdict == REGRESSED for r in judged):
        verdict = REGRESSED
    elif any(r.verdict == IMPROVED for r in judged):
        verdict = IMPROVED
    else:
        verdict = NO_CHANGE
    method = {
        "noise": "block bootstrap over seconds"
        if noise_a.usable and noise_b.usable
        else "independent samples (a run without per-second data)",
        "resamples": resamples,
        "block_seconds": [noise_a.block_len, noise_b.block_len],
        "design_effect": [noise_a.deff_summary(), noise_b.deff_summary()],
        "rows_tested": tested,
        "z": round(z, 4),
        "seed": seed,
        "latency": view,
    }
    return Comparison(baseline_name, current_name, threshold, confidence, rows, verdict, method)


def _like_with_like(a: RunResult, b: RunResult) -> tuple[RunResult, RunResult, str]:
    """The two runs, each seen through the latency the other one also has."""
    if a.open_model and b.open_model:
        return a, b, "corrected (both runs arrival-rate: from each request's intended start)"
    if a.open_model or b.open_model:
        return (
            service_view(a),
            service_view(b),
            "service time (one run is arrival-rate, the other closed-model: its corrected "
            "latency has no counterpart, so both are compared from when requests were sent)",
        )
    return a, b, "closed model (from when each request started)"


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class _Sample:
    """What one side of a row is computed from: the whole run or one endpoint."""

    hist: Histogram
    requests: int
    failures: int
    duration_s: float
    values: dict[str, float]

    @classmethod
    def of_run(cls, r: RunResult) -> _Sample:
        s = r.summary
        return cls(r.histogram, s.requests, s.failures, r.duration_s, _values(s))

    @classmethod
    def of_endpoint(cls, e: EndpointResult, duration_s: float) -> _Sample:
        s = e.stats
        return cls(e.histogram, s.requests, s.failures, duration_s, _values(s))

    @classmethod
    def of_flow(cls, f: FlowResult, duration_s: float) -> _Sample:
        s = f.stats
        d = s.duration
        values = {
            "p50_ms": d.p50,
            "p95_ms": d.p95,
            "p99_ms": d.p99,
            "max_ms": d.max,
            "rps": s.rate,
            "error_rate": s.failure_rate,
        }
        return cls(f.histogram, s.iterations, s.failed, duration_s, values)


def _values(s: Stats) -> dict[str, float]:
    lat = s.latency
    return {
        "p50_ms": lat.p50,
        "p95_ms": lat.p95,
        "p99_ms": lat.p99,
        "max_ms": lat.max,
        "rps": s.rps,
        "error_rate": s.error_rate,
    }


@dataclass(frozen=True)
class _Test:
    """A row before judging: the change as ``est`` (log ratio, or difference for the
    error rate) with its standard error ``se`` (None: not judged)."""

    scope: str
    method: str
    metric: str
    a: float | None
    b: float | None
    est: float | None = None
    se: float | None = None
    copy: bool = False  # repeats another row's test (not counted twice)
    why: str | None = None  # why se is None although both sides exist


def _tests(
    scope: str,
    method: str,
    sa: _Sample | None,
    sb: _Sample | None,
    na: RunNoise,
    nb: RunNoise,
) -> list[_Test]:
    """One row per metric. Each side's standard error is the independent-samples one,
    widened by that run's design effect for the metric."""
    tests = []
    for metric in METRICS:
        a = sa.values[metric] if sa else None
        b = sb.values[metric] if sb else None
        est = se = why = None
        if sa and sb:
            if metric in QUANTILES:
                q = QUANTILES[metric]
                est = _log_ratio(a, b)
                ses = _rank_log_se(sa.hist, q), _rank_log_se(sb.hist, q)
                deffs = na.deff_quantile(q), nb.deff_quantile(q)
                why = _quantile_why(sa, sb)
            elif metric == "rps":
                ok = sa.requests and sb.requests and sa.duration_s > 0 and sb.duration_s > 0
                est = _log_ratio(a, b) if ok else None
                ses = _poisson_log_se(sa.requests), _poisson_log_se(sb.requests)
                deffs = na.deff_rate, nb.deff_rate
                why = "no requests, or no duration, in one of the runs"
            elif metric == "error_rate":
                ok = sa.requests and sb.requests
                est = b - a if ok else None
                ses = _binomial_se(sa.failures, sa.requests), _binomial_se(sb.failures, sb.requests)
                deffs = na.deff_errors, nb.deff_errors
                why = "no requests in one of the runs"
            else:  # max: one request, no noise to estimate
                ses, deffs = (None, None), (1.0, 1.0)
                why = MAX_WHY
            if est is not None and None not in ses:
                se = math.sqrt(ses[0] ** 2 * deffs[0] + ses[1] ** 2 * deffs[1])
                why = None
        tests.append(_Test(scope, method, metric, a, b, est, se, why=why))
    return tests


MAX_WHY = "a single request: no noise to judge it by"


def _quantile_why(sa: _Sample, sb: _Sample) -> str:
    """Why a percentile row may go unjudged: a side without a histogram (an import from
    Locust keeps Locust's percentiles, not the distribution), else a thin tail."""
    empty = [side for side, s in (("baseline", sa), ("current run", sb)) if not s.hist.total]
    if empty:
        return (
            f"the {' and the '.join(empty)} {'has' if len(empty) == 1 else 'have'} no latency"
            " histogram: an import from Locust, or no responses"
        )
    return f"fewer than {MIN_TAIL} responses beyond it: the maximum in disguise"


def _judge(t: _Test, threshold: float, z: float) -> Row:
    a, b = t.a, t.b
    if a is None or b is None:
        return Row(t.scope, t.method, t.metric, a, b, None, None, "same", None, False, None)
    delta = b - a
    pct = delta / a if a else None
    if delta == 0:
        direction = "same"
    else:
        improved = delta > 0 if t.metric in HIGHER_IS_BETTER else delta < 0
        direction = "better" if improved else "worse"
    if t.est is None or t.se is None:
        return Row(
            t.scope, t.method, t.metric, a, b, delta, pct, direction, None, False, None, t.why
        )
    lo, hi = t.est - z * t.se, t.est + z * t.se
    significant = lo > 0 or hi < 0
    if t.metric == "error_rate":
        ci = (lo, hi)
        beyond = delta != 0 and (a == 0 or abs(delta) / a >= threshold)
    else:
        ci = (math.exp(lo), math.exp(hi))
        beyond = a > 0 and abs(delta) / a >= threshold
    verdict = NO_CHANGE
    if significant and beyond and direction != "same":
        verdict = IMPROVED if direction == "better" else REGRESSED
    return Row(t.scope, t.method, t.metric, a, b, delta, pct, direction, ci, significant, verdict)


def _find(result: RunResult, method: str, name: str) -> EndpointResult | None:
    for e in result.endpoints:
        if e.method == method and e.name == name:
            return e
    return None


# ------------------------------------------------------- independent-samples errors

Z95 = NormalDist().inv_cdf(0.975)


def _log_ratio(a: float | None, b: float | None) -> float | None:
    return math.log(b / a) if a and b and a > 0 and b > 0 else None


def _rank_log_se(h: Histogram, q: float) -> float | None:
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


def _poisson_log_se(requests: int) -> float | None:
    return 1 / math.sqrt(requests) if requests else None


def _binomial_se(failures: int, requests: int) -> float | None:
    if not requests:
        return None
    p = failures / requests
    return math.sqrt(p * (1 - p) / requests)


# ------------------------------------------------------------------- the bootstrap


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
        self.rates: list[float] = []
        self.error_rates: list[float] = []
        self.deff_rate = 1.0
        self.deff_errors = 1.0
        if not self.usable:
            return
        n = len(seconds)
        self.block_len = block_len = max(1, min(round(n ** (1 / 3)), n // MIN_BLOCKS))
        blocks: list[list[int]] = []  # per block: cumulative count at each bucket index
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
        self.deff_rate = _deff(_sd(logs), _poisson_log_se(requests))
        self.deff_errors = _deff(_sd(self.error_rates), _binomial_se(failures, requests))

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
            self._deff[q] = _deff(_sd(logs), _rank_log_se(self._hist, q))
        return self._deff[q]

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


def _deff(bootstrap_sd: float, iid_se: float | None) -> float:
    """Bootstrap variance over independent-samples variance, never below 1."""
    if not iid_se:
        return 1.0
    return max(1.0, (bootstrap_sd / iid_se) ** 2)


# ----------------------------------------------------------------------- display


def unit(metric: str) -> str:
    return " ms" if metric.endswith("_ms") else ""


def fmt_value(metric: str, value: float | None) -> str:
    from .report.formatting import fmt_ms, fmt_pct, fmt_rate

    if value is None:
        return "—"
    if metric == "error_rate":
        return fmt_pct(value)
    if metric == "rps":
        return fmt_rate(value)
    return fmt_ms(value)


def fmt_delta(row: Row) -> str:
    """The absolute change with its sign, in the metric's unit."""
    if row.delta is None:
        return "—"
    sign = "+" if row.delta > 0 else "-" if row.delta < 0 else "±"
    if row.metric == "error_rate":
        return f"{sign}{abs(row.delta) * 100:.2f} pp"
    return f"{sign}{fmt_value(row.metric, abs(row.delta))}"


def fmt_change(row: Row) -> str:
    """The relative change: +30.9%, -4.1%, ±0.0%, or "new" when the baseline was 0."""
    if row.delta is None:
        return "—"
    if row.pct is None:
        return "±0.0%" if row.delta == 0 else "new"
    sign = "+" if row.pct > 0 else "-" if row.pct < 0 else "±"
    return f"{sign}{abs(row.pct) * 100:.1f}%"


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
