"""The fast HTTP/1.1 client against a real loopback server that misbehaves on purpose.

Each path of :class:`QuirkyServer` produces one framing or failure case; the
engine runs with an exact request budget, and we check what it counted.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct

import pytest

from .engine_harness import run_engine, scenario, totals

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class QuirkyServer:
    """An asyncio server whose paths each produce one HTTP edge case."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        scheme = "https" if ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path = head.split(b" ", 2)[:2]
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                served += 1
                keep = await self._respond(method, path.decode(), served, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _respond(
        self, method: bytes, path: str, served: int, writer: asyncio.StreamWriter
    ) -> bool:
        w = writer.write
        if path == "/ok":
            w(OK)
        elif path == "/chunked":
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"5\r\nhello\r\n", b"6\r\n world\r\n", b"0\r\n\r\n"):
                await writer.drain()
                await asyncio.sleep(0.002)  # separate packets: the parser sees pieces
                w(part)
        elif path == "/close-delimited":
            w(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.002)
            w(b"x" * 300)
            await writer.drain()
            return False
        elif path == "/http10":
            w(b"HTTP/1.0 200 OK\r\n\r\nold-style body")
            await writer.drain()
            return False
        elif path == "/http10-split":
            # The head in two TCP segments, the body ending when the connection closes.
            w(b"HTTP/1.0 200 OK\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
            w(b"Server: old\r\n\r\nold-style body")
            await writer.drain()
            return False
        elif path == "/bad-chunk":
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n")
            await writer.drain()
            return False
        elif path == "/head":
            # A HEAD response announces a body it does not send.
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        elif path == "/204":
            w(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif path == "/304":
            w(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n")
        elif path == "/continue":
            w(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
            w(OK)
        elif path == "/conn-close":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            return False
        elif path == "/stall":
            await asyncio.sleep(30)
        elif path == "/truncated":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            await writer.drain()
            return False
        elif path == "/reset":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif path == "/stale":
            # The first request on a connection is answered; the second finds the
            # server has closed it, as when a keep-alive timeout races a new request.
            if served > 1:
                return False
            w(OK)
        elif path == "/garbage":
            w(b"SPLAT\r\n\r\n")
            await writer.drain()
            return False
        elif path == "/redirect":
            w(b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n")
        elif path == "/500":
            w(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
        else:
            w(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return True


@pytest.fixture
async def quirky():
    server = QuirkyServer()
    url = await server.start()
    yield server, url
    await server.stop()


def one(path: str, method: str = "GET", users: int = 2, requests: int = 20, **http):
    return scenario(
        [{"method": method, "path": path}],
        load={"users": users, "requests": requests},
        http={"timeout": "1s", "connect_timeout": "1s", **http},
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/ok", "GET"),
        ("/chunked", "GET"),
        ("/close-delimited", "GET"),
        ("/http10", "GET"),
        ("/http10-split", "GET"),
        ("/head", "HEAD"),
        ("/204", "GET"),
        ("/304", "GET"),
        ("/continue", "GET"),
        ("/conn-close", "GET"),
        ("/ok", "POST"),
    ],
)
async def test_well_formed_responses_all_succeed(quirky, path, method):
    server, url = quirky
    agg = await run_engine(one(path, method), url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures, kinds) == (20, 0, {})
    assert server.requests == 20
    assert agg.total_span().hist.total == 20  # every response has a latency


async def test_chunked_body_bytes_are_counted_not_kept(quirky):
    _, url = quirky
    agg = await run_engine(one("/chunked", requests=5), url)
    head = len(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    body = len(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert agg.total_span().bytes_received == 5 * (head + body)


async def test_close_delimited_body_is_read_to_the_end(quirky):
    _, url = quirky
    agg = await run_engine(one("/close-delimited", requests=4), url)
    head = len(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    assert agg.total_span().bytes_received == 4 * (head + 300)


async def test_keep_alive_reuses_one_connection_per_user(quirky):
    server, url = quirky
    sc = scenario(
        [{"path": "/ok"}],
        load={"users": 3, "spawn_rate": 1000, "requests": 60, "think_time": "0.01s"},
    )
    await run_engine(sc, url)
    assert server.connections == 3


async def test_connection_close_reconnects_for_every_request(quirky):
    server, url = quirky
    await run_engine(one("/conn-close", users=2, requests=10), url)
    assert server.connections == 10


async def test_keepalive_false_sends_connection_close(quirky):
    server, url = quirky
    agg = await run_engine(one("/ok", users=1, requests=5, keepalive=False), url)
    assert totals(agg)[:2] == (5, 0)
    assert server.connections == 5


async def test_stale_keepalive_connection_is_retried_once(quirky):
    server, url = quirky
    agg = await run_engine(one("/stale", users=1, requests=6), url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures) == (6, 0), kinds
    # every second request met a closed connection and was resent on a new one
    assert server.connections == 6


async def test_stall_times_out(quirky):
    _, url = quirky
    sc = scenario(
        [{"path": "/stall"}],
        load={"users": 2, "requests": 2},
        http={"timeout": "0.3s", "connect_timeout": "1s"},
    )
    agg = await run_engine(sc, url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures, kinds) == (2, 2, {"timeout": 2})
    assert "0.3s" in agg.error_rows()[0].message


async def test_reset_mid_body_is_a_reset(quirky):
    _, url = quirky
    agg = await run_engine(one("/reset", users=1, requests=3), url)
    assert totals(agg) == (3, 3, {"reset": 3})


async def test_truncated_body_is_a_protocol_error(quirky):
    _, url = quirky
    agg = await run_engine(one("/truncated", users=1, requests=3), url)
    assert totals(agg) == (3, 3, {"protocol": 3})


async def test_garbage_is_a_protocol_error(quirky):
    _, url = quirky
    agg = await run_engine(one("/garbage", users=1, requests=3), url)
    assert totals(agg) == (3, 3, {"protocol": 3})


async def test_bad_chunk_size_is_a_protocol_error(quirky):
    _, url = quirky
    agg = await run_engine(one("/bad-chunk", users=1, requests=3), url)
    assert totals(agg) == (3, 3, {"protocol": 3})


@pytest.mark.parametrize("path", ["/ok", "/conn-close", "/garbage", "/bad-chunk", "/http10"])
async def test_a_stop_counts_exactly_what_the_server_received(quirky, path):
    """Many users opening connections when the run stops (no keep-alive, or servers
    that close, send garbage or a bad chunk size): a connection still being opened
    sent nothing, so it is not a request; nothing is counted that the server did not
    receive, and the run ends without waiting out the (long) timeouts."""
    server, url = quirky
    sc = scenario(
        [{"path": path}],
        load={"users": 60, "spawn_rate": 100_000, "run_time": "1m"},
        http={"keepalive": False, "timeout": "60s", "connect_timeout": "60s"},
    )
    # Stop once the server has a request (a fixed delay found none on a busy machine);
    # the timeout is short of the 60 s a phantom request would wait.
    agg = await run_engine(sc, url, stop_when=lambda: server.requests > 0, timeout=30)
    requests, failures, kinds = totals(agg)
    assert requests == server.requests > 0
    assert "timeout" not in kinds
    if path in ("/ok", "/conn-close", "/http10"):
        assert (failures, kinds) == (0, {})


async def test_http_errors_are_counted_with_latency(quirky):
    _, url = quirky
    agg = await run_engine(one("/500", requests=8), url)
    assert totals(agg) == (8, 8, {"HTTP 500": 8})
    assert agg.total_span().hist.total == 8


async def test_expect_status_decides_success(quirky):
    _, url = quirky
    sc = scenario(
        [{"path": "/nothing-here", "expect_status": [404]}], load={"users": 1, "requests": 4}
    )
    agg = await run_engine(sc, url)
    assert totals(agg) == (4, 0, {})


async def test_refused_port_is_counted_and_backs_off():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        sc = scenario([{"path": "/"}], load={"users": 2, "run_time": "5s"})
        agg = await run_engine(sc, f"http://127.0.0.1:{port}", stop_after=0.5)
    requests, failures, kinds = totals(agg)
    assert requests == failures > 0
    assert set(kinds) == {"refused"}
    # backing off from 50 ms: a couple of attempts per user, not thousands
    assert requests < 40
    assert agg.connects == 0


async def test_tls_with_and_without_verification(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    server = QuirkyServer()
    url = await server.start(server_ctx)
    try:
        agg = await run_engine(one("/ok", users=2, requests=6, verify_tls=False), url)
        assert totals(agg) == (6, 0, {})
        # our own CA is not trusted by the default context: verification must fail
        sc = one("/ok", users=1, requests=2, verify_tls=True)
        agg = await run_engine(sc, url, stop_after=2.0)
        requests, failures, kinds = totals(agg)
        assert set(kinds) == {"tls"} and requests == failures > 0
        assert "certificate" in agg.error_rows()[0].message
    finally:
        await server.stop()


# -- the httpx transport: for HTTP/2, redirects and proxies ------------------


async def test_httpx_transport_counts_like_the_fast_one(quirky):
    server, url = quirky
    sc = scenario(
        [{"path": "/ok", "weight": 3}, {"path": "/500"}, {"path": "/chunked"}],
        load={"users": 3, "requests": 60},
        http={"transport": "httpx", "timeout": "2s"},
    )
    agg = await run_engine(sc, url)
    requests, failures, kinds = totals(agg)
    assert requests == 60 == server.requests
    assert set(kinds) == {"HTTP 500"} and failures == kinds["HTTP 500"] > 0
    assert agg.total_span().hist.total == 60


async def test_httpx_transport_follows_redirects(quirky):
    _, url = quirky
    sc = scenario(
        [{"path": "/redirect"}],
        load={"users": 1, "requests": 5},
        http={"transport": "httpx", "follow_redirects": True},
    )
    agg = await run_engine(sc, url)
    assert totals(agg) == (5, 0, {})


async def test_httpx_transport_refused_and_timeout(quirky):
    _, url = quirky
    sc = scenario(
        [{"path": "/stall"}],
        load={"users": 1, "requests": 1},
        http={"transport": "httpx", "timeout": "0.3s"},
    )
    agg = await run_engine(sc, url)
    assert totals(agg) == (1, 1, {"timeout": 1})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sc = scenario([{"path": "/"}], load={"users": 1}, http={"transport": "httpx"})
        agg = await run_engine(sc, f"http://127.0.0.1:{port}", stop_after=0.3)
    requests, failures, kinds = totals(agg)
    assert set(kinds) == {"refused"} and requests == failures > 0
