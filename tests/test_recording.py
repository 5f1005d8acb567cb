"""The engine's recording agrees with the stats package's histogram.

``recording.bucket`` and the two inlined copies of ``record``
(``VUser.on_message_complete``, ``FlowUser.on_message_complete``) are checked against
``stats.histogram.bucket_index`` over every value below the table's end and around
every power of two of the tracked range and beyond it.
"""

from __future__ import annotations

import random
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tui_loadtest.engine.recording import (
    BYTES_SLOT,
    LAST_BUCKET,
    SENT_SLOT,
    SLOTS,
    STATUS_SLOT,
    SUM_SLOT,
    TTFB_SLOTS,
    TTFB_SUM,
    Buffers,
    bucket,
    record,
)
from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.users import flow as flow_user
from tui_loadtest.engine.users import plain as vuser
from tui_loadtest.engine.users.flow import FlowUser
from tui_loadtest.engine.users.plain import OpenSlot, VUser
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.stats.histogram import LUT_SIZE, MAX_VALUE_US, NBUCKETS, bucket_index


def wide_values() -> list[int]:
    """Values where a bucket computation can go wrong: edges of every power of two
    up to far past the tracked range, the table's end, and random ones between."""
    values = {0, 1, LUT_SIZE - 1, LUT_SIZE, LUT_SIZE + 1, MAX_VALUE_US, MAX_VALUE_US * 4}
    for p in range(1, 45):
        for d in (-2, -1, 0, 1, 2):
            values.add(max(0, (1 << p) + d))
    rng = random.Random(11)
    values.update(int(rng.lognormvariate(9, 3)) for _ in range(3_000))
    return sorted(values)


def test_bucket_equals_bucket_index_everywhere():
    for v in range(LUT_SIZE + 4096):  # the whole table and past its end
        assert bucket(v) == bucket_index(v), v
    for v in wide_values():
        assert bucket(v) == bucket_index(v), v
    assert bucket(MAX_VALUE_US * 4) == LAST_BUCKET == NBUCKETS - 1


def test_record_counts_in_the_bucket_of_bucket_index_everywhere():
    values = [*range(-2, LUT_SIZE + 4096), *wide_values(), MAX_VALUE_US * 4]
    for v in values:
        h = [0] * SLOTS
        record(h, v, 0)
        assert h[bucket_index(max(v, 0))] == 1 and sum(h[:NBUCKETS]) == 1, v


def test_record_counts_the_bucket_the_sum_and_the_bytes():
    h = [0] * SLOTS
    for v in (0, 300, 70_000, MAX_VALUE_US * 2):
        record(h, v, 10)
    assert sum(h[:NBUCKETS]) == 4
    assert h[bucket_index(70_000)] == 1 and h[LAST_BUCKET] == 1
    assert h[SUM_SLOT] == 300 + 70_000 + MAX_VALUE_US * 2
    assert h[BYTES_SLOT] == 40


def fake_host(**extra):
    buf = Buffers(1, open_model=True)
    return SimpleNamespace(
        req_table=[None],
        think=(1000.0, 0.0),  # "think" after each response: nothing else runs
        keepalive=True,
        cookies=True,
        max_redirects=10,
        buf=buf,
        loop=SimpleNamespace(call_later=lambda *a: None),
        timeout_ns=10**12,
        tick_ns=1 << 62,  # the second never ends here
        **extra,
    )


@pytest.mark.parametrize("path", ["one read", "in pieces", "complete"])
def test_the_inline_copy_matches_bucket_index(path, monkeypatch):
    """``VUser.on_message_complete`` holds the first inlined copy of ``record``; the real
    method runs here, its clock set to each value in turn: a response in one read is
    timed by its read's stamp (the inline copy; its TTFB is its latency), one in pieces
    by the clock, the cold way (its TTFB, a third of its latency, moved apart)."""
    user = VUser(fake_host())  # type: ignore[arg-type]
    parser = SimpleNamespace(get_status_code=lambda: 200, should_keep_alive=lambda: True)
    user.conn = SimpleNamespace(parser=parser)  # type: ignore[assignment]
    req = SimpleNamespace(index=0, ok=b"\x01" * 1000, hist=[])
    user.req = req  # type: ignore[assignment]
    moves = user.eng.buf.ttfb  # per request type, made by the first response in pieces
    values = wide_values()
    total = 0
    for v in values:
        req.hist = [0] * SLOTS
        moves.clear()
        user.t0, user.deadline, user.nbytes = 0, 1, 7
        t1 = v * 1000 + 999  # in ns: v µs plus a fraction
        user.th = -((v // 3) * 1000 + 500)  # in pieces: the head came at a third of it
        if path == "complete":
            user.complete(200, t1)
        elif path == "in pieces":
            monkeypatch.setattr(vuser, "perf_counter_ns", lambda t1=t1: t1)
            user.on_message_complete()
        else:
            user.th = max(t1, 1)  # its one read came then (0 µs: stamps are never 0)
            user.on_message_complete()
        assert req.hist.index(1) == bucket_index(v), v
        assert sum(req.hist[:NBUCKETS]) == 1
        assert (req.hist[SUM_SLOT], req.hist[BYTES_SLOT]) == (v, 7)
        moved = moves.get(0, [0] * TTFB_SLOTS)
        first = ttfb_histogram(req.hist, moved)  # the latency's, with the TTFB's moves
        ttfb = v if path == "one read" else v // 3
        assert first.index(1) == bucket_index(ttfb) and sum(first) == 1, v
        assert req.hist[SUM_SLOT] + moved[TTFB_SUM] == ttfb
        assert (0 in moves) == (path != "one read")  # a list only for responses in pieces
        assert user.deadline == 0  # the request is over
        total += req.hist[SUM_SLOT]
    assert total == sum(values)


def ttfb_histogram(hist: list[int], ttfb: list[int]) -> list[int]:
    """The TTFB histogram a request's lists hold: the latency's counts plus the moves."""
    return [a + b for a, b in zip(hist[:NBUCKETS], ttfb[:NBUCKETS], strict=True)]


def test_a_response_in_one_read_ends_when_it_came_with_its_latency_as_ttfb(monkeypatch):
    """Stamped by its one read (not negated): that is when it arrived, head and body;
    the clock is not read again, and nothing is moved to a TTFB bucket of its own.
    (Checked against the inline copy: drop the stamp's use and this fails.)"""
    user = VUser(fake_host())  # type: ignore[arg-type]
    parser = SimpleNamespace(get_status_code=lambda: 200, should_keep_alive=lambda: True)
    user.conn = SimpleNamespace(parser=parser)  # type: ignore[assignment]
    req = SimpleNamespace(index=0, ok=b"\x01" * 1000, hist=[0] * SLOTS)
    user.req = req  # type: ignore[assignment]
    user.t0, user.deadline, user.nbytes, user.th = 0, 1, 7, 4_000_000  # came 4 ms in
    monkeypatch.setattr(vuser, "perf_counter_ns", lambda: 9_000_000)  # not read
    user.on_message_complete()
    assert req.hist[bucket_index(4_000)] == 1 and req.hist[SUM_SLOT] == 4_000
    assert user.eng.buf.ttfb == {}  # nothing moved (no list made): its TTFB is its latency


def test_open_slot_records_corrected_and_service_time():
    host = fake_host()
    slot = OpenSlot(host, pool=SimpleNamespace(slot_free=lambda s: None))  # type: ignore[arg-type]
    req = SimpleNamespace(index=0, ok=b"\x01" * 1000, hist=[0] * SLOTS, svc=[0] * SLOTS)
    slot.req = req  # type: ignore[assignment]
    slot.intended, slot.t0, slot.nbytes, slot.deadline = 0, 2_000_000, 5, 1
    slot.th = -4_000_000  # in pieces: the head 4 ms after the intended start
    slot.complete(200, 9_000_000)  # 9 ms after the intended start, 7 ms after sending
    assert req.hist[bucket_index(9_000)] == 1 and req.hist[SUM_SLOT] == 9_000
    moved = host.buf.ttfb[0]
    first = ttfb_histogram(req.hist, moved)  # corrected, as the latency
    assert first[bucket_index(4_000)] == 1 and req.hist[SUM_SLOT] + moved[TTFB_SUM] == 4_000
    assert req.svc[bucket_index(7_000)] == 1 and req.svc[SUM_SLOT] == 7_000
    assert req.hist[BYTES_SLOT] == 5 and req.svc[BYTES_SLOT] == 0


def test_the_coordinator_does_not_import_httpx():
    """The process that draws the dashboard plans shares without the HTTP clients."""
    code = (
        "import sys\n"
        "import tui_loadtest.engine.coordinator\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'httptools'))\n"
        "print(leaked[:5])\n"
        "sys.exit(1 if leaked else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_import_check_sees_httpx_when_it_is_imported():
    code = "import sys, tui_loadtest.engine.worker_engine, tui_loadtest.engine.users.httpx_user\n"
    code += "sys.exit(0 if 'httpx' in sys.modules else 1)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_take_reads_active_request_types_and_zeroes_the_lists_in_place():
    """Once a second the engine reads the lists where they are and zeroes what it
    read: request types idle in that second send no row, nothing is swapped."""
    buf = Buffers(5, open_model=True)
    lists = [*buf.hist, *buf.svc_hist]
    record(buf.hist[1], 0, 7)  # 0 µs: bucket 0 and no sum, still a response
    record(buf.hist[3], 900, 10, 200)
    record(buf.hist[3], 70_000, 10, 503)
    buf.http_failure(3, 503)
    record(buf.svc_hist[3], 800, 0)
    buf.ttfb_move(3, 300, 900)  # the 900 µs response's head came at 300 µs, in pieces
    buf.hist[4][SENT_SLOT] += 55  # a request sent, its answer in a later second
    buf.other_failure(0, "timeout", "timed out")
    rows, _ = buf.take()
    assert [r.index for r in rows] == [0, 1, 3, 4]
    r0, r1, r3, r4 = rows
    assert (r0.buckets, r0.other_failures) == ([], 1)
    assert (r1.buckets, r1.statuses, r1.bytes_received) == ([(0, 1)], [(200, 1)], 7)
    assert r3.buckets == sorted([(bucket_index(900), 1), (bucket_index(70_000), 1)])
    assert (r3.sum_us, r3.statuses, r3.http_failures) == (70_900, [(200, 1), (503, 1)], 1)
    assert (r3.service_buckets, r3.service_sum_us) == ([(bucket_index(800), 1)], 800)
    assert r3.ttfb_buckets == [(bucket_index(300), 1), (bucket_index(70_000), 1)]
    assert r3.ttfb_sum_us == 70_300
    assert (r1.ttfb_buckets, r1.ttfb_sum_us) == ([(0, 1)], 0)  # in one read: its latency
    assert r0.ttfb_buckets is None  # no response, no first byte
    assert (r4.bytes_sent, r4.buckets, r4.statuses) == (55, [], [])
    assert all(a is b for a, b in zip([*buf.hist, *buf.svc_hist], lists, strict=True))
    assert all(not any(h) for h in buf.hist + buf.svc_hist + list(buf.ttfb.values()))
    assert not any(buf.http_fail) and not any(buf.other_fail)
    assert buf.take() == ([], [])  # nothing happened since
    errors, *_ = buf.take_rest()
    assert sorted(e[:4] for e in errors) == [("http", 503, 3, 1), ("timeout", None, 0, 1)]
    assert buf.take_rest()[0] == []


def test_the_flow_steps_inline_copy_matches_bucket_index(monkeypatch):
    """``FlowUser.on_message_complete`` holds the second inlined copy of ``record``: a
    real flow user of a real engine records each value in the bucket of
    ``bucket_index`` (the real callback runs, its clock set to each value in turn)."""
    sc = parse_scenario(
        {"load": {"think_time": "1s"}, "flows": [{"name": "f", "steps": [{"path": "/a"}]}]},
        "flow.toml",
    )
    eng = WorkerEngine(sc, "http://127.0.0.1:9", make_shares(sc, 1)[0], lambda d: None)
    eng.tick_ns = 1 << 62  # the second never ends here
    eng.loop = SimpleNamespace(call_later=lambda *a: None)  # think: nothing is sent
    user = eng.user_class(eng)
    assert isinstance(user, FlowUser) and not user.open_model
    status = [200]
    parser = SimpleNamespace(get_status_code=lambda: status[0], should_keep_alive=lambda: True)
    user.conn = SimpleNamespace(parser=parser)  # type: ignore[assignment]
    for v in wide_values():
        user.step = step = user.flow.steps[0]
        hist = step.req.hist
        hist[:] = [0] * len(hist)
        eng.buf.ttfb.clear()
        user.t0, user.deadline, user.nbytes = 0, 1, 7
        status[0] = 404 if v % 2 else 200
        t1 = v * 1000 + 999  # in ns: v µs plus a fraction
        # Odd values in pieces (the head at a third: the cold way), even ones in one read
        # (the inline copy, timed by the read's stamp, its TTFB its latency).
        pieces = v % 2 == 1
        user.th = -((v // 3) * 1000 + 500) if pieces else max(t1, 1)
        monkeypatch.setattr(flow_user, "perf_counter_ns", lambda t1=t1: t1)
        monkeypatch.setattr(vuser, "perf_counter_ns", lambda t1=t1: t1)  # in_pieces: VUser's
        user.on_message_complete()
        assert hist.index(1) == bucket_index(v), v
        assert sum(hist[:NBUCKETS]) == 1
        assert (hist[SUM_SLOT], hist[BYTES_SLOT]) == (v, 7)
        assert hist[STATUS_SLOT + 404] == v % 2
        ttfb = eng.buf.ttfb.get(step.req.index, [0] * TTFB_SLOTS)
        first = ttfb_histogram(hist, ttfb)
        came = v // 3 if pieces else v
        assert first.index(1) == bucket_index(came) and sum(first) == 1, v
        assert hist[SUM_SLOT] + ttfb[TTFB_SUM] == came
        assert user.deadline == 0 and user.step is None  # its one step: the iteration ended
