"""Python user scripts on the fast transport: one asyncio task per virtual user.

Each ``await user.get(...)`` writes request bytes on the user's own keep-alive
connection (the same ``asyncio.Protocol`` + httptools client as the plain path) and
waits on one future that the parser callback completes; that future and the
coroutine are the price of writing journeys as code (see docs/journeys.md for the
figures against Locust). Responses are kept whole (up to ``http.max_body``) since a
script may read any of them.

A task that raises counts as an error of kind ``script`` on the task's row (its
traceback goes to the run's log file, values of the user's data row replaced); the
user carries on with its next task. Nothing a script does can end the worker.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from httptools import HttpResponseParser as Parser

from ..scenario.redact import is_sensitive_header
from ..scenario.script_file import import_script, script_parts
from ..script import RequestError, Response, User
from .captures import body_of
from .failures import classify
from .flow_user import HEAD_ALLOWANCE
from .plan import USER_AGENT, Target
from .recording import FAILED_SLOT, SENT_SLOT, record
from .vuser import BACKOFF_FIRST, BACKOFF_MAX, Conn, OwnConnection, close_delimited_status

if TYPE_CHECKING:
    from httptools import HttpResponseParser

    from .host import SlotPool
    from .worker_engine import WorkerEngine

# A script naming requests after their full path can make endless rows; past this
# many names the rest share one row and the run says so once.
MAX_NAMES = 200
OTHER_NAMES = "(other names)"
MAX_TRACEBACKS = 20  # per worker: the log gets the first ones of each kind
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
_PATH_SAFE = "/?&=%:@!$'()*+,;~#[]"


class ScriptConn(Conn):
    """A script user's connection: keeps every chunk of a response while a request
    waits for it (``user.keep``), up to ``max_keep``, for ``Response.content``."""

    __slots__ = ()

    user: ScriptUser  # type: ignore[assignment]  # not a VUser: its own callbacks

    def data_received(self, data: bytes) -> None:
        """Keep the chunk, then read it as every connection does (``Conn``'s reading,
        called directly: one copy of it, so a fix there reaches scripts too; a script
        request costs some 18 µs, and the call some 0.06)."""
        u = self.user
        if self.dead:
            return
        keep = u.keep
        if keep is not None:
            if u.nbytes + len(data) <= u.max_keep:
                keep.append(data)
            else:
                u.keep = None
                u.over = True
        Conn.data_received(self, data)


class ScriptRow:
    """An endpoint row discovered at run time (a script's ``name=``)."""

    __slots__ = ("index", "method", "name", "hist", "svc", "is_head")

    def __init__(self, index: int, method: str, name: str) -> None:
        self.index = index
        self.method = method
        self.name = name
        self.hist: list[int] = []
        self.svc: list[int] = []
        self.is_head = method == "HEAD"


class ScriptFlow:
    """A task (or on_start) and this second's list of its runs (see recording)."""

    __slots__ = ("index", "name", "fn", "hist", "svc")

    def __init__(self, index: int, name: str, fn: Callable[..., Any]) -> None:
        self.index = index
        self.name = name
        self.fn = fn
        self.hist: list[int] = []
        self.svc: list[int] = []


class ScriptRuntime:
    """What a worker's script users share: the module's tasks, rows, request heads."""

    def __init__(self, eng: WorkerEngine) -> None:
        spec = eng.scenario.script
        assert spec is not None
        self.eng = eng
        module = import_script(spec.path)
        tasks, start, wait = script_parts(module)
        self.flows = [ScriptFlow(i, name, fn) for i, (name, fn, _) in enumerate(tasks)]
        weights = [w for _, _, w in tasks]
        self.table = [self.flows[i] for i in _weighted(weights)]
        self.on_start = ScriptFlow(len(self.flows), start.__name__, start) if start else None
        if self.on_start is not None:
            self.flows.append(self.on_start)
        self.wait: Callable[[], float] | None = wait
        self.rows: dict[tuple[str, str], ScriptRow] = {}
        self.new_rows: list[tuple[str, str]] = []  # announced in the next delta
        self.logs: list[str] = []  # tracebacks for the run's log file (next delta)
        self.notes: list[str] = []
        self._traced: dict[str, int] = {}
        target: Target = eng.plan.target
        http = eng.scenario.http
        self.keepalive = http.keepalive
        self.max_keep = http.max_body + HEAD_ALLOWANCE
        self.max_body = http.max_body
        self.after_path = f" HTTP/1.1\r\nHost: {target.host_header}\r\n".encode("latin-1")
        defaults = [("User-Agent", USER_AGENT), ("Accept", "*/*"), *http.headers]
        self.defaults = defaults
        self.defaults_block = _header_block(defaults)
        self._blocks: dict[tuple[tuple[str, str], ...], tuple[bytes, bool]] = {}
        self.closing = b"" if http.keepalive else b"Connection: close\r\n"
        self.secrets = [v for n, v in http.headers if is_sensitive_header(n) and len(v) >= 4]

    def row(self, method: str, name: str) -> ScriptRow:
        key = (method, name)
        row = self.rows.get(key)
        if row is not None:
            return row
        if len(self.rows) >= MAX_NAMES:
            key = ("", OTHER_NAMES)
            row = self.rows.get(key)
            if row is not None:
                return row
            self.notes.append(
                f"script: more than {MAX_NAMES} request names; the rest are counted under "
                f'"{OTHER_NAMES}" (give requests a name=, like name="GET /api/queries/{{id}}")'
            )
        row = ScriptRow(self.eng.n, *key)
        self.rows[key] = row
        self.new_rows.append(key)
        self.eng.add_row(row)
        return row

    def build(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> bytes:
        """The request bytes: method, path, the pre-built default headers (less those the
        call or the user overrides), the user's and the call's headers, the body."""
        if not path.startswith("/"):
            raise ValueError(f"request paths start with /, got {path!r}")
        if not path.isascii() or " " in path:
            path = quote(path, safe=_PATH_SAFE)
        parts = [method.encode("latin-1"), b" ", path.encode("latin-1"), self.after_path]
        has_type = False
        if headers:
            block, has_type = self.blocks(headers)
            parts.append(block)
        else:
            parts.append(self.defaults_block)
        if content_type is not None and not has_type:
            parts.append(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n")
        if body is not None or method in _BODY_METHODS:
            parts.append(b"Content-Length: %d\r\n" % len(body or b""))
        parts.append(self.closing)
        parts.append(b"\r\n")
        if body:
            parts.append(body)
        return b"".join(parts)

    def blocks(self, headers: Mapping[str, str]) -> tuple[bytes, bool]:
        """The header lines for these headers with the defaults they leave, and whether
        they set Content-Type. Cached: a user's headers rarely change between requests."""
        key = tuple(headers.items())
        found = self._blocks.get(key)
        if found is None:
            given = {name.lower() for name in headers}
            defaults = [(n, v) for n, v in self.defaults if n.lower() not in given]
            found = (_header_block(defaults) + _header_block(key), "content-type" in given)
            if len(self._blocks) >= 4096:
                self._blocks.clear()
            self._blocks[key] = found
        return found

    def script_error(self, user: ScriptUser, flow: ScriptFlow, exc: BaseException) -> None:
        """Count a task's exception; keep the first tracebacks of each kind for the log."""
        text = str(exc).splitlines()[0] if str(exc) else ""
        message = self.redact(user, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        self.eng.buf.task_failure(flow.index, "script", message)
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{type(exc).__name__}@{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        seen = self._traced.get(where, 0)
        if seen < 3 and len(self._traced) < MAX_TRACEBACKS:
            self._traced[where] = seen + 1
            trace = "".join(traceback.format_exception(exc))
            self.logs.append(self.redact(user, f"task {flow.name} (user {user.api.id}):\n{trace}"))

    def redact(self, user: ScriptUser, text: str) -> str:
        """Text with the user's data values and sensitive header values replaced."""
        for value in (*user.secrets, *self.secrets):
            if value in text:
                text = text.replace(value, "<redacted>")
        return text


def _weighted(weights: list[float]) -> list[int]:
    from .plan import weight_table

    return weight_table(weights)


def _header_block(headers: Any) -> bytes:
    lines = []
    for name, value in headers:
        line = f"{name}: {value}\r\n"
        if "\n" in value or "\r" in value or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r}: a line break or a colon is not allowed")
        lines.append(line)
    return "".join(lines).encode("utf-8")


class ScriptUser(OwnConnection):
    """A closed-model virtual user running a script's tasks in its own asyncio task."""

    __slots__ = (
        "eng",
        "rt",
        "api",
        "secrets",
        "conn",
        "req",
        "data",
        "t0",
        "deadline",
        "nbytes",
        "head",
        "served",
        "retried",
        "keep",
        "over",
        "max_keep",
        "fut",
        "connecting",
        "task",
        "resume",
        "backoff",
        "intended",
        "it_failed",
        "started",
        "idle",
        "__weakref__",
    )

    conn_class = ScriptConn

    def __init__(self, eng: WorkerEngine) -> None:
        rt = eng.script
        assert rt is not None
        self.eng = eng
        self.rt = rt
        self.conn: ScriptConn | None = None
        self.req: ScriptRow | None = None
        self.data = b""
        self.t0 = 0
        self.deadline = 0
        self.nbytes = 0
        self.head = b""
        self.served = 0
        self.retried = False
        self.keep: list[bytes] | None = None
        self.over = False
        self.max_keep = rt.max_keep
        self.fut: asyncio.Future[Response] | None = None
        self.connecting: asyncio.Task | None = None
        self.task: asyncio.Task | None = None
        self.resume: asyncio.Future[None] | None = None
        self.backoff = 0.0
        self.intended = 0
        self.it_failed = False
        self.started = rt.on_start is None
        rows = eng.data_rows.take() if eng.data_rows is not None else []
        self.idle = rows is None
        row: dict[str, str] = {}
        secrets: list[str] = []  # the values of its secret columns, scrubbed from messages
        for spec, values in rows or ():
            row.update(zip(spec.columns, values, strict=True))
            secrets += (row[c] for c in spec.secret_columns if len(row[c]) >= 4)
        self.api = User(self, eng.next_user_id(), row)
        self.secrets = secrets

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
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        self.drop_connection()

    def on_timeout(self) -> None:
        task = self.connecting
        if task is not None:
            self.connecting = None
            task.cancel()
            self.failed("timeout", f"connect timed out after {self.eng.connect_timeout_s:g}s", True)
        else:
            self.abort_connection()
            self.failed("timeout", f"no complete response within {self.eng.timeout_s:g}s")

    # -- the user's life ------------------------------------------------------------
    async def main(self) -> None:
        rt = self.rt
        table = rt.table
        size = len(table)
        try:
            while True:
                if not self.started and rt.on_start is not None:
                    self.started = await self.run(rt.on_start)
                else:
                    await self.run(table[int(random.random() * size)])
                await self.pause()
        except asyncio.CancelledError:
            pass

    async def pause(self) -> None:
        wait = self.rt.wait() if self.rt.wait is not None else 0.0
        if self.backoff:
            wait = max(wait, self.backoff)
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
            self.rt.script_error(self, flow, exc)
        t1 = perf_counter_ns()
        record(flow.hist, (t1 - origin) // 1000, 0)
        if self.eng.open_model:
            record(flow.svc, (t1 - t0) // 1000, 0)
        if self.it_failed:
            flow.hist[FAILED_SLOT] += 1
        self.intended = 0
        return not self.it_failed

    # -- one request (the _Sender the script's User calls) ----------------------------
    def request(
        self,
        method: str,
        path: str,
        name: str | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> Awaitable[Response]:
        """Send now and return the future of the response (a plain function: no
        coroutine per request); when the engine holds requests back (paused), a
        coroutine that waits for the go first."""
        if self.fut is not None:
            raise RuntimeError("one request at a time per user: await each before the next")
        if self.eng.gate and not self.admitted():
            return self.after_pause(method, path, name, headers, body, content_type)
        return self.send(method, path, name, headers, body, content_type)

    async def after_pause(
        self,
        method: str,
        path: str,
        name: str | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> Response:
        self.resume = self.eng.loop.create_future()
        await self.resume  # a retired user is cancelled here instead
        self.resume = None
        return await self.send(method, path, name, headers, body, content_type)

    def send(
        self,
        method: str,
        path: str,
        name: str | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> asyncio.Future[Response]:
        eng = self.eng
        rt = self.rt
        data = rt.build(method, path, headers, body, content_type)
        self.req = rt.row(method, name or f"{method} {path.partition('?')[0]}")
        self.data = data
        self.keep = []
        self.over = False
        self.nbytes = 0
        self.retried = False
        fut = self.fut = eng.loop.create_future()
        t0 = perf_counter_ns()
        self.t0 = t0
        self.deadline = t0 + eng.timeout_ns
        conn = self.conn
        if conn is None:
            self.open_connection()
        else:
            conn.transport.write(data)
            self.req.hist[SENT_SLOT] += len(data)
        return fut

    def admitted(self) -> bool:
        return self.eng.admit(self)

    def fail(self, reason: str) -> None:
        """``user.fail()``: the last response counts as failed, kind ``check``."""
        row = self.req
        if row is None:
            raise RuntimeError("user.fail() before any request")
        self.it_failed = True
        self.eng.buf.response_failure(row.index, "check", self.rt.redact(self, reason))

    # -- parser callbacks -----------------------------------------------------------
    def on_headers_complete(self) -> None:
        row = self.req
        if row is None or not row.is_head or not self.deadline:
            return
        t1 = perf_counter_ns()
        conn = self.conn
        assert conn is not None
        p: HttpResponseParser = conn.parser
        status = p.get_status_code()
        if status < 200:
            return
        keep = self.eng.keepalive and p.should_keep_alive()
        conn.parser = Parser(self)
        self.complete(status, t1)
        if not keep:
            self.drop_connection()

    def on_message_complete(self) -> None:
        t1 = perf_counter_ns()
        conn = self.conn
        assert conn is not None
        p = conn.parser
        status = p.get_status_code()
        if status < 200 or not self.deadline:
            return
        self.complete(status, t1)
        if not (self.eng.keepalive and p.should_keep_alive()):
            self.drop_connection()

    def complete(self, status: int, t1: int) -> None:
        row = self.req
        assert row is not None
        eng = self.eng
        if t1 >= eng.tick_ns:  # the first response of a new second: close the last one
            eng.roll(t1)
        record(row.hist, (t1 - (self.intended or self.t0)) // 1000, self.nbytes, status)
        if self.eng.open_model:
            record(row.svc, (t1 - self.t0) // 1000, 0)
        self.intended = 0
        self.deadline = 0
        self.served += 1
        self.backoff = 0.0
        if status >= 400:
            self.eng.buf.http_failure(row.index, status)
            self.it_failed = True
        keep, self.keep = self.keep, None
        raw = (keep[0] if len(keep) == 1 else b"".join(keep)) if keep else b""
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            response = Response(status, raw, b"", self.over)
        elif self.over or raw.find(b"chunked", 0, end) < 0:
            response = Response(status, raw[:end], raw[end + 4 :], self.over)
        else:
            response = Response(status, raw[:end], body_of(raw))  # de-chunked
        fut, self.fut = self.fut, None
        if fut is not None and not fut.done():
            fut.set_result(response)

    def failed(self, kind: str, message: str, backoff: bool = False) -> None:
        """No response: count it and raise RequestError in the waiting task."""
        self.deadline = 0
        self.keep = None
        row = self.req
        if row is not None:
            self.eng.buf.other_failure(row.index, kind, message)
        if backoff:
            self.backoff = min(BACKOFF_MAX, (self.backoff * 2) or BACKOFF_FIRST)
        fut, self.fut = self.fut, None
        if fut is not None and not fut.done():
            fut.set_exception(RequestError(kind, message))

    # -- connections (as VUser's) ---------------------------------------------------
    def open_connection(self) -> None:
        eng = self.eng
        self.deadline = min(self.deadline, perf_counter_ns() + eng.connect_timeout_ns)
        self.connecting = eng.loop.create_task(self.connect())

    async def connect(self) -> None:
        eng = self.eng
        conn = ScriptConn(self)  # type: ignore[arg-type]
        try:
            await eng.connect(conn)
        except asyncio.CancelledError:
            conn.dead = True
            return
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none is fatal
            self.connecting = None
            conn.dead = True
            kind, message = classify(exc)
            self.failed(kind, message, backoff=True)
            return
        self.connecting = None
        if self.deadline == 0 or eng.stopped:
            conn.dead = True
            conn.transport.close()
            return
        eng.connects += 1
        self.conn = conn
        self.served = 0
        self.deadline = self.t0 + eng.timeout_ns
        conn.transport.write(self.data)
        if self.req is not None:
            self.req.hist[SENT_SLOT] += len(self.data)

    def on_connection_lost(self, conn: ScriptConn, exc: Exception | None) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        if not self.deadline:
            return
        if self.nbytes == 0 and self.served and not self.retried:
            # A stale keep-alive connection: nothing came back, so the request cannot
            # have been processed. After a stop it is simply not a request (nothing is
            # counted, as for VUser); before, it is sent once more on a new connection.
            if self.eng.stopped:
                self.deadline = 0
                self.keep = None
                fut, self.fut = self.fut, None
                if fut is not None and not fut.done():
                    fut.cancel()  # the task is ending with the run
                return
            self.retried = True
            self.keep = []
            self.open_connection()
            return
        if self.nbytes and exc is None:
            status = close_delimited_status(self.head)
            if status:
                self.complete(status, perf_counter_ns())
                return
            self.failed("protocol", "connection closed before the response was complete")
            return
        kind, message = classify(exc)
        self.failed(kind, message)

    def on_protocol_error(self, conn: ScriptConn, exc: Exception) -> None:
        self.abort_connection()
        kind, message = classify(exc)
        self.failed(kind, message)


class ScriptSlot(ScriptUser):
    """Arrival-rate mode: one arrival runs one task (after on_start, the first time)."""

    __slots__ = ("pool",)

    def __init__(self, eng: WorkerEngine, pool: SlotPool) -> None:
        super().__init__(eng)
        self.pool = pool

    def dispatch(self, intended_ns: int) -> None:
        self.intended = intended_ns
        if self.idle:
            self.pool.slot_free(self)
            return
        self.task = self.eng.loop.create_task(self.one())

    async def one(self) -> None:
        rt = self.rt
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
