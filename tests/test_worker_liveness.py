"""The fault suite's hostile cases against the generator's own processes (issue 24 items
2 and 3): a worker that stops sending (a script task that never yields, SIGSTOP) is
lost after 3 s, killed and marked, and the run ends when told; a worker never outlives
its coordinator (SIGKILL it: the workers exit by themselves).

Real worker processes, real loopback servers that count what they received, the
command line in a subprocess where a signal is sent to it. Only processes the test
started are signalled, by pid.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tui_loadtest.engine.coordinator import Run
from tui_loadtest.report.text import run_summary

from .cluster_support import PerConnectionServer
from .engine_harness import scenario
from .servers import OK, LoopbackServer
from .test_signals import alive, assert_all_gone, descendants

pytestmark = pytest.mark.timeout(120)


class PathServer(LoopbackServer):
    """Answers every request at once and counts requests per path: each user of the
    scripts below requests a path of its own, so the server tells the workers apart."""

    def __init__(self) -> None:
        self.paths: Counter[str] = Counter()
        self.open = 0  # connections not yet closed
        self.changed = threading.Condition()
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self.changed:
            self.open += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                with self.changed:
                    self.paths[head.split(b" ", 2)[1].decode()] += 1
                    self.changed.notify_all()
                writer.write(OK)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with self.changed:
                self.open -= 1
                self.changed.notify_all()
            writer.close()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout)

    @property
    def requests(self) -> int:
        with self.changed:
            return sum(self.paths.values())


@pytest.fixture
def paths() -> Iterator[tuple[PathServer, str]]:
    srv = PathServer()
    url = srv.start()
    yield srv, url
    srv.stop()


@pytest.fixture
def conns() -> Iterator[tuple[PerConnectionServer, str]]:
    srv = PerConnectionServer()
    url = srv.start()
    yield srv, url
    srv.stop()


def user_script(spinning: int | None) -> str:
    """Each user requests /u{id} (named u{id}); user ``spinning`` then runs CPU-bound
    code for ever: its worker's event loop never runs again."""
    return f"""
from tui_loadtest.script import constant, task

wait_time = constant(0.01)

@task
async def go(user):
    await user.get(f"/u{{user.id}}", name=f"u{{user.id}}")
    if user.id == {spinning!r}:
        while True:
            pass
"""


def cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", "--no-ui", "--interval", "0.2", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def worker_pids(pid: int, count: int, proc: subprocess.Popen[str]) -> list[int]:
    """The coordinator's worker processes (multiprocessing's spawned children), once
    ``count`` of them run."""
    deadline = time.monotonic() + 60
    while True:
        found = sorted(
            p
            for p in descendants(pid)
            if "spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
        )
        if len(found) >= count:
            return found
        assert proc.poll() is None and time.monotonic() < deadline, proc.poll()
        time.sleep(0.02)


def wait_for_progress(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:  # the run is going once a progress line is out
        if line.startswith("["):
            return
    raise AssertionError("the run ended before its first progress line")


def wait_run(condition: Callable[[], bool], run: Run, timeout: float = 30.0) -> None:
    """Wait (on the run's own end event, in small steps) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        run.wait(0.02)


# ------------------------------------------------------- a worker that stops sending


def test_a_cpu_bound_task_cannot_hold_a_2s_run(paths, tmp_path):
    """``while True: pass`` in a task: the worker never sends a delta again. The -t 2s run
    used to run until killed; now its worker is lost 3 s into the silence, killed, and
    the run ends as "all workers lost" with its whole share missing, exit code 70."""
    srv, url = paths
    (tmp_path / "spin.py").write_text(user_script(spinning=0), encoding="utf-8")
    proc = cli("spin.py", "--host", url, "-u", "1", "-t", "2s", "--out", "r.json", cwd=tmp_path)
    pids: list[int] = []
    try:
        pids = worker_pids(proc.pid, 1, proc)
        out, err = proc.communicate(timeout=60)  # ran for ever before the fix
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids:  # a worker left spinning by a failure
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 70, err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "r.json").read_text())
    outcome = report["outcome"]
    assert outcome["reason"] == "all workers lost" and outcome["interrupted"] is False
    (lost,) = outcome["workers_lost"]
    assert lost["worker"] == 0 and lost["at_s"] == 0  # it never sent a second
    assert "no delta for 3 s" in lost["reason"] and "busy" in lost["reason"]
    assert lost["missing_s"] >= 2.0  # the whole run time: nothing of it was reported
    # The server saw the one request the task sent before it spun; the report holds
    # none, and says the share it belonged to is missing.
    assert srv.paths == {"/u0": 1} and report["summary"]["requests"] == 0
    assert outcome["degraded"] == "1 of 1 workers lost at 0:00"
    assert "Run ended: all workers lost." in out and "Degraded: worker 0 of 1 lost" in out
    assert "no worker is left: the run ends" in err and "exit code 70" in err
    (engine,) = report["environment"]["engines"]
    assert engine["state"] == "lost" and not alive(engine["pid"])


def test_a_stopped_worker_is_lost_killed_and_the_run_goes_on(conns):
    """SIGSTOP worker 1 mid-run: lost within 3 s of its last delta, killed by its pid, its
    figures up to its last second kept. The server tells the two sides apart: the killed
    worker's connections close when it dies, the survivor's only after the stop."""
    srv, url = conns
    sc = scenario(
        [{"path": "/"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "2m", "think_time": "0.01s"},
    )
    run = Run(sc, url, workers=2)
    frozen = None
    try:
        run.start()
        wait_run(lambda: run.aggregate.next_tick >= 1, run)  # a first second from both
        frozen = run.worker_info()[1].pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        wait_run(lambda: bool(run.lost), run)
        assert_all_gone({frozen}, timeout=5.0)  # killed, not left stopped
        survivor = run.aggregate.next_tick
        wait_run(lambda: run.aggregate.next_tick > survivor + 1, run)  # the run goes on
        assert run.state in ("running", "ramping")
        stopped_at = time.monotonic()
        run.stop("test over")
        assert run.wait(30)
    finally:
        if frozen is not None and alive(frozen):
            os.kill(frozen, signal.SIGKILL)
        run.close()
    result = run.result()
    (lost,) = result.outcome["workers_lost"]
    assert lost["worker"] == 1 and "no delta for 3 s" in lost["reason"]
    assert "SIGSTOP" in lost["reason"] and "killed" in lost["reason"]
    assert abs(lost["missing_s"] - (result.duration_s - lost["at_s"])) <= 0.8
    assert result.outcome["reason"] == "test over"
    assert "Degraded: worker 1 of 2 lost" in run_summary(result)
    assert [w.state for w in run.worker_info()] == ["done", "lost"]
    dead_seen = sum(n for c, n in srv.counts.items() if srv.closed_at[c] < stopped_at)
    dead_sent = run.snapshot.worker_rows[1].requests  # what its deltas carried
    assert 0 < dead_sent <= dead_seen
    assert result.summary.requests == srv.requests - dead_seen + dead_sent


def test_on_worker_loss_stop_applies_to_local_workers(conns):
    srv, url = conns
    sc = scenario(
        [{"path": "/"}],
        load={"users": 2, "spawn_rate": 1000, "run_time": "2m", "think_time": "0.05s"},
        cluster={"on_worker_loss": "stop"},
    )
    run = Run(sc, url, workers=2)
    frozen = None
    try:
        run.start()
        wait_run(lambda: run.aggregate.next_tick >= 1, run)
        frozen = run.worker_info()[0].pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        assert run.wait(30)  # it stops by itself, long before its 2 minutes
    finally:
        if frozen is not None and alive(frozen):
            os.kill(frozen, signal.SIGKILL)
        run.close()
    result = run.result()
    assert result.outcome["reason"] == "worker lost"
    (lost,) = result.outcome["workers_lost"]
    assert lost["worker"] == 0 and "SIGSTOP" in lost["reason"]
    # cut short by the loss: its share was due until the planned end
    assert lost["missing_s"] >= 120 - lost["at_s"] - 0.5
    assert_all_gone({frozen}, timeout=5.0)
    assert 0 < result.summary.requests <= srv.requests


@pytest.mark.parametrize("how", ["spinning", "stopped"])
def test_sigterm_ends_a_run_whose_worker_is_silent(paths, tmp_path, how):
    """SIGTERM while worker 1 spins (or is stopped by SIGSTOP): the first signal used to
    wait for ever. Now the run ends once the silent worker is lost, the report is
    written as interrupted, exit code 143, and the healthy worker's requests are in it
    exactly as the server counted them; the lost worker's, up to what it reported."""
    srv, url = paths
    spinning = 1 if how == "spinning" else None
    (tmp_path / "users.py").write_text(user_script(spinning), encoding="utf-8")
    proc = cli("users.py", "--host", url, "-u", "2", "--workers", "2", "-t", "60s",
               "--out", "r.json", cwd=tmp_path)  # fmt: skip
    pids: list[int] = []
    try:
        wait_for_progress(proc)
        pids = worker_pids(proc.pid, 2, proc)
        if how == "stopped":
            srv.wait_for(lambda: srv.paths["/u0"] > 0 and srv.paths["/u1"] > 0)
            os.kill(pids[1], signal.SIGSTOP)
        else:
            srv.wait_for(lambda: srv.paths["/u1"] > 0)  # it spins from its first response
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)  # waited for ever before the fix
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids:  # a worker left by a failure
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "r.json").read_text())
    outcome = report["outcome"]
    assert outcome["interrupted"] is True and outcome["reason"] == "interrupted"
    (lost,) = outcome["workers_lost"]
    healthy = 1 - lost["worker"]
    if how == "spinning":
        assert lost["worker"] == 1 and "busy" in lost["reason"]
    else:
        engines = report["environment"]["engines"]
        assert engines[lost["worker"]]["pid"] == pids[1] and "SIGSTOP" in lost["reason"]
    assert lost["missing_s"] > 0 and outcome["degraded"].startswith("1 of 2 workers lost")
    counted = {e["name"]: e["requests"] for e in report["endpoints"]}
    assert counted[f"u{healthy}"] == srv.paths[f"/u{healthy}"] > 0  # a graceful stop
    assert counted.get(f"u{lost['worker']}", 0) <= srv.paths[f"/u{lost['worker']}"]
    assert report["summary"]["requests"] == sum(counted.values())
    assert f"{lost['missing_s']:g} s of its share missing" in err
    assert_all_gone(set(pids), timeout=5.0)


# -------------------------------------------------- no worker outlives its coordinator


@pytest.mark.parametrize("how", ["loading", "spinning", "stopped"])
def test_the_workers_exit_when_the_coordinator_is_killed(paths, tmp_path, how):
    """SIGKILL the coordinator (nothing of it runs any more): its worker exits by itself,
    whether it was loading, spinning in a CPU-bound task (it used to spin on for ever)
    or stopped by SIGSTOP (then only the kernel can end it: the parent-death signal, or
    the SIGHUP an orphaned process group with a stopped member gets), and the target
    sees its connections close."""
    srv, url = paths
    (tmp_path / "users.py").write_text(user_script(0 if how == "spinning" else None))
    proc = cli("users.py", "--host", url, "-u", "1", "-t", "60s", cwd=tmp_path)
    pids: list[int] = []
    try:
        wait_for_progress(proc)
        pids = worker_pids(proc.pid, 1, proc)
        srv.wait_for(lambda: srv.paths["/u0"] > 0)
        if how == "stopped":
            os.kill(pids[0], signal.SIGSTOP)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert_all_gone(set(pids), timeout=5.0)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert srv.wait_for(lambda: srv.open == 0, timeout=5.0)  # no load outlives the run


def test_a_worker_exits_when_its_pipe_closes_though_its_loop_is_blocked(paths, tmp_path):
    """Without the parent-death signal (a pool started from another thread, or an engine
    on a Dask worker), the end of the pipe is what tells a worker its coordinator is
    gone: a thread of its own sees it while a task spins on the event loop."""
    from tui_loadtest.engine.shares import make_shares
    from tui_loadtest.engine.worker import ORPHANED_EXIT, worker_main
    from tui_loadtest.scenario import apply_overrides, script_scenario

    srv, url = paths
    (tmp_path / "spin.py").write_text(user_script(spinning=0), encoding="utf-8")
    sc = apply_overrides(script_scenario(str(tmp_path / "spin.py")), host=url, users=1)
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=worker_main, args=(theirs, sc, url, make_shares(sc, 1)[0]))
    proc.start()
    theirs.close()
    try:
        assert ours.poll(60) and ours.recv()[0] == "ready"
        ours.send(("go", time.time()))
        assert srv.wait_for(lambda: srv.paths["/u0"] > 0)  # spinning from here on
        ours.close()  # as when the coordinator dies
        proc.join(10)
        assert proc.exitcode == ORPHANED_EXIT
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    assert srv.wait_for(lambda: srv.open == 0, timeout=5.0)


def test_a_pool_started_from_a_thread_that_ends_keeps_its_workers(conns):
    """The kernel's parent-death signal follows the *thread* that started a process: a
    pool started from a thread that then ends (a repeated run's driver) must not lose
    its workers with it."""
    srv, url = conns
    sc = scenario([{"path": "/"}], load={"users": 2, "spawn_rate": 1000, "run_time": "2s"})
    run = Run(sc, url, workers=2)
    try:
        starter = threading.Thread(target=run.start)
        starter.start()
        starter.join(60)
        assert run.wait(30)
    finally:
        run.close()
    result = run.result()
    assert result.outcome["workers_lost"] == [] and result.outcome["reason"] == "run time reached"
    assert result.summary.requests == srv.requests > 0


def half_a_message_then_stop(
    conn, scenario, host, share, parent_pid=None, keep_stdio=False
) -> None:  # noqa: ANN001
    """Stands in for the worker's entry point: ready, then at go the first half of a
    message (its length said in full), then SIGSTOP, as a worker stopped in the middle
    of sending a large delta."""
    import struct

    conn.send(("ready", {"pid": os.getpid(), "host": "test"}))
    conn.recv()  # go
    os.write(conn.fileno(), struct.pack("!i", 100_000) + b"x" * 50_000)
    os.kill(os.getpid(), signal.SIGSTOP)


def test_a_worker_stopped_mid_message_cannot_hold_the_merge_thread(conns, monkeypatch):
    """The merge thread waits for the rest of a message the worker began to send, which
    never comes: only a watch of its own sees the silence and kills the worker, whose
    end then ends that read too. The run ends as all workers lost."""
    from tui_loadtest.engine import worker

    srv, url = conns
    monkeypatch.setattr(worker, "worker_main", half_a_message_then_stop)
    sc = scenario([{"path": "/"}], load={"users": 1, "run_time": "1m"})
    run = Run(sc, url, workers=1)
    pid = None
    try:
        run.start()
        pid = run.worker_info()[0].pid
        assert run.wait(30)  # the merge thread used to wait for ever
    finally:
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)
        run.close()
    result = run.result()
    assert result.outcome["reason"] == "all workers lost"
    (lost,) = result.outcome["workers_lost"]
    assert "no delta for 3 s" in lost["reason"] and "SIGSTOP" in lost["reason"]
    assert lost["missing_s"] >= 60
    assert pid is not None and not alive(pid)
