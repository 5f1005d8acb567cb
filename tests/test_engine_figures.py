"""The engine's figures hold against a server that counts what it received: each
second is a wall-clock second, partial and paused seconds do not distort rates,
and the users reported are the users that ran."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tui_loadtest.engine.recording import SUM_SLOT
from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.stats.aggregate import WorkerDelta

from .engine_harness import scenario

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class CountingServer:
    """Answers every request at once and counts them, from its own thread and event
    loop: it keeps answering while the engine's loop is busy."""

    def __init__(self) -> None:
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> str:
        self.thread.start()
        self.ready.wait(10)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                writer.write(OK)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def counting():
    server = CountingServer()
    url = server.start()
    yield server, url
    server.stop()


def recorded(engine: WorkerEngine) -> int:
    """Responses recorded so far in the engine's current second."""
    return sum(sum(h[:SUM_SLOT]) for h in engine.buf.hist)


def responses(d: WorkerDelta) -> int:
    return sum(sum(c for _, c in e.buckets) for e in d.endpoints)


async def test_a_second_holds_what_completed_in_it_not_the_loops_batch(counting):
    """The loop is frozen from 0.8 s to 1.3 s with responses waiting in its sockets.
    They complete after 1.3 s, so second 0 holds exactly what was recorded before the
    freeze, even though the loop handles them before the tick timer runs."""
    server, url = counting
    sc = scenario([{"path": "/ok"}], load={"users": 20, "spawn_rate": 100_000})
    deltas: list[WorkerDelta] = []
    engine = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
    seen: dict[str, int] = {}

    def freeze() -> None:
        seen["before"] = recorded(engine)
        # Sleep to 1.3 s of the engine's clock: responses pile up meanwhile.
        time.sleep(max(0.0, engine.start_ns / 1e9 + 1.3 - time.perf_counter_ns() / 1e9))

    loop = asyncio.get_running_loop()
    loop.call_later(0.8, freeze)
    loop.call_later(2.5, engine.stop)
    await asyncio.wait_for(engine.run(), 30)
    assert deltas[0].tick == 0 and seen["before"] > 0
    assert responses(deltas[0]) == seen["before"]
    assert sum(map(responses, deltas)) == server.requests
