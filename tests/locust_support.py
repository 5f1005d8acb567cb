"""A real Locust for interop tests: headless ``--csv`` runs and a web-UI master.

Locust runs as a subprocess of this interpreter (``python -m locust``), against
an embedded demo API, with a tiny locustfile written in the test's folder. Only
the processes started here are stopped, by their PID.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui_loadtest.demo import DemoServer

# Fast routes only, for exact counts (the demo counts a request when it answers it);
# one that fails (404) for the failures file, one task that raises for the exceptions
# file. Each user stops after ITERATIONS tasks. Locust rewrites its CSV files about once
# a second, not at exit, so a headless run quits itself once every user has stopped and
# the CSV writer has written the final totals (an event, whatever the machine's load).
LOCUSTFILE = """
import gevent
from locust import HttpUser, constant, events, stats, task
from locust.exception import StopUser

ITERATIONS = 30
WRITTEN = {"requests": -1}
_rows = stats.StatsCSVFileWriter._requests_data_rows


def _recording_rows(self, csv_writer):
    _rows(self, csv_writer)
    WRITTEN["requests"] = self.environment.stats.total.num_requests


stats.StatsCSVFileWriter._requests_data_rows = _recording_rows


def _quit_once_written(environment):
    runner = environment.runner
    while True:
        gevent.sleep(0.1)
        total = runner.stats.total.num_requests
        if total and not runner.user_count and WRITTEN["requests"] == total:
            runner.quit()
            return


@events.test_start.add_listener
def _start(environment, **kwargs):
    options = environment.parsed_options
    if options is not None and options.headless and options.csv_prefix:
        gevent.spawn(_quit_once_written, environment)


class DemoUser(HttpUser):
    wait_time = constant(0.01)
    done = 0

    def on_start(self):
        self.done = 0

    def count(self):
        self.done += 1
        if self.done > ITERATIONS:
            raise StopUser()

    @task(4)
    def health(self):
        self.count()
        self.client.get("/api/health")

    @task(2)
    def agents(self):
        self.count()
        self.client.get("/api/agents")

    @task(1)
    def missing(self):
        self.count()
        self.client.get("/api/no-such-route")

    @task(1)
    def broken(self):
        self.count()
        raise RuntimeError("task raised on purpose")
"""

RUN_SECONDS = 90  # a bound only: the run quits itself once its CSV is final
PROCESS_TIMEOUT_S = 150


def locust_command() -> list[str]:
    return [sys.executable, "-m", "locust"]


def write_locustfile(folder: Path) -> Path:
    path = folder / "locustfile.py"
    path.write_text(LOCUSTFILE, encoding="utf-8")
    return path


@dataclass
class LocustCsvRun:
    """A finished headless run: its CSV prefix and what the demo server counted."""

    prefix: Path
    server_stats: dict[str, Any]
    output: str

    def file(self, suffix: str) -> Path:
        return Path(f"{self.prefix}_{suffix}.csv")


def run_headless(folder: Path, host: str) -> LocustCsvRun:
    """``locust --headless --csv`` for a few seconds; users finish their task at the end."""
    locustfile = write_locustfile(folder)
    prefix = folder / "locust"
    log = folder / "locust.log"
    cmd = [
        *locust_command(),
        "-f",
        str(locustfile),
        "--headless",
        "--host",
        host,
        "-u",
        "4",
        "-r",
        "100",
        "-t",
        f"{RUN_SECONDS}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
        try:
            code = proc.wait(PROCESS_TIMEOUT_S)
        finally:
            _stop(proc)
    text = log.read_text(encoding="utf-8", errors="replace")
    if code != 0:
        raise AssertionError(f"locust exited {code}:\n{text[-3000:]}")
    return LocustCsvRun(prefix, {}, text)


@pytest.fixture(scope="session")
def locust_csv_run(tmp_path_factory: pytest.TempPathFactory) -> LocustCsvRun:
    """One headless Locust run for the session, against its own demo API (exact counts)."""
    folder = tmp_path_factory.mktemp("locust-headless")
    with DemoServer(error_rate=0.0, seed=5) as server:
        run = run_headless(folder, server.url)
        run.server_stats = server.stats()
    return run


# ------------------------------------------------------------------- the web UI


def free_port() -> int:
    """A free loopback port (Locust prints the port it was given, not the one it got)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def locust_web(folder: Path, host: str) -> Iterator[str]:
    """A Locust web UI (standalone, not started) on loopback; yields its base URL."""
    locustfile = write_locustfile(folder)
    log = folder / "locust-web.log"
    for _ in range(5):  # another process may take the port between the probe and the bind
        port = free_port()
        cmd = [
            *locust_command(),
            "-f",
            str(locustfile),
            "--host",
            host,
            "--web-host",
            "127.0.0.1",
            "--web-port",
            str(port),
            "--loglevel",
            "WARNING",
        ]
        out = open(log, "wb")  # noqa: SIM115 - closed below, after the process
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
        url = f"http://127.0.0.1:{port}"
        try:
            if _wait_web(proc, url):
                yield url
                return
        finally:
            _stop(proc)
            out.close()
    text = log.read_text(encoding="utf-8", errors="replace")
    raise AssertionError(f"the Locust web UI did not start:\n{text[-3000:]}")


def _wait_web(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> bool:
    """Poll until the web UI answers (True) or the process exits (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/stats/requests", timeout=2.0, trust_env=False).status_code == 200:
                return True
        time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen) -> None:
    """Stop one process we started: SIGTERM, then SIGKILL, by its PID only."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def first_line(path: Path) -> bytes:
    """The header line with its line ending, as bytes."""
    data = path.read_bytes()
    end = data.index(b"\n") + 1
    return data[:end]


def line_endings(path: Path) -> set[bytes]:
    """The line endings of a CSV file's records (newlines inside quoted fields excluded)."""
    data = path.read_bytes().decode("utf-8")
    endings: set[bytes] = set()
    quoted = False
    for i, ch in enumerate(data):
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            endings.add(b"\r\n" if i and data[i - 1] == "\r" else b"\n")
    return endings


__all__ = [
    "LocustCsvRun",
    "first_line",
    "free_port",
    "line_endings",
    "locust_csv_run",
    "locust_web",
]
