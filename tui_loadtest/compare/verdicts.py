"""Verdicts: two runs side by side, each row judged against the runs' noise.

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

How each side's noise is measured is :mod:`tui_loadtest.compare.noise`.
This module returns numbers and verdicts only; text views format them with
:mod:`tui_loadtest.report.compare_format`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

from ..errors import UserError
from ..stats.figures import figures_problem
from ..stats.histogram import Histogram
from ..stats.model import CheckStats, Stats
from ..stats.result import EndpointResult, FlowResult, RunResult, service_view
from . import disturbance
from .disturbance import Disturbance
from .noise import MIN_TAIL, QUANTILES, RunNoise, binomial_se, poisson_log_se, rank_log_se

REGRESSED = "regressed"
IMPROVED = "improved"
NO_CHANGE = "no significant change"
INCONCLUSIVE = "inconclusive"

# The absolute floor a latency change must also clear, in ms: the larger of
# FLOOR_MS and the histogram's resolution at the value (a bucket is up to 1/128
# of its value wide). Why 1 ms: below it, run-to-run differences on an unchanged
# target come from the machines (scheduler slices, timer slack, a busy CPU next
# to the generator), not from the code under test; see docs/baselines.md, "Comparing runs".
FLOOR_MS = 1.0
RESOLUTION = 1 / 128
# The error rate's floor: a change of less than 0.1 percentage point is not judged.
FLOOR_ERROR_RATE = 0.001

DEFAULT_THRESHOLD = 0.10
DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 1000
SEED = 20240101

METRICS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "rps", "error_rate")
# Rows beside them, each on a histogram of its own, shown only when both runs measured
# it (a baseline from before it was measured has no such row): the time to first byte,
# and a stream's time to first event and time between events.
EXTRA_METRICS = ("ttfb_p95_ms", "ttft_p95_ms", "inter_event_p95_ms")
EXTRA_QUANTILE = 0.95
LABELS = {
    "p50_ms": "P50",
    "p95_ms": "P95",
    "p99_ms": "P99",
    "max_ms": "Max",
    "rps": "Req/s",
    "error_rate": "Error rate",
    "ttfb_p95_ms": "TTFB P95",
    "ttft_p95_ms": "TTFT P95",
    "inter_event_p95_ms": "Between events P95",
}
HIGHER_IS_BETTER = frozenset({"rps"})
OVERALL = "overall"
# A flow's rows: scope "flow: NAME", method "FLOW"; requests are its iterations.
FLOW_PREFIX = "flow: "
FLOW_METHOD = "FLOW"
# A check's row: scope "check: ENDPOINT: NAME", method "CHECK", metric error_rate: the
# share of the responses it was run on that failed it.
CHECK_PREFIX = "check: "
CHECK_METHOD = "CHECK"


class UnjudgeableRun(UserError):
    """A run whose figures cannot be true (failures above requests...): no verdict."""


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
    verdict: str | None  # REGRESSED, IMPROVED, NO_CHANGE, INCONCLUSIVE; None: not judged
    floor: float = 0.0  # the smallest absolute change that counts (metric's unit)
    not_judged: str | None = None  # why a row present in both runs has no verdict
    # Over repeated runs (compare/repeated.py): the test's p-value and the runs a side.
    p_value: float | None = None
    runs: tuple[int, int] | None = None
    # Inconclusive because the load generator was disturbed on the scale of the change
    # (compare/disturbance.py): which side, and what it measured.
    disturbed: str | None = None

    @property
    def label(self) -> str:
        if self.method == CHECK_METHOD:  # the share of the responses that failed the check
            return "Fail rate"
        return LABELS[self.metric]

    @property
    def judged(self) -> bool:
        return self.verdict is not None

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
            "floor": _round(self.floor),
            "verdict": self.verdict,
            "not_judged": self.not_judged,
            **(
                {"p_value": _round(self.p_value), "runs": list(self.runs)}
                if self.runs is not None
                else {}
            ),
            **({"disturbed": self.disturbed} if self.disturbed else {}),
        }


@dataclass
class Comparison:
    """Every row plus the overall verdict: regressed if any row regressed,
    improved if some improved and none regressed, inconclusive if some row moved
    past the threshold and the floor within the runs' noise, else no significant
    change.

    ``differences`` names how the two runs' scenarios differ (host, endpoints,
    load model): a change may then come from the scenario, not the target."""

    baseline_name: str
    current_name: str
    threshold: float
    confidence: float
    rows: list[Row]
    verdict: str
    method: dict[str, Any] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    # Why rows that moved were not judged: the load generator was disturbed on the scale
    # of their change ("" when it was not; see compare/disturbance.py).
    disturbed: str = ""

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

    @property
    def inconclusive(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == INCONCLUSIVE]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline_name,
            "current": self.current_name,
            "threshold_pct": round(self.threshold * 100, 3),
            "confidence": self.confidence,
            "verdict": self.verdict,
            "scenarios_differ": bool(self.differences),
            "differences": self.differences,
            "disturbed": self.disturbed or None,
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
    for name, run in ((baseline_name, baseline), (current_name, current)):
        problem = figures_problem(run)
        if problem:  # a store written before imports were checked may hold such a run
            raise UnjudgeableRun(f"{name}: {problem}: these figures cannot be compared")
    differences = scenario_differences(baseline, current)
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
    # Rows match by method and name, and by [[scenarios]] entry: the same request in
    # two scenarios is two rows, each judged on its own ("buy · GET /x").
    keys_a = [(e.scenario, e.method, e.name) for e in baseline.endpoints]
    keys_b = [(e.scenario, e.method, e.name) for e in current.endpoints]
    single = len(keys_a) == 1 and keys_a == keys_b
    for part, method, name in keys_a + [k for k in keys_b if k not in keys_a]:
        scope = _in_part(part, name)
        if single:  # the whole run is this endpoint: its rows are the whole-run rows
            tests += [replace(t, scope=scope, method=method, copy=True) for t in tests[:]]
            continue
        ea, eb = _find(baseline, method, name, part), _find(current, method, name, part)
        sa = _Sample.of_endpoint(ea, baseline.duration_s) if ea else None
        sb = _Sample.of_endpoint(eb, current.duration_s) if eb else None
        tests += _tests(scope, method, sa, sb, noise_a, noise_b)
    # Journeys: each flow is judged like an endpoint, on its iterations (their
    # duration, rate and the share that failed).
    flows_a = {(f.scenario, f.name): f for f in baseline.flows}
    flows_b = {(f.scenario, f.name): f for f in current.flows}
    for part, name in [*flows_a, *(k for k in flows_b if k not in flows_a)]:
        fa, fb = flows_a.get((part, name)), flows_b.get((part, name))
        sa = _Sample.of_flow(fa, baseline.duration_s) if fa else None
        sb = _Sample.of_flow(fb, current.duration_s) if fb else None
        scope = f"{FLOW_PREFIX}{_in_part(part, name)}"
        tests += _tests(scope, FLOW_METHOD, sa, sb, noise_a, noise_b)

    # Checks: each one's failure rate, judged as an error rate is (binomial).
    checks_a = {(c.scenario, c.endpoint, c.name): c for c in baseline.checks}
    checks_b = {(c.scenario, c.endpoint, c.name): c for c in current.checks}
    for key in [*checks_a, *(k for k in checks_b if k not in checks_a)]:
        ca, cb = checks_a.get(key), checks_b.get(key)
        label = f"{key[1]}: {key[2]}" if key[1] else key[2]
        scope = f"{CHECK_PREFIX}{_in_part(key[0], label)}"
        sa = _Sample.of_check(ca, baseline.duration_s) if ca else None
        sb = _Sample.of_check(cb, current.duration_s) if cb else None
        tests += [
            t
            for t in _tests(scope, CHECK_METHOD, sa, sb, noise_a, noise_b)
            if t.metric == "error_rate"
        ]

    # The confidence holds for the whole table: each row's interval is widened
    # for the number of rows tested (Bonferroni), so a table of many rows does
    # not find a "regression" somewhere by chance.
    tested, z = table_z(tests, confidence)
    # A change that the generator's own delay could account for is not the target's.
    side_a, side_b = Disturbance.of(baseline), Disturbance.of(current)
    rows, disturbed = disturbance.apply([_judge(t, threshold, z) for t in tests], side_a, side_b)

    verdict = overall_verdict(rows)
    how = {
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
        "floor": f"latency: the larger of {FLOOR_MS:g} ms and 1/128 of the value;"
        f" error rate: {FLOOR_ERROR_RATE * 100:g} percentage point",
        "generator": {"baseline": side_a.summary(), "current": side_b.summary()},
    }
    return Comparison(
        baseline_name,
        current_name,
        threshold,
        confidence,
        rows,
        verdict,
        how,
        differences,
        disturbed,
    )


def table_z(tests: list[_Test], confidence: float) -> tuple[int, float]:
    """The rows tested and the z each row's interval uses, so that ``confidence``
    holds for the whole table (Bonferroni)."""
    tested = sum(1 for t in tests if t.se is not None and not t.copy)
    return tested, NormalDist().inv_cdf(1 - (1 - confidence) / (2 * max(1, tested)))


def overall_verdict(rows: list[Row]) -> str:
    """A table's verdict from its judged rows: any regression wins, then any
    improvement, then any inconclusive row; else no significant change."""
    seen = {r.verdict for r in rows if r.judged}
    for verdict in (REGRESSED, IMPROVED, INCONCLUSIVE):
        if verdict in seen:
            return verdict
    return NO_CHANGE


def scenario_differences(a: RunResult, b: RunResult) -> list[str]:
    """How the two runs' scenarios differ, one phrase each (empty: like for like)."""
    out = []
    if _target(a) != _target(b):
        out.append(f"host {a.host} vs {b.host}")
    keys_a = {f"{e.method} {e.name}" if not e.name.startswith(e.method) else e.name
              for e in a.endpoints}  # fmt: skip
    keys_b = {f"{e.method} {e.name}" if not e.name.startswith(e.method) else e.name
              for e in b.endpoints}  # fmt: skip
    if only_a := sorted(keys_a - keys_b):
        out.append("only in the baseline: " + ", ".join(only_a))
    if only_b := sorted(keys_b - keys_a):
        out.append("only in the current run: " + ", ".join(only_b))
    mode_a, mode_b = a.load.get("mode"), b.load.get("mode")
    if mode_a and mode_b and mode_a != mode_b:
        out.append(f"load mode {mode_a} vs {mode_b}")
    return out


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
    extra: dict[str, Histogram] = field(default_factory=dict)  # EXTRA_METRICS measured

    @classmethod
    def of_run(cls, r: RunResult) -> _Sample:
        s = r.summary
        extra = _extra(r.ttfb_histogram, r.stream_histograms())
        return cls(r.histogram, s.requests, s.failures, r.duration_s, _values(s, extra), extra)

    @classmethod
    def of_endpoint(cls, e: EndpointResult, duration_s: float) -> _Sample:
        s = e.stats
        extra = _extra(e.ttfb_histogram, e.stream_histograms())
        return cls(e.histogram, s.requests, s.failures, duration_s, _values(s, extra), extra)

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

    @classmethod
    def of_check(cls, c: CheckStats, duration_s: float) -> _Sample:
        """A check: the responses it ran on, those that failed it (its other figures
        are not judged)."""
        rate = c.failed / c.total if c.total else 0.0
        values = dict.fromkeys(METRICS, 0.0) | {"error_rate": rate}
        return cls(Histogram(), c.total, c.failed, duration_s, values)


def _values(s: Stats, extra: dict[str, Histogram] | None = None) -> dict[str, float]:
    lat = s.latency
    values = {
        "p50_ms": lat.p50,
        "p95_ms": lat.p95,
        "p99_ms": lat.p99,
        "max_ms": lat.max,
        "rps": s.rps,
        "error_rate": s.error_rate,
    }
    for metric, h in (extra or {}).items():
        values[metric] = h.percentile(EXTRA_QUANTILE) / 1000
    return values


def _extra(
    ttfb: Histogram | None, stream: tuple[Histogram, Histogram] | None
) -> dict[str, Histogram]:
    """The extra rows' histograms one side measured (an empty one is not measured)."""
    found = {"ttfb_p95_ms": ttfb}
    if stream is not None:
        found["ttft_p95_ms"], found["inter_event_p95_ms"] = stream
    return {m: h for m, h in found.items() if h is not None and h.total}


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
    na: RunNoise | None,
    nb: RunNoise | None,
) -> list[_Test]:
    """One row per metric. Each side's standard error is the independent-samples one,
    widened by that run's design effect for the metric (for an endpoint's percentile:
    the run's design effect at the same latency). Without noise models (``None``: runs
    pooled over repeats, whose run-to-run test is separate) the independent-samples
    error stands alone."""
    tests = []
    extra = [m for m in EXTRA_METRICS if sa and sb and m in sa.extra and m in sb.extra]
    for metric in (*METRICS, *extra):
        a = sa.values[metric] if sa else None
        b = sb.values[metric] if sb else None
        est: float | None = None
        se: float | None = None
        why: str | None = None
        if sa and sb:
            va, vb = sa.values[metric], sb.values[metric]
            ses: tuple[float | None, float | None] = (None, None)
            if metric in QUANTILES:
                q = QUANTILES[metric]
                est = _log_ratio(va, vb)
                ses = rank_log_se(sa.hist, q), rank_log_se(sb.hist, q)
                why = _quantile_why(sa, sb)
            elif metric in EXTRA_METRICS:
                est = _log_ratio(va, vb)
                q = EXTRA_QUANTILE
                ses = rank_log_se(sa.extra[metric], q), rank_log_se(sb.extra[metric], q)
                why = f"fewer than {MIN_TAIL} samples beyond it: the maximum in disguise"
            elif metric == "rps":
                ok = sa.requests and sb.requests and sa.duration_s > 0 and sb.duration_s > 0
                est = _log_ratio(va, vb) if ok else None
                ses = poisson_log_se(sa.requests), poisson_log_se(sb.requests)
                why = "no requests, or no duration, in one of the runs"
            elif metric == "error_rate":
                est = vb - va if sa.requests and sb.requests else None
                ses = binomial_se(sa.failures, sa.requests), binomial_se(sb.failures, sb.requests)
                why = "no requests in one of the runs"
            else:  # max: one request, no noise to estimate (no standard error)
                why = MAX_WHY
            se_a, se_b = ses
            if est is not None and se_a is not None and se_b is not None:
                deff_a, deff_b = _deffs(scope, metric, va, vb, na, nb)
                se = math.sqrt(se_a**2 * deff_a + se_b**2 * deff_b)
                why = None
        tests.append(_Test(scope, method, metric, a, b, est, se, why=why))
    return tests


def _deffs(
    scope: str, metric: str, va: float, vb: float, na: RunNoise | None, nb: RunNoise | None
) -> tuple[float, float]:
    """Each side's design effect for this row (1 without noise models)."""
    if na is None or nb is None:
        return 1.0, 1.0
    if metric in EXTRA_METRICS:  # no per-second data of its own: the run's noise there
        return na.deff_at(va), nb.deff_at(vb)
    if metric in QUANTILES:
        if scope == OVERALL:
            q = QUANTILES[metric]
            return na.deff_quantile(q), nb.deff_quantile(q)
        # an endpoint: the noise each run shows at that latency (see RunNoise.deff_at)
        return na.deff_at(va), nb.deff_at(vb)
    if metric == "rps":
        return na.deff_rate, nb.deff_rate
    return na.deff_errors, nb.deff_errors


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


def _target(r: RunResult) -> str:
    """The host the scenario named: "demo" for the embedded demo API, whose port is
    new on every run (the report's ``host`` is then only where it happened to listen)."""
    if "host" in r.scenario and not r.scenario["host"]:
        return "demo"
    return r.host


def floor_for(metric: str, a: float, b: float) -> float:
    """The smallest absolute change of ``metric`` that counts (see FLOOR_MS)."""
    if metric.endswith("_ms"):
        return max(FLOOR_MS, max(a, b) * RESOLUTION)
    if metric == "error_rate":
        return FLOOR_ERROR_RATE
    return 0.0


def direction_of(metric: str, delta: float) -> str:
    """ "better", "worse" or "same" from the user's point of view: lower latency and
    error rate are better, higher throughput is."""
    if delta == 0:
        return "same"
    improved = delta > 0 if metric in HIGHER_IS_BETTER else delta < 0
    return "better" if improved else "worse"


def verdict_of(
    metric: str, a: float, delta: float, floor: float, threshold: float, significant: bool
) -> str:
    """A judged row's verdict, whatever tested it (one run's noise, or the runs'): a
    change past the relative threshold and the absolute floor is regressed or
    improved when ``significant``, else inconclusive; anything smaller, no change."""
    if metric == "error_rate":
        beyond = delta != 0 and (a == 0 or abs(delta) / a >= threshold)
    else:
        beyond = a > 0 and abs(delta) / a >= threshold
    if not (beyond and abs(delta) >= floor and delta != 0):
        return NO_CHANGE
    if not significant:
        return INCONCLUSIVE
    return IMPROVED if direction_of(metric, delta) == "better" else REGRESSED


def _judge(t: _Test, threshold: float, z: float) -> Row:
    """A change counts (regressed or improved) when it clears three things: the
    relative threshold, the absolute floor, and the runs' noise (its interval, at
    the table's confidence, excludes no change). A change that clears the first
    two but not the noise is inconclusive: it looks like one, the data cannot
    tell. Anything smaller is no significant change."""
    a, b = t.a, t.b
    if a is None or b is None:
        return Row(t.scope, t.method, t.metric, a, b, None, None, "same", None, False, None)
    delta = b - a
    pct = delta / a if a else None
    floor = floor_for(t.metric, a, b)
    direction = direction_of(t.metric, delta)
    if t.est is None or t.se is None:
        return Row(
            t.scope,
            t.method,
            t.metric,
            a,
            b,
            delta,
            pct,
            direction,
            None,
            False,
            None,
            floor=floor,
            not_judged=t.why,
        )
    lo, hi = t.est - z * t.se, t.est + z * t.se
    significant = lo > 0 or hi < 0
    ci = (lo, hi) if t.metric == "error_rate" else (math.exp(lo), math.exp(hi))
    verdict = verdict_of(t.metric, a, delta, floor, threshold, significant)
    return Row(
        t.scope, t.method, t.metric, a, b, delta, pct, direction, ci, significant, verdict, floor
    )


def _log_ratio(a: float | None, b: float | None) -> float | None:
    return math.log(b / a) if a and b and a > 0 and b > 0 else None


def _find(result: RunResult, method: str, name: str, part: str = "") -> EndpointResult | None:
    for e in result.endpoints:
        if e.method == method and e.name == name and e.scenario == part:
            return e
    return None


def _in_part(part: str, name: str) -> str:
    """A row's name in a comparison: under its ``[[scenarios]]`` entry, when it has one."""
    return f"{part} · {name}" if part else name


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
