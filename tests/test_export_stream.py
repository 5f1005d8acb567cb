"""--stream FILE.ndjson and `tui-loadtest report FILE`: every complete second on disk as
it completes, a report rebuilt from it equal to the run's own, even after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.export_support import FreezableServer, cli, wait_for


@pytest.fixture
def target():
    server = FreezableServer(fail_every=7)
    url = server.start()
    yield server, url
    server.stop()


def stream_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.endswith("}")]


def test_report_rebuilt_from_the_stream_equals_the_runs_own(target, tmp_path):
    server, url = target
    stream, out, rebuilt = tmp_path / "s.ndjson", tmp_path / "run.json", tmp_path / "again.json"
    proc = cli("run", f"{url}/items", "--rate", "300", "-t", "3s", "--no-ui",
               "--stream", str(stream), "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"each second to {stream} as it completes" in proc.stderr
    lines = stream_lines(stream)
    header, seconds, end = lines[0], lines[1:-1], lines[-1]
    assert header["stream"] == "tui-loadtest" and header["endpoints"] == [["GET", "GET /items"]]
    assert [s["t"] for s in seconds] == list(range(len(seconds)))  # every second, in order
    assert end["end"]["reason"] == "run time reached"
    run = json.loads(out.read_text())
    # The top-level figures of each line are the report's timeline.
    timeline = [s for s in seconds if not s.get("last")]
    assert [{k: s[k] for k in p} for s, p in zip(timeline, run["timeline"], strict=True)] == (
        run["timeline"]
    )
    assert sum(s["rps"] for s in seconds) == run["summary"]["requests"] == server.sent

    proc = cli("report", str(stream), "--out", str(rebuilt))
    assert proc.returncode == 0, proc.stderr
    assert "Overall Summary" in proc.stdout
    again = json.loads(rebuilt.read_text())
    for key in ("summary", "endpoints", "errors", "timeline", "histograms", "load", "scenario"):
        assert again[key] == run[key], key
    assert again["summary"]["failures"] == server.failed > 0
    assert again["outcome"]["reason"] == "run time reached"


def test_a_run_killed_with_sigkill_leaves_every_complete_second(target, tmp_path):
    """The target answers, then freezes: what it sent is all the run ever measured. Once
    the stream holds the seconds past the freeze, SIGKILL; `report` rebuilds totals equal
    to the server's count."""
    server, url = target
    stream, rebuilt = tmp_path / "s.ndjson", tmp_path / "again.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", f"{url}/x", "--rate", "300", "-t", "60s",
         "--no-ui", "--stream", str(stream)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(stream_lines(stream)) >= 5, 60, "4 seconds in the stream")
        server.frozen = True
        frozen_at = len(stream_lines(stream))
        # the second the freeze fell in, and one wholly frozen: nothing is on its way
        wait_for(lambda: len(stream_lines(stream)) >= frozen_at + 2, 30, "2 more seconds")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        proc.stderr.close()
    seconds = stream_lines(stream)[1:]
    assert "end" not in seconds[-1]  # killed: no end line
    assert [s["t"] for s in seconds] == list(range(len(seconds)))
    assert server.sent > 0 and server.received > server.sent  # requests held at the kill

    done = cli("report", str(stream), "--out", str(rebuilt))
    assert done.returncode == 0, done.stderr
    again = json.loads(rebuilt.read_text())
    assert again["summary"]["requests"] == server.sent
    assert again["summary"]["failures"] == server.failed
    assert again["outcome"]["interrupted"] is True
    assert "killed?" in again["outcome"]["reason"]


def test_a_line_cut_short_is_left_out_and_said(tmp_path, target):
    server, url = target
    stream = tmp_path / "s.ndjson"
    assert cli("run", f"{url}/x", "--rate", "100", "-t", "2s", "--no-ui", "--stream",
               str(stream)).returncode == 0  # fmt: skip
    text = stream.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.ndjson"
    cut.write_text("".join(text[:-2]) + text[-2][: len(text[-2]) // 2])  # killed mid-write
    proc = cli("report", str(cut))
    assert proc.returncode == 0, proc.stderr
    assert "is cut short" in proc.stderr and "Overall Summary" in proc.stdout


def test_not_a_stream_is_one_line(tmp_path):
    other = tmp_path / "x.ndjson"
    other.write_text('{"hello": 1}\n')
    proc = cli("report", str(other))
    assert proc.returncode == 2 and "not a tui-loadtest stream" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_unwritable_stream_fails_before_any_load(tmp_path, target):
    server, url = target
    proc = cli("run", f"{url}/x", "-t", "2s", "--no-ui", "--stream", str(tmp_path / "no" / "s"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("tui-loadtest: error: --stream:")
    assert server.received == 0


def test_streams_and_checks_survive_the_stream_file(demo_url, tmp_path):
    """A run's streamed answers (TTFT, gaps, tokens), its times to first byte and its
    checks' counts come back whole from `report FILE.ndjson`."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        f'name = "S"\nhost = "{demo_url}"\n[load]\nusers = 4\nrun_time = "2s"\n'
        '[[requests]]\nname = "ask"\nmethod = "POST"\n'
        'path = "/api/agents/a1/query?stream=true"\njson = { query = "q" }\n'
        'stream = "sse"\ntokens = "json:$.choices[0].delta.content"\n'
        'checks = ["status == 200"]\n'
        '[[requests]]\npath = "/api/health"\nchecks = ["body contains \'status\'"]\n'
    )
    stream, out, rebuilt = tmp_path / "s.ndjson", tmp_path / "run.json", tmp_path / "again.json"
    proc = cli("run", str(scenario), "--no-ui", "--stream", str(stream), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    proc = cli("report", str(stream), "--out", str(rebuilt))
    assert proc.returncode == 0, proc.stderr
    run, again = json.loads(out.read_text()), json.loads(rebuilt.read_text())
    assert run["endpoints"][0]["stream"]["events"] > 0  # the run did stream
    assert run["checks"] and sum(c["passed"] for c in run["checks"]) > 0
    for key in ("summary", "endpoints", "checks", "histograms"):
        assert again[key] == run[key], key
