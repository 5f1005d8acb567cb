"""SIGINT, SIGTERM and SIGHUP end a run as Ctrl+C does, headless and in the dashboard:
a graceful stop, the partial report and the summary, exit code 128 + the signal, the
terminal restored, and no process left behind. Real processes, real loopback servers."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from .fault_server import FaultServer

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
LEAVE_ALT_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = (b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1006l")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (workers, the embedded demo, multiprocessing's helper)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{parent}/task/{task}/children").read_text()
            except OSError:
                continue
            for child in map(int, text.split()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_all_gone(pids: set[int], timeout: float = 10.0) -> None:
    """The children end with the tool (reparented ones are reaped by init): poll, no sleep."""
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = {p for p in pids if alive(p)}
    assert not left, f"processes left behind: {left}"


def start_headless(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", "--no-ui", "--interval", "0.2", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_progress(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:  # the run is going once a progress line is out
        if line.startswith("["):
            return
    raise AssertionError("the run ended before its first progress line")


@pytest.fixture(scope="module")
def faults():
    server = FaultServer()
    yield server
    server.stop()


# ------------------------------------------------------------------- headless


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_stops_a_headless_run_like_ctrl_c(demo_server, demo_url, tmp_path, sig):
    out = tmp_path / "partial.json"
    proc = start_headless("--host", demo_url, "-t", "60s", "-u", "5", "--out", str(out))
    try:
        wait_for_progress(proc)
        children = descendants(proc.pid)
        assert children  # at least the worker
        os.kill(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, stderr
    assert "Traceback" not in stderr
    name = "Ctrl+C" if sig == signal.SIGINT else signal.Signals(sig).name
    assert f"interrupted ({name}): finishing requests in flight" in stderr
    assert "Overall Summary" in stdout  # the summary is still printed
    report = json.loads(out.read_text())
    assert report["outcome"]["interrupted"] is True
    assert report["outcome"]["worker_errors"] == []  # a worker we stopped did not fail
    assert "worker 0 failed" not in stderr
    # a graceful stop: every request the server saw was answered and counted
    assert report["summary"]["requests"] == demo_server.stats()["requests"] > 0
    assert report["summary"]["failures"] == 0
    assert_all_gone(children | {proc.pid})


def test_a_signal_while_the_report_is_written_loses_nothing(demo_server, demo_url, tmp_path):
    """Once the run is over a signal is noted, not raised: the outputs are all written."""
    out = tmp_path / "r.json"
    fifo = tmp_path / "html-fifo"
    os.mkfifo(fifo)  # the HTML waits for its reader: the signal lands while it waits
    proc = start_headless("--host", demo_url, "-n", "30", "-u", "3", "--out", str(out),
                          "--html", str(fifo))  # fmt: skip
    got: list[bytes] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "report written to" in line:
                break
        os.kill(proc.pid, signal.SIGTERM)
        with open(fifo, "rb") as reader:
            got.append(reader.read())
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert json.loads(out.read_text())["summary"]["requests"] == 30
    assert got[0].startswith(b"<!DOCTYPE html>") and got[0].rstrip().endswith(b"</html>")
    assert "Overall Summary" in stdout


def test_the_second_signal_quits_at_once_against_a_stalled_target(faults, tmp_path):
    faults.set_mode("stall")
    scenario = tmp_path / "stall.toml"
    scenario.write_text('[load]\nusers = 4\n[http]\ntimeout = "60s"\n[[requests]]\npath = "/"\n')
    out = tmp_path / "partial.json"
    proc = start_headless(str(scenario), "--host", faults.url, "-t", "120s", "--out", str(out))
    try:
        wait_for_progress(proc)
        children = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.stderr is not None
        for line in proc.stderr:  # the first signal is being handled: requests in flight
            if "finishing requests in flight" in line:
                break
        second = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        rest = []
        for line in proc.stderr:  # the engines are gone and the report written: how soon
            rest.append(line)
            if "report written to" in line:
                break
        took = time.monotonic() - second
        _, stderr = proc.communicate(timeout=30)
        stderr = "".join(rest) + stderr
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    # Against a 60 s timeout, only quitting at once writes the report this soon (the
    # engines used to be given 2 s, then 2 s more each, before they were killed).
    assert took < 1.0, f"the partial report came {took:.2f} s after the second signal"
    report = json.loads(out.read_text())
    assert report["outcome"]["interrupted"] is True
    assert report["outcome"]["worker_errors"] == [], report["outcome"]
    assert "worker 0 failed" not in stderr  # a worker the tool stopped is not a failure
    assert_all_gone(children | {proc.pid})


# ------------------------------------------------------------------ dashboard


class PtyRun:
    """``tui-loadtest run`` on the dashboard in a real pseudo-terminal, its output collected."""

    def __init__(self, args: list[str], cols: int = 120, rows: int = 40) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui_loadtest", "run", *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
                if not ready:
                    if self.proc.poll() is not None:
                        break
                    continue
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            with self._changed:
                self.output += data
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: bytes, timeout: float = 30) -> int:
        """Block until ``text`` has been written to the terminal; its offset."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (at := self.output.find(text)) < 0:
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(f"{text!r} never shown: {bytes(self.output[-400:])!r}")
                self._changed.wait(left)
        return at

    def finish(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        os.close(self.master)
        return code


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_ends_the_dashboard_and_restores_the_terminal(
    demo_server, demo_url, tmp_path, sig
):
    out = tmp_path / "partial.json"
    run = PtyRun(["--host", demo_url, "-t", "60s", "-u", "5", "--out", str(out)])
    try:
        run.wait_for(b"\x1b[?1049h")  # the alternate screen
        run.wait_for(b"Req/s now")  # the dashboard is drawn
        children = descendants(run.proc.pid)
        drawn = len(run.output)
        os.kill(run.proc.pid, sig)
        code = run.finish()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    after = bytes(run.output[drawn:])
    assert code == 128 + sig, after[-2000:]
    assert LEAVE_ALT_SCREEN in after
    for sequence in MOUSE_OFF:
        assert sequence in after, sequence
    tail = after[after.rfind(LEAVE_ALT_SCREEN) :].decode(errors="replace")
    assert "Overall Summary" in tail and "Traceback" not in tail
    assert "report written to" in tail
    report = json.loads(out.read_text())
    assert report["outcome"]["interrupted"] is True
    assert report["outcome"]["worker_errors"] == []
    assert report["summary"]["requests"] == demo_server.stats()["requests"] > 0
    assert_all_gone(children | {run.proc.pid})
