"""Responses by HTTP status, and bytes sent and received, counted by the engine and
checked against what a real loopback server saw and wrote (issue 16, item 11)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter

import pytest

from tests.engine_harness import run_engine, scenario
from tui_loadtest.report.json_report import read_report
from tui_loadtest.report.text import run_summary

pytestmark = pytest.mark.anyio

STATUS = {"/ok": 200, "/made": 201, "/busy": 503, "/gone": 404}
REASON = {200: b"OK", 201: b"Created", 503: b"Service Unavailable", 404: b"Not Found"}


class CountingServer:
    """Answers each path with its status; counts the bytes it read and the statuses it sent."""

    def __init__(self) -> None:
        self.read = 0
        self.written = 0
        self.statuses: Counter[int] = Counter()
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.read += len(head) + len(body)
                path = head.split(b" ", 2)[1].decode().split("?")[0]
                status = STATUS.get(path, 404)
                payload = b"x" * (status % 97)
                response = (
                    b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n"
                    % (status, REASON[status], len(payload))
                ) + payload
                self.statuses[status] += 1
                self.written += len(response)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def counting():
    server = CountingServer()
    url = await server.start()
    yield server, url
    await server.stop()


REQUESTS = [
    {"path": "/ok", "weight": 4},
    {"method": "POST", "path": "/made", "json": {"item": "a" * 50}, "weight": 2},
    {"path": "/busy?id={id}", "weight": 1, "vars": {"id": ["1", "22", "333"]}},
    {"path": "/gone", "weight": 1},
]


def statuses_of(agg) -> dict[int, int]:
    return dict(agg.total_span().statuses)


@pytest.mark.parametrize("transport", ["fast", "httpx"])
async def test_statuses_and_bytes_match_what_the_server_saw(counting, transport):
    server, url = counting
    sc = scenario(REQUESTS, load={"users": 3, "requests": 300}, http={"transport": transport})
    agg = await run_engine(sc, url)
    span = agg.total_span()
    assert span.requests == 300 == sum(server.statuses.values())
    assert statuses_of(agg) == dict(server.statuses)
    assert set(server.statuses) == {200, 201, 503, 404}  # every path was hit
    assert span.bytes_sent == server.read
    assert span.failures == server.statuses[503] + server.statuses[404]
    # Per endpoint too: each endpoint answers with one status only.
    for (method, name), ep in zip(agg.endpoint_keys, agg.cumulative, strict=True):
        path = name.split(" ", 1)[1].split("?")[0]
        assert set(ep.statuses) <= {STATUS[path]}, (method, name)
    if transport == "fast":
        assert span.bytes_received == server.written


async def test_the_open_model_counts_statuses_and_bytes_sent_too(counting):
    server, url = counting
    load = {"mode": "arrival-rate", "rate": 200, "max_users": 20, "requests": 150}
    sc = scenario(REQUESTS, load=load)
    agg = await run_engine(sc, url)
    assert statuses_of(agg) == dict(server.statuses)
    assert agg.total_span().bytes_sent == server.read
    assert sum(server.statuses.values()) == 150


async def test_no_response_has_no_status(counting):
    _, url = counting
    sc = scenario([{"path": "/ok"}], load={"users": 1, "requests": 3})
    agg = await run_engine(sc, url.rsplit(":", 1)[0] + ":1")  # a refused port
    span = agg.total_span()
    assert span.requests == span.failures == 3
    assert statuses_of(agg) == {} and span.bytes_sent == 0


def test_the_summary_and_the_json_report_have_the_new_figures(tmp_path, demo_url):
    """A real headless run: the text shows P50, max, statuses and bytes; the JSON keeps them."""
    out = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "--headless", "-n", "200", "-u", "4",
         "--host", demo_url, "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    summary = report["summary"]
    codes = {int(k): v for k, v in summary["status_codes"].items()}
    assert (
        sum(codes.values()) + sum(e["count"] for e in report["errors"] if e.get("status") is None)
        == summary["requests"]
    )
    assert summary["bytes_sent"] > 200 * 40 and summary["bytes_received"] > 0
    per_endpoint = Counter()
    for ep in report["endpoints"]:
        per_endpoint.update({int(k): v for k, v in ep["status_codes"].items()})
    assert dict(per_endpoint) == codes
    text = run.stdout
    assert "Median (P50) Response Time:" in text and "Max Response Time:" in text
    assert f"200: {codes[200]:,}" in text
    assert "sent," in text and "received" in text

    result = read_report(out)  # read back: the same figures
    assert dict(result.summary.statuses) == codes
    assert result.summary.bytes_sent == summary["bytes_sent"]
    assert "Status Codes: 200:" in run_summary(result)


def test_200s_are_worked_out_from_the_counts():
    from tui_loadtest.engine.recording import SLOTS, record, statuses

    h = [0] * SLOTS
    for v, status in ((300, 200), (900, 201), (70_000, 503), (5, 200), (12, 200)):
        record(h, v, 10, status)
    record(h, 40, 0)  # a service-time sample carries no status and is not a response here
    assert statuses(h) == [(200, 4), (201, 1), (503, 1)]  # the status-less sample reads as 200
    assert statuses([0] * SLOTS) == []
