"""The one connection lifecycle (engine/users/connection.py), checked for every kind of
user on the fast transport against a real loopback server that sees each connection
open and close."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.scenario import Scenario, parse_scenario

from .servers import CountingServer

SCRIPT = """
from tui_loadtest.script import task

@task
async def one(user):
    await user.get("/s")
"""


ONE_USER = {"users": 1}


def plain(_: Path, url: str) -> Scenario:
    data = {"host": url, "load": ONE_USER, "requests": [{"path": "/p"}]}
    return parse_scenario(data, "t.toml")


def flow(_: Path, url: str) -> Scenario:
    steps = [{"path": "/a"}, {"path": "/b"}]
    data = {"host": url, "load": ONE_USER, "flows": [{"name": "f", "steps": steps}]}
    return parse_scenario(data, "t.toml")


def script(folder: Path, url: str) -> Scenario:
    (folder / "users.py").write_text(SCRIPT, encoding="utf-8")
    data = {"host": url, "load": ONE_USER, "script": "users.py"}
    return parse_scenario(data, str(folder / "s.toml"))


KINDS: dict[str, Callable[[Path, str], Scenario]] = {
    "plain": plain,
    "flow": flow,
    "script": script,
}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_connect_cancelled_after_the_connection_was_made_closes_it(
    kind: str, tmp_path: Path
) -> None:
    """The connect task is cancelled (a timeout or a stop) when the TCP connection is
    already made but the user has not taken it yet: the transport is closed at once,
    not left open for the garbage collector."""
    server = CountingServer()
    url = server.start()
    try:
        sc = KINDS[kind](tmp_path, url)
        engine = WorkerEngine(sc, url, make_shares(sc, 1)[0], lambda _: None)
        engine.loop = asyncio.get_running_loop()
        engine.tick_ns = 2**62
        real_connect = engine.connect
        made = asyncio.Event()

        async def connect_then_wait(conn: asyncio.Protocol, *where: object) -> None:
            await real_connect(conn, *where)  # type: ignore[arg-type]
            made.set()
            await asyncio.Event().wait()  # the cancel comes here, the transport made

        engine.connect = connect_then_wait  # type: ignore[method-assign]
        user = engine.user_class(engine)
        engine.add_user(user)
        user.start_request()
        await asyncio.wait_for(made.wait(), 10)
        assert await asyncio.to_thread(server.wait_connections, 1)
        assert not server.closed
        user.cancel()
        await asyncio.sleep(0)  # the cancelled task runs its handler
        closed = await asyncio.to_thread(server.wait_idle, 10)
        assert closed, f"{kind}: the connection made before the cancel was left open"
        assert server.requests == 0  # nothing was sent on it
    finally:
        server.stop()


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_user_that_cannot_connect_counts_a_failure_and_backs_off(
    kind: str, tmp_path: Path
) -> None:
    """Refused connects are failures of kind ``refused``, spaced by the back-off rather
    than retried in a spin."""
    from .engine_harness import run_engine, totals

    server = CountingServer()
    url = server.start()
    server.stop()  # nothing listens there any more
    sc = KINDS[kind](tmp_path, url)
    agg = await run_engine(sc, url, stop_after=1.0)
    requests, failures, kinds = totals(agg)
    assert set(kinds) == {"refused"}
    # back-off: 50, 100, 200, 400 ms... in one second, a handful of tries, not thousands
    assert 2 <= failures <= 8, failures
