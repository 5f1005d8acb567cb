"""Every fault a target can throw at the engine, against one fault-injecting loopback
server (tests/fault_server.py, in its own process).

Each case runs the real engine in this process (tests/engine_harness.py) for a run
time, stops it as the coordinator would, and asserts:

- the classification: the error kinds the engine counted;
- exact counts against the server's own count (request heads it read, or
  connections it accepted);
- the end time: the run ends within 1 s of its stop (a stall or a drip may add its
  timeout: requests in flight finish, up to the timeout);
- no growth in this process's file descriptors (``/proc/self/fd``): every socket
  the engine opened is closed.

Two engine bugs that issue 10 named were found here (item 1: a user whose connect
completed after the stop was counted as a timeout and held the run one connect_timeout
longer; item 3: a head split across TCP segments failed). So that a regression shows
every time rather than by chance, the runs over a run time whose fault costs a
connection per request are stopped while a user is connecting, the moment item 1
needed (a real run meets it at random); a run with a request budget checks the same
classification and counts without that moment.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tui_loadtest.engine.worker_engine import WorkerEngine

from .engine_harness import run_engine, scenario, totals
from .fault_server import BIG_BODY, BIG_HEADER, FaultServer

pytestmark = pytest.mark.anyio

RUN_S = 1.5
TIMEOUT_S = 1.0
HTTP = {"timeout": f"{TIMEOUT_S}s", "connect_timeout": "1s"}
# Faults after which the engine opens a new connection for every request: a stop will
# sooner or later come while a user is connecting (issue 10 item 1).
RECONNECTING = {
    "accept-close": "reset",
    "rst-mid-body": "reset",
    "garbage": "protocol",
    "bad-chunk": "protocol",
    "premature-eof": "protocol",
}


@pytest.fixture(scope="module")
def server():
    srv = FaultServer()
    yield srv
    srv.stop()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def fds_before() -> int:
    """The count before a run, with what earlier tests left for the collector closed
    first, so that it does not close during the run and hide a leak."""
    gc.collect()
    return fd_count()


async def fds_back_to(before: int, within: float = 2.0) -> int:
    """Closed transports give their fd back on a later loop pass: await it, bounded."""
    deadline = time.monotonic() + within
    while fd_count() > before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return fd_count()


def after(seconds: float) -> Callable[[WorkerEngine], Awaitable[None]]:
    """Stop at the run time, as the coordinator does."""

    async def wait(engine: WorkerEngine) -> None:
        await asyncio.sleep(seconds)

    return wait


def while_connecting(seconds: float) -> Callable[[WorkerEngine], Awaitable[None]]:
    """Stop at the run time, at the first moment a user is opening a connection."""

    async def wait(engine: WorkerEngine) -> None:
        await asyncio.sleep(seconds)
        deadline = time.monotonic() + 5
        while not any(getattr(u, "connecting", None) for u in engine.users):
            assert time.monotonic() < deadline, "no user ever connecting"
            await asyncio.sleep(0)  # one loop pass

    return wait


async def run_case(
    server: FaultServer,
    mode: str,
    *,
    load: dict[str, Any],
    http: dict[str, Any] | None = None,
    control: Callable[[WorkerEngine], Awaitable[None]] | None = None,
    **params: Any,
) -> tuple[tuple[int, int, dict[str, int]], dict[str, int], float, int, Any]:
    """((requests, failures, kinds), server counts, seconds from stop to end, fd growth, agg)."""
    server.set_mode(mode, **params)
    sc = scenario([{"path": "/fault"}], load={"spawn_rate": 10_000, **load}, http=http or HTTP)
    before = fds_before()
    seen: dict[str, Any] = {}
    agg = await run_engine(sc, server.url, seen=seen, control=control, timeout=60)
    ended = time.monotonic()
    grown = await fds_back_to(before) - before
    tail = ended - seen["stopped_mono"] if "stopped_mono" in seen else 0.0
    return totals(agg), server.stats(), tail, grown, agg


# ---------------------------------------------- the faults that keep a connection


async def test_stall_times_out_each_request_once(server):
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server, "stall", load={"users": 4}, control=after(RUN_S)
    )
    assert kinds == {"timeout": requests} and failures == requests
    assert requests == seen["requests"] == 8  # each user: one at 0 s, one at 1 s
    assert tail <= TIMEOUT_S + 1.0  # the stalled requests finish at their timeout
    assert grown <= 0  # no socket left open


async def test_a_drip_cannot_stretch_the_timeout(server):
    """One byte every 0.25 s: each byte arrives well within the timeout, the response
    never completes; the timeout bounds the whole exchange, not the silence."""
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server, "drip", load={"users": 4}, control=after(RUN_S), drip_s=0.25
    )
    assert kinds == {"timeout": requests} and failures == requests
    assert requests == seen["requests"] == 8
    assert tail <= TIMEOUT_S + 1.0
    assert grown <= 0  # no socket left open


async def test_a_200_kb_header_is_a_response_and_its_bytes_count(server):
    (requests, failures, kinds), seen, tail, grown, agg = await run_case(
        server, "huge-header", load={"users": 2}, control=after(RUN_S)
    )
    assert (failures, kinds) == (0, {})
    assert requests == seen["requests"] > 0
    head = len(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Huge: \r\n\r\n") + BIG_HEADER
    assert agg.total_span().bytes_received == requests * (head + 2)
    assert seen["connections"] == 2  # kept alive
    assert tail <= 1.0
    assert grown <= 0  # no socket left open


async def test_a_50_mb_body_is_counted_not_kept(server):
    (requests, failures, kinds), seen, tail, grown, agg = await run_case(
        server,
        "big-body",
        load={"users": 2},
        http={"timeout": "30s", "connect_timeout": "1s"},
        control=after(RUN_S),
    )
    assert (failures, kinds) == (0, {})
    assert requests == seen["requests"] > 0
    head = len(f"HTTP/1.1 200 OK\r\nContent-Length: {BIG_BODY}\r\n\r\n".encode())
    assert agg.total_span().bytes_received == requests * (head + BIG_BODY)
    assert tail <= 1.0  # a body in flight at the stop finishes: 50 MB is quick on loopback
    assert grown <= 0  # no socket left open


async def test_every_response_a_500(server):
    (requests, failures, kinds), seen, tail, grown, agg = await run_case(
        server, "500", load={"users": 3}, control=after(RUN_S)
    )
    assert kinds == {"HTTP 500": requests} and failures == requests
    assert requests == seen["requests"] > 0
    assert agg.total_span().hist.total == requests  # a 500 is a response: it has a latency
    assert seen["connections"] == 3
    assert tail <= 1.0
    assert grown <= 0  # no socket left open


async def test_a_server_that_dies_and_comes_back(server):
    """The server stops listening and closes its connections (after the response in
    flight), then listens again on the same port: refused meanwhile, served after."""
    server.set_mode("ok")
    users = 3
    sc = scenario(
        [{"path": "/fault"}],
        load={"users": users, "spawn_rate": 10_000, "think_time": "0.02s"},
        http=HTTP,
    )
    marks: dict[str, int] = {}

    async def outage(engine: WorkerEngine) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.5)
        await loop.run_in_executor(None, server.die)
        await asyncio.sleep(0.5)
        marks.update(server.stats())
        await loop.run_in_executor(None, server.revive)
        deadline = time.monotonic() + 10  # every user back on a connection (backoff ≤ 1 s)
        while server.stats()["connections"] < marks["connections"] + users:
            assert time.monotonic() < deadline, "the users never came back"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # served on the new connections

    before = fds_before()
    seen: dict[str, Any] = {}
    agg = await run_engine(sc, server.url, seen=seen, control=outage, timeout=60)
    tail = time.monotonic() - seen["stopped_mono"]
    grown = await fds_back_to(before) - before
    requests, failures, kinds = totals(agg)
    served = server.stats()
    assert set(kinds) == {"refused"} and kinds["refused"] == failures > 0
    # Every request the server read was answered, and nothing else reached it.
    assert requests - failures == served["requests"]
    assert served["requests"] > marks["requests"] > 0  # served before and after
    assert tail <= 1.0
    assert grown <= 0  # no socket left open


# ------------------------------------------ the faults that cost a connection each


@pytest.mark.parametrize(("mode", "kind"), sorted(RECONNECTING.items()))
async def test_fault_classified_and_counted_exactly(server, mode, kind):
    """A budget of requests: no stop in the middle of a connect (see the module doc)."""
    (requests, failures, kinds), seen, _, grown, _ = await run_case(
        server, mode, load={"users": 5, "requests": 300}
    )
    assert (requests, failures, kinds) == (300, 300, {kind: 300})
    counted = "connections" if mode == "accept-close" else "requests"
    assert seen[counted] == 300 == seen["connections"]
    assert grown <= 0  # no socket left open


@pytest.mark.parametrize(("mode", "kind"), sorted(RECONNECTING.items()))
async def test_fault_over_a_run_time(server, mode, kind):
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server, mode, load={"users": 10}, control=while_connecting(RUN_S)
    )
    assert kinds == {kind: requests} and failures == requests > 0
    if mode == "accept-close":
        # The server closes before reading, so it cannot tell a request from a
        # connection the stop overtook (at most one per user, sent nothing).
        assert seen["connections"] - 10 <= requests <= seen["connections"]
    else:
        assert requests == seen["requests"]
    assert tail <= 1.0
    assert grown <= 0  # no socket left open


async def test_keepalive_off_by_budget(server):
    (requests, failures, kinds), seen, _, grown, _ = await run_case(
        server,
        "ok",
        load={"users": 20, "requests": 500},
        http={**HTTP, "keepalive": False},
    )
    assert (requests, failures, kinds) == (500, 0, {})
    assert seen["requests"] == seen["connections"] == 500
    assert grown <= 0  # no socket left open


async def test_keepalive_off_over_a_run_time(server):
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server,
        "ok",
        load={"users": 20},
        http={**HTTP, "keepalive": False},
        control=while_connecting(RUN_S),
    )
    assert (failures, kinds) == (0, {})
    assert requests == seen["requests"] > 0
    assert tail <= 1.0
    assert grown <= 0  # no socket left open


async def test_split_head_by_budget(server):
    """HTTP/1.0, close-delimited, ``HTTP/1.0 200 OK\\r\\n`` then 50 ms then the rest."""
    # Nothing here should time out: a generous timeout, so that a busy machine that
    # stalls the server's process for a second (2 timeouts at load 6) is no failure.
    (requests, failures, kinds), seen, _, grown, agg = await run_case(
        server, "split-head", load={"users": 2, "requests": 20},
        http={"timeout": "30s", "connect_timeout": "30s"},
    )  # fmt: skip
    assert (requests, failures, kinds) == (20, 0, {})
    assert seen["requests"] == 20
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    assert agg.total_span().bytes_received == 20 * len(head + b"split-head body")
    assert grown <= 0  # no socket left open


async def test_split_head_over_a_run_time(server):
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server, "split-head", load={"users": 10}, control=while_connecting(RUN_S)
    )
    assert (failures, kinds) == (0, {})
    assert requests == seen["requests"] > 0
    assert tail <= 1.0
    assert grown <= 0  # no socket left open


SPLIT_SCRIPT = """
from tui_loadtest.script import task

@task
async def fetch(user):
    r = await user.get("/fault", name="fault")
    if r.status != 200 or r.text != "split-head body":
        user.fail(f"got {r.status} {r.text!r}")
"""


async def test_a_script_reads_a_split_head_too(server, tmp_path):
    """The same split close-delimited head, through a Python user script's transport."""
    from dataclasses import replace

    from tui_loadtest.scenario import LoadSpec, script_scenario

    server.set_mode("split-head")
    path = tmp_path / "users.py"
    path.write_text(SPLIT_SCRIPT, encoding="utf-8")
    sc = script_scenario(path)
    sc = replace(sc, load=LoadSpec(users=2, spawn_rate=100, requests=20),
                 http=replace(sc.http, timeout_s=30.0, connect_timeout_s=30.0))  # fmt: skip
    before = server.stats()["requests"]
    agg = await run_engine(sc, server.url, timeout=60)
    assert not agg.error_rows()
    counted = {name: s.requests for (_, name), s in zip(agg.endpoint_keys, agg.endpoint_stats(),
                                                        strict=True)}  # fmt: skip
    assert counted == {"fault": 20}
    assert server.stats()["requests"] - before == 20


async def test_a_capturing_flow_step_reads_a_split_head_too(server):
    """The same split close-delimited head, on a flow step that keeps its response to
    capture from it (the flow transport keeps chunks its own way), and the next step
    uses the value."""
    from tui_loadtest.scenario import parse_scenario

    server.set_mode("split-head")
    sc = parse_scenario(
        {
            "name": "split flow",
            "host": "http://127.0.0.1:1",
            "flows": [{"name": "f", "steps": [
                {"path": "/fault", "capture": {"word": "regex:split-(head) body"}},
                {"path": "/fault?w={word}"},
            ]}],
            "load": {"users": 2, "requests": 20, "spawn_rate": 100},
            "http": {"timeout": "30s", "connect_timeout": "30s"},
        },
        "split.toml",
        env={},
    )  # fmt: skip
    before = server.stats()["requests"]
    agg = await run_engine(sc, server.url, timeout=60)
    assert not agg.error_rows()
    assert sum(s.requests for s in agg.endpoint_stats()) == 20
    assert server.stats()["requests"] - before == 20


# ---------------------------------------------- a server that sends more than it says


async def test_bytes_after_a_response_close_the_connection_and_are_not_a_response(server):
    """Content-Length 2, then 9 bytes more in the same write: the request sent right
    after the response, on that connection, fails as ``protocol`` (the server has it;
    its answer cannot be read); the extra bytes themselves are never a response. Our
    count equals the server's."""
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server, "overlong", load={"users": 2, "requests": 40}
    )
    assert requests == seen["requests"] == 40
    assert set(kinds) == {"protocol"} and 0 < failures < requests
    assert tail <= 1.0 and grown <= 0


async def test_bytes_on_an_idle_connection_close_it_silently(server):
    """9 bytes 30 ms after a complete response, while the user thinks: not a response,
    not a failure; the next request goes on a new connection."""
    (requests, failures, kinds), seen, tail, grown, _ = await run_case(
        server,
        "overlong-later",
        load={"users": 2, "requests": 12, "think_time": "0.1s"},
    )
    assert (failures, kinds) == (0, {})
    assert requests == seen["requests"] == 12
    assert seen["connections"] == 12  # each connection dropped after its extra bytes
    assert grown <= 0
