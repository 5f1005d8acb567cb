"""Comparison verdicts on synthetic runs drawn from known distributions."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from tui_loadtest import compare as cmp
from tui_loadtest.report.compare_format import describe, fmt_change, fmt_delta
from tui_loadtest.stats.histogram import Histogram

from .synthetic import HEALTH, QUERY, Ep, make_result


def pair(seconds: int = 30, slowdown: float = 1.0, seed: int = 1, eps=(HEALTH, QUERY)):
    a = make_result(list(eps), seconds=seconds, seed=seed)
    b = make_result(list(eps), seconds=seconds, seed=seed + 1000, slowdown=slowdown)
    return a, b


def row(c: cmp.Comparison, scope: str, metric: str) -> cmp.Row:
    (found,) = [r for r in c.rows if r.scope == scope and r.metric == metric]
    return found


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_two_runs_from_one_distribution_show_no_significant_change(seed: int) -> None:
    a, b = pair(seed=seed)
    c = cmp.compare(a, b)
    # A P99 of 1,200 responses can move 10 % by chance: that row may read inconclusive.
    assert c.verdict in (cmp.NO_CHANGE, cmp.INCONCLUSIVE)
    assert not c.regressions and not c.improvements
    assert all(r.metric == "p99_ms" for r in c.inconclusive)
    # The figures do move between the two runs; only the verdict says it is noise.
    assert any(r.delta for r in c.rows if r.judged)


def test_a_30_percent_slower_run_regresses() -> None:
    a, b = pair(slowdown=1.3)
    c = cmp.compare(a, b, baseline_name="v1", current_name="v2")
    p95 = row(c, cmp.OVERALL, "p95_ms")
    assert p95.b / p95.a == pytest.approx(1.3, abs=0.12)
    assert p95.verdict == cmp.REGRESSED and p95.direction == "worse" and p95.significant
    assert p95.ci[0] > 1
    assert c.verdict == cmp.REGRESSED
    for ep in (HEALTH, QUERY):
        assert row(c, ep.name, "p95_ms").verdict == cmp.REGRESSED
    assert "overall P95" in describe(p95) and describe(p95).endswith("%)")


def test_a_30_percent_faster_run_improves() -> None:
    a, b = pair(slowdown=1 / 1.3)
    c = cmp.compare(a, b)
    assert row(c, cmp.OVERALL, "p95_ms").verdict == cmp.IMPROVED
    assert row(c, cmp.OVERALL, "p95_ms").direction == "better"
    assert c.verdict == cmp.IMPROVED


def test_a_significant_change_below_the_threshold_is_not_a_regression() -> None:
    slow = replace(HEALTH, median_ms=50.0)  # 6 % of 50 ms clears the 1 ms floor
    a, b = pair(slowdown=1.06, seconds=40, eps=(slow,))
    p50 = row(cmp.compare(a, b), cmp.OVERALL, "p50_ms")
    assert p50.significant and abs(p50.pct) < 0.10
    assert p50.verdict == cmp.NO_CHANGE
    strict = cmp.compare(a, b, threshold=0.03)
    assert row(strict, cmp.OVERALL, "p50_ms").verdict == cmp.REGRESSED
    assert strict.threshold == 0.03


def test_a_change_must_also_clear_the_absolute_floor() -> None:
    """6 % of a 5 ms median is real (significant) and past a 3 % threshold, but 0.3 ms:
    below the 1 ms floor, where unchanged servers differ from run to run."""
    a, b = pair(slowdown=1.06, seconds=40, eps=(HEALTH,))
    p50 = row(cmp.compare(a, b, threshold=0.03), cmp.OVERALL, "p50_ms")
    assert p50.significant and p50.pct > 0.03 and 0 < p50.delta < cmp.FLOOR_MS == p50.floor
    assert p50.verdict == cmp.NO_CHANGE
    # Far above a millisecond the floor is the histogram's resolution (1/128 of the value).
    assert cmp.floor_for("p95_ms", 500.0, 600.0) == 600.0 / 128
    assert cmp.floor_for("error_rate", 0.0, 0.5) == 0.001 and cmp.floor_for("rps", 1, 2) == 0


def test_a_change_beyond_the_threshold_but_within_the_noise_is_not_a_regression() -> None:
    sparse = Ep("GET /rare", median_ms=50, sigma=0.7, rps=4)
    a, b = pair(seconds=8, slowdown=1.2, eps=[sparse])
    c = cmp.compare(a, b)
    p50 = row(c, cmp.OVERALL, "p50_ms")
    assert p50.pct is not None and p50.pct >= 0.10
    # It looks like a change, but the data cannot tell: inconclusive, and no gate fails.
    assert not p50.significant and p50.verdict == cmp.INCONCLUSIVE
    # Fewer than ten samples beyond a percentile: shown, never judged.
    assert a.histogram.total * 0.05 < cmp.MIN_TAIL
    for metric in ("p95_ms", "p99_ms"):
        tail = row(c, cmp.OVERALL, metric)
        assert tail.delta and tail.verdict is None and tail.ci is None
    assert c.verdict == cmp.INCONCLUSIVE and not c.regressions


def test_throughput_is_better_higher_and_error_rate_is_better_lower() -> None:
    a = make_result([HEALTH], seconds=30, seed=5)
    faster = make_result([replace(HEALTH, rps=220)], seconds=30, seed=6)
    rps = row(cmp.compare(a, faster), cmp.OVERALL, "rps")
    assert rps.direction == "better" and rps.verdict == cmp.IMPROVED
    rps_down = row(cmp.compare(faster, a), cmp.OVERALL, "rps")
    assert rps_down.direction == "worse" and rps_down.verdict == cmp.REGRESSED

    failing = make_result([replace(HEALTH, failures=[("http", 500, 0.05)])], seconds=30, seed=7)
    err = row(cmp.compare(a, failing), cmp.OVERALL, "error_rate")
    assert err.a == 0 and err.b > 0.03
    assert err.pct is None and fmt_change(err) == "new"
    assert err.direction == "worse" and err.verdict == cmp.REGRESSED
    assert row(cmp.compare(failing, a), cmp.OVERALL, "error_rate").verdict == cmp.IMPROVED


def test_one_stray_error_is_not_significant() -> None:
    a = make_result([HEALTH], seconds=30, seed=8)
    b = make_result([replace(HEALTH, failures=[("timeout", None, 0.0005)])], seconds=30, seed=9)
    err = row(cmp.compare(a, b), cmp.OVERALL, "error_rate")
    assert 0 < b.summary.failures <= 5
    assert err.direction == "worse" and err.verdict == cmp.NO_CHANGE


def test_max_is_shown_but_never_judged() -> None:
    a, b = pair(slowdown=2.0)
    mx = row(cmp.compare(a, b), cmp.OVERALL, "max_ms")
    assert mx.delta > 0 and mx.verdict is None and not mx.judged


def test_verdicts_are_reproducible() -> None:
    a, b = pair(slowdown=1.1)
    assert cmp.compare(a, b).to_dict() == cmp.compare(a, b).to_dict()


def test_endpoints_present_in_only_one_run_are_shown_unjudged() -> None:
    extra = Ep("GET /new", median_ms=3, rps=20)
    a = make_result([HEALTH, QUERY], seconds=10, seed=10)
    b = make_result([HEALTH, QUERY, extra], seconds=10, seed=11)
    c = cmp.compare(a, b)
    assert c.scopes == [cmp.OVERALL, HEALTH.name, QUERY.name, "GET /new"]
    new = c.scope_rows("GET /new")
    assert len(new) == len(cmp.METRICS)
    assert all(r.a is None and r.b is not None and r.verdict is None for r in new)


def test_a_single_endpoint_run_reuses_the_whole_run_rows() -> None:
    a, b = pair(slowdown=1.3, eps=[QUERY])
    c = cmp.compare(a, b)
    for whole, ep in zip(c.scope_rows(cmp.OVERALL), c.scope_rows(QUERY.name), strict=True):
        assert (whole.ci, whole.verdict) == (ep.ci, ep.verdict)


def test_reports_without_per_second_data_fall_back_to_order_statistics() -> None:
    a, b = pair(slowdown=1.3)
    old_a, old_b = replace(a, per_second=[]), replace(b, per_second=[])
    c = cmp.compare(old_a, old_b)
    assert "independent samples" in c.method["noise"]
    assert row(c, cmp.OVERALL, "p95_ms").verdict == cmp.REGRESSED
    same = cmp.compare(*(replace(r, per_second=[]) for r in pair(seed=2)))
    assert not same.regressions and not same.improvements
    assert all(r.metric == "p99_ms" for r in same.inconclusive)


def test_seconds_that_move_together_widen_every_interval() -> None:
    a = make_result([HEALTH, QUERY], seconds=40, seed=15, wobble=0.5)
    b = make_result([HEALTH, QUERY], seconds=40, seed=16, wobble=0.5)
    noise = cmp.RunNoise(a, 300, random.Random(1))
    assert noise.deff_quantile(0.5) > 3  # far noisier than independent requests
    calm = cmp.RunNoise(make_result([HEALTH, QUERY], seconds=40, seed=15), 300, random.Random(1))
    assert calm.deff_quantile(0.5) < 2
    c = cmp.compare(a, b)
    assert c.verdict == cmp.NO_CHANGE
    p50 = row(c, HEALTH.name, "p50_ms")
    iid = cmp.rank_log_se(a.endpoints[0].histogram, 0.5)
    width = math.log(p50.ci[1] / p50.ci[0]) / 2 / c.method["z"]
    assert width > 1.5 * iid * math.sqrt(2)


def test_independent_seconds_get_no_design_effect_from_bootstrap_noise() -> None:
    """Ten 1-second blocks estimate a variance loosely; floored at 1, that noise alone
    widens a calm run's intervals by up to 2x in variance. Taken at its lower 90 % bound,
    a run whose requests are independent keeps a design effect near 1 in every seed;
    one whose seconds move together still gets one well above 1."""
    from tui_loadtest.compare import noise

    assert noise.chi2_quantile(0.9, 9) == pytest.approx(14.684, rel=0.01)
    assert noise.chi2_quantile(0.5, 30) == pytest.approx(29.336, rel=0.01)
    seeds = range(20, 40)
    calm = [cmp.RunNoise(make_result([HEALTH, QUERY], seconds=10, seed=s), 300,
                         random.Random(s)) for s in seeds]  # fmt: skip
    bounded = [n.deff_at(QUERY.median_ms) for n in calm]
    assert max(bounded) < 1.5 and sum(bounded) / len(bounded) < 1.1
    raw = noise.DEFF_CONFIDENCE
    try:
        noise.DEFF_CONFIDENCE = 0.5  # about the plain ratio: no allowance for its noise
        plain = [cmp.RunNoise(make_result([HEALTH, QUERY], seconds=10, seed=s), 300,
                              random.Random(s)) for s in seeds]  # fmt: skip
        plain_deffs = [n.deff_at(QUERY.median_ms) for n in plain]
        assert max(plain_deffs) > 1.8 and sum(plain_deffs) / len(plain_deffs) > 1.2
    finally:
        noise.DEFF_CONFIDENCE = raw
    loud = make_result([HEALTH, QUERY], seconds=10, seed=20, wobble=0.5)
    assert cmp.RunNoise(loud, 300, random.Random(1)).deff_quantile(0.5) > 3


def test_bootstrap_percentiles_match_a_brute_force_merge() -> None:
    a = make_result([HEALTH, QUERY], seconds=45, seed=12)
    noise = cmp.RunNoise(a, 5, random.Random(3))
    assert noise.block_len == 2
    for q in (0.5, 0.95, 0.99):
        for w, got in zip(noise._weights, noise.quantile(q), strict=True):
            merged = Histogram()
            for k, weight in enumerate(w):
                for pairs in a.per_second[k * 2 : k * 2 + 2]:
                    merged.add_sparse([(i, c * weight) for i, c in pairs])
            assert got == merged.percentile(q)
    # All blocks once each: the run itself.
    ones = [1] * len(noise._blocks)
    pos = noise._search(ones, max(1, -(-a.histogram.total * 95 // 100)), 0)
    assert cmp.bucket_value(noise._union[pos]) == a.histogram.percentile(0.95)


def test_a_ten_minute_run_is_resampled_in_8_second_blocks() -> None:
    """(How long it takes is measured by bench/verdicts.py --speed, not asserted here.)"""
    eps = [Ep("GET /a", median_ms=5, rps=60), Ep("POST /b", method="POST", median_ms=40, rps=30)]
    a = make_result(eps, seconds=600, seed=13)
    b = make_result(eps, seconds=600, seed=14)
    c = cmp.compare(a, b)
    assert c.method["block_seconds"] == [8, 8]


def test_formatting_helpers() -> None:
    a, b = pair(slowdown=1.3)
    c = cmp.compare(a, b)
    p95 = row(c, cmp.OVERALL, "p95_ms")
    assert fmt_change(p95).startswith("+") and fmt_delta(p95).startswith("+")
    err = row(c, cmp.OVERALL, "error_rate")
    assert fmt_delta(err) == "±0.00 pp" and fmt_change(err) == "±0.0%"
    data = c.to_dict()
    assert data["verdict"] == cmp.REGRESSED and data["threshold_pct"] == 10.0
    assert {r["metric"] for r in data["rows"]} == set(cmp.METRICS)


def as_open(corrected, service):
    """An arrival-rate result: ``corrected`` figures, with ``service``'s as service time."""
    endpoints = [
        replace(c, service_histogram=s.histogram, stats=replace(c.stats, service=s.stats.latency))
        for c, s in zip(corrected.endpoints, service.endpoints, strict=True)
    ]
    return replace(
        corrected,
        endpoints=endpoints,
        service_histogram=service.histogram,
        per_second_service=service.per_second,
        summary=replace(corrected.summary, service=service.summary.latency),
    )


def test_an_arrival_rate_run_meets_a_closed_one_on_service_time() -> None:
    closed = make_result([HEALTH, QUERY], seed=1)
    stalled = make_result([HEALTH, QUERY], seed=2, slowdown=3.0)  # corrected: waits included
    served = make_result([HEALTH, QUERY], seed=3)  # service time: as fast as the closed run
    c = cmp.compare(closed, as_open(stalled, served))
    assert "service time" in c.method["latency"]
    assert c.verdict == cmp.NO_CHANGE


def test_two_arrival_rate_runs_compare_corrected_latency() -> None:
    a = as_open(make_result([HEALTH, QUERY], seed=1), make_result([HEALTH, QUERY], seed=2))
    b = as_open(
        make_result([HEALTH, QUERY], seed=3, slowdown=1.5), make_result([HEALTH, QUERY], seed=4)
    )
    c = cmp.compare(a, b)
    assert "corrected" in c.method["latency"]
    assert c.verdict == cmp.REGRESSED
    assert row(c, cmp.OVERALL, "p95_ms").verdict == cmp.REGRESSED


def test_runs_of_different_scenarios_are_compared_with_a_warning() -> None:
    from tui_loadtest.report.compare_text import comparison_text

    a = make_result([HEALTH, QUERY], seconds=20, seed=1)
    b = make_result([HEALTH, Ep("GET /api/other")], seconds=20, seed=2, host="http://10.0.0.9")
    c = cmp.compare(a, b)
    assert c.differences == [
        "host http://127.0.0.1:5000 vs http://10.0.0.9",
        f"only in the baseline: {QUERY.name}",
        "only in the current run: GET /api/other",
    ]
    text = comparison_text(c)
    assert f"Verdict: {c.verdict} (the scenarios differ)" in text
    assert "warning: the two runs' scenarios differ (host http://127.0.0.1:5000" in text
    assert c.to_dict()["scenarios_differ"] is True
    same = cmp.compare(a, make_result([HEALTH, QUERY], seconds=20, seed=3))
    assert same.differences == [] and "differ" not in comparison_text(same)
    # Two runs on the embedded demo API listen on new ports each time: the same target.
    demo = {"name": "demo", "host": None}
    d1 = replace(a, scenario=demo, host="http://127.0.0.1:41001")
    d2 = replace(a, scenario=demo, host="http://127.0.0.1:41002")
    assert cmp.scenario_differences(d1, d2) == []


def test_an_endpoint_percentile_gets_the_noise_the_run_shows_at_its_latency() -> None:
    """The fast endpoint's P95 is judged with the design effect the run shows at that
    latency: large when the seconds move together there, about 1 when they do not."""
    wobbly = make_result([HEALTH, QUERY], seconds=40, seed=15, wobble=0.5)
    calm = make_result([HEALTH, QUERY], seconds=40, seed=15)
    loud = cmp.RunNoise(wobbly, 300, random.Random(1))
    quiet = cmp.RunNoise(calm, 300, random.Random(1))
    health = wobbly.endpoints[0].stats.latency
    assert loud.deff_at(health.p50) > 5 * quiet.deff_at(health.p50)
    assert loud.deff_at(health.p95) > 1.5 * quiet.deff_at(health.p95)
    assert 1.0 <= quiet.deff_at(calm.endpoints[0].stats.latency.p95) < 1.5
    assert loud.deff_at(0.0) == 1.0
