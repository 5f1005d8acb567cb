"""A small HTTP proxy on loopback that counts what passes through it: ``CONNECT``
tunnels (https targets) and requests in absolute form (plain-http targets).

Enough of a proxy for the tests' clients, which write each request in one piece: a
request line in absolute form is rewritten to origin form on its way up, and bytes
are piped both ways. Run from its own thread and event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading

_ABSOLUTE = re.compile(rb"^([A-Z]+) http://([^/ ]+)(/[^ ]*) HTTP/1\.1\r\n")


class CountingProxy:
    def __init__(self, require_auth: str | None = None) -> None:
        self.require_auth = require_auth  # the Proxy-Authorization value it insists on
        self.tunnels: list[str] = []  # CONNECT authorities, one per tunnel
        self.forwarded: list[str] = []  # absolute-form request targets
        self.refused = 0
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.thread.start()
        self.ready.wait(10)
        return self.url

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
        }
        given = headers.get(b"proxy-authorization", b"").decode()
        if self.require_auth is not None and given != self.require_auth:
            self.refused += 1
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        if head.startswith(b"CONNECT "):
            authority = head.split(b" ", 2)[1].decode()
            host, _, port = authority.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            self.tunnels.append(authority)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await self._pipe(reader, writer, up_reader, up_writer, rewrite=False)
            return
        m = _ABSOLUTE.match(head)
        if m is None:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        host, _, port = m.group(2).decode().rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port or 80))
        self.forwarded.append(m.group(2).decode() + m.group(3).decode())
        up_writer.write(self._origin_form(head))
        await self._pipe(reader, writer, up_reader, up_writer, rewrite=True)

    def _origin_form(self, data: bytes) -> bytes:
        return _ABSOLUTE.sub(lambda m: m.group(1) + b" " + m.group(3) + b" HTTP/1.1\r\n", data)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
        rewrite: bool,
    ) -> None:
        async def up() -> None:
            while data := await reader.read(65536):
                if rewrite and (m := _ABSOLUTE.match(data)):
                    self.forwarded.append(m.group(2).decode() + m.group(3).decode())
                    data = self._origin_form(data)
                up_writer.write(data)
            up_writer.close()

        async def down() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
            writer.close()

        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await asyncio.gather(up(), down())
