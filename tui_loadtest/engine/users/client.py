"""Users whose code asks for one request at a time and reads its response: Python
scripts and locustfiles. Their calls are ``requests``-style (``params=``, ``data=``,
``json=``, ``auth=``, ``timeout=``, ``allow_redirects=``, an absolute URL to any
host), their responses are kept whole (up to ``http.max_body``) and read lazily.

:class:`ClientUser` is what both kinds share: turning a call into request bytes on
the user's connection (to the call's origin, with its TLS options), the response or
the failure, the redirects followed with their history. How the caller waits is the
kind's: a script's task awaits a future, a locustfile's greenlet is switched back to.
Rows are created as requests name them (:class:`ClientRuntime`).
"""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from ...scenario.redact import is_sensitive_header
from ...script import Response
from ..http.arguments import Parts, RequestBuilder
from ..http.encoding import accept_encoding, decode
from ..http.wire import NO_REDIRECTS, REDIRECTS, body_of, request_target
from ..plan import Target
from ..recording import SENT_SLOT, record
from .connection import BACKOFF_FIRST, BACKOFF_MAX, Conn
from .flow import HEAD_ALLOWANCE
from .session import Session

if TYPE_CHECKING:
    from httptools import HttpResponseParser

    from ..host import ScriptHost, SlotPool
    from ..streams import CompiledStream

# A script naming requests after their full path can make endless rows; past this
# many names the rest share one row and the run says so once.
MAX_NAMES = 200
OTHER_NAMES = "(other names)"
OTHER_CHECKS = "(other checks)"


class ClientConn(Conn):
    """A connection that keeps every chunk of a response while a request waits for it
    (``user.keep``), up to ``max_keep``, for ``Response.content``."""

    __slots__ = ()

    user: ClientUser

    def data_received(self, data: bytes) -> None:
        """Keep the chunk, then read it as every connection does (``Conn``'s reading,
        called directly: one copy of it, so a fix there reaches these users too)."""
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


class ClientRow:
    """An endpoint row discovered at run time (a request's ``name=``)."""

    __slots__ = ("index", "method", "name", "hist", "svc", "is_head", "stream", "srec")

    def __init__(self, index: int, method: str, name: str) -> None:
        self.index = index
        self.method = method
        self.name = name
        self.hist: list[int] = []
        self.svc: list[int] = []
        self.is_head = method == "HEAD"
        self.stream: CompiledStream | None = None  # a script's streamed call: see StreamCall
        self.srec: list[int] = []


class StreamCall:
    """A row as one streamed call of a script sees it: the row's lists, and how the
    answer streams (rows are shared by the worker's users; a stream is one call's)."""

    __slots__ = ("index", "method", "name", "hist", "svc", "is_head", "stream", "srec")

    def __init__(self, row: ClientRow, stream: CompiledStream, srec: list[int]) -> None:
        self.index = row.index
        self.method = row.method
        self.name = row.name
        self.hist = row.hist
        self.svc = row.svc
        self.is_head = row.is_head
        self.stream = stream
        self.srec = srec


class ClientRuntime:
    """What a worker's client users share: rows by name, the request builder, what
    goes out with the next delta (new rows, notes, log lines), and secrets to redact."""

    def __init__(self, eng: ScriptHost) -> None:
        self.eng = eng
        http = eng.scenario.http
        self.rows: dict[tuple[str, str], ClientRow] = {}
        self.new_rows: list[tuple[str, str]] = []  # announced in the next delta
        # user.check() names, by (endpoint, name): rows of the worker's check counts
        self.check_rows: dict[tuple[str, str], int] = {}
        self.new_checks: list[tuple[str, str, bool]] = []  # announced in the next delta
        self.check_keys: list[tuple[str, str, bool]] = []  # every one, by row
        self.logs: list[str] = []  # tracebacks for the run's log file (next delta)
        self.notes: list[str] = []
        self.noted: set[str] = set()  # notes said once per worker
        self.max_keep = http.max_body + HEAD_ALLOWANCE
        self.builder = RequestBuilder(
            list(http.headers), http.keepalive, accept_encoding(http.compression)
        )
        self.secrets = [v for n, v in http.headers if is_sensitive_header(n) and len(v) >= 4]
        limit = http.max_body

        def decoder(body: bytes, codings: list[str]) -> bytes:
            return decode(body, codings, limit)

        self.decoder = decoder
        self._routes: dict[Target, Target] = {}
        # requests built during this turn of the loop, written together at its end
        self.unsent: list[tuple[ClientUser, Conn, bytes]] = []

    # What a locustfile's runtime does more (engine/users/locust.py).
    quit_asked = False  # environment.runner.quit() was called
    lingering: frozenset[Any] | set[Any] = frozenset()  # users ending on their own, after the stop
    flows: list[Any] = []  # the flow table's rows (a script's tasks...), set by the kind

    def users_by_class(self) -> dict[str, int] | None:
        """A locustfile's users now, by class (None for other kinds)."""
        return None

    def process_exit_code(self) -> int | None:
        """The exit code the user's code asked for (environment.process_exit_code)."""
        return None

    def user(self, eng: ScriptHost) -> ClientUser:
        """A closed-model user of this kind (the engine's ``user_class``)."""
        raise NotImplementedError

    def slot(self, eng: ScriptHost, pool: SlotPool) -> ClientUser:
        """An open-model slot of this kind (the engine's ``slot_class``)."""
        raise NotImplementedError

    def started(self) -> None:
        """The load starts (a locustfile's test_start)."""

    def restrict(self, classes: tuple[str, ...]) -> None:
        """New users are of these classes from now on (a locustfile's load shape)."""

    def wind_down(self, user: Any) -> bool:
        """The run stops: True when ``user`` ends on its own (a locustfile user runs its
        on_stop, and those requests go out); False to retire it now, or, with a request
        in flight, once that request has finished."""
        return False

    def stopped(self) -> None:
        """The load has ended and the users are gone (test_stop, quitting)."""

    def send_soon(self, user: ClientUser, conn: Conn, data: bytes) -> None:
        """Write ``data`` once this turn of the loop is over, with the other requests
        its callbacks built. The users' code runs between its requests (a task, a
        greenlet); written one by one, each write found the server asleep again and
        paid for waking it (measured: 10-15 µs a write at 10,000 req/s, against 4 µs
        written together). Each request's clock starts at its write."""
        if not self.unsent:
            self.eng.loop.call_soon(self.flush)
        self.unsent.append((user, conn, data))
        user.unsent = True

    def flush(self) -> None:
        unsent, self.unsent = self.unsent, []
        now = perf_counter_ns()
        for user, conn, data in unsent:
            user.unsent = False
            if not user.deadline:
                continue  # cancelled or timed out meanwhile: nothing to send
            if user.conn is not conn or conn.dead:
                if user.conn is None and user.connecting is None:
                    user.open_connection()  # its connection went before the write
                continue
            if user.chain_t0 == user.t0:
                user.chain_t0 = now
            user.deadline += now - user.t0
            user.t0 = now
            conn.transport.write(data)
            row = user.req
            if row is not None:
                row.hist[SENT_SLOT] += len(data)

    def route(self, target: Target) -> Target:
        """A URL's origin as this run reaches it (through the proxy, if any)."""
        found = self._routes.get(target)
        if found is None:
            found = self._routes[target] = self.eng.route(target)
        return found

    def row(self, method: str, name: str) -> ClientRow:
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
                f"more than {MAX_NAMES} request names; the rest are counted under "
                f'"{OTHER_NAMES}" (give requests a name=, like name="GET /api/queries/{{id}}")'
            )
        row = ClientRow(self.eng.n, *key)
        self.rows[key] = row
        self.new_rows.append(key)
        self.eng.add_row(row)
        return row

    def check_row(self, endpoint: str, name: str, soft: bool) -> int:
        """The row of the worker's check counts for ``name`` after ``endpoint`` (made and
        announced the first time; past ``MAX_NAMES`` names the rest share one)."""
        key = (endpoint, name)
        row = self.check_rows.get(key)
        if row is not None:
            return row
        if len(self.check_rows) >= MAX_NAMES:
            key = ("", OTHER_CHECKS)
            row = self.check_rows.get(key)
            if row is not None:
                return row
            self.notes.append(
                f"more than {MAX_NAMES} check names; the rest are counted under "
                f'"{OTHER_CHECKS}" (name checks after what they check, not after a value)'
            )
        row = self.check_rows[key] = len(self.check_rows)
        self.new_checks.append((*key, soft))
        self.check_keys.append((*key, soft))
        self.eng.buf.grow_checks()
        return row

    def note_once(self, key: str, text: str) -> None:
        """A note for the run's events, once per worker."""
        if key not in self.noted:
            self.noted.add(key)
            self.notes.append(text)

    def redact(self, secrets: list[str], text: str) -> str:
        """Text with a user's secrets (data values, cookies) and sensitive headers replaced."""
        for value in (*secrets, *self.secrets):
            if value in text:
                text = text.replace(value, "<redacted>")
        return text


# The options a call may give that Options reads (a call with none of them shares one).
TRANSPORT_OPTIONS = frozenset(("timeout", "allow_redirects", "verify", "cert", "proxies", "hooks"))


_UNSET: Any = object()


class Options:
    """A call's options the transport reads (``timeout=``, ``verify=``, ``cert=``,
    ``allow_redirects=``), checked."""

    __slots__ = ("timeout_ns", "connect_ns", "allow_redirects", "verify", "cert", "tls")

    def __init__(self, options: Mapping[str, Any], eng: ScriptHost) -> None:
        self.tls: Any = _UNSET  # the SSL context verify= and cert= ask for, once known
        timeout = options.get("timeout")
        self.timeout_ns = eng.timeout_ns
        self.connect_ns = eng.connect_timeout_ns
        if timeout is not None:
            read = timeout
            if isinstance(timeout, tuple | list):
                if len(timeout) != 2:
                    raise TypeError(
                        f"timeout: expected seconds or (connect, read), got {timeout!r}"
                    )
                connect, read = timeout
                if connect is not None:
                    self.connect_ns = _seconds_ns(connect, "timeout")
            if read is not None:
                self.timeout_ns = _seconds_ns(read, "timeout")
        allow = options.get("allow_redirects", True)
        if not isinstance(allow, bool):
            raise TypeError(f"allow_redirects: expected True or False, got {allow!r}")
        self.allow_redirects = allow
        verify = options.get("verify")
        if verify is not None and not isinstance(verify, bool | str):
            raise TypeError(f"verify: expected True, False or a CA bundle's path, got {verify!r}")
        self.verify = verify
        cert = options.get("cert")
        if cert is not None and not (
            isinstance(cert, str)
            or (
                isinstance(cert, tuple | list)
                and len(cert) == 2
                and all(isinstance(c, str) for c in cert)
            )
        ):
            raise TypeError(f"cert: expected a file's path or (cert, key), got {cert!r}")
        self.cert = tuple(cert) if isinstance(cert, list) else cert
        for unsupported in ("proxies", "hooks"):
            if options.get(unsupported):
                raise TypeError(
                    f"{unsupported}= is not supported by tui-loadtest's client"
                    + (" (set [http] proxy)" if unsupported == "proxies" else "")
                )


def _seconds_ns(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise TypeError(f"{what}: expected a positive number of seconds, got {value!r}")
    return int(value * 1e9)


class ClientUser(Session):
    """A user whose requests come from its code, one at a time, with responses kept.
    The kind says how the code waits: :meth:`deliver` and :meth:`deliver_failure`."""

    __slots__ = (
        "rt",
        "keep",
        "over",
        "max_keep",
        "history",
        "sent_at",
        "resp_failed",
        "it_failed",
        "intended",
        "secrets",
        "sent_url",
        "unsent",
    )

    conn_class = ClientConn
    eng: ScriptHost

    def start_client(self, eng: ScriptHost, rt: ClientRuntime) -> None:
        self.start_session(eng)
        self.rt = rt
        self.req: ClientRow | StreamCall | None = None
        self.keep: list[bytes] | None = None
        self.over = False
        self.max_keep = rt.max_keep
        self.history: list[Response] = []
        self.sent_at = 0.0
        self.resp_failed = False
        self.it_failed = False
        self.intended = 0  # open model: the arrival's due time
        self.secrets: list[str] = []  # values kept out of messages (a data row's)
        self.sent_url: str | None = None  # the URL of the request in flight, as first sent
        self.unsent = False  # its bytes wait for the end of the loop's turn (send_soon)

    def all_secrets(self) -> list[str]:
        """What a message must not show: the data row's values and the cookies' values."""
        jar = self.jar
        if not jar:
            return self.secrets
        return self.secrets + [v for v in jar.values() if len(v) >= 4]

    # -- what the kind provides ------------------------------------------------------
    def deliver(self, response: Response) -> None:
        """The response to the request in flight is complete."""
        raise NotImplementedError

    def deliver_failure(self, kind: str, message: str) -> None:
        """The request in flight got no response (counted already)."""
        raise NotImplementedError

    # -- one request ----------------------------------------------------------------
    def send_parts(
        self,
        parts: Parts,
        name: str | None,
        options: Options,
        headers: Mapping[str, str] | None,
        stream: CompiledStream | None = None,
    ) -> None:
        """Send the request ``parts`` describe on this user's connection (to its origin;
        a new connection when the last one went elsewhere). ``stream``: read the answer
        as it streams (a script's ``user.stream``): nothing of its body is kept."""
        eng = self.eng
        rt = self.rt
        target = eng.origin if parts.target is None else rt.route(parts.target)
        away = None if target is eng.origin or target == eng.origin else target
        data = rt.builder.build(parts, target, headers)
        prefix = target.prefix
        self.sent_url = (
            f"{prefix}{parts.path}"
            if prefix
            else f"{target.scheme}://{target.host_header}{parts.path}"
        )
        found = rt.row(parts.method, name or f"{parts.method} {parts.path.partition('?')[0]}")
        row: ClientRow | StreamCall = found
        if stream is not None:
            row = StreamCall(found, stream, eng.buf.stream_list(found.index))
        self.req = row
        t0 = perf_counter_ns()
        self.t0 = t0
        self.chain_t0 = t0  # the request's origin is set here, not by open_connection
        self.away = away
        self.hops = 0
        self.keepalive = eng.keepalive
        self.redirects = (
            REDIRECTS if options.allow_redirects and eng.max_redirects else NO_REDIRECTS
        )
        if self.jar is not None:
            data = self.with_cookies(data)
        self.data = data
        self.keep = [] if stream is None else None
        self.over = False
        self.nbytes = 0
        self.retried = False
        self.history = []
        self.resp_failed = False
        self.timeout_ns = options.timeout_ns
        tls = options.tls
        if tls is _UNSET:
            tls = None
            if options.verify is not None or options.cert is not None:
                verify = True if options.verify is None else options.verify
                tls = eng.tls_context(verify, options.cert)
            options.tls = tls
        self.deadline = t0 + options.timeout_ns
        conn = self.conn
        if conn is not None and (self.conn_to != away or self.tls is not tls):
            self.drop_connection()
            conn = None
        self.tls = tls
        if conn is None:
            self.deadline = min(self.deadline, t0 + options.connect_ns)
            self.open_connection_now()
        else:
            if stream is not None:
                conn.read_streams()  # its parser calls a StreamReader from now on
            rt.send_soon(self, conn, data)

    def on_unsolicited(self, conn: Conn) -> None:
        """As for every user, but a request not written yet is not lost: it goes on a
        new connection when the loop's turn ends."""
        if conn is self.conn and self.unsent:
            self.abort_connection()
            return
        super().on_unsolicited(conn)

    def open_connection_now(self) -> None:
        """Connect for the request just set up (its origin chosen already)."""
        eng = self.eng
        self.connecting = eng.loop.create_task(self._connect())

    # -- parser callbacks ------------------------------------------------------------
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
        keep = self.keepalive and p.should_keep_alive()
        conn.parser = conn.new_parser()
        if self.intercepted(status, keep):
            return
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
        if self.intercepted(status):  # cookies taken; True: a redirect was followed
            return
        self.complete(status, t1)
        if not (self.keepalive and p.should_keep_alive()):
            self.drop_connection()

    def complete(self, status: int, t1: int) -> None:
        row = self.req
        assert row is not None
        eng = self.eng
        if t1 >= eng.tick_ns:  # the first response of a new second: close the last one
            eng.roll(t1)
        origin = self.intended or self.t0
        v = (t1 - origin) // 1000
        record(row.hist, v, self.nbytes, status)
        if self.th < 0:  # in pieces: its TTFB is its own (in one read: its latency)
            eng.buf.ttfb_move(row.index, (-self.th - origin) // 1000, v)
        if eng.open_model:
            record(row.svc, (t1 - self.t0) // 1000, 0)
        self.intended = 0
        self.deadline = 0
        self.served += 1
        self.backoff = 0.0
        self.resp_failed = False
        if status >= 400:
            eng.buf.http_failure(row.index, status)
            self.resp_failed = True
            self.it_failed = True
        response = self.response_kept(status, t1)
        self.keep = None
        self.deliver(response)

    def response_kept(self, status: int, t1: int, cls: type[Response] = Response) -> Response:
        """The response received, from the chunks kept (as a ``cls``; a stream's: its
        head only)."""
        keep = self.keep
        if keep is None and isinstance(self.req, StreamCall):
            end = self.head.find(b"\r\n\r\n")
            keep = [self.head[: end + 4] if end >= 0 else self.head]
        raw = (keep[0] if len(keep) == 1 else b"".join(keep)) if keep else b""
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            head, body = raw, b""
        elif self.over or raw.find(b"chunked", 0, end) < 0:
            head, body = raw[:end], raw[end + 4 :]
        else:
            head, body = raw[:end], body_of(raw)  # de-chunked
        return cls(
            status,
            head,
            body,
            self.over,
            url=self.url_of(),
            history=self.history,
            elapsed_us=(t1 - self.t0) // 1000,
            decoder=self.rt.decoder,
        )

    def next(self) -> None:
        """After a response completed by the connection (close-delimited): nothing, the
        waiting code goes on by itself."""

    def url_of(self) -> str:
        """The URL of the request in flight (its chain's current hop)."""
        if self.hops == 0 and self.sent_url is not None:
            return self.sent_url
        origin = self.origin()
        _, path = request_target(self.data)
        if origin.prefix:
            return path
        return f"{origin.scheme}://{origin.host_header}{path}"

    def next_response(self, status: int) -> None:
        """Before a redirect's next hop: the hop's response joins the history."""
        self.history.append(self.response_kept(status, perf_counter_ns()))
        self.keep = None if isinstance(self.req, StreamCall) else []
        self.over = False

    def fail(self, kind: str, message: str, backoff: bool = False) -> None:
        """No response: count it, and tell the waiting code."""
        self.deadline = 0
        self.keep = None
        row = self.req
        if row is not None:
            self.eng.buf.other_failure(row.index, kind, self.rt.redact(self.all_secrets(), message))
        if backoff:
            self.backoff = min(BACKOFF_MAX, (self.backoff * 2) or BACKOFF_FIRST)
        self.it_failed = True
        self.deliver_failure(kind, message)

    def fail_response(self, reason: str) -> None:
        """The code judged the last response failed (kind ``check``): counted once, even
        when its status had failed it already."""
        row = self.req
        if row is None:
            raise RuntimeError("fail() before any request")
        self.it_failed = True
        if self.resp_failed:
            return
        self.resp_failed = True
        self.eng.buf.response_failure(
            row.index, "check", self.rt.redact(self.all_secrets(), reason)
        )

    def check(self, name: str, passed: bool, soft: bool) -> None:
        """A script's ``user.check``: counted under the last request's row and ``name``;
        a failed hard check fails that response (kind ``check``, ``name`` as message,
        counted once, as ``fail_response``) and the iteration."""
        row = self.req
        rt = self.rt
        counts = self.eng.buf.checks
        slot = 2 * rt.check_row(row.name if row is not None else "", name, soft)
        if passed:
            counts[slot] += 1
            return
        counts[slot + 1] += 1
        if soft:
            return
        self.it_failed = True
        if row is None or self.resp_failed:
            return
        self.resp_failed = True
        self.eng.buf.response_failure(row.index, "check", rt.redact(self.all_secrets(), name))

    @property
    def cookies(self) -> Any:
        """The user's cookie jar (made on first use)."""
        from ..http.cookies import CookieJar

        if self.jar is None:
            self.jar = CookieJar()
        return JarView(self)


class JarView:
    """``user.cookies``: the jar with the user's target as the default domain."""

    __slots__ = ("_user",)

    def __init__(self, user: ClientUser) -> None:
        self._user = user

    @property
    def _jar(self) -> Any:
        return self._user.jar

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._jar.get(name, default)

    def __getitem__(self, name: str) -> str:
        value = self._jar.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._jar.get(name) is not None

    def __iter__(self) -> Any:
        return iter(self._jar.as_dict())

    def __len__(self) -> int:
        return len(self._jar)

    def set(self, name: str, value: str, domain: str | None = None, path: str = "/") -> None:
        self._jar.set(name, value, domain or self._user.eng.origin.host, path)

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def delete(self, name: str) -> None:
        self._jar.delete(name)

    def __delitem__(self, name: str) -> None:
        self._jar.delete(name)

    def clear(self) -> None:
        self._jar.clear()

    def as_dict(self) -> dict[str, str]:
        return self._jar.as_dict()

    def get_dict(self) -> dict[str, str]:  # requests' name for it
        return self._jar.as_dict()

    def items(self) -> Any:
        return self._jar.as_dict().items()

    def keys(self) -> Any:
        return self._jar.as_dict().keys()

    def values(self) -> Any:
        return self._jar.as_dict().values()

    def __repr__(self) -> str:
        return f"<cookies {self._jar.as_dict()!r}>"
