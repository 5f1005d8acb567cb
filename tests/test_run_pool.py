"""A run across real worker processes (LocalProcessPool): how it ends, what it says
when a worker dies, the generator's own load and limits, each checked against a
server that counts what it received."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from tui_loadtest.engine.coordinator import Run
from tui_loadtest.engine.failures import classify
from tui_loadtest.engine.generator import SATURATED_PCT, SATURATED_S, GeneratorWatch
from tui_loadtest.report.recommendations import recommend
from tui_loadtest.report.text import run_summary
from tui_loadtest.stats.result import RunResult

from .engine_harness import scenario
from .servers import CountingServer
from .synthetic import Ep, make_result


@pytest.fixture
def counting():
    server = CountingServer()
    url = server.start()
    yield server, url
    server.stop()


@pytest.fixture
def stalled():
    server = CountingServer(respond=False)
    url = server.start()
    yield server, url
    server.stop()


def wait_for(condition, run: Run, timeout: float = 30.0) -> None:  # noqa: ANN001
    """Wait (on the run's own end event) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        run.wait(0.02)


def test_close_ends_a_run_against_a_stalled_target_at_once(stalled):
    """A graceful stop would wait out the 60 s timeout of the requests in flight; close()
    (the second Ctrl+C) ends the run in about a second, and the workers it ended are
    not reported as failed."""
    server, url = stalled
    sc = scenario(
        [{"path": "/"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "1m"},
        http={"timeout": "60s", "connect_timeout": "60s"},
    )
    run = Run(sc, url, workers=2)
    try:
        run.start()
        wait_for(lambda: server.requests == 4, run)
        run.stop("interrupted")
        began = time.monotonic()
        run.close()
        took = time.monotonic() - began
    finally:
        run.close()
    assert run.done and took < 2.0, took
    assert run.worker_errors == []
    assert not [e for e in run.snapshot.events if e.level == "error"]
    result = run.result()
    assert result.outcome["reason"] == "interrupted" and result.outcome["workers_lost"] == []


def test_a_worker_killed_from_outside_is_lost_and_its_missing_share_said(counting):
    server, url = counting
    sc = scenario(
        [{"path": "/ok"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "3s", "think_time": "0.01s"},
    )
    run = Run(sc, url, workers=2)
    try:
        run.start()
        wait_for(lambda: run.aggregate.next_tick >= 1, run)  # a first second merged
        os.kill(run.worker_info()[1].pid, signal.SIGKILL)
        assert run.wait(30)
    finally:
        run.close()
    result = run.result()
    lost = result.outcome["workers_lost"]
    assert [w["worker"] for w in lost] == [1]
    assert "signal 9" in lost[0]["reason"]
    assert 0 < lost[0]["missing_s"] <= 3 - lost[0]["at_s"] + 0.5
    assert result.outcome["reason"] == "run time reached"  # the run went on
    assert [line for line in run.worker_errors if "failed" in line] == []
    assert any("worker 1 lost" in line for line in run.worker_errors)
    assert "Degraded: worker 1 of 2 lost" in run_summary(result)
    # what the dead worker had sent is kept; what it did after its last second is not
    assert 0 < result.summary.requests <= server.requests


def test_the_report_says_users_reached_and_the_generators_cpu(counting):
    server, url = counting
    sc = scenario(
        [{"path": "/ok"}],
        load={"users": 500, "spawn_rate": 10, "run_time": "2s", "think_time": "0.05s"},
    )
    run = Run(sc, url, workers=1)
    try:
        run.start()
        assert run.wait(30)
    finally:
        run.close()
    result = run.result()
    assert result.summary.requests == server.requests
    users = result.outcome["users"]
    assert users["planned"] == 500
    # Every user reached made one connection, but a user spawned as the run ends may
    # be stopped while it connects (nothing sent): the server then sees one fewer
    # (1 run in ~15 here, spawning every 100 ms until the end).
    assert 10 <= users["peak"] < 500
    assert users["peak"] - 1 <= server.connections <= users["peak"]
    assert 0 < users["average"] < users["peak"]
    assert f"500 planned, {users['peak']} reached" in run_summary(result)
    gen = result.generator
    series = gen["cpu_pct"]["workers"]
    assert len(series) == 1 and len(series[0]) == len(result.timeline)
    assert all(v is not None and v >= 0 for v in series[0])
    assert len(gen["cpu_pct"]["coordinator"]) == len(result.timeline)
    assert gen["threshold_pct"] == SATURATED_PCT and gen["saturated"] in (True, False)
    assert result.to_report()["generator"] == gen


def test_users_that_cannot_fit_in_the_open_file_limit_get_one_line_and_exit_2(counting):
    server, url = counting

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    args = ["run", "--no-ui", "--host", url, "-u", "1000", "-t", "1s"]
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=low_limit,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "open files" in lines[0] and "256" in lines[0], lines
    assert server.requests == 0  # refused before any load


def test_the_soft_open_file_limit_is_raised_to_the_hard_one():
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 1024))

    code = "from tui_loadtest.engine.limits import raise_fd_limit; print(raise_fd_limit())"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        preexec_fn=limits,
    )  # fmt: skip
    assert proc.stdout.strip() == "(1024, 1024)", proc.stderr


@pytest.mark.parametrize("code", [errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.EADDRNOTAVAIL])
def test_local_resource_errors_are_the_generators(code):
    kind, message = classify(OSError(code, os.strerror(code)))
    assert kind == "generator" and "load generator" in message


def test_generator_failures_are_never_blamed_on_the_target():
    result = make_result([Ep("GET /x", failures=[("generator", None, 0.2)])], seconds=10)
    advice = " ".join(recommend(result))
    assert "on the load generator itself" in advice
    assert "Error rate" not in advice and "application logs" not in advice
    healthy = make_result([Ep("GET /x", failures=[("timeout", None, 0.2)])], seconds=10)
    assert "application logs" in " ".join(recommend(healthy))  # the check can fire


def test_saturation_needs_three_hot_seconds_in_a_row():
    watch = GeneratorWatch()
    hot, cool = SATURATED_PCT + 5, SATURATED_PCT - 30
    seconds = [[cool, hot]] + [[cool, hot]] * (SATURATED_S - 2) + [[cool, cool]]
    assert watch.check(seconds, 3.0) is None  # worker 1 cooled down in time
    seconds += [[cool, hot]] * SATURATED_S
    warning = watch.check(seconds, 6.0)
    assert warning is not None and "worker 1" in warning and f"{hot:.0f} %" in warning
    assert watch.check(seconds, 7.0) is None  # said once
    report = watch.report(seconds)
    assert report["saturated"] is True and report["saturated_at_s"] == 6.0
    assert report["cpu_pct"]["workers"][1][-1] == hot
    result = make_result([Ep("GET /x")], seconds=5)
    result.generator = report
    assert "Generator: saturated (worker 1" in run_summary(result)
    assert "ran out of CPU" in " ".join(recommend(result))


def _cli(*args: str, cwd) -> subprocess.Popen[str]:  # noqa: ANN001
    return subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def _worker_pids(pid: int) -> list[int]:
    import psutil

    kids = psutil.Process(pid).children(recursive=True)
    return [k.pid for k in kids if any("spawn_main" in part for part in k.cmdline())]


def test_a_worker_killed_from_outside_makes_the_command_exit_70(counting, tmp_path):
    """The run goes on without the killed worker, the report and the summary say how
    many seconds of its share are missing, and the exit code says the run is short."""

    server, url = counting
    proc = _cli("run", "--no-ui", "--host", url, "-u", "4", "-t", "3s", "--workers", "2",
                "--out", "r.json", cwd=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(pids := _worker_pids(proc.pid)) < 2 or server.requests < 50:
            assert proc.poll() is None and time.monotonic() < deadline, proc.poll()
            time.sleep(0.02)
        os.kill(pids[-1], signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 70, err
    report = json.loads((tmp_path / "r.json").read_text())
    (lost,) = report["outcome"]["workers_lost"]
    assert "signal 9" in lost["reason"] and 0 < lost["missing_s"] <= 3 - lost["at_s"] + 0.5
    assert report["outcome"]["reason"] == "run time reached"  # the other one went on
    assert f"{lost['missing_s']:g} s of its share missing" in err
    assert "exit code 70: 1 of 2 workers lost" in err
    assert "Degraded: worker" in out
    assert 0 < report["summary"]["requests"] <= server.requests
    assert not any(_running(p) for p in pids)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a process reaped or turned zombie while asked is gone)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


CRASHING = """
import sys, time
from tui_loadtest.script import task

START = time.monotonic()

@task
async def go(user):
    await user.get("/")
    if user.id == 1 and time.monotonic() - START > 1.0:
        sys.exit(3)  # not an Exception: no script error, the worker process dies of it
"""


def test_a_worker_that_dies_of_an_exception_makes_the_command_exit_70(counting, tmp_path):
    server, url = counting
    (tmp_path / "users.py").write_text(CRASHING, encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        f'host = "{url}"\nscript = "users.py"\n[load]\nusers = 2\nrun_time = "4s"\n',
        encoding="utf-8",
    )
    proc = _cli("run", "s.toml", "--no-ui", "--workers", "2", "--out", "r.json", cwd=tmp_path)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 70, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"]["reason"] == "worker failed"  # the other one went on
    assert report["duration_s"] >= 4
    assert report["outcome"]["worker_errors"] == ["worker 1 failed: SystemExit: 3"]
    (lost,) = report["outcome"]["workers_lost"]
    assert lost["worker"] == 1 and lost["reason"] == "failed: SystemExit: 3"
    assert lost["at_s"] >= 1  # it sent its first second(s)
    assert abs(lost["missing_s"] - (report["duration_s"] - lost["at_s"])) <= 0.1
    assert "worker 1 failed: SystemExit: 3" in err and "exit code 70" in err
    # the Degraded line (the summary wraps at the terminal's width: 80 columns here)
    assert f"{lost['missing_s']:g} s of its share missing" in " ".join(out.split())
    assert 0 < report["summary"]["requests"] <= server.requests


def test_the_generators_memory_per_worker_is_measured_and_charted(counting):
    """Each worker reports its own RSS with every second: the dashboard's resources panel
    gets a CPU and a memory series per worker (and the coordinator's CPU), the report a
    memory series per worker and the peak; the figures are the processes' own, read
    beside the run with psutil."""
    import psutil

    server, url = counting
    sc = scenario(
        [{"path": "/ok"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "3s", "think_time": "0.01s"},
    )
    run = Run(sc, url, workers=2)
    direct: dict[int, int] = {}
    try:
        run.start()

        def charted() -> bool:
            keys = {s.key for s in run.snapshot.resources}
            return {f"generator:worker{w}:rss_bytes" for w in (0, 1)} <= keys

        wait_for(charted, run)
        for info in run.worker_info():
            direct[info.worker] = psutil.Process(info.pid).memory_info().rss
        live = {s.key: s for s in run.snapshot.resources}
        assert run.wait(30)
    finally:
        run.close()
    total = psutil.virtual_memory().total
    for w in (0, 1):
        rss = live[f"generator:worker{w}:rss_bytes"]
        assert rss.unit == "bytes" and rss.source == "the generator"
        # the worker's own figure, a second or so before the direct reading
        assert 10e6 < rss.last < total
        assert 0.5 < rss.last / direct[w] < 2
        cpu = live[f"generator:worker{w}:cpu_pct"]
        assert cpu.unit == "%" and all(v >= 0 for v in cpu.values)
    assert "generator:coordinator:cpu_pct" in live
    result = run.result()
    gen = result.generator
    rss_series = gen["rss_bytes"]["workers"]
    assert len(rss_series) == 2
    assert all(len(s) == len(gen["cpu_pct"]["workers"][0]) for s in rss_series)
    assert all(v is not None and 10e6 < v < total for s in rss_series for v in s)
    assert gen["peak_rss_bytes"] == max(v for s in rss_series for v in s)
    assert result.summary.requests == server.requests
    # declared in the report format: written, and read back as they were
    written = result.to_report()["generator"]
    assert written["rss_bytes"] == {"workers": rss_series}
    assert RunResult.from_report(result.to_report()).generator["peak_rss_bytes"] == max(
        v for s in rss_series for v in s
    )


def test_a_delta_bigger_than_the_pipe_arrives_whole(counting):
    """5,000 endpoints (the most a scenario holds), thousands active each second: a
    worker's delta is hundreds of KB, more than the socket's buffer. uvloop had made
    the worker's end non-blocking, the send was cut short and the coordinator read
    garbage (UnpicklingError, a run that never ended)."""
    from tui_loadtest.scenario import MAX_ENDPOINTS

    server, url = counting
    sc = scenario(
        [{"name": f"e{i}", "path": f"/e/{i}"} for i in range(MAX_ENDPOINTS)],
        load={"users": 20, "spawn_rate": 1000, "run_time": "3s"},
    )
    run = Run(sc, url, workers=1)
    try:
        run.start()
        assert run.wait(90)
    finally:
        run.close()
    result = run.result()
    assert run.worker_errors == [] and result.outcome["workers_lost"] == []
    assert result.outcome["reason"] == "run time reached"
    assert result.summary.requests == server.requests
    assert sum(1 for e in result.endpoints if e.stats.requests) > 2_000  # big deltas


def test_a_failing_merge_thread_ends_the_run_instead_of_hanging(counting, monkeypatch):
    """A bug in the merge (here: adding a delta raises) must not leave the run waiting
    for ever: the engines are killed, the run is done, and result() raises for the
    command to report an internal error (exit 70) with the traceback in the log."""
    from tui_loadtest.stats.aggregate import RunAggregate

    server, url = counting

    def broken(self, delta):  # noqa: ANN001, ANN202
        raise ValueError("planted merge bug")

    monkeypatch.setattr(RunAggregate, "add", broken)
    sc = scenario([{"path": "/"}], load={"users": 2, "run_time": "1m"})
    run = Run(sc, url, workers=1)
    try:
        run.start()
        assert run.wait(timeout=30), "the run hung after its merge thread failed"
    finally:
        run.close()
    assert run.snapshot is not None and run.done
    with pytest.raises(RuntimeError, match="merge thread failed") as caught:
        run.result()
    assert isinstance(caught.value.__cause__, ValueError)
    assert run.log_path is not None
    with open(run.log_path, encoding="utf-8") as fh:
        assert "planted merge bug" in fh.read()
