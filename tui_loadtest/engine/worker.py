"""The worker process: runs a :class:`WorkerEngine` and talks to its pool over a pipe.

Messages to the pool: ``("ready", {"pid": ..., "host": ...})``, ``("delta", WorkerDelta)``,
``("done", last_tick)``, ``("fatal", text)``.
Messages from it: ``("go", start_at)``, ``("users", n)``, ``("pause",)``,
``("resume",)``, ``("rate", r)``, ``("stop",)``. ``start_at`` is an instant of this
host's wall clock (``time.time()``; the pool has applied this worker's clock offset);
the engine starts when it comes. A closed pipe means the coordinator is gone: stop.

A worker never writes to the terminal (a dashboard may be drawn there) and
ignores SIGINT: Ctrl+C reaches the whole process group, and the coordinator
decides how the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Coroutine
from multiprocessing.connection import Connection
from typing import Any

from ..scenario import Scenario
from ..stats.aggregate import WorkerDelta
from .limits import LimitError, check_fd_capacity
from .shares import WorkerShare
from .worker_engine import WorkerEngine


def silence_stdio() -> None:
    """Point fds 1 and 2 at /dev/null so nothing (a warning, a library) corrupts the screen."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def worker_main(conn: Connection, scenario: Scenario, host: str, share: WorkerShare) -> None:
    """Entry point of a worker process (started with the ``spawn`` method)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Our own process group: a signal for the terminal's group (Ctrl+C, SIGHUP when it
    # closes, SIGTERM from CI to the job) reaches the coordinator only, which stops us over
    # the pipe; a worker killed on its own (by pid) is still seen as lost.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    silence_stdio()
    try:
        run = _run_uvloop if sys.platform != "win32" else asyncio.run
        run(_serve(conn, scenario, host, share))
    except LimitError as exc:  # one line for the user, not a traceback
        with contextlib.suppress(OSError):
            conn.send(("fatal", str(exc)))
        os._exit(1)
    except BaseException:  # noqa: BLE001 - report, never print
        with contextlib.suppress(OSError):
            conn.send(("fatal", traceback.format_exc()))
        os._exit(1)
    conn.close()


def _run_uvloop(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


async def _serve(conn: Connection, scenario: Scenario, host: str, share: WorkerShare) -> None:
    loop = asyncio.get_running_loop()

    def send(delta: WorkerDelta) -> None:
        conn.send(("delta", delta))

    check_fd_capacity(share.users, share.workers)  # a remote worker checks its own machine
    engine = WorkerEngine(scenario, host, share, send)
    conn.send(("ready", {"pid": os.getpid(), "host": socket.gethostname()}))
    msg = conn.recv()  # nothing runs on this loop yet: blocking here costs nothing
    if msg[0] != "go":
        return
    delay = float(msg[1]) - time.time()

    def on_control() -> None:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            engine.stop()
            return
        op = msg[0]
        if op == "stop":
            engine.stop()
        elif op == "pause":
            engine.pause()
        elif op == "resume":
            engine.resume()
        elif op == "users":
            engine.set_target(int(msg[1]), manual=True)
        elif op == "rate":
            engine.set_rate(float(msg[1]))

    loop.add_reader(conn.fileno(), on_control)
    # uvloop makes the fd non-blocking when it watches it: a delta bigger than the
    # socket's buffer (thousands of active endpoints) was then written in part, the
    # send raised BlockingIOError and the coordinator read garbage (UnpicklingError,
    # a run that never ended). Blocking sends wait for the coordinator instead.
    os.set_blocking(conn.fileno(), True)
    await engine.run(delay)
    loop.remove_reader(conn.fileno())
    conn.send(("done", engine.tick - 1))
