"""The "Performance Baseline Report" text: golden file, the guide's layout, and the Python API."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from tui_loadtest.baselines import BaselineGenerator, report_file_name
from tui_loadtest.compare import compare
from tui_loadtest.ratings import rate_error_rate, rate_response_ms, rate_throughput
from tui_loadtest.report.baseline_text import baseline_report
from tui_loadtest.report.compare_text import comparison_text
from tui_loadtest.report.json_report import write_report
from tui_loadtest.report.recommendations import recommend
from tui_loadtest.store import Baseline, BaselineExists, BaselineStore

from .synthetic import HEALTH, QUERY, Ep, make_result

GOLDEN = Path(__file__).parent / "golden" / "baseline_report.txt"
RULE, THIN = "=" * 80, "-" * 80
# The endpoint table header of the guide's example report, column for column.
TABLE_HEADER = (
    "Method   Endpoint                                  P50        P95        P99        "
    "RPS        Errors"
)


def golden_baseline() -> Baseline:
    eps = [
        HEALTH,
        replace(QUERY, failures=[("http", 503, 0.02), ("timeout", None, 0.01)]),
        Ep("GET /api/agents", median_ms=700, sigma=0.2, rps=3),
    ]
    result = make_result(eps, seconds=20, seed=42, users=100)
    return Baseline("production_baseline_v1", "2024-01-01T12:00:00", result, {"source": "test"})


def test_report_matches_the_golden_file() -> None:
    text = baseline_report(golden_baseline()) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_report_follows_the_guide_layout() -> None:
    b = golden_baseline()
    lines = baseline_report(b).splitlines()
    assert lines[:3] == [RULE, "Performance Baseline Report", RULE]
    keys = [line.split(":")[0] for line in lines[3:8]]
    assert keys == [
        "Baseline ID",
        "Generated",
        "Test Duration",
        "Total Requests",
        "Concurrent Users",
    ]
    assert lines[3] == "Baseline ID: production_baseline_v1"
    assert lines[5] == f"Test Duration: {b.result.duration_s:.2f} seconds"
    assert lines[6] == f"Total Requests: {b.result.summary.requests:,}"
    assert lines[7] == "Concurrent Users: 100"
    sections = [lines[i - 1] for i, line in enumerate(lines) if line == THIN and lines[i - 1]]
    assert sections[:2] == ["Overall Summary", "Endpoint Performance"]
    assert sections[-1] == "Recommendations"
    table = lines.index(TABLE_HEADER)
    assert lines[table + 1] == THIN
    rows = lines[table + 2 : table + 2 + len(b.result.endpoints)]
    assert [r.split()[0] for r in rows] == ["GET", "POST", "GET"]
    assert rows[1].split()[1] == "/api/agents/{id}/query"
    recs = lines[lines.index("Recommendations") + 2 :]
    assert recs == [f"{i}. {r}" for i, r in enumerate(recommend(b.result), 1)]
    assert len(recs) >= 2  # the golden run has errors and a slow endpoint to talk about


def test_rating_line_uses_the_guide_bands() -> None:
    # 4 users for about 4 requests in flight: they waited on the target, which is rated.
    result = make_result([HEALTH, QUERY], seconds=20, seed=42, users=4)
    b = Baseline("busy", "2024-01-01T12:00:00", result)
    s = b.result.summary
    (line,) = [x for x in baseline_report(b).splitlines() if x.startswith("Rating:")]
    assert f"response time {rate_response_ms(s.latency.p95).label}" in line
    assert f"error rate {rate_error_rate(s.error_rate).label}" in line
    assert line.endswith(f"throughput {rate_throughput(s.rps).label}")


def test_the_golden_runs_throughput_is_set_by_its_load() -> None:
    """100 users with about 5 requests in flight: they mostly thought, so no band."""
    (line,) = [x for x in baseline_report(golden_baseline()).splitlines() if "Rating:" in x]
    assert "throughput set by the load (users waited for responses 5% of the time" in line


def test_generator_api_mirrors_the_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "performance_report_20240101_120000.json"
    write_report(make_result([HEALTH], seconds=5, seed=3), report)
    store = BaselineStore(tmp_path / "store.sqlite3")
    generator = BaselineGenerator(store)
    results = generator.load_test_results(report)
    baseline = generator.generate_baseline(results, "production_baseline_v1")
    assert store.names() == ["production_baseline_v1"]
    assert store.load("production_baseline_v1").metadata["source"] == "python"
    with pytest.raises(BaselineExists):
        generator.generate_baseline(results, "production_baseline_v1")
    monkeypatch.chdir(tmp_path)
    path = generator.save_report(baseline)
    assert path == tmp_path / "performance_baseline_production_baseline_v1.txt"
    assert path.read_text(encoding="utf-8") == baseline_report(baseline) + "\n"
    (tmp_path / "out").mkdir()
    other = generator.save_report(baseline, tmp_path / "out" / "r.txt")
    assert other.read_text(encoding="utf-8").startswith(RULE)
    assert report_file_name("prod v1/../x") == "performance_baseline_prod_v1_.._x.txt"


def test_generator_uses_the_environment_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUI_LOADTEST_STORE", str(tmp_path / "team.sqlite3"))
    generator = BaselineGenerator()
    generator.generate_baseline(make_result([HEALTH], seconds=3, seed=4), "ci")
    assert BaselineStore(tmp_path / "team.sqlite3").names() == ["ci"]


def test_comparison_text_shows_both_runs_and_the_verdicts() -> None:
    a = make_result([HEALTH, QUERY], seconds=30, seed=1)
    b = make_result([HEALTH, QUERY], seconds=30, seed=2, slowdown=1.3)
    c = compare(a, b, baseline_name="v1", current_name="v2")
    text = comparison_text(c, "2024-01-01", "2024-01-02")
    lines = text.splitlines()
    assert lines[3] == "Baseline: v1  (2024-01-01)" and lines[4] == "Current:  v2  (2024-01-02)"
    for title in ("Overall", HEALTH.name, QUERY.name):
        assert title in lines
    p95 = next(line for line in lines if line.startswith("P95 (ms)"))
    assert p95.endswith("regressed") and "+" in p95
    assert any(line.startswith("Max (ms)") and line.endswith("not judged") for line in lines)
    assert "Verdict: regressed" in lines
    assert sum(line.startswith("  regressed: ") for line in lines) == len(c.regressions)
