"""Several scenarios in one run (``[[scenarios]]``): real worker processes against a
loopback server that logs when and on which connection each request arrived."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest

from tui_loadtest.engine.coordinator import Run
from tui_loadtest.pipeline.gates import evaluate_thresholds
from tui_loadtest.scenario import Scenario, parse_scenario
from tui_loadtest.stats.result import RunResult

from .servers import RoutesServer, response

OK = response(200, b"ok")


def scenario(url: str, **sections: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "shop",
        "host": url,
        "requests": [{"name": "browse page", "path": "/a"}, {"name": "other", "path": "/d"}],
        "flows": [{"name": "checkout", "steps": [{"path": "/b"}, {"path": "/c"}]}],
    }
    data.update(sections)
    return parse_scenario(data, "shop.toml")


def finish(run: Run) -> tuple[RunResult, Run]:
    """Start ``run`` and wait for it to end by itself (its run time, its iterations)."""
    run.start()
    try:
        assert run.wait(30), "the run did not end by itself"
    finally:
        run.close()
    return run.result(), run


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until ``condition()`` holds (checked every 20 ms), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Server(RoutesServer):
    url: str


@pytest.fixture
def server() -> Any:
    srv = Server({"/a": OK, "/b": OK, "/c": OK, "/d": OK}, delays={"/a": 0.02})
    srv.url = srv.start()
    yield srv
    srv.stop()


def test_a_closed_and_an_arrival_rate_scenario_run_together(server: Server) -> None:
    """3 users browsing in a closed loop, and checkouts arriving at 40/s from 1 s on,
    on 2 workers: the server sees exactly 3 browsing connections, checkouts at 40/s from
    1 s (within 100 ms), and each scenario's counts are the server's for its paths."""
    sc = scenario(
        server.url,
        load={"run_time": "3s"},
        scenarios=[
            {"name": "browse", "users": 3, "requests": ["browse page"]},
            {"name": "buy", "rate": 40, "max_users": 10, "start": "1s", "flows": ["checkout"]},
        ],
        thresholds={"scenarios": {"buy": {"error_rate": 0}, "browse": {"p99_ms": 0.001}}},
    )
    result, run = finish(Run(sc, server.url, workers=2))
    assert run.worker_errors == [] and result.outcome["reason"] == "run time reached"

    browse, buy = result.scenario_groups()
    assert (browse.name, browse.mode, buy.name, buy.mode) == (
        "browse",
        "users",
        "buy",
        "arrival-rate",
    )
    assert browse.stats.requests == server.hits("/a") > 0
    assert buy.stats.requests == server.hits("/b") + server.hits("/c") > 0
    assert buy.iterations == server.hits("/b") and browse.iterations == 0
    rows = {(e.scenario, e.name): e.stats.requests for e in result.endpoints}
    assert rows == {
        ("browse", "browse page"): server.hits("/a"),
        ("buy", "GET /b"): server.hits("/b"),
        ("buy", "GET /c"): server.hits("/c"),
    }
    assert result.summary.requests == len(server.log)

    # the closed scenario's users held: 3 of them, each on its keep-alive connection
    assert len({c for _, c in server.seen("/a")}) == 3
    # the open scenario's rate held, measured from the server's arrival times
    # (the slope of a least-squares line through them: a hiccup of the server's thread
    # delays a few arrivals, but hardly tilts the line; a wrong rate does)
    arrivals = [t for t, _ in server.seen("/b")]
    assert len(arrivals) > 40
    rate = 1 / statistics.linear_regression(range(len(arrivals)), arrivals).slope
    assert rate == pytest.approx(40, rel=0.05), rate
    # and it started 1 s after the run did, within 100 ms
    assert run.start_mono is not None
    assert 1.0 - 0.005 <= arrivals[0] - run.start_mono < 1.1, arrivals[0] - run.start_mono

    gates = {g.name: g.passed for g in evaluate_thresholds(sc.thresholds, result)}
    assert gates == {
        "scenarios.buy.error_rate <= 0": True,
        "scenarios.browse.p99_ms <= 0.001": False,
    }


def test_iterations_per_user_and_shared_end_the_run_exactly(server: Server) -> None:
    """No run time: each scenario ends after its iterations, and so does the run. 2 users
    of 3 iterations each send 6 requests; 5 iterations shared by 2 users of a two-step
    flow send 5 of each step."""
    sc = scenario(
        server.url,
        scenarios=[
            {"name": "each", "users": 2, "iterations_per_user": 3, "requests": ["browse page"]},
            {"name": "shared", "users": 2, "iterations": 5, "flows": ["checkout"]},
        ],
    )
    result, run = finish(Run(sc, server.url, workers=2))
    assert result.outcome["reason"] == "finished" and run.worker_errors == []
    assert (server.hits("/a"), server.hits("/b"), server.hits("/c")) == (6, 5, 5)
    each, shared = result.scenario_groups()
    assert (each.stats.requests, shared.stats.requests, shared.iterations) == (6, 10, 5)


def test_pause_and_users_apply_to_one_scenario(server: Server) -> None:
    """Pausing one scenario holds its requests while the other goes on; its users
    change alone; resuming sends again."""
    sc = scenario(
        server.url,
        load={"run_time": "60s"},
        scenarios=[
            {"name": "one", "users": 1, "think_time": "0.01s", "requests": ["browse page"]},
            {"name": "two", "users": 1, "think_time": "0.01s", "requests": ["other"]},
        ],
    )
    run = Run(sc, server.url, workers=1)
    run.start()
    try:
        wait_for(lambda: server.hits("/a") > 3 and server.hits("/d") > 3)
        run.toggle_part_pause("one")
        wait_for(lambda: run.snapshot.scenarios[0].paused)  # the worker says it is
        held = server.hits("/a")
        before = server.hits("/d")
        wait_for(lambda: server.hits("/d") > before + 20)
        assert server.hits("/a") == held  # paused: nothing more sent
        assert run.part_is_paused("one") and not run.paused

        run.set_part_users("two", 3)
        wait_for(lambda: run.snapshot.scenarios[1].users == 3)
        assert run.part_target("two") == 3 and run.users_target == 4
        assert run.snapshot.scenarios[0].target == 1  # the other kept its users

        run.toggle_part_pause("one")
        wait_for(lambda: server.hits("/a") > held + 3)
    finally:
        run.stop()
        run.wait(10)
        run.close()
    result = run.result()
    one, two = result.scenario_groups()
    assert one.stats.requests == server.hits("/a") and two.stats.requests == server.hits("/d")
