"""Thresholds and the regression gate: what is measured, the lines printed, the exit code."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui_loadtest.compare import compare
from tui_loadtest.errors import EXIT_INTERRUPTED, EXIT_UNREACHABLE, EXIT_USAGE, UserError
from tui_loadtest.pipeline import gates
from tui_loadtest.pipeline.outputs import RunOutputs
from tui_loadtest.scenario import Threshold, parse_scenario
from tui_loadtest.stats.thresholds import measure
from tui_loadtest.store import Baseline, BaselineStore

from .synthetic import HEALTH, QUERY, make_result


def result():
    return make_result([HEALTH, replace(QUERY, failures=[("http", 500, 0.02)])], seconds=20, seed=5)


@pytest.mark.parametrize(
    ("metric", "field"),
    [("p50_ms", "p50"), ("p90_ms", "p90"), ("p95_ms", "p95"), ("p99_ms", "p99"),
     ("p999_ms", "p999"), ("max_ms", "max"), ("mean_ms", "mean")],
)  # fmt: skip
def test_latency_thresholds_read_the_whole_run(metric: str, field: str) -> None:
    r = result()
    assert measure(Threshold(metric, 1.0), r) == getattr(r.summary.latency, field)


def test_rate_thresholds_and_endpoint_thresholds() -> None:
    r = result()
    assert measure(Threshold("error_rate", 0.01), r) == r.summary.error_rate
    assert measure(Threshold("rps_min", 10), r) == r.summary.rps
    query = r.endpoint(QUERY.name).stats
    assert measure(Threshold("p99_ms", 800, QUERY.name), r) == query.latency.p99
    assert measure(Threshold("error_rate", 0.01, QUERY.name), r) == query.error_rate
    assert measure(Threshold("p99_ms", 800, "GET /missing"), r) is None


def test_threshold_lines_name_the_gate_and_the_measured_value() -> None:
    r = result()
    p95 = r.summary.latency.p95
    checks = gates.evaluate_thresholds(
        [
            Threshold("p95_ms", p95 * 2),
            Threshold("p95_ms", r.endpoint(HEALTH.name).stats.latency.p95 / 2, HEALTH.name),
            Threshold("error_rate", 0.001),
            Threshold("rps_min", r.summary.rps + 1),
            Threshold("p99_ms", 100, "GET /missing"),
        ],
        r,
    )
    assert [c.passed for c in checks] == [True, False, False, False, False]
    assert checks[0].line.startswith("✓ p95_ms <= ")
    assert checks[1].line.startswith(f"✗ endpoints.{HEALTH.name}.p95_ms <= ")
    assert "measured" in checks[1].line and "ms" in checks[1].line
    assert f"{r.summary.error_rate * 100:.2f}%" in checks[2].measured
    assert checks[3].name.startswith("rps_min >= ") and "req/s" in checks[3].measured
    assert checks[4].measured == "not measured: no responses"
    assert checks[2].failure.startswith("threshold failed: error_rate <= 0.001 (measured")


def test_thresholds_from_a_scenario_file() -> None:
    data = {
        "host": "http://127.0.0.1:1",
        "requests": [{"method": "GET", "path": "/api/health"}],
        "thresholds": {"p95_ms": 500, "error_rate": 0.01, "rps_min": 1e6,
                       "endpoints": {"GET /api/health": {"p99_ms": 0.001}}},
    }  # fmt: skip
    scenario = parse_scenario(data, "ci.toml")
    r = make_result([HEALTH], seconds=5, seed=6)
    failed = [g.name for g in gates.evaluate_thresholds(scenario.thresholds, r) if not g.passed]
    assert failed == ["rps_min >= 1000000", "endpoints.GET /api/health.p99_ms <= 0.001"]


def test_regression_gate() -> None:
    a = make_result([HEALTH, QUERY], seconds=30, seed=1)
    slower = make_result([HEALTH, QUERY], seconds=30, seed=2, slowdown=1.35)
    fails = gates.regression_gates(compare(a, slower, baseline_name="main"))
    assert fails and not any(g.passed for g in fails)
    assert any(g.name.startswith("overall P95") for g in fails)
    assert all("against main" in g.name and "beyond 10%" in g.measured for g in fails)
    same = make_result([HEALTH, QUERY], seconds=30, seed=3)
    (ok,) = gates.regression_gates(compare(a, same, baseline_name="main"))
    assert ok.passed and ok.line.startswith("✓ no regression against main beyond 10%")
    # A 35 % slowdown passes a gate set at 60 %.
    (loose,) = gates.regression_gates(compare(a, slower, threshold=0.6, baseline_name="main"))
    assert loose.passed


def test_exit_codes() -> None:
    ok = gates.GateResult("threshold", "x", True, "")
    bad = gates.GateResult("threshold", "y", False, "")
    assert gates.exit_code(0, []) == 0
    assert gates.exit_code(0, [ok]) == 0
    assert gates.exit_code(0, [ok, bad]) == 1
    for code in (EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED):
        assert gates.exit_code(code, [bad]) == code


def test_run_outputs_print_every_gate_and_name_each_failure(capsys) -> None:  # noqa: ANN001
    base = make_result([HEALTH, QUERY], seconds=30, seed=1)
    run = make_result([HEALTH, QUERY], seconds=30, seed=2, slowdown=1.4)
    outputs = RunOutputs(
        compare_to=Baseline("main", "2024-01-01T00:00:00", base),
        thresholds=(Threshold("p95_ms", 0.5), Threshold("error_rate", 0.5)),
    )
    assert outputs.finish(run, 0) == 1
    out, err = capsys.readouterr()
    assert "Baseline Comparison" in out and "Verdict: regressed" in out
    assert "✓ error_rate <= 0.5" in out and "✗ p95_ms <= 0.5" in out
    failures = err.strip().splitlines()
    assert failures[0].startswith("tui-loadtest: threshold failed: p95_ms <= 0.5 (measured")
    assert all("regression: " in line for line in failures[1:]) and len(failures) > 1
    # An interrupted run keeps 130 even with failed gates.
    assert outputs.finish(run, EXIT_INTERRUPTED) == EXIT_INTERRUPTED


def test_run_outputs_hand_their_lines_to_the_caller(tmp_path) -> None:  # noqa: ANN001
    """The pipeline knows no terminal: another front end collects what it says."""
    from tui_loadtest.pipeline.outputs import OutputOptions, prepare_outputs

    base = make_result([HEALTH, QUERY], seconds=30, seed=1)
    run = make_result([HEALTH, QUERY], seconds=30, seed=2, slowdown=1.4)
    store = BaselineStore(tmp_path / "s.sqlite3")
    store.save(Baseline("main", "2024-01-01T00:00:00", base))
    options = OutputOptions(
        store=str(store.path),
        compare_to="main",
        save_baseline="next",
        html=str(tmp_path / "r.html"),
        thresholds=(Threshold("error_rate", 0.5),),
    )
    outputs = prepare_outputs(options)
    lines: list[str] = []
    notes: list[str] = []
    outputs.emit, outputs.note = lines.append, notes.append
    assert outputs.finish(run, 0) == 1
    text = "\n".join(lines)
    assert "Baseline Comparison" in text and "✓ error_rate <= 0.5" in text
    assert notes[0] == f"HTML report written to {tmp_path / 'r.html'}"
    assert any(n.startswith("regression: ") for n in notes)
    assert notes[-1] == f'baseline "next" saved in {store.path}' and store.exists("next")
    assert outputs.comparison is not None and outputs.comparison.regressions
    # Checked before the run: a missing baseline or a taken name is one line, exit 2.
    for bad in (OutputOptions(store=str(store.path), compare_to="mian"),
                OutputOptions(store=str(store.path), save_baseline="main")):  # fmt: skip
        with pytest.raises(UserError) as info:
            prepare_outputs(bad)
        assert info.value.exit_code == 2


def test_exit_code_on_error_applies_only_when_nothing_says_more() -> None:
    clean = make_result([HEALTH], seconds=5, seed=3)
    failing = result()
    assert failing.summary.failures > 0 and clean.summary.failures == 0
    notes: list[str] = []
    outputs = RunOutputs(error_code=7, note=notes.append)
    assert outputs.finish(failing, 0) == 7
    assert notes == [f"{failing.summary.failures:,} request(s) failed: exit code 7"
                     " (--exit-code-on-error)"]  # fmt: skip
    assert outputs.finish(clean, 0) == 0
    for code in (EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED):
        assert outputs.finish(failing, code) == code
    gated = RunOutputs(error_code=7, thresholds=(Threshold("error_rate", 0.0),))
    assert gated.finish(failing, 0) == 1  # a failed threshold says more
    assert RunOutputs().finish(failing, 0) == 0  # without the flag, as before
