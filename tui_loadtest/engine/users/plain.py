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
connection when it needs one, until the response is complete: the read that brought
its last byte (``Conn.data_received`` stamps a response's first read; a response in
one read ends with it, one in pieces when the clock is read again, ``in_pieces``).
"""

from __future__ import annotations

import asyncio
from random import random
from time import perf_counter_ns
from typing import TYPE_CHECKING

from ..http.wire import HEAD_END
from ..recording import (
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
from .cycle import UserCycle
from .session import Session

if TYPE_CHECKING:
    from ..host import SlotPool, UserHost


class VUser(UserCycle, Session):
    """A closed-model virtual user: pick a request, send, record, think, repeat."""

    __slots__ = ("eng", "table", "tsize", "only", "think", "timer", "__weakref__")

    def __init__(self, eng: UserHost) -> None:
        self.eng = eng
        self.start_session(eng)
        self.table = eng.req_table
        self.tsize = len(eng.req_table)
        self.only = eng.req_table[0] if len(set(map(id, eng.req_table))) == 1 else None
        self.think = eng.think  # (low, span) or None
        self.req = eng.req_table[0]  # replaced by each request's own
        self.timer: asyncio.TimerHandle | None = None

    # -- the request cycle (hot) -------------------------------------------
    def start_request(self) -> None:
        self.timer = None
        eng = self.eng
        if eng.gate and not eng.admit(self):
            return
        r = self.only or self.table[int(random() * self.tsize)]
        self.req = r
        data = r.single or r.pick()
        if self.jar is not None:
            data = self.with_cookies(data)
        self.data = data
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
        # A response that came in one read arrived when that read did: Conn.data_received
        # stamped it (one clock reading a response, as before), and its time to first
        # byte is its latency. One that came in pieces (the stamp negated) goes the cold
        # way, which records its TTFB apart.
        t1 = self.th
        if t1 < 0:
            self.in_pieces()
            return
        p = self.conn.parser  # type: ignore[union-attr]  # the parser calling us is conn's
        status = p.get_status_code()
        if status < 200 or not self.deadline:  # a 1xx (the real one follows), or unsolicited
            return
        # the session's two tests (session.py): Set-Cookie in the head? a redirect?
        head = self.head  # (bytes.find, not ``in``: see session.py)
        if (
            self.cookies_on
            and (
                head.find(b"ookie:")  # the whole response, when small; else only its head
                if len(head) < 512
                else head.find(b"ookie:", 0, head.find(HEAD_END))
            )
            >= 0
        ):
            self.take_cookies()
        if self.redirects[status] and self.follow(status):
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

    def in_pieces(self) -> None:
        """``on_message_complete`` for a response that came in several reads: it ends now,
        and ``complete`` records its time to first byte apart from its latency."""
        t1 = perf_counter_ns()
        p = self.conn.parser  # type: ignore[union-attr]  # the parser calling us is conn's
        status = p.get_status_code()
        if status < 200 or not self.deadline:  # a 1xx (the real one follows), or unsolicited
            return
        if self.intercepted(status):  # cookies taken; True: a redirect was followed
            return
        self.complete(status, t1)
        if not (self.keepalive and p.should_keep_alive()):
            self.drop_connection()
        self.next()

    def complete(self, status: int, t1: int) -> None:
        """Record a response for the request in flight (the cold paths' version)."""
        r = self.req
        eng = self.eng
        if t1 >= eng.tick_ns:
            eng.roll(t1)
        v = (t1 - self.t0) // 1000
        record(r.hist, v, self.nbytes, status)
        if self.th < 0:  # in pieces: its TTFB is its own (in one read: its latency)
            eng.buf.ttfb_move(r.index, (-self.th - self.t0) // 1000, v)
        self.deadline = 0
        self.served += 1
        if not r.ok[status]:
            eng.buf.http_failure(r.index, status)

    # -- connections (cold: connection.Connection) ------------------------------
    def cancel(self) -> None:
        """Stop now: no timer, no connection attempt, no connection."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        Session.cancel(self)


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
        conn.parser = conn.new_parser()
        if self.intercepted(status, keep):  # cookies taken; True: a redirect was followed
            return
        self.complete(status, t1)
        if not keep:
            self.drop_connection()
        self.eng.loop.call_soon(self.next)  # leave the old parser's callback first

    def on_message_complete(self) -> None:
        if self.req.is_head and not self.deadline:
            return  # already completed at the end of the headers
        super().on_message_complete()


class OpenSlot(VUser):
    """A connection slot: sends one scheduled request at a time, then returns to the pool."""

    __slots__ = ("intended", "pool")

    def __init__(self, eng: UserHost, pool: SlotPool) -> None:
        super().__init__(eng)
        self.pool = pool
        self.intended = 0

    def dispatch(self, intended_ns: int) -> None:
        """Send a request whose arrival was due at ``intended_ns`` (perf_counter_ns)."""
        self.intended = intended_ns
        r = self.only or self.table[int(random() * self.tsize)]
        self.req = r
        data = r.single or r.pick()
        if self.jar is not None:
            data = self.with_cookies(data)
        self.data = data
        self.nbytes = 0
        self.retried = False
        t0 = perf_counter_ns()
        self.t0 = t0
        self.deadline = t0 + self.eng.timeout_ns
        conn = self.conn
        if conn is None:
            self.open_connection()
        else:
            conn.transport.write(data)
            r.hist[SENT_SLOT] += len(data)

    def on_message_complete(self) -> None:
        t1 = perf_counter_ns()
        p = self.conn.parser  # type: ignore[union-attr]  # the parser calling us is conn's
        status = p.get_status_code()
        if status < 200 or not self.deadline:  # a 1xx, or already completed (HEAD)
            return
        if self.intercepted(status):  # cookies taken; True: a redirect was followed
            return
        self.complete(status, t1)
        if not (self.keepalive and p.should_keep_alive()):
            self.drop_connection()
        self.next()

    def complete(self, status: int, t1: int) -> None:
        r = self.req
        eng = self.eng
        if t1 >= eng.tick_ns:
            eng.roll(t1)
        v = (t1 - self.intended) // 1000
        record(r.hist, v, self.nbytes, status)  # corrected latency
        if self.th < 0:  # in pieces: its TTFB is its own, corrected too
            eng.buf.ttfb_move(r.index, (-self.th - self.intended) // 1000, v)
        record(r.svc, (t1 - self.t0) // 1000, 0)  # service time
        self.deadline = 0
        self.served += 1
        if not r.ok[status]:
            eng.buf.http_failure(r.index, status)

    def next(self) -> None:
        self.pool.slot_free(self)

    def start_request(self) -> None:
        """After a back-off (failed connect), the slot is available again."""
        self.timer = None
        self.pool.slot_free(self)


class HeadAwareSlot(OpenSlot, HeadAwareUser):
    __slots__ = ()
