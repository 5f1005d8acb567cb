"""``tui-loadtest baselines ...`` and the run flags, in process and end to end."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.report.baseline_text import baseline_report
from tui_loadtest.report.fit import PIPED_WIDTH
from tui_loadtest.report.json_report import write_report
from tui_loadtest.store import Baseline, BaselineStore

from .synthetic import HEALTH, QUERY, Ep, make_result


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BaselineStore:
    path = tmp_path / "team" / "baselines.sqlite3"
    path.parent.mkdir()
    monkeypatch.setenv("TUI_LOADTEST_STORE", str(path))
    s = BaselineStore(path)
    fast = make_result([HEALTH, QUERY], seconds=30, seed=1, scenario_name="checkout")
    slow = make_result([HEALTH, QUERY], seconds=30, seed=2, slowdown=1.4, host="http://staging")
    s.save(Baseline("v1", "2024-01-01T10:00:00+00:00", fast, {"source": "run"}))
    s.save(Baseline("v2", "2024-02-01T10:00:00+00:00", slow, {"source": "run"}))
    return s


def run_cli(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_list_text_json_sort_and_filter(store, capsys) -> None:  # noqa: ANN001
    code, out, _ = run_cli(capsys, "baselines", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Name", "Created", "Scenario"]
    assert [ln.split()[0] for ln in lines[2:4]] == ["v2", "v1"]  # the newest first
    assert f"2 baseline(s) in {store.path}" in out
    _, out, _ = run_cli(capsys, "baselines", "list", "--reverse")
    assert [ln.split()[0] for ln in out.splitlines()[2:4]] == ["v1", "v2"]
    _, out, _ = run_cli(capsys, "baselines", "list", "--json")
    assert [b["name"] for b in json.loads(out)["baselines"]] == ["v2", "v1"]

    code, out, _ = run_cli(capsys, "baselines", "list", "--json", "--sort", "p95")
    data = json.loads(out)
    assert data["store"] == str(store.path)
    assert [b["name"] for b in data["baselines"]] == ["v1", "v2"]
    first = data["baselines"][0]
    assert first["rps"] == pytest.approx(store.load("v1").result.summary.rps, rel=1e-6)
    assert {"p95_ms", "error_rate", "rating", "scenario", "host", "created_at"} <= set(first)

    _, out, _ = run_cli(capsys, "baselines", "list", "--json", "--sort", "p95", "--reverse")
    assert [b["name"] for b in json.loads(out)["baselines"]] == ["v2", "v1"]
    _, out, _ = run_cli(capsys, "baselines", "list", "--json", "--filter", "STAGING")
    assert [b["name"] for b in json.loads(out)["baselines"]] == ["v2"]
    _, out, _ = run_cli(capsys, "baselines", "list", "--filter", "nothing-like-this")
    assert "match" in out


def test_long_names_are_never_cut_and_wide_cuts_nothing(
    store, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    long = "checkout-service-after-the-connection-pool-fix-2024-03-01-rc2"
    host = "https://staging.checkout.internal.example.com:8443"
    scenario = "Checkout: browse, add to cart, pay, with a long scenario name"
    result = replace(store.load("v1").result, host=host, scenario_name=scenario)
    store.save(Baseline(long, "2024-03-01T10:00:00+00:00", result, {"source": "run"}))
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(capsys, "baselines", "list")
    assert code == 0
    rows = out.splitlines()[2:5]
    assert rows[0].split()[0] == long  # whole, and the newest first
    assert scenario not in out and "…" in rows[0]  # the scenario gives way at 80 columns
    assert "staging.che" in rows[0] and "https://" not in rows[0]  # the scheme goes first
    code, out, _ = run_cli(capsys, "baselines", "show", rows[0].split()[0])
    assert code == 0 and out.startswith(f"Baseline: {long}\n")  # copied from the list, works

    monkeypatch.setenv("COLUMNS", "240")
    _, out, _ = run_cli(capsys, "baselines", "list")
    assert scenario in out and host in out  # room enough: nothing cut
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run_cli(capsys, "baselines", "list", "--wide")
    row = out.splitlines()[2]
    assert long in row and scenario in row and host in row and "…" not in row


def test_show_and_report(store, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    code, out, _ = run_cli(capsys, "baselines", "show", "v1")
    assert code == 0
    assert out.startswith("Baseline: v1\nCreated: 2024-01-01T10:00:00+00:00\nScenario: checkout")
    assert "Environment: tui-loadtest 0.1.0, Python 3.11.7, 1 worker(s)" in out
    assert "Endpoint Performance" in out and "Recommendations" in out
    code, out, _ = run_cli(capsys, "baselines", "show", "v1", "--json")
    assert json.loads(out)["baseline"]["name"] == "v1"

    html, prefix, txt = tmp_path / "r.html", tmp_path / "csv" / "v1", tmp_path / "r.txt"
    (tmp_path / "csv").mkdir()
    code, out, err = run_cli(
        capsys, "baselines", "report", "v1", "--html", str(html), "--csv", str(prefix),
        "--out", str(txt),
    )  # fmt: skip
    assert code == 0
    assert out == baseline_report(store.load("v1"), PIPED_WIDTH) + "\n"  # not a terminal
    assert txt.read_text() == out
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "csv" / "v1_stats.csv").exists()


def test_compare_text_json_and_exit_codes(store, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    code, out, _ = run_cli(capsys, "baselines", "compare", "v1", "v2")
    assert code == 1  # v2 regressed
    assert "Verdict: regressed" in out and "Baseline: v1" in out
    code, out, _ = run_cli(capsys, "baselines", "compare", "v2", "v1", "--json")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "improved"
    assert data["baseline"] == "v2" and data["current"] == "v1"
    row = next(r for r in data["rows"] if r["scope"] == "overall" and r["metric"] == "p95_ms")
    assert row["verdict"] == "improved" and row["pct"] < -20
    code, out, _ = run_cli(capsys, "baselines", "compare", "v1", "v2", "--threshold", "80")
    assert code == 0 and "Verdict: no significant change" in out
    # A report file works where a name is expected.
    report = tmp_path / "current.json"
    write_report(store.load("v1").result, report)
    code, out, _ = run_cli(capsys, "baselines", "compare", "v1", str(report), "--json")
    assert code == 0 and json.loads(out)["verdict"] == "no significant change"


def test_rename_delete_export_import_create(store, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    assert run_cli(capsys, "baselines", "rename", "v1", "v0")[0] == 0
    assert store.names() == ["v0", "v2"]
    code, _, err = run_cli(capsys, "baselines", "rename", "v0", "v2")
    assert code == 2 and "already exists" in one_line(err)

    exported = tmp_path / "v0.json"
    assert run_cli(capsys, "baselines", "export", "v0", str(exported))[0] == 0
    data = json.loads(exported.read_text())
    assert data["baseline"]["name"] == "v0" and "histograms" in data
    _, out, _ = run_cli(capsys, "baselines", "export", "v0", "-")
    assert json.loads(out)["summary"] == data["summary"]

    code, _, err = run_cli(capsys, "baselines", "delete", "v0")  # stdin is not a terminal
    assert code == 2 and "--yes" in one_line(err)
    assert run_cli(capsys, "baselines", "delete", "v0", "--yes")[0] == 0
    assert store.names() == ["v2"]

    assert run_cli(capsys, "baselines", "import", str(exported))[0] == 0
    restored = store.load("v0")
    assert restored.created_at == "2024-01-01T10:00:00+00:00"
    assert restored.result.histogram.counts == store.load("v0").result.histogram.counts
    code, _, err = run_cli(capsys, "baselines", "import", str(exported))
    assert code == 2 and "--overwrite" in one_line(err)

    plain = tmp_path / "performance_report_20240101_120000.json"
    write_report(make_result([HEALTH], seconds=5, seed=8), plain)
    code, _, err = run_cli(capsys, "baselines", "import", str(plain))
    assert code == 2 and "--name" in one_line(err)
    code, _, err = run_cli(capsys, "baselines", "create", "--from", str(plain), "--name", "file")
    assert code == 0 and 'baseline "file" created' in err
    assert store.load("file").metadata == {"source": "report", "file": str(plain)}


def test_user_errors_are_one_line(store, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    code, _, err = run_cli(capsys, "baselines", "show", "v22")
    assert code == 2 and 'no baseline named "v22"' in one_line(err)
    assert 'did you mean "v2"' in err
    code, _, err = run_cli(capsys, "baselines", "create", "--from", str(tmp_path / "x.json"),
                           "--name", "x")  # fmt: skip
    assert code == 2 and "no such report file" in one_line(err)
    code, _, err = run_cli(capsys, "baselines", "create", "--from", "x.json", "--name", "a/b")
    assert code == 2


@pytest.mark.parametrize("damage", ["random", "newer"])
def test_a_damaged_store_is_one_line_and_left_untouched(
    tmp_path: Path,
    capsys,
    damage: str,  # noqa: ANN001
) -> None:
    path = tmp_path / "store.sqlite3"
    if damage == "random":
        path.write_bytes(os.urandom(4096))
    else:
        BaselineStore(path).save(Baseline("x", "2024", make_result([HEALTH], seconds=2, seed=1)))
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA user_version = 99")
    report = tmp_path / "r.json"
    write_report(make_result([HEALTH], seconds=2, seed=2), report)
    before = path.read_bytes()
    for args in (["list"], ["show", "x"], ["create", "--from", str(report), "--name", "y"],
                 ["compare", "x", "x"]):  # fmt: skip
        code, _, err = run_cli(capsys, "baselines", *args, "--store", str(path))
        assert code == 2, args
        assert str(path) in one_line(err)
    assert path.read_bytes() == before


# ------------------------------------------------------------------- end to end


def cli(*args: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


HEALTH_TOML = """
name = "health gate"
[load]
users = 10
[[requests]]
method = "GET"
path = "/api/health"
"""


def test_two_headless_runs_saved_then_listed_and_compared(demo_url, tmp_path: Path) -> None:  # noqa: ANN001
    env = {"TUI_LOADTEST_STORE": str(tmp_path / "s.sqlite3")}
    scenario = tmp_path / "health.toml"  # no thresholds: a busy machine must not fail them
    scenario.write_text(HEALTH_TOML)
    for name in ("monday", "tuesday"):
        proc = cli("run", str(scenario), "--no-ui", "-t", "2s", "-u", "10", "--host", demo_url,
                   "--save-baseline", name, env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert f'baseline "{name}" saved' in proc.stderr
    listed = json.loads(cli("baselines", "list", "--json", env=env).stdout)
    assert [b["name"] for b in listed["baselines"]] == ["tuesday", "monday"]  # newest first
    assert all(b["requests"] > 0 and b["host"] == demo_url for b in listed["baselines"])
    proc = cli("baselines", "compare", "monday", "tuesday", "--json", env=env)
    verdicts = ("no significant change", "improved", "regressed", "inconclusive")
    assert json.loads(proc.stdout)["verdict"] in verdicts
    report = cli("baselines", "report", "tuesday", env=env)
    assert report.returncode == 0
    assert report.stdout.splitlines()[1] == "Performance Baseline Report"
    assert "Baseline ID: tuesday" in report.stdout


def test_an_impossible_threshold_exits_1_and_names_it(demo_url, tmp_path: Path) -> None:  # noqa: ANN001
    scenario = tmp_path / "gate.toml"
    scenario.write_text(HEALTH_TOML + "[thresholds]\np99_ms = 0.001\nerror_rate = 0.5\n")
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    proc = cli("run", str(scenario), "--no-ui", "-t", "2s", "--host", demo_url,
               "--out", str(out), "--html", str(html))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    # each threshold once, in the summary (no second block repeating them after it)
    assert proc.stdout.count("✗ p99_ms <= 0.001") == 1
    assert proc.stdout.count("✓ error_rate <= 0.5") == 1 and "Gates (" not in proc.stdout
    failed = [ln for ln in proc.stderr.splitlines() if "threshold failed" in ln]
    assert len(failed) == 1 and "p99_ms <= 0.001 (measured" in failed[0]
    # Every artefact says which threshold failed: the JSON, the HTML, the text summary.
    report = json.loads(out.read_text())
    p99 = report["summary"]["latency_ms"]["p99"]
    assert report["thresholds"] == [
        {"metric": "p99_ms", "scope": "overall", "limit": 0.001, "value": p99,
         "passed": False, "label": "p99_ms <= 0.001"},
        {"metric": "error_rate", "scope": "overall", "limit": 0.5,
         "value": report["summary"]["error_rate"], "passed": True, "label": "error_rate <= 0.5"},
    ]  # fmt: skip
    summary = proc.stdout.split("Overall Summary")[1].split("Endpoint Performance")[0]
    assert "Thresholds (1/2 passed)" in summary and "✗ p99_ms <= 0.001  (measured" in summary
    page = html.read_text()
    assert "<h2>Thresholds (1/2 passed)</h2>" in page and "✗ failed" in page


def test_regression_gate_against_a_faster_baseline(demo_url, tmp_path: Path) -> None:  # noqa: ANN001
    store = BaselineStore(tmp_path / "s.sqlite3")
    # The demo's queries take about 25 ms: five times the baseline's, far past the 1 ms floor.
    query = "POST /api/agents/a1/query"
    fast = make_result([Ep(query, "POST", median_ms=5, sigma=0.2, rps=300)], seconds=10)
    store.save(Baseline("fast", "2024-01-01T00:00:00+00:00", fast))
    scenario = tmp_path / "query.toml"
    scenario.write_text(
        'name = "query gate"\n[load]\nusers = 10\n[[requests]]\nmethod = "POST"\n'
        'path = "/api/agents/a1/query"\njson = { query = "status?" }\n'
    )
    html = tmp_path / "run.html"
    proc = cli("run", str(scenario), "--no-ui", "-t", "2s", "--host", demo_url,
               "--store", str(store.path), "--compare-to", "fast", "--html", str(html))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Verdict: regressed" in proc.stdout
    assert any(
        ln.startswith("tui-loadtest: regression: overall P50") for ln in proc.stderr.splitlines()
    )
    assert "Compared with fast" in html.read_text()
    # The same run passes a gate set far above the slowdown.
    loose = cli("run", str(scenario), "--no-ui", "-t", "1s", "--host", demo_url,
                "--store", str(store.path), "--compare-to", "fast",
                "--fail-on-regression", "100000")  # fmt: skip
    assert loose.returncode == 0, loose.stderr


def test_a_missing_compare_to_baseline_fails_before_the_run(tmp_path: Path) -> None:
    proc = cli("run", "--no-ui", "-t", "30s", "--store", str(tmp_path / "s.sqlite3"),
               "--compare-to", "nope", timeout=20)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""  # no run, no summary
    assert proc.stderr.strip() == (
        f'tui-loadtest: error: no baseline named "nope" in {tmp_path / "s.sqlite3"}'
        " (the store is empty)"
    )


def test_bench_saves_a_baseline_too(demo_url, tmp_path: Path) -> None:  # noqa: ANN001
    store = tmp_path / "s.sqlite3"
    proc = cli("bench", f"{demo_url}/api/health", "200", "10", "--out", str(tmp_path / "r.json"),
               "--store", str(store), "--save-baseline", "bench")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert BaselineStore(store).load("bench").result.summary.requests == 200


def test_saving_is_skipped_for_a_run_that_did_not_complete(store, capsys) -> None:  # noqa: ANN001
    from tui_loadtest.pipeline.outputs import RunOutputs

    r = make_result([HEALTH], seconds=3, seed=4)
    interrupted = replace(r, outcome={**r.outcome, "interrupted": True})
    outputs = RunOutputs(store=store, save_name="partial")
    assert outputs.finish(interrupted, 130) == 130
    assert "not saved" in capsys.readouterr().err and not store.exists("partial")
    assert RunOutputs(store=store, save_name="done").finish(r, 0) == 0
    assert store.load("done").metadata["source"] == "run"


def test_exit_code_on_error_and_an_endpoint_where_every_request_failed(
    demo_server,
    demo_url,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """Locust's --exit-code-on-error; the summary names the endpoint that never worked."""
    scenario = tmp_path / "login.toml"
    scenario.write_text(
        'name = "login"\n[load]\nusers = 5\nrequests = 60\n'
        '[[requests]]\nmethod = "GET"\npath = "/api/health"\nweight = 1\n'
        '[[requests]]\nname = "POST /login"\nmethod = "POST"\npath = "/login"\nweight = 1\n'
    )
    plain = cli("run", str(scenario), "--no-ui", "--host", demo_url)
    assert plain.returncode == 0, plain.stderr  # failures alone do not change the code
    served = demo_server.stats()
    failed = served["by_route"]["POST (unmatched)"]  # the demo answers 404: every one failed
    assert served["requests"] == 60 and failed > 0
    line = f"Every request to POST /login failed ({failed} of {failed})"
    assert line in plain.stdout
    demo_server.reset()
    proc = cli("run", str(scenario), "--no-ui", "--host", demo_url, "--exit-code-on-error", "7")
    assert proc.returncode == 7, proc.stderr
    failed = demo_server.stats()["by_route"]["POST (unmatched)"]
    assert f"tui-loadtest: {failed} request(s) failed: exit code 7" in proc.stderr
    assert f"Every request to POST /login failed ({failed} of {failed})" in proc.stdout
