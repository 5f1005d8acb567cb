"""Opening a user's connection: to the target, or through an HTTP proxy, with TLS as
the scenario says (its CA file, client certificate, server name, ``-k``).

Addresses are resolved once per origin and worker. An https target behind a proxy
is reached through a ``CONNECT`` tunnel: the proxy's answer is read by a small
protocol of its own, then TLS starts on the same socket and the user's connection
takes over.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..plan import Target

TUNNEL_HEAD_MAX = 16 * 1024


class ProxyRefused(ConnectionError):
    """The proxy answered CONNECT with something else than 2xx."""


def make_ssl_context(
    verify: bool,
    ca_file: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
) -> ssl.SSLContext:
    """One context per worker, shared by every connection. Raises ``ssl.SSLError`` or
    ``OSError`` for a certificate or key that cannot be used (said before any load)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client_cert:
        ctx.load_cert_chain(client_cert, client_key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Resolver:
    """Addresses by (host, port), resolved once per worker."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._addrs: dict[tuple[str, int], tuple[str, int]] = {}

    async def address(self, host: str, port: int) -> tuple[str, int]:
        key = (host, port)
        addr = self._addrs.get(key)
        if addr is None:
            infos = await self.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found = infos[0][4]
            addr = (str(found[0]), int(found[1]))
            self._addrs[key] = addr
        return addr


async def open_connection(
    loop: asyncio.AbstractEventLoop,
    protocol: asyncio.Protocol,
    target: Target,
    resolver: Resolver,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """Connect ``protocol`` to ``target`` (``connection_made`` is called with a transport
    that speaks to the target: plain, TLS, or TLS in a proxy's tunnel)."""
    if target.proxy is None:
        host, port = await resolver.address(target.host, target.port)
        kwargs: dict = {}
        if target.tls:
            kwargs = {"ssl": ssl_context, "server_hostname": target.server_name}
        await loop.create_connection(lambda: protocol, host, port, **kwargs)
        return
    host, port = await resolver.address(*target.proxy)
    if not target.tls:  # plain http: the requests go to the proxy in absolute form
        await loop.create_connection(lambda: protocol, host, port)
        return
    tunnel = Tunnel(target)
    transport, _ = await loop.create_connection(lambda: tunnel, host, port)
    try:
        await tunnel.established
        context = cast(ssl.SSLContext, ssl_context)
        tls = await loop.start_tls(transport, protocol, context, server_hostname=target.server_name)
    except BaseException:
        transport.abort()
        raise
    assert tls is not None
    protocol.connection_made(tls)


class Tunnel(asyncio.Protocol):
    """Asks an HTTP proxy for a tunnel to the target and waits for its answer."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.head = b""
        self.established: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        host, port = self.target.host, self.target.port
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if self.target.proxy_auth:
            lines.append(f"Proxy-Authorization: {self.target.proxy_auth}")
        cast(asyncio.Transport, transport).write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        if self.established.done():
            return
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > TUNNEL_HEAD_MAX:
                self.established.set_exception(ProxyRefused("the proxy's answer is too long"))
            return
        status_line = self.head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        parts = status_line.split(" ", 2)
        if len(parts) >= 2 and parts[1].startswith("2"):
            self.established.set_result(None)
        else:
            self.established.set_exception(
                ProxyRefused(f"the proxy refused the tunnel: {status_line.strip()}")
            )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.established.done():
            self.established.set_exception(
                exc or ConnectionResetError("the proxy closed the connection")
            )
