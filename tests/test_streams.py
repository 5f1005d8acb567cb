"""Streamed answers: the SSE, line and chunk parsers, and streams read by the engine
from a loopback server that streams with known delays."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys

import pytest

from tui_loadtest.compare import compare
from tui_loadtest.engine.streams import ChunkParser, LineParser, SseParser, token_counter
from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.scenario.model import CaptureSpec
from tui_loadtest.stats.aggregate import RunAggregate
from tui_loadtest.stats.result import RunResult

from .engine_harness import run_engine, scenario
from .export_support import wait_for
from .servers import StreamingServer

# ------------------------------------------------------------------ the SSE parser


def events_of(stream: bytes, cuts: list[int] | None = None) -> list[bytes]:
    """Every event's data, the stream fed in pieces cut at ``cuts``."""
    p = SseParser()
    out: list[bytes] = []
    start = 0
    for cut in [*(cuts or []), len(stream)]:
        out += p.feed(stream[start:cut])
        start = cut
    return out + p.end()


SPEC_CASES = [
    # (stream, events): the WHATWG "event stream interpretation"
    (b"data: a\n\n", [b"a"]),
    (b"data:a\n\n", [b"a"]),  # the space after the colon is optional
    (b"data:  a\n\n", [b" a"]),  # only one is removed
    (b"data: a\ndata: b\n\n", [b"a\nb"]),  # data lines join with LF
    (b"data: a\r\ndata: b\r\n\r\n", [b"a\nb"]),  # CRLF
    (b"data: a\rdata: b\r\r", [b"a\nb"]),  # CR alone
    (b": ping\n\ndata: x\n: note\n\n", [b"x"]),  # comments, and a comment-only block
    (b"event: delta\ndata: x\nid: 7\nretry: 10\n\n", [b"x"]),  # other fields read, aside
    (b"event: ping\n\n", []),  # no data: not dispatched
    (b"data\n\n", [b""]),  # a field name alone: an empty data line, dispatched
    (b"data:\n\n", [b""]),
    (b"data: a\n\n\n\ndata: b\n\n", [b"a", b"b"]),  # blank lines with nothing pending
    (b"data : a\n\n", []),  # "data " is another field
    (b"data: a\n\ndata: b", [b"a"]),  # an event without its blank line at the end: dropped
    (b"\xef\xbb\xbfdata: a\n\n", [b"a"]),  # a byte order mark at the start
    (b"data: [DONE]\n\n", [b"[DONE]"]),  # the parser dispatches it; the reader ends on it
    (b'data: {"a":\ndata: 1}\n\n', [b'{"a":\n1}']),
]


@pytest.mark.parametrize(("stream", "expected"), SPEC_CASES)
def test_sse_events_follow_the_spec(stream, expected):
    assert events_of(stream) == expected


@pytest.mark.parametrize(("stream", "expected"), SPEC_CASES)
def test_sse_events_are_the_same_however_the_body_is_cut(stream, expected):
    """Byte by byte, and at random places: a CRLF split across reads included."""
    assert events_of(stream, list(range(1, len(stream)))) == expected
    rng = random.Random(len(stream))
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(stream)), min(3, len(stream) - 1)))
        assert events_of(stream, cuts) == expected


def test_sse_keeps_only_the_event_not_yet_ended():
    p = SseParser()
    assert p.feed(b"data: one\n\ndata: tw") == [b"one"]
    assert p.buf == b"data: tw"
    assert p.feed(b"o\n\n") == [b"two"] and p.buf == b""


def test_lines_and_chunks():
    p = LineParser()
    assert p.feed(b'{"a":1}\n{"a"') == [b'{"a":1}']
    assert p.feed(b':2}\r\n\n  \n{"a":3}') == [b'{"a":2}']  # blank lines are not records
    assert p.end() == [b'{"a":3}']  # a last line without its newline counts
    c = ChunkParser()
    assert c.feed(b"abc") == [b"abc"] and c.feed(b"") == [] and c.end() == []


def test_tokens_from_json_deltas_and_from_a_regex():
    count = token_counter(
        CaptureSpec(
            "tokens",
            "json",
            "json:$.choices[0].delta.content",
            path=("choices", 0, "delta", "content"),
        )  # fmt: skip
    )
    assert count(b'{"choices":[{"delta":{"content":"Hel"}}]}') == 1
    assert count(b'{"choices":[{"delta":{"role":"assistant","content":""}}]}') == 0
    assert count(b'{"choices":[{"delta":{}}],"x":1}') == 0
    assert count(b"[DONE]") == 0 and count(b"not json") == 0
    assert count(b'{"choices":[{"delta":{"content":["a","b"]}}]}') == 2  # a list: its length
    words = token_counter(CaptureSpec("tokens", "regex", r"regex:\S+", pattern=r"\S+"))
    assert words(b"three little words") == 3


# --------------------------------------------------------------------- scenario keys


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"stream": "websocket"}, 'stream: expected "sse" or "chunks" or "lines"'),
        ({"tokens": "json:$.a"}, 'tokens: needs stream = "sse", "chunks" or "lines"'),
        ({"idle_timeout": "5s"}, 'idle_timeout: needs stream = "sse"'),
        ({"stream": "sse", "tokens": "header:X"}, 'tokens: expected "json:$.path" or'),
        ({"stream": "sse", "tokens": "json:$..a"}, "tokens: JSONPath"),
        ({"stream": "sse", "idle_timeout": "0s"}, "idle_timeout: expected a duration"),
        ({"stream": "sse", "method": "HEAD"}, "stream: a HEAD response has no body"),
    ],
)
def test_bad_stream_keys_are_one_line(request_, message):
    with pytest.raises(ScenarioError) as refused:
        parse_scenario({"host": "http://h", "requests": [{"path": "/", **request_}]}, "s.toml")
    text = str(refused.value)
    assert text.startswith("s.toml: requests[1].") and message in text and "\n" not in text


def test_a_streamed_step_captures_nothing_and_httpx_does_not_stream():
    flows = [{"steps": [{"path": "/", "stream": "sse", "capture": {"a": "json:$.a"}}]}]
    with pytest.raises(ScenarioError, match="capture: a streamed answer is read as it arrives"):
        parse_scenario({"host": "http://h", "flows": flows}, "s.toml")
    reqs = [{"path": "/", "stream": "sse"}]
    with pytest.raises(ScenarioError, match='http.transport: streams .* "fast" transport'):
        parse_scenario({"host": "http://h", "requests": reqs, "http": {"transport": "httpx"}}, "s")


# ----------------------------------------------------------- streams on the engine

FIRST_S, GAP_S, EVENTS = 0.1, 0.01, 20


@pytest.fixture(scope="module")
def sse_server():
    server = StreamingServer(FIRST_S, GAP_S, EVENTS)
    url = server.start()
    yield server, url
    server.stop()


def stream_span(agg: RunAggregate):
    (span,) = [s for s in agg.cumulative if s.requests]
    assert span.stream is not None
    return span


def test_known_delays_come_out_as_ttft_gaps_events_and_total(sse_server):
    """First event at 100 ms, then 20 events 10 ms apart (then [DONE], 300 ms in)."""
    server, url = sse_server
    written, finished = server.written, server.finished
    sc = scenario([{"path": "/chat", "stream": "sse"}], load={"users": 2, "requests": 6})
    agg = asyncio.run(run_engine(sc, url))
    span = stream_span(agg)
    st = span.stats(1.0).stream
    assert span.failures == 0
    # the server counts a stream once it has written its end, after the client read it
    wait_for(lambda: server.finished - finished >= 6, 10, "the server's count")
    assert st.streams == 6 == server.finished - finished
    assert st.events == server.written - written == 6 * EVENTS
    assert st.events_per_stream == EVENTS  # [DONE] ends the stream: not an event
    # never earlier than the server sent them; later by a busy machine's reading delay
    assert FIRST_S * 1000 - 1 <= st.ttft.p50 <= FIRST_S * 1000 + 25, st.ttft
    assert GAP_S * 1000 - 1 <= st.inter_event.p50 <= GAP_S * 1000 + 5, st.inter_event
    assert span.stream.gaps.total == 6 * (EVENTS - 1)
    total = span.hist.percentile(0.5) / 1000
    assert -1 <= total - (FIRST_S + EVENTS * GAP_S) * 1000 <= 50, total
    assert span.ttfb is not None and span.ttfb.percentile(0.5) / 1000 < FIRST_S * 1000 / 2
    # the output speed: one event (no tokens counted) every 10 ms between first and last
    assert st.gen_s == pytest.approx(6 * (EVENTS - 1) * GAP_S, rel=0.25)


def test_the_open_model_counts_the_wait_for_a_free_user_in_the_ttft(sse_server):
    """One connection slot, an arrival every 100 ms, streams of 300 ms: arrivals wait;
    each corrected TTFT is its wait plus the 100 ms the server took."""
    server, url = sse_server
    load = {"mode": "arrival-rate", "rate": 10, "max_users": 1, "requests": 4}
    sc = scenario([{"path": "/chat", "stream": "sse"}], load=load)
    agg = asyncio.run(run_engine(sc, url))
    span = stream_span(agg)
    assert span.stream.ttft.total == 4 and span.failures == 0
    waits_us = span.hist.sum_us - span.service.sum_us  # corrected less service, summed
    assert waits_us > 4 * 150_000  # they did wait (0 + 200 + 400 + 600 ms in theory)
    ttft_us = span.stream.ttft.sum_us
    assert abs(ttft_us - waits_us - 4 * FIRST_S * 1e6) <= 4 * 25_000, (ttft_us, waits_us)


def test_a_stream_cut_midway_is_an_error_of_its_own_with_its_events_counted():
    server = StreamingServer(0.02, 0.005, 20, cut_after=7)
    url = server.start()
    try:
        sc = scenario([{"path": "/chat", "stream": "sse"}], load={"users": 1, "requests": 3})
        agg = asyncio.run(run_engine(sc, url))
    finally:
        server.stop()
    span = stream_span(agg)
    st = span.stats(1.0).stream
    assert server.cut == 3 and span.failures == 3 and span.hist.total == 0
    assert st.events == 3 * 7 == server.written and st.streams == 3
    assert st.ttft.p50 > 0 and span.stream.ttft.total == 3
    (row,) = agg.error_rows()
    assert (row.kind, row.count) == ("stream", 3)
    assert row.message == "stream cut after 7 events: the connection closed"


def test_a_silent_stream_fails_after_its_idle_timeout():
    server = StreamingServer(0.02, 0.6, 3)  # the second event comes after 0.6 s
    url = server.start()
    try:
        reqs = [{"path": "/chat", "stream": "sse", "idle_timeout": "0.2s"}]
        agg = asyncio.run(run_engine(scenario(reqs, load={"users": 1, "requests": 1}), url))
    finally:
        server.stop()
    (row,) = agg.error_rows()
    assert row.kind == "stream"
    assert row.message == "stream cut after 1 event: no event for 0.2s"
    assert stream_span(agg).stats(1.0).stream.events == 1


def test_streams_beside_plain_requests_and_in_flows(sse_server):
    """A mix of streamed and plain requests (HEAD too) on the same connections, and a
    flow with a streamed step: each answer read its own way, every request counted."""
    server, url = sse_server
    reqs = [{"path": "/chat", "stream": "sse"}, {"path": "/h", "method": "HEAD"},
            {"path": "/g"}]  # fmt: skip
    agg = asyncio.run(run_engine(scenario(reqs, load={"users": 2, "requests": 12}), url))
    spans = dict(zip(agg.endpoint_keys, agg.cumulative, strict=True))
    streamed = spans[("GET", "GET /chat")]
    assert sum(s.requests for s in spans.values()) == 12 and not agg.error_rows()
    assert streamed.stream is not None and streamed.stream.events == 20 * streamed.hist.total
    assert all(s.stream is None for k, s in spans.items() if k[1] != "GET /chat")
    flows = [{"name": "f", "steps": [{"path": "/login"}, {"path": "/chat", "stream": "sse"}]}]
    sc = parse_scenario({"host": url, "flows": flows, "load": {"users": 1, "requests": 4}}, "f")
    agg = asyncio.run(run_engine(sc, url))
    spans = dict(zip(agg.endpoint_keys, agg.cumulative, strict=True))
    assert spans[("GET", "GET /chat")].stream.events == 2 * EVENTS
    assert spans[("GET", "GET /login")].stream is None and not agg.error_rows()


def delta(i: int) -> bytes:
    """OpenAI's chat completion chunks: a role-only first delta, then one token each."""
    if i == 0:
        return json.dumps({"choices": [{"delta": {"role": "assistant", "content": ""}}]}).encode()
    return json.dumps({"choices": [{"delta": {"content": f"tok{i} "}}]}).encode()


def test_tokens_are_counted_from_json_deltas_and_time_the_first_token():
    server = StreamingServer(0.05, 0.01, 11, event=delta)  # 10 tokens after the role delta
    url = server.start()
    try:
        reqs = [{"path": "/v1/chat/completions", "method": "POST", "json": {"stream": True},
                 "stream": "sse", "tokens": "json:$.choices[0].delta.content"}]  # fmt: skip
        agg = asyncio.run(run_engine(scenario(reqs, load={"users": 1, "requests": 2}), url))
    finally:
        server.stop()
    span = stream_span(agg)
    st = span.stats(2.0).stream
    assert st.events == 2 * 11 and st.tokens == 2 * 10
    assert st.tokens_per_s == pytest.approx(20 / 2.0)  # over the span's seconds
    # The first token is the second event, sent 10 ms after the role-only one (60 ms
    # after the request): never earlier, though a busy machine may read it later.
    assert 60 - 1 <= st.ttft.p50 < 60 + 100, st.ttft
    assert span.stream.gaps.total == 2 * 9  # between tokens only
    assert st.gen_tokens == 2 * 9
    # one every 10 ms, over the tokens' own time (the wait for the first left out: else
    # about 60 a second)
    assert st.output_tokens_per_s == pytest.approx(100, rel=0.25)


def test_a_streamed_run_through_the_command_line_and_its_outputs(sse_server, tmp_path):
    """The scenario file, the worker process, the report (exact again from its
    histograms), thresholds, the summary, HTML, CSV and compare."""
    server, url = sse_server
    (tmp_path / "s.toml").write_text(
        f'name = "chat"\nhost = "{url}"\n[load]\nusers = 2\nrequests = 4\n'
        '[[requests]]\nname = "chat"\nmethod = "POST"\npath = "/chat"\njson = { stream = true }\n'
        'stream = "sse"\n'
        "[thresholds]\nttft_p95_ms = 150\ninter_event_p50_ms = 1\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "s.toml", "--no-ui", "--out", "r.json",
         "--html", "r.html", "--csv", "r"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the inter-event threshold fails, as set
    assert "Streams" in proc.stdout and "TTFT p95" in proc.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    stream = data["endpoints"][0]["stream"]
    assert (stream["streams"], stream["events"], stream["events_per_stream"]) == (4, 80, 20)
    assert 100 - 1 <= stream["ttft_ms"]["p50"] <= 100 + 25
    assert data["summary"]["stream"]["events"] == 80
    assert data["histograms"]["inter_event_endpoints"][0]["count"] == 4 * 19
    checks = {t["label"]: t["passed"] for t in data["thresholds"]}
    assert checks == {"ttft_p95_ms <= 150": True, "inter_event_p50_ms <= 1": False}
    result = RunResult.from_report(data)
    st = result.endpoints[0].stats.stream
    assert st is not None and st.inter_event.p50 == pytest.approx(10, abs=2)
    assert "<h2>Streams</h2>" in (tmp_path / "r.html").read_text()
    header, row = (tmp_path / "r_stats.csv").read_text().splitlines()[:2]
    assert header.endswith("TTFT Median,TTFT 95%,Inter-event Median,Inter-event 95%,"
                           "Events/Stream,Tokens/s")  # fmt: skip
    assert row.split(",")[-2] == "20.0"
    rows = {r.metric: r for r in compare(result, result).rows if r.scope == "overall"}
    assert rows["ttft_p95_ms"].label == "TTFT P95" and "inter_event_p95_ms" in rows


# ------------------------------------------------------------------- in scripts

SCRIPT = """
import json
from tui_loadtest.script import task

@task
async def chat(user):
    times = []
    text = ""
    async for event in user.stream("POST", "/v1/chat", json={"q": "hi"}, name="chat",
                                   tokens="json:$.choices[0].delta.content"):
        times.append(event.elapsed)
        text += event.json()["choices"][0]["delta"].get("content", "")
    with open("SEEN", "a") as out:  # the test's file (run_script names it)
        out.write(json.dumps([times, text]) + "\\n")
"""

EARLY = """
from tui_loadtest.script import task

@task
async def early(user):
    async for event in user.stream("GET", "/chat", name="chat"):
        break  # the rest is read in the background
    r = await user.get("/after", name="after")  # waits for the stream's end
    assert r.status == 200
"""


def run_script(tmp_path, text: str, url: str, requests: int):
    from dataclasses import replace

    from tui_loadtest.scenario import LoadSpec, script_scenario

    path = tmp_path / "users.py"
    seen = tmp_path / "seen.jsonl"
    path.write_text(text.replace("SEEN", str(seen)), encoding="utf-8")
    sc = script_scenario(path)
    sc = replace(sc, load=LoadSpec(users=1, spawn_rate=100, requests=requests))
    agg = asyncio.run(run_engine(sc, url))
    lines = seen.read_text().splitlines() if seen.exists() else []
    return agg, [json.loads(line) for line in lines]


def test_a_script_iterates_events_with_their_arrival_times_recorded_under_its_name(tmp_path):
    server = StreamingServer(0.05, 0.01, 11, event=delta)
    url = server.start()
    try:
        agg, seen = run_script(tmp_path, SCRIPT, url, requests=2)
    finally:
        server.stop()
    assert len(seen) == 2
    for times, text in seen:
        assert len(times) == 11 and text == "".join(f"tok{i} " for i in range(1, 11))
        assert times == sorted(times) and 0.05 <= times[0] < 0.1  # a connect in the first
        # ten gaps of 10 ms: the last event never before 150 ms (a first read that came
        # late shortens the span, so the span is bounded above only)
        assert times[-1] >= 0.15 - 0.001 and times[-1] - times[0] <= 0.1 + 0.05
    spans = dict(zip(agg.endpoint_keys, agg.cumulative, strict=True))
    span = spans[("POST", "chat")]
    st = span.stats(1.0).stream
    assert (st.streams, st.events, st.tokens) == (2, 22, 20) and span.failures == 0
    assert 60 - 1 <= st.ttft.p50 < 60 + 100  # the first token: the second event
    assert not agg.error_rows()


def test_a_scripts_stream_left_early_is_read_to_its_end_before_the_next_request(
    tmp_path, sse_server
):
    server, url = sse_server
    agg, _ = run_script(tmp_path, EARLY, url, requests=4)
    spans = dict(zip(agg.endpoint_keys, agg.cumulative, strict=True))
    chat, after = spans[("GET", "chat")], spans[("GET", "after")]
    assert chat.requests == after.requests == 2 and not agg.error_rows()
    assert chat.stream.events == 2 * EVENTS  # every event recorded, though not read


def test_a_scripts_cut_stream_raises_request_error_from_its_loop(tmp_path):
    server = StreamingServer(0.02, 0.005, 20, cut_after=4)
    url = server.start()
    try:
        agg, _ = run_script(tmp_path, EARLY.replace("break", "pass"), url, requests=1)
    finally:
        server.stop()
    rows = {(r.kind, r.endpoint): r for r in agg.error_rows()}
    assert rows[("stream", "chat")].message == "stream cut after 4 events: the connection closed"
    assert ("script", "early") not in rows  # a RequestError ends the task, counted once
    assert agg.flows[0].failed == 1


# ------------------------------------------------------------------ the demo API


def test_the_demo_streams_its_answers_and_configs_stream_toml_reads_them(demo_server):
    """The packaged example against the demo: every streamed answer ends with [DONE],
    its tokens are the content deltas, the figures match the demo's delays."""
    from dataclasses import replace

    from tui_loadtest.examples import example
    from tui_loadtest.scenario import LoadSpec, load_scenario

    demo_server.reset()
    sc = load_scenario(str(example("stream").resource))
    sc = replace(sc, load=LoadSpec(users=4, spawn_rate=100, requests=24))
    agg = asyncio.run(run_engine(sc, demo_server.url))
    spans = dict(zip(agg.endpoint_keys, agg.cumulative, strict=True))
    span = spans[("POST", "POST /api/agents/{id}/query (stream)")]
    st = span.stats(1.0).stream
    served = demo_server.stats()["by_route"]
    assert served["POST /api/agents/{id}/query (stream)"] == span.requests == st.streams
    assert not agg.error_rows() and span.failures == 0
    # a token per content delta; the role-only first delta and the finish one carry none
    assert st.tokens >= 20 * st.streams and st.events == st.tokens + 2 * st.streams
    assert 60 <= st.ttft.p50 <= 400  # the demo's first token: ~120 ms median
    assert 5 <= st.inter_event.p50 <= 40  # ~15 ms between tokens
    assert st.output_tokens_per_s > 20
