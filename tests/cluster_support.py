"""A real Dask LocalCluster for the cluster tests, and a server that counts per connection.

The cluster starts once per test module (a few seconds on a busy machine), on loopback,
two worker processes of one thread each, as users are told to run theirs.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui_loadtest.engine.coordinator import Run
from tui_loadtest.engine.pool import Delta, PoolMessage

from .servers import LoopbackServer

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class PerConnectionServer(LoopbackServer):
    """Answers every request at once, counting requests per connection and when each
    connection closed: a killed engine's connections close when it dies, the survivors'
    only at the end of the run, so the server can tell what each side sent."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}  # connection number -> requests
        self.closed_at: dict[int, float] = {}  # connection number -> time.monotonic()
        self.paths: list[str] = []  # the first line of the first request of each connection
        self._next = 0
        super().__init__()

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = self._next
        self._next += 1
        self.counts[n] = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if self.counts[n] == 0:
                    self.paths.append(head.split(b" ", 2)[1].decode())
                self.counts[n] += 1
                writer.write(OK)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed_at[n] = time.monotonic()
            writer.close()


@pytest.fixture
def conn_server() -> Iterator[tuple[PerConnectionServer, str]]:
    srv = PerConnectionServer()
    url = srv.start()
    yield srv, url
    srv.stop()


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """One LocalCluster for the module: two worker processes, one thread each, loopback."""
    import distributed

    with warnings.catch_warnings():  # "Port 8787 is already in use": no dashboard is served
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        )
    yield cluster
    cluster.close()


class Recorder:
    """Keeps every message a pool hands the coordinator (for per-worker checks), with a
    condition to await them."""

    def __init__(self) -> None:
        self.seen: list[PoolMessage] = []
        self.changed = threading.Condition()

    def note(self, out: list[PoolMessage]) -> None:
        if out:
            with self.changed:
                self.seen.extend(out)
                self.changed.notify_all()

    def deltas(self, worker: int) -> list[Any]:
        with self.changed:
            return [m.delta for m in self.seen if isinstance(m, Delta) and m.worker == worker]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout), "timed out"


def recording_pool(address: str, **kwargs: Any) -> Any:
    """A DaskPool whose ``recorder`` keeps what it received (Dask is imported only here,
    not when the suite is collected)."""
    from tui_loadtest.cluster.dask_pool import DaskPool

    class RecordingPool(DaskPool):
        def __init__(self) -> None:
            super().__init__(address, **kwargs)
            self.recorder = Recorder()

        def receive(self, timeout: float) -> list[PoolMessage]:
            out = super().receive(timeout)
            self.recorder.note(out)
            return out

    return RecordingPool()


def wait_until(condition: Callable[[], bool], run: Run, timeout: float = 30.0) -> None:
    """Wait (on the run's own end event, in small steps) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        run.wait(0.02)


def responses(delta: Any) -> int:
    return sum(sum(c for _, c in e.buckets) for e in delta.endpoints)


class ShiftedClock:
    """Stands in for the ``time`` module in a worker's handshake: its clock ``by_s`` ahead."""

    def __init__(self, by_s: float) -> None:
        self.by_s = by_s

    def time(self) -> float:
        return time.time() + self.by_s


def shift_worker_clock(by_s: float) -> None:
    """Run on a Dask worker (``client.run``): its handshake reads a clock ``by_s`` ahead
    (0: its own again), as a machine whose clock is off would answer."""
    from tui_loadtest.cluster import handshake

    handshake.time = ShiftedClock(by_s) if by_s else time  # type: ignore[assignment]


def run_on_worker(address: str, worker: int, fn: Callable[..., Any], *args: Any) -> str:
    """``fn(*args)`` on the ``worker``-th Dask worker (by address order); its address. The
    function travels by value: the workers need not import the tests."""
    import cloudpickle
    import distributed

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with distributed.Client(address, set_as_default=False) as client:
            addr = sorted(client.scheduler_info(n_workers=-1)["workers"])[worker]
            client.run(fn, *args, workers=[addr])
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    return addr
