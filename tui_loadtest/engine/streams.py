"""Streamed answers read as they arrive: server-sent events, chunks, NDJSON lines.

A request with ``stream = ...`` (or a script's ``user.stream(...)``) is read by a
:class:`StreamReader`: a connection that may carry streams gives its parser the reader
instead of the user (``Conn.read_streams``). The reader passes every callback on to
the user and, while it reads a streamed answer (a 2xx to a streamed request), parses
each piece of body as it arrives, incrementally, keeping only an event not yet
complete, and records per event:

- the **time to first event** (from the request's start, corrected in the open model,
  as the latency), with ``tokens``: to the first event that carries a token;
- the **time between events** (the next event's arrival less the last one's), each a
  sample of its own histogram; with ``tokens``: between events that carry tokens;
- the events, the tokens, and at the stream's end the time from its first to its last
  event with the tokens that came after the first (the stream's output speed).

Every event that came in one read of the socket arrived at the same time: one clock
reading per piece of body. ``data: [DONE]`` (OpenAI's end marker) ends an SSE stream
and is not an event. A stream that stops before its end (the connection closed, or no
event for ``idle_timeout``) is a failure of kind ``stream``; its events are counted.

The SSE parser follows the WHATWG "event stream interpretation": lines end with CRLF,
LF or CR (a CRLF split across reads included); a blank line dispatches the event; a
line starting with ``:`` is a comment; ``data`` lines join with LF; an event without
``data`` is not dispatched, nor is an incomplete one at the end; ``event``, ``id``,
``retry`` and unknown fields are read and left aside (every event type counts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from ..scenario.model import CaptureSpec
from .recording import (
    BUCKET_LUT,
    EVENTS_SLOT,
    GAP_BASE,
    GAP_SUM,
    GEN_TOKENS_SLOT,
    GEN_US_SLOT,
    LUT_SIZE,
    STREAMS_SLOT,
    TOKENS_SLOT,
    TTFT_SUM,
    bucket,
)

if TYPE_CHECKING:
    from .users.connection import Conn

__all__ = [
    "DONE",
    "ChunkParser",
    "CompiledStream",
    "LineParser",
    "SseParser",
    "StreamOverflow",
    "StreamReader",
    "compile_stream",
    "token_counter",
]

DONE = b"[DONE]"
_BOM = b"\xef\xbb\xbf"


class SseParser:
    """Server-sent events, incrementally: :meth:`feed` takes any piece of the body and
    returns the data of each event it completed. ``buf`` holds the event not yet ended
    (normalised to LF), and nothing else of the body is kept."""

    __slots__ = ("buf", "skip_lf", "fresh")

    def __init__(self) -> None:
        self.buf = b""
        self.skip_lf = False  # the last piece ended with CR: an LF first belongs to it
        self.fresh = True

    def feed(self, chunk: bytes) -> list[bytes]:
        if self.fresh:  # a byte order mark may start the stream (in pieces, too)
            chunk = self.buf + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self.buf = chunk
                return []
            self.fresh = False
            self.buf = b""
            if chunk[:3] == _BOM:
                chunk = chunk[3:]
        if self.skip_lf:
            self.skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self.skip_lf = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self.buf:
            chunk = self.buf + chunk
        blocks = chunk.split(b"\n\n")  # each but the last ends with a blank line
        self.buf = blocks.pop()
        out: list[bytes] = []
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                out.append(block[6:])  # the common event: one data line
            elif block:
                _lines(block, out)
        return out

    def end(self) -> list[bytes]:
        """The body ended: an event without its blank line is not dispatched (the spec)."""
        self.buf = b""
        return []


def _lines(block: bytes, out: list[bytes]) -> None:
    """The events of a block of lines (each blank line dispatches, and its end)."""
    data: list[bytes] | None = None
    for line in block.split(b"\n"):
        if not line:
            if data is not None:
                out.append(b"\n".join(data))
                data = None
            continue
        if line[0] == 58:  # ":": a comment (a keep-alive ping)
            continue
        name, colon, value = line.partition(b":")
        if name == b"data":
            if value[:1] == b" ":
                value = value[1:]
            if data is None:
                data = [value]
            else:
                data.append(value)
    if data is not None:
        out.append(b"\n".join(data))


class LineParser:
    """Newline-delimited records (NDJSON): each non-blank line is an event (CRLF or LF);
    a last line without its newline counts at the body's end."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        if self.buf:
            chunk = self.buf + chunk
        lines = chunk.split(b"\n")
        self.buf = lines.pop()
        return [line.rstrip(b"\r") for line in lines if line.strip()]

    def end(self) -> list[bytes]:
        tail, self.buf = self.buf.rstrip(b"\r"), b""
        return [tail] if tail.strip() else []


class ChunkParser:
    """Every piece of body as it arrives is an event: a chunk of a chunked body, or what
    one read of the socket brought (a chunk split across reads counts twice)."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        return [chunk] if chunk else []

    def end(self) -> list[bytes]:
        return []


PARSERS: dict[str, type[SseParser | LineParser | ChunkParser]] = {
    "sse": SseParser,
    "lines": LineParser,
    "chunks": ChunkParser,
}


def token_counter(spec: CaptureSpec) -> Callable[[bytes], int]:
    """Tokens in one event's data: ``json:PATH``, the value there (a string counts one
    token when not empty, a whole number as itself, a list its length; absent: none);
    ``regex:PATTERN``, its matches in the event's text."""
    if spec.source == "regex":
        findall = re.compile(spec.pattern).findall

        def matches(data: bytes) -> int:
            return len(findall(data.decode("utf-8", "replace")))

        return matches
    from .captures import json_getter  # here: captures -> http.wire -> plan -> this module

    get = json_getter(spec.path)

    def count(data: bytes) -> int:
        v = get(data)
        kind = type(v)
        if kind is str:
            return 1 if v else 0
        if kind is int:
            return v if v > 0 else 0
        if kind is list:
            return len(v)
        return 0

    return count


@dataclass(frozen=True, slots=True)
class CompiledStream:
    """How a streamed request's answer is read, compiled once per worker."""

    mode: str  # "sse", "chunks" or "lines"
    count: Callable[[bytes], int] | None  # tokens per event (None: no tokens counted)
    idle_ns: int  # the longest wait for the next event (0: the request's timeout)
    max_event: int  # an event not ended past this many bytes fails the stream

    def parser(self) -> SseParser | LineParser | ChunkParser:
        return PARSERS[self.mode]()


def compile_stream(
    mode: str, tokens: CaptureSpec | None, idle_timeout_s: float | None, max_event: int
) -> CompiledStream:
    return CompiledStream(
        mode=mode,
        count=token_counter(tokens) if tokens is not None else None,
        idle_ns=int(idle_timeout_s * 1e9) if idle_timeout_s else 0,
        max_event=max_event,
    )


class StreamReader:
    """The parser's callbacks on a connection that may carry streams: the user's own,
    and ``on_body`` reading a streamed answer (see the module's docstring)."""

    __slots__ = (
        "user",
        "conn",
        "own_headers",
        "active",
        "parser",
        "count",
        "sse",
        "rec",
        "origin",
        "first",
        "last",
        "events",
        "idle_ns",
        "max_event",
        "sink",
    )

    def __init__(self, user: Any, conn: Conn) -> None:
        self.user = user
        self.conn = conn
        self.own_headers = getattr(user, "on_headers_complete", None)  # HEAD-aware users'
        self.active = False  # a streamed answer is being read
        self.parser: SseParser | LineParser | ChunkParser = SseParser()
        self.count: Callable[[bytes], int] | None = None
        self.sse = False
        self.rec: list[int] = []
        self.origin = 0
        self.first = 0  # when its first (timed) event came; 0: none yet
        self.last = 0
        self.events = 0  # events of the stream being read
        self.idle_ns = 0
        self.max_event = 0
        # A script's stream (user.stream): each event's data and arrival, handed over.
        self.sink: Callable[[bytes, int], None] | None = None

    # -- httptools' callbacks ------------------------------------------------------
    def on_headers_complete(self) -> None:
        own = self.own_headers
        if own is not None:
            own()
        u = self.user
        req = u.req
        spec: CompiledStream | None = req.stream if req is not None else None
        if spec is None or not u.deadline:
            return
        if not 200 <= self.conn.parser.get_status_code() < 300:
            return  # a 1xx (the real head follows), a redirect, an error's body: not read
        self.active = True
        self.parser = spec.parser()
        self.sse = spec.mode == "sse"
        self.count = spec.count
        self.rec = req.srec
        self.origin = getattr(u, "intended", 0) or u.t0
        self.first = self.last = self.events = 0
        self.idle_ns = spec.idle_ns or u.timeout_ns
        self.max_event = spec.max_event
        waiting = getattr(u, "streaming", None)  # a script's loop over the events
        self.sink = waiting.push if waiting is not None else None
        u.deadline = perf_counter_ns() + self.idle_ns  # from now on: the wait for an event

    def on_body(self, body: bytes) -> None:
        if not self.active:
            return
        p = self.parser
        events = p.feed(body)
        if events:
            self.took(events, perf_counter_ns())
        if len(p.buf) > self.max_event:
            # Out of the parser at once (it raises HttpParserCallbackError): the user's
            # on_protocol_error finds the stream still active and fails it (Connection).
            raise StreamOverflow(f"an event over {self.max_event} bytes without its end")

    def on_message_complete(self) -> None:
        if self.active:
            self.finish()
        self.user.on_message_complete()

    # -- recording ----------------------------------------------------------------
    def took(self, events: list[bytes], t: int) -> None:
        """Events that arrived at ``t``: counted, and timed (with ``tokens``: the ones
        that carry a token)."""
        u = self.user
        eng = u.eng
        if t >= eng.tick_ns:
            eng.roll(t)
        rec = self.rec
        count = self.count
        sink = self.sink
        n = 1
        for data in events:
            if self.sse and data == DONE:
                continue
            rec[EVENTS_SLOT] += 1
            self.events += 1
            if sink is not None:
                sink(data, t)
            if count is not None:
                n = count(data)
                if n <= 0:
                    continue
                rec[TOKENS_SLOT] += n
            if not self.first:
                self.first = t
                v = (t - self.origin) // 1000
                rec[BUCKET_LUT[v] if 0 < v < LUT_SIZE else bucket(v)] += 1
                rec[TTFT_SUM] += v
            else:
                v = (t - self.last) // 1000
                rec[GAP_BASE + (BUCKET_LUT[v] if 0 < v < LUT_SIZE else bucket(v))] += 1
                rec[GAP_SUM] += v
                if count is not None:
                    rec[GEN_TOKENS_SLOT] += n
            self.last = t
        u.deadline = t + self.idle_ns

    def finish(self) -> None:
        """The answer is complete (or was cut): the stream counts, with its span."""
        p = self.parser
        tail = p.end()
        t = perf_counter_ns()
        if tail:
            self.took(tail, t)
        eng = self.user.eng
        if t >= eng.tick_ns:
            eng.roll(t)
        rec = self.rec
        rec[STREAMS_SLOT] += 1
        if self.last > self.first:
            rec[GEN_US_SLOT] += (self.last - self.first) // 1000
        self.active = False

    def cut(self, why: str) -> str:
        """The stream stopped before its end: counted as a stream; the failure's message."""
        events = self.events
        self.parser.end()  # an event without its end is not one
        self.finish()
        return f"stream cut after {events} event{'s' if events != 1 else ''}: {why}"


class StreamOverflow(Exception):
    """An event grew past ``max_body`` without ending (raised out of the parser)."""
