"""Users that follow flows: ordered steps, captured values, data rows, iteration stats.

A :class:`FlowUser` is a :class:`~tui_loadtest.engine.users.plain.VUser` whose next request
is the next step of its current flow instead of a weighted pick. It keeps a raw
response only for steps that capture (:class:`FlowConn` holds the chunks as they
arrive: no ``on_body`` callback, which would make httptools copy every body of every
step and call Python for it, measured at ~9 % of the request rate). Values it
captures or takes from its data row stay in its own ``values`` list, already encoded
for where they go, and never leave the worker.

An iteration ends after its last step, or early when a step gets no response, or
when a strict capture fails (the step is counted as failed with kind ``capture``).
Its duration, from its first send to its end (think time included, as k6's
``iteration_duration``), goes to the flow's row. Once steps run at the start of the
user's first iteration of that flow and again until they all complete.
"""

from __future__ import annotations

from random import random
from time import perf_counter_ns
from typing import TYPE_CHECKING

from httptools import HttpParserError

from ..http.wire import HEAD_END, decoded_response
from ..recording import (
    BUCKET_LUT,
    BYTES_SLOT,
    FAILED_SLOT,
    LUT_SIZE,
    SENT_SLOT,
    STATUS_SLOT,
    SUM_SLOT,
    bucket,
    record,
)
from .connection import HEAD_KEEP, Conn
from .plain import HeadAwareUser, VUser

if TYPE_CHECKING:
    from ..host import SlotPool, UserHost
    from ..journeys import CompiledFlow, CompiledStep

# A kept response may exceed max_body by its head (status line and headers).
HEAD_ALLOWANCE = 64 * 1024


class FlowConn(Conn):
    """A connection that keeps the raw response while its user's step captures."""

    __slots__ = ()

    user: FlowUser

    def data_received(self, data: bytes) -> None:
        """``Conn.data_received`` (written out: a super() call per chunk costs), keeping
        every chunk while the step captures: the first is ``head`` (a response that came
        in one chunk is kept as it is, without a copy), the others go to ``keep``."""
        u = self.user
        if self.dead:
            return
        n = u.nbytes
        if not n:
            u.head = data
            u.th = perf_counter_ns()  # the response's first byte (its TTFB)
        else:
            if u.th > 0:
                u.th = -u.th  # in pieces: its TTFB is recorded apart (engine/recording.py)
            if u.keep is not None:
                if n + len(data) <= u.max_keep:  # past it: complete() sees nbytes > max_keep
                    u.keep.append(data)
            elif len(u.head) < HEAD_KEEP:
                u.head += data  # a head may come in pieces (see close_delimited_status)
        u.nbytes = n + len(data)
        try:
            self.parser.feed_data(data)
        except HttpParserError as exc:
            if not self.dead:
                u.on_protocol_error(self, exc)


class FlowUser(VUser):
    """A closed-model user walking flows picked by weight, one step at a time."""

    __slots__ = (
        "journeys",
        "flows",
        "fonly",
        "flow",
        "step",
        "values",
        "last",
        "cache",
        "keep",
        "chunks",
        "max_keep",
        "it0",
        "it_failed",
        "ready",
        "idle",
        "open_model",
    )

    conn_class = FlowConn

    def __init__(self, eng: UserHost) -> None:  # noqa: PLR0915 - every slot, once
        j = eng.journeys
        assert j is not None
        self.eng = eng
        self.start_session(eng)
        self.journeys = j
        self.table = []  # the plain mix's table: unused, flows are picked from self.flows
        self.only = None
        self.flows = j.table  # indexed by random(): the weighted pick of an iteration
        self.tsize = len(j.table)
        self.fonly = j.table[0] if len(set(map(id, j.table))) == 1 else None
        self.think = eng.think
        self.flow: CompiledFlow = j.table[0]
        # The step in flight, or the one to send next; None between iterations.
        self.step: CompiledStep | None = None
        self.req = self.flow.steps[0].req
        self.timer = None
        self.values = j.values.fresh()
        self.last: list[str | None] = [None] * len(j.values.names)  # see StepCaptures
        self.cache: list[bytes | None] = [None] * j.steps  # rendered requests, by step
        # The chunks after the first of a response the step captures from (else None):
        # ``chunks``, one list for the user's life.
        self.keep: list[bytes] | None = None
        self.chunks: list[bytes] = []
        self.max_keep = j.max_body + HEAD_ALLOWANCE
        self.it0 = 0
        self.it_failed = False
        self.ready = [f.first == 0 for f in j.flows]  # once steps done, by flow order
        self.open_model = False  # FlowSlot: latency from the arrival, service time too
        for name, value in eng.scenario.setup_values:  # what the run's [setup] captured
            j.values.fill(self.values, name, value)
        rows = eng.data_rows.take() if eng.data_rows is not None else []
        self.idle = rows is None  # a queue ran out: this user never sends
        for spec, row in rows or ():
            for column, value in zip(spec.columns, row, strict=True):
                j.values.fill(self.values, column, value)

    # -- the step cycle ---------------------------------------------------------
    def start_request(self) -> None:
        self.timer = None
        if self.idle:
            return
        eng = self.eng
        if eng.gate and not eng.admit(self):
            return
        self.send_step(0)

    def send_step(self, intended: int) -> None:
        """Send the current step (starting an iteration first if none is under way)."""
        s = self.step
        if s is None:
            f = self.fonly or self.flows[int(random() * self.tsize)]
            self.flow = f
            self.think = f.think if f.own_think else self.eng.think
            s = f.steps[f.first if self.ready[f.order] else 0]
            self.step = s
            self.it0 = 0
            self.it_failed = False
        self.req = r = s.req
        data = s.single
        if data is None:
            data = self.cache[s.no]  # None unless cacheable and rendered since a change
            if data is None:
                render = s.render
                data = render(self.values) if render is not None else b""
                if s.cacheable:
                    self.cache[s.no] = data
        if self.jar is not None:
            data = self.with_cookies(data)
        self.data = data
        if s.keeps:
            keep = self.keep = self.chunks
            if keep:
                keep.clear()
        else:
            self.keep = None
        self.nbytes = 0
        self.retried = False
        t0 = perf_counter_ns()
        self.t0 = t0
        if not self.it0:
            self.it0 = intended or t0
        self.deadline = t0 + self.eng.timeout_ns
        conn = self.conn
        if conn is None:
            self.open_connection()
        else:
            conn.transport.write(data)
            r.hist[SENT_SLOT] += len(data)

    def on_message_complete(self) -> None:
        """The closed model's response callback: ``complete`` written out (INLINE COPY
        of its recording and of its step outcome: a call fewer per step, ~2 % of the
        journeys bench's flow rate), then ``next``, ``start_request`` and
        ``send_step``'s gate, so the next step goes straight out. The open model, and
        the responses completed elsewhere (close-delimited, HEAD), use ``complete``;
        tests/test_flow_steps.py checks that both ways end every kind of step alike."""
        t1 = self.th  # when it came, in one read; in pieces: the cold way (see VUser's)
        if t1 < 0:
            self.in_pieces()
            return
        p = self.conn.parser  # type: ignore[union-attr]  # the parser calling us is conn's
        status = p.get_status_code()
        if status < 200 or not self.deadline:
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
        eng = self.eng
        if self.open_model:
            self.complete(status, t1)
            if not (self.keepalive and p.should_keep_alive()):
                self.drop_connection()
            self.next()
            return
        if t1 >= eng.tick_ns:  # the first response of a new second: close the last one
            eng.roll(t1)
        s: CompiledStep = self.step  # type: ignore[assignment]  # a step is in flight
        # -- inline record(s.req.hist, v, self.nbytes, status) --
        v = (t1 - self.t0) // 1000
        h = s.req.hist
        h[BUCKET_LUT[v] if 0 < v < LUT_SIZE else bucket(v)] += 1
        h[SUM_SLOT] += v
        h[BYTES_SLOT] += self.nbytes
        if status != 200:
            h[STATUS_SLOT + status] += 1
        # -- end of the inline copy --
        self.deadline = 0
        self.served += 1
        # -- INLINE COPY of complete's step outcome (ended: the iteration ended) --
        ended = False
        caps = s.captures
        if s.checks is not None:
            ended = self.checked_step(s, status, t1)
        elif not s.ok[status]:
            ended = self.failed_step(s, status, t1)
        elif caps is not None:
            keep = self.keep
            self.keep = None
            if keep or self.nbytes > self.max_keep:
                ended = self.capture_from(s, status, t1, keep)
            else:
                bad = caps.apply(self.head, status, self.values, self.last, self.cache)
                ended = bad >= 0 and self.capture_failed(s, bad, self.head, t1, status)
        if not ended:
            if s.ends_once:
                self.ready[self.flow.order] = True
            nxt = s.next
            if nxt is None:
                self.end_iteration(t1)
            else:
                self.step = nxt
        # -- end of the inline copy --
        if not (self.keepalive and p.should_keep_alive()):
            self.drop_connection()
        th = self.think
        if th is not None:
            self.timer = eng.loop.call_later(th[0] + random() * th[1], self.start_request)
        elif not eng.gate or eng.admit(self):
            self.send_step(0)

    def record_step(self, t1: int, status: int) -> None:
        """How ``complete`` records in the open model (``FlowSlot`` overrides it)."""
        r = self.req
        v = (t1 - self.t0) // 1000
        record(r.hist, v, self.nbytes, status)
        if self.th < 0:  # in pieces: its TTFB is its own (in one read: its latency)
            self.eng.buf.ttfb_move(r.index, (-self.th - self.t0) // 1000, v)

    def complete(self, status: int, t1: int) -> None:
        """Record the step's response, run its captures, move to the next step (the
        open model's way, and that of responses completed outside the parser's
        callback; ``on_message_complete`` holds the closed model's copy)."""
        eng = self.eng
        if t1 >= eng.tick_ns:  # the first response of a new second: close the last one
            eng.roll(t1)
        s: CompiledStep = self.step  # type: ignore[assignment]  # a step is in flight
        if self.open_model:
            self.record_step(t1, status)
        else:
            v = (t1 - self.t0) // 1000
            record(s.req.hist, v, self.nbytes, status)
            if self.th < 0:  # in pieces: its TTFB is its own (in one read: its latency)
                eng.buf.ttfb_move(s.req.index, (-self.th - self.t0) // 1000, v)
        self.deadline = 0
        self.served += 1
        caps = s.captures
        if s.checks is not None:
            if self.checked_step(s, status, t1):
                return
        elif not s.ok[status]:
            if self.failed_step(s, status, t1):
                return
        elif caps is not None:
            keep = self.keep
            self.keep = None
            if keep or self.nbytes > self.max_keep:
                if self.capture_from(s, status, t1, keep):
                    return
            else:
                bad = caps.apply(self.head, status, self.values, self.last, self.cache)
                if bad >= 0 and self.capture_failed(s, bad, self.head, t1, status):
                    return
        if s.ends_once:
            self.ready[self.flow.order] = True
        nxt = s.next
        if nxt is None:
            self.end_iteration(t1)
        else:
            self.step = nxt

    # -- the step's less common outcomes (out of complete's way) ------------------
    def checked_step(self, s: CompiledStep, status: int, t1: int) -> bool:
        """The outcome of a step with checks: each check counted, then the status, a
        failed hard check (kind ``check``, the check's text: a request failed by its
        status is not failed twice), the captures. A failed check ends the iteration
        as a failed status does: when its step captures strictly. True: it ended."""
        checks = s.checks
        assert checks is not None
        raw: bytes | None
        if s.keeps:
            keep = self.keep
            self.keep = None
            if self.nbytes > self.max_keep:
                raw = None  # over max_body: not kept, body checks and captures fail
            else:
                raw = b"".join([self.head, *keep]) if keep else self.head
        else:
            raw = self.received_head() if checks.needs_head else None
        failed = checks.run(status, (t1 - self.t0) // 1000, raw)
        if not s.ok[status]:
            return self.failed_step(s, status, t1)
        if failed is not None:
            self.eng.buf.response_failure(s.req.index, "check", failed)
            self.it_failed = True
            if s.captures is not None and s.strict:
                self.end_iteration(t1)
                return True
            return False
        caps = s.captures
        if caps is None:
            return False
        if raw is None:
            return self.capture_failed(s, 0, None, t1, status)
        bad = caps.apply(raw, status, self.values, self.last, self.cache)
        return bad >= 0 and self.capture_failed(s, bad, raw, t1, status)

    def failed_step(self, s: CompiledStep, status: int, t1: int) -> bool:
        """An HTTP failure: counted; its captures are not tried. True: the iteration
        ended (a strict capturing step's values cannot be trusted)."""
        self.eng.buf.http_failure(s.req.index, status)
        self.it_failed = True
        if s.captures is None:
            return False
        self.keep = None
        if s.strict:
            self.end_iteration(t1)
            return True
        return False

    def capture_from(self, s: CompiledStep, status: int, t1: int, keep: list[bytes] | None) -> bool:
        """Captures from a response that came in several chunks, or over max_body (not
        kept: the capture fails). True: the iteration ended."""
        caps = s.captures
        assert caps is not None
        raw = None if self.nbytes > self.max_keep else b"".join([self.head, *(keep or ())])
        bad = 0 if raw is None else caps.apply(raw, status, self.values, self.last, self.cache)
        return bad >= 0 and self.capture_failed(s, bad, raw, t1, status)

    def capture_failed(
        self, s: CompiledStep, bad: int, raw: bytes | None, t1: int, status: int
    ) -> bool:
        """Capture ``bad`` found nothing (or the response was not kept): counted, named.
        True: the iteration ended (strict). A compressed body is decoded here and the
        captures tried again: nothing looks for Content-Encoding before a capture fails
        (a JSON body that is gzip fails at once), so uncompressed steps pay nothing."""
        caps = s.captures
        assert caps is not None
        if raw is not None:
            try:
                decoded = decoded_response(raw, self.eng.max_body)
            except ValueError as exc:  # DecodeError, BodyTooLarge: say so, not "not JSON"
                spec = caps.specs[bad]
                message = f"capture {spec.name} = {spec.text}: {exc} (step {s.name})"
                return self.capture_counted(s, message, t1)
            if decoded is not None:
                bad = caps.apply(decoded, status, self.values, self.last, self.cache)
                if bad < 0:
                    return False
                raw = decoded
        return self.capture_counted(s, caps.failure(bad, raw, s.name), t1)

    def capture_counted(self, s: CompiledStep, message: str, t1: int) -> bool:
        """A failed capture counted (kind ``capture``); True: the iteration ended."""
        self.eng.buf.response_failure(s.req.index, "capture", message)
        self.it_failed = True
        if s.strict:
            self.end_iteration(t1)
            return True
        return False

    def end_iteration(self, t1: int) -> None:
        f = self.flow
        if f.index >= 0:
            h = f.hist
            record(h, (t1 - self.it0) // 1000, 0)
            if self.it_failed:
                h[FAILED_SLOT] += 1
        self.step = None

    def next_response(self, status: int) -> None:
        keep = self.keep
        if keep:
            keep.clear()

    def received_head(self) -> bytes:
        """A capturing step keeps the chunks after the first apart (``keep``), so the
        head of a close-delimited response may be spread over them."""
        keep = self.keep
        return b"".join([self.head, *keep]) if keep else self.head

    def fail(self, kind: str, message: str, backoff: bool = False) -> None:
        """No response: count it, end the iteration (failed), carry on."""
        self.keep = None
        self.it_failed = True
        self.end_iteration(perf_counter_ns())
        super().fail(kind, message, backoff)


class HeadAwareFlowUser(HeadAwareUser, FlowUser):
    """A flow user for plans with HEAD steps (their responses end with the headers)."""

    __slots__ = ()


class FlowSlot(FlowUser):
    """Arrival-rate mode: one arrival is one iteration of a flow, then back to the pool.

    The first step sent counts its latency from the arrival's intended time (queue
    wait included); later steps from their own send, as nothing scheduled them. The
    iteration counts from the intended time too, and from its first send as service.
    """

    __slots__ = ("pool", "intended", "first_send")

    def __init__(self, eng: UserHost, pool: SlotPool) -> None:
        super().__init__(eng)
        self.pool = pool
        self.intended = 0
        self.first_send = 0
        self.open_model = True

    def dispatch(self, intended_ns: int) -> None:
        self.step = None
        self.intended = intended_ns
        self.first_send = 0
        if self.idle:
            self.pool.slot_free(self)
            return
        self.send_step(intended_ns)

    def send_step(self, intended: int) -> None:
        super().send_step(intended)
        if not self.first_send:
            self.first_send = self.t0

    def record_step(self, t1: int, status: int) -> None:
        r = self.req
        origin = self.intended or self.t0
        v = (t1 - origin) // 1000
        record(r.hist, v, self.nbytes, status)
        if self.th < 0:  # in pieces: its TTFB is its own (in one read: its latency)
            self.eng.buf.ttfb_move(r.index, (-self.th - origin) // 1000, v)
        record(r.svc, (t1 - self.t0) // 1000, 0)
        self.intended = 0  # later steps are not scheduled: corrected = service

    def end_iteration(self, t1: int) -> None:
        f = self.flow
        if f.index >= 0:
            record(f.svc, (t1 - (self.first_send or t1)) // 1000, 0)
        super().end_iteration(t1)  # from it0: the intended time

    def next(self) -> None:
        if self.step is None:
            self.pool.slot_free(self)
        else:
            super().next()

    def start_request(self) -> None:
        """After think time: the next step; after a back-off: the slot is free again."""
        self.timer = None
        if self.step is None:
            self.pool.slot_free(self)
        else:
            self.send_step(0)


class HeadAwareFlowSlot(HeadAwareUser, FlowSlot):
    __slots__ = ()
