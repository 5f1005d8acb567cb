"""Locust's ``--master`` and ``--worker``, on Dask: the master starts a Dask scheduler on
Locust's master port and runs the load on the workers that join it; a worker is a Dask
worker process joined to the master's host and port. The run then goes as
``--cluster tcp://HOST:PORT`` does (docs/cluster.md)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import suppress

from ..engine.pool import PoolError

START_TIMEOUT_S = 30.0


def start_scheduler(bind_host: str, port: int) -> tuple[str, subprocess.Popen]:
    """A Dask scheduler listening on ``bind_host:port`` (``*``: every address); its
    address for the master to use, and its process (ours to stop)."""
    host = "" if bind_host in ("*", "") else bind_host
    args = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port),
            "--no-dashboard", "--no-show"]  # fmt: skip
    if host:
        args += ["--host", host]
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    local = host or "127.0.0.1"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PoolError(
                f"--master: the scheduler could not listen on {bind_host}:{port}"
                " (is the port taken?)"
            )
        with suppress(OSError), socket.create_connection((local, port), timeout=0.5):
            return f"tcp://{local}:{port}", proc
        time.sleep(0.1)
    stop_scheduler(proc)
    raise PoolError(f"--master: the scheduler did not start on {bind_host}:{port}")


def stop_scheduler(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_worker(master_host: str, master_port: int) -> int:
    """Join the master's scheduler as one Dask worker (one thread) until the master
    goes; its exit code."""
    address = f"tcp://{master_host}:{master_port}"
    args = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
            "--nworkers", "1", "--no-dashboard", "--death-timeout", "10"]  # fmt: skip
    # Dask's own INFO lines would drown what the worker has to say
    env = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "warning"}
    return subprocess.call(args, env=env)
