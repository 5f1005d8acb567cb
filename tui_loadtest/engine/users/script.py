"""Python user scripts on the fast transport: one asyncio task per virtual user.

Each ``await user.get(...)`` writes request bytes on the user's own keep-alive
connection (the same ``asyncio.Protocol`` + httptools client as the plain path) and
waits on one future that the parser callback completes; that future and the
coroutine are the price of writing journeys as code (see docs/journeys.md for the
figures against Locust). Calls take ``requests``' arguments and responses read as
``requests``' do (:mod:`~tui_loadtest.engine.users.client`).

A task that raises counts as an error of kind ``script`` on the task's row (its
traceback goes to the run's log file, values of the user's data row replaced); the
user carries on with its next task. A task that fails at once, again and again,
with no wait time, is slowed down (doubling pauses up to a second, said once) rather
than spinning; an ``on_start`` that fails is retried after the same back-off.
Nothing a script does can end the worker.
"""

from __future__ import annotations

import asyncio
import random
import re
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from ...scenario.captures import parse_json_path
from ...scenario.model import STREAM_MODES, CaptureSpec
from ...scenario.script_file import import_script, script_parts
from ...script import Event, RequestError, Response, User
from ..http.arguments import options_parts
from ..plan import weight_table
from ..recording import FAILED_SLOT, record
from ..streams import CompiledStream, compile_stream
from .client import TRANSPORT_OPTIONS, ClientRow, ClientRuntime, ClientUser, Options, StreamCall

if TYPE_CHECKING:
    from ..host import ScriptHost, SlotPool

MAX_TRACEBACKS = 20  # per worker: the log gets the first ones of each kind
# A failed iteration quicker than this, with no wait time, is a spin in the making.
SPIN_S = 0.01
SPIN_BACKOFF_MAX = 1.0

ScriptRow = ClientRow  # the rows a script's requests create (their names)


class ScriptFlow:
    """A task (or on_start) and this second's list of its runs (see recording)."""

    __slots__ = ("index", "name", "fn", "hist", "svc")

    def __init__(self, index: int, name: str, fn: Callable[..., Any]) -> None:
        self.index = index
        self.name = name
        self.fn = fn
        self.hist: list[int] = []
        self.svc: list[int] = []


class ScriptRuntime(ClientRuntime):
    """What a worker's script users share: the module's tasks and everything clients
    share (rows, the request builder)."""

    def __init__(self, eng: ScriptHost) -> None:
        super().__init__(eng)
        spec = eng.scenario.script
        assert spec is not None
        module = import_script(spec.path)
        tasks, start, wait = script_parts(module)
        self.flows = [ScriptFlow(i, name, fn) for i, (name, fn, _) in enumerate(tasks)]
        weights = [w for _, _, w in tasks]
        self.table = [self.flows[i] for i in weight_table(weights)]
        self.on_start = ScriptFlow(len(self.flows), start.__name__, start) if start else None
        if self.on_start is not None:
            self.flows.append(self.on_start)
        self.wait: Callable[[], float] | None = wait
        self._traced: dict[str, int] = {}
        self.module = module
        # What user() and slot() make (observed subclasses for the dry run, --http-debug).
        self.user_type: type[ScriptUser] = ScriptUser
        self.slot_type: type[ScriptSlot] = ScriptSlot
        self._streams: dict[tuple[str, str | None, float | None], CompiledStream] = {}
        self.plain_options = Options({}, eng)  # a call without transport options: shared

    def function(self, name: str) -> Callable[..., Any]:
        """The script's function of that name (its @setup, its @teardown)."""
        return getattr(self.module, name)

    def stream_spec(self, how: tuple[str, str | None, float | None]) -> CompiledStream:
        """How ``user.stream(mode=, tokens=, idle_timeout=)`` reads (compiled once per
        worker for each combination); a bad argument raises in the script's task."""
        found = self._streams.get(how)
        if found is None:
            mode, tokens, idle = how
            if mode not in STREAM_MODES:
                raise ValueError(f'mode: expected "sse", "chunks" or "lines", got {mode!r}')
            if idle is not None and (
                isinstance(idle, bool) or not isinstance(idle, int | float) or not idle > 0
            ):
                raise TypeError(
                    f"idle_timeout: expected a positive number of seconds, got {idle!r}"
                )
            spec = None if tokens is None else _tokens_spec(tokens)
            found = compile_stream(mode, spec, idle, self.eng.max_body)
            self._streams[how] = found
        return found

    def user(self, eng: ScriptHost) -> ScriptUser:
        """A closed-model user of this script (the engine's ``user_class``)."""
        return self.user_type(eng, self)

    def slot(self, eng: ScriptHost, pool: SlotPool) -> ScriptSlot:
        """An open-model slot of this script (the engine's ``slot_class``)."""
        return self.slot_type(eng, self, pool)

    def script_error(self, user: ScriptUser, flow: ScriptFlow, exc: BaseException) -> None:
        """Count a task's exception; keep the first tracebacks of each kind for the log."""
        text = str(exc).splitlines()[0] if str(exc) else ""
        kind = type(exc).__name__
        message = self.redact(user.all_secrets(), f"{kind}: {text}" if text else kind)
        self.eng.buf.task_failure(flow.index, "script", message)
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{kind}@{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        seen = self._traced.get(where, 0)
        if seen < 3 and len(self._traced) < MAX_TRACEBACKS:
            self._traced[where] = seen + 1
            trace = "".join(traceback.format_exception(exc))
            self.logs.append(
                self.redact(user.all_secrets(), f"task {flow.name} (user {user.api.id}):\n{trace}")
            )


def _tokens_spec(tokens: Any) -> CaptureSpec:
    """``tokens=`` of ``user.stream``: ``"json:$.path"`` or ``"regex:PATTERN"``."""
    source, sep, expr = tokens.partition(":") if isinstance(tokens, str) else ("", "", "")
    if source == "json" and expr:
        try:
            return CaptureSpec("tokens", "json", tokens, path=parse_json_path(expr.strip()))
        except ValueError as exc:
            raise ValueError(f"tokens: JSONPath {expr.strip()!r}: {exc}") from None
    if source == "regex" and expr:
        try:
            re.compile(expr)
        except re.error as exc:
            raise ValueError(f"tokens: regex {expr!r}: {exc}") from None
        return CaptureSpec("tokens", "regex", tokens, pattern=expr)
    raise ValueError(f'tokens: expected "json:$.path" or "regex:PATTERN", got {tokens!r}')


class ScriptStream:
    """What ``user.stream(...)`` returns: the request goes out on the first
    ``__anext__``; the connection's StreamReader pushes each event as it arrives
    (``push``), the user's completion ends it (``end``) or fails it (``fail``)."""

    __slots__ = ("user", "args", "queue", "waiter", "done", "error", "response", "events",
                 "t0", "sent")  # fmt: skip

    def __init__(self, user: ScriptUser, args: tuple[Any, str | None, Options, CompiledStream]):
        self.user = user
        self.args = args  # (request parts, name, options, how it streams)
        self.queue: deque[tuple[bytes, int]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.done = False
        self.error: RequestError | None = None
        self.response: Response | None = None
        self.events = 0  # events handed to the loop
        self.t0 = 0
        self.sent = False

    def __aiter__(self) -> ScriptStream:
        return self

    async def __anext__(self) -> Event:
        if not self.sent:
            self.sent = True
            await self.user.send_stream(self)
        queue = self.queue
        while not queue:
            if self.done:
                error, self.error = self.error, None
                if error is not None:
                    raise error  # counted already (kind "stream", or no response at all)
                raise StopAsyncIteration
            await self._wait()
        data, t = queue.popleft()
        self.events += 1
        return Event(data, (t - self.t0) / 1e9, t / 1e9)

    async def _wait(self) -> None:
        fut = self.waiter = self.user.eng.loop.create_future()
        await fut

    async def ended(self) -> None:
        """Until the answer is over (a loop left early: the rest is read meanwhile)."""
        while not self.done:
            await self._wait()

    def _wake(self) -> None:
        fut, self.waiter = self.waiter, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def push(self, data: bytes, t: int) -> None:
        self.queue.append((data, t))
        self._wake()

    def end(self, response: Response | None) -> None:
        self.response = response
        self.done = True
        self._wake()

    def fail(self, error: RequestError) -> None:
        self.error = error
        self.done = True
        self._wake()


class ScriptUser(ClientUser):
    """A closed-model virtual user running a script's tasks in its own asyncio task."""

    __slots__ = ("eng", "api", "fut", "task", "resume", "started", "idle", "spin", "streaming",
                 "__weakref__")  # fmt: skip

    def __init__(self, eng: ScriptHost, rt: ScriptRuntime) -> None:
        self.eng = eng
        self.start_client(eng, rt)
        self.fut: asyncio.Future[Response] | None = None
        self.task: asyncio.Task | None = None
        self.resume: asyncio.Future[None] | None = None
        self.started = rt.on_start is None
        self.spin = 0.0  # the pause after a task that failed at once (doubling)
        self.streaming: ScriptStream | None = None  # the user.stream(...) in flight
        rows = eng.data_rows.take() if eng.data_rows is not None else []
        self.idle = rows is None
        row: dict[str, str] = {}
        secrets: list[str] = []  # the values of its secret columns, scrubbed from messages
        for spec, values in rows or ():
            row.update(zip(spec.columns, values, strict=True))
            secrets += (row[c] for c in spec.secret_columns if len(row[c]) >= 4)
        self.api = User(self, eng.next_user_id(), row, dict(eng.scenario.setup_values))
        self.secrets = secrets

    @property
    def script(self) -> ScriptRuntime:
        return self.rt  # type: ignore[return-value]

    # -- what the engine calls ------------------------------------------------------
    def start_request(self) -> None:
        """Start the user's task (at spawn), or let a paused request go (on resume)."""
        if self.idle:
            return
        if self.task is None:
            self.task = self.eng.loop.create_task(self.main())
        elif self.resume is not None and not self.resume.done():
            self.resume.set_result(None)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
        ClientUser.cancel(self)

    # -- the user's life ------------------------------------------------------------
    async def main(self) -> None:
        rt = self.script
        table = rt.table
        size = len(table)
        try:
            while True:
                if not self.started and rt.on_start is not None:
                    self.started = await self.run(rt.on_start)
                    if not self.started:
                        await self.start_backoff(rt.on_start)
                        continue
                else:
                    eng = self.eng
                    if eng.counts_iterations and not eng.begin_iteration(self):
                        return  # its iterations are done: retired
                    await self.run(table[int(random.random() * size)])
                await self.pause()
        except asyncio.CancelledError:
            pass

    async def start_backoff(self, flow: ScriptFlow) -> None:
        """An on_start that failed is tried again, after a doubling pause (to 1 s)."""
        self.spin = min(SPIN_BACKOFF_MAX, (self.spin * 2) or 0.05)
        self.rt.note_once(
            "on_start",
            f"script: on_start {flow.name} failed; each user tries it again after a pause"
            " that doubles up to 1 s (the errors table says why)",
        )
        await asyncio.sleep(self.spin)

    async def pause(self) -> None:
        wait = self.script.wait() if self.script.wait is not None else 0.0
        if self.backoff:
            wait = max(wait, self.backoff)
        if self.spin:
            wait = max(wait, self.spin)
        await asyncio.sleep(wait)  # sleep(0) still lets the loop run: a task may send nothing

    async def run(self, flow: ScriptFlow) -> bool:
        """One call of a task (one iteration); True when it ended without a failure."""
        self.it_failed = False
        t0 = perf_counter_ns()
        origin = self.intended or t0
        try:
            await flow.fn(self.api)
        except RequestError:
            self.it_failed = True  # counted under its kind when it happened
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - user code: count it, never die of it
            self.it_failed = True
            self.script.script_error(self, flow, exc)
        t1 = perf_counter_ns()
        record(flow.hist, (t1 - origin) // 1000, 0)
        if self.eng.open_model:
            record(flow.svc, (t1 - t0) // 1000, 0)
        if self.it_failed:
            flow.hist[FAILED_SLOT] += 1
            if (t1 - t0) < SPIN_S * 1e9 and self.script.wait is None:
                self.spin = min(SPIN_BACKOFF_MAX, (self.spin * 2) or SPIN_S)
                self.rt.note_once(
                    "spin",
                    f"script: task {flow.name} fails at once and the script has no wait_time;"
                    " users pause between failing tasks (doubling up to 1 s) instead of"
                    " spinning",
                )
        else:
            self.spin = 0.0
        self.intended = 0
        return not self.it_failed

    # -- one request (the _Sender the script's User calls) ----------------------------
    def request(self, method: str, url: str, options: dict[str, Any]) -> Awaitable[Response]:
        """Send now and return the future of the response (a plain function: no
        coroutine per request); when the engine holds requests back (paused), a
        coroutine that waits for the go first. Bad arguments raise at once."""
        if self.streaming is not None:  # a stream's loop was left early: its end first
            return self.after_stream(self.streaming, method, url, options)
        if self.fut is not None:
            raise RuntimeError("one request at a time per user: await each before the next")
        parts = options_parts(method, url, options)
        opts = (
            Options(options, self.eng)
            if options.keys() & TRANSPORT_OPTIONS
            else self.script.plain_options  # the usual call: the run's settings
        )
        name = options.get("name")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a string, got {name!r}")
        if self.eng.gate and not self.admitted():
            return self.after_pause(parts, name, opts)
        return self.send(parts, name, opts)

    async def after_pause(self, parts: Any, name: str | None, opts: Options) -> Response:
        self.resume = self.eng.loop.create_future()
        await self.resume  # a retired user is cancelled here instead
        self.resume = None
        return await self.send(parts, name, opts)

    async def after_stream(
        self, stream: ScriptStream, method: str, url: str, options: dict[str, Any]
    ) -> Response:
        await stream.ended()
        return await self.request(method, url, options)

    def stream(
        self,
        method: str,
        url: str,
        how: tuple[str, str | None, float | None],
        options: dict[str, Any],
    ) -> ScriptStream:
        """``user.stream(...)``: checked now, sent on the loop's first step."""
        parts = options_parts(method, url, options)
        opts = Options(options, self.eng)
        name = options.get("name")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a string, got {name!r}")
        return ScriptStream(self, (parts, name, opts, self.script.stream_spec(how)))

    async def send_stream(self, stream: ScriptStream) -> None:
        """Send a stream's request, after any earlier stream's end and the engine's go."""
        prior = self.streaming
        if prior is not None:
            await prior.ended()
        if self.fut is not None:
            raise RuntimeError("one request at a time per user: await each before the next")
        if self.eng.gate and not self.admitted():
            self.resume = self.eng.loop.create_future()
            await self.resume  # a retired user is cancelled here instead
            self.resume = None
        parts, name, opts, spec = stream.args
        self.streaming = stream
        self.fut = self.eng.loop.create_future()  # one request at a time, streams too
        self.send_parts(parts, name, opts, self.api.headers, spec)
        stream.t0 = self.t0

    def send(self, parts: Any, name: str | None, opts: Options) -> asyncio.Future[Response]:
        fut = self.fut = self.eng.loop.create_future()
        self.send_parts(parts, name, opts, self.api.headers)
        return fut

    def admitted(self) -> bool:
        return self.eng.admit(self)

    # -- how the task waits ----------------------------------------------------------
    def deliver(self, response: Response) -> None:
        fut, self.fut = self.fut, None
        stream, self.streaming = self.streaming, None
        if stream is not None:  # its loop reads the end (the future only held the turn)
            stream.end(response)
            response = None  # type: ignore[assignment]
        if fut is not None and not fut.done():
            fut.set_result(response)

    def deliver_failure(self, kind: str, message: str) -> None:
        fut, self.fut = self.fut, None
        stream, self.streaming = self.streaming, None
        if stream is not None:  # raised from its loop, not from a future nobody awaits
            stream.fail(RequestError(kind, message))
            if fut is not None and not fut.done():
                fut.set_result(None)  # type: ignore[arg-type]
            return
        if fut is not None and not fut.done():
            fut.set_exception(RequestError(kind, message))

    def stale_after_stop(self) -> None:
        """A stale connection after the stop: not a request (nothing is counted); the
        task ends with the run."""
        self.deadline = 0
        self.keep = None
        stream, self.streaming = self.streaming, None
        if stream is not None:
            stream.end(None)
        fut, self.fut = self.fut, None
        if fut is not None and not fut.done():
            fut.cancel()

    def resend(self) -> None:
        self.keep = None if isinstance(self.req, StreamCall) else []
        ClientUser.resend(self)


class ScriptSlot(ScriptUser):
    """Arrival-rate mode: one arrival runs one task (after on_start, the first time)."""

    __slots__ = ("pool",)

    def __init__(self, eng: ScriptHost, rt: ScriptRuntime, pool: SlotPool) -> None:
        super().__init__(eng, rt)
        self.pool = pool

    def dispatch(self, intended_ns: int) -> None:
        self.intended = intended_ns
        if self.idle:
            self.pool.slot_free(self)
            return
        self.task = self.eng.loop.create_task(self.one())

    async def one(self) -> None:
        rt = self.script
        try:
            if not self.started and rt.on_start is not None:
                self.started = await self.run(rt.on_start)
            if self.started:
                table = rt.table
                await self.run(table[int(random.random() * len(table))])
            if self.backoff:
                await asyncio.sleep(self.backoff)
        except asyncio.CancelledError:
            return
        self.task = None
        self.pool.slot_free(self)

    def admitted(self) -> bool:
        # The driver admitted the arrival (and counted it in any budget); after a stop
        # the task's remaining requests wait here until the slot is retired.
        return not self.eng.stopped

    def start_request(self) -> None:
        if self.resume is not None and not self.resume.done():
            self.resume.set_result(None)
