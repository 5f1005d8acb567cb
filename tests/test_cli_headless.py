"""The command line end to end: real processes, a real demo server, real reports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def cli(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_headless_run_report_matches_the_servers_count(demo_server, demo_url, tmp_path):
    out = tmp_path / "report.json"
    mixed = CONFIGS / "mixed.toml"
    args = f"run {mixed} --no-ui -t 3s -u 20 -r 200 --host {demo_url} --interval 1 --out {out}"
    proc = cli(*args.split())
    assert proc.returncode == 0, proc.stderr
    progress = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
    assert len(progress) >= 2
    assert re.search(r"users \d+/20 \| [\d,.]+ req/s", progress[-1])
    for heading in ("Overall Summary", "Endpoint Performance", "Errors", "Requests per Second"):
        assert heading in proc.stdout

    report = json.loads(out.read_text())
    served = demo_server.stats()
    assert report["summary"]["requests"] == served["requests"] > 0
    by_route = served["by_route"]
    for ep in report["endpoints"]:
        assert ep["requests"] == by_route.get(ep["name"], 0), ep["name"]
    assert report["summary"]["failures"] == 0
    assert report["load"]["users"] == 20 and report["load"]["workers"] == 1
    assert 2.5 <= report["duration_s"] <= 4.0
    assert len(report["timeline"]) >= 3
    hist_total = report["histograms"]["total"]
    assert hist_total["count"] == report["summary"]["requests"]
    assert sum(c for _, c in hist_total["buckets"]) == hist_total["count"]
    lat = report["summary"]["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]


def test_two_workers_split_users_and_merge_exactly(demo_server, demo_url, tmp_path):
    out = tmp_path / "r.json"
    scenario = tmp_path / "fast.toml"
    scenario.write_text('[load]\nusers = 10\n[[requests]]\npath = "/api/health"\n')
    args = f"run {scenario} --no-ui -n 3000 --workers 2 --host {demo_url} --out {out}"
    proc = cli(*args.split())
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["summary"]["requests"] == 3000 == demo_server.stats()["requests"]
    assert report["load"]["workers"] == 2


def test_dead_host_exits_3_with_one_line(tmp_path):
    port = free_port()
    proc = cli("run", "--no-ui", "--host", f"http://127.0.0.1:{port}", "-t", "2s")
    line = assert_one_line_error(proc, 3)
    assert f"127.0.0.1:{port}" in line and "refused" in line


def test_broken_scenario_exits_2_naming_the_key(tmp_path):
    bad = tmp_path / "mixed.toml"
    bad.write_text('[load]\nusers = "ten"\n[[requests]]\npath = "/"\n')
    line = assert_one_line_error(cli("run", str(bad), "--no-ui"), 2)
    assert line.endswith('mixed.toml: load.users: expected a positive integer, got "ten"')


def test_missing_scenario_file_exits_2(tmp_path):
    line = assert_one_line_error(cli("run", str(tmp_path / "nope.toml"), "--no-ui"), 2)
    assert "nope.toml" in line


def test_unknown_flag_exits_2():
    proc = cli("run", "--bogus")
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_explains_commands_and_exit_codes():
    proc = cli("run", "--help")
    assert proc.returncode == 0
    for text in ("--no-ui", "--users", "--run-time", "--requests", "--workers", "--out", "130"):
        assert text in proc.stdout


def test_bench_defaults_send_exactly_1000_requests(demo_server, demo_url, tmp_path):
    proc = cli("bench", f"{demo_url}/api/health", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    reports = list(tmp_path.glob("performance_report_*.json"))
    assert len(reports) == 1
    assert re.fullmatch(r"performance_report_\d{8}_\d{6}\.json", reports[0].name)
    report = json.loads(reports[0].read_text())
    assert report["summary"]["requests"] == 1000 == demo_server.stats()["requests"]
    assert report["load"]["users"] == 100
    assert "Total Requests: 1,000" in proc.stdout


def test_ctrl_c_exits_130_and_still_writes_the_report(demo_url, tmp_path):
    out = tmp_path / "partial.json"
    args = f"run --no-ui --host {demo_url} -t 60s --interval 0.5 --out {out}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", *args.split()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        for line in proc.stdout:  # wait until the run is really going
            if line.startswith("[") or time.monotonic() > deadline:
                break
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    report = json.loads(out.read_text())
    assert report["outcome"]["interrupted"] is True
    assert report["summary"]["requests"] > 0
    assert report["duration_s"] < 30
