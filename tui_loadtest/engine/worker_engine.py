"""One worker's share of a run: its users, its per-second buffers, its clock.

The engine runs inside one event loop (a worker process in real runs, the test's
loop in unit tests). Once a second it swaps its statistics buffers and hands a
:class:`~tui_loadtest.stats.aggregate.WorkerDelta` to ``send``. It never prints.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

import psutil

from ..scenario import Scenario
from ..stats.aggregate import WorkerDelta
from .data_rows import DataRows
from .host import Row, User
from .http.connect import Resolver, make_ssl_context, open_connection
from .journeys import Journeys, compile_journeys
from .loop_watch import LOCUST_ADVICE, SCRIPT_ADVICE, LoopWatch
from .observe import HttpDebug, Observer, observed_class
from .open_model import OpenDriver
from .plan import USER_AGENT, Plan, Target, compile_plan, route
from .recording import Buffers
from .shares import WorkerShare, split_evenly
from .users import user_classes
from .users.client import ClientRuntime
from .users.flow import HEAD_ALLOWANCE
from .users.script import ScriptRuntime, ScriptSlot, ScriptUser

NS = 1_000_000_000  # one second, in perf_counter_ns units
WATCHDOG_S = 0.1
SPAWN_STEP_S = 0.01
STAGE_STEP_S = 0.1


class WorkerEngine:
    """Runs one worker's share of a scenario (closed or open model) in the current loop.

    It is the :class:`~tui_loadtest.engine.host.DriverHost` (and so the ``UserHost``)
    of its users and of the open model's driver.
    """

    loop: asyncio.AbstractEventLoop  # set by run()

    def __init__(
        self,
        scenario: Scenario,
        host: str,
        share: WorkerShare,
        send: Callable[[WorkerDelta], None],
        *,
        observer: Observer | None = None,
        journeys: bool = False,
        watch_loop: bool = True,
    ) -> None:
        """``observer``: copy every exchange to it (the dry run, ``--http-debug``: the
        users are then observed subclasses, see engine/observe.py); ``journeys``: plain
        requests as one-step flows even without flows (the dry run walks them in order);
        ``watch_loop``: watch the event loop (one engine per process does: see parts.py)."""
        self.scenario = scenario
        self.watch_loop = watch_loop
        self.share = share
        self.send = send
        self.http_debug: HttpDebug | None = None
        if observer is None and share.http_debug is not None:
            full, limit = share.http_debug
            self.http_debug = HttpDebug(
                full, limit, scenario.http.max_body + HEAD_ALLOWANCE, self._secret_values
            )
            observer = self.http_debug.observer
        self.observer = observer
        self.plan: Plan = compile_plan(scenario, host)
        self.req_table = [self.plan.requests[i] for i in self.plan.table]
        # Flows (and plain requests beside them) as compiled flows; adds the steps' rows.
        self.journeys: Journeys | None = (
            compile_journeys(scenario, self.plan)
            if (scenario.has_journeys or journeys)
            and scenario.script is None
            and scenario.locustfile is None
            else None
        )
        self.users_started = 0  # for each user's number in the run (user.id)
        self.data_rows = (
            DataRows(scenario.data, share.worker, share.workers) if scenario.data else None
        )
        self.n = len(self.plan.requests)
        self.nflows = len(self.journeys.rows) if self.journeys is not None else 0
        self.script: ClientRuntime | None = None  # a script's, or a locustfile's
        http = scenario.http
        self.timeout_s = http.timeout_s
        self.connect_timeout_s = http.connect_timeout_s
        self.timeout_ns = int(http.timeout_s * 1e9)
        self.connect_timeout_ns = int(http.connect_timeout_s * 1e9)
        lo, hi = scenario.load.think_time
        self.think: tuple[float, float] | None = (lo, hi - lo) if hi > 0 else None
        self.host = host
        self.user_agent = USER_AGENT
        self.keepalive = http.keepalive
        self.uses_httpx = http.transport == "httpx"
        self.closing: set[asyncio.Task] = set()  # httpx clients being closed
        # https may come from a redirect or a script's URL even when the target is http
        self.ssl_context = make_ssl_context(
            http.verify_tls, http.ca_file, http.client_cert, http.client_key
        )
        self.origin: Target = self.plan.target  # where requests go (users' default)
        self.cookies = http.cookies
        self.max_redirects = http.max_redirects
        self.max_body = http.max_body
        self.open_model = scenario.load.is_open
        self.stages = scenario.load.stages
        if scenario.script is not None:
            self.script = ScriptRuntime(self)  # imports the script (once per worker)
            self.nflows = len(self.script.flows)
        elif scenario.locustfile is not None:
            from .users.locust import LocustRuntime  # greenlet: loaded only for locustfiles

            self.script = LocustRuntime(self)  # imports the locustfile (once per worker)
            self.nflows = len(self.script.flows)
        if observer is not None and isinstance(self.script, ScriptRuntime):
            self.script.user_type = observed_class(ScriptUser)
            self.script.slot_type = observed_class(ScriptSlot)
        self.user_class, self.slot_class = user_classes(
            http.transport,
            any(r.is_head for r in self.plan.requests),
            self.journeys is not None,
            self.script,
        )
        if observer is not None and self.script is None:
            self.user_class = observed_class(self.user_class)  # type: ignore[assignment]
            self.slot_class = observed_class(self.slot_class)  # type: ignore[assignment]
        self.buf = Buffers(self.n, self.open_model, self.nflows, checks=len(scenario.check_rows))
        # Some request streams: every connection may carry a streamed answer (its parser
        # calls a StreamReader; scripts' connections get one when they first stream).
        self.streams = any(r.stream is not None for r in self.plan.requests)
        self._point_requests()
        self.connects = 0
        self.users: set[User] = set()
        self.paused_users: list[User] = []
        self.target = share.users
        self.spawn_rate = share.spawn_rate  # users started per second (a shape changes it)
        self.excess = 0
        self.remaining = share.requests
        # Iterations ([[scenarios]]): those this worker's users share, or each user's (the
        # open model's are its arrival budget, ``remaining``). An iteration is a request of
        # the plain mix, a flow's run, or a script task's call (see begin_iteration).
        load = scenario.load
        self.iterations_left = share.iterations if not load.is_open else None
        self.per_user = load.iterations_per_user if not load.is_open else None
        self.counts_iterations = self.iterations_left is not None or self.per_user is not None
        self._iterations_of: dict[User, int] = {}
        self.start_s = load.start_s  # the load starts this long after the engine's start
        self.paused = False
        self.stopped = False  # no new requests; finishing the ones in flight
        self.gate = self.remaining is not None or self.counts_iterations
        self.tick = 0  # the second being recorded: [tick, tick + 1) after the start
        self.start_mono = 0.0
        self.start_ns = 0  # the start, on perf_counter_ns (the users' clock)
        # When the current second ends (perf_counter_ns). Users compare the time they
        # already took against it and roll the buffers over themselves, so a second
        # holds what completed in that wall-clock second, however the loop batches
        # callbacks; the tick timer rolls over idle seconds.
        self.tick_ns = 0
        # What each second's delta says besides the requests: time paused, the user
        # count integrated over time and at its peak, and this process's CPU time.
        self._paused_at = 0  # perf_counter_ns when the current pause (or second) began
        self._paused_ns = 0
        self._users_mark = 0  # perf_counter_ns when the user count last changed
        self._user_ns = 0
        self._users_peak = 0
        self._cpu = cpu_clock()
        self._rss = rss_reader()
        self._cpu_mark = 0.0
        self._resolver: Resolver | None = None
        self._tls_contexts: dict[tuple[Any, Any], ssl.SSLContext] = {}
        self._idle = asyncio.Event()  # set when no user is left
        self._target_changed = asyncio.Event()
        self._ticker: asyncio.TimerHandle | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._stager: asyncio.TimerHandle | None = None
        self._stopper: asyncio.TimerHandle | None = None
        self.watch: LoopWatch | None = None  # the loop's heartbeat and watchdog, from run()
        self.driver: OpenDriver | None = None
        if self.open_model:
            self.driver = OpenDriver(
                self, self.slot_class, share.users, share.fraction, share.offset
            )
            self.target = 0

    def _secret_values(self, user: Any) -> list[str]:
        """A flow user's captured values named like credentials (``token``), to keep out
        of the HTTP log (the coordinator scrubs the scenario's own secrets)."""
        j = self.journeys
        last = getattr(user, "last", None)
        if j is None or last is None:
            return []
        return [
            value
            for name, k in j.values.names.items()
            if looks_secret(name) and (value := last[k]) is not None
        ]

    # -- users and rows ------------------------------------------------------
    def next_user_id(self) -> int:
        """A new user's number in the whole run: this worker's k-th is ``worker + workers*k``."""
        k = self.users_started
        self.users_started += 1
        return self.share.worker + self.share.workers * k

    def add_row(self, row: Row) -> None:
        """A request type first seen now (a script's name=): its row and its lists."""
        self.plan.requests.append(row)  # type: ignore[arg-type]
        self.n += 1
        self.buf.grow()
        row.hist = self.buf.hist[row.index]
        if self.open_model:
            row.svc = self.buf.svc_hist[row.index]

    # -- control ------------------------------------------------------------
    def admit(self, user: User) -> bool:
        """The slow path of ``start_request``: may this user send now?"""
        if self.stopped:
            self.retire(user)
            return False
        if self.paused:
            self.paused_users.append(user)
            return False
        if self.excess > 0:
            self.excess -= 1
            self._update_gate()
            self.retire(user)
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                self.retire(user)
                return False
            self.remaining -= 1
        if self.counts_iterations and self._starts_iteration(user):
            return self.begin_iteration(user)
        return True

    def _update_gate(self) -> None:
        self.gate = (
            self.stopped
            or self.paused
            or self.excess > 0
            or self.remaining is not None
            or self.counts_iterations
        )

    def _starts_iteration(self, user: User) -> bool:
        """Does this request begin an iteration? Each of the plain mix does; a flow user's
        first step does; a script user counts its tasks itself (begin_iteration)."""
        if self.script is not None:
            return False
        return getattr(user, "step", None) is None

    def begin_iteration(self, user: User) -> bool:
        """One more iteration for ``user``, if the budget allows; else it is retired (a
        user done with its own iterations is not replaced)."""
        left = self.iterations_left
        if left is not None:
            if left <= 0:
                self.retire(user)
                return False
            self.iterations_left = left - 1
        if self.per_user is not None:
            done = self._iterations_of.get(user, 0)
            if done >= self.per_user:
                self.target = max(0, self.target - 1)
                self.retire(user)
                return False
            self._iterations_of[user] = done + 1
        return True

    def _iterations_spent(self) -> bool:
        """Every iteration this engine owes has begun (its users end as they finish)."""
        if self.iterations_left is not None and self.iterations_left <= 0:
            return True
        return self.per_user is not None and self.target <= 0 and not self.stages

    def add_user(self, user: User) -> None:
        """A new user (or open-model slot) joins."""
        self._count_users()
        self.users.add(user)
        if len(self.users) > self._users_peak:
            self._users_peak = len(self.users)

    def retire(self, user: User) -> None:
        user.cancel()
        if user in self.users:
            self._count_users()
            self.users.discard(user)
            if self.counts_iterations:
                self._iterations_of.pop(user, None)
        if not self.users and (
            self.stopped
            or self.remaining == 0
            or (self.counts_iterations and self._iterations_spent())
        ):
            self._idle.set()

    def _count_users(self, until: int | None = None) -> None:
        """Integrate the user count up to now (or ``until``): call before it changes."""
        now = perf_counter_ns() if until is None else until
        self._user_ns += len(self.users) * (now - self._users_mark)
        self._users_mark = now

    def set_target(
        self,
        users: int,
        manual: bool = False,
        spawn_rate: float | None = None,
        classes: tuple[str, ...] | None = None,
    ) -> None:
        """Change this worker's user count; growth follows the spawn rate (``spawn_rate``
        from now on, when given: a locustfile's load shape sets both, and may name the
        user ``classes`` new users are of).

        A manual change (from the dashboard) takes over from the stages, if any.
        """
        if spawn_rate is not None and spawn_rate > 0:
            self.spawn_rate = spawn_rate
        if manual and self._stager is not None:
            self._stager.cancel()
            self._stager = None
            self.stages = ()
        self.target = max(0, users)
        if classes is not None and self.script is not None:
            self.script.restrict(classes)
        active = len(self.users)
        self.excess = max(0, active - self.target)
        self._update_gate()
        self._target_changed.set()

    def set_rate(self, rate: float) -> None:
        """Arrival-rate mode: this worker's new constant rate (req/s)."""
        if self.driver is not None:
            self.driver.set_rate(max(0.0, rate))

    def pause(self) -> None:
        if not self.paused:
            self._paused_at = perf_counter_ns()
        self.paused = True
        self._update_gate()
        if self.driver is not None:
            self.driver.pause()

    def resume(self) -> None:
        if not self.paused:
            return
        self._paused_ns += perf_counter_ns() - self._paused_at
        self.paused = False
        self._update_gate()
        if self.driver is not None:
            self.driver.resume()
        waiting, self.paused_users = self.paused_users, []
        for user in waiting:
            if user in self.users:
                user.start_request()

    def stop(self, drain_queue: bool = False) -> None:
        """No new requests; requests in flight finish (or time out).

        ``drain_queue`` (the request budget is spent): everything already started,
        queued arrivals and connections being opened included, still goes out.
        """
        if self.stopped:
            return
        if self.driver is not None:
            self.driver.catch_up()  # may spend the budget, and so stop (draining) first
            if self.stopped:
                return
        self.stopped = True
        self._update_gate()
        self._target_changed.set()
        if self.driver is not None:
            self.driver.stop(drain_queue)
        for user in list(self.users):
            if user.connecting and not drain_queue:
                # Still connecting: nothing was sent, so this is not a request (the
                # server never sees it). In the open model it was a scheduled arrival
                # left unsent: dropped, and counted as such. (A locustfile user gives
                # it up and stops as Locust stops users: its on_stop runs.)
                if self.script is not None and self.script.wind_down(user):
                    continue
                if self.driver is not None:
                    self.buf.dropped += 1
                self.retire(user)
            elif user.connecting or (self.script is not None and self.script.wind_down(user)):
                continue  # it ends by itself (a locustfile user, stopped as Locust stops it)
            elif not user.deadline:
                self.retire(user)
        if not self.users:
            self._idle.set()

    # -- connections ------------------------------------------------------
    async def connect(
        self,
        conn: asyncio.Protocol,
        target: Target | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Connect ``conn`` to ``target`` (default: the scenario's), as the scenario's TLS
        and proxy settings say (``tls``: a user's own context instead)."""
        if self._resolver is None:
            self._resolver = Resolver(self.loop)
        await open_connection(
            self.loop, conn, target or self.origin, self._resolver, tls or self.ssl_context
        )

    def tls_context(self, verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
        """The SSL context for a script's ``verify=`` and ``cert=`` (one per kind, kept)."""
        key = (verify, cert)
        found = self._tls_contexts.get(key)
        if found is None:
            http = self.scenario.http
            ca = verify if isinstance(verify, str) else http.ca_file
            client, key_file = (cert, None) if isinstance(cert, str) or cert is None else cert
            found = make_ssl_context(
                bool(verify), ca, client or http.client_cert, key_file or http.client_key
            )
            self._tls_contexts[key] = found
        return found

    def route(self, target: Target) -> Target:
        """Another origin (a redirect's, a script's absolute URL) as this run reaches it:
        through the scenario's proxy, if any."""
        return route(target, self.scenario.http.proxy)

    # -- running ----------------------------------------------------------
    async def run(self, delay_s: float = 0.0) -> None:
        """Start in ``delay_s`` seconds (this host's clock) and run until stopped or the
        request budget is spent; send the last delta."""
        self.loop = asyncio.get_running_loop()
        delay_s = max(0.0, delay_s)
        self.start_mono = time.monotonic() + delay_s
        self.start_ns = perf_counter_ns() + int(delay_s * NS)
        self.tick_ns = self.start_ns + NS
        self._users_mark = self.start_ns
        delay = self.start_mono - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._cpu_mark = self._cpu()
        if self.watch_loop:
            self._watch_loop()
        self._schedule_tick()
        self._watchdog = self.loop.call_later(WATCHDOG_S, self._check_deadlines)
        spawner = None
        if self.script is not None:
            self.script.started()  # a locustfile's test_start
        stop_after = self.scenario.load.stop_after_s
        if stop_after is not None:  # a [[scenarios]] entry's stages are over: it ends
            self._stopper = self.loop.call_later(stop_after, self.stop)
        if self.driver is not None:
            self.driver.start(self.start_ns + int(self.start_s * NS))
        else:
            if self.stages:
                self._follow_stages()
            spawner = self.loop.create_task(self._spawn())
        try:
            await self._idle.wait()
        finally:
            if spawner is not None:
                spawner.cancel()
            if self._stager is not None:
                self._stager.cancel()
            if self._stopper is not None:
                self._stopper.cancel()
            for user in list(self.users):
                user.cancel()
            self._count_users()
            self.users.clear()
            if self.script is not None:
                self.script.stopped()  # a locustfile's test_stop and quitting
            if self._ticker is not None:
                self._ticker.cancel()
            if self._watchdog is not None:
                self._watchdog.cancel()
            if self.watch is not None:
                self.watch.stop()
            if self.closing:
                await asyncio.wait(self.closing, timeout=2.0)
            self._emit(final=True)

    async def drive(self, driver: Callable[[], Awaitable[None]]) -> None:
        """Run ``driver`` with this engine's clocks and timers (deadlines, seconds) but
        none of its spawning: the dry run makes and drives its one user itself. What
        the engine counts meanwhile goes to ``send`` as usual, the last delta at the end."""
        self.loop = asyncio.get_running_loop()
        self.start_mono = time.monotonic()
        self.start_ns = perf_counter_ns()
        self.tick_ns = self.start_ns + NS
        self._users_mark = self.start_ns
        self._cpu_mark = self._cpu()
        self._schedule_tick()
        self._watchdog = self.loop.call_later(WATCHDOG_S, self._check_deadlines)
        try:
            await driver()
        finally:
            for user in list(self.users):
                user.cancel()
            self._count_users()
            self.users.clear()
            if self._ticker is not None:
                self._ticker.cancel()
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._emit(final=True)

    def _watch_loop(self) -> None:
        """Start the heartbeat and watchdog of this loop (engine/loop_watch.py): a stall
        is named after the script task running, and counts the requests in flight."""
        rt = self.script
        names = (
            {f.fn.__code__: f.name for f in rt.flows if hasattr(getattr(f, "fn", None), "__code__")}
            if rt
            else {}
        )
        users = self.users
        self.watch = LoopWatch(
            self.loop,
            worker=self.share.worker,
            names=names,
            in_flight=lambda: sum(1 for u in users if u.deadline),
            advice=LOCUST_ADVICE if self.scenario.locustfile is not None else SCRIPT_ADVICE,
        )
        self.watch.start()

    def _budget_spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def _follow_stages(self) -> None:
        """Closed model with stages: move the user target along the ramp every 100 ms."""
        if self.stopped or not self.stages:
            return
        elapsed = max(0.0, time.monotonic() - self.start_mono - self.start_s)
        level = self.scenario.load.level_at(elapsed)
        share = split_evenly(round(level), self.share.workers)[self.share.worker]
        if share != self.target:
            self.set_target(share)
        self._stager = self.loop.call_later(STAGE_STEP_S, self._follow_stages)

    async def _spawn(self) -> None:
        """Start users at the spawn rate until the target is reached; wait for changes.

        With stages the ramp itself paces growth, so users start as soon as the
        target allows. Every user due before the loop wakes again starts now, so a rate
        that makes them all due within one step (``bench`` asks for ``MAX_USERS`` a
        second) starts them all at once; none starts once the request budget is spent.
        """
        if self.start_s > 0:  # a [[scenarios]] entry that starts later
            await asyncio.sleep(max(0.0, self.start_mono + self.start_s - time.monotonic()))
        started = 0
        t_start = time.monotonic()
        while not self.stopped:
            rate = self.spawn_rate if not self.stages else 1e9
            if self._budget_spent() or (self.counts_iterations and self._iterations_spent()):
                if not self.users:
                    self._idle.set()
                return
            missing = self.target - len(self.users)
            if missing <= 0:
                self._target_changed.clear()
                await self._target_changed.wait()
                started, t_start = 0, time.monotonic()
                continue
            due = int((time.monotonic() - t_start + SPAWN_STEP_S) * rate) + 1 - started
            for _ in range(min(max(due, 0), missing)):
                if self._budget_spent():
                    break
                user = self.user_class(self)
                self.add_user(user)
                started += 1
                user.start_request()
                if self.stopped:
                    return
            next_at = t_start + started / rate
            await asyncio.sleep(max(SPAWN_STEP_S, next_at - time.monotonic()))

    def _check_deadlines(self) -> None:
        now = perf_counter_ns()
        for user in list(self.users):
            d = user.deadline
            if d and d < now:
                user.on_timeout()
        done = self.stopped or self._budget_spent()  # nothing more will be sent
        lingering = self.script is not None and self.script.lingering
        if done and not lingering and not any(u.deadline or u.connecting for u in self.users):
            for user in list(self.users):
                self.retire(user)
            self._idle.set()
        self._watchdog = self.loop.call_later(WATCHDOG_S, self._check_deadlines)

    def _schedule_tick(self) -> None:
        wait = (self.tick_ns - perf_counter_ns()) / NS
        self._ticker = self.loop.call_later(max(0.0, wait), self._on_tick)

    def _on_tick(self) -> None:
        self.roll(perf_counter_ns())
        self._schedule_tick()

    def roll(self, now_ns: int) -> None:
        """Send every second that ended by ``now_ns`` (called by users as they record,
        and by the tick timer when nothing completes)."""
        while now_ns >= self.tick_ns:
            self._emit()
            self.tick_ns += NS

    def _point_requests(self) -> None:
        """Give every request its lists (the hot path records into them; they are read
        and zeroed in place once a second, never swapped)."""
        buf = self.buf
        for r in self.plan.requests:
            r.hist = buf.hist[r.index]
            if r.stream is not None:
                r.srec = buf.stream_list(r.index)
            if self.open_model:
                r.svc = buf.svc_hist[r.index]
        flows = self.journeys.rows if self.journeys is not None else []
        for f in flows or (self.script.flows if self.script is not None else []):
            f.hist = buf.flow_hist[f.index]
            if self.open_model:
                f.svc = buf.flow_svc[f.index]
        if self.journeys is not None:
            for flow in self.journeys.flows:
                for step in flow.steps:
                    if step.checks is not None:
                        step.checks.counts = buf.checks

    def _take_debug(self) -> list[tuple[str, str]]:
        debug = self.http_debug
        return debug.lines() if debug is not None and debug.taken else []

    def _emit(self, final: bool = False) -> None:
        buf = self.buf
        endpoints, flows = buf.take()  # the lists are read and zeroed in place
        errors, dropped, lag, lag_sum = buf.take_rest()
        began = self.tick_ns - NS
        end = perf_counter_ns() if final else self.tick_ns
        span = min(1.0, max(0.0, (end - began) / NS)) if final else 1.0
        if self.paused:
            self._paused_ns += end - max(self._paused_at, began)
            self._paused_at = end
        paused_s, self._paused_ns = min(span, self._paused_ns / NS), 0
        self._count_users(until=end)
        user_s, self._user_ns = self._user_ns / NS, 0
        peak, self._users_peak = max(self._users_peak, len(self.users)), len(self.users)
        cpu = self._cpu()
        cpu_s, self._cpu_mark = max(0.0, cpu - self._cpu_mark), cpu
        notes: list[str] = []
        if self.data_rows is not None and self.data_rows.notes:
            notes, self.data_rows.notes = self.data_rows.notes, []
        rows: list[tuple[str, str]] = []
        logs: list[str] = []
        new_checks: list[tuple[str, str, bool]] = []
        rt = self.script
        if rt is not None:
            rows, rt.new_rows = rt.new_rows, []
            new_checks, rt.new_checks = rt.new_checks, []
            logs, rt.logs = rt.logs, []
            notes, rt.notes = notes + rt.notes, []
        connects, self.connects = self.connects, 0
        loop = self.watch.take() if self.watch is not None else None
        driver = self.driver
        self.send(
            WorkerDelta(
                worker=self.share.worker,
                tick=self.tick,
                span_s=span,
                users=driver.in_flight() if driver is not None else len(self.users),
                endpoints=endpoints,
                errors=errors,
                paused=self.paused,
                connects=connects,
                target=driver.target_rate() if driver is not None else float(self.target),
                dropped=dropped,
                lag_buckets=lag if driver is not None else None,
                lag_sum_us=lag_sum,
                flows=flows,
                notes=notes,
                new_endpoints=rows,
                logs=logs,
                paused_s=paused_s,
                users_peak=peak,
                user_s=user_s,
                cpu_s=cpu_s,
                rss_bytes=self._rss(),
                loop_lag=loop.lag if loop is not None else None,
                loop_lag_sum_us=loop.lag_sum_us if loop is not None else 0,
                stalls=loop.stalls if loop is not None else [],
                loop_notes=loop.notes if loop is not None else [],
                checks=buf.take_checks(),
                new_checks=new_checks,
                http_debug=self._take_debug(),
                quit=rt.quit_asked if rt is not None else False,
                exit_code=rt.process_exit_code() if rt is not None else None,
                classes=rt.users_by_class() if rt is not None else None,
            )
        )
        self.tick += 1


def looks_secret(name: str) -> bool:
    """A value's name that says it is a credential (``token``, ``api_key``, ``sessionId``)."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


SECRET_WORDS = ("token", "key", "secret", "password", "passwd", "auth", "session", "cookie",
                "sid", "jwt", "credential", "signature")  # fmt: skip


def cpu_clock() -> Callable[[], float]:
    """CPU seconds (user and system) this process has used, as a function to call."""
    proc = psutil.Process()

    def cpu() -> float:
        t = proc.cpu_times()
        return t.user + t.system

    return cpu


def rss_reader() -> Callable[[], int]:
    """This process's resident memory in bytes, as a function to call (once a second)."""
    proc = psutil.Process()
    return lambda: proc.memory_info().rss
