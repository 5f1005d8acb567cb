"""What a virtual user keeps between requests, as a browser or ``requests.Session`` does:
its cookies, and the redirects it follows.

Every kind of user on the fast transport is a :class:`Session` (on top of its one
connection, :class:`~tui_loadtest.engine.users.connection.Connection`). The kinds'
response callbacks do two cheap tests per response and call in here only when one
fires:

- ``self.cookies_on and head.find(b"ookie:") >= 0`` (past 512 bytes, only up to the
  head's end): the head may hold a Set-Cookie header, so :meth:`take_cookies` reads it.
  ``find``, never ``b"..." in``: CPython's ``bytes.__contains__`` first tries its
  argument as an integer, and the TypeError it formats and clears cost more than the
  search; and ``find`` with bounds parses them, so a small response is searched whole
  (bench/instructions.py: 22,401 -> 21,630 instructions a plain request);
- ``self.redirects[status]``: a 301/302/303/307/308 when redirects are followed, so
  :meth:`follow` sends the next hop instead of completing the request.

Requests carry the user's cookies once it has any: :meth:`with_cookies` adds the
``Cookie`` header to the request bytes, cached per request bytes until the jar
changes (``CookieJar.version``) or a cookie expires.

A redirect chain is one request: its latency runs from the first send to the last
response, its row is the first request's, and its hops are counted apart
(``REDIRECTS_SLOT``). A hop to another origin gets a connection of its own; the
chain's last response closes it, and the user's next request opens one to its
target again.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from time import perf_counter_ns
from typing import TYPE_CHECKING, cast

from ..http.cookies import CookieJar
from ..http.wire import (
    NO_REDIRECTS,
    REDIRECTS,
    header_value,
    header_values,
    next_hop,
    resolve,
    with_cookie,
)
from ..http.wire import request_target as target_of
from ..recording import BYTES_SLOT, REDIRECTS_SLOT, SENT_SLOT
from .connection import Conn, Connection

if TYPE_CHECKING:
    from ..host import UserHost
    from ..plan import Target
    from .connection import LifecycleUser

# A user keeps at most this many requests built with its cookies (then starts again).
MAX_CACHED = 1024


class Session(Connection):
    """Cookies and redirects on top of the connection lifecycle. The base of every
    fast-transport user; its slots are the session's state."""

    __slots__ = (
        "keepalive",  # may the connection be kept? (off while a chain is at another origin)
        "cookies_on",  # a jar per user ([http] cookies)
        "jar",  # the user's cookies: None until the first Set-Cookie
        "with_jar",  # request bytes -> the same with the user's Cookie header
        "jar_version",  # the jar's version ``with_jar`` was built from
        "jar_until",  # time.time() when the first cookie in ``with_jar`` expires
        "redirects",  # REDIRECTS, or NO_REDIRECTS when they are not followed
        "hops",  # redirects followed in the current chain
        "chain_t0",  # the t0 of the request the chain belongs to
    )

    eng: UserHost

    def fail(self, kind: str, message: str, backoff: bool = False) -> None:
        """No response: each kind counts it its own way (UserCycle, scripts)."""
        raise NotImplementedError

    def start_session(self, eng: UserHost) -> None:
        """Every slot of the connection and the session, fresh (called by each kind's
        ``__init__``)."""
        self.conn: Conn | None = None
        self.connecting: asyncio.Task | None = None
        self.data = b""
        self.t0 = 0
        self.deadline = 0
        self.nbytes = 0
        self.head = b""
        self.th = 0
        self.served = 0
        self.retried = False
        self.backoff = 0.0
        self.away: Target | None = None
        self.conn_to: Target | None = None
        self.tls: ssl.SSLContext | None = None
        self.timeout_ns = eng.timeout_ns
        self.keepalive = eng.keepalive
        self.cookies_on = eng.cookies
        self.jar: CookieJar | None = None
        self.with_jar: dict[bytes, bytes] = {}
        self.jar_version = -1
        self.jar_until: float | None = None
        self.redirects = REDIRECTS if eng.max_redirects > 0 else NO_REDIRECTS
        self.hops = 0
        self.chain_t0 = -1

    # -- where the request in flight goes ------------------------------------------
    def origin(self) -> Target:
        """The origin of the request in flight (its chain's current hop)."""
        if self.away is not None and self.chain_t0 == self.t0:
            return self.away
        return self.eng.origin

    def open_connection(self) -> None:
        """A new request (not a hop of a chain) goes to the user's target again."""
        if self.chain_t0 != self.t0 and self.away is not None:
            self.away = None
            self.keepalive = self.eng.keepalive
        Connection.open_connection(self)

    # -- cookies ------------------------------------------------------------------
    def take_cookies(self) -> None:
        """Store the Set-Cookie headers of the response received (if the head really
        holds one: the callback's test may have matched its body)."""
        values = header_values(self.received_head(), b"set-cookie")
        if not values:
            return
        jar = self.jar
        if jar is None:
            jar = self.jar = CookieJar()
        _, path = target_of(self.data)
        jar.receive(values, self.origin().host, path.removeprefix(self.origin().prefix))

    def with_cookies(self, data: bytes) -> bytes:
        """``data`` with this user's cookies for it (the user has a jar)."""
        jar = cast(CookieJar, self.jar)
        cache = self.with_jar
        if jar.version != self.jar_version or (
            self.jar_until is not None and time.time() >= self.jar_until
        ):
            cache.clear()
            self.jar_version = jar.version
            self.jar_until = jar.expires_soonest()
        found = cache.get(data)
        if found is not None:
            return found
        origin = self.origin()
        _, path = target_of(data)
        value = jar.header(origin.host, path.removeprefix(origin.prefix), origin.tls)
        found = with_cookie(data, value) if value else data
        if len(cache) >= MAX_CACHED:
            cache.clear()
        cache[data] = found
        return found

    def intercepted(self, status: int, alive: bool | None = None) -> bool:
        """The callbacks' two tests, for the paths that are not the hottest: cookies
        taken, and True when a redirect was followed (the response is not the
        request's). ``alive``: whether the connection may carry the next hop, when the
        parser cannot say any more (a HEAD response's was replaced)."""
        if self.cookies_on and self.received_head().find(b"ookie:") >= 0:
            self.take_cookies()
        return bool(self.redirects[status]) and self.follow(status, alive)

    def next_response(self, status: int) -> None:
        """Forget what was kept of a response (a redirect, ``status``) before the next
        hop's (kinds that keep responses override it)."""

    # -- redirects ------------------------------------------------------------------
    def follow(self, status: int, alive: bool | None = None) -> bool:
        """A redirect came back: send the next hop and return True, or return False
        when the response stands as it is (no Location, or not an http(s) one). Past
        ``max_redirects`` the request fails with kind ``redirects``."""
        raw = self.received_head()
        location = header_value(raw, b"location")
        if location is None:
            return False
        if self.chain_t0 != self.t0:  # the first hop of this request
            self.chain_t0 = self.t0
            self.hops = 0
            self.away = None
        origin = self.origin()
        _, sent_path = target_of(self.data)
        found = resolve(origin, sent_path.removeprefix(origin.prefix), location)
        if found is None:
            return False
        eng = self.eng
        req = cast("LifecycleUser", self).req
        assert req is not None
        if self.hops >= eng.max_redirects:
            self.drop_connection()
            self.fail(
                "redirects",
                f"more than {eng.max_redirects} redirects (the last to {location[:200]})",
            )
            return True
        self.hops += 1
        h = req.hist
        h[REDIRECTS_SLOT] += 1
        h[BYTES_SLOT] += self.nbytes  # the hop's response, on the wire
        target, path = found
        if target != origin:
            target = eng.route(target)
        _, data = next_hop(self.data, status, origin, target, path)
        conn = self.conn
        if alive is None:
            alive = conn is not None and conn.parser.should_keep_alive()
        reuse = conn is not None and alive and self.keepalive and target == origin
        if target != origin:
            self.away = None if target == eng.origin else target
            self.keepalive = eng.keepalive if self.away is None else False
        if self.jar is not None:
            data = self.with_cookies(data)
        self.data = data
        self.nbytes = 0
        self.retried = False
        self.next_response(status)
        self.deadline = perf_counter_ns() + self.timeout_ns
        if reuse and conn is not None:
            conn.transport.write(data)
            h[SENT_SLOT] += len(data)
        else:
            self.drop_connection()
            self.open_connection()
        return True
