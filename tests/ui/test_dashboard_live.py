"""The real dashboard on a real run against the demo target.

One test drives the app in-process with Pilot and watches the request count
rise; another runs ``tui-loadtest run`` in a pseudo-terminal, presses Ctrl+C
twice, and checks the exit code, the report, and that the terminal was restored.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.ui.helpers import wait_for
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.scenario import apply_overrides, load_builtin_demo
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.endpoints import EndpointTable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anyio
async def test_the_real_app_shows_a_real_run_as_it_happens(demo_url):
    scenario = apply_overrides(
        load_builtin_demo(), host=demo_url, users=10, spawn_rate=10, run_time="60s"
    )
    run = Run(scenario, demo_url, workers=1)
    run.start()
    try:
        app = create_app(run, refresh_s=0.1)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            screen = app.screen
            table = screen.query_one(EndpointTable)

            def shown_requests() -> int:
                return sum(table.get_cell_at((row, 2)).value for row in range(table.row_count))

            await wait_for(pilot, lambda: shown_requests() > 0, timeout=8)
            first = shown_requests()
            await wait_for(pilot, lambda: shown_requests() > first, timeout=5)

            await pilot.press("s")
            await wait_for(pilot, lambda: screen.result is not None, timeout=15)
            assert screen.result.outcome["reason"] == "stopped by user"
            assert screen.result.summary.requests >= shown_requests()
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running)
    finally:
        run.close()
    assert run.done


def _read_until(fd: int, proc: subprocess.Popen, needle: bytes, timeout: float) -> bytes:
    """Collect the child's terminal output until ``needle`` shows (or it exits)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            seen += chunk
            if needle in seen:
                return seen
        elif proc.poll() is not None:
            break
    return seen


def test_ctrl_c_twice_in_a_terminal_quits_with_130_and_restores_it(demo_url, tmp_path):
    report = tmp_path / "report.json"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48"}
    args = ["run", "--host", demo_url, "-u", "10", "-t", "60s", "--out", str(report)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    try:
        seen = _read_until(master, proc, b"RUNNING", timeout=20)
        assert b"RUNNING" in seen, seen[-2000:]
        os.write(master, b"\x03")  # Ctrl+C: asks first
        seen += _read_until(master, proc, b"Quit while", timeout=5)
        assert b"Quit while" in seen
        os.write(master, b"\x03")  # again: yes
        seen += _read_until(master, proc, b"report written", timeout=20)
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert b"\x1b[?1049l" in seen  # left the alternate screen: the terminal is restored
    data = json.loads(report.read_text())
    assert data["outcome"]["interrupted"] is True
    assert data["summary"]["requests"] > 0
