"""Every recommendation rule: it fires on the data that calls for it, and only then."""

from __future__ import annotations

from dataclasses import replace

from tui_loadtest.report import recommendations as rec
from tui_loadtest.report.text import run_summary
from tui_loadtest.stats.model import ErrorRow, Stats

from .synthetic import HEALTH, QUERY, Ep, make_result


def healthy():
    # Fast, error-free, > 100 req/s, tight tails: nothing should fire.
    return make_result([HEALTH, replace(QUERY, sigma=0.3)], seconds=20, seed=3)


def test_healthy_run_gets_the_all_clear() -> None:
    result = healthy()
    assert result.summary.rps > 100 and result.summary.failures == 0
    assert rec.recommend(result) == [rec.ALL_CLEAR]
    for rule in rec.RULES:
        assert rule(result) == [], rule.__name__


def test_error_rate_rule_fires_from_the_acceptable_band() -> None:
    bad = make_result([replace(HEALTH, failures=[("http", 503, 0.03)])], seconds=10, seed=4)
    lines = rec.error_rate_rule(bad)
    assert len(lines) == 1
    assert "acceptable" in lines[0] and f"{bad.summary.failures:,}" in lines[0]
    # 0.5 % is "good": no line.
    good = make_result([replace(HEALTH, failures=[("http", 503, 0.005)])], seconds=10, seed=4)
    assert 0.001 <= good.summary.error_rate < 0.01
    assert rec.error_rate_rule(good) == []


def test_error_kinds_are_told_apart() -> None:
    ep = replace(
        QUERY,
        failures=[("timeout", None, 0.02), ("http", 502, 0.02), ("refused", None, 0.02)],
    )
    lines = rec.error_kind_rule(make_result([ep], seconds=10, seed=5))
    text = "\n".join(lines)
    assert len(lines) == 3
    assert "timeouts on POST /api/agents/{id}/query" in text
    assert "server errors (HTTP 5xx)" in text
    assert "connection failures (refused)" in text
    assert "rate-limited" not in text and "client errors" not in text


def test_error_kinds_429_and_4xx_and_share_floor() -> None:
    ep = replace(HEALTH, failures=[("http", 429, 0.05), ("http", 404, 0.05)])
    text = "\n".join(rec.error_kind_rule(make_result([ep], seconds=5, seed=6)))
    assert "rate-limited" in text and "client errors (HTTP 4xx)" in text
    # One timeout in a large run stays below the share worth a line.
    result = healthy()
    result.errors = [ErrorRow("timeout", None, "GET /api/health", "GET", 1, "timed out")]
    assert result.summary.requests > 1000
    assert rec.error_kind_rule(result) == []


def test_slow_endpoints_by_response_time_band() -> None:
    acceptable = Ep("GET /slow", median_ms=600, sigma=0.1, rps=120)
    terrible = Ep("GET /slower", median_ms=2500, sigma=0.1, rps=120)
    result = make_result([HEALTH, acceptable, terrible], seconds=10, seed=7)
    lines = rec.slow_endpoint_rule(result)
    assert len(lines) == 2
    assert lines[0].startswith("GET /slower") and "needs optimization" in lines[0]
    assert lines[1].startswith("GET /slow:") and "acceptable" in lines[1]
    assert not any("/api/health" in line for line in lines)


def test_spread_rule_flags_a_long_tail_only_past_the_excellent_band() -> None:
    tail = Ep("GET /tail", median_ms=30, sigma=1.2, rps=120)  # p99 ~ 16x p50, > 100 ms
    result = make_result([tail], seconds=10, seed=8)
    lat = result.endpoints[0].stats.latency
    assert lat.p99 / lat.p50 >= rec.SPREAD_RATIO and lat.p99 >= rec.SPREAD_MIN_P99_MS
    (line,) = rec.spread_rule(result)
    assert line.startswith("GET /tail") and f"{lat.p99 / lat.p50:.1f}x" in line
    # The same ratio at sub-millisecond scale is not worth a line.
    tiny = make_result([replace(tail, median_ms=0.5)], seconds=10, seed=8)
    assert rec.spread_rule(tiny) == []


def test_throughput_rule_fires_below_100_rps() -> None:
    # One user waiting on 40 ms answers all the time: the target set the pace.
    slow = make_result([replace(QUERY, rps=30)], seconds=40, seed=9, users=1)
    assert slow.summary.rps < 100
    (line,) = rec.throughput_rule(slow)
    assert "needs scaling" in line
    assert rec.throughput_rule(healthy()) == []
    # 50 users doing the same: they waited 2 % of the time, think time set the pace.
    light = replace(slow, load={**slow.load, "users": 50})
    assert rec.throughput_rule(light) == []


def test_drift_rule_sees_latency_growing_during_the_run() -> None:
    calm = make_result([Ep("GET /x", median_ms=60, sigma=0.3, rps=60)], seconds=12, seed=10)
    worse = make_result([Ep("GET /x", median_ms=180, sigma=0.3, rps=60)], seconds=12, seed=11)
    drifting = replace(calm, per_second=calm.per_second[:6] + worse.per_second[6:])
    (line,) = rec.drift_rule(drifting)
    assert "rose from" in line
    assert rec.drift_rule(calm) == []
    assert rec.drift_rule(replace(calm, per_second=calm.per_second[:5])) == []


def test_sample_size_rule() -> None:
    small = make_result([replace(HEALTH, rps=50)], seconds=4, seed=12)
    assert small.histogram.total < rec.MIN_RESPONSES
    (line,) = rec.sample_size_rule(small)
    assert f"{small.histogram.total:,} responses" in line
    assert rec.sample_size_rule(healthy()) == []


def test_empty_run_does_not_crash() -> None:
    result = make_result([HEALTH], seconds=1, seed=13)
    empty = replace(result, summary=Stats(), endpoints=[], errors=[], per_second=[])
    empty.histogram.counts = [0] * len(empty.histogram.counts)
    empty.histogram.total = 0
    assert rec.recommend(empty) == rec.nothing_measured_rule(empty)  # never the all-clear


def test_run_summary_ends_with_numbered_recommendations() -> None:
    result = make_result([replace(QUERY, rps=30)], seconds=10, seed=14, users=1)
    text = run_summary(result)
    tail = text[text.index("Recommendations") :].splitlines()
    expected = rec.recommend(result)
    assert len(expected) >= 2
    assert tail[2 : 2 + len(expected)] == [f"{i}. {r}" for i, r in enumerate(expected, 1)]
