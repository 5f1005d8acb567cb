"""One worker's share of a run: its users, its per-second buffers, its clock.

The engine runs inside one event loop (a worker process in real runs, the test's
loop in unit tests). Once a second it swaps its statistics buffers and hands a
:class:`~tui_loadtest.stats.aggregate.WorkerDelta` to ``send``. It never prints.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress
from time import perf_counter_ns

from ..scenario import Scenario
from ..stats.aggregate import EndpointDelta, WorkerDelta
from ..stats.histogram import NBUCKETS
from .httpx_user import HttpxUser
from .open_model import OpenDriver
from .plan import USER_AGENT, Plan, compile_plan
from .vuser import BYTES_SLOT, SLOTS, SUM_SLOT, HeadAwareUser, VUser

WATCHDOG_S = 0.1
SPAWN_STEP_S = 0.01
STAGE_STEP_S = 0.1


@dataclass(frozen=True, slots=True)
class WorkerShare:
    """What one worker is asked to do: its part of the users, spawn rate and budget.

    In arrival-rate mode ``users`` is the worker's part of ``max_users`` and
    ``fraction`` its part of the rate; ``offset`` staggers workers' arrivals so
    the merged stream stays evenly spaced.
    """

    worker: int
    workers: int
    users: int
    spawn_rate: float
    requests: int | None = None  # this worker's part of the request budget
    fraction: float = 1.0  # this worker's part of stage targets and of the rate
    offset: float = 0.0


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` integers that differ by at most one."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def make_shares(scenario: Scenario, workers: int) -> list[WorkerShare]:
    load = scenario.load
    budgets = split_evenly(load.requests, workers) if load.requests is not None else None
    if load.is_open:
        slots = split_evenly(load.max_users, workers)
        return [
            WorkerShare(
                worker=i,
                workers=workers,
                users=slots[i],
                spawn_rate=0.0,
                requests=budgets[i] if budgets is not None else None,
                fraction=1 / workers,
                offset=i / workers,
            )
            for i in range(workers)
        ]
    users = split_evenly(load.users, workers)
    rate = load.effective_spawn_rate
    return [
        WorkerShare(
            worker=i,
            workers=workers,
            users=users[i],
            spawn_rate=max(rate * users[i] / max(1, load.users), 1e-9),
            requests=budgets[i] if budgets is not None else None,
            fraction=users[i] / max(1, load.users) if not load.stages else 1 / workers,
        )
        for i in range(workers)
    ]


class Buffers:
    """One second of statistics, per endpoint, indexed by the request's position."""

    __slots__ = (
        "hist",
        "http_fail",
        "other_fail",
        "errors",
        "svc_hist",
        "lag",
        "lag_sum",
        "dropped",
    )

    def __init__(self, n: int, open_model: bool = False) -> None:
        # per endpoint: bucket counts, then the latency sum (µs) and the bytes received
        self.hist = [[0] * SLOTS for _ in range(n)]
        self.http_fail = [0] * n
        self.other_fail = [0] * n
        # (kind, status, endpoint) -> [count, last message]
        self.errors: dict[tuple[str, int | None, int], list] = {}
        # open model: service time beside the corrected latency, and scheduler lag
        self.svc_hist = [[0] * SLOTS for _ in range(n)] if open_model else []
        self.lag = [0] * NBUCKETS if open_model else []
        self.lag_sum = 0
        self.dropped = 0


class WorkerEngine:
    """Runs one worker's share of a scenario (closed or open model) in the current loop."""

    def __init__(
        self,
        scenario: Scenario,
        host: str,
        share: WorkerShare,
        send: Callable[[WorkerDelta], None],
    ) -> None:
        self.scenario = scenario
        self.share = share
        self.send = send
        self.plan: Plan = compile_plan(scenario, host)
        self.req_table = [self.plan.requests[i] for i in self.plan.table]
        self.n = len(self.plan.requests)
        http = scenario.http
        self.timeout_s = http.timeout_s
        self.connect_timeout_s = http.connect_timeout_s
        self.timeout_ns = int(http.timeout_s * 1e9)
        self.connect_timeout_ns = int(http.connect_timeout_s * 1e9)
        lo, hi = scenario.load.think_time
        self.think: tuple[float, float] | None = (lo, hi - lo) if hi > 0 else None
        self.host = host
        self.user_agent = USER_AGENT
        self.uses_httpx = http.transport == "httpx"
        self.user_class: type = (
            HttpxUser
            if self.uses_httpx
            else HeadAwareUser
            if any(r.is_head for r in self.plan.requests)
            else VUser
        )
        self.closing: set[asyncio.Task] = set()  # httpx clients being closed
        self.ssl_context = make_ssl_context(http.verify_tls) if self.plan.target.tls else None
        self.open_model = scenario.load.is_open
        self.stages = scenario.load.stages
        self.buf = Buffers(self.n, self.open_model)
        self._point_requests()
        self.connects = 0
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.users: set[VUser] = set()
        self.paused_users: list[VUser] = []
        self.target = share.users
        self.excess = 0
        self.remaining = share.requests
        self.paused = False
        self.stopped = False  # no new requests; finishing the ones in flight
        self.gate = self.remaining is not None
        self.tick = 0
        self.start_mono = 0.0
        self._addr: tuple | None = None
        self._idle = asyncio.Event()  # set when no user is left
        self._target_changed = asyncio.Event()
        self._ticker: asyncio.TimerHandle | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._stager: asyncio.TimerHandle | None = None
        self.driver: OpenDriver | None = None
        if self.open_model:
            self.driver = OpenDriver(self, share.fraction, share.offset)
            self.target = 0

    # -- control ------------------------------------------------------------
    def admit(self, user: VUser) -> bool:
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
        return True

    def _update_gate(self) -> None:
        self.gate = self.stopped or self.paused or self.excess > 0 or self.remaining is not None

    def retire(self, user: VUser) -> None:
        user.cancel()
        self.users.discard(user)
        if not self.users and (self.stopped or self.remaining == 0):
            self._idle.set()

    def set_target(self, users: int, manual: bool = False) -> None:
        """Change this worker's user count; growth follows the spawn rate.

        A manual change (from the dashboard) takes over from the stages, if any.
        """
        if manual and self._stager is not None:
            self._stager.cancel()
            self._stager = None
            self.stages = ()
        self.target = max(0, users)
        active = len(self.users)
        self.excess = max(0, active - self.target)
        self._update_gate()
        self._target_changed.set()

    def set_rate(self, rate: float) -> None:
        """Arrival-rate mode: this worker's new constant rate (req/s)."""
        if self.driver is not None:
            self.driver.set_rate(max(0.0, rate))

    def pause(self) -> None:
        self.paused = True
        self._update_gate()
        if self.driver is not None:
            self.driver.pause()

    def resume(self) -> None:
        if not self.paused:
            return
        self.paused = False
        self._update_gate()
        if self.driver is not None:
            self.driver.resume()
        waiting, self.paused_users = self.paused_users, []
        for user in waiting:
            if user in self.users:
                user.start_request()

    def stop(self, drain_queue: bool = False) -> None:
        """No new requests; requests in flight finish (or time out)."""
        if self.stopped:
            return
        self.stopped = True
        self._update_gate()
        self._target_changed.set()
        if self.driver is not None:
            self.driver.stop(drain_queue)
        for user in list(self.users):
            if not user.deadline and not user.connecting:
                self.retire(user)
        if not self.users:
            self._idle.set()

    # -- statistics (called by users) -------------------------------------
    def http_failure(self, index: int, status: int) -> None:
        buf = self.buf
        buf.http_fail[index] += 1
        key = ("http", status, index)
        row = buf.errors.get(key)
        if row is None:
            buf.errors[key] = [1, f"HTTP {status}"]
        else:
            row[0] += 1

    def other_failure(self, index: int, kind: str, message: str) -> None:
        buf = self.buf
        buf.other_fail[index] += 1
        key = (kind, None, index)
        row = buf.errors.get(key)
        if row is None:
            buf.errors[key] = [1, message]
        else:
            row[0] += 1
            row[1] = message

    # -- connections ------------------------------------------------------
    async def connect(self, conn: asyncio.Protocol) -> None:
        target = self.plan.target
        if self._addr is None:
            infos = await self.loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
            self._addr = infos[0][4]
        kwargs: dict = {}
        if self.ssl_context is not None:
            kwargs = {"ssl": self.ssl_context, "server_hostname": target.host}
        await self.loop.create_connection(lambda: conn, self._addr[0], self._addr[1], **kwargs)

    # -- running ----------------------------------------------------------
    async def run(self, start_mono: float | None = None) -> None:
        """Run until stopped or the request budget is spent; send the last delta."""
        self.loop = asyncio.get_running_loop()
        self.start_mono = start_mono if start_mono is not None else time.monotonic()
        delay = self.start_mono - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._schedule_tick()
        self._watchdog = self.loop.call_later(WATCHDOG_S, self._check_deadlines)
        spawner = None
        if self.driver is not None:
            self.driver.start(perf_counter_ns() - int((time.monotonic() - self.start_mono) * 1e9))
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
            for user in list(self.users):
                user.cancel()
            self.users.clear()
            if self._ticker is not None:
                self._ticker.cancel()
            if self._watchdog is not None:
                self._watchdog.cancel()
            if self.closing:
                await asyncio.wait(self.closing, timeout=2.0)
            self._emit(final=True)

    def _budget_spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def _follow_stages(self) -> None:
        """Closed model with stages: move the user target along the ramp every 100 ms."""
        if self.stopped or not self.stages:
            return
        elapsed = time.monotonic() - self.start_mono
        level = self.scenario.load.level_at(elapsed)
        share = split_evenly(round(level), self.share.workers)[self.share.worker]
        if share != self.target:
            self.set_target(share)
        self._stager = self.loop.call_later(STAGE_STEP_S, self._follow_stages)

    async def _spawn(self) -> None:
        """Start users at the spawn rate until the target is reached; wait for changes.

        With stages the ramp itself paces growth, so users start as soon as the
        target allows.
        """
        rate = self.share.spawn_rate if not self.stages else 1e9
        started = 0
        t_start = time.monotonic()
        while not self.stopped:
            if self._budget_spent():
                if not self.users:
                    self._idle.set()
                return
            missing = self.target - len(self.users)
            if missing <= 0:
                self._target_changed.clear()
                await self._target_changed.wait()
                started, t_start = 0, time.monotonic()
                continue
            due = int((time.monotonic() - t_start) * rate) + 1 - started
            for _ in range(min(max(due, 0), missing)):
                user = self.user_class(self)
                self.users.add(user)
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
        if self.stopped and not any(u.deadline or u.connecting for u in self.users):
            for user in list(self.users):
                self.retire(user)
            self._idle.set()
        self._watchdog = self.loop.call_later(WATCHDOG_S, self._check_deadlines)

    def _schedule_tick(self) -> None:
        at = self.start_mono + self.tick + 1
        self._ticker = self.loop.call_later(max(0.0, at - time.monotonic()), self._on_tick)

    def _on_tick(self) -> None:
        self._emit()
        self._schedule_tick()

    def _point_requests(self) -> None:
        """Give every request this second's lists (the hot path records into them)."""
        buf = self.buf
        for r in self.plan.requests:
            r.hist = buf.hist[r.index]
            if self.open_model:
                r.svc = buf.svc_hist[r.index]

    def _emit(self, final: bool = False) -> None:
        buf = self.buf
        self.buf = Buffers(self.n, self.open_model)
        self._point_requests()
        span = 1.0
        if final:
            span = min(1.0, max(0.0, time.monotonic() - (self.start_mono + self.tick)))
        endpoints = [
            EndpointDelta(
                buckets=_sparse(buf.hist[i], NBUCKETS),
                sum_us=buf.hist[i][SUM_SLOT],
                bytes_received=buf.hist[i][BYTES_SLOT],
                http_failures=buf.http_fail[i],
                other_failures=buf.other_fail[i],
                service_buckets=_sparse(buf.svc_hist[i], NBUCKETS) if self.open_model else None,
                service_sum_us=buf.svc_hist[i][SUM_SLOT] if self.open_model else 0,
            )
            for i in range(self.n)
        ]
        errors = [(k, s, i, row[0], row[1]) for (k, s, i), row in buf.errors.items()]
        connects, self.connects = self.connects, 0
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
                dropped=buf.dropped,
                lag_buckets=_sparse(buf.lag, NBUCKETS) if driver is not None else None,
                lag_sum_us=buf.lag_sum,
            )
        )
        self.tick += 1


def _sparse(counts: list[int], n: int) -> list[tuple[int, int]]:
    """The non-zero (bucket, count) pairs among the first ``n`` entries."""
    return [(j, counts[j]) for j in compress(range(n), counts)]


def make_ssl_context(verify: bool) -> ssl.SSLContext:
    """One context per worker, shared by every connection."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
