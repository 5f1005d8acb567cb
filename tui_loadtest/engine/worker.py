"""The worker process: runs a :class:`WorkerEngine` and talks to its pool over a pipe.

Messages to the pool: ``("ready", {"pid": ..., "host": ...})``, ``("delta", WorkerDelta)``,
``("done", last_tick)``, ``("fatal", text)``.
Messages from it: ``("go", start_at)``, ``("users", n[, spawn_rate[, classes]])``, ``("pause",)``,
``("resume",)``, ``("rate", r)``, ``("stop",)``, and with ``[[scenarios]]``
``("part", k, message)``: one of those for the k-th scenario only. ``start_at`` is an
instant of this host's wall clock (``time.time()``; the pool has applied this worker's
clock offset); the engine starts when it comes.

A worker never outlives its coordinator, whatever its event loop is doing (a script
task may never give it back): a thread of its own reads the pipe and exits the process
at once when it closes (the coordinator is gone: nobody would read what it measures),
and on Linux the kernel kills the worker when the coordinator dies
(``PR_SET_PDEATHSIG``; this also ends a worker stopped by SIGSTOP, which runs no
thread at all).

A worker never writes to the terminal (a dashboard may be drawn there) and
ignores SIGINT: Ctrl+C reaches the whole process group, and the coordinator
decides how the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from multiprocessing.connection import Connection
from typing import Any

from ..scenario import Scenario
from ..stats.aggregate import WorkerDelta
from .collector import tune_gc
from .limits import LimitError, check_fd_capacity
from .malloc import tune_malloc
from .parts import PartsEngine, apply_control
from .shares import WorkerShare
from .worker_engine import WorkerEngine


def silence_stdio() -> None:
    """Point fds 1 and 2 at /dev/null so nothing (a warning, a library) corrupts the screen."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
ORPHANED_EXIT = 3  # the exit code of a worker whose coordinator went away


def die_with(parent_pid: int) -> None:
    """Linux: be killed (SIGKILL) when the process ``parent_pid`` (our parent) ends; if it
    already has, exit now. Elsewhere the control thread's end-of-pipe does the same."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before the line above: no signal will come
        os._exit(ORPHANED_EXIT)


class ControlReader:
    """Reads the coordinator's messages in a thread of its own, so that a closed pipe is
    seen even while the event loop is blocked (a CPU-bound script task): the process then
    exits at once. Messages wait in :attr:`inbox`; once the loop runs, each one also
    wakes it (:meth:`deliver_to`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.finished = False  # the engine said "done": a closed pipe is the normal end
        self._wake: Callable[[], object] | None = None
        self._thread = threading.Thread(target=self._read, name="tui-loadtest-control", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                if not self.finished:
                    os._exit(ORPHANED_EXIT)  # the coordinator is gone: so is the load
                return
            self.inbox.put(msg)
            wake = self._wake
            if wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closing
                    wake()

    def deliver_to(self, loop: asyncio.AbstractEventLoop, apply: Callable[[], None]) -> None:
        """From now on each message calls ``apply`` on ``loop``; those already in wait too."""
        self._wake = lambda: loop.call_soon_threadsafe(apply)
        loop.call_soon(apply)


def worker_main(
    conn: Connection,
    scenario: Scenario,
    host: str,
    share: WorkerShare,
    parent_pid: int | None = None,
    keep_stdio: bool = False,
) -> None:
    """Entry point of a worker process (started with the ``spawn`` method). ``parent_pid``:
    the coordinator's pid when the kernel may kill this worker as it dies (see
    :func:`die_with`). ``keep_stdio``: what the user's code prints goes to the terminal's
    stderr (a headless run of a script or locustfile), not to /dev/null."""
    if parent_pid is not None:
        die_with(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Our own process group: a signal for the terminal's group (Ctrl+C, SIGHUP when it
    # closes, SIGTERM from CI to the job) reaches the coordinator only, which stops us over
    # the pipe; a worker killed on its own (by pid) is still seen as lost.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if keep_stdio:
        os.dup2(2, 1)  # print() too, so stdout stays the report's (--out -)
    else:
        silence_stdio()
    tune_malloc()  # large TLS reads from the heap (engine/malloc.py)
    tune_gc()  # no young collections every few dozen requests (engine/collector.py)
    control = ControlReader(conn)
    try:
        run = _run_uvloop if sys.platform != "win32" else asyncio.run
        run(_serve(conn, control, scenario, host, share))
    except LimitError as exc:  # one line for the user, not a traceback
        control.finished = True
        with contextlib.suppress(OSError):
            conn.send(("fatal", str(exc)))
        os._exit(1)
    except BaseException:  # noqa: BLE001 - report, never print
        control.finished = True
        with contextlib.suppress(OSError):
            conn.send(("fatal", traceback.format_exc()))
        os._exit(1)
    control.finished = True
    conn.close()


def _run_uvloop(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


async def _serve(
    conn: Connection, control: ControlReader, scenario: Scenario, host: str, share: WorkerShare
) -> None:
    loop = asyncio.get_running_loop()

    def send(delta: WorkerDelta) -> None:
        conn.send(("delta", delta))

    check_fd_capacity(share.users, share.workers)  # a remote worker checks its own machine
    # [[scenarios]]: an engine per scenario, their seconds merged (engine/parts.py)
    engine: WorkerEngine | PartsEngine = (
        PartsEngine(scenario, host, share, send)
        if scenario.parts
        else WorkerEngine(scenario, host, share, send)
    )
    conn.send(("ready", {"pid": os.getpid(), "host": socket.gethostname()}))
    msg = control.inbox.get()  # nothing runs on this loop yet: blocking here costs nothing
    if msg[0] != "go":
        return
    delay = float(msg[1]) - time.time()

    def on_control() -> None:
        while True:
            try:
                msg = control.inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(engine, PartsEngine):
                if msg[0] == "part":  # ("part", scenario, message): to that one only
                    one = engine.part(int(msg[1]))
                    if one is not None:
                        apply_control(one, tuple(msg[2]))
                elif msg[0] in ("stop", "pause", "resume"):
                    getattr(engine, msg[0])()
            else:
                apply_control(engine, msg)

    # Sends block: a delta bigger than the socket's buffer (thousands of active
    # endpoints) waits for the coordinator rather than being cut short (uvloop had once
    # made the fd non-blocking: the coordinator read garbage and the run never ended).
    os.set_blocking(conn.fileno(), True)
    control.deliver_to(loop, on_control)
    await engine.run(delay)
    control.finished = True
    conn.send(("done", engine.tick - 1))
