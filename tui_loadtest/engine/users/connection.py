"""One connection lifecycle for every kind of user on the fast transport.

A user holds at most one keep-alive connection (:class:`Conn`). Opening it,
giving up on it (a timeout, a stop), losing it (the server closed it, a stale
keep-alive connection, a close-delimited body) and a protocol error are handled
here once, by :class:`Connection`; the kinds of user (plain, flow, script, and the
Locust-compatible one) differ only in the hooks it calls: ``fail`` (no response),
``complete`` (a response), ``next`` (what follows a response completed here), and
the two stale-connection cases.

None of this is on the per-request path: a request on an open connection is one
``transport.write``, and its response is completed by the user's parser callback.
"""

from __future__ import annotations

import asyncio
import ssl
from time import perf_counter_ns
from typing import TYPE_CHECKING, Protocol, cast

from httptools import HttpParserError, HttpResponseParser

from ..failures import classify
from ..recording import SENT_SLOT
from ..streams import StreamOverflow, StreamReader

if TYPE_CHECKING:
    from ..host import UserHost
    from ..plan import Target
    from ..streams import CompiledStream

BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0
# The start of a response kept while it arrives, to read the head of a close-delimited
# one (its body ends when the connection closes); heads are far smaller than this.
HEAD_KEEP = 16 * 1024


class ConnUser(Protocol):
    """What a :class:`Conn` calls on its user: the parser's callbacks, and these."""

    nbytes: int
    head: bytes
    deadline: int  # non-zero while a request is in flight
    served: int  # responses completed on the current connection
    th: int

    def on_protocol_error(self, conn: Conn, exc: Exception) -> None: ...

    def on_unsolicited(self, conn: Conn) -> None: ...

    def on_connection_lost(self, conn: Conn, exc: Exception | None) -> None: ...


class Conn(asyncio.Protocol):
    """One TCP (or TLS) connection of a user. Its own object, so that callbacks from
    a connection the user has already given up on can be told apart and ignored."""

    __slots__ = ("user", "transport", "parser", "dead", "reader")

    transport: asyncio.Transport  # set once connected (a user holds only connected ones)

    def __init__(self, user: ConnUser) -> None:
        self.user = user
        self.parser = HttpResponseParser(user)
        self.dead = False
        self.reader: StreamReader | None = None  # set once the connection may carry streams

    def read_streams(self) -> None:
        """From now on the parser calls a StreamReader (which calls the user): the
        connection can read streamed answers. Between responses only."""
        if self.reader is None:
            self.reader = StreamReader(self.user, self)
            self.parser = HttpResponseParser(self.reader)

    def new_parser(self) -> HttpResponseParser:
        """A fresh parser calling what this one calls (after a HEAD response)."""
        return HttpResponseParser(self.reader or self.user)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        u = self.user
        if self.dead:
            return
        if not u.deadline:  # nothing asked for: a server that sends more than it said
            u.on_unsolicited(self)
            return
        served = u.served
        if not u.nbytes:
            u.head = data
            u.th = perf_counter_ns()  # the response's first byte (its TTFB)
        else:
            if u.th > 0:
                u.th = -u.th  # in pieces: its TTFB is recorded apart (engine/recording.py)
            if len(u.head) < HEAD_KEEP:
                u.head += data  # a head may come in pieces (see close_delimited_status)
        u.nbytes += len(data)
        try:
            self.parser.feed_data(data)
        except HttpParserError as exc:
            if self.dead:
                return
            if u.served != served:  # after a whole response: bytes nobody asked for
                u.on_unsolicited(self)
            else:
                u.on_protocol_error(self, exc)

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost decides what it meant

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.dead:
            self.dead = True
            self.user.on_connection_lost(self, exc)


UNSOLICITED = (
    "the server sent more than its last response (past its Content-Length); the connection"
    " was closed with this request on it"
)


class Request(Protocol):
    """What the lifecycle needs of the request in flight: its row's statistics list,
    and how its answer streams (None: it does not)."""

    hist: list[int]
    stream: CompiledStream | None


class LifecycleUser(Protocol):
    """What :class:`Connection` needs of the class it is mixed into."""

    eng: UserHost
    conn: Conn | None
    conn_class: type[Conn]
    connecting: asyncio.Task | None
    req: Request | None
    data: bytes
    t0: int
    deadline: int
    nbytes: int
    head: bytes
    th: int
    served: int
    retried: bool
    backoff: float
    away: Target | None
    conn_to: Target | None
    tls: ssl.SSLContext | None
    timeout_ns: int

    def open_connection(self) -> None: ...

    def drop_connection(self, abort: bool = False) -> None: ...

    def abort_connection(self) -> None: ...

    def fail(self, kind: str, message: str, backoff: bool = False) -> None: ...

    def complete(self, status: int, t1: int) -> None: ...

    def next(self) -> None: ...

    def received_head(self) -> bytes: ...

    def stale_after_stop(self) -> None: ...

    def resend(self) -> None: ...

    def intercepted(self, status: int, alive: bool | None = None) -> bool: ...


class Connection:
    """The lifecycle of a user's one connection, and the state of the request in
    flight on it. A base class: the user provides ``eng`` and the hooks ``fail``,
    ``complete`` and ``next`` (:class:`LifecycleUser`)."""

    # The only base of a user with slots of its own (so mixins stay empty).
    __slots__ = (
        "conn",  # the connected connection, or None
        "connecting",  # the connect task while one runs
        "req",  # the request (its row) in flight, or the last one
        "data",  # its bytes, to send once connected (or again on a new connection)
        "t0",  # when it was started (perf_counter_ns)
        "deadline",  # non-zero while it is in flight: when it times out
        "nbytes",  # response bytes received for it
        "head",  # the start of its response (see close_delimited_status)
        "th",  # when its response's first byte came (perf_counter_ns; negated: in pieces)
        "served",  # responses on the current connection
        "retried",  # sent again once already (a stale keep-alive connection)
        "backoff",  # the pause before the next try after a failed connect
        "away",  # the origin of the request in flight, when not the scenario's
        "conn_to",  # the origin the connection is to (``away`` when it was opened)
        "tls",  # an SSL context of the user's own (a script's verify=/cert=), or None
        "timeout_ns",  # how long the request in flight may take once sent
    )

    conn_class: type[Conn] = Conn

    # ``u`` is ``self``, typed by what the mixin needs (mypy would otherwise take
    # these assignments as the mixin's own attribute definitions).

    # -- letting go ---------------------------------------------------------------
    def drop_connection(self, abort: bool = False) -> None:
        """Let go of the connection: closed politely, or aborted (no FIN wait) after a
        protocol error or a timeout."""
        u = cast("LifecycleUser", self)
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

    # -- opening ------------------------------------------------------------------
    def open_connection(self) -> None:
        """Connect, then send the request in flight (``data``); the connect has its own,
        shorter deadline."""
        u = cast("LifecycleUser", self)
        eng = u.eng
        u.deadline = min(u.deadline, perf_counter_ns() + eng.connect_timeout_ns)
        u.connecting = eng.loop.create_task(self._connect())

    async def _connect(self) -> None:
        u = cast("LifecycleUser", self)
        eng = u.eng
        conn = u.conn_class(u)  # type: ignore[arg-type]  # the user is the parser's callbacks
        if eng.streams or (u.req is not None and u.req.stream is not None):
            conn.read_streams()
        try:
            await eng.connect(conn, u.away, u.tls)
        except asyncio.CancelledError:
            # Given up (a timeout, or a stop before anything was sent). A connection
            # that was made just before is closed, not left to the garbage collector.
            conn.dead = True
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.close()
            return
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none is fatal
            u.connecting = None
            conn.dead = True
            kind, message = classify(exc)
            u.fail(kind, message, backoff=True)
            return
        u.connecting = None
        if u.deadline == 0:  # timed out meanwhile (and counted then)
            conn.dead = True
            conn.transport.close()
            return
        eng.connects += 1
        u.conn = conn
        u.conn_to = u.away
        u.served = 0
        u.backoff = 0.0
        u.deadline = u.t0 + u.timeout_ns
        conn.transport.write(u.data)
        if u.req is not None:
            u.req.hist[SENT_SLOT] += len(u.data)

    # -- losing it ------------------------------------------------------------------
    def on_connection_lost(self, conn: Conn, exc: Exception | None) -> None:
        u = cast("LifecycleUser", self)
        if conn is not u.conn:
            return
        u.conn = None
        if not u.deadline:
            return  # idle keep-alive connection closed by the server: reopen on next request
        if u.nbytes == 0 and u.served and not u.retried:
            # A stale keep-alive connection: nothing came back, so the request cannot
            # have been processed; send it once more on a new connection (after a
            # stop, it is simply not a request: nothing is counted).
            if u.eng.stopped:
                u.stale_after_stop()
            else:
                u.resend()
            return
        reader = conn.reader
        if u.nbytes and exc is None:
            status = close_delimited_status(u.received_head())
            if status:
                if u.intercepted(status, False):  # the session's (a redirect followed)
                    return
                if reader is not None and reader.active:  # a stream ends with its connection
                    reader.finish()
                u.complete(status, perf_counter_ns())
                u.next()
                return
            if reader is not None and reader.active:
                u.fail("stream", reader.cut("the connection closed"))
                return
            u.fail("protocol", "connection closed before the response was complete")
            return
        kind, message = classify(exc)
        if reader is not None and reader.active:
            u.fail("stream", reader.cut(f"{kind}: {message}"))
            return
        u.fail(kind, message)

    def stale_after_stop(self) -> None:
        """A stale connection found after the stop: the request is not one; the user goes."""
        u = cast("LifecycleUser", self)
        u.deadline = 0
        u.eng.retire(u)  # type: ignore[arg-type]  # every user kind is a host.User

    def resend(self) -> None:
        """Send the request in flight once more, on a new connection."""
        u = cast("LifecycleUser", self)
        u.retried = True
        u.open_connection()

    def received_head(self) -> bytes:
        """The start of the response received so far (a head may come in pieces)."""
        return cast("LifecycleUser", self).head

    def intercepted(self, status: int, alive: bool | None = None) -> bool:
        """Does the session take this response over (a redirect)? Not without one."""
        return False

    def on_protocol_error(self, conn: Conn, exc: Exception) -> None:
        u = cast("LifecycleUser", self)
        u.abort_connection()
        kind, message = classify(exc)
        reader = conn.reader
        if reader is not None and reader.active:  # a stream that broke mid-way
            why = exc.__context__ if isinstance(exc.__context__, StreamOverflow) else None
            u.fail("stream", reader.cut(str(why) if why else f"{kind}: {message}"))
            return
        u.fail(kind, message)

    def on_unsolicited(self, conn: Conn) -> None:
        """Bytes came that no request asked for (more than a response's Content-Length
        said, or data on an idle connection): the connection cannot be trusted, so it
        goes, as requests and urllib3 let it go; nothing is counted for the bytes. A
        request already sent on it fails (the server has it; its answer cannot be
        read): kind ``protocol``."""
        u = cast("LifecycleUser", self)
        if conn is not u.conn:
            return
        u.abort_connection()
        if u.deadline:
            u.fail("protocol", UNSOLICITED)

    # -- deadlines and the end --------------------------------------------------------
    def on_timeout(self) -> None:
        """Called by the engine's watchdog once the deadline has passed."""
        u = cast("LifecycleUser", self)
        task = u.connecting
        eng = u.eng
        if task is not None:
            u.connecting = None
            task.cancel()
            u.fail("timeout", f"connect timed out after {eng.connect_timeout_s:g}s", backoff=True)
        else:
            conn = u.conn
            reader = conn.reader if conn is not None else None
            u.abort_connection()
            if reader is not None and reader.active:  # a stream gone silent
                idle = f"no event for {reader.idle_ns / 1e9:g}s"
                u.fail("stream", reader.cut(idle))
                return
            u.fail("timeout", f"no complete response within {u.timeout_ns / 1e9:g}s")

    def cancel(self) -> None:
        """Stop now: no connection attempt, no connection (kinds stop their own timer
        or task first)."""
        u = cast("LifecycleUser", self)
        if u.connecting is not None:
            u.connecting.cancel()
            u.connecting = None
        u.drop_connection()


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
