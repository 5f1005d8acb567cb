"""Where the engines run: the :class:`WorkerPool` interface and its local-process backend.

The coordinator (:class:`~tui_loadtest.engine.coordinator.Run`) merges deltas,
raises events and publishes Snapshots; a pool starts the engines, relays control
messages to them and their messages back, and ends them. The coordinator never
touches a process or a pipe, so another backend (engines on a Dask cluster, say)
is a second implementation of :class:`WorkerPool` and nothing else changes.

The clock: :meth:`WorkerPool.go` takes an instant of the coordinator's wall clock
(``time.time()``); each engine starts when its own clock, corrected by that
worker's measured offset, reaches it. Deltas are numbered by seconds since that
instant, so they line up across hosts. Local processes share the coordinator's
clock: their offset is zero.

Liveness (docs/cluster.md, "Lost workers"): an engine sends a delta every second, so
one that sends nothing for :data:`LOST_S` seconds is lost, whatever the backend: a
script task that never yields, a process stopped by SIGSTOP, a machine gone. The
pool ends it (a local process is killed by its pid) and hands the coordinator an
``Ended(reason="lost")``. The other way round, an engine ends by itself when its
coordinator goes away (engine/worker.py), so no load outlives the run.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import pickle
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import Any, Literal, Protocol, cast

import psutil

from ..scenario import Scenario
from ..stats.aggregate import WorkerDelta
from .limits import LimitError, check_fd_capacity
from .shares import WorkerShare

READY_TIMEOUT_S = 60.0
LOST_S = 3.0  # no delta for this long: the worker is lost (Locust: 3 missed heartbeats)
WATCH_S = 0.25  # how often a local pool looks for silent workers

# Control messages, coordinator to engines (see engine/worker.py).
Control = (
    tuple[Literal["stop"]]
    | tuple[Literal["pause"]]
    | tuple[Literal["resume"]]
    | tuple[Literal["users"], int]  # this worker's new user count
    | tuple[Literal["users"], int, float]  # ... and its new spawn rate (users/s)
    | tuple[Literal["users"], int, float, tuple[str, ...]]  # ... only these user classes
    | tuple[Literal["rate"], float]  # this worker's new arrival rate (req/s)
    | tuple[Literal["part"], int, tuple[Any, ...]]  # [[scenarios]]: one of these, to one
)

WorkerState = Literal["starting", "ready", "running", "done", "failed", "lost", "stopped"]
# How an engine ended: "done" (it finished and said so), "failed" (it raised; ``text``
# holds the traceback), "lost" (it went away without a word: killed from outside,
# crashed, or sent nothing for LOST_S), "stopped" (the pool ended it on request).
EndReason = Literal["done", "failed", "lost", "stopped"]


class PoolError(RuntimeError):
    """The engines could not be started (one line, for the user)."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One engine as reports and a workers view show it."""

    worker: int
    host: str  # host name of the machine running the engine
    pid: int | None
    state: WorkerState = "starting"
    # worker clock minus coordinator clock, and the round trip it was measured over
    clock_offset_s: float = 0.0
    rtt_s: float | None = None
    address: str = ""  # where the pool placed it, e.g. a Dask worker's address ("": here)


@dataclass(frozen=True, slots=True)
class Delta:
    """A worker's second (see :class:`~tui_loadtest.stats.aggregate.WorkerDelta`)."""

    worker: int
    delta: WorkerDelta


@dataclass(frozen=True, slots=True)
class Ended:
    """A worker's engine is gone; ``last_tick`` is the last second it reported (-1: none)."""

    worker: int
    reason: EndReason
    last_tick: int
    text: str = ""


PoolMessage = Delta | Ended


class WorkerPool(Protocol):
    """Runs one engine per share and relays messages between them and the coordinator.

    Every method but :meth:`receive` may be called from any thread; :meth:`receive`
    is called by the coordinator's merge thread only.
    """

    # How far ahead of now go's instant must lie for every engine to have it in time
    # (engines on other hosts are a round trip away); and what runs the engines, in words.
    lead_s: float
    where: str

    def start(self, scenario: Scenario, host: str, shares: Sequence[WorkerShare]) -> None:
        """Start one engine per share; return once every one is ready to go.

        Raises :class:`PoolError` (and leaves nothing running) if one cannot start.
        """
        ...

    def go(self, at: float) -> None:
        """Start every engine's clock and load at ``at`` (the coordinator's ``time.time()``)."""
        ...

    def send(self, msg: Control, worker: int | None = None) -> None:
        """A control message to every engine, or to one. A gone engine is skipped."""
        ...

    def receive(self, timeout: float) -> list[PoolMessage]:
        """What the engines sent, waiting up to ``timeout`` s for something.

        Each engine ends with exactly one :class:`Ended`, after its last :class:`Delta`.
        """
        ...

    def running(self) -> bool:
        """Whether some engine has not ended yet (its :class:`Ended` not yet received)."""
        ...

    def kill(self, grace_s: float = 0.0) -> None:
        """End every engine: wait up to ``grace_s`` for them to exit, then force them.

        Engines ended this way are reported as ``"stopped"``, never as failed or lost.
        Idempotent.
        """
        ...

    def info(self) -> list[WorkerInfo]:
        """One entry per engine, in worker order."""
        ...


class LocalProcessPool:
    """Engines in worker processes on this machine (``spawn``), one pipe each.

    A worker that sends nothing for ``lost_s`` seconds once the load has started is
    lost: its process is killed (by its pid: our own child) and the run goes on
    without it, as on a cluster. A thread of the pool's own watches for that, not
    the merge thread: the merge thread may be the one stuck on the silent worker's
    pipe (a message it began to read when the worker was stopped). The kill ends
    that read too, and the merge thread reports the worker as for any other death.
    """

    lead_s = 0.02
    where = "local processes"

    def __init__(self, *, lost_s: float = LOST_S, keep_stdio: bool = False) -> None:
        self.lost_s = lost_s
        self.keep_stdio = keep_stdio  # the workers' prints to our stderr (headless code)
        self._procs: list[mp.process.BaseProcess] = []
        self._conns: list[Connection] = []
        self._live: dict[Connection, int] = {}  # engines not yet ended
        self._last_tick: list[int] = []
        self._heard: list[float] = []  # when each worker's last message was read (monotonic)
        self._go_mono: float | None = None  # when the load started (monotonic)
        self._silenced: dict[int, str] = {}  # workers killed for their silence: why
        self._watch_end = threading.Event()
        self._info: list[WorkerInfo] = []
        self._pending: list[PoolMessage] = []  # gathered by kill(), handed out by receive()
        self._send_lock = threading.Lock()
        self._recv_lock = threading.RLock()
        self._killing = False

    # -- starting -------------------------------------------------------------
    def start(self, scenario: Scenario, host: str, shares: Sequence[WorkerShare]) -> None:
        from .worker import worker_main  # the engine's modules load in the workers only

        try:  # raised here, the limit is inherited by the workers
            check_fd_capacity(max((s.users for s in shares), default=0), len(shares))
        except LimitError as exc:
            raise PoolError(str(exc)) from None
        ctx = mp.get_context("spawn")
        # The workers die with this process (Linux: PR_SET_PDEATHSIG, engine/worker.py).
        # The kernel sends that signal when the *thread* that started them ends, so only
        # the main thread, which lives as long as the process, may ask for it.
        main = threading.current_thread() is threading.main_thread()
        coordinator = os.getpid() if main else None
        for share in shares:
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(child, scenario, host, share, coordinator, self.keep_stdio),
                name=f"tui-loadtest-worker-{share.worker}",
                daemon=True,
            )
            proc.start()
            child.close()
            self._procs.append(proc)
            self._conns.append(parent)
            self._info.append(WorkerInfo(share.worker, socket.gethostname(), proc.pid))
        self._last_tick = [-1] * len(shares)
        self._heard = [0.0] * len(shares)
        self._live = {conn: i for i, conn in enumerate(self._conns)}
        try:
            self._wait_ready()
        except PoolError:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        pending = set(range(len(self._conns)))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PoolError(f"worker processes did not start within {READY_TIMEOUT_S:g} s")
            ready = wait([self._conns[i] for i in pending], timeout=left)
            for conn in cast(list[Connection], ready):
                i = self._live[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    raise PoolError(f"worker {i} exited while starting") from None
                if msg[0] == "fatal":
                    raise PoolError(f"worker {i} failed to start: {last_line(msg[1])}")
                details: dict[str, Any] = msg[1] if len(msg) > 1 else {}
                self._info[i] = replace(
                    self._info[i],
                    state="ready",
                    host=details.get("host", self._info[i].host),
                    pid=details.get("pid", self._info[i].pid),
                )
                pending.discard(i)

    # -- running --------------------------------------------------------------
    def go(self, at: float) -> None:
        # Local processes read the same wall clock as the coordinator: no offset.
        for i, conn in enumerate(self._conns):
            self._send_to(conn, ("go", at + self._info[i].clock_offset_s))
            self._info[i] = replace(self._info[i], state="running")
        self._go_mono = time.monotonic() + (at - time.time())
        threading.Thread(target=self._watch, name="tui-loadtest-liveness", daemon=True).start()

    def send(self, msg: Control, worker: int | None = None) -> None:
        conns = self._conns if worker is None else [self._conns[worker]]
        for conn in conns:
            self._send_to(conn, msg)

    def _send_to(self, conn: Connection, msg: tuple) -> None:
        # An engine that is gone raises here; receive() reports it.
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            conn.send(msg)

    def running(self) -> bool:
        return bool(self._live or self._pending)

    def receive(self, timeout: float) -> list[PoolMessage]:
        with self._recv_lock:
            out, self._pending = self._pending, []
            if self._live and not out:
                for conn in cast(list[Connection], wait(list(self._live), timeout=timeout)):
                    self._read(conn, out)
        return out

    def _watch(self) -> None:
        """The liveness thread: from go until the pool ends, kill silent workers."""
        while not self._watch_end.wait(WATCH_S) and self._live:
            self._check_silent()

    def _check_silent(self) -> None:
        """Kill a worker that sent nothing for :attr:`lost_s` since the load started; the
        merge thread then reads its end and reports it lost, with the reason kept here."""
        if self._go_mono is None or self._killing:
            return
        now = time.monotonic()
        first_due = self._go_mono + 1.0  # the first delta covers the first second
        for conn, i in list(self._live.items()):
            if i in self._silenced or now - max(self._heard[i], first_due) <= self.lost_s:
                continue
            try:
                if conn.poll(0):  # it did send: its messages wait for a busy merge thread
                    continue
            except (OSError, ValueError):  # ended and closed meanwhile
                continue
            proc = self._procs[i]
            what = silence_text(proc.pid)  # read before the kill: what it was doing
            self._silenced[i] = f"no delta for {self.lost_s:g} s, {what}; killed"
            proc.kill()  # our own child, by its pid; SIGKILL also ends a stopped process

    def _read(self, conn: Connection, out: list[PoolMessage]) -> None:
        """One message from ``conn`` (the caller holds the receive lock)."""
        i = self._live[conn]
        try:
            msg = decode(conn.recv_bytes())
        except (EOFError, OSError):
            msg = ("gone",)
        self._heard[i] = time.monotonic()
        kind = msg[0]
        if kind == "delta":
            delta: WorkerDelta = msg[1]
            self._last_tick[i] = delta.tick
            out.append(Delta(i, delta))
            return
        del self._live[conn]
        with contextlib.suppress(OSError):
            conn.close()
        if kind == "done":
            ended = Ended(i, "done", int(msg[1]))
        elif self._killing and i not in self._silenced:
            ended = Ended(i, "stopped", self._last_tick[i])
        elif kind == "fatal":
            ended = Ended(i, "failed", self._last_tick[i], msg[1])
        else:
            ended = Ended(i, "lost", self._last_tick[i], self._exit_text(i))
        self._info[i] = replace(self._info[i], state=ended.reason)
        out.append(ended)

    def _exit_text(self, i: int) -> str:
        proc = self._procs[i]
        proc.join(timeout=0.5)
        if i in self._silenced:
            return self._silenced[i]
        code = proc.exitcode
        if code is not None and code < 0:
            return f"the worker process was killed (signal {-code})"
        if code is not None:
            return f"the worker process exited unexpectedly (exit code {code})"
        return "the worker process stopped answering"

    # -- ending ---------------------------------------------------------------
    def kill(self, grace_s: float = 0.0) -> None:
        self._killing = True
        self._watch_end.set()
        deadline = time.monotonic() + grace_s
        for proc in self._procs:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
        for proc in self._procs:
            proc.join(timeout=1.0)
        with self._recv_lock:
            # What the engines sent before they ended is kept, then each ends once.
            for conn in list(self._live):
                while conn in self._live:
                    if not conn.poll(0):
                        conn.close()  # the process is gone: poll() again sees EOF
                        self._read_closed(conn)
                        break
                    self._read(conn, self._pending)

    def _read_closed(self, conn: Connection) -> None:
        i = self._live.pop(conn)
        if i in self._silenced:  # killed for its silence before the pool was ended
            ended = Ended(i, "lost", self._last_tick[i], self._silenced[i])
        else:
            ended = Ended(i, "stopped", self._last_tick[i])
        self._info[i] = replace(self._info[i], state=ended.reason)
        self._pending.append(ended)

    def info(self) -> list[WorkerInfo]:
        return list(self._info)


def silence_text(pid: int | None) -> str:
    """What a silent worker's process was doing, in a few words, for its lost line."""
    try:
        status = psutil.Process(pid).status()
    except (psutil.Error, ValueError):
        return "its process had ended"
    if status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP):
        return "its process was stopped (SIGSTOP)"
    if status == psutil.STATUS_RUNNING:
        return "its process was busy (a task that never yields: CPU-bound script code?)"
    return f"its process was {status}"


def decode(data: bytes) -> Any:
    """An engine's message, as it pickled it, with the cyclic GC paused meanwhile: a delta
    holds thousands of ``(bucket, count)`` tuples whose allocations set off collections
    that add half again to the decoding (docs/cluster.md, "Measurements"); plain data
    makes no cycles for the GC to miss."""
    if not gc.isenabled():
        return pickle.loads(data)
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        gc.enable()


def last_line(text: str) -> str:
    """The last non-empty line of a traceback: what went wrong, in one line."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "unknown error"


__all__ = [
    "LOST_S",
    "Control",
    "Delta",
    "Ended",
    "LocalProcessPool",
    "PoolError",
    "PoolMessage",
    "WorkerInfo",
    "WorkerPool",
]
