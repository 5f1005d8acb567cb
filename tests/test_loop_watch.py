"""A blocking call in a script stalls its worker's event loop (issue 24, item 4): the
stall is measured, named after the task and line that blocked, and kept apart from the
target's latency in the report and the summary."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from tui_loadtest.engine.loop_watch import LoopWatch
from tui_loadtest.scenario import LoadSpec, script_scenario
from tui_loadtest.store import BaselineStore

from .engine_harness import run_engine, totals
from .servers import CountingServer

SLEEPY = """\
import time

from tui_loadtest.script import task


@task
async def sleepy(user):
    await user.get("/")
    time.sleep(0.5)
"""
SLEEP_LINE = 9  # the line of time.sleep(0.5) above

BUSY = """\
import time

from tui_loadtest.script import task


def crunch(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end: n += 1
    return n


@task
async def busy(user):
    await user.get("/")
    crunch(0.3)
"""
BUSY_LINE = 9  # the busy loop in crunch


def _engine_run(tmp_path: Path, name: str, text: str, requests: int):  # noqa: ANN202
    script = tmp_path / name
    script.write_text(text, encoding="utf-8")
    server = CountingServer()
    url = server.start()
    try:
        sc = script_scenario(script)
        sc = replace(sc, load=LoadSpec(users=2, spawn_rate=100, requests=requests))
        agg = asyncio.run(run_engine(sc, url))
    finally:
        server.stop()
    return agg, server


def test_a_blocking_call_in_a_task_is_named_with_its_line(tmp_path: Path) -> None:
    agg, server = _engine_run(tmp_path, "sleepy.py", SLEEPY, requests=4)
    assert totals(agg)[0] == server.requests == 4
    assert agg.stalls, "a time.sleep(0.5) on the loop is a stall"
    for _tick, worker, culprit, blocked, in_flight in agg.stalls:
        assert worker == 0 and culprit == f"task sleepy (sleepy.py:{SLEEP_LINE})"
        # the beat was due at most one period after the sleep began
        assert blocked >= 0.45 and 0 <= in_flight <= 2
    # one event for the culprit, however many stalls it made
    said = [e for e in agg.events if "event loop was blocked" in e.text]
    assert len(said) == 1 and said[0].level == "warning"
    assert f"task sleepy (sleepy.py:{SLEEP_LINE})" in said[0].text
    assert "await asyncio.sleep" in said[0].text
    # the lag is measured all along: the stall is in the loop's lag histogram
    assert agg.loop_lag.total > 0 and agg.loop_lag.max() >= 450_000


def test_a_cpu_bound_task_is_caught_the_same_way(tmp_path: Path) -> None:
    agg, server = _engine_run(tmp_path, "busy.py", BUSY, requests=3)
    assert totals(agg)[0] == server.requests == 3
    assert agg.stalls
    culprits = {culprit for _t, _w, culprit, _b, _n in agg.stalls}
    # the innermost line of user code, in the helper the task called
    assert culprits == {f"task busy (busy.py:{BUSY_LINE}, in crunch)"}
    assert all(b >= 0.25 for *_, b, _n in agg.stalls)


def test_the_watch_counts_the_requests_in_flight_across_a_stall() -> None:
    async def main() -> tuple[list, list[str]]:
        loop = asyncio.get_running_loop()
        watch = LoopWatch(loop, worker=3, in_flight=lambda: 7)
        watch.start()
        await asyncio.sleep(0.05)

        def block() -> None:
            time.sleep(0.3)

        loop.call_soon(block)
        await asyncio.sleep(0.1)  # the beat after the stall has run
        watch.stop()
        taken = watch.take()
        return taken.stalls, taken.notes

    stalls, notes = asyncio.run(main())
    ((culprit, blocked, in_flight),) = stalls
    assert culprit.startswith("block (test_loop_watch.py:") and blocked >= 0.25
    assert in_flight == 7
    assert len(notes) == 1 and notes[0].startswith("worker 3: the event loop was blocked")


def test_the_report_and_the_summary_show_the_stalls(tmp_path: Path) -> None:
    (tmp_path / "sleepy.py").write_text(SLEEPY, encoding="utf-8")
    server = CountingServer()
    url = server.start()
    try:
        args = ["run", "sleepy.py", "--no-ui", "-t", "2s", "-u", "2", "--host", url,
                "--store", "s.sqlite3", "--save-baseline", "sleepy"]  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "tui_loadtest", *args, "--out", "r.json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["requests"] == server.requests
    loop = report["generator"]["loop"]
    assert loop["stalls"] >= 1 and loop["blocked_s"] >= 0.45 * loop["stalls"]
    assert loop["max_stall_ms"] >= 450 and loop["lag_ms"]["max"] >= 450
    assert loop["culprits"][0]["culprit"] == f"task sleepy (sleepy.py:{SLEEP_LINE})"
    assert loop["culprits"][0]["stalls"] == loop["stalls"]
    assert 0 <= loop["stalled_requests"] <= report["summary"]["requests"]
    assert loop["stalled_seconds"] and all(0 <= t <= 3 for t in loop["stalled_seconds"])
    assert report["generator"]["machine"]["cpus"] >= 1
    # the baseline keeps them, as it keeps the whole report
    kept = BaselineStore(tmp_path / "s.sqlite3").load("sleepy").result.generator
    assert kept["loop"] == loop and kept["machine"] == report["generator"]["machine"]
    out = proc.stdout
    assert "Generator: its event loop was blocked" in out
    assert f"task sleepy (sleepy.py:{SLEEP_LINE})" in out
    # the stall is not read as the target's latency
    assert "profile it" not in out and "profile the endpoint" not in out
