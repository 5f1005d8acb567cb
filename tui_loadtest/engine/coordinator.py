"""The coordinator: starts worker processes, merges their deltas, publishes Snapshots.

It lives in the process that draws the UI (or prints headless progress) but does
no load work itself. A background thread reads the workers' pipes, merges each
delta into a :class:`RunAggregate` and, when a second is complete, publishes a
new immutable :class:`Snapshot` by swapping one reference. Readers poll
``run.snapshot`` from their own timer; nothing is pushed to them per request.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait

from ..scenario import Scenario
from ..stats.aggregate import RunAggregate, WorkerDelta
from ..stats.model import Event, Snapshot
from ..stats.result import RunResult, build_result
from .worker import worker_main
from .worker_engine import make_shares, split_evenly

READY_TIMEOUT_S = 60.0
POLL_S = 0.05
LAG_WARN_MS = 10.0
LATE_S = 3  # a second is published without a worker that is this many seconds late


class Run:
    """One load run across ``workers`` processes. Thread-safe control methods."""

    def __init__(
        self,
        scenario: Scenario,
        host: str,
        workers: int = 1,
        window_s: int = 5,
    ) -> None:
        self.scenario = scenario
        self.host = host
        self.workers = workers
        self.load = scenario.load
        self.open_model = scenario.load.is_open
        # closed model: target users; open model: the cap on requests in flight
        self.users_target = scenario.load.max_users if self.open_model else scenario.load.users
        if scenario.load.stages and not self.open_model:
            self.users_target = 0
        self.rate_target: float | None = None
        self._lag_warned = False
        self._late_warned: set[int] = set()
        self._drop_warned = False
        self.aggregate = RunAggregate(
            [(r.method, r.name) for r in scenario.requests], workers, window_s
        )
        self.state = "starting"
        self.paused = False
        self.stop_reason: str | None = None
        self.started_at: datetime | None = None
        self.start_mono: float | None = None
        self.end_mono: float | None = None
        self.worker_errors: list[str] = []
        self.log_path: str | None = None
        self._events: list[Event] = []
        self._procs: list[mp.process.BaseProcess] = []
        self._conns: list[Connection] = []
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._snapshot: Snapshot = self._build_snapshot()
        self._ramped = False
        self._paused_since: float | None = None
        self.paused_s = 0.0

    # -- lifecycle ----------------------------------------------------------
    def start(self, go: bool = True) -> None:
        """Start the workers and, with ``go``, the load; returns once they are ready.

        With ``go=False`` the workers wait, connected to nothing, until :meth:`go`:
        the dashboard starts the load once it is drawn, so that its own start-up
        does not fall inside the measured run.
        """
        ctx = mp.get_context("spawn")
        for share in make_shares(self.scenario, self.workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(child, self.scenario, self.host, share),
                name=f"tui-loadtest-worker-{share.worker}",
                daemon=True,
            )
            proc.start()
            child.close()
            self._procs.append(proc)
            self._conns.append(parent)
        self._wait_ready()
        if go:
            self.go()

    def go(self) -> None:
        """Start the clock and the load (once; after ``start(go=False)``)."""
        if self.start_mono is not None or self.state != "starting":
            return
        self.start_mono = time.monotonic() + 0.02
        self.started_at = datetime.now(UTC)
        for conn in self._conns:
            self._send(conn, ("go", self.start_mono))
        self.state = "running" if self.open_model else "ramping"
        self._event(self._start_text())
        self._publish()
        self._thread = threading.Thread(
            target=self._loop, name="tui-loadtest-coordinator", daemon=True
        )
        self._thread.start()

    def _start_text(self) -> str:
        load, on = self.load, f"on {self.workers} worker(s)"
        if self.open_model:
            shape = "following stages" if load.stages else f"{load.rate:g} req/s"
            return f"arrival-rate mode, {shape}, at most {load.max_users} in flight, {on}"
        if load.stages:
            return f"users follow {len(load.stages)} stage(s), peak {load.peak_level:g}, {on}"
        rate = load.effective_spawn_rate
        return f"spawning {self.users_target} users at {rate:g}/s {on}"

    def _wait_ready(self) -> None:
        pending = set(range(len(self._conns)))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise RuntimeError("worker processes did not start within 60 s")
            ready = wait([self._conns[i] for i in pending], timeout=left)
            for conn in ready:
                i = self._conns.index(conn)
                try:
                    msg = conn.recv()
                except EOFError:
                    self._kill()
                    raise RuntimeError(f"worker {i} exited while starting") from None
                if msg[0] == "fatal":
                    self._kill()
                    raise RuntimeError(f"worker {i} failed to start: {_last_line(msg[1])}")
                pending.discard(i)

    def stop(self, reason: str = "stopped") -> None:
        """Graceful stop: no new requests, in-flight requests finish (up to the timeout)."""
        with self._lock:
            if self.state in ("stopping", "done"):
                return
            self.stop_reason = self.stop_reason or reason
            if self.start_mono is None:  # never started: nothing to finish
                self.state = "done"
        if self.state == "done":
            for conn in self._conns:
                self._send(conn, ("stop",))
            self._kill()
            self._publish()
            self._done.set()
            return
        with self._lock:
            self.state = "stopping"
            self._end_pause()
        self._event(f"stopping: {reason}")
        for conn in self._conns:
            self._send(conn, ("stop",))
        self._publish()

    def pause(self) -> None:
        with self._lock:
            if self.paused or self.state in ("stopping", "done"):
                return
            self.paused = True
            self._paused_since = time.monotonic()
        for conn in self._conns:
            self._send(conn, ("pause",))
        self._event("paused")
        self._publish()

    def resume(self) -> None:
        with self._lock:
            if not self.paused:
                return
            self._end_pause()
        for conn in self._conns:
            self._send(conn, ("resume",))
        self._event("resumed")
        self._publish()

    def toggle_pause(self) -> None:
        if self.paused:
            self.resume()
        else:
            self.pause()

    def _end_pause(self) -> None:
        if self.paused and self._paused_since is not None:
            self.paused_s += time.monotonic() - self._paused_since
        self.paused = False
        self._paused_since = None

    def set_rate(self, rate: float) -> None:
        """Arrival-rate mode: switch to a constant rate (req/s) from now on."""
        rate = max(0.0, float(rate))
        if not self.open_model or self.state in ("stopping", "done"):
            return
        for conn in self._conns:
            self._send(conn, ("rate", rate / self.workers))
        self.rate_target = rate
        self._event(f"target rate set to {rate:,.1f} req/s")
        self._publish()

    def set_users(self, users: int) -> None:
        """Change the target user count live; workers reach it at the spawn rate."""
        users = max(0, int(users))
        if self.open_model or self.state in ("stopping", "done") or users == self.users_target:
            return
        self.users_target = users
        self._ramped = False
        for conn, n in zip(self._conns, split_evenly(users, self.workers), strict=True):
            self._send(conn, ("users", n))
        self._event(f"target users set to {users}")
        self._publish()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is done; True if it is."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def elapsed(self) -> float:
        if self.start_mono is None:
            return 0.0
        end = self.end_mono if self.end_mono is not None else time.monotonic()
        return max(0.0, end - self.start_mono)

    def close(self) -> None:
        """Stop everything now (used on errors and at exit); idempotent."""
        if not self._done.is_set():
            self.stop("closed")
            self._done.wait(2.0)
        self._kill()

    # -- the merge thread -----------------------------------------------------
    def _loop(self) -> None:
        live = {conn: i for i, conn in enumerate(self._conns)}
        last_tick = dict.fromkeys(range(len(self._conns)), -1)
        while live:
            self._check_clock()
            ready = wait(list(live), timeout=POLL_S)
            changed = False
            for conn in ready:
                i = live[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    msg = ("fatal", "the worker process exited unexpectedly")
                kind = msg[0]
                if kind == "delta":
                    delta: WorkerDelta = msg[1]
                    last_tick[i] = delta.tick
                    with self._lock:
                        changed |= bool(self.aggregate.add(delta))
                elif kind == "done":
                    del live[conn]
                    with self._lock:
                        changed |= bool(self.aggregate.worker_finished(i, int(msg[1])))
                elif kind == "fatal":
                    del live[conn]
                    self._worker_failed(i, msg[1])
                    with self._lock:
                        self.aggregate.worker_finished(i, last_tick[i])
                    changed = True
            changed |= self._complete_overdue()
            if changed:
                self._after_tick()
        with self._lock:
            self.aggregate.finish()
            self.end_mono = time.monotonic()
            self.state = "done"
            if self.stop_reason is None:
                self.stop_reason = "request budget spent" if self.load.requests else "finished"
        self._event(f"run finished ({self.stop_reason})")
        self._publish()
        self._kill()
        self._done.set()

    def _complete_overdue(self) -> bool:
        """Do not let a worker that is seconds late (an overloaded machine) freeze the view."""
        if self.start_mono is None or self.state == "done":
            return False
        through = int(self.elapsed()) - 1 - LATE_S
        with self._lock:
            if through < self.aggregate.next_tick:
                return False
            done, missing = self.aggregate.complete_overdue(through)
        for w in sorted(missing - self._late_warned):
            self._late_warned.add(w)
            self._event(
                f"worker {w} is more than {LATE_S} s late; its figures will join later "
                "seconds (is the machine overloaded?)",
                "warning",
            )
        return bool(done)

    def _check_clock(self) -> None:
        duration = self.load.duration_s
        if duration is None or self.state in ("stopping", "done"):
            return
        if self.elapsed() - self.paused_time() >= duration:
            self.stop("run time reached")

    def paused_time(self) -> float:
        extra = time.monotonic() - self._paused_since if self._paused_since else 0.0
        return self.paused_s + extra

    def _after_tick(self) -> None:
        with self._lock:
            agg = self.aggregate
            if self.open_model:
                self.rate_target = agg.target
                self._watch_open_model()
            elif self.load.stages and self.state not in ("stopping", "done"):
                self.users_target = round(agg.target)
            users = agg.users
            if self.open_model:
                users = self.users_target  # no spawning: nothing to ramp
            if self.state == "ramping" and users >= self.users_target and not self._ramped:
                self._ramped = True
                self.state = "running"
                self._events.append(Event(self.elapsed(), f"all {self.users_target} users running"))
            elif self.state == "running" and users < self.users_target:
                self.state = "ramping"
        self._publish()

    def _watch_open_model(self) -> None:
        """Say once when the generator lags its schedule or arrivals start being dropped."""
        lag = self.aggregate.window_lag()
        if lag is not None and lag.p99 > LAG_WARN_MS and not self._lag_warned:
            self._lag_warned = True
            self._events.append(
                Event(
                    self.elapsed(),
                    f"generator lag p99 {lag.p99:.0f} ms: the generator is saturated, not the "
                    "target; add --workers or lower the rate",
                    "warning",
                )
            )
        if self.aggregate.dropped and not self._drop_warned:
            self._drop_warned = True
            self._events.append(
                Event(
                    self.elapsed(),
                    f"arrivals dropped: all {self.load.max_users} connections busy and the "
                    "wait queue full",
                    "warning",
                )
            )

    def _worker_failed(self, i: int, text: str) -> None:
        if self.log_path is None:
            fd, self.log_path = tempfile.mkstemp(prefix="tui-loadtest-", suffix=".log")
            os.close(fd)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"--- worker {i}\n{text}\n")
        line = f"worker {i} failed: {_last_line(text)}"
        self.worker_errors.append(line)
        self._events.append(Event(self.elapsed(), line, "error"))
        if not self.stop_reason:
            self.stop_reason = "worker failed"

    # -- publishing -----------------------------------------------------------
    def _event(self, text: str, level: str = "info") -> None:
        with self._lock:
            self._events.append(Event(self.elapsed(), text, level))

    def _publish(self) -> None:
        with self._lock:
            self._snapshot = self._build_snapshot()

    def _build_snapshot(self) -> Snapshot:
        state = "paused" if self.paused and self.state in ("ramping", "running") else self.state
        return self.aggregate.snapshot(
            scenario_name=self.scenario.name,
            host=self.host,
            state=state,
            elapsed_s=self.elapsed(),
            duration_s=self.load.duration_s,
            requests_planned=self.load.requests,
            workers=self.workers,
            users_target=self.users_target,
            extra_events=self._events,
            mode=self.load.mode,
            rate_target=self.rate_target,
        )

    def result(self) -> RunResult:
        """The final (or, before the end, partial) result of the run."""
        with self._lock:
            return build_result(self)

    # -- plumbing -------------------------------------------------------------
    def _send(self, conn: Connection, msg: tuple) -> None:
        # A worker that is gone raises here; the merge thread notices it.
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            conn.send(msg)

    def _kill(self) -> None:
        for proc in self._procs:
            proc.join(timeout=2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=1.0)
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "unknown error"
