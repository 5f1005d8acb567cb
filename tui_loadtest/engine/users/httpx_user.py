"""The httpx transport: for what the fast client does not do (HTTP/2, redirects,
proxies from the environment), at a fraction of its speed.

Each user owns one ``httpx.AsyncClient`` (a shared client's pool bookkeeping
grows with the number of connections, docs/architecture.md "Measurements") and runs one task
per request. Statistics are recorded exactly as the fast users record them.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from random import random
from time import perf_counter_ns
from typing import TYPE_CHECKING

import httpx

from ..failures import classify
from ..recording import SENT_SLOT, record
from .cycle import UserCycle

if TYPE_CHECKING:
    from ..host import SlotPool, UserHost
    from ..plan import CompiledRequest


def make_client(eng: UserHost) -> httpx.AsyncClient:
    http = eng.scenario.http
    keep = 1 if http.keepalive else 0
    return httpx.AsyncClient(
        base_url=eng.host,
        http2=http.http2,
        verify=http.verify_tls,
        follow_redirects=http.follow_redirects,
        max_redirects=max(1, http.max_redirects),
        timeout=httpx.Timeout(http.timeout_s, connect=http.connect_timeout_s),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=keep),
        headers={"User-Agent": eng.user_agent},
    )


def classify_httpx(exc: BaseException) -> tuple[str, str]:
    """Map httpx's exceptions onto the engine's failure kinds."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "timeout", "connect timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", "no complete response in time"
    if isinstance(exc, httpx.ConnectError):
        cause = _root_cause(exc)
        if cause is not None:
            return classify(cause)
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return "tls", text
        if "refused" in text.lower():
            return "refused", "connection refused"
        if "name" in text.lower() and "resol" in text.lower():
            return "dns", text
        return "other", text or "connect error"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "reset", str(exc) or "connection reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "disconnect" in str(exc).lower():
            return "reset", str(exc)
        return "protocol", str(exc)
    if isinstance(exc, httpx.TooManyRedirects):
        return "protocol", str(exc)
    if isinstance(exc, httpx.HTTPError):
        return "other", f"{type(exc).__name__}: {exc}"
    return classify(exc)


def _root_cause(exc: BaseException) -> BaseException | None:
    """The innermost OSError (with an errno) or SSL error behind a wrapped connect error."""
    found = None
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, ssl.SSLError | socket.gaierror) or (
            isinstance(current, OSError) and current.errno
        ):
            found = current
        current = current.__cause__ or current.__context__
        seen += 1
    return found


class HttpxUser(UserCycle):
    """A closed-model user on httpx: pick, send, record, think, repeat."""

    __slots__ = (
        "eng",
        "client",
        "table",
        "tsize",
        "think",
        "req",
        "t0",
        "deadline",
        "task",
        "timer",
        "connecting",
        "backoff",
        "intended",
        "__weakref__",
    )

    def __init__(self, eng: UserHost) -> None:
        self.eng = eng
        self.client: httpx.AsyncClient | None = make_client(eng)
        self.table = eng.req_table
        self.tsize = len(eng.req_table)
        self.think = eng.think
        self.req = eng.req_table[0]  # replaced by each request's own
        self.t0 = 0
        self.deadline = 0
        self.task: asyncio.Task | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.connecting = None  # the engine asks; httpx connects inside the request
        self.backoff = 0.0
        self.intended = 0

    def start_request(self) -> None:
        self.timer = None
        eng = self.eng
        if eng.gate and not eng.admit(self):
            return
        self._send(0)

    def _send(self, intended: int) -> None:
        eng = self.eng
        r = self.table[int(random() * self.tsize)]
        self.req = r
        self.intended = intended
        self.t0 = perf_counter_ns()
        # a backstop only: httpx enforces its own connect and read timeouts
        self.deadline = self.t0 + eng.timeout_ns + eng.connect_timeout_ns + 1_000_000_000
        self.task = eng.loop.create_task(self._exchange(r))

    async def _exchange(self, r: CompiledRequest) -> None:
        path, body = r.pick_parts()
        client = self.client
        if client is None:  # cancelled before the task ran
            return
        try:
            async with client.stream(r.method, path, content=body, headers=r.headers) as resp:
                th = perf_counter_ns()  # the head is in: the time to first byte
                sent = wire_size(resp.request)
                nbytes = sum(len(k) + len(v) + 4 for k, v in resp.headers.raw) + 17
                async for chunk in resp.aiter_raw():
                    nbytes += len(chunk)
                status = resp.status_code
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none is fatal
            self.task = None
            kind, message = classify_httpx(exc)
            self.fail(kind, message, backoff=kind in ("refused", "dns", "tls"))
            return
        self.task = None
        r.hist[SENT_SLOT] += sent
        self.complete(status, perf_counter_ns(), nbytes, th)
        self.backoff = 0.0
        self.next()

    def complete(self, status: int, t1: int, nbytes: int, th: int) -> None:
        r = self.req
        eng = self.eng
        if t1 >= eng.tick_ns:
            eng.roll(t1)
        origin = self.intended or self.t0
        v = (t1 - origin) // 1000
        record(r.hist, v, nbytes, status)
        eng.buf.ttfb_move(r.index, (th - origin) // 1000, v)
        if self.intended:  # open model: the service time too
            record(r.svc, (t1 - self.t0) // 1000, 0)
        self.deadline = 0
        if not r.ok[status]:
            eng.buf.http_failure(r.index, status)

    def on_timeout(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
        self.fail("timeout", f"no complete response within {self.eng.timeout_s:g}s")

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is not None:
            self.task.cancel()
            self.task = None
        client, self.client = self.client, None
        if client is not None:
            task = self.eng.loop.create_task(client.aclose())
            self.eng.closing.add(task)
            task.add_done_callback(self.eng.closing.discard)


class HttpxSlot(HttpxUser):
    """Open model on httpx: one scheduled request at a time, then back to the pool."""

    __slots__ = ("pool",)

    def __init__(self, eng: UserHost, pool: SlotPool) -> None:
        super().__init__(eng)
        self.pool = pool

    def dispatch(self, intended_ns: int) -> None:
        self._send(intended_ns)

    def next(self) -> None:
        self.pool.slot_free(self)

    def start_request(self) -> None:
        self.timer = None
        self.pool.slot_free(self)


def wire_size(request: httpx.Request) -> int:
    """The request's size as HTTP/1.1 sends it (request line, headers, body): the
    same measure as the received bytes counted from the response's headers and body."""
    line = len(request.method) + len(request.url.raw_path) + 12  # "M P HTTP/1.1\r\n"
    headers = sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2
    body = int(request.headers.get("content-length") or 0)
    return line + headers + body
