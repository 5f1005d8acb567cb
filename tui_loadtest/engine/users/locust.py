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
from ...locustfile.clients import ContentDecodingError, LocustResponse
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
from ...locustfile.tasks import RUNNING, STOPPING, GreenletExit, filter_tasks_by_tags, task_name
from ...script import HTTPError, Response
from ..http.arguments import options_parts
from ..recording import FAILED_SLOT, record
from .client import ClientRuntime, ClientUser, Options

if TYPE_CHECKING:
    from ..host import ScriptHost, SlotPool

# call options that change how a request is sent (the rest shape the request itself)
_SENDING = frozenset(("timeout", "cert", "proxies", "hooks"))
_STEERING = (StopUser, StopTest, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet)
SPIN_S = 0.01  # a task that raises quicker than this, again and again, is slowed down
PAUSE_MAX_S = 1.0
MAX_TRACEBACKS = 20
# After the stop (and --stop-timeout), a user's on_stop has this long to send its
# requests; then the user goes, wherever it is: a run ends when told.
ON_STOP_S = 10.0


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
        self.flow_of: dict[Any, TaskFlow | None] = {}  # task function -> its row
        # errors outside any task (a listener, a wait_time) count on the first row
        self.other = self.flows[0] if self.flows else None
        self.order = class_order(spec.classes)
        if spec.start_classes is not None:
            self.restrict(spec.start_classes)
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
        self.lingering: set[LocustUser] = set()  # stopping as Locust stops them (on_stop)
        self.ready: list[tuple[LocustUser, Any]] = []  # responses in, users to resume
        # a call with no sending options but allow_redirects= and verify=, by those two
        self.plain_options = {
            (allow, verify): Options({"allow_redirects": allow, "verify": verify}, eng)
            for allow in (True, False)
            for verify in (None, True, False)
        }
        self.keep_stats = spec.reads_stats  # environment.stats kept only for a file reading it
        EventHook.sink = self.listener_error
        RequestHook.recorder = self.recorded_elsewhere
        locust_debug.RUNNER = None  # run_single_user runs in a process of its own
        # the engine's buffers come after this: what init's listeners raise waits
        self._early: list[tuple[str, BaseException]] | None = []
        self.events.init.fire(environment=self.environment, runner=runner, web_ui=None)

    # -- the engine's hooks ----------------------------------------------------------
    def user(self, eng: ScriptHost) -> LocustUser:
        return LocustUser(eng, self)

    def slot(self, eng: ScriptHost, pool: SlotPool) -> LocustUser:
        raise NotImplementedError("locustfiles run users (the closed model)")

    def started(self) -> None:
        early, self._early = self._early or [], None
        for event, exc in early:
            self.listener_error(event, exc)
        self.events.test_start.fire(environment=self.environment)

    def wind_down(self, user: Any) -> bool:
        if not user.deadline:
            return bool(user.wind_down())
        if (user.connecting is not None and not user.hops) or self.spec.abandon_at_stop:
            # nothing sent yet (connecting for its first hop: a redirect's next hop
            # connecting to another origin was sent already), or `locust run` without
            # --stop-timeout (as Locust kills its users): the request is given up
            return bool(user.abandon())
        return False  # its request finishes and counts; it stops where it next waits

    def restrict(self, classes: tuple[str, ...]) -> None:
        """A load shape's tick named ``classes``: users started from now on are of these,
        by weight; running users stay whatever their class, as in Locust (when the count
        goes down, users leave whatever their class)."""
        chosen = [i for i, c in enumerate(self.spec.classes) if c.name in classes]
        if chosen:
            order = class_order(tuple(self.spec.classes[i] for i in chosen))
            self.order = lambda k: chosen[order(k)]

    def stopped(self) -> None:
        self.events.test_stopping.fire(environment=self.environment)
        self.events.test_stop.fire(environment=self.environment)
        self.events.quitting.fire(environment=self.environment)

    def quit_run(self) -> None:
        """``environment.runner.quit()``: this worker stops, and says so (the coordinator
        stops the others)."""
        self.quit_asked = True
        self.eng.loop.call_soon(self.eng.stop)  # from the loop, never from a user's greenlet

    def users_by_class(self) -> dict[str, int]:
        counts = dict.fromkeys((c.name for c in self.spec.classes), 0)
        for user in self.eng.users:
            api = getattr(user, "api", None)
            if api is not None:
                name = type(api).__name__
                counts[name] = counts.get(name, 0) + 1
        return counts

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
        if self._early is not None:  # before the load: counted once it starts
            self._early.append((event, exc))
            return
        self.count_error(None, exc, [])
        self.note_once(f"listener {event}", f"locustfile: a listener of events.{event} raised")

    def resume_soon(self, user: LocustUser, value: Any) -> None:
        """Switch into ``user`` with ``value`` once this turn of the loop's callbacks is
        over, from the loop's own shallow stack, not from deep in the parser's callbacks
        where the response arrived (measured side by side, worker CPU a request:
        journey locustfile 28.6 against 23.3 µs, FastHttpUser 21.2 against 19.3 µs)."""
        if not self.ready:
            self.eng.loop.call_soon(self.resume_ready)
        self.ready.append((user, value))

    def resume_ready(self) -> None:
        ready, self.ready = self.ready, []
        for user, value in ready:
            if user.waiting == "ready":
                user.resume(value)

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
        "winding",
        "switched",
        "wind_timer",
        "interrupt_asked",
        "lrt",
        "__weakref__",
    )

    def __init__(self, eng: ScriptHost, rt: LocustRuntime) -> None:
        self.eng = eng
        self.start_client(eng, rt)
        self.lrt = rt  # self.rt, typed as the locustfile runtime it is
        self.glet: UserGreenlet | None = None
        self.hub: Any = None
        # "request", "ready" (its response is in: resumed soon), "sleep", "go"
        # (admission), or ""
        self.waiting = ""
        self.timer: asyncio.TimerHandle | None = None
        self.dying = False
        self.pause_s = 0.0
        self.flow: TaskFlow | None = None
        self.task_failed = False
        self.winding = False  # the run has stopped: this user ends as Locust ends one
        self.switched = False  # it gave the loop back since it last slept
        self.wind_timer: asyncio.TimerHandle | None = None
        self.interrupt_asked = False  # --stop-timeout has passed: interrupt where it waits
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
        except SystemExit as exc:  # sys.exit() in the file's code: Locust's process exits
            rt = self.lrt
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if rt.environment.process_exit_code is None:
                rt.environment.process_exit_code = code
            said = f"locustfile: sys.exit({exc.code!r}) in a user's code ends the run"
            rt.note_once("exit", said)
            rt.quit_run()
        except BaseException as exc:  # noqa: BLE001 - the file's code: counted, never fatal
            self.lrt.count_error(None, exc, self.all_secrets())
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
        self.switched = True
        if self.dying and why != "stop":
            raise GreenletExit
        return value

    def cancel(self) -> None:
        """Stop now: the greenlet gets GreenletExit where it waits (its on_stop runs,
        without sending: the run is over), then the connection goes."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.wind_timer is not None:
            self.wind_timer.cancel()
            self.wind_timer = None
        self.lrt.lingering.discard(self)
        self.dying = True
        glet = self.glet
        if glet is not None and not glet.dead and glet is not greenlet.getcurrent():
            try:
                glet.throw(GreenletExit)
            except GreenletExit:
                pass
            except Exception as exc:  # noqa: BLE001 - on_stop's own failure
                self.lrt.count_error(None, exc, self.all_secrets())
        ClientUser.cancel(self)

    # -- the run stops -----------------------------------------------------------------
    def wind_down(self) -> bool:
        """The run stops while this user has nothing in flight: stop it as Locust stops
        a user. It is interrupted where it waits (GreenletExit), or, with
        --stop-timeout, finishes the task it is in first; then its on_stop runs, and
        what on_stop sends goes out and is counted. True: it retires itself."""
        if self.api is None or self.dying or not self.glet:  # never started, or over
            return False
        self.begin_winding()
        if self.api._state == STOPPING:
            if self.waiting == "go":  # held at admission: its task goes on
                self.resume(None)
        else:
            self.interrupt()
        return True

    def abandon(self) -> bool:
        """The run stops with this user's request in flight, and Locust would kill the
        user there: the request is given up (not counted; its connection goes) and the
        user stops as if it had been waiting. True: it retires itself."""
        glet = self.glet
        if self.api is None or self.dying or not glet or self.waiting != "request":
            return False
        self.deadline = 0
        self.keep = None
        if self.connecting is not None:
            self.connecting.cancel()  # its connect closes what it opened, if anything
            self.connecting = None
        self.abort_connection()
        self.begin_winding()
        self.waiting = ""
        try:
            glet.throw(GreenletExit)
        except GreenletExit:
            pass
        except Exception as exc:  # noqa: BLE001 - on_stop's own failure
            self.lrt.count_error(None, exc, self.all_secrets())
        return True

    def begin_winding(self) -> None:
        if self.winding:
            return
        self.winding = True
        rt = self.lrt
        rt.lingering.add(self)
        grace = rt.spec.stop_timeout
        loop = self.eng.loop
        if grace > 0 and self.api._state == RUNNING:
            self.api._state = STOPPING  # it stops when its task ends
            loop.call_later(grace, self.interrupt)
        self.wind_timer = loop.call_later(grace + ON_STOP_S, self.give_up)

    def interrupt(self) -> None:
        """GreenletExit where the user waits (its task ends there, on_stop runs); if a
        request is in flight, once its response is in."""
        glet = self.glet
        if self.dying or not glet:
            return
        if greenlet.getcurrent().parent is not None:  # in a greenlet: from the loop
            self.eng.loop.call_soon(self.interrupt)
            return
        if self.waiting == "request" or self.waiting == "ready":
            self.interrupt_asked = True
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.waiting = ""
        try:
            glet.throw(GreenletExit)
        except GreenletExit:
            pass
        except Exception as exc:  # noqa: BLE001 - on_stop's own failure
            self.lrt.count_error(None, exc, self.all_secrets())

    def give_up(self) -> None:
        """on_stop took too long: the user goes now."""
        self.wind_timer = None
        if not self.dying:
            self.rt.note_once(
                "on_stop",
                f"locustfile: a user was still stopping {ON_STOP_S:g} s after the run"
                " ended (its on_stop, or its task under --stop-timeout); it was ended there",
            )
            self.eng.retire(self)

    def stop_point(self) -> bool:
        """In the user's greenlet, before it waits: True when the user is winding down
        (what it sends now goes out unadmitted). If the run has stopped since it last
        waited, it begins to: interrupted here (GreenletExit), as Locust stops a user,
        unless --stop-timeout lets the task it is in go on."""
        if self.interrupt_asked:
            self.interrupt_asked = False
            raise GreenletExit
        if self.winding:
            return True
        if not self.eng.stopped:
            return False
        self.begin_winding()
        if self.api._state == STOPPING:
            return True
        raise GreenletExit

    # -- the driver: waiting ---------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        if self.dying:
            return
        self.stop_point()
        seconds = max(0.0, float(seconds))
        if seconds == 0.0 and self.switched:
            # gevent.sleep(0) lets the others run: this user just waited for a response,
            # and they ran then; a user that never waits still yields here
            self.switched = False
            return
        self.switched = False
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
        flow = self.lrt.flow_by_name.get(f"{type(user).__name__}.on_start")
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
                self.lrt.count_error(flow, exc, self.all_secrets())
                if self.winding:  # the run has stopped: no second try
                    raise StopUser from None
                self.rt.note_once(
                    "on_start",
                    f"locustfile: {type(user).__name__}.on_start failed; each user tries it"
                    " again after a pause that doubles up to 1 s (the errors say why)",
                )
                self.sleep(self.error_pause())

    def run_task(self, fn: Any, args: tuple[()] | tuple[Any]) -> None:
        """One run of a task: timed; its exception counted (the user goes on); a run that
        raised or had a failed request counts as a failed iteration."""
        rt = self.lrt
        if rt.iterations_left is not None:
            if rt.iterations_left <= 0:
                self.eng.loop.call_soon(self.eng.stop)
                raise StopUser
            rt.iterations_left -= 1
        try:
            flow = rt.flow_of[fn]
        except KeyError:
            flow = rt.flow_of[fn] = rt.flow_by_name.get(task_name(fn))
        except TypeError:  # an unhashable callable
            flow = rt.flow_by_name.get(task_name(fn))
        self.flow = flow
        self.task_failed = False
        self.switched = False
        t0 = perf_counter_ns()
        try:
            # a plain call, not fn(*args), which puts the task on a C frame of its own
            # (measured side by side: within noise, 0-2 % of a request's CPU)
            if args:
                fn(args[0])
            else:
                fn()
        except _STEERING:
            self.end_task(flow, t0, False)
            raise
        except GreenletExit:
            raise
        except Exception as exc:  # noqa: BLE001 - the file's code: counted, never fatal
            self.task_failed = True
            rt.count_error(flow, exc, self.all_secrets())
            self.end_task(flow, t0, True)
            if not self.switched and perf_counter_ns() - t0 < SPIN_S * 1e9:
                # it raised before waiting for anything: again and again, it would hold
                # the loop; a task that sent a request first paces itself, as in Locust
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
        self.lrt.count_error(self.lrt.flow_by_name.get(where), exc, self.all_secrets())

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
        parts = options_parts(method, url, options)
        allow = options.get("allow_redirects", True)
        verify = options.get("verify")
        if (
            (allow is True or allow is False)
            and (verify is None or verify is True or verify is False)
            and options.keys().isdisjoint(_SENDING)
        ):
            opts = self.lrt.plain_options[allow, verify]  # the usual call (FastHttpUser's
            # verify=False included): the same settings every time
        else:
            opts = Options(options, self.eng)
        eng = self.eng
        while not self.stop_point():
            if not eng.gate or eng.admit(self):  # paused users wait here
                break
            if self.dying:
                raise GreenletExit
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
        response: Any = self.response_kept(status, t1, LocustResponse)
        self.keep = None
        # its TTFB when it came in pieces (in one read, its TTFB is its latency: nothing
        # to record apart)
        ttfb = (-self.th - self.t0) // 1000 if self.th < 0 else -1
        response._measure = (row, (t1 - self.t0) // 1000, self.nbytes, status, ttfb)
        head = response._head  # "ncoding" first: most heads have no Content-Encoding
        if (
            response._raw
            and head.find(b"ncoding") >= 0
            and head.lower().find(b"content-encoding") >= 0
        ):
            try:  # as requests reads a body: decoded now, and a bad one fails the request
                _ = response.content
            except ValueError as exc:
                response.error = ContentDecodingError(str(exc))
        self.deliver(response)

    def deliver(self, response: Response) -> None:
        if self.waiting == "request":
            if self.eng.stopped:
                # after the stop, at once: a user between its response and its resume
                # has nothing in flight, and the engine's watchdog retires such users
                # (the response served, never counted)
                self.resume(response)
                return
            self.waiting = "ready"
            self.lrt.resume_soon(self, response)

    def deliver_failure(self, kind: str, message: str) -> None:
        if self.waiting == "request":
            self.resume((kind, message))

    def record(self, response: LocustResponse, failure: BaseException | None) -> None:
        """Count ``response`` where Locust fires its request event."""
        measure = response._measure
        failed = failure is not None
        rt = self.lrt
        if measure is not None:
            row, latency_us, nbytes, status, ttfb_us = measure
            eng = self.eng
            now = perf_counter_ns()
            if now >= eng.tick_ns:
                eng.roll(now)
            record(row.hist, latency_us, nbytes, status)
            if ttfb_us >= 0:
                eng.buf.ttfb_move(row.index, ttfb_us, latency_us)
            if failure is not None:
                message = self.rt.redact(self.all_secrets(), locust_message(failure))
                if isinstance(failure, CatchResponseError):
                    eng.buf.response_failure(row.index, "check", message)
                elif isinstance(failure, ContentDecodingError):
                    eng.buf.response_failure(row.index, "decode", message)
                elif isinstance(failure, HTTPError) or status >= 400:
                    eng.buf.http_failure(row.index, status, message)
                else:
                    eng.buf.response_failure(row.index, "check", message)
        # a request with no response was counted by the transport (its kind) already
        if failed:
            self.task_failed = True
        if rt.keep_stats:  # the file reads environment.stats
            rt.environment.stats.log(
                response._sent[0],
                response._name,
                response.elapsed_us / 1000,
                len(response.raw_content),
                failed,
            )

    def record_custom(self, **meta: Any) -> None:
        """``events.request.fire(...)`` from the locustfile (a custom client timing its own
        calls): a row under its ``request_type`` and ``name``."""
        rt = self.lrt
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
        if rt.keep_stats:
            rt.environment.stats.log(method, name, response_time, length, exc is not None)


def locust_message(exc: BaseException) -> str:
    """A failure as Locust's failures table writes it (``HTTPError('404 ...')``)."""
    if isinstance(exc, str):
        return exc
    text = repr(exc)
    return text
