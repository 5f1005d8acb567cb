"""The open (arrival-rate) model: requests start on a schedule, whatever the latency.

Arrivals come from an :class:`ArrivalSchedule`. Each is handed to an idle
connection slot (a :class:`~tui_loadtest.engine.users.plain.OpenSlot`, or its
flow, script or httpx kind, at most ``max_users`` of them); when all
slots are busy it waits in a bounded queue, and its waiting time counts in its
latency. Past the bound an arrival is dropped and counted, never skipped
silently. Each request records two latencies: *corrected*, from its intended
start (what a user of the service would have seen), and *service*, from the
moment it was sent (what the server took). The scheduler's own lateness, the
generator lag, is recorded too, so a saturated generator shows as lag rather
than as a slow server.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from time import perf_counter_ns
from typing import TYPE_CHECKING

from .recording import bucket
from .schedule import ArrivalSchedule

if TYPE_CHECKING:
    from .host import DriverHost, Slot, SlotFactory

PUMP_MAX_S = 0.05  # look at the schedule at least this often
MIN_QUEUE = 1000


class OpenDriver:
    """Feeds a worker's arrivals to its connection slots."""

    def __init__(
        self,
        eng: DriverHost,
        slot_class: SlotFactory,
        max_slots: int,
        fraction: float,
        offset: float,
    ) -> None:
        self.eng = eng
        load = eng.scenario.load
        self.schedule = ArrivalSchedule(load, fraction, offset)
        self.max_slots = max(1, max_slots)  # this worker's part of max_users
        peak = load.peak_level * fraction
        self.queue_max = max(MIN_QUEUE, math.ceil(peak * eng.timeout_s))
        self.queue: deque[int] = deque()
        self.idle: list[Slot] = []
        self.slot_class = slot_class
        self.origin_ns = 0
        self.paused_at: int | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.done = False
        self.draining = False  # after the budget is spent, queued arrivals still go out

    # -- scheduling -----------------------------------------------------------
    def start(self, origin_ns: int) -> None:
        self.origin_ns = origin_ns
        self._pump()

    def _pump(self) -> None:
        self._timer = None
        eng = self.eng
        if self.done or eng.stopped or self.paused_at is not None:
            return
        due, t = self._send_due()
        if self.done:
            return
        wait = min(PUMP_MAX_S, due - t) if due != math.inf else PUMP_MAX_S
        self._timer = eng.loop.call_later(max(0.0, wait), self._pump)

    def _send_due(self) -> tuple[float, float]:
        """Hand out every arrival due by now; return (next one due, now) in schedule time."""
        eng = self.eng
        now = perf_counter_ns()
        sched = self.schedule
        t = (now - self.origin_ns) / 1e9
        due = sched.next_time()
        if now >= eng.tick_ns:
            eng.roll(now)
        buf = eng.buf
        lag = buf.lag
        while due <= t:
            intended = self.origin_ns + int(due * 1e9)
            late = (now - intended) // 1000
            lag[bucket(late)] += 1
            buf.lag_sum += late
            if eng.remaining is not None:
                if eng.remaining <= 0:
                    self._finish()
                    return math.inf, t
                eng.remaining -= 1
            self.arrive(intended)
            sched.advance()
            due = sched.next_time()
        return due, t

    def catch_up(self) -> None:
        """Just before a stop: arrivals due by now belong to the run, even if a busy
        loop has not handed them out yet; send them (or queue or drop and count them)
        so that none is skipped silently."""
        if self.done or self.eng.stopped or self.paused_at is not None or not self.origin_ns:
            return
        self._send_due()

    def arrive(self, intended_ns: int) -> None:
        if self.idle:
            self.idle.pop().dispatch(intended_ns)
        elif len(self.eng.users) < self.max_slots:
            slot = self.slot_class(self.eng, self)
            self.eng.add_user(slot)
            slot.dispatch(intended_ns)
        elif len(self.queue) < self.queue_max:
            self.queue.append(intended_ns)
        else:
            self.eng.buf.dropped += 1

    def slot_free(self, slot: Slot) -> None:
        if self.queue and (self.draining or not self.eng.stopped):
            slot.dispatch(self.queue.popleft())
        elif self.eng.stopped:
            self.eng.retire(slot)
        else:
            self.idle.append(slot)

    def _finish(self) -> None:
        """The request budget is spent: no more arrivals; the engine ends when slots are idle."""
        self.done = True
        self.eng.stop(drain_queue=True)

    # -- control --------------------------------------------------------------
    def in_flight(self) -> int:
        return len(self.eng.users) - len(self.idle)

    def target_rate(self) -> float:
        return self.schedule.rate_at((perf_counter_ns() - self.origin_ns) / 1e9)

    def pause(self) -> None:
        if self.paused_at is None:
            self.paused_at = perf_counter_ns()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def resume(self) -> None:
        if self.paused_at is not None:
            # the schedule resumes where it stopped: a pause is not lateness
            self.origin_ns += perf_counter_ns() - self.paused_at
            self.paused_at = None
            self._pump()

    def set_rate(self, rate: float) -> None:
        t = (perf_counter_ns() - self.origin_ns) / 1e9
        self.schedule.set_rate(t, rate)

    def stop(self, drain_queue: bool) -> None:
        """Stop scheduling; arrivals still queued were never sent: count them as dropped."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.draining = drain_queue
        if self.queue and not drain_queue:
            self.eng.buf.dropped += len(self.queue)
            self.queue.clear()
        for slot in self.idle:
            self.eng.retire(slot)
        self.idle.clear()

    def queued(self) -> int:
        return len(self.queue)
