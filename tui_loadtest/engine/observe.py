"""Seeing what goes over the wire: each request a user writes and the response it gets,
copied at its connection, for the dry run (``tui-loadtest check``) and ``--http-debug``.

An engine uses these classes only when asked to (``WorkerEngine(observer=...)``): the
user classes it runs are then subclasses of the usual ones whose connections copy
what they write and read (:class:`ObservedConn`), so the measured path of every
other run is untouched. The copy is the raw bytes (a request as sent, a response as
received, chunked or compressed as it came), cut at ``max_keep``; each connection
reads its copy with a parser of its own to know where a response ends.

Nothing here redacts: the dry run and the coordinator do, before anything is shown
or written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

from httptools import HttpParserError, HttpResponseParser

__all__ = ["Exchange", "HttpDebug", "ObservedConn", "Observer", "exchange_text", "observed_class"]

DEBUG_BODY = 2048  # --http-debug: bytes of each body written (=full: the whole body)


@dataclass(slots=True)
class Exchange:
    """One request and its response (or why it got none), as they went over the wire."""

    endpoint: str  # the row it is counted under
    request: bytes  # as written (a redirect's hop is an exchange of its own)
    response: bytes = b""  # as received (cut at max_keep: ``truncated``)
    status: int = 0  # 0: no response
    elapsed_ms: float = 0.0
    error: str = ""  # "kind: message" when no response came
    truncated: bool = False
    size: int = 0  # response bytes received in all
    flow: str = ""  # the flow (or task) in flight
    url: str = ""  # where it went: the origin and the path as sent
    step: Any = field(default=None, repr=False)  # the flow's CompiledStep, if any
    user: Any = field(default=None, repr=False)  # the user that sent it


class Observer:
    """Where observed connections report: ``on_exchange`` gets every complete exchange
    (and every request that got no response). ``label`` names the flow or task in
    flight when the user cannot say (a script's task, set by the dry run)."""

    def __init__(self, on_exchange: Callable[[Exchange], None], max_keep: int) -> None:
        self.on_exchange = on_exchange
        self.max_keep = max_keep
        self.label = ""
        self.enabled = True  # False: copy nothing more
        self.wants: Callable[[Any], bool] | None = None  # copy this user's request? (None: all)

    def start(self, user: Any, request: bytes) -> Exchange:
        req = getattr(user, "req", None)
        flow = getattr(user, "flow", None)
        line = request[: request.find(b"\r\n")].decode("latin-1")
        target = line.split(" ")[1] if line.count(" ") >= 2 else ""
        url = target
        origin = getattr(user, "origin", None)
        if origin is not None and target.startswith("/"):
            where = origin()
            url = f"{where.scheme}://{where.host_header}{target}"
        return Exchange(
            endpoint=getattr(req, "name", "") or "",
            request=request,
            flow=getattr(flow, "name", "") or self.label,
            url=url,
            step=getattr(user, "step", None),
            user=user,
        )

    def failed(self, user: Any, kind: str, message: str) -> None:
        """A request that got no response (the user's ``fail``)."""
        if not self.enabled or (self.wants is not None and not self.wants(user)):
            return
        conn = getattr(user, "conn", None)
        watch = getattr(conn, "watch", None)
        pending = watch.pending if watch is not None else None
        if watch is not None and pending is not None and pending.user is user:
            watch.pending = None
            ex = pending
        else:
            ex = self.start(user, getattr(user, "data", b""))
        ex.error = f"{kind}: {message}"
        t0 = getattr(user, "t0", 0)
        ex.elapsed_ms = (perf_counter_ns() - t0) / 1e6 if t0 else 0.0
        self.on_exchange(ex)


class _Watch:
    """One connection's copy of the exchange in flight, read by a parser of its own."""

    __slots__ = ("conn", "observer", "pending", "parser", "chunks", "kept", "t0", "head_only")

    def __init__(self, conn: ObservedConn, observer: Observer) -> None:
        self.conn = conn
        self.observer = observer
        self.pending: Exchange | None = None
        self.parser: HttpResponseParser | None = None
        self.chunks: list[bytes] = []
        self.kept = 0
        self.t0 = 0
        self.head_only = False

    def sent(self, data: bytes) -> None:
        obs = self.observer
        user = getattr(self.conn, "user", None)
        if not obs.enabled or (obs.wants is not None and not obs.wants(user)):
            self.pending = None
            return
        self.pending = obs.start(user, data)
        self.parser = HttpResponseParser(self)
        self.chunks = []
        self.kept = 0
        self.t0 = perf_counter_ns()
        self.head_only = data.startswith(b"HEAD ")

    def received(self, data: bytes) -> None:
        ex = self.pending
        if ex is None or self.parser is None:
            return
        ex.size += len(data)
        room = self.observer.max_keep - self.kept
        if room > 0:
            piece = data if len(data) <= room else data[:room]
            self.chunks.append(piece)
            self.kept += len(piece)
        if len(data) > room:
            ex.truncated = True
        try:
            self.parser.feed_data(data)
        except HttpParserError:
            self.done()

    def closed(self) -> None:
        """The connection ended: a close-delimited response ends with it."""
        if self.pending is not None and self.chunks:
            self.done()

    # the parser's callbacks
    def on_headers_complete(self) -> None:
        if self.head_only:
            self.done()

    def on_message_complete(self) -> None:
        parser = self.parser
        if parser is not None and parser.get_status_code() < 200:  # a 1xx: the real one follows
            self.chunks = []
            self.kept = 0
            self.parser = HttpResponseParser(self)
            return
        self.done()

    def done(self) -> None:
        ex = self.pending
        if ex is None:
            return
        self.pending = None
        raw = b"".join(self.chunks)
        ex.response = raw
        try:
            ex.status = int(raw[9:12]) if raw.startswith(b"HTTP/") else 0
        except ValueError:
            ex.status = 0
        ex.elapsed_ms = (perf_counter_ns() - self.t0) / 1e6
        self.parser = None
        self.chunks = []
        self.observer.on_exchange(ex)


class _Tap:
    """A transport that tells its connection's watch what is written, then writes it."""

    __slots__ = ("_transport", "_watch")

    def __init__(self, transport: asyncio.Transport, watch: _Watch) -> None:
        self._transport = transport
        self._watch = watch

    def write(self, data: bytes) -> None:
        self._watch.sent(data)
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class ObservedConn:
    """A mixin before a connection class: copies what it writes and reads."""

    __slots__ = ()

    watch: _Watch

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        conn: Any = self
        watch = conn.watch = _Watch(conn, conn.user.eng.observer)
        super().connection_made(_Tap(transport, watch))  # type: ignore[misc, arg-type]

    def data_received(self, data: bytes) -> None:
        self.watch.received(data)
        super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self.watch.closed()
        super().connection_lost(exc)  # type: ignore[misc]


_CLASSES: dict[type, type] = {}


def observed_class(cls: Any) -> type:
    """``cls`` (a user class) whose connections are observed and whose requests that
    get no response are told to the observer (its engine's ``observer``)."""
    found = _CLASSES.get(cls)
    if found is not None:
        return found
    conn_class = type(f"Observed{cls.conn_class.__name__}", (ObservedConn, cls.conn_class), {})

    def fail(self: Any, kind: str, message: str, backoff: bool = False) -> None:
        self.eng.observer.failed(self, kind, message)
        cls.fail(self, kind, message, backoff)

    found = type(f"Observed{cls.__name__}", (cls,), {"conn_class": conn_class, "fail": fail})
    _CLASSES[cls] = found
    return found


def exchange_text(ex: Exchange, full: bool, secrets: list[str]) -> str:
    """An exchange for the ``--http-debug`` log: the request and the response, heads
    whole, bodies cut at ``DEBUG_BODY`` unless ``full`` (compressed ones decoded when
    whole); sensitive headers' values and ``secrets`` (the user's secret captured
    values) replaced. The coordinator scrubs the scenario's own secrets after."""
    from ..scenario.redact import REDACTED, is_sensitive_header
    from .http.wire import body_of, decoded_response

    def head_lines(mark: str, head: bytes) -> list[str]:
        lines = head.decode("latin-1").split("\r\n")
        out = [f"{mark} {lines[0]}"]
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep and is_sensitive_header(name):
                value = " " + REDACTED
            out.append(f"{mark} {name}{sep}{value}")
        return out

    def body_lines(mark: str, body: bytes, note: str = "") -> list[str]:
        if not body:
            return []
        shown = body if full else body[:DEBUG_BODY]
        text = shown.decode("utf-8", "replace")
        tail = "" if len(shown) == len(body) else f" ({len(shown):,} of {len(body):,} bytes)"
        lines = [f"{mark} {line}" for line in text.splitlines()]
        return [mark, *lines, *([f"{mark} [body{tail}{note}]"] if tail or note else [])]

    where = f"{ex.flow} · {ex.endpoint}" if ex.flow and ex.flow != ex.endpoint else ex.endpoint
    lines = [f"--- {where} · {ex.elapsed_ms:.1f} ms · {ex.url}"]
    end = ex.request.find(b"\r\n\r\n")
    lines += head_lines(">", ex.request[: end if end >= 0 else len(ex.request)])
    lines += body_lines(">", ex.request[end + 4 :] if end >= 0 else b"")
    if ex.error:
        lines.append(f"< no response: {ex.error}")
    else:
        raw = ex.response
        rend = raw.find(b"\r\n\r\n")
        lines += head_lines("<", raw[: rend if rend >= 0 else len(raw)])
        body, note = body_of(raw), ""
        if not ex.truncated:
            try:
                decoded = decoded_response(raw, 64 * 1024 * 1024)
                if decoded is not None:
                    body, note = body_of(decoded), f", decoded from {len(body):,}"
            except ValueError as exc:
                note = f", not decoded: {exc}"
        elif raw.lower().find(b"\r\ncontent-encoding:") >= 0:
            note = ", compressed, not decoded: cut"
        if ex.truncated:
            note += f"; {ex.size:,} bytes received in all"
        lines += body_lines("<", body, note)
    text = "\n".join(lines)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


class HttpDebug:
    """``--http-debug`` in a worker: the first ``limit`` exchanges of each endpoint, as
    text (:func:`exchange_text`), for the coordinator to write to the run's HTTP log."""

    def __init__(
        self, full: bool, limit: int, max_keep: int, secrets_of: Callable[[Any], list[str]]
    ) -> None:
        self.full = full
        self.limit = limit
        self.counts: dict[str, int] = {}
        self.taken: list[Exchange] = []  # for the next delta
        self.secrets_of = secrets_of
        keep = max_keep if full else DEBUG_BODY + 16 * 1024  # a head, and a body's start
        self.observer = Observer(self.take, keep)
        self.observer.wants = self.wants

    def wants(self, user: Any) -> bool:
        req = getattr(user, "req", None)
        return self.counts.get(getattr(req, "name", ""), 0) < self.limit

    def take(self, ex: Exchange) -> None:
        n = self.counts.get(ex.endpoint, 0)
        if n >= self.limit:
            return
        self.counts[ex.endpoint] = n + 1
        self.taken.append(ex)

    def lines(self) -> list[tuple[str, str]]:
        """The exchanges copied since the last call, as (endpoint, text). Written out once a
        second: by then the user has stored what it captured from them, so a token its
        login returned is known, and kept out."""
        taken, self.taken = self.taken, []
        return [(x.endpoint, exchange_text(x, self.full, self.secrets_of(x.user))) for x in taken]
