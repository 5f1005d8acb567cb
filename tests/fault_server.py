"""A fault-injecting HTTP server on loopback, in its own process.

Its own process, so that a test can count the file descriptors of the process
running the engine (``/proc/self/fd``) without the server's sockets in the count,
and so that a test can signal a ``tui-loadtest`` subprocess that talks to it.

The server misbehaves in one ``mode`` at a time (``set_mode`` also zeroes its
counts) and counts what it saw: connections accepted and request heads read. It
can also die (stop listening and drop every connection) and come back on the same
port. Every exchange with it goes over a pipe, so its counts are its own, never
the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import socket
import struct
import threading
from multiprocessing.connection import Connection
from typing import Any

OK_BODY = b"ok"
BIG_HEADER = 200 * 1024
BIG_BODY = 50 * 1024 * 1024
MODES = (
    "ok",  # 200, keep-alive unless the request says Connection: close
    "accept-close",  # accept the connection, close it before reading anything
    "rst-mid-body",  # half the body, then a TCP reset (SO_LINGER 0)
    "stall",  # read the request, never answer
    "drip",  # a 100-byte body, one byte per `drip_s` seconds
    "garbage",  # a status line that is not HTTP
    "huge-header",  # a 200 KB header line, then a 2-byte body
    "bad-chunk",  # chunked, with a chunk size that is not hex
    "big-body",  # a 50 MB body
    "premature-eof",  # Content-Length 100, 10 bytes, then FIN
    "split-head",  # HTTP/1.0 close-delimited, the head in two segments 50 ms apart
    "500",  # every response a 500
    "overlong",  # Content-Length 2, then 2 bytes and 9 more, in one write (keep-alive)
    "overlong-later",  # Content-Length 2 and its 2 bytes, then 9 more 30 ms later
    "bad-gzip",  # Content-Encoding: gzip, and a body that is not gzip
)
EXTRA = b"EXTRA!!!\n"


def _response_head(status: str, length: int | None, extra: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status}\r\n".encode()
    if length is not None:
        head += f"Content-Length: {length}\r\n".encode()
    return head + extra + b"\r\n"


class _Server:
    """The child's asyncio side."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.params: dict[str, Any] = {}
        self.connections = 0
        self.requests = 0
        self.port = 0
        self.server: asyncio.base_events.Server | None = None
        self.idle: set[asyncio.StreamWriter] = set()  # connections between two requests
        self.dying = False

    async def listen(self) -> int:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(1024)
        self.server = await asyncio.start_server(self._serve, sock=sock)
        self.port = sock.getsockname()[1]
        return self.port

    async def die(self) -> None:
        """Stop listening; close idle connections now and busy ones after their response,
        so that every request the server read is answered (and counted on both sides)."""
        self.dying = True
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.idle):
            writer.close()

    async def revive(self) -> int:
        self.dying = False
        return await self.listen()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.mode == "accept-close" or self.dying:
                return
            while True:
                self.idle.add(writer)
                head = await reader.readuntil(b"\r\n\r\n")
                self.idle.discard(writer)
                if writer.is_closing():  # closed by die() as the request came: never read
                    break
                length = 0
                close = False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"connection":
                        close = value.strip().lower() == b"close"
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                if not await self._respond(reader, writer) or close or self.dying:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.idle.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def _respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        mode, w = self.mode, writer.write
        if mode == "ok":
            w(_response_head("200 OK", len(OK_BODY)) + OK_BODY)
        elif mode == "500":
            w(_response_head("500 Internal Server Error", 4) + b"oops")
        elif mode == "bad-gzip":
            w(_response_head("200 OK", 9, b"Content-Encoding: gzip\r\n") + b"not gzip!")
        elif mode == "overlong":
            w(_response_head("200 OK", len(OK_BODY)) + OK_BODY + EXTRA)
        elif mode == "overlong-later":
            w(_response_head("200 OK", len(OK_BODY)) + OK_BODY)
            await writer.drain()
            await asyncio.sleep(0.03)
            w(EXTRA)
        elif mode == "rst-mid-body":
            w(_response_head("200 OK", 100) + b"x" * 50)
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif mode == "stall":
            await reader.read()  # until the client gives up and closes
            return False
        elif mode == "drip":
            w(_response_head("200 OK", 100))
            for _ in range(100):
                await writer.drain()
                await asyncio.sleep(float(self.params.get("drip_s", 1.0)))
                w(b"x")
        elif mode == "garbage":
            w(b"SPLAT\r\n\r\n")
            await writer.drain()
            return False
        elif mode == "huge-header":
            w(_response_head("200 OK", 2, b"X-Huge: " + b"h" * BIG_HEADER + b"\r\n") + b"ok")
        elif mode == "bad-chunk":
            w(_response_head("200 OK", None, b"Transfer-Encoding: chunked\r\n") + b"zz\r\nhello")
            await writer.drain()
            return False
        elif mode == "big-body":
            w(_response_head("200 OK", BIG_BODY))
            block = b"b" * (1024 * 1024)
            for _ in range(BIG_BODY // len(block)):
                await writer.drain()
                w(block)
        elif mode == "premature-eof":
            w(_response_head("200 OK", 100) + b"only ten b")
            await writer.drain()
            return False
        elif mode == "split-head":
            w(b"HTTP/1.0 200 OK\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
            w(b"Content-Type: text/plain\r\n\r\nsplit-head body")
            await writer.drain()
            return False
        await writer.drain()
        return True


def _child(conn: Connection) -> None:
    loop = asyncio.new_event_loop()
    server = _Server()
    conn.send(loop.run_until_complete(server.listen()))

    async def handle(msg: tuple) -> Any:
        op = msg[0]
        if op == "mode":
            server.mode, server.params = msg[1], dict(msg[2])
            server.connections = server.requests = 0
            return None
        if op == "stats":
            return {"connections": server.connections, "requests": server.requests}
        if op == "die":
            await server.die()
            return None
        if op == "revive":
            return await server.revive()
        raise ValueError(op)

    def control() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "stop":
                break
            conn.send(asyncio.run_coroutine_threadsafe(handle(msg), loop).result())
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=control, daemon=True).start()
    loop.run_forever()


class FaultServer:
    """The parent's handle: ``url``, ``set_mode``, ``stats``, ``die``, ``revive``, ``stop``."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child,), daemon=True, name="fault-server")
        self._proc.start()
        child.close()
        self._lock = threading.Lock()
        if not self._conn.poll(30):
            raise RuntimeError("the fault server did not start")
        self.port: int = self._conn.recv()
        self.url = f"http://127.0.0.1:{self.port}"

    def _ask(self, *msg: Any) -> Any:
        with self._lock:
            self._conn.send(msg)
            return self._conn.recv()

    def set_mode(self, mode: str, **params: Any) -> None:
        assert mode in MODES, mode
        self._ask("mode", mode, params)

    def stats(self) -> dict[str, int]:
        return self._ask("stats")

    def die(self) -> None:
        self._ask("die")

    def revive(self) -> None:
        self._ask("revive")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(("stop",))
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._conn.close()
