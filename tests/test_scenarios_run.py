"""Several scenarios in one run (``[[scenarios]]``): real worker processes against a
loopback server that logs when and on which connection each request arrived."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.engine.coordinator import Run
from tui_loadtest.pipeline.gates import evaluate_thresholds
from tui_loadtest.scenario import Scenario, parse_scenario
from tui_loadtest.stats.result import RunResult

from .report_schema import problems_in
from .servers import RoutesServer, response

OK = response(200, b"ok")


def scenario(url: str, **sections: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "shop",
        "host": url,
        "requests": [{"name": "browse page", "path": "/a"}, {"name": "other", "path": "/d"}],
        "flows": [{"name": "checkout", "steps": [{"path": "/b"}, {"path": "/c"}]}],
    }
    data.update(sections)
    return parse_scenario(data, "shop.toml")


def finish(run: Run) -> tuple[RunResult, Run]:
    """Start ``run`` and wait for it to end by itself (its run time, its iterations)."""
    run.start()
    try:
        assert run.wait(30), "the run did not end by itself"
    finally:
        run.close()
    return run.result(), run


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until ``condition()`` holds (checked every 20 ms), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Server(RoutesServer):
    url: str


@pytest.fixture
def server() -> Any:
    srv = Server({"/a": OK, "/b": OK, "/c": OK, "/d": OK}, delays={"/a": 0.02})
    srv.url = srv.start()
    yield srv
    srv.stop()


def test_a_closed_and_an_arrival_rate_scenario_run_together(server: Server) -> None:
    """3 users browsing in a closed loop, and checkouts arriving at 40/s from 1 s on,
    on 2 workers: the server sees exactly 3 browsing connections, checkouts at 40/s from
    1 s (within 100 ms), and each scenario's counts are the server's for its paths."""
    sc = scenario(
        server.url,
        load={"run_time": "3s"},
        scenarios=[
            {"name": "browse", "users": 3, "requests": ["browse page"]},
            {"name": "buy", "rate": 40, "max_users": 10, "start": "1s", "flows": ["checkout"]},
        ],
        thresholds={"scenarios": {"buy": {"error_rate": 0}, "browse": {"p99_ms": 0.001}}},
    )
    result, run = finish(Run(sc, server.url, workers=2))
    assert run.worker_errors == [] and result.outcome["reason"] == "run time reached"

    browse, buy = result.scenario_groups()
    assert (browse.name, browse.mode, buy.name, buy.mode) == (
        "browse",
        "users",
        "buy",
        "arrival-rate",
    )
    assert browse.stats.requests == server.hits("/a") > 0
    assert buy.stats.requests == server.hits("/b") + server.hits("/c") > 0
    assert buy.iterations == server.hits("/b") and browse.iterations == 0
    rows = {(e.scenario, e.name): e.stats.requests for e in result.endpoints}
    assert rows == {
        ("browse", "browse page"): server.hits("/a"),
        ("buy", "GET /b"): server.hits("/b"),
        ("buy", "GET /c"): server.hits("/c"),
    }
    assert result.summary.requests == len(server.log)

    # the closed scenario's users held: 3 of them, each on its keep-alive connection
    assert len({c for _, c in server.seen("/a")}) == 3
    # the open scenario's rate held, measured from the server's arrival times
    # (the slope of a least-squares line through them: a hiccup of the server's thread
    # delays a few arrivals, but hardly tilts the line; a wrong rate does)
    arrivals = [t for t, _ in server.seen("/b")]
    assert len(arrivals) > 40
    rate = 1 / statistics.linear_regression(range(len(arrivals)), arrivals).slope
    assert rate == pytest.approx(40, rel=0.05), rate
    # and it started 1 s after the run did, within 100 ms
    assert run.start_mono is not None
    assert 1.0 - 0.005 <= arrivals[0] - run.start_mono < 1.1, arrivals[0] - run.start_mono

    gates = {g.name: g.passed for g in evaluate_thresholds(sc.thresholds, result)}
    assert gates == {
        "scenarios.buy.error_rate <= 0": True,
        "scenarios.browse.p99_ms <= 0.001": False,
    }


def test_iterations_per_user_and_shared_end_the_run_exactly(server: Server) -> None:
    """No run time: each scenario ends after its iterations, and so does the run. 2 users
    of 3 iterations each send 6 requests; 5 iterations shared by 2 users of a two-step
    flow send 5 of each step."""
    sc = scenario(
        server.url,
        scenarios=[
            {"name": "each", "users": 2, "iterations_per_user": 3, "requests": ["browse page"]},
            {"name": "shared", "users": 2, "iterations": 5, "flows": ["checkout"]},
        ],
    )
    result, run = finish(Run(sc, server.url, workers=2))
    assert result.outcome["reason"] == "finished" and run.worker_errors == []
    assert (server.hits("/a"), server.hits("/b"), server.hits("/c")) == (6, 5, 5)
    each, shared = result.scenario_groups()
    assert (each.stats.requests, shared.stats.requests, shared.iterations) == (6, 10, 5)


def test_pause_and_users_apply_to_one_scenario(server: Server) -> None:
    """Pausing one scenario holds its requests while the other goes on; its users
    change alone; resuming sends again."""
    sc = scenario(
        server.url,
        load={"run_time": "60s"},
        scenarios=[
            {"name": "one", "users": 1, "think_time": "0.01s", "requests": ["browse page"]},
            {"name": "two", "users": 1, "think_time": "0.01s", "requests": ["other"]},
        ],
    )
    run = Run(sc, server.url, workers=1)
    run.start()
    try:
        wait_for(lambda: server.hits("/a") > 3 and server.hits("/d") > 3)
        run.toggle_part_pause("one")
        wait_for(lambda: run.snapshot.scenarios[0].paused)  # the worker says it is
        held = server.hits("/a")
        before = server.hits("/d")
        wait_for(lambda: server.hits("/d") > before + 20)
        assert server.hits("/a") == held  # paused: nothing more sent
        assert run.part_is_paused("one") and not run.paused

        run.set_part_users("two", 3)
        wait_for(lambda: run.snapshot.scenarios[1].users == 3)
        assert run.part_target("two") == 3 and run.users_target == 4
        assert run.snapshot.scenarios[0].target == 1  # the other kept its users

        run.toggle_part_pause("one")
        wait_for(lambda: server.hits("/a") > held + 3)
    finally:
        run.stop()
        run.wait(10)
        run.close()
    result = run.result()
    one, two = result.scenario_groups()
    assert one.stats.requests == server.hits("/a") and two.stats.requests == server.hits("/d")


SHOP = """
name = "shop"
host = "{url}"

[load]
run_time = "2s"

[[requests]]
name = "browse page"
path = "/a"

[[flows]]
name = "checkout"
steps = [{{ path = "/b" }}, {{ path = "/c" }}]

[[scenarios]]
name = "browse"
users = 2
think_time = "0.02s"
requests = ["browse page"]

[[scenarios]]
name = "buy"
rate = 20
max_users = 4
start = "0.5s"
flows = ["checkout"]

[thresholds.scenarios.buy]
error_rate = 0
[thresholds.scenarios.browse]
p50_ms = 0.001
"""


def test_the_command_line_groups_rows_and_gates_a_scenario(server: Server, tmp_path: Path) -> None:
    """Headless, with -t over [load]: the report's rows and scenarios section agree with
    what the server counted and match the schema; the summary groups the rows; a
    scenario's threshold that fails sets exit code 1."""
    path = tmp_path / "shop.toml"
    path.write_text(SHOP.format(url=server.url))
    out = tmp_path / "report.json"
    proc = cli("run", str(path), "--no-ui", "-t", "1500ms", "--workers", "2", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "threshold failed: scenarios.browse.p50_ms <= 0.001" in proc.stderr
    assert "✓ scenarios.buy.error_rate <= 0" in proc.stdout
    summary = proc.stdout
    assert "Scenarios\n" in summary and "[browse]" in summary and "[buy]" in summary
    assert summary.index("[browse]") < summary.index("browse page") < summary.index("[buy]")

    report = json.loads(out.read_text())
    assert problems_in(report) == []
    parts = {p["name"]: p for p in report["scenarios"]}
    assert parts["browse"]["requests"] == server.hits("/a") > 0
    assert parts["buy"]["requests"] == server.hits("/b") + server.hits("/c") > 0
    assert parts["buy"]["iterations"] == server.hits("/b")
    assert parts["buy"]["mode"] == "arrival-rate" and parts["browse"]["mode"] == "users"
    rows = {(e["scenario"], e["name"]): e["requests"] for e in report["endpoints"]}
    assert rows == {
        ("browse", "browse page"): server.hits("/a"),
        ("buy", "GET /b"): server.hits("/b"),
        ("buy", "GET /c"): server.hits("/c"),
    }
    assert report["load"]["run_time_s"] == 1.5  # -t bounds every scenario
    assert [s["name"] for s in report["scenario"]["scenarios"]] == ["browse", "buy"]
    # read back, the rows keep their scenario and the figures are the same
    again = RunResult.from_report(report)
    assert [(e.scenario, e.name, e.stats.requests) for e in again.endpoints] == [
        (e["scenario"], e["name"], e["requests"]) for e in report["endpoints"]
    ]
    assert [g.stats.requests for g in again.scenario_groups()] == [
        parts["browse"]["requests"],
        parts["buy"]["requests"],
    ]


def test_a_stream_file_keeps_each_rows_scenario(server: Server, tmp_path: Path) -> None:
    """`report FILE.ndjson` rebuilds the rows under their scenarios, as the run's own."""
    path = tmp_path / "shop.toml"
    path.write_text(SHOP.format(url=server.url).replace("p50_ms = 0.001", "p50_ms = 10000"))
    out, stream, again = tmp_path / "r.json", tmp_path / "s.ndjson", tmp_path / "again.json"
    proc = cli("run", str(path), "--no-ui", "-t", "2s", "--out", str(out), "--stream", str(stream))
    assert proc.returncode == 0, proc.stderr
    assert cli("report", str(stream), "--out", str(again)).returncode == 0
    run, rebuilt = json.loads(out.read_text()), json.loads(again.read_text())
    assert {e["scenario"] for e in run["endpoints"]} == {"browse", "buy"}
    for key in ("endpoints", "flows", "scenarios", "summary"):
        assert rebuilt[key] == run[key], key


@pytest.mark.parametrize("flag", [["-u", "5"], ["--rate", "9"], ["-n", "100"]])
def test_load_flags_are_refused_for_a_file_with_scenarios(tmp_path: Path, flag: list[str]) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP.format(url="http://127.0.0.1:9"))
    proc = cli("run", str(path), "--no-ui", *flag)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not for a file with [[scenarios]]" in lines[0], proc.stderr


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args], capture_output=True, text=True, timeout=60
    )


def test_a_script_scenario_beside_a_flow_one_keeps_its_rows_apart(
    server: Server, tmp_path: Path
) -> None:
    """A script's rows are found as it runs; beside another scenario's known rows, on 2
    workers, each still lands in its scenario (the same name in both is two rows), its
    checks too, and a script's iterations per user are its task calls."""
    script = tmp_path / "users.py"
    script.write_text(
        "from tui_loadtest.script import task\n\n"
        "@task\n"
        "async def look(user):\n"
        "    r = await user.get('/d', name='GET /b')\n"
        "    user.check('fine', r.status_code == 200)\n"
    )
    sc = parse_scenario(
        {
            "name": "mixed",
            "host": server.url,
            "flows": [{"name": "checkout", "steps": [{"path": "/b"}, {"path": "/c"}]}],
            "scenarios": [
                {"name": "flow", "users": 2, "iterations": 6, "flows": ["checkout"]},
                {"name": "py", "users": 2, "iterations_per_user": 4, "script": str(script)},
            ],
        },
        str(tmp_path / "mixed.toml"),
    )
    result, run = finish(Run(sc, server.url, workers=2))
    assert run.worker_errors == [] and result.outcome["reason"] == "finished"
    assert (server.hits("/b"), server.hits("/c"), server.hits("/d")) == (6, 6, 8)
    rows = {(e.scenario, e.name): e.stats.requests for e in result.endpoints}
    assert rows == {("flow", "GET /b"): 6, ("flow", "GET /c"): 6, ("py", "GET /b"): 8}
    flows = {(f.scenario, f.name): f.stats.iterations for f in result.flows}
    assert flows == {("flow", "checkout"): 6, ("py", "look"): 8}
    assert [(c.scenario, c.name, c.passed) for c in result.checks] == [("py", "fine", 8)]
