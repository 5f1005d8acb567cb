"""`bench URL TOTAL USERS`, as the guide's performance_test.py: every user at once, and
reports that say how many users the target really saw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.report.baseline_text import baseline_report
from tui_loadtest.report.html import html_report
from tui_loadtest.report.json_report import read_report
from tui_loadtest.store.records import Baseline

from .servers import HoldingServer


@pytest.fixture
def holding() -> Iterator[tuple[HoldingServer, str]]:
    server = HoldingServer(hold_s=0.02)
    url = server.start()
    yield server, url
    server.stop()


def bench(url: str, out: Path, *args: str) -> int:
    return main(["bench", url, *args, "--out", str(out)])


def test_bench_holds_every_user_at_once(holding, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """1,000 requests from 100 users, each answer held 20 ms: the server holds 100 at
    once (users started over a second reached about 60 before the budget ran out)."""
    server, url = holding
    out = tmp_path / "r.json"
    assert bench(f"{url}/x", out, "1000", "100") == 0
    text = capsys.readouterr().out
    assert server.requests == 1000
    assert server.peak == 100
    assert json.loads(out.read_text())["outcome"]["users"]["peak"] == 100
    assert "Concurrent Users: 100 planned, 100 reached" in text


def test_the_flag_form_starts_every_user_at_once_too(holding, tmp_path: Path) -> None:  # noqa: ANN001
    server, url = holding
    assert bench(f"{url}/x", tmp_path / "r.json", "-n", "600", "-c", "60", "-m", "GET") == 0
    assert server.requests == 600
    assert server.peak == 60


def test_every_report_says_the_users_reached(holding, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """20 requests for 100 users: only 20 users can send one, and each report says so
    where it shows the concurrency, as the server saw it."""
    server, url = holding
    out = tmp_path / "r.json"
    assert bench(f"{url}/x", out, "20", "100") == 0
    assert server.requests == 20
    reached = f"100 planned, {server.peak} reached"
    assert server.peak == 20
    assert f"Concurrent Users: {reached}" in capsys.readouterr().out
    result = read_report(out)
    assert result.outcome["users"]["peak"] == server.peak  # the JSON report
    text = baseline_report(Baseline("b", "2024-01-01T12:00:00", result))
    assert any(line.startswith(f"Concurrent Users: {reached}, ") for line in text.splitlines())
    assert f"users: {reached}" in html_report(result)


@pytest.fixture
def dead() -> Iterator[tuple[HoldingServer, str]]:
    """A target that answers 404 to everything: a path that does not exist."""
    server = HoldingServer(hold_s=0.0, status=404)
    url = server.start()
    yield server, url
    server.stop()


def test_bench_exits_1_when_every_request_failed(dead, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    server, url = dead
    out = tmp_path / "r.json"
    assert bench(f"{url}/missing", out, "50", "5") == 1
    assert server.requests == 50
    assert json.loads(out.read_text())["summary"]["failures"] == 50  # the report is written
    assert "every request failed (50 of 50): exit code 1" in capfd.readouterr().err


def test_run_keeps_exit_0_when_every_request_failed(dead, tmp_path: Path) -> None:  # noqa: ANN001
    """run follows k6: only thresholds and gates (and --exit-code-on-error) fail a run."""
    server, url = dead
    args = ["run", f"{url}/missing", "--no-ui", "-n", "30", "-c", "3"]
    assert main([*args, "--out", str(tmp_path / "r.json")]) == 0
    assert main([*args, "--exit-code-on-error", "5"]) == 5
    assert server.requests == 60


def test_bench_exit_code_on_error_still_wins(dead, tmp_path: Path) -> None:  # noqa: ANN001
    _, url = dead
    assert bench(f"{url}/missing", tmp_path / "r.json", "20", "2", "--exit-code-on-error", "5") == 5


def test_bench_exits_0_when_some_requests_succeeded(tmp_path: Path) -> None:
    server = HoldingServer(hold_s=0.0, fail_every=2)  # half of them fail
    url = server.start()
    try:
        out = tmp_path / "r.json"
        assert bench(f"{url}/flaky", out, "40", "4") == 0
    finally:
        server.stop()
    assert server.failed == 20
    assert json.loads(out.read_text())["summary"]["failures"] == server.failed


def test_a_bench_load_starts_every_user_at_once() -> None:
    """As performance_test.py URL total concurrent: no ramp (spawned over a second, a
    short bench reached 8 of 100 users)."""
    from tui_loadtest.cli.bench import bench_load
    from tui_loadtest.scenario import url_scenario

    for load in (bench_load(1000, 100, None, False), bench_load(1000, 100, "5s", False)):
        sc = url_scenario("http://127.0.0.1:8000/x", load=load)
        assert sc.load.starts_at_once and sc.load.users == 100
