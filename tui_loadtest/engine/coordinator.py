"""The coordinator: merges the engines' deltas, raises events, publishes Snapshots.

It lives in the process that draws the UI (or prints headless progress) but does
no load work itself, and never touches a process or a pipe: a
:class:`~tui_loadtest.engine.pool.WorkerPool` runs the engines (local processes by
default). A background thread receives the pool's messages, merges each delta into
a :class:`RunAggregate` and, when a second is complete, publishes a new immutable
:class:`Snapshot` by swapping one reference. Readers poll ``run.snapshot`` from
their own timer; nothing is pushed to them per request.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import SetupFailed
from ..monitor import Monitor
from ..scenario import Redactor, Scenario
from ..scenario.model import ScenarioPart
from ..stats.aggregate import RunAggregate, Second, WorkerDelta, self_requests
from ..stats.measured import measured_figures, users_seen, warmup_figures
from ..stats.model import Event, RunState, Snapshot, WorkerRow
from ..stats.report_format import load_report
from ..stats.result import CLOCK_WARN_S, RunResult, environment
from .generator import GeneratorWatch, loop_section
from .pool import Delta, Ended, LocalProcessPool, WorkerInfo, WorkerPool, last_line

if TYPE_CHECKING:
    from .setup import Outcome
from .shares import WorkerShare, make_shares, split_evenly

GO_LEAD_S = 0.02  # the engines start this long after "go" is sent
KILL_WAIT_S = 0.5  # close(): how long the merge thread gets to take in the last messages
POLL_S = 0.05
LAG_WARN_MS = 10.0
LATE_S = 3  # a second is published without a worker that is this many seconds late
ALL_LOST = "all workers lost"
# How a run ends by itself; when every worker is lost instead, that is what it says. The
# user's own endings (interrupted, stopped) stay as they are.
OWN_ENDINGS = (None, "finished", "run time reached", "request budget spent", "worker lost",
               "worker failed")  # fmt: skip


@dataclass(slots=True)
class _WorkerLive:
    users: int
    rps: float
    cpu_pct: float | None
    lag_ms: float
    requests: int


class Run:
    """One load run across ``workers`` processes. Thread-safe control methods."""

    observe_only = False  # the dashboard's controls drive this run (see ui.source)

    def __init__(
        self,
        scenario: Scenario,
        host: str,
        workers: int = 1,
        window_s: int = 5,
        pool: WorkerPool | None = None,
        http_debug: tuple[bool, int] | None = None,
    ) -> None:
        """``http_debug``: copy the first N exchanges of each endpoint (whole bodies, or
        their first 2 KB) to a log file (``http_debug_path``), secrets scrubbed."""
        self.scenario = scenario
        self.http_debug = http_debug
        self.http_debug_path: str | None = None
        # [setup] / @setup, run by start() before any worker; [teardown] / @teardown, by
        # the merge thread once every worker has ended (engine/setup.py says why here)
        self.setup_outcome: Outcome | None = None
        self.teardown_outcome: Outcome | None = None
        self.teardown_skipped: str | None = None
        self._teardown: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None
        self._debugged: dict[str, int] = {}  # endpoint -> exchanges written
        # Prepared once: every error message, event and log line of the run goes through it.
        self._redact = Redactor(scenario.secrets)
        self.pool: WorkerPool = pool if pool is not None else LocalProcessPool()
        self.host = host
        self.workers = workers
        self.load = scenario.load
        self.open_model = scenario.load.is_open
        # [[scenarios]]: each one's load, the target asked of it (users, or req/s in the
        # open model) and whether it alone is paused; the run's users are the closed ones'
        self.parts = scenario.parts
        self.part_targets: list[float] = [
            0.0 if p.load.stages else float(p.load.rate or 0) if p.load.is_open else p.load.users
            for p in self.parts
        ]
        self.part_paused = [False] * len(self.parts)
        # closed model: target users; open model: the cap on requests in flight
        self.users_target = scenario.load.max_users if self.open_model else scenario.load.users
        if scenario.load.stages and not self.open_model:
            self.users_target = 0
        # the most users the run asked for (the stages' peak, or a later manual target)
        self.users_planned = self.users_target or round(scenario.load.peak_level)
        # open model: the rate asked for (known before the first second, for the plan
        # line); under stages it follows the ramp from the first second on
        load = scenario.load
        self.rate_target: float | None = (
            load.rate if self.open_model and not load.stages and load.rate else None
        )
        if self.parts and not self.open_model:  # the closed scenarios' users
            self.users_target = round(
                sum(t for t, p in zip(self.part_targets, self.parts, strict=True)
                    if not p.load.is_open)
            )  # fmt: skip
            self.users_planned = max(self.users_target, load.users)  # load: their peaks
        elif self.parts:
            self.rate_target = sum(self.part_targets) or None
        self.generator = GeneratorWatch()
        self.lost: list[dict[str, Any]] = []  # workers lost: worker, at_s, reason
        self._lag_warned = False
        self._late_warned: set[int] = set()
        self._drop_warned = False
        self.aggregate = RunAggregate(
            list(scenario.endpoints),
            workers,
            window_s,
            flows=scenario.flow_names,
            warmup_s=scenario.load.warmup_s,
            checks=scenario.check_rows,
            groups=scenario.endpoint_groups if self.parts else (),
            flow_groups=scenario.flow_groups if self.parts else (),
            check_groups=scenario.check_groups if self.parts else (),
            parts=[(p.name, p.load.mode, p.load.start_s) for p in self.parts],
        )
        self._warmup_said = not scenario.load.warmup_s
        self.state: RunState = "starting"
        self.paused = False
        self.stop_reason: str | None = None
        # The user broke the run off (a signal, Ctrl+C), even after it had begun to stop
        # by itself (its run time reached, say) and while a worker never answered.
        self.interrupted = False
        self._stop_asked_s: float | None = None  # elapsed() when the first stop was asked
        self.started_at: datetime | None = None
        self.start_mono: float | None = None
        self.end_mono: float | None = None
        self.worker_errors: list[str] = []
        self._failed: set[int] = set()  # workers that died of an exception (also in lost)
        self._ended: set[int] = set()  # workers whose engine has ended, however
        self.shares: list[WorkerShare] = []
        self._workers_live: dict[int, _WorkerLive] = {}  # worker -> its last second
        self._targets: list[int] = []  # closed model: each worker's user target
        self.users_lost = 0  # closed model: users that ran on lost workers
        self.log_path: str | None = None
        self.failure: Exception | None = None  # the merge thread's, if it failed
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        # The target's processes and metrics, sampled in threads of their own (monitor/).
        self.monitor = Monitor(scenario.monitor, host, self._monitor_event)
        self._snapshot: Snapshot = self._build_snapshot()
        self._ramped = False
        self._paused_since: float | None = None
        self.paused_s = 0.0
        self._paused_at_loss: dict[int, float] = {}  # worker -> paused_time() when it was lost
        # Warnings as they come (a clock off, a lost worker), for a headless run to print:
        # append-only, read by index from another thread.
        self.alerts: list[str] = []
        # A locustfile's environment.process_exit_code, as a worker last said it.
        self.exit_code_asked: int | None = None
        self._said = 0  # the workers' one-off warnings already among the alerts

    # -- lifecycle ----------------------------------------------------------
    def start(self, go: bool = True) -> None:
        """Start the engines and, with ``go``, the load; returns once they are ready.

        With ``go=False`` the engines wait, connected to nothing, until :meth:`go`:
        the dashboard starts the load once it is drawn, so that its own start-up
        does not fall inside the measured run. Raises ``PoolError`` (a RuntimeError)
        when the engines cannot start.
        """
        if self.scenario.has_setup and self.setup_outcome is None:
            self._set_up()
        self.shares = make_shares(self.scenario, self.workers)
        if self.http_debug is not None:
            self.shares = [
                replace(
                    share,
                    http_debug=self.http_debug,
                    parts=tuple(replace(p, http_debug=self.http_debug) for p in share.parts),
                )
                for share in self.shares
            ]
            fd, self.http_debug_path = tempfile.mkstemp(prefix="tui-loadtest-http-", suffix=".log")
            os.close(fd)
            limit = self.http_debug[1]
            text = (
                f"HTTP exchanges (the first {limit} of each endpoint) go to {self.http_debug_path}"
            )
            self.alerts.append(text)
            self._event(text)
        self._targets = [share.users for share in self.shares]
        # The engines send with the scenario's values and never scrub: the secret values
        # stay here (a 1M-row password column was 1.7 s to pickle and unpickle).
        self.pool.start(replace(self.scenario, secrets=frozenset()), self.host, self.shares)
        self._check_clocks()
        if go:
            self.go()

    def _set_up(self) -> None:
        """Run the setup here, before any worker: its values go into the scenario the
        workers start with, and among the secrets every artefact is scrubbed of. A setup
        that fails raises SetupFailed (one line; no load was sent)."""
        from .setup import run_setup, with_setup_values

        outcome = asyncio.run(run_setup(self.scenario, self.host))
        self.setup_outcome = outcome
        if outcome.failure:
            raise SetupFailed(f"setup failed, no load was sent: {self._redact(outcome.failure)}")
        self.scenario = with_setup_values(self.scenario, outcome.values)
        self._redact = Redactor(self.scenario.secrets)
        self._event(f"setup done: {outcome.requests} request(s) in {outcome.duration_s:.2f} s")

    def _tear_down(self) -> None:
        """Run the teardown once every worker has ended (the merge thread's last act):
        after a stop or a signal too; ``close()`` (a second signal) cancels it."""
        if not self.scenario.has_teardown or self.teardown_skipped is not None:
            return
        from .setup import run_teardown

        loop = asyncio.new_event_loop()
        task = loop.create_task(run_teardown(self.scenario, self.host))
        self._teardown = (loop, task)
        self._event("teardown: running")
        try:
            outcome = loop.run_until_complete(task)
        except asyncio.CancelledError:
            self.teardown_skipped = self.teardown_skipped or "the run was closed"
            self._event(f"teardown skipped: {self.teardown_skipped}", "warning")
            return
        finally:
            self._teardown = None
            loop.close()
        self.teardown_outcome = outcome
        if outcome.failure:
            text = f"teardown failed: {self._redact(outcome.failure)} (the run's figures are kept)"
            self.alerts.append(text)
            self._event(text, "error")
        else:
            self._event(f"teardown done: {outcome.requests} request(s)")

    def go(self) -> None:
        """Start the clock and the load (once; after ``start(go=False)``)."""
        if self.start_mono is not None or self.state != "starting":
            return
        # One instant, read on both clocks: monotonic for our own elapsed time,
        # the wall clock for the engines (which may run on other hosts).
        lead = max(GO_LEAD_S, getattr(self.pool, "lead_s", 0.0))
        self.start_mono = time.monotonic() + lead
        start_at = time.time() + lead
        self.started_at = datetime.now(UTC)
        self.pool.go(start_at)
        self.monitor.start(self.start_mono)
        self.state = "running" if self.open_model else "ramping"
        self._event(self._start_text())
        self._publish()
        self._thread = threading.Thread(
            target=self._loop, name="tui-loadtest-coordinator", daemon=True
        )
        self._thread.start()

    def _check_clocks(self) -> None:
        """Engines on other hosts: a clock far off ours misplaces their seconds. A warning
        event, and an alert (a headless run prints it as the load starts)."""
        for w in self.pool.info():
            if abs(w.clock_offset_s) > CLOCK_WARN_S:
                rtt = f", round trip {w.rtt_s * 1000:.0f} ms" if w.rtt_s is not None else ""
                text = (
                    f"worker {w.worker} ({w.host}): its clock is {w.clock_offset_s * 1000:+.0f} ms "
                    f"off this machine's{rtt}; corrected, but keep clocks in sync (NTP)"
                )
                self.alerts.append(text)
                self._event(text, "warning")

    def _start_text(self) -> str:
        load, on = self.load, f"on {self.workers} worker(s)"
        if self.parts:
            return f"{len(self.parts)} scenarios ({'; '.join(map(part_text, self.parts))}) {on}"
        if self.open_model:
            shape = "following stages" if load.stages else f"{load.rate:g} req/s"
            return f"arrival-rate mode, {shape}, at most {load.max_users} in flight, {on}"
        if load.stages:
            return f"users follow {len(load.stages)} stage(s), peak {load.peak_level:g}, {on}"
        if load.starts_at_once:
            return f"starting {self.users_target} users at once {on}"
        rate = load.effective_spawn_rate
        return f"spawning {self.users_target} users at {rate:g}/s {on}"

    def stop(self, reason: str = "stopped") -> None:
        """Graceful stop: no new requests, in-flight requests finish (up to the timeout)."""
        with self._lock:
            if self.state == "done":
                return
            self.interrupted |= reason == "interrupted"
            if self.state == "stopping":
                return
            self.stop_reason = self.stop_reason or reason
            if self._stop_asked_s is None and self.start_mono is not None:
                self._stop_asked_s = self.elapsed()
            if self.start_mono is None:  # never started: nothing to finish
                self.state = "done"
        if self.state == "done":
            self.pool.send(("stop",))
            self.pool.kill(grace_s=2.0)
            self._publish()
            self._done.set()
            return
        with self._lock:
            self.state = "stopping"
            self._end_pause()
        self._event(f"stopping: {reason}")
        self.pool.send(("stop",))
        self._publish()

    def pause(self) -> None:
        with self._lock:
            if self.paused or self.state in ("stopping", "done"):
                return
            self.paused = True
            self._paused_since = time.monotonic()
        self.pool.send(("pause",))
        self._event("paused")
        self._publish()

    def resume(self) -> None:
        with self._lock:
            if not self.paused:
                return
            self._end_pause()
            self.part_paused = [False] * len(self.parts)
        self.pool.send(("resume",))
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
        if self.parts:  # every scenario's rate, keeping their proportions
            for part, share in zip(self.parts, _spread(rate, self.part_targets), strict=True):
                self.set_part_rate(part.name, share)
            return
        live = self._live_workers()
        for worker in live:
            self.pool.send(("rate", rate / len(live)), worker)
        self.rate_target = rate
        self._event(f"target rate set to {rate:,.1f} req/s")
        self._publish()

    # -- [[scenarios]]: one at a time ---------------------------------------------
    def part_index(self, name: str) -> int | None:
        """The position of the ``[[scenarios]]`` entry called ``name`` (None: none is)."""
        return next((i for i, p in enumerate(self.parts) if p.name == name), None)

    def part_target(self, name: str) -> float:
        """What the scenario was last asked for: users, or req/s in the open model."""
        i = self.part_index(name)
        return self.part_targets[i] if i is not None else 0.0

    def part_is_paused(self, name: str) -> bool:
        i = self.part_index(name)
        return (self.paused or self.part_paused[i]) if i is not None else self.paused

    def set_part_users(self, name: str, users: int) -> None:
        """One closed-model scenario's users, live (the dashboard's +/- on it)."""
        i = self.part_index(name)
        if i is None or self.parts[i].load.is_open or self.state in ("stopping", "done"):
            return
        users = max(0, int(users))
        self.part_targets[i] = users
        live = self._live_workers()
        for worker, n in zip(live, split_evenly(users, len(live)), strict=False):
            self.pool.send(("part", i, ("users", n)), worker)
        self._sum_part_targets()
        self._event(f"{name}: target users set to {users}")
        self._publish()

    def set_part_rate(self, name: str, rate: float) -> None:
        """One arrival-rate scenario's rate (req/s), constant from now on."""
        i = self.part_index(name)
        if i is None or not self.parts[i].load.is_open or self.state in ("stopping", "done"):
            return
        rate = max(0.0, float(rate))
        self.part_targets[i] = rate
        live = self._live_workers()
        for worker in live:
            self.pool.send(("part", i, ("rate", rate / len(live))), worker)
        self._sum_part_targets()
        self._event(f"{name}: target rate set to {rate:,.1f} req/s")
        self._publish()

    def toggle_part_pause(self, name: str) -> None:
        """Pause one scenario (its requests wait; the others and the run's clock go on),
        or resume it."""
        i = self.part_index(name)
        if i is None or self.state in ("stopping", "done"):
            return
        if self.paused:  # the whole run is paused: resuming one means resuming it
            self.resume()
            return
        paused = not self.part_paused[i]
        self.part_paused[i] = paused
        self.pool.send(("part", i, ("pause",) if paused else ("resume",)))
        self._event(f"{name}: {'paused' if paused else 'resumed'}")
        self._publish()

    def _sum_part_targets(self) -> None:
        """The run's targets from its scenarios': users (closed), req/s (all open)."""
        closed = [
            t for t, p in zip(self.part_targets, self.parts, strict=True) if not p.load.is_open
        ]
        self.users_target = round(sum(closed))
        self.users_planned = max(self.users_planned, self.users_target)
        self._ramped = False
        if self.open_model:
            self.rate_target = sum(self.part_targets)

    def _live_workers(self) -> list[int]:
        lost = {w["worker"] for w in self.lost}
        return [w for w in range(self.workers) if w not in lost] or [0]

    def set_users(
        self,
        users: int,
        spawn_rate: float | None = None,
        classes: tuple[str, ...] | None = None,
    ) -> None:
        """Change the target user count live; workers reach it at the spawn rate (the
        new ``spawn_rate`` in users per second over the run, when given), with users of
        ``classes`` only, when given (a locustfile's load shape)."""
        users = max(0, int(users))
        if self.open_model or self.state in ("stopping", "done"):
            return
        if users == self.users_target and spawn_rate is None and classes is None:
            return
        if self.parts:  # every closed scenario's users, keeping their proportions
            closed = [i for i, p in enumerate(self.parts) if not p.load.is_open]
            targets = [self.part_targets[i] for i in closed]
            for i, n in zip(closed, _spread_whole(users, targets), strict=True):
                self.set_part_users(self.parts[i].name, n)
            return
        self.users_target = users
        self.users_planned = max(self.users_planned, users)
        self._ramped = False
        live = self._live_workers()  # a lost worker's share is not handed to the others
        self._targets = [0] * self.workers
        for worker, n in zip(live, split_evenly(users, max(1, len(live))), strict=False):
            self._targets[worker] = n
            if classes is not None:
                rate = (spawn_rate or self.scenario.load.effective_spawn_rate) / len(live)
                self.pool.send(("users", n, rate, classes), worker)
            elif spawn_rate is None:
                self.pool.send(("users", n), worker)
            else:
                self.pool.send(("users", n, spawn_rate / len(live)), worker)
        only = f" ({', '.join(classes)})" if classes else ""
        self._event(f"target users set to {users}{only}")
        self._publish()

    def note(self, text: str) -> None:
        """An event of the run's (the dashboard's events, the headless output)."""
        self._event(text)

    def warn(self, text: str) -> None:
        """A warning from beside the run (an exporter whose collector fails): a warning
        event, and a line as it comes in a headless run. Never a failure of the run."""
        text = self._redact(text)
        self.alerts.append(text)
        self._event(text, "warning")

    def listen(self, listener: Callable[[Second], None]) -> None:
        """Be handed each second as it completes, warm-up and last partial second
        included, in the merge thread: ``listener`` must only queue it, never block
        (the exporters, ``tui_loadtest.export``, do the rest in threads of their own)."""
        with self._lock:
            self.aggregate.listeners.append(listener)

    def active_users(self) -> int:
        """The users running, as the workers last reported them."""
        return self._snapshot.users_active

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
        """End everything now, in about a second whatever the target does (on errors, a
        second Ctrl+C, and at exit); idempotent. Requests in flight are abandoned;
        what the engines had sent is kept. Engines ended this way never count as failed.
        """
        if not self._done.is_set():
            with self._lock:
                self.stop_reason = self.stop_reason or "closed"
            if self.scenario.has_teardown:  # a second signal skips the teardown
                self.teardown_skipped = self.teardown_skipped or "closed before it ended"
                running = self._teardown
                if running is not None:
                    loop, task = running
                    loop.call_soon_threadsafe(task.cancel)
            if self._thread is None:  # never went: no merge thread to finish the run
                self.stop(self.stop_reason)
            else:
                self.pool.kill(grace_s=0.0)
                self._done.wait(KILL_WAIT_S)
        self.monitor.stop(wait_s=0.0)
        self.pool.kill(grace_s=2.0)

    def worker_info(self) -> list[WorkerInfo]:
        """Each engine: where it runs, its state, its clock offset."""
        return self.pool.info()

    # -- the merge thread -----------------------------------------------------
    def _loop(self) -> None:
        """The merge thread. If it fails (a bug), the run ends at once rather than hangs:
        the engines are killed and ``result()`` raises, which the commands report as
        an internal error (exit 70, the traceback in the run's log)."""
        try:
            self._merge_until_done()
        except Exception as exc:  # noqa: BLE001 - anything: the run must end, not hang
            self.failure = exc
            try:
                self._log("coordinator", [traceback.format_exc()])
            finally:
                with self._lock:
                    self.stop_reason = self.stop_reason or "internal error"
                    self.state = "done"
                    self.end_mono = self.end_mono or time.monotonic()
                self.pool.kill(grace_s=0.0)
                self._done.set()

    def _merge_until_done(self) -> None:
        pool = self.pool
        while pool.running():
            self._check_clock()
            changed = False
            for msg in pool.receive(POLL_S):
                if isinstance(msg, Delta):
                    self._note_worker(msg.delta)
                    if msg.delta.errors and self._redact.secrets:
                        self._scrub(msg.delta)
                    if msg.delta.logs:
                        self._log(f"worker {msg.delta.worker}, script", msg.delta.logs)
                    if msg.delta.http_debug:
                        self._write_http_debug(msg.delta.http_debug)
                    if msg.delta.exit_code is not None:
                        self.exit_code_asked = msg.delta.exit_code
                    if msg.delta.quit:
                        self.stop("the locustfile called runner.quit()")
                    with self._lock:
                        changed |= bool(self.aggregate.add(msg.delta))
                    said = self.aggregate.said
                    if len(said) > self._said:  # a worker's one-off warning: a line now
                        self.alerts.extend(said[self._said :])
                        self._said = len(said)
                else:
                    self._worker_ended(msg)
                    changed = True
            changed |= self._complete_overdue()
            if changed:
                self._after_tick()
        self.monitor.stop()  # its last samples see everything the target served
        self._tear_down()
        with self._lock:
            self.aggregate.finish()
            self.end_mono = time.monotonic()
            self.state = "done"
            if self.stop_reason is None:
                self.stop_reason = "request budget spent" if self.load.requests else "finished"
            if len(self.lost) == self.workers and self.stop_reason in OWN_ENDINGS:
                self.stop_reason = ALL_LOST  # not "run time reached": nothing ran to it
            self._account_lost()
        self._event(f"run finished ({self.stop_reason})")
        self._publish()
        pool.kill(grace_s=2.0)
        self._done.set()

    def _note_worker(self, delta: WorkerDelta) -> None:
        """A worker's last second, for the workers view: users, rate, CPU and lag."""
        requests = sum(self_requests(e) for e in delta.endpoints)
        span = delta.span_s
        ended = (self.start_mono or 0.0) + delta.tick + span
        live = _WorkerLive(
            users=delta.users,
            rps=requests / span if span > 0 else 0.0,
            cpu_pct=100 * delta.cpu_s / span if delta.cpu_s is not None and span > 0 else None,
            lag_ms=1000 * (time.monotonic() - ended),
            requests=requests,
        )
        before = self._workers_live.get(delta.worker)
        if before is not None:
            live.requests += before.requests
        self._workers_live[delta.worker] = live

    def _worker_rows(self) -> tuple[WorkerRow, ...]:
        rows = []
        for w in self.pool.info():
            live = self._workers_live.get(w.worker)
            if live is None:
                rows.append(WorkerRow(w.worker, w.host, w.state, address=w.address))
                continue
            rows.append(
                WorkerRow(
                    w.worker,
                    w.host,
                    w.state,
                    users=live.users if w.state == "running" else 0,
                    rps=live.rps if w.state == "running" else 0.0,
                    cpu_pct=live.cpu_pct,
                    lag_ms=live.lag_ms,
                    requests=live.requests,
                    address=w.address,
                )
            )
        return tuple(rows)

    def _worker_ended(self, msg: Ended) -> None:
        self._ended.add(msg.worker)
        if msg.reason == "failed":
            self._worker_failed(msg.worker, msg.text)
            # it died of an exception: lost like a killed one (the run ends "worker failed")
            at = msg.last_tick + 1
            why = self.worker_errors[-1].partition(" failed: ")[2]
            self.lost.append({"worker": msg.worker, "at_s": at, "reason": f"failed: {why}"})
            self._paused_at_loss[msg.worker] = self.paused_time()
            self._failed.add(msg.worker)
        elif msg.reason == "lost":
            self._worker_lost(msg)
        with self._lock:
            self.aggregate.worker_finished(msg.worker, msg.last_tick)

    def _worker_lost(self, msg: Ended) -> None:
        """A worker went away without a word (killed from outside, crashed): its figures
        up to its last second stay; the run goes on without its share."""
        at = msg.last_tick + 1
        self.lost.append({"worker": msg.worker, "at_s": at, "reason": msg.text})
        self._paused_at_loss[msg.worker] = self.paused_time()
        if (
            not self.open_model
            and not self.load.stages
            and not self.parts
            and msg.worker < len(self._targets)
        ):
            with self._lock:  # the users it ran are gone with it: the others keep theirs
                self.users_target -= self._targets[msg.worker]
                self.users_lost += self._targets[msg.worker]
                self._targets[msg.worker] = 0
        stop = self.scenario.cluster.on_worker_loss == "stop"
        if len(self._ended) == self.workers:
            then = "no worker is left: the run ends"
        elif stop:
            then = "the run stops (--on-worker-loss stop)"
        else:
            then = "the run goes on without its share"
        text = f"worker {msg.worker} lost at {at} s ({msg.text}): {then}"
        self.alerts.append(text)
        self._event(text, "error")
        if stop:
            self.stop("worker lost")

    def _account_lost(self) -> None:
        """At the end: how many seconds of each lost worker's share are missing (the
        run's seconds under load after it was lost: paused ones asked nothing of it)."""
        end = self._share_end_s()
        for lost in self.lost:
            paused_after = self.paused_s - self._paused_at_loss.get(lost["worker"], 0.0)
            lost["missing_s"] = round(max(0.0, end - lost["at_s"] - paused_after), 1)
            if lost["worker"] in self._failed:  # its line says why; the report, how much
                continue
            self.worker_errors.append(
                f"worker {lost['worker']} lost at {lost['at_s']} s ({lost['reason']}):"
                f" {lost['missing_s']:g} s of its share missing"
            )

    def _share_end_s(self) -> float:
        """Until when, in seconds since the start (paused ones included), a lost worker's
        share was due: the seconds the others reported, and at least until the run was
        asked to stop (a worker lost before it sent its last seconds owes them too).
        A run time cut short by the losses themselves was due in full."""
        end = self.aggregate.duration_s
        if self._stop_asked_s is not None:
            end = max(end, self._stop_asked_s)
        cut_short = self.stop_reason in (ALL_LOST, "worker lost")
        if cut_short and self.load.duration_s is not None:
            end = max(end, self.load.duration_s + self.paused_s)
        return end

    @property
    def degraded(self) -> str | None:
        """``"1 of 4 workers lost at 0:42"`` when workers were lost, else None."""
        if not self.lost:
            return None
        times = ", ".join(f"{int(w['at_s']) // 60}:{int(w['at_s']) % 60:02d}" for w in self.lost)
        return f"{len(self.lost)} of {self.workers} workers lost at {times}"

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
            if not self._warmup_said and agg.next_tick >= agg.warmup_ticks:
                self._warmup_said = True
                self._events.append(
                    Event(float(agg.warmup_ticks), "warm-up over: measuring from here")
                )
            self._watch_generator()
            if self.parts:
                self._follow_parts()
                if agg.open_model:
                    self._watch_open_model()
            elif self.open_model:
                self.rate_target = agg.target
                self._watch_open_model()
            elif self.load.stages and self.state not in ("stopping", "done"):
                self.users_target = round(agg.target)
            users = agg.users
            if self.parts:
                users = self._part_users()
            elif self.open_model:
                users = self.users_target  # no spawning: nothing to ramp
            if self.state == "ramping" and users >= self.users_target and not self._ramped:
                self._ramped = True
                self.state = "running"
                self._events.append(Event(self.elapsed(), f"all {self.users_target} users running"))
            elif self.state == "running" and users < self.users_target:
                self.state = "ramping"
        self._publish()

    def _follow_parts(self) -> None:
        """Scenarios with stages: their targets as their engines follow them."""
        agg = self.aggregate
        if self.state in ("stopping", "done"):
            return
        for i, part in enumerate(self.parts):
            if part.load.stages:
                target = agg.part_targets[i]
                self.part_targets[i] = target if part.load.is_open else round(target)
        closed = [
            t for t, p in zip(self.part_targets, self.parts, strict=True) if not p.load.is_open
        ]
        self.users_target = round(sum(closed))
        self.users_planned = max(self.users_planned, self.users_target)
        if self.open_model:
            self.rate_target = sum(self.part_targets)

    def _part_users(self) -> int:
        """Users running in the closed scenarios that have started; a scenario yet to
        start counts as ramped (the run is not "ramping" for it)."""
        elapsed = self.elapsed()
        users = 0
        for i, part in enumerate(self.parts):
            if part.load.is_open:
                continue
            if elapsed < part.load.start_s:
                users += round(self.part_targets[i])
            else:
                users += self.aggregate.part_users[i]
        return users if not self.open_model else self.users_target

    def _watch_generator(self) -> None:
        """Sample the coordinator's CPU per new second; warn once when saturated."""
        agg, gen = self.aggregate, self.generator
        gen.sample_coordinator(len(agg.cpu) - len(gen.coordinator))
        warning = gen.check(agg.cpu, self.elapsed())
        if warning is not None:
            self._events.append(Event(self.elapsed(), warning, "warning"))

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

    def _scrub(self, delta: WorkerDelta) -> None:
        """Error messages never carry a secret of the scenario into an event or a report."""
        redact = self._redact
        delta.errors = [
            (kind, status, ep, count, redact(message))
            for kind, status, ep, count, message in delta.errors
        ]

    def _log(self, what: str, texts: list[str]) -> None:
        """Append to the run's log file (made on first use): tracebacks of script tasks."""
        if self.log_path is None:
            fd, self.log_path = tempfile.mkstemp(prefix="tui-loadtest-", suffix=".log")
            os.close(fd)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            for text in texts:  # the log file is an artefact: no secret of the scenario
                fh.write(f"--- {what}\n{self._redact(text)}\n")

    def _write_http_debug(self, exchanges: list[tuple[str, str]]) -> None:
        """--http-debug: the workers' copies, the first N of each endpoint over the run,
        scrubbed of the scenario's secrets (the workers never had them)."""
        if self.http_debug is None or self.http_debug_path is None:
            return
        limit = self.http_debug[1]
        with open(self.http_debug_path, "a", encoding="utf-8") as fh:
            for endpoint, text in exchanges:
                n = self._debugged.get(endpoint, 0)
                if n >= limit:
                    continue
                self._debugged[endpoint] = n + 1
                fh.write(self._redact(text) + "\n\n")

    def _worker_failed(self, i: int, text: str) -> None:
        text = self._redact(text)  # the log file is an artefact too
        if self.log_path is None:
            fd, self.log_path = tempfile.mkstemp(prefix="tui-loadtest-", suffix=".log")
            os.close(fd)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"--- worker {i}\n{text}\n")
        line = f"worker {i} failed: {last_line(text)}"
        self.worker_errors.append(line)
        self._events.append(Event(self.elapsed(), line, "error"))
        if not self.stop_reason:
            self.stop_reason = "worker failed"

    # -- publishing -----------------------------------------------------------
    def _event(self, text: str, level: str = "info") -> None:
        with self._lock:
            self._events.append(Event(self.elapsed(), text, level))

    def _monitor_event(self, text: str, level: str) -> None:
        """A monitor's news (a scrape failing, a process exiting): an event, never a failure."""
        self._event(self._redact(text), level)

    def _publish(self) -> None:
        with self._lock:
            self._snapshot = self._build_snapshot()

    def _aggregate_snapshot(self) -> Snapshot:
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
            generator_cpu_pct=self.generator.latest(self.aggregate.cpu),
            generator_saturated=self.generator.saturated_at_s is not None,
        )

    def _build_snapshot(self) -> Snapshot:
        snap = self._aggregate_snapshot()
        if snap.scenarios:  # the targets asked of each (users, req/s), known from the start
            snap = replace(
                snap,
                scenarios=tuple(
                    replace(p, target=float(t))
                    for p, t in zip(snap.scenarios, self.part_targets, strict=True)
                ),
            )
        agg = self.aggregate
        generator = self.generator.series([p.t for p in agg.timeline], agg.cpu, agg.rss)
        resources = generator + self.monitor.series()
        warmup = float(self.aggregate.warmup_ticks)
        return replace(snap, resources=resources, warmup_s=warmup, worker_rows=self._worker_rows())

    def _warmup_report(self) -> dict[str, Any]:
        """The report's ``warmup`` section: the warm-up's own figures, kept apart."""
        return warmup_figures(self.aggregate, self.load.warmup_s)

    def result(self) -> RunResult:
        """The final (or, before the end, partial) result of the run."""
        if self.failure is not None:
            where = f" (details in {self.log_path})" if self.log_path else ""
            raise RuntimeError(f"the run's merge thread failed{where}") from self.failure
        with self._lock:
            agg = self.aggregate
            figures = measured_figures(agg)
            load = self.load
            started = self.started_at.isoformat(timespec="seconds") if self.started_at else ""
            return RunResult(
                started_at=started,
                host=self.host,
                scenario_name=self.scenario.name,
                load=msgspec.to_builtins(
                    # lost workers' users count in the planned users
                    load_report(
                        load, users=self.users_target + self.users_lost, workers=self.workers
                    )
                ),
                scenario=self.scenario.redacted,
                **figures,
                warmup=self._warmup_report(),
                outcome={
                    "reason": self.stop_reason,
                    "interrupted": self.interrupted or self.stop_reason == "interrupted",
                    "connections": agg.connects,
                    "paused_s": round(self.paused_s, 3),
                    "worker_errors": list(self.worker_errors),
                    "workers_lost": [dict(lost) for lost in self.lost],
                    "degraded": self.degraded,
                    **({"notes": list(agg.notes)} if agg.notes else {}),
                    **self._setup_report(),
                    "users": {"planned": self.users_planned, **users_seen(agg)},
                },
                generator=self.generator.report(
                    agg.cpu,
                    agg.rss,
                    loop_section(agg.loop_lag, agg.stalls, figures["summary"].requests)
                    if agg.loop_lag.total or agg.stalls
                    else None,
                ),
                environment={**environment(self.workers), **self._engines_report()},
                resources=list(self.monitor.series()),
                monitor=self.monitor.report() if self.monitor.sources else {},
            )

    def _setup_report(self) -> dict[str, Any]:
        """The report's ``outcome.setup`` and ``outcome.teardown`` (never a value)."""
        out: dict[str, Any] = {}
        if self.setup_outcome is not None:
            out["setup"] = self._scrubbed(self.setup_outcome.report())
        if self.teardown_outcome is not None:
            out["teardown"] = self._scrubbed(self.teardown_outcome.report())
        elif self.teardown_skipped is not None:
            out["teardown"] = {"passed": False, "skipped": self.teardown_skipped}
        return out

    def _scrubbed(self, section: dict[str, Any]) -> dict[str, Any]:
        failure = section.get("failure")
        return {**section, "failure": self._redact(failure) if failure else failure}

    def _engines_report(self) -> dict[str, Any]:
        """What ran the engines: each worker's host, share, clock offset and round trip."""
        engines = []
        for w in self.pool.info():
            share = self.shares[w.worker] if w.worker < len(self.shares) else None
            engines.append(
                {
                    "worker": w.worker,
                    "host": w.host,
                    "address": w.address,
                    "pid": w.pid,
                    "state": w.state,
                    "clock_offset_ms": round(w.clock_offset_s * 1000, 3),
                    "rtt_ms": round(w.rtt_s * 1000, 3) if w.rtt_s is not None else None,
                    "share": {
                        "users": share.users,
                        "fraction": share.fraction,
                        "requests": share.requests,
                        "spawn_rate": share.spawn_rate,
                    }
                    if share is not None
                    else None,
                }
            )
        return {"backend": getattr(self.pool, "where", "local processes"), "engines": engines}


def part_text(part: ScenarioPart) -> str:
    """A scenario's load in a few words, for the start event: ``checkout: 20 req/s from 30s``."""
    load = part.load
    if load.stages:
        what = f"{len(load.stages)} stage(s)"
    elif load.is_open:
        what = f"{load.rate:g} req/s"
    else:
        what = f"{load.users} users"
    if load.iterations is not None:
        what += f", {load.iterations} iterations"
    if load.iterations_per_user is not None:
        what += f", {load.iterations_per_user} iterations each"
    if load.start_s:
        what += f" from {load.start_s:g}s"
    return f"{part.name}: {what}"


def _spread(total: float, weights: list[float]) -> list[float]:
    """``total`` split in proportion to ``weights`` (evenly when they are all 0)."""
    whole = sum(weights)
    if whole <= 0:
        return [total / len(weights)] * len(weights) if weights else []
    return [total * w / whole for w in weights]


def _spread_whole(total: int, weights: list[float]) -> list[int]:
    """Like :func:`_spread`, in whole numbers that add up to ``total``."""
    shares = [int(x) for x in _spread(float(total), weights)]
    rest = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: -weights[i])[:rest]:
        shares[i] += 1
    return shares
