"""Micro-benchmark: what recording one latency sample costs on the engine's hot path.

Compares, in ns per sample (timeit, best of several repeats):

- ``VUser.complete``: the engine's cold-path recording method (it calls
  ``recording.record``), on a real ``VUser`` whose engine is a stub holding real
  per-second ``Buffers``, plus the deadline/served/status bookkeeping;
- ``recording.record``: the engine's recording function alone (what every path but
  the closed model's ``on_message_complete`` calls);
- ``inline record``: the recording statements as ``VUser.on_message_complete``
  writes them out inline (the one inlined copy; a reference copy is kept here);
- ``+ second check``: the same after the check that rolls the buffers over at a
  wall-clock second (``t1 >= eng.tick_ns``), as the hot path now does;
- the time to first byte (issue 27): ``clock at completion`` is how a response was
  timed before (``t1 = perf_counter_ns()`` in ``on_message_complete``); ``stamp at
  the first read`` how it is now (``Conn.data_received`` stores the clock on the
  response's first chunk, ``on_message_complete`` reads the stamp and tests it: a
  response in one read ends then, its TTFB its latency); their difference is what a
  response costs more for its TTFB. ``in pieces``: the move a response that came in
  several reads makes to its TTFB's bucket (``Buffers.ttfb_move``);
- ``Histogram.record``: the stats package's plain log-linear histogram;
- ``plain log-linear``: a minimal function-style log-linear histogram, the
  ~140-160 ns reference of docs/architecture.md, "Measurements";
- ``earlier engine``: how the engine recorded before: every bucket computed
  with ``bit_length`` and shifts, and counts, sums and bytes in three lists
  (kept to show what the table and the one-list layout save);
- ``empty call``: the same loop calling a function that does nothing, i.e. the
  harness' own cost, subtracted in the "net" column.

Latencies are drawn from a log-normal around 0.8 ms (the range of a loaded
loopback run), so both the exact (< 256 µs) and the log-linear buckets are hit.

Usage: ``python bench/micro_record.py [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import timeit
from time import perf_counter_ns
from types import SimpleNamespace

from tui_loadtest.engine.recording import (
    BUCKET_LUT,
    BYTES_SLOT,
    LAST_BUCKET,
    MAX_SHIFT,
    STATUS_SLOT,
    SUB_BITS,
    SUM_SLOT,
    TOP_SHIFT,
    Buffers,
    record,
)
from tui_loadtest.engine.users.plain import VUser
from tui_loadtest.stats.histogram import NBUCKETS, Histogram, bucket_index

N = 100_000
REPEAT = 7


def make_samples(n: int = N, seed: int = 1) -> list[int]:
    """Completion times (ns, as from perf_counter_ns) for requests started at t0 = 0."""
    rng = random.Random(seed)
    return [int(rng.lognormvariate(6.7, 0.6) * 1000) for _ in range(n)]


def make_user() -> VUser:
    """A real VUser on a stub engine with real Buffers, mid-request.

    ``__init__`` is skipped (it reads engine settings that change as the engine
    grows); only what ``complete`` touches is set.
    """
    buf = Buffers(3)
    req = SimpleNamespace(index=1, ok=bytes([1]) * 600, hist=buf.hist[1])
    eng = SimpleNamespace(buf=buf, tick_ns=1 << 62)
    user = VUser.__new__(VUser)
    user.eng = eng  # type: ignore[assignment]
    user.served = 0
    user.req = req  # type: ignore[assignment]
    user.t0 = 0
    user.th = 300_000  # the head 0.3 ms after the start
    user.nbytes = 180
    user.deadline = 1
    return user


def inline_record(self: VUser, t1: int) -> None:
    """A reference copy of the recording statements of ``VUser.on_message_complete``
    (the engine's one inlined copy of ``recording.record``), nothing else: the bucket
    read from the table below 65 ms (computed above), then four increments of the
    request's list for this second."""
    r = self.req
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
    status = 200
    if status != 200:  # 200s are worked out from the counts (recording.statuses)
        h[STATUS_SLOT + status] += 1


def inline_record_clocked(self: VUser, t1: int) -> None:
    """The same statements after the wall-clock check ``on_message_complete`` makes
    first (is this response the first of a new second?): its cost per response."""
    r = self.req
    eng = self.eng
    if t1 >= eng.tick_ns:
        eng.roll(t1)
    v = (t1 - self.t0) // 1000
    try:
        b = BUCKET_LUT[v]
    except IndexError:
        s = v.bit_length() - TOP_SHIFT
        b = (s << SUB_BITS) + (v >> s) if s <= MAX_SHIFT else LAST_BUCKET
    h = r.hist
    h[b] += 1
    h[SUM_SLOT] += v
    h[BYTES_SLOT] += self.nbytes


def clock_at_completion(self: VUser, _t1: int) -> int:
    """Before issue 27: the clock read where the response completes."""
    t1 = perf_counter_ns()
    return t1


def stamp_at_first_read(self: VUser, _t1: int) -> int:
    """Now: the clock stored on the first chunk (``Conn.data_received``), read back and
    tested where the response completes (``on_message_complete``)."""
    self.th = perf_counter_ns()
    t1 = self.th
    if t1 < 0:
        return 0
    return t1


def move_in_pieces(self: VUser, t1: int) -> None:
    """A response in pieces: its count moved to its TTFB's bucket (head at a third)."""
    v = (t1 - self.t0) // 1000
    self.eng.buf.ttfb_move(1, v // 3, v)


def record_call(self: VUser, t1: int) -> None:
    """The same, through ``recording.record`` (one call more per sample)."""
    record(self.req.hist, (t1 - self.t0) // 1000, self.nbytes)


def earlier_record(self: VUser, t1: int) -> None:
    """How the engine recorded before: every bucket computed with bit_length and
    shifts, and separate per-endpoint lists for counts, sums and bytes."""
    i = self.req.index  # type: ignore[union-attr]
    v = (t1 - self.t0) // 1000
    if v < 256:
        b = v
    else:
        s = v.bit_length() - TOP_SHIFT
        b = (s << SUB_BITS) + (v >> s) if s <= MAX_SHIFT else LAST_BUCKET
    buf = self.eng.old
    buf.hist[i][b] += 1
    buf.sums[i] += v
    buf.nbytes[i] += self.nbytes


def plain_loglinear(counts: list[int], t1: int) -> None:
    """A minimal log-linear histogram record: microseconds, bucket, count."""
    v = t1 // 1000
    counts[bucket_index(v)] += 1


def empty(_a: object, _t1: int) -> None:
    pass


def measure(repeat: int = REPEAT) -> dict[str, dict[str, float]]:
    samples = make_samples()
    user = make_user()
    hist = Histogram()
    counts = [0] * NBUCKETS
    complete = user.complete
    record = hist.record

    def run_complete() -> None:
        for t1 in samples:
            complete(200, t1)

    def run_inline() -> None:
        for t1 in samples:
            inline_record(user, t1)

    def run_clocked() -> None:
        for t1 in samples:
            inline_record_clocked(user, t1)

    def run_clock() -> None:
        for t1 in samples:
            clock_at_completion(user, t1)

    def run_stamp() -> None:
        for t1 in samples:
            stamp_at_first_read(user, t1)

    def run_pieces() -> None:
        for t1 in samples:
            move_in_pieces(user, t1)

    def run_record() -> None:
        for t1 in samples:
            record_call(user, t1)

    user.eng.old = SimpleNamespace(
        hist=[[0] * NBUCKETS for _ in range(3)], sums=[0] * 3, nbytes=[0] * 3
    )

    def run_computed() -> None:
        for t1 in samples:
            earlier_record(user, t1)

    def run_histogram() -> None:
        for t1 in samples:
            record(t1 // 1000)

    def run_plain() -> None:
        for t1 in samples:
            plain_loglinear(counts, t1)

    def run_empty() -> None:
        for t1 in samples:
            empty(user, t1)

    cases = {
        "VUser.complete (engine)": run_complete,
        "recording.record (engine function)": run_record,
        "inline record (engine statements)": run_inline,
        "inline record + second check (hot path)": run_clocked,
        "clock at completion (before issue 27)": run_clock,
        "stamp at the first read + test (now)": run_stamp,
        "TTFB move, response in pieces": run_pieces,
        "earlier engine (computed bucket, 3 lists)": run_computed,
        "Histogram.record (stats)": run_histogram,
        "plain log-linear function": run_plain,
        "empty call (harness)": run_empty,
    }
    raw: dict[str, list[float]] = {name: [] for name in cases}
    # Interleave the cases so that a noisy neighbour hurts them all alike.
    for _ in range(repeat):
        for name, fn in cases.items():
            raw[name].append(timeit.timeit(fn, number=1) / len(samples) * 1e9)
    base = min(raw["empty call (harness)"])
    out = {}
    for name, values in raw.items():
        best = min(values)
        out[name] = {
            "best_ns": round(best, 1),
            "median_ns": round(statistics.median(values), 1),
            "net_ns": round(best - base, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--repeat", type=int, default=REPEAT, help=f"default {REPEAT}")
    args = parser.parse_args()
    result = measure(args.repeat)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'per sample':44} {'best ns':>8} {'median ns':>10} {'net ns':>8}")
    for name, row in result.items():
        print(f"{name:44} {row['best_ns']:8.1f} {row['median_ns']:10.1f} {row['net_ns']:8.1f}")


if __name__ == "__main__":
    main()
