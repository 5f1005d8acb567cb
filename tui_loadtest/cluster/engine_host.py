"""The actor on each Dask worker: starts one engine in its own OS process and relays.

Why this shape (docs/cluster.md, "How it works"):

- The engine never runs on Dask's event loop: a busy loop there misses the worker's
  heartbeats. It runs, unchanged, in a process of its own (:mod:`.engine_proc`),
  started with ``subprocess`` because a Dask worker is a daemonic process, which
  multiprocessing does not let have children. A socket pair carries the local
  pool's pickled messages.
- Plain actor methods share one thread per worker ("Dask-Actor-Threads"), so
  nothing long may run there. :meth:`drain` is a coroutine on the worker's loop
  that waits for the relay thread to hand it the engine's messages; control
  messages (:meth:`control`) go through the actor thread, which stays free.
- Messages are relayed as the engine pickled them: the actor never decodes a delta.
- An engine whose coordinator stops asking for its messages (the coordinator was
  killed, its machine died, the network broke) is killed after :data:`ORPHAN_S`, the
  time after which the coordinator calls it lost; and an engine whose actor goes away
  (the Dask worker closed: its scheduler died) exits by itself as its socket closes
  (engine/worker.py). A load generator is never left running on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import IO, Any

from ..engine.pool import LOST_S, last_line
from ..engine.shares import WorkerShare
from ..scenario import Scenario
from .handshake import hello
from .shipping import safe_relative

READY_TIMEOUT_S = 60.0
# No drain for this long: the coordinator is gone (it drains every DRAIN_WAIT_S while it
# runs), kill the engine. The coordinator, if it is there after all, has called the
# engine lost by then: no delta reached it for as long.
ORPHAN_S = LOST_S
# Before the first drain (the other engines may still be starting), the coordinator is
# given as long as it gives an engine to start.
FIRST_DRAIN_S = 2 * READY_TIMEOUT_S
POLL_S = 0.5  # how often, at least, the relay thread looks at the orphan clock


class EngineHost:
    """One engine on this Dask worker (created with ``client.submit(..., actor=True)``)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._stderr: IO[bytes] | None = None
        self._dir: str | None = None
        self._inbox: deque[bytes] = deque()  # touched on the worker's loop only
        self._end: dict[str, Any] | None = None  # how the engine's process ended
        self._last_drain: float | None = None  # monotonic; None: never drained yet
        self._ready_at = time.monotonic()
        self._orphaned = False  # killed because nobody drained it
        self._send_lock = threading.Lock()

    # -- the handshake (on the worker's event loop: no thread hop in the round trip) --
    async def hello(self) -> dict[str, Any]:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
        return hello()

    # -- starting (on the actor thread) ------------------------------------------------
    def start(
        self,
        scenario: Scenario,
        host: str,
        share: WorkerShare,
        script_files: dict[str, bytes] | None,
    ) -> dict[str, Any]:
        """Start the engine's process; return its ``ready`` details (pid, host).
        ``script_files``: the user script and its folder's modules (cluster/shipping.py).

        Raises RuntimeError with the reason when it cannot start.
        """
        if self._loop is None:
            raise RuntimeError("hello() must come first")
        if script_files is not None:
            scenario = self._ship_script(scenario, script_files)
        ours, theirs = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the engine's life
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tui_loadtest.cluster.engine_proc", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                start_new_session=True,  # no signal for the worker's terminal reaches it
            )
        finally:
            theirs.close()
        self._conn = conn = Connection(ours.detach())
        conn.send(("start", scenario, host, share))
        try:
            if not conn.poll(READY_TIMEOUT_S):
                raise RuntimeError(f"the engine did not start within {READY_TIMEOUT_S:g} s")
            msg = conn.recv()
        except (EOFError, OSError):
            self._wait_exit()
            raise RuntimeError(f"the engine's process {self._exit_text()}") from None
        except RuntimeError:
            self.kill(0.0)
            raise
        if msg[0] == "fatal":
            self.kill(1.0)
            raise RuntimeError(f"the engine failed to start: {last_line(msg[1])}")
        self._ready_at = time.monotonic()
        threading.Thread(target=self._relay, name="tui-loadtest-relay", daemon=True).start()
        return dict(msg[1])

    def _ship_script(self, scenario: Scenario, files: dict[str, bytes]) -> Scenario:
        """A user script or a locustfile travels as files (itself and the modules it
        imports from its folder); the engine imports it from a folder of its own, on its
        import path."""
        self._dir = tempfile.mkdtemp(prefix="tui-loadtest-script-")
        try:
            for name, data in files.items():
                target = os.path.join(self._dir, *safe_relative(name).parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as fh:
                    fh.write(data)
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot write the script's files: {exc}") from None
        if scenario.script is not None:
            path = os.path.join(self._dir, os.path.basename(scenario.script.path))
            return replace(scenario, script=replace(scenario.script, path=path))
        assert scenario.locustfile is not None
        path = os.path.join(self._dir, os.path.basename(scenario.locustfile.path))
        return replace(scenario, locustfile=replace(scenario.locustfile, path=path))

    # -- relaying ---------------------------------------------------------------------
    def _relay(self) -> None:
        """The relay thread: the engine's messages, as bytes, to the loop's inbox."""
        conn, loop = self._conn, self._loop
        assert conn is not None and loop is not None
        while True:
            self._check_orphan()
            try:
                if not conn.poll(POLL_S):
                    continue
                data = conn.recv_bytes()
            except (EOFError, OSError):
                break
            with contextlib.suppress(RuntimeError):  # the worker's loop is closing
                loop.call_soon_threadsafe(self._push, data)
        end = {"code": self._wait_exit(), "text": self._exit_text()}
        self._cleanup()
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._finish, end)

    def _push(self, data: bytes) -> None:
        self._inbox.append(data)
        assert self._wake is not None
        self._wake.set()

    def _finish(self, end: dict[str, Any]) -> None:
        self._end = end
        assert self._wake is not None
        self._wake.set()

    def _check_orphan(self) -> None:
        """Kill an engine nobody has drained for :data:`ORPHAN_S` (a graceful stop would
        end it as "done", which a coordinator still there would take for a finished share)."""
        if self._last_drain is None:
            since, allowed = self._ready_at, FIRST_DRAIN_S
        else:
            since, allowed = self._last_drain, ORPHAN_S
        if self._orphaned or time.monotonic() - since < allowed:
            return
        self._orphaned = True
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()

    async def drain(self, wait_s: float) -> tuple[list[bytes], dict[str, Any] | None]:
        """The engine's messages since the last call, waiting up to ``wait_s`` for one;
        and, once they are all out, how its process ended (None while it runs)."""
        assert self._wake is not None
        self._last_drain = time.monotonic()
        if not self._inbox and self._end is None:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait_s)
        self._last_drain = time.monotonic()
        out = list(self._inbox)
        self._inbox.clear()
        return out, self._end

    # -- control (on the actor thread) ------------------------------------------------
    def control(self, msg: tuple[Any, ...]) -> bool:
        """A control message to the engine; False if it is gone."""
        if self._conn is None:
            return False
        try:
            with self._send_lock:
                self._conn.send(msg)
        except (OSError, ValueError):
            return False
        return True

    def kill(self, grace_s: float) -> None:
        """Wait up to ``grace_s`` for the engine to exit, then kill it."""
        proc = self._proc
        if proc is None:
            return
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5.0)

    # -- ending -------------------------------------------------------------------------
    def _wait_exit(self) -> int | None:
        assert self._proc is not None
        try:
            return self._proc.wait(5.0)
        except subprocess.TimeoutExpired:
            return None

    def _exit_text(self) -> str:
        """How the engine's process ended, in words, with its last line of stderr."""
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if code is None:
            return "stopped answering"
        if self._orphaned:
            return f"was killed: nothing drained its messages for {ORPHAN_S:g} s"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "a signal"
            return f"was killed ({name}, signal {-code})"
        text = f"exited with code {code}"
        if code and self._stderr is not None:
            self._stderr.seek(0)
            err = self._stderr.read()[-4000:].decode("utf-8", "replace")
            if err.strip():
                text += f": {last_line(err)}"
        return text

    def _cleanup(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
