"""The engines on a Dask cluster: :class:`DaskPool`, the second :class:`WorkerPool`.

The coordinator (``Run``) merges, publishes and reports exactly as with local
processes; this pool places one engine per Dask worker and relays between them.
How a run goes (docs/cluster.md, "How it works"):

1. :meth:`DaskPool.connect` starts a ``LocalCluster`` (``local:N``) or connects to a
   scheduler and picks the workers (spread over hosts), before the run is planned:
   the number of engines decides the shares.
2. :meth:`DaskPool.start` puts an :class:`~.engine_host.EngineHost` actor on each,
   and shakes hands: versions must match ours (a clear error, before any load),
   and each worker's clock offset and round trip are measured. Then every actor
   starts its engine (the scenario travels pickled; a user script as its text).
3. :meth:`go` sends each engine the agreed start instant on its own clock.
4. One coroutine per engine on the client's event loop long-polls its actor's
   :meth:`~.engine_host.EngineHost.drain` and hands the raw bytes to
   :meth:`receive`, which the coordinator's merge thread calls: decoding happens
   there, never on Dask's loop. Nothing is sent per request: one delta per engine
   per second, bounded in size (docs/architecture.md, "Per-second deltas").
5. A worker is lost when its engine's process ends without a word, when its actor
   cannot be reached, or when no delta came for :data:`LOST_S` seconds; it ends
   with ``Ended(reason="lost")`` and the run goes on without it (or stops:
   ``--on-worker-loss``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import queue
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Future as ThreadFuture
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import dask.config
import distributed

from ..engine.pool import (
    LOST_S,
    Control,
    Delta,
    Ended,
    EndReason,
    PoolError,
    PoolMessage,
    WorkerInfo,
    decode,
    last_line,
)
from ..engine.shares import WorkerShare
from ..scenario import Scenario
from ..stats.aggregate import WorkerDelta
from . import handshake
from .engine_host import EngineHost
from .shipping import script_files

CONNECT_TIMEOUT_S = 30.0  # reaching the scheduler, and waiting for the workers asked for
START_TIMEOUT_S = 120.0  # actors placed and every engine ready
CALL_TIMEOUT_S = 5.0  # control calls to every engine, all told
DRAIN_WAIT_S = 1.0  # an actor's drain waits this long for a message before answering
LEAD_MIN_S = 0.1  # go's instant lies at least this far ahead, and 3 round trips

_DATA, _END, _GONE = "data", "end", "gone"


class DaskPool:
    """Engines on a Dask cluster's workers, one per worker (``local:N`` or an address).

    Call :meth:`connect` first (it says how many engines the run gets), then use it as
    any :class:`~tui_loadtest.engine.pool.WorkerPool`; :meth:`close` (or :meth:`kill`)
    ends the engines and lets go of the cluster.
    """

    def __init__(
        self,
        address: str,
        workers: int | None = None,
        *,
        lost_s: float = LOST_S,
        wait_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.address = address
        self.wait_s = wait_s  # for the workers asked for (Locust's --master waits longer)
        self.requested = workers
        self.lost_s = lost_s
        self.lead_s = LEAD_MIN_S
        self.log_path: str | None = None
        self.where = f"Dask cluster {address}"
        self._cluster: Any = None
        self._client: Any = None
        self._workers: list[str] = []  # the Dask workers picked, in engine order
        self._worker_hosts: dict[str, str] = {}  # Dask worker address -> its host (IP)
        self._futures: list[Any] = []  # the actors' futures: dropping one ends its actor
        self._actors: list[Any] = []
        self._info: list[WorkerInfo] = []
        self._live: set[int] = set()
        self._last_tick: list[int] = []
        # when each engine's last message reached us (monotonic), set on the client's loop:
        # a merge thread kept busy elsewhere does not make a worker look silent
        self._heard: list[float] = []
        self.relayed_bytes: list[int] = []  # per engine: its messages, as relayed (pickled)
        self._go_mono: float | None = None
        self._inbox: queue.SimpleQueue[tuple[int, str, Any]] = queue.SimpleQueue()
        self._pending: list[PoolMessage] = []
        self._pumps: list[ThreadFuture[None]] = []
        self._recv_lock = threading.RLock()
        self._killing = False
        self._closed = False
        self._stopping = False  # the pumps' signal to stop asking

    # -- connecting -------------------------------------------------------------------
    def connect(self) -> int:
        """Reach (or start) the cluster and pick its workers; return how many engines.

        Raises :class:`PoolError` with one line when the cluster cannot be used.
        """
        if self.address.startswith("tls://"):
            _check_tls_settings()
        self.log_path = _quiet_dask_logging()
        local = _local_size(self.address)
        want = self.requested
        try:
            if local is not None:
                if want is not None and want > local:
                    raise PoolError(f"--cluster-workers {want}: local:{local} has {local} workers")
                self._cluster = _start_local_cluster(local, self.log_path)
                self._client = distributed.Client(self._cluster, direct_to_workers=True)
                # Out of our process group: Ctrl+C in the terminal is ours to handle.
                self._client.run(os.setpgid, 0, 0)
            else:
                self._client = distributed.Client(
                    self.address,
                    timeout=CONNECT_TIMEOUT_S,
                    direct_to_workers=True,  # deltas go straight to us, not via the scheduler
                )
            self._client.wait_for_workers(want or 1, timeout=self.wait_s)
            info = _workers_info(self._client)
        except PoolError:
            self.close()
            raise
        except (TimeoutError, distributed.TimeoutError) as exc:
            count = self._worker_count()
            self.close()
            if count is None:
                raise PoolError(
                    f"cannot reach the Dask scheduler at {self.address} within "
                    f"{CONNECT_TIMEOUT_S:g} s ({_reason(exc)})"
                ) from None
            raise PoolError(
                f"the Dask scheduler at {self.address} has {count} worker(s), "
                f"not the {want or 1} asked for, after {self.wait_s:g} s"
            ) from None
        except OSError as exc:
            self.close()
            raise PoolError(
                f"cannot reach the Dask scheduler at {self.address}: {_reason(exc)}"
            ) from None
        self._worker_hosts = {addr: str(w.get("host", "")) for addr, w in info.items()}
        self._workers = pick_workers(self._worker_hosts, want)
        return len(self._workers)

    def _worker_count(self) -> int | None:
        if self._client is None or self._client.status != "running":
            return None
        with contextlib.suppress(Exception):
            return len(_workers_info(self._client))
        return None

    # -- starting -----------------------------------------------------------------------
    def start(self, scenario: Scenario, host: str, shares: Sequence[WorkerShare]) -> None:
        if self._client is None:
            self.connect()
        if len(shares) > len(self._workers):
            raise PoolError(f"{len(shares)} engines asked, the cluster has {len(self._workers)}")
        self._workers = self._workers[: len(shares)]
        try:
            self._check_target(host)
            self._place_actors()
            self._handshake()
            self._start_engines(scenario, host, shares)
        except PoolError:
            self._abort()
            raise
        except Exception as exc:  # noqa: BLE001 - Dask's errors, one line for the user
            self._abort()
            raise PoolError(f"the cluster could not start the engines: {_reason(exc)}") from None
        self._live = set(range(len(shares)))
        self._last_tick = [-1] * len(shares)
        self._heard = [0.0] * len(shares)
        self.relayed_bytes = [0] * len(shares)
        loop = self._client.loop.asyncio_loop
        self._pumps = [
            asyncio.run_coroutine_threadsafe(self._pump(i, actor), loop)
            for i, actor in enumerate(self._actors)
        ]

    def _abort(self) -> None:
        """Starting failed: end whatever engines did start, and let go of the cluster."""
        futures = []
        for actor in self._actors:
            with contextlib.suppress(Exception):
                futures.append(actor.kill(0.0))
        _wait_all(futures)
        self.close()

    def _check_target(self, url: str) -> None:
        """A loopback target is each machine's own: only workers on this machine reach ours."""
        host = urlsplit(url).hostname or ""
        if not _is_loopback(host):
            return
        for addr in self._workers:
            if not _is_loopback(self._worker_hosts.get(addr, "")):
                raise PoolError(
                    f"the target {url} is on loopback, which the Dask worker {addr} (another "
                    "machine) cannot reach: give --host an address the workers can reach"
                )

    def _place_actors(self) -> None:
        client = self._client
        self._futures = [
            client.submit(
                EngineHost,
                actor=True,
                workers=[addr],
                allow_other_workers=False,
                pure=False,
                key=f"tui-loadtest-engine-{i}-{os.getpid()}-{time.time_ns()}",
            )
            for i, addr in enumerate(self._workers)
        ]
        actors = []
        for addr, fut in zip(self._workers, self._futures, strict=True):
            try:
                actors.append(fut.result(timeout=START_TIMEOUT_S))
            except ModuleNotFoundError as exc:
                raise PoolError(
                    f"the Dask worker {addr} cannot run tui-loadtest {handshake.hello()['tool']} "
                    f"({exc}): install the same version on every worker "
                    "(pip install 'tui-loadtest[cluster]'); no load was sent"
                ) from None
        self._actors = actors

    def _handshake(self) -> None:
        """Versions (a clear error before any load) and each worker's clock."""
        ours = handshake.hello()

        async def measure(actor: Any) -> tuple[dict[str, Any], float, float]:
            samples = []
            theirs: dict[str, Any] = {}
            for _ in range(handshake.CLOCK_SAMPLES):
                sent = time.time()
                theirs = await actor.hello()
                samples.append((sent, float(theirs["time"]), time.time()))
            offset, rtt = handshake.clock_offset(samples)
            return theirs, offset, rtt

        async def measure_all() -> list[tuple[dict[str, Any], float, float]]:
            return list(await asyncio.gather(*(measure(a) for a in self._actors)))

        results = self._on_loop(measure_all(), START_TIMEOUT_S)
        self._info = []
        for i, (addr, (theirs, offset, rtt)) in enumerate(zip(self._workers, results, strict=True)):
            why = handshake.mismatch(ours, theirs)
            if why is not None:
                raise PoolError(
                    f"the Dask worker {addr} ({theirs.get('host')}) {why}: install the same "
                    "tui-loadtest and Python everywhere; no load was sent"
                )
            self._info.append(
                WorkerInfo(
                    i,
                    str(theirs.get("host", "")),
                    None,
                    clock_offset_s=offset,
                    rtt_s=rtt,
                    address=addr,
                )
            )
        worst = max((w.rtt_s or 0.0 for w in self._info), default=0.0)
        self.lead_s = max(LEAD_MIN_S, 3 * worst)

    def _start_engines(self, scenario: Scenario, host: str, shares: Sequence[WorkerShare]) -> None:
        code = scenario.script or scenario.locustfile
        files = script_files(code) if code is not None else None
        futures = [
            actor.start(scenario, host, share, files)
            for actor, share in zip(self._actors, shares, strict=True)
        ]
        for i, fut in enumerate(futures):
            try:
                ready = fut.result(timeout=START_TIMEOUT_S)
            except RuntimeError as exc:
                raise PoolError(
                    f"worker {i} ({self._info[i].host}, {self._workers[i]}): {exc}"
                ) from None
            self._info[i] = replace(
                self._info[i],
                state="ready",
                pid=ready.get("pid"),
                host=str(ready.get("host", self._info[i].host)),
            )

    # -- running ------------------------------------------------------------------------
    def go(self, at: float) -> None:
        futures = []
        for i, actor in enumerate(self._actors):
            futures.append(actor.control(("go", at + self._info[i].clock_offset_s)))
            self._info[i] = replace(self._info[i], state="running")
        self._go_mono = time.monotonic() + (at - time.time())
        _wait_all(futures)

    def send(self, msg: Control, worker: int | None = None) -> None:
        targets = range(len(self._actors)) if worker is None else [worker]
        # Sent to all at once; waiting for every answer keeps two messages in order.
        _wait_all([self._actors[i].control(msg) for i in targets if i in self._live])

    def running(self) -> bool:
        return bool(self._live or self._pending)

    async def _pump(self, i: int, actor: Any) -> None:
        """On the client's loop: hand engine ``i``'s messages to :meth:`receive`."""
        while not self._stopping:
            try:
                batch, end = await actor.drain(DRAIN_WAIT_S)
            except Exception as exc:  # noqa: BLE001 - the worker is gone, however it says so
                self._inbox.put((i, _GONE, _reason(exc)))
                return
            if batch:
                self._heard[i] = time.monotonic()
                self._inbox.put((i, _DATA, batch))
            if end is not None:
                self._inbox.put((i, _END, end))
                return

    def receive(self, timeout: float) -> list[PoolMessage]:
        with self._recv_lock:
            out, self._pending = self._pending, []
            if self._live and not out:
                with contextlib.suppress(queue.Empty):
                    self._take(self._inbox.get(timeout=timeout), out)
                    while True:
                        self._take(self._inbox.get_nowait(), out)
                self._check_silent(out)
        return out

    def _take(self, item: tuple[int, str, Any], out: list[PoolMessage]) -> None:
        i, kind, payload = item
        if i not in self._live:
            return  # already ended (declared lost, or done): nothing of it counts any more
        if kind == _DATA:
            for data in payload:
                self.relayed_bytes[i] += len(data)
                msg = decode(data)
                if msg[0] == "delta":
                    delta: WorkerDelta = msg[1]
                    self._last_tick[i] = delta.tick
                    out.append(Delta(i, delta))
                elif msg[0] == "done":
                    self._end(i, Ended(i, "done", int(msg[1])), out)
                    return
                elif msg[0] == "fatal":
                    self._end(i, Ended(i, "failed", self._last_tick[i], msg[1]), out)
                    return
        else:
            reason: EndReason = "stopped" if self._killing else "lost"
            if kind == _END:
                text = f"the engine's process on {self._info[i].host} {payload['text']}"
            else:  # _GONE
                text = f"the Dask worker {self._workers[i]} cannot be reached ({payload})"
            self._end(i, Ended(i, reason, self._last_tick[i], text), out)

    def _end(self, i: int, ended: Ended, out: list[PoolMessage]) -> None:
        self._live.discard(i)
        self._info[i] = replace(self._info[i], state=ended.reason)
        out.append(ended)
        if ended.reason == "lost":
            self._end_engine(i)

    def _check_silent(self, out: list[PoolMessage]) -> None:
        """A worker whose deltas stopped coming for :data:`LOST_S` is lost."""
        if self._go_mono is None or self._killing:
            return
        now = time.monotonic()
        first_due = self._go_mono + 1.0  # the first delta covers the first second
        for i in sorted(self._live):
            if now - max(self._heard[i], first_due) > self.lost_s:
                where = f"{self._info[i].host} ({self._workers[i]})"
                text = f"no delta from {where} for {self.lost_s:g} s"
                self._end(i, Ended(i, "lost", self._last_tick[i], text), out)

    def _end_engine(self, i: int) -> None:
        """A lost engine may still be running (a broken network): ask it to end, without waiting."""
        with contextlib.suppress(Exception):
            self._actors[i].kill(0.0)

    # -- ending ---------------------------------------------------------------------------
    def kill(self, grace_s: float = 0.0) -> None:
        if self._killing:
            return
        self._killing = True
        futures = []
        for i in sorted(self._live):
            with contextlib.suppress(Exception):
                futures.append(self._actors[i].kill(grace_s))
        _wait_all(futures, grace_s + CALL_TIMEOUT_S)
        # What the engines sent before they ended is kept; then each ends once.
        deadline = time.monotonic() + DRAIN_WAIT_S + 1.0
        with self._recv_lock:
            while self._live and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    self._take(self._inbox.get(timeout=0.05), self._pending)
            for i in sorted(self._live):
                self._end(i, Ended(i, "stopped", self._last_tick[i]), self._pending)
        self._release()

    def _release(self) -> None:
        """Stop relaying and let go of the actors (the scheduler forgets them)."""
        self._stopping = True
        for pump in self._pumps:
            pump.cancel()
        self._futures = []

    def close(self) -> None:
        """End the engines and let go of the cluster: the client and (``local:N``) the
        cluster it started. Idempotent. Closing a LocalCluster takes a second or two,
        so the command line does it last, once the report is out."""
        if self._closed:
            return
        if not self._killing:
            self.kill()
        self._closed = True
        self._release()
        for part in (self._client, self._cluster):
            if part is not None:
                with contextlib.suppress(Exception), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    part.close()

    def info(self) -> list[WorkerInfo]:
        return list(self._info)

    # -- helpers ----------------------------------------------------------------------------
    def _on_loop(self, coro: Any, timeout: float) -> Any:
        """Run a coroutine on the client's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._client.loop.asyncio_loop).result(
            timeout
        )


def _wait_all(futures: Sequence[Any], timeout: float = CALL_TIMEOUT_S) -> None:
    """Wait for actor calls, ``timeout`` s for them all; a gone worker's call fails here and
    is told by :meth:`DaskPool.receive`."""
    deadline = time.monotonic() + timeout
    for fut in futures:
        with contextlib.suppress(Exception):
            fut.result(timeout=max(0.01, deadline - time.monotonic()))


def pick_workers(hosts: dict[str, str], want: int | None) -> list[str]:
    """``want`` of the workers (all when None), taken from each host in turn, so that a
    part of the cluster spreads over its machines rather than filling the first one."""
    by_host: dict[str, list[str]] = {}
    for addr in sorted(hosts):
        by_host.setdefault(hosts[addr], []).append(addr)
    order: list[str] = []
    queues = [list(addrs) for _, addrs in sorted(by_host.items())]
    while any(queues):
        for q in queues:
            if q:
                order.append(q.pop(0))
    return order if want is None else order[:want]


def _workers_info(client: Any) -> dict[str, Any]:
    """Every worker the scheduler knows (newer Dask lists a few unless asked for all)."""
    try:
        return dict(client.scheduler_info(n_workers=-1)["workers"])
    except TypeError:  # older Dask: no n_workers, and every worker listed
        return dict(client.scheduler_info()["workers"])


def _check_tls_settings() -> None:
    """``tls://`` needs a CA and this client's certificate, from Dask's own settings."""
    tls = dask.config.get("distributed.comm.tls")
    missing = [
        name
        for name, value in (
            ("CA_FILE", tls.get("ca-file")),
            ("CLIENT__CERT", tls.get("client", {}).get("cert")),
        )
        if not value
    ]
    if missing:
        names = " and ".join(f"DASK_DISTRIBUTED__COMM__TLS__{m}" for m in missing)
        raise PoolError(
            f"a tls:// scheduler needs Dask's TLS settings: set {names} (and "
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY), or the same in ~/.config/dask/ "
            "(docs/cluster.md, Security)"
        )


def _local_size(address: str) -> int | None:
    return int(address.removeprefix("local:")) if address.startswith("local:") else None


def _start_local_cluster(n: int, log_path: str) -> Any:
    """A LocalCluster of ``n`` one-thread worker processes on loopback, no dashboards.

    Its processes inherit our standard error while they start: it points at the log
    file meanwhile, so that nothing they print lands on the dashboard.
    """
    with _stderr_to(log_path):
        return distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            silence_logs=logging.WARNING,
        )


@contextlib.contextmanager
def _stderr_to(path: str) -> Iterator[None]:
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def _quiet_dask_logging() -> str:
    """Dask logs to standard error, where the dashboard is drawn: to a file instead."""
    fd, path = tempfile.mkstemp(prefix="tui-loadtest-dask-", suffix=".log")
    os.close(fd)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("distributed", "distributed.client", "distributed.gc", "bokeh", "tornado",
                 "tornado.application", "py.warnings"):  # fmt: skip
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False
    logging.captureWarnings(True)
    return path


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except (OSError, ValueError):
            return False


def _reason(exc: BaseException) -> str:
    text = last_line(str(exc)) if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
