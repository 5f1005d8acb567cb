"""Command-line flags over a scenario, and the one-URL scenario of bench."""

from __future__ import annotations

import json

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import apply_overrides, url_scenario

from .helpers import HEALTH, LoadText

# ----------------------------------------------------------------------- overrides


def test_overrides_replace_file_values(load_text: LoadText) -> None:
    sc = load_text('[load]\nusers = 5\nrun_time = "1m"\n' + HEALTH)
    new = apply_overrides(
        sc, users=50, spawn_rate="2.5", run_time="10s", requests="1000", host="http://h:1/"
    )
    assert (new.load.users, new.load.spawn_rate) == (50, 2.5)
    assert (new.load.run_time_s, new.load.requests) == (10.0, 1000)
    assert new.host == "http://h:1"
    assert sc.load.users == 5, "the original is untouched"
    assert new.redacted["load"]["users"] == 50
    assert new.redacted["host"] == "http://h:1"
    assert new.redacted["overrides"]["users"] == 50


def test_requests_override_keeps_the_file_run_time(load_text: LoadText) -> None:
    sc = load_text('[load]\nrun_time = "1m"\n' + HEALTH)
    new = apply_overrides(sc, requests=10)
    assert (new.load.run_time_s, new.load.requests) == (60.0, 10)


def test_no_overrides_is_identity(load_text: LoadText) -> None:
    sc = load_text(HEALTH)
    assert apply_overrides(sc) == sc
    assert "overrides" not in apply_overrides(sc).redacted


def test_host_override_to_demo(load_text: LoadText) -> None:
    sc = load_text('host = "http://127.0.0.1:5000"\n' + HEALTH)
    assert apply_overrides(sc, host="demo").host is None


def test_rate_override_switches_to_arrival_rate(load_text: LoadText) -> None:
    sc = load_text('[load]\nusers = 5\nthink_time = "1s"\n' + HEALTH)
    new = apply_overrides(sc, rate="250", max_users=64)
    assert new.load.is_open
    assert (new.load.rate, new.load.max_users, new.load.think_time) == (250.0, 64, (0.0, 0.0))


def test_users_override_replaces_stages_but_keeps_their_length(load_text: LoadText) -> None:
    sc = load_text('[[load.stages]]\nduration = "30s"\ntarget = 10\n' + HEALTH)
    new = apply_overrides(sc, users=3)
    assert new.load.stages == ()
    assert new.load.users == 3 and new.load.duration_s == 30


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"users": "0"}, '--users: expected a positive integer, got "0"'),
        ({"users": 0}, '--users: expected a positive integer, got "0"'),
        ({"users": "ten"}, '--users: expected a positive integer, got "ten"'),
        ({"requests": "-1"}, '--requests: expected a positive integer, got "-1"'),
        ({"spawn_rate": "x"}, '--spawn-rate: expected a positive number, got "x"'),
        ({"run_time": "soon"}, '--run-time: expected a duration like "90s"'),
        ({"run_time": "0s"}, '--run-time: expected a duration greater than 0, got "0s"'),
        ({"rate": "0"}, '--rate: expected a positive number of requests per second, got "0"'),
        ({"max_users": "1.5"}, '--max-users: expected a positive integer, got "1.5"'),
        ({"max_users": 10}, '--max-users: needs mode = "arrival-rate"'),
        ({"rate": 5, "users": 5}, "--users: not used with --rate"),
        ({"host": "ftp://x"}, "--host: expected a URL starting with http:// or https://"),
    ],
)
def test_override_errors_name_the_flag(
    load_text: LoadText, flags: dict[str, object], message: str
) -> None:
    sc = load_text(HEALTH)
    with pytest.raises(ScenarioError) as info:
        apply_overrides(sc, **flags)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_users_override_rejected_in_arrival_rate_mode(load_text: LoadText) -> None:
    sc = load_text('[load]\nmode = "arrival-rate"\nrate = 5\n' + HEALTH)
    with pytest.raises(ScenarioError, match=r'^--users: only used in "users" mode'):
        apply_overrides(sc, users=3)
    assert apply_overrides(sc, max_users=7).load.max_users == 7


BENCH_LOAD = {"users": 8, "spawn_rate": 8, "requests": 1000}


def test_url_scenario() -> None:
    sc = url_scenario("http://127.0.0.1:8000/api/agents?limit=5", load=BENCH_LOAD)
    assert sc.host == "http://127.0.0.1:8000"
    (request,) = sc.requests
    assert (request.method, request.path) == ("GET", "/api/agents?limit=5")
    assert request.name == "GET /api/agents?limit=5"
    assert (sc.load.users, sc.load.requests, sc.load.run_time_s) == (8, 1000, None)
    assert sc.load.effective_spawn_rate == 8
    assert json.loads(json.dumps(sc.redacted))["requests"][0]["path"] == "/api/agents?limit=5"


def test_url_scenario_root_path_and_errors() -> None:
    assert url_scenario("https://example.com", load={}).requests[0].path == "/"
    with pytest.raises(ScenarioError, match=r'^URL: expected .*got "example.com"$'):
        url_scenario("example.com", load={})
    with pytest.raises(ScenarioError, match=r"^the command line: load.requests: expected"):
        url_scenario("http://h", load={"requests": 0})
    with pytest.raises(ScenarioError, match=r"^the command line: load.users: expected"):
        url_scenario("http://h", load={"users": 0})
