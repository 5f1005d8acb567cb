"""Locustfiles on the fast transport: each virtual user runs its class's code, unchanged,
in a greenlet of its own on the worker's event loop.

A user's synchronous code (``self.client.get(...)``, ``time.sleep``, ``wait_time``)
runs in its greenlet until it has to wait; then it switches back to the loop, and the
parser callback (or a timer) switches into it again with the response. No thread, no
gevent: one greenlet switch each way per request (measured in bench/).

What Locust counts, is counted as Locust counts it: a request when its response
arrives (or, with ``catch_response``, when its ``with`` block ends), under Locust's
row name, failed at 400 and over unless the block says otherwise, with Locust's
failure messages. Each task function is a row of the flow table (its runs, their
durations, the runs that raised or had a failed request); an exception in a task is
an error of kind ``script`` and the user goes on, as in Locust.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

import greenlet

from ...locustfile import debug as locust_debug
from ...locustfile import users as locust_users
from ...locustfile.clients import LocustResponse
from ...locustfile.env import Environment, LocalRunner
from ...locustfile.event import EventHook, RequestHook
from ...locustfile.exception import (
    CatchResponseError,
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)
from ...locustfile.install import cooperative_sleep
from ...locustfile.loader import import_locustfile
from ...locustfile.tasks import GreenletExit, filter_tasks_by_tags, task_name
from ...script import HTTPError, Response
from ..http.arguments import request_parts
from ..recording import FAILED_SLOT, record
from .client import ClientRuntime, ClientUser, Options

if TYPE_CHECKING:
    from ..host import ScriptHost, SlotPool

_STEERING = (StopUser, StopTest, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet)
_PART_OPTIONS = ("params", "data", "json", "headers", "cookies", "auth")
SPIN_S = 0.01  # a task that raises quicker than this, again and again, is slowed down
PAUSE_MAX_S = 1.0
MAX_TRACEBACKS = 20


class TaskFlow:
    """A task function (or a class's on_start) and this second's list of its runs."""

    __slots__ = ("index", "name", "hist", "svc")

    def __init__(self, index: int, name: str) -> None:
        self.index = index
        self.name = name
        self.hist: list[int] = []
        self.svc: list[int] = []


class LocustRuntime(ClientRuntime):
    """What a worker's locustfile users share: the file's classes and events, the
    environment they see, the task rows, and everything clients share."""

    def __init__(self, eng: ScriptHost) -> None:
        super().__init__(eng)
        spec = eng.scenario.locustfile
        assert spec is not None
        self.spec = spec
        import time

        vars(time)["sleep"] = cooperative_sleep  # in a user's greenlet, one user sleeps
        module, namespace = import_locustfile(spec.path)
        self.module = module
        self.events = namespace.events
        self.classes = [getattr(module, c.name) for c in spec.classes]
        if spec.host is not None:  # --host: every class's, as Locust's --host
            for cls in self.classes:
                cls.host = spec.host
        tags = set(spec.tags) if spec.tags is not None else None
        exclude = set(spec.exclude_tags) if spec.exclude_tags is not None else None
        if tags is not None or exclude is not None:
            for cls in self.classes:
                filter_tasks_by_tags(cls, tags, exclude)
        self.flows = [TaskFlow(i, name) for i, name in enumerate(spec.tasks)]
        self.flow_by_name = {f.name: f for f in self.flows}
        # errors outside any task (a listener, a wait_time) count on the first row
        self.other = self.flows[0] if self.flows else None
        self.order = class_order(spec.classes)
        self.iterations_left = spec.iterations or None
        from types import SimpleNamespace

        options = SimpleNamespace(**dict(spec.options))
        self.environment = Environment(
            user_classes=self.classes,
            events=self.events,
            host=eng.host,
            parsed_options=options,
            tags=list(spec.tags) if spec.tags is not None else None,
            exclude_tags=list(spec.exclude_tags) if spec.exclude_tags is not None else None,
            stop_timeout=spec.stop_timeout,
        )
        runner = LocalRunner(self.environment, self.quit_run, lambda: len(eng.users))
        self.environment.runner = runner
        self._traced: dict[str, int] = {}
        self.quit_asked = False
        EventHook.sink = self.listener_error
        RequestHook.recorder = self.recorded_elsewhere
        locust_debug.RUNNER = None  # run_single_user runs in a process of its own
        self.events.init.fire(environment=self.environment, runner=runner, web_ui=None)

    # -- the engine's hooks ----------------------------------------------------------
    def user(self, eng: ScriptHost) -> LocustUser:
        return LocustUser(eng, self)

    def slot(self, eng: ScriptHost, pool: SlotPool) -> LocustUser:
        raise NotImplementedError("locustfiles run users (the closed model)")

    def started(self) -> None:
        self.events.test_start.fire(environment=self.environment)

    def stopped(self) -> None:
        self.events.test_stopping.fire(environment=self.environment)
        self.events.test_stop.fire(environment=self.environment)
        self.events.quitting.fire(environment=self.environment)

    def quit_run(self) -> None:
        """``environment.runner.quit()``: this worker stops, and says so (the coordinator
        stops the others)."""
        self.quit_asked = True
        self.eng.stop()

    def process_exit_code(self) -> int | None:
        return self.environment.process_exit_code

    def class_for(self, user_id: int) -> type:
        return self.classes[self.order(user_id)]

    # -- errors of the file's code ---------------------------------------------------
    def count_error(self, flow: TaskFlow | None, exc: BaseException, secrets: list[str]) -> None:
        """An exception of the locustfile's code: kind ``script`` on ``flow``'s row, the
        first tracebacks of each kind kept for the run's log."""
        row = flow or self.other
        text = str(exc).splitlines()[0] if str(exc) else ""
        kind = type(exc).__name__
        message = self.redact(secrets, f"{kind}: {text}" if text else kind)
        if row is not None:
            self.eng.buf.task_failure(row.index, "script", message)
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{kind}@{frames[-1].filename}:{frames[-1].lineno}" if frames else kind
        seen = self._traced.get(where, 0)
        if seen < 3 and len(self._traced) < MAX_TRACEBACKS:
            self._traced[where] = seen + 1
            trace = "".join(traceback.format_exception(exc))
            name = row.name if row is not None else "locustfile"
            self.logs.append(self.redact(secrets, f"{name}:\n{trace}"))

    def listener_error(self, event: str, exc: BaseException) -> None:
        self.count_error(None, exc, [])
        self.note_once(f"listener {event}", f"locustfile: a listener of events.{event} raised")

    def recorded_elsewhere(self, **kwargs: Any) -> None:
        """``events.request.fire(...)`` from the locustfile: record it (the user whose
        greenlet fired it does; outside a user, the first worker's row)."""
        driver = getattr(greenlet.getcurrent(), "locust_driver", None)
        if driver is not None:
            driver.record_custom(**kwargs)


def class_order(classes: tuple[Any, ...]) -> Callable[[int], int]:
    """Which class the run's k-th user is: each ``fixed_count`` first, then the others
    interleaved by weight (a smooth weighted round robin, the same on every worker:
    the run's user numbers are global)."""
    fixed: list[int] = []
    for i, c in enumerate(classes):
        fixed += [i] * c.fixed_count
    weighted = [(i, c.weight) for i, c in enumerate(classes) if not c.fixed_count and c.weight > 0]
    if not weighted and not fixed:
        weighted = [(0, 1.0)]
    cycle: list[int] = []
    if weighted:
        total = sum(w for _, w in weighted)
        current = {i: 0.0 for i, _ in weighted}
        length = max(1, min(1000, round(total / min(w for _, w in weighted)) * len(weighted)))
        for _ in range(length):
            for i, w in weighted:
                current[i] += w
            best = max(current, key=lambda k: current[k])
            current[best] -= total
            cycle.append(best)

    def order(k: int) -> int:
        if k < len(fixed):
            return fixed[k]
        if not cycle:
            return fixed[k % len(fixed)]
        return cycle[(k - len(fixed)) % len(cycle)]

    return order


class UserGreenlet(greenlet.greenlet):
    """A user's greenlet, which knows its driver (``time.sleep`` reads it)."""

    locust_driver: LocustUser


class LocustUser(ClientUser):
    """A closed-model user running one locustfile user instance in its greenlet; it is
    that instance's driver (:class:`~tui_loadtest.locustfile.users.Driver`)."""

    __slots__ = (
        "eng",
        "api",
        "glet",
        "hub",
        "waiting",
        "timer",
        "dying",
        "paused_at",
        "pause_s",
        "flow",
        "task_failed",
        "__weakref__",
    )

    def __init__(self, eng: ScriptHost, rt: LocustRuntime) -> None:
        self.eng = eng
        self.start_client(eng, rt)
        self.glet: UserGreenlet | None = None
        self.hub: Any = None
        self.waiting = ""  # "request", "sleep", "go" (admission), or ""
        self.timer: asyncio.TimerHandle | None = None
        self.dying = False
        self.pause_s = 0.0
        self.flow: TaskFlow | None = None
        self.task_failed = False
        cls = rt.class_for(eng.next_user_id())
        previous = locust_users._next_driver
        locust_users._next_driver = self
        self.api: Any = None
        try:
            self.api = cls(rt.environment)
            self.api._driver = self
        except Exception as exc:  # noqa: BLE001 - the class's __init__: counted, user idle
            rt.count_error(None, exc, [])
            rt.note_once("init", f"locustfile: {cls.__name__}() raised; its users do nothing")
        finally:
            locust_users._next_driver = previous

    @property
    def locust(self) -> LocustRuntime:
        return self.rt  # type: ignore[return-value]

    # -- what the engine calls ------------------------------------------------------
    def start_request(self) -> None:
        """Start the user (at spawn), or let a paused request go (on resume)."""
        if self.api is None:
            return
        if self.glet is None:
            glet = self.glet = UserGreenlet(self.live)
            glet.locust_driver = self
            self.eng.loop.call_soon(self.resume, None)
        elif self.waiting == "go":
            self.resume(None)

    def live(self, _: Any) -> None:
        """The greenlet's body: the user's run(), then the user goes."""
        try:
            self.api.run()
        except GreenletExit:
            pass
        except Exception as exc:  # noqa: BLE001 - the file's code: counted, never fatal
            self.locust.count_error(None, exc, self.all_secrets())
        finally:
            if not self.dying:
                self.eng.loop.call_soon(self.eng.retire, self)

    def resume(self, value: Any) -> None:
        """Switch into the user's greenlet with ``value`` (from the loop)."""
        glet = self.glet
        if glet is None or glet.dead:
            return
        self.waiting = ""
        glet.switch(value)

    def suspend(self, why: str) -> Any:
        """In the user's greenlet: give the loop back until :meth:`resume`."""
        self.waiting = why
        if self.hub is None:
            self.hub = self.glet.parent if self.glet is not None else None
        value = self.hub.switch()
        if self.dying and why != "stop":
            raise GreenletExit
        return value

    def cancel(self) -> None:
        """Stop now: the greenlet gets GreenletExit where it waits (its on_stop runs,
        without sending: the run is over), then the connection goes."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.dying = True
        glet = self.glet
        if glet is not None and not glet.dead and glet is not greenlet.getcurrent():
            try:
                glet.throw(GreenletExit)
            except GreenletExit:
                pass
            except Exception as exc:  # noqa: BLE001 - on_stop's own failure
                self.locust.count_error(None, exc, self.all_secrets())
        ClientUser.cancel(self)

    # -- the driver: waiting ---------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        if self.dying:
            return
        seconds = max(0.0, float(seconds))
        self.timer = self.eng.loop.call_later(seconds, self._wake)
        self.suspend("sleep")

    def _wake(self) -> None:
        self.timer = None
        if self.waiting == "sleep":
            self.resume(None)

    def error_pause(self) -> float:
        self.pause_s = min(PAUSE_MAX_S, (self.pause_s * 2) or SPIN_S)
        return self.pause_s

    # -- the driver: tasks -----------------------------------------------------------
    def start(self, user: Any) -> None:
        """``on_start``, tried again after a pause while it fails (counted each time)."""
        flow = self.locust.flow_by_name.get(f"{type(user).__name__}.on_start")
        while True:
            t0 = perf_counter_ns()
            self.task_failed = False
            try:
                user.on_start()
                self.end_task(flow, t0, self.task_failed)
                self.pause_s = 0.0
                return
            except _STEERING:
                raise
            except GreenletExit:
                raise
            except Exception as exc:  # noqa: BLE001 - the file's code: counted, tried again
                self.end_task(flow, t0, True)
                self.locust.count_error(flow, exc, self.all_secrets())
                self.rt.note_once(
                    "on_start",
                    f"locustfile: {type(user).__name__}.on_start failed; each user tries it"
                    " again after a pause that doubles up to 1 s (the errors say why)",
                )
                self.sleep(self.error_pause())

    def run_task(self, fn: Any, args: tuple[Any, ...]) -> None:
        """One run of a task: timed; its exception counted (the user goes on); a run that
        raised or had a failed request counts as a failed iteration."""
        rt = self.locust
        if rt.iterations_left is not None:
            if rt.iterations_left <= 0:
                self.eng.stop()
                raise StopUser
            rt.iterations_left -= 1
        flow = rt.flow_by_name.get(task_name(fn))
        self.flow = flow
        self.task_failed = False
        t0 = perf_counter_ns()
        try:
            fn(*args)
        except _STEERING:
            self.end_task(flow, t0, False)
            raise
        except GreenletExit:
            raise
        except Exception as exc:  # noqa: BLE001 - the file's code: counted, never fatal
            self.task_failed = True
            rt.count_error(flow, exc, self.all_secrets())
            self.end_task(flow, t0, True)
            if perf_counter_ns() - t0 < SPIN_S * 1e9:
                self.sleep(self.error_pause())
            return
        self.end_task(flow, t0, self.task_failed)
        self.pause_s = 0.0

    def end_task(self, flow: TaskFlow | None, t0: int, failed: bool) -> None:
        if flow is None:
            return
        t1 = perf_counter_ns()
        if t1 >= self.eng.tick_ns:
            self.eng.roll(t1)
        record(flow.hist, (t1 - t0) // 1000, 0)
        if failed:
            flow.hist[FAILED_SLOT] += 1

    def task_error(self, where: str, exc: BaseException) -> None:
        self.locust.count_error(self.locust.flow_by_name.get(where), exc, self.all_secrets())

    def cookies(self) -> Any:
        return ClientUser.cookies.fget(self)  # type: ignore[attr-defined]

    # -- the driver: requests --------------------------------------------------------
    def request(
        self, method: str, url: str, name: str | None, options: dict[str, Any]
    ) -> LocustResponse:
        """Send and wait (this greenlet only): the response, or a response with
        ``status_code`` 0 and ``error`` when none came (counted already)."""
        if self.dying:
            return LocustResponse.failed(url, ConnectionError("the run has ended"))
        parts = request_parts(method, url, **{k: options[k] for k in _PART_OPTIONS if k in options})
        opts = Options(options, self.eng)
        eng = self.eng
        while eng.gate and not eng.admit(self):  # paused (or retired: GreenletExit)
            self.suspend("go")
        self.send_parts(parts, name, opts, None)
        outcome = self.suspend("request")
        if isinstance(outcome, Response):
            return outcome  # type: ignore[return-value]
        kind, message = outcome
        return LocustResponse.failed(self.url_of(), ConnectionError(f"{kind}: {message}"))

    def complete(self, status: int, t1: int) -> None:
        """The response is here: measured now, counted when Locust would (``record``)."""
        row = self.req
        assert row is not None
        eng = self.eng
        if t1 >= eng.tick_ns:
            eng.roll(t1)
        self.deadline = 0
        self.served += 1
        self.backoff = 0.0
        base = self.response_kept(status, t1)
        self.keep = None
        response = LocustResponse.adopt(base)
        ttfb = (-self.th if self.th < 0 else t1) - self.t0  # one read: its latency
        response._measure = (row, (t1 - self.t0) // 1000, self.nbytes, status, ttfb)
        self.deliver(response)

    def deliver(self, response: Response) -> None:
        if self.waiting == "request":
            self.resume(response)

    def deliver_failure(self, kind: str, message: str) -> None:
        if self.waiting == "request":
            self.resume((kind, message))

    def record(self, response: LocustResponse, failure: BaseException | None) -> None:
        """Count ``response`` where Locust fires its request event."""
        measure = getattr(response, "_measure", None)
        failed = failure is not None
        rt = self.locust
        if measure is not None:
            row, latency_us, nbytes, status, ttfb_ns = measure
            eng = self.eng
            now = perf_counter_ns()
            if now >= eng.tick_ns:
                eng.roll(now)
            record(row.hist, latency_us, nbytes, status)
            eng.buf.ttfb_move(row.index, ttfb_ns // 1000, latency_us)
            if failure is not None:
                message = self.rt.redact(self.all_secrets(), locust_message(failure))
                if isinstance(failure, CatchResponseError):
                    eng.buf.response_failure(row.index, "check", message)
                elif isinstance(failure, HTTPError) or status >= 400:
                    eng.buf.http_failure(row.index, status, message)
                else:
                    eng.buf.response_failure(row.index, "check", message)
        # a request with no response was counted by the transport (its kind) already
        if failed:
            self.task_failed = True
        rt.environment.stats.log(
            response.request.method if response.request is not None else "",
            response._name,
            response.elapsed.total_seconds() * 1000,
            len(response.raw_content),
            failed,
        )

    def record_custom(self, **meta: Any) -> None:
        """``events.request.fire(...)`` from the locustfile (a custom client timing its own
        calls): a row under its ``request_type`` and ``name``."""
        rt = self.locust
        method = str(meta.get("request_type") or "CUSTOM")
        name = str(meta.get("name") or "(unnamed)")
        row = rt.row(method, name)
        eng = self.eng
        now = perf_counter_ns()
        if now >= eng.tick_ns:
            eng.roll(now)
        response_time = float(meta.get("response_time") or 0.0)
        length = int(meta.get("response_length") or 0)
        record(row.hist, int(response_time * 1000), length, 0)
        exc = meta.get("exception")
        if exc is not None:
            eng.buf.response_failure(
                row.index, "check", self.rt.redact(self.all_secrets(), locust_message(exc))
            )
            self.task_failed = True
        rt.environment.stats.log(method, name, response_time, length, exc is not None)


def locust_message(exc: BaseException) -> str:
    """A failure as Locust's failures table writes it (``HTTPError('404 ...')``)."""
    if isinstance(exc, str):
        return exc
    text = repr(exc)
    return text
