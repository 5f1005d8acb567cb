"""Where a worker records what its requests did, for one second at a time.

Every request type owns one plain list per second (``CompiledRequest.hist``): the
histogram's bucket counts, then the latency sum (µs), the bytes received, the bytes
sent, and one counter per HTTP status (100-999) but 200, so recording a response is
three index operations on one list (four for a status other than 200), and sending
a request one more. Responses with status 200 are the rest: :func:`statuses` works
them out from the bucket counts once a second, which keeps the commonest response as
cheap to record as before.

The times to first byte are kept as a difference: a response that came in one read
of the socket has its head and its body at once, so its time to first byte is its
latency (both timed by the read's stamp, ``Conn.data_received``) and costs nothing to
record; one that came in pieces (a later chunk negates the stamp) moves one count
from its latency's bucket to its TTFB's (:meth:`Buffers.ttfb_move`, in a list made
for its request type the first time, :func:`record_ttfb`, with the sum's
difference). :meth:`Buffers.take` adds that list to the latency's buckets: the delta
carries the TTFB histogram itself.

Once a second the engine calls :meth:`Buffers.take`: it reads what the lists of the
request types that were active hold, as a delta's :class:`EndpointDelta` rows, and
sets what it read back to zero, in place. The lists are never swapped, so a second
costs what its active request types cost, whatever the scenario's size, and nothing
is allocated per second for the idle ones.

The bucket layout is :mod:`tui_loadtest.stats.histogram`'s, which merges and reads
what is recorded here; every constant below is derived from it.

Exactly one copy of :func:`bucket`'s arithmetic is written out inline elsewhere:
``VUser.on_message_complete`` (the closed model's per-response callback), where a
function call per response was measured to matter. ``tests/test_recording.py``
drives that method and checks it against ``stats.histogram.bucket_index``. Every
other path calls :func:`record` or :func:`bucket`.
"""

from __future__ import annotations

from itertools import compress

from ..stats.aggregate import EndpointDelta, FlowDelta, StreamDelta
from ..stats.histogram import BUCKET_LUT, LUT_SIZE, MAX_SHIFT, NBUCKETS, SUB_BITS

__all__ = [
    "BUCKET_LUT",
    "BYTES_SLOT",
    "SENT_SLOT",
    "STATUS_SLOT",
    "FAILED_SLOT",
    "FLOW_SLOTS",
    "LAST_BUCKET",
    "REDIRECTS_SLOT",
    "MAX_SHIFT",
    "SLOTS",
    "SUB_BITS",
    "SUM_SLOT",
    "TOP_SHIFT",
    "TTFB_SLOTS",
    "TTFB_SUM",
    "TTFT_SUM",
    "GAP_BASE",
    "GAP_SUM",
    "EVENTS_SLOT",
    "TOKENS_SLOT",
    "GEN_TOKENS_SLOT",
    "GEN_US_SLOT",
    "STREAMS_SLOT",
    "STREAM_SLOTS",
    "LUT_SIZE",
    "Buffers",
    "bucket",
    "record",
    "record_ttfb",
    "statuses",
]

LAST_BUCKET = NBUCKETS - 1
# A value's shift is its bit length less this: the top SUB_BITS + 1 bits pick the bucket.
TOP_SHIFT = SUB_BITS + 1
# Layout of a request's per-second list: the buckets, then these slots.
SUM_SLOT = NBUCKETS  # sum of latencies, µs
BYTES_SLOT = NBUCKETS + 1  # bytes received
SENT_SLOT = NBUCKETS + 2  # bytes sent (what was written to the connection)
STATUS_SLOT = NBUCKETS + 3  # STATUS_SLOT + s: responses with HTTP status s (not 200)
STATUSES = 1000
REDIRECTS_SLOT = STATUS_SLOT + STATUSES  # redirects followed (hops within requests)
SLOTS = REDIRECTS_SLOT + 1
# A flow's per-second list: iteration durations (buckets, sum), then the iterations
# that failed in the slot where a request's list has its bytes.
FAILED_SLOT = BYTES_SLOT
FLOW_SLOTS = NBUCKETS + 2
# A request's time-to-first-byte list: per bucket, the TTFB histogram's difference from
# the latency's (a response's count moved from its latency's bucket to its TTFB's), then
# the difference of the sums (µs).
TTFB_SUM = NBUCKETS
TTFB_SLOTS = NBUCKETS + 1
# A streamed request's list (engine/streams.py): the times to first event (buckets, sum),
# the times between events (buckets from GAP_BASE, sum), then its counters: events,
# tokens, tokens after each stream's first event, the time from each stream's first
# to last event (µs), and the streams that ended (complete or cut).
TTFT_SUM = NBUCKETS
GAP_BASE = NBUCKETS + 1
GAP_SUM = GAP_BASE + NBUCKETS
EVENTS_SLOT = GAP_SUM + 1
TOKENS_SLOT = EVENTS_SLOT + 1
GEN_TOKENS_SLOT = TOKENS_SLOT + 1
GEN_US_SLOT = GEN_TOKENS_SLOT + 1
STREAMS_SLOT = GEN_US_SLOT + 1
STREAM_SLOTS = STREAMS_SLOT + 1

ErrorKey = tuple[str, int | None, int]  # (kind, HTTP status or None, request index)
_BUCKETS = range(NBUCKETS)
_STATUSES = range(STATUSES)


def bucket(v: int) -> int:
    """The histogram bucket of a latency of ``v`` µs: ``bucket_index(v)``, cheaper.

    Values under 65 ms are read from a table; longer ones are computed; values past
    the tracked range (71 minutes) land in the last bucket, as ``bucket_index`` clamps.
    """
    if v < LUT_SIZE:
        return BUCKET_LUT[v] if v > 0 else 0
    s = v.bit_length() - TOP_SHIFT
    return (s << SUB_BITS) + (v >> s) if s <= MAX_SHIFT else LAST_BUCKET


def record(h: list[int], v: int, nbytes: int, status: int = 0) -> None:
    """Count one response of ``v`` µs, ``nbytes`` bytes and HTTP ``status`` (0: none, as
    for the open model's service-time list) in a per-second list.

    :func:`bucket`'s first line is written out here (this module's own copy, checked
    against ``bucket_index`` by ``tests/test_recording.py``): every path but the closed
    model's callback records through this function, and a call fewer per response
    measured ~0.06 µs on the flow path."""
    h[BUCKET_LUT[v] if 0 < v < LUT_SIZE else bucket(v)] += 1
    h[SUM_SLOT] += v
    h[BYTES_SLOT] += nbytes
    if status != 200 and status:
        h[STATUS_SLOT + status] += 1


def record_ttfb(t: list[int], vh: int, v: int) -> None:
    """A response's time to first byte, ``vh`` µs (from the request's start to the first
    byte of its head), recorded as its difference from its latency ``v`` (recorded in
    the request's list already): its count moves from the latency's bucket to the
    TTFB's, and the sums differ by ``vh - v`` (see the module's docstring)."""
    bh = BUCKET_LUT[vh] if 0 < vh < LUT_SIZE else bucket(vh)
    b = BUCKET_LUT[v] if 0 < v < LUT_SIZE else bucket(v)
    if bh != b:
        t[bh] += 1
        t[b] -= 1
    t[TTFB_SUM] += vh - v


def statuses(h: list[int]) -> list[tuple[int, int]]:
    """The (HTTP status, responses) pairs of a per-second list, 200 worked out as the
    responses left once the other statuses are counted."""
    block = h[STATUS_SLOT:REDIRECTS_SLOT]
    found = [(s, block[s]) for s in compress(range(STATUSES), block)]
    ok = sum(h[:NBUCKETS]) - sum(n for _, n in found)
    if ok:
        found.append((200, ok))
        found.sort()
    return found


class Buffers:
    """One second of statistics, per request type, indexed by the request's position.

    The lists live as long as the engine; :meth:`take` reads a second out of them.
    """

    __slots__ = (
        "hist",
        "ttfb",
        "streams",
        "flow_hist",
        "flow_svc",
        "http_fail",
        "other_fail",
        "errors",
        "svc_hist",
        "lag",
        "lag_sum",
        "dropped",
        "checks",
    )

    def __init__(self, n: int, open_model: bool = False, flows: int = 0, checks: int = 0) -> None:
        # per request type: bucket counts, latency sum (µs), bytes in and out, statuses
        self.hist: list[list[int]] = [[0] * SLOTS for _ in range(n)]
        # per request type whose responses came in pieces (made when first needed): the
        # times to first byte, as their difference from the latency's (see record_ttfb)
        self.ttfb: dict[int, list[int]] = {}
        # per streamed request type (made when first asked for): its stream list
        self.streams: dict[int, list[int]] = {}
        # per flow: iteration durations, their sum and the failed iterations (FAILED_SLOT);
        # open model: beside them, durations from the iteration's first send
        self.flow_hist: list[list[int]] = [[0] * FLOW_SLOTS for _ in range(flows)]
        self.flow_svc: list[list[int]] = (
            [[0] * FLOW_SLOTS for _ in range(flows)] if open_model else []
        )
        self.http_fail = [0] * n
        self.other_fail = [0] * n
        # (kind, status, request index) -> [count, last message]
        self.errors: dict[ErrorKey, list] = {}
        # open model: service time beside the corrected latency, and scheduler lag
        self.svc_hist: list[list[int]] = [[0] * SLOTS for _ in range(n)] if open_model else []
        self.lag: list[int] = [0] * NBUCKETS if open_model else []
        self.lag_sum = 0
        self.dropped = 0
        # per check (engine/checks.py): responses that passed it, then that failed it
        self.checks: list[int] = [0] * (2 * checks)

    def http_failure(self, index: int, status: int, message: str | None = None) -> None:
        """A response whose status does not count as a success (its latency is recorded
        too); ``message``: how the failures table words it (default ``HTTP 404``)."""
        self.http_fail[index] += 1
        key = ("http", status, index)
        row = self.errors.get(key)
        if row is None:
            self.errors[key] = [1, message or f"HTTP {status}"]
        else:
            row[0] += 1

    def grow(self) -> None:
        """Room for one more request type (a script's request name seen for the first time)."""
        self.hist.append([0] * SLOTS)
        self.http_fail.append(0)
        self.other_fail.append(0)
        if self.lag:  # open model
            self.svc_hist.append([0] * SLOTS)

    def grow_checks(self) -> None:
        """Room for one more check (a script's ``user.check`` name seen for the first time)."""
        self.checks += (0, 0)  # in place: compiled checks hold this list

    def take_checks(self) -> list[tuple[int, int, int]]:
        """This second's (check, passed, failed) for the checks that ran, reset."""
        c = self.checks
        out = []
        for i in range(0, len(c), 2):
            if c[i] or c[i + 1]:
                out.append((i // 2, c[i], c[i + 1]))
                c[i] = c[i + 1] = 0
        return out

    def ttfb_move(self, index: int, vh: int, v: int) -> None:
        """A response of request type ``index`` came in pieces: its time to first byte,
        ``vh`` µs, recorded apart from its latency ``v`` (:func:`record_ttfb`). Its list is
        made the first time: most runs' responses come in one read and never need one."""
        t = self.ttfb.get(index)
        if t is None:
            t = self.ttfb[index] = [0] * TTFB_SLOTS
        record_ttfb(t, vh, v)

    def stream_list(self, index: int) -> list[int]:
        """The stream list of request type ``index`` (made the first time)."""
        found = self.streams.get(index)
        if found is None:
            found = self.streams[index] = [0] * STREAM_SLOTS
        return found

    def task_failure(self, flow: int, kind: str, message: str) -> None:
        """A failure of a flow (a script task) rather than of one request: kept under the
        negative index ``-1 - flow``, which the aggregate reads as that flow's row."""
        self._note_error((kind, None, -1 - flow), message)

    def response_failure(self, index: int, kind: str, message: str) -> None:
        """A response judged failed for another reason than its status: a capture found
        nothing, a script's ``user.fail()``. Counted like an HTTP failure (with a response)."""
        self.http_fail[index] += 1
        self._note_error((kind, None, index), message)

    def other_failure(self, index: int, kind: str, message: str) -> None:
        """A request that got no response: timeout, refused, reset, protocol error..."""
        self.other_fail[index] += 1
        self._note_error((kind, None, index), message)

    def _note_error(self, key: ErrorKey, message: str) -> None:
        """One more of this error this second, keeping its latest message."""
        row = self.errors.get(key)
        if row is None:
            self.errors[key] = [1, message]
        else:
            row[0] += 1
            row[1] = message

    # -- once a second --------------------------------------------------------
    def take(self) -> tuple[list[EndpointDelta], list[FlowDelta]]:
        """This second's rows (request types with activity only) and flows (all, in
        order); every figure read is set back to zero for the next second.

        A request type was active when a request was sent (bytes sent), a response
        recorded (a latency sum, or a 0 µs response in bucket 0) or a failure counted.
        """
        hist, http_fail, other_fail = self.hist, self.http_fail, self.other_fail
        ttfb = self.ttfb
        active = {
            i
            for i, h in enumerate(hist)
            if h[SUM_SLOT] or h[SENT_SLOT] or h[0] or h[REDIRECTS_SLOT]
        }
        active.update(compress(range(len(hist)), other_fail))
        active.update(compress(range(len(hist)), http_fail))
        streams = self.streams
        active.update(i for i, s in streams.items() if s[EVENTS_SLOT] or s[STREAMS_SLOT])
        svc = self.svc_hist
        rows = []
        for i in sorted(active):
            h = hist[i]
            buckets = _take_buckets(h)
            block = h[STATUS_SLOT:REDIRECTS_SLOT]
            found = [(st, block[st]) for st in compress(_STATUSES, block)]
            ok = sum(c for _, c in buckets) - sum(c for _, c in found)
            for st, _ in found:
                h[STATUS_SLOT + st] = 0
            if ok:
                found.append((200, ok))
                found.sort()
            row = EndpointDelta(
                index=i,
                buckets=buckets,
                sum_us=h[SUM_SLOT],
                bytes_received=h[BYTES_SLOT],
                bytes_sent=h[SENT_SLOT],
                statuses=found,
                http_failures=http_fail[i],
                other_failures=other_fail[i],
                redirects=h[REDIRECTS_SLOT],
            )
            h[SUM_SLOT] = h[BYTES_SLOT] = h[SENT_SLOT] = h[REDIRECTS_SLOT] = 0
            http_fail[i] = other_fail[i] = 0
            if buckets:  # every response has a time to first byte: its latency's, or moved
                t = ttfb.get(i)
                row.ttfb_buckets = buckets
                row.ttfb_sum_us = row.sum_us
                if t is not None and t[TTFB_SUM]:  # in pieces (each move lowers the sum)
                    row.ttfb_buckets = _with_moves(buckets, _take_buckets(t))
                    row.ttfb_sum_us += t[TTFB_SUM]
                    t[TTFB_SUM] = 0
            s = streams.get(i)
            if s is not None and (s[EVENTS_SLOT] or s[STREAMS_SLOT]):
                row.stream = _take_stream(s)
            if svc:  # open model: service time beside the corrected latency
                s = svc[i]
                row.service_buckets = _take_buckets(s)
                row.service_sum_us, s[SUM_SLOT] = s[SUM_SLOT], 0
            rows.append(row)
        flows = []
        flow_svc = self.flow_svc
        for i, h in enumerate(self.flow_hist):
            flow = FlowDelta(buckets=_take_buckets(h), sum_us=h[SUM_SLOT], failed=h[FAILED_SLOT])
            h[SUM_SLOT] = h[FAILED_SLOT] = 0
            if flow_svc:
                s = flow_svc[i]
                flow.service_buckets = _take_buckets(s)
                flow.service_sum_us, s[SUM_SLOT] = s[SUM_SLOT], 0
            flows.append(flow)
        return rows, flows

    def take_rest(self) -> tuple[list[tuple[str, int | None, int, int, str]], int, list, int]:
        """This second's errors, arrivals dropped, and scheduler lag (buckets, sum), reset."""
        errors = [(k, s, i, row[0], row[1]) for (k, s, i), row in self.errors.items()]
        self.errors = {}
        dropped, self.dropped = self.dropped, 0
        lag = _take_buckets(self.lag) if self.lag else []
        lag_sum, self.lag_sum = self.lag_sum, 0
        return errors, dropped, lag, lag_sum


def _with_moves(buckets: list[tuple[int, int]], moved: list[tuple[int, int]]) -> list:
    """The latency's (bucket, count) pairs with the TTFB's moves added (counts that
    leave a bucket are negative): the TTFB histogram's pairs, by bucket."""
    counts = dict(buckets)
    for j, n in moved:
        counts[j] = counts.get(j, 0) + n
    return sorted((j, n) for j, n in counts.items() if n)


def _take_stream(s: list[int]) -> StreamDelta:
    """A stream list's second as a delta, every figure read set back to zero."""
    gaps_block = s[GAP_BASE:GAP_SUM]
    gaps = [(j, gaps_block[j]) for j in compress(_BUCKETS, gaps_block)]
    for j, _ in gaps:
        s[GAP_BASE + j] = 0
    out = StreamDelta(
        ttft=_take_buckets(s),
        ttft_sum_us=s[TTFT_SUM],
        gaps=gaps,
        gap_sum_us=s[GAP_SUM],
        events=s[EVENTS_SLOT],
        tokens=s[TOKENS_SLOT],
        gen_tokens=s[GEN_TOKENS_SLOT],
        gen_us=s[GEN_US_SLOT],
        streams=s[STREAMS_SLOT],
    )
    for slot in (TTFT_SUM, GAP_SUM, EVENTS_SLOT, TOKENS_SLOT, GEN_TOKENS_SLOT, GEN_US_SLOT,
                 STREAMS_SLOT):  # fmt: skip
        s[slot] = 0
    return out


def _take_buckets(h: list[int]) -> list[tuple[int, int]]:
    """The non-zero (bucket, count) pairs of a per-second list, each set back to zero.

    ``compress`` finds them in C: reading costs a scan of the buckets plus the
    non-zero ones.
    """
    pairs = [(j, h[j]) for j in compress(_BUCKETS, h)]
    for j, _ in pairs:
        h[j] = 0
    return pairs
