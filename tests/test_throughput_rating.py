"""Throughput is rated only when the load could have produced more: a light run with
think time is not "needs scaling" (real runs against loopback servers), a run whose
users waited on the target all the time is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tui_loadtest.engine.coordinator import Run
from tui_loadtest.ratings import NOT_RATED, WAITING_SHARE, waiting_share
from tui_loadtest.report.baseline_text import rating_line
from tui_loadtest.report.html import html_report
from tui_loadtest.report.recommendations import recommend, throughput_rule
from tui_loadtest.report.throughput import throughput_rating
from tui_loadtest.scenario import Scenario
from tui_loadtest.stats.result import RunResult

from .engine_harness import scenario
from .servers import HoldingServer
from .synthetic import HEALTH, make_result


@pytest.fixture
def target() -> Iterator[tuple[HoldingServer, str]]:
    server = HoldingServer(hold_s=0.02)  # every answer takes 20 ms
    url = server.start()
    yield server, url
    server.stop()


def run(sc: Scenario, url: str) -> RunResult:
    r = Run(sc, url, workers=1)
    try:
        r.start()
        assert r.wait(30)
    finally:
        r.close()
    return r.result()


def test_a_light_run_with_think_time_is_not_rated(target) -> None:  # noqa: ANN001
    """5 users thinking 0.2 s between 20 ms answers: about 23 req/s, set by the think
    time; it was "needs scaling", with advice to add capacity."""
    server, url = target
    sc = scenario(
        [{"path": "/x"}],
        load={"users": 5, "spawn_rate": 100, "run_time": "2s", "think_time": "0.2s"},
    )
    result = run(sc, url)
    s = result.summary
    assert s.requests == server.requests and s.rps < 100  # the "needs scaling" band
    rating, why = throughput_rating(result)
    assert rating == NOT_RATED
    assert "waited for responses" in why
    assert throughput_rule(result) == []
    assert not any("needs scaling" in line for line in recommend(result))
    assert "throughput set by the load (" in rating_line(result)
    assert "set by the load" in html_report(result)


def test_a_run_whose_users_waited_on_the_target_is_rated(target) -> None:  # noqa: ANN001
    """One user, no think time, 20 ms answers: about 45 req/s, all the target's pace."""
    server, url = target
    sc = scenario([{"path": "/x"}], load={"users": 1, "spawn_rate": 100, "run_time": "2s"})
    result = run(sc, url)
    s = result.summary
    assert s.requests == server.requests and s.rps < 100
    users = result.outcome["users"]["average"]
    assert waiting_share(s.rps, s.latency.mean, users) >= WAITING_SHARE
    rating, why = throughput_rating(result)
    assert (rating.label, why) == ("needs scaling", "")
    (line,) = throughput_rule(result)
    assert "needs scaling" in line


def test_an_arrival_rate_run_is_rated_only_when_arrivals_were_dropped() -> None:
    sent_in_full = make_result([replace(HEALTH, rps=30)], seconds=10, seed=3)
    sent_in_full = replace(
        sent_in_full, load={**sent_in_full.load, "mode": "arrival-rate", "rate": 30.0}
    )
    assert throughput_rating(sent_in_full)[0] == NOT_RATED
    dropped = replace(sent_in_full, summary=replace(sent_in_full.summary, dropped=12))
    assert throughput_rating(dropped)[0].label == "needs scaling"


def test_waiting_share_is_littles_law() -> None:
    # 40 req/s at 50 ms is 2 requests in flight on average: 4 users waited half the time.
    assert waiting_share(40.0, 50.0, 4.0) == pytest.approx(0.5)
    assert waiting_share(40.0, 50.0, 1.0) == 1.0  # capped
    assert waiting_share(40.0, float("nan"), 4.0) == 1.0  # not recorded: rated as before
