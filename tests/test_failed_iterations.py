"""A script task that raises is a failed iteration, and counts wherever a user looks: the
summary (text, dashboard, HTML), the recommendations, the exit code, thresholds, JUnit
and the JSON report. Real scripts through the real CLI against the demo API."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from tui_loadtest.errors import ScenarioError
from tui_loadtest.report import recommendations as rec
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.stats.model import Stats
from tui_loadtest.stats.result import RunResult
from tui_loadtest.ui.widgets.summary import summary_renderable

from .synthetic import HEALTH, make_result

# Every task raises after its request: no request fails, every iteration does.
RAISES_AFTER = """
from tui_loadtest.script import task

@task
async def boom(user):
    await user.get("/api/health")
    raise ValueError("no such thing")
"""

# Every task raises before sending anything: no request at all.
RAISES_FIRST = """
from tui_loadtest.script import task

@task
async def broken(user):
    raise KeyError("token")
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def scenario_file(folder: Path, url: str, script: str, extra: str = "") -> None:
    (folder / "users.py").write_text(script, encoding="utf-8")
    (folder / "s.toml").write_text(
        f'host = "{url}"\nscript = "users.py"\n[load]\nusers = 3\nrun_time = "1s"\n{extra}',
        encoding="utf-8",
    )


def test_every_task_raising_counts_in_the_summary_report_junit_and_exit_code(
    demo_server, tmp_path: Path
) -> None:  # noqa: ANN001
    demo_server.reset()
    scenario_file(tmp_path, demo_server.url, RAISES_AFTER)
    proc = cli(
        "run", "s.toml", "--no-ui", "--exit-code-on-error", "5", "--out", "r.json",
        "--junit", "j.xml", "--html", "r.html", cwd=tmp_path,
    )  # fmt: skip
    # --exit-code-on-error applies to failed iterations as to failed requests.
    assert proc.returncode == 5, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    summary = report["summary"]
    (flow,) = report["flows"]
    served = demo_server.stats()["requests"]
    assert summary["requests"] == served and summary["failures"] == 0
    # One iteration per request, but for a task the end of the run cut short (one per user).
    assert flow["iterations"] > 10 and 0 <= served - flow["iterations"] <= 3
    assert summary["iterations"] == summary["failed_iterations"] == flow["iterations"]
    assert summary["iteration_failure_rate"] == 1.0
    (error,) = report["errors"]
    assert (error["kind"], error["endpoint"], error["count"]) == (
        "script",
        "boom",
        flow["iterations"],
    )
    n = f"{flow['iterations']:,}"
    assert f"{n} iteration(s) failed: exit code 5 (--exit-code-on-error)" in proc.stderr

    # The text summary: the error rate's companion line, and no all-clear.
    lines = proc.stdout.splitlines()
    assert lines[lines.index("Error Rate: 0.00%") + 1] == f"Failed Iterations: {n} of {n} (100.00%)"
    assert rec.ALL_CLEAR not in proc.stdout
    advice = " ".join(proc.stdout[proc.stdout.index("Recommendations") :].split())  # wrapped
    assert (
        f"1. {n} of {n} iterations failed (100.00%), all in boom: the task raised"
        " ValueError: no such thing" in advice
    )
    # The error table's row: kind, task, count, the exception.
    assert any(line.split()[:3] == ["script", "boom", n] for line in lines), proc.stdout

    # The dashboard's end summary, drawn from the same result.
    result = RunResult.from_report(report)
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(summary_renderable(result))
    drawn = " ".join(console.export_text().split())
    assert f"Failed Iterations {n} of {n} (100.00%)" in drawn
    assert rec.ALL_CLEAR not in drawn and "iterations failed" in drawn

    # HTML: a card beside the error rate; JUnit: the case --exit-code-on-error decides.
    html = (tmp_path / "r.html").read_text()
    assert f'Failed iterations</div><div class="v tone-bad">{n} of {n} (100.00%)' in html
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failed = cases["no request or iteration failed (--exit-code-on-error 5)"].find("failure")
    assert failed is not None
    assert failed.get("message") == (
        f"0 of {served:,} requests failed, {n} of {n} iterations failed"
    )
    assert cases["the run completed"].find("failure") is None


def test_without_the_flag_the_exit_code_stays_0_and_says_how_to_fail(
    demo_server, tmp_path: Path
) -> None:  # noqa: ANN001
    """`run` keeps k6's convention (failures alone do not change its exit code), and says
    how to make a build fail on them."""
    demo_server.reset()
    scenario_file(tmp_path, demo_server.url, RAISES_AFTER)
    proc = cli("run", "s.toml", "--no-ui", "--junit", "j.xml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "iterations failed; the exit code stays 0 (--exit-code-on-error 1" in proc.stderr
    run_case = next(ET.parse(tmp_path / "j.xml").getroot().iter("testcase"))
    out = run_case.find("system-out")
    assert out is not None and out.text is not None and "iterations failed" in out.text


def test_an_iteration_threshold_fails_a_run_that_measured_no_request(
    demo_server, tmp_path: Path
) -> None:  # noqa: ANN001
    demo_server.reset()
    scenario_file(
        tmp_path, demo_server.url, RAISES_FIRST, "[thresholds]\niteration_failure_rate = 0.01\n"
    )
    proc = cli("run", "s.toml", "--no-ui", "--out", "r.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert demo_server.stats()["requests"] == 0
    report = json.loads((tmp_path / "r.json").read_text())
    (threshold,) = report["thresholds"]
    assert threshold["metric"] == "iteration_failure_rate"
    assert threshold["value"] == 1.0 and threshold["passed"] is False
    assert "✗ iteration_failure_rate <= 0.01  (measured 1 = 100.00%)" in proc.stdout
    assert "threshold failed: iteration_failure_rate <= 0.01" in proc.stderr
    # Nothing measured: never the all-clear.
    assert rec.ALL_CLEAR not in proc.stdout
    assert "1. No request was measured" in proc.stdout


def test_a_run_that_measured_nothing_gets_no_all_clear() -> None:
    result = make_result([HEALTH], seconds=1, seed=13)
    empty = replace(result, summary=Stats(), endpoints=[], errors=[], per_second=[])
    lines = rec.recommend(empty)
    assert rec.ALL_CLEAR not in lines
    assert lines[0].startswith("No request was measured")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"requests": [{"path": "/"}], "thresholds": {"iteration_failure_rate": 0.1}},
            "x.toml: thresholds.iteration_failure_rate: needs [[flows]] or a script",
        ),
        (
            {
                "requests": [{"path": "/"}],
                "thresholds": {"endpoints": {"GET /": {"iteration_failure_rate": 0.1}}},
            },
            'x.toml: thresholds.endpoints."GET /".iteration_failure_rate: is for the whole run',
        ),  # fmt: skip
        (
            {
                "flows": [{"name": "f", "steps": [{"path": "/"}]}],
                "thresholds": {"iteration_failure_rate": 2},
            },
            "x.toml: thresholds.iteration_failure_rate: expected a fraction between 0 and 1",
        ),  # fmt: skip
    ],
)
def test_iteration_threshold_is_checked_when_the_scenario_loads(data, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "x.toml", env={})
    assert str(caught.value).startswith(message), str(caught.value)
