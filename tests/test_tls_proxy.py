"""TLS options and proxies on the fast transport (issue 22): a CA file, a client
certificate the server insists on, the server name for a target given by address,
``-k``, and HTTP proxies (absolute form for http, CONNECT tunnels for https), each
against real loopback servers that count what they received."""

from __future__ import annotations

import asyncio
import base64
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.scenario import parse_scenario

from .engine_harness import run_engine, totals
from .proxy_server import CountingProxy

trustme = pytest.importorskip("trustme")


class TLSServer:
    """Answers every request with 200 over TLS; records the server names it was asked for
    (SNI) and the Host headers it got."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.names: list[str | None] = []
        self.hosts: list[str] = []
        self.requests = 0
        context.sni_callback = self._sni  # type: ignore[assignment]

    def _sni(self, sock: Any, name: str | None, ctx: Any) -> None:
        self.names.append(name)

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"https://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"host:"):
                        self.hosts.append(line[5:].strip().decode())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
def ca() -> Any:
    return trustme.CA()


def server_context(ca: Any, name: str = "127.0.0.1", client_auth: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(ctx)
    if client_auth:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    return ctx


@pytest.fixture
async def tls_server(ca: Any) -> AsyncIterator[TLSServer]:
    server = TLSServer(server_context(ca))
    await server.start()
    yield server
    await server.stop()


def scenario(url: str, **http: Any) -> Any:
    data = {"host": url, "load": {"users": 2, "requests": 10}, "requests": [{"path": "/x"}]}
    return parse_scenario({**data, "http": http}, "t.toml")


def ca_file(ca: Any, folder: Path) -> str:
    path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.mark.anyio
async def test_a_ca_file_makes_the_certificate_trusted(
    tls_server: TLSServer, ca: Any, tmp_path: Path
) -> None:
    url = f"https://127.0.0.1:{tls_server.port}"
    agg = await run_engine(scenario(url, ca_file=ca_file(ca, tmp_path)), url)
    assert totals(agg) == (10, 0, {}) and tls_server.requests == 10
    agg = await run_engine(scenario(url), url)  # the default trust store does not know it
    requests, failures, kinds = totals(agg)
    assert set(kinds) == {"tls"} and requests == failures == 10


@pytest.mark.anyio
async def test_a_client_certificate_the_server_requires(ca: Any, tmp_path: Path) -> None:
    server = TLSServer(server_context(ca, client_auth=True))
    url = await server.start()
    try:
        client = ca.issue_cert("load-tester")
        cert = tmp_path / "client.pem"
        client.private_key_and_cert_chain_pem.write_to_path(str(cert))
        trusted = ca_file(ca, tmp_path)
        agg = await run_engine(scenario(url, ca_file=trusted, client_cert=str(cert)), url)
        assert totals(agg) == (10, 0, {}) and server.requests == 10
        agg = await run_engine(scenario(url, ca_file=trusted), url)  # without one: refused
        requests, failures, kinds = totals(agg)
        assert requests == failures == 10 and set(kinds) <= {"tls", "reset", "protocol"}
        assert server.requests == 10
    finally:
        await server.stop()


@pytest.mark.anyio
async def test_server_name_for_a_target_given_by_address(ca: Any, tmp_path: Path) -> None:
    server = TLSServer(server_context(ca, name="api.example.test"))
    url = await server.start()
    try:
        trusted = ca_file(ca, tmp_path)
        sc = scenario(url, ca_file=trusted, server_name="api.example.test")
        agg = await run_engine(sc, url)
        assert totals(agg) == (10, 0, {})
        assert set(server.names) == {"api.example.test"}
        assert set(server.hosts) == {f"api.example.test:{server.port}"}
        agg = await run_engine(scenario(url, ca_file=trusted), url)  # the certificate's name
        _, _, kinds = totals(agg)
        assert set(kinds) == {"tls"}
    finally:
        await server.stop()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.anyio
async def test_insecure_on_run_url_and_bench(tls_server: TLSServer, tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{tls_server.port}/x"
    run = await asyncio.to_thread(cli, "run", url, "-k", "--no-ui", "-n", "5", "-c", "1")
    assert run.returncode == 0, run.stderr
    out = str(tmp_path / "r.json")
    bench = await asyncio.to_thread(cli, "bench", url, "5", "1", "--insecure", "--out", out)
    assert bench.returncode == 0, bench.stderr
    assert tls_server.requests == 10
    plain = await asyncio.to_thread(cli, "run", url, "--no-ui", "-n", "2", "-c", "1")
    assert plain.returncode == 3  # unreachable for every request: the certificate
    assert "certificate" in plain.stdout + plain.stderr
    assert "backlog" not in plain.stdout  # advice about certificates, not listen queues


# --------------------------------------------------------------------- proxies


@pytest.fixture
def proxy() -> Any:
    p = CountingProxy()
    p.start()
    yield p
    p.stop()


@pytest.mark.anyio
async def test_plain_http_goes_through_the_proxy_in_absolute_form(proxy: CountingProxy) -> None:
    from .servers import CountingServer

    server = CountingServer()
    url = server.start()
    try:
        agg = await run_engine(scenario(url, proxy=proxy.url), url)
        assert totals(agg) == (10, 0, {})
        assert server.requests == 10
        assert len(proxy.forwarded) == 10 and all(t.endswith("/x") for t in proxy.forwarded)
        assert proxy.tunnels == []
    finally:
        server.stop()


@pytest.mark.anyio
async def test_https_goes_through_a_connect_tunnel(
    tls_server: TLSServer, proxy: CountingProxy, ca: Any, tmp_path: Path
) -> None:
    url = f"https://127.0.0.1:{tls_server.port}"
    sc = scenario(url, proxy=proxy.url, ca_file=ca_file(ca, tmp_path))
    agg = await run_engine(sc, url)
    assert totals(agg) == (10, 0, {}) and tls_server.requests == 10
    # one tunnel per connection (at most 2 users, keep-alive), nothing sent in the clear
    assert 1 <= len(proxy.tunnels) <= 2
    assert set(proxy.tunnels) == {f"127.0.0.1:{tls_server.port}"}
    assert proxy.forwarded == []


@pytest.mark.anyio
async def test_proxy_credentials_and_a_refusal() -> None:
    from .servers import CountingServer

    token = "Basic " + base64.b64encode(b"u:p@ss").decode()
    proxy = CountingProxy(require_auth=token)
    proxy.start()
    server = CountingServer()
    url = server.start()
    try:
        good = f"http://u:p%40ss@127.0.0.1:{proxy.port}"
        agg = await run_engine(scenario(url, proxy=good), url)
        assert totals(agg) == (10, 0, {})
        bad = f"http://u:wrong@127.0.0.1:{proxy.port}"
        agg = await run_engine(scenario(url, proxy=bad), url)
        requests, failures, kinds = totals(agg)
        assert requests == 10 and kinds == {"HTTP 407": 10}
    finally:
        server.stop()
        proxy.stop()


@pytest.mark.anyio
async def test_the_environment_proxy_and_no_proxy(proxy: CountingProxy, tmp_path: Path) -> None:
    from .servers import CountingServer

    server = CountingServer()
    url = server.start()
    try:
        import os

        env = {**os.environ, "HTTP_PROXY": proxy.url, "NO_PROXY": ""}
        done = await asyncio.to_thread(
            cli, "run", f"{url}/x", "--no-ui", "-n", "4", "-c", "1", env=env
        )
        assert done.returncode == 0, done.stderr
        assert len(proxy.forwarded) == 4 and server.requests == 4
        env["NO_PROXY"] = "127.0.0.1"
        done = await asyncio.to_thread(
            cli, "run", f"{url}/x", "--no-ui", "-n", "3", "-c", "1", env=env
        )
        assert done.returncode == 0, done.stderr
        assert len(proxy.forwarded) == 4 and server.requests == 7  # straight there
    finally:
        server.stop()
