"""Loopback servers for engine and run tests, each counting what it received."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class LoopbackServer:
    """A server on 127.0.0.1 run from its own thread and event loop, so it keeps
    answering while the engine's loop is busy; subclasses write ``_serve``."""

    def __init__(self) -> None:
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> str:
        self.thread.start()
        self.ready.wait(10)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Close the connections still open (their handlers run their cleanup on this
        loop, not at garbage collection after it closed), then stop the thread."""
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.thread.join(10)

    async def _shutdown(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.loop.call_soon(self.loop.stop)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class CountingServer(LoopbackServer):
    """Answers every request at once and counts them, from its own thread and event
    loop: it keeps answering while the engine's loop is busy."""

    def __init__(self, respond: bool = True) -> None:
        self.respond = respond  # False: read requests, never answer (a stalled target)
        self.requests = 0
        self.connections = 0
        # per connection: when it was accepted and when it closed (perf_counter_ns)
        self.opened: list[int] = []
        self.closed: list[int] = []
        self._changed = threading.Condition()
        super().__init__()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every connection the server accepted has closed."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.closed) == self.connections, timeout)

    def wait_connections(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until the server has accepted ``count`` connections."""
        with self._changed:
            return self._changed.wait_for(lambda: self.connections >= count, timeout)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._changed:
            self.connections += 1
            self.opened.append(time.perf_counter_ns())
            self._changed.notify_all()
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                if self.respond:
                    writer.write(OK)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with self._changed:
                self.closed.append(time.perf_counter_ns())
                self._changed.notify_all()
            writer.close()


class HoldingServer(LoopbackServer):
    """Holds every response for ``hold_s`` and counts the requests it holds at once:
    the concurrency the target really saw (``peak``), whatever the load tester says."""

    def __init__(self, hold_s: float, status: int = 200, fail_every: int = 0) -> None:
        self.hold_s = hold_s
        self.response = _answer(status)
        self.fail_every = fail_every  # every n-th request gets a 500 (0: none)
        self.requests = 0
        self.failed = 0  # the 500s sent
        self.in_flight = 0
        self.peak = 0  # the most requests held at once
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                failed = self.fail_every and self.requests % self.fail_every == 0
                self.failed += bool(failed)
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                try:
                    await asyncio.sleep(self.hold_s)
                finally:
                    self.in_flight -= 1
                writer.write(_answer(500) if failed else self.response)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _answer(status: int) -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode()


def response(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 response with its Content-Length."""
    lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RoutesServer(LoopbackServer):
    """Answers each path (without its query) with its own response, 404 otherwise, and
    logs every request as (method, target, headers, body), in order."""

    def __init__(self, routes: dict[str, bytes], delays: dict[str, float] | None = None) -> None:
        self.routes = routes
        self.delays = delays or {}  # path -> seconds its answer is held
        self.log: list[tuple[str, str, dict[str, str], bytes]] = []
        # beside each entry of the log: when it arrived (time.monotonic()) and on which
        # connection (numbered as they were accepted)
        self.times: list[float] = []
        self.connections: list[int] = []
        self._accepted = 0
        super().__init__()

    def seen(self, path: str) -> list[tuple[float, int]]:
        """(arrival time, connection) of every request for ``path``, in order."""
        return [
            (t, c)
            for (_, target, _, _), t, c in zip(self.log, self.times, self.connections, strict=False)
            if target.split("?")[0] == path
        ]

    def hits(self, path: str) -> int:
        """Requests received for ``path`` (without its query)."""
        return sum(1 for _, target, _, _ in self.log if target.split("?")[0] == path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._accepted += 1
        connection = self._accepted
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                self.times.append(arrived)
                self.connections.append(connection)
                self.log.append((method, target, headers, body))
                path = target.split("?")[0]
                if path in self.delays:
                    await asyncio.sleep(self.delays[path])
                found = self.routes.get(path)
                writer.write(found if found is not None else response(404, b"no"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class SlowBodyServer(LoopbackServer):
    """Sends each response's head at once and its body ``body_after_s`` later: its time
    to first byte is the head's, its latency the body's. Counts what it answered."""

    def __init__(self, body_after_s: float) -> None:
        self.body_after_s = body_after_s
        self.responses = 0
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
                await asyncio.sleep(self.body_after_s)
                self.responses += 1  # before the body: no client can see it uncounted
                writer.write(b"ok")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class StreamingServer(LoopbackServer):
    """Answers every request with server-sent events at known times: the first
    ``first_s`` after the request, then one every ``gap_s``, ``events`` in all, then
    ``data: [DONE]`` one gap later (chunked, as SSE servers send). ``cut_after``: close
    the connection after that many events instead. ``event`` makes each event's data.
    Counts the events it wrote and the streams it finished."""

    def __init__(
        self,
        first_s: float,
        gap_s: float,
        events: int,
        *,
        cut_after: int | None = None,
        event: Callable[[int], bytes] | None = None,
    ) -> None:
        self.first_s = first_s
        self.gap_s = gap_s
        self.events = events
        self.cut_after = cut_after
        self.event = event or (lambda i: b'{"n": %d}' % i)
        self.written = 0  # events written, over every stream
        self.finished = 0  # streams that reached [DONE]
        self.cut = 0  # streams cut
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                start = loop.time()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                if request.startswith(b"HEAD "):  # the head alone
                    continue
                for i in range(self.events + 1):
                    # Each at its own time from the start: late wake-ups do not add up.
                    await asyncio.sleep(
                        max(0.0, start + self.first_s + i * self.gap_s - loop.time())
                    )
                    if i == self.cut_after:
                        self.cut += 1
                        writer.close()
                        return
                    data = self.event(i) if i < self.events else b"[DONE]"
                    frame = b"data: " + data + b"\n\n"
                    writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                    self.written += i < self.events
                writer.write(b"0\r\n\r\n")
                self.finished += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
