"""The hot path: a virtual user driving one keep-alive HTTP/1.1 connection.

A user is a small state machine driven by callbacks, not a coroutine: when a
response completes, the parser callback records it and writes the next request
straight away (or arms a think-time timer). Nothing is allocated per request
beyond what httptools and the transport need, no future and no timer are
created per request (a watchdog in the engine enforces deadlines), and the
latency histogram index is computed inline (one of the two marked inline copies
of :func:`~tui_loadtest.engine.recording.record`, the other in a flow step's
completion). See docs/architecture.md, "Hot-path habits".

Latency counts from the moment the user starts a request, including opening a
connection when it needs one, until the response is complete.
"""

from __future__ import annotations

import asyncio
from random import random
from time import perf_counter_ns
from typing import TYPE_CHECKING, Protocol, cast

from httptools import HttpParserError, HttpResponseParser

from .failures import classify
from .recording import (
    BUCKET_LUT,
    BYTES_SLOT,
    LAST_BUCKET,
    MAX_SHIFT,
    SENT_SLOT,
    STATUS_SLOT,
    SUB_BITS,
    SUM_SLOT,
    TOP_SHIFT,
    record,
)

if TYPE_CHECKING:
    from .host import UserHost
    from .plan import CompiledRequest

BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0
# The start of a response kept while it arrives, to read the head of a close-delimited
# one (its body ends when the connection closes); heads are far smaller than this.
HEAD_KEEP = 16 * 1024


class Conn(asyncio.Protocol):
    """One TCP (or TLS) connection of a user. Its own object, so that callbacks from
    a connection the user has already given up on can be told apart and ignored."""

    __slots__ = ("user", "transport", "parser", "dead")

    transport: asyncio.Transport  # set once connected (a user holds only connected ones)

    def __init__(self, user: VUser) -> None:
        self.user = user
        self.parser = HttpResponseParser(user)
        self.dead = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        u = self.user
        if self.dead:
            return
        if not u.nbytes:
            u.head = data
        elif len(u.head) < HEAD_KEEP:
            u.head += data  # a head may come in pieces (see close_delimited_status)
        u.nbytes += len(data)
        try:
            self.parser.feed_data(data)
        except HttpParserError as exc:
            if not self.dead:
                u.on_protocol_error(self, exc)

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost decides what it meant

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.dead:
            self.dead = True
            self.user.on_connection_lost(self, exc)


class CycleUser(Protocol):
    """What :class:`UserCycle` needs of the class it is mixed into."""

    eng: UserHost
    think: tuple[float, float] | None
    req: CompiledRequest  # the request in flight (or the last one)
    timer: asyncio.TimerHandle | None
    backoff: float
    deadline: int

    def start_request(self) -> None: ...

    def next(self) -> None: ...


class ConnHolder(Protocol):
    """What :class:`OwnConnection` needs: the user's one connection."""

    conn: Conn | None


class OwnConnection:
    """Letting go of the user's one connection (every kind of user has one): closed
    politely, or aborted (no FIN wait) after a protocol error or a timeout. A mixin."""

    __slots__ = ()

    def drop_connection(self, abort: bool = False) -> None:
        u: ConnHolder = cast("ConnHolder", self)
        conn = u.conn
        if conn is not None:
            u.conn = None
            conn.dead = True
            if abort:
                conn.transport.abort()
            else:
                conn.transport.close()

    def abort_connection(self) -> None:
        self.drop_connection(abort=True)


class UserCycle:
    """What every kind of user does between requests: think, or count a failure and
    carry on (after a pause when it could not connect). A mixin: subclasses hold
    what :class:`CycleUser` lists, in their own ``__slots__``."""

    __slots__ = ()

    # ``u`` is ``self``, typed by what the mixin needs (mypy would otherwise take
    # these assignments as the mixin's own attribute definitions).

    def next(self) -> None:
        """Think, then start the next request."""
        u: CycleUser = cast("CycleUser", self)
        th = u.think
        if th is None:
            u.start_request()
        else:
            u.timer = u.eng.loop.call_later(th[0] + random() * th[1], u.start_request)

    def fail(self, kind: str, message: str, backoff: bool = False) -> None:
        """Count a failed request and carry on (after a pause if we could not connect)."""
        u: CycleUser = cast("CycleUser", self)
        u.deadline = 0
        now = perf_counter_ns()
        if now >= u.eng.tick_ns:
            u.eng.roll(now)
        u.eng.buf.other_failure(u.req.index, kind, message)
        if backoff:
            delay = u.backoff = min(BACKOFF_MAX, (u.backoff * 2) or BACKOFF_FIRST)
            if u.think is not None:
                delay = max(delay, u.think[0] + random() * u.think[1])
            u.timer = u.eng.loop.call_later(delay, u.start_request)
        else:
            u.next()


class VUser(UserCycle, OwnConnection):
    """A closed-model virtual user: pick a request, send, record, think, repeat."""

    conn_class: type[Conn] = Conn  # flow users keep responses with their own kind
    __slots__ = (
        "eng",
        "table",
        "tsize",
        "only",
        "think",
        "keepalive",
        "conn",
        "req",
        "data",
        "t0",
        "deadline",
        "nbytes",
        "head",
        "served",
        "retried",
        "timer",
        "connecting",
        "backoff",
        "__weakref__",
    )

    def __init__(self, eng: UserHost) -> None:
        self.eng = eng
        self.table = eng.req_table
        self.tsize = len(eng.req_table)
        self.only = eng.req_table[0] if len(set(map(id, eng.req_table))) == 1 else None
        self.think = eng.think  # (low, span) or None
        self.keepalive = eng.keepalive
        self.conn: Conn | None = None
        self.req = eng.req_table[0]  # replaced by each request's own
        self.data = b""
        self.t0 = 0
        self.deadline = 0  # non-zero while a request is in flight
        self.nbytes = 0
        self.head = b""
        self.served = 0  # responses on the current connection
        self.retried = False
        self.timer: asyncio.TimerHandle | None = None
        self.connecting: asyncio.Task | None = None
        self.backoff = 0.0

    # -- the request cycle (hot) -------------------------------------------
    def start_request(self) -> None:
        self.timer = None
        eng = self.eng
        if eng.gate and not eng.admit(self):
            return
        r = self.only or self.table[int(random() * self.tsize)]
        self.req = r
        self.data = data = r.single or r.pick()
        self.nbytes = 0
        self.retried = False
        t0 = perf_counter_ns()
        self.t0 = t0
        self.deadline = t0 + eng.timeout_ns
        conn = self.conn
        if conn is None:
            self.open_connection()
        else:
            conn.transport.write(data)
            r.hist[SENT_SLOT] += len(data)

    def on_message_complete(self) -> None:
        """The hottest function: ``complete`` and ``next`` written out inline.

        INLINE COPY of ``recording.record`` (and of ``recording.bucket``): one of the
        two places the recording statements are written out (the other is
        ``FlowUser.on_message_complete``), because a call per response was measured
        to cost (bench/micro_record.py). Keep it in step with
        ``recording.py``; ``tests/test_recording.py`` drives this method over a wide
        range of latencies and checks it against ``stats.histogram.bucket_index``.
        """
        t1 = perf_counter_ns()
        p = self.conn.parser  # type: ignore[union-attr]  # the parser calling us is conn's
        status = p.get_status_code()
        if status < 200 or not self.deadline:  # a 1xx (the real one follows), or unsolicited
            return
        r = self.req
        eng = self.eng
        if t1 >= eng.tick_ns:  # the first response of a new second: close the last one
            eng.roll(t1)
        # -- inline record(r.hist, v, self.nbytes) --
        v = (t1 - self.t0) // 1000
        try:
            b = BUCKET_LUT[v]  # under 65 ms; a try costs nothing until it fails
        except IndexError:
            s = v.bit_length() - TOP_SHIFT
            b = (s << SUB_BITS) + (v >> s) if s <= MAX_SHIFT else LAST_BUCKET
        h = r.hist
        h[b] += 1
        h[SUM_SLOT] += v
        h[BYTES_SLOT] += self.nbytes
        if status != 200:  # 200s are worked out from the counts (recording.statuses)
            h[STATUS_SLOT + status] += 1
        # -- end of the inline copy --
        self.deadline = 0
        self.served += 1
        if not r.ok[status]:
            eng.buf.http_failure(r.index, status)
        if not (self.keepalive and p.should_keep_alive()):
            self.drop_connection()
        th = self.think
        if th is None:
            self.start_request()
        else:
            self.timer = eng.loop.call_later(th[0] + random() * th[1], self.start_request)

    def complete(self, status: int, t1: int) -> None:
        """Record a response for the request in flight (the cold paths' version)."""
        r = self.req
        eng = self.eng
        if t1 >= eng.tick_ns:
            eng.roll(t1)
        record(r.hist, (t1 - self.t0) // 1000, self.nbytes, status)
        self.deadline = 0
        self.served += 1
        if not r.ok[status]:
            eng.buf.http_failure(r.index, status)

    # -- connections (cold) ---------------------------------------------------
    def open_connection(self) -> None:
        eng = self.eng
        self.deadline = min(self.deadline, perf_counter_ns() + eng.connect_timeout_ns)
        self.connecting = eng.loop.create_task(self._connect())

    async def _connect(self) -> None:
        eng = self.eng
        conn = self.conn_class(self)
        try:
            await eng.connect(conn)
        except asyncio.CancelledError:
            # Given up (a timeout, or a stop before anything was sent). A connection
            # that was made just before is closed, not left to the garbage collector.
            conn.dead = True
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.close()
            return
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none is fatal
            self.connecting = None
            conn.dead = True
            kind, message = classify(exc)
            self.fail(kind, message, backoff=True)
            return
        self.connecting = None
        if self.deadline == 0:  # timed out meanwhile (and counted then)
            conn.dead = True
            conn.transport.close()
            return
        eng.connects += 1
        self.conn = conn
        self.served = 0
        self.backoff = 0.0
        self.deadline = self.t0 + eng.timeout_ns
        conn.transport.write(self.data)
        self.req.hist[SENT_SLOT] += len(self.data)

    def on_connection_lost(self, conn: Conn, exc: Exception | None) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        if not self.deadline:
            return  # idle keep-alive connection closed by the server: reopen on next request
        if self.nbytes == 0 and self.served and not self.retried:
            # A stale keep-alive connection: nothing came back, so the request
            # cannot have been processed; send it once more on a new connection
            # (after a stop, it is simply not a request: nothing is counted).
            if self.eng.stopped:
                self.deadline = 0
                self.eng.retire(self)
                return
            self.retried = True
            self.open_connection()
            return
        if self.nbytes and exc is None:
            status = close_delimited_status(self.received_head())
            if status:
                self.complete(status, perf_counter_ns())
                self.next()
                return
            self.fail("protocol", "connection closed before the response was complete")
            return
        kind, message = classify(exc)
        self.fail(kind, message)

    def received_head(self) -> bytes:
        """The start of the response received so far (a head may come in pieces)."""
        return self.head

    def on_protocol_error(self, conn: Conn, exc: Exception) -> None:
        self.abort_connection()
        kind, message = classify(exc)
        self.fail(kind, message)

    def on_timeout(self) -> None:
        """Called by the engine's watchdog once the deadline has passed."""
        task = self.connecting
        eng = self.eng
        if task is not None:
            self.connecting = None
            task.cancel()
            self.fail(
                "timeout", f"connect timed out after {eng.connect_timeout_s:g}s", backoff=True
            )
        else:
            self.abort_connection()
            self.fail("timeout", f"no complete response within {eng.timeout_s:g}s")

    def cancel(self) -> None:
        """Stop now: no timer, no connection attempt, no connection."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        self.drop_connection()


class HeadAwareUser(VUser):
    """A user for plans that send HEAD: a HEAD response ends with its headers.

    httptools cannot be told to skip the body its headers announce, so the
    response is completed here and the connection gets a fresh parser.
    """

    __slots__ = ()

    def on_headers_complete(self) -> None:
        r = self.req
        conn = self.conn
        if not r.is_head or not self.deadline or conn is None:
            return
        t1 = perf_counter_ns()
        p = conn.parser
        status = p.get_status_code()
        if status < 200:
            return
        keep = self.keepalive and p.should_keep_alive()
        conn.parser = HttpResponseParser(self)
        self.complete(status, t1)
        if not keep:
            self.drop_connection()
        self.eng.loop.call_soon(self.next)  # leave the old parser's callback first

    def on_message_complete(self) -> None:
        if self.req.is_head and not self.deadline:
            return  # already completed at the end of the headers
        super().on_message_complete()


def close_delimited_status(head: bytes) -> int:
    """The status of a response whose body ends when the connection closes, or 0.

    Called only when a connection closes mid-response: a response that announced
    its length (Content-Length or chunked) and was cut short is an error instead.
    """
    end = head.find(b"\r\n\r\n")
    if end < 0 or not head.startswith(b"HTTP/1."):
        return 0
    block = head[:end].lower()
    if b"\r\ncontent-length:" in block or b"\r\ntransfer-encoding:" in block:
        return 0
    try:
        return int(head[9:12])
    except ValueError:
        return 0
