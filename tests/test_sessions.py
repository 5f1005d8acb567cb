"""Each virtual user is a session (issue 22): cookies, redirects and compression on the
fast transport, for plain requests, flows and scripts, against a real loopback server
that counts what it received (tests/locust_target.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.scenario import Scenario, parse_scenario

from .engine_harness import run_engine, totals
from .locust_target import LocustTarget

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LOGIN = {"method": "POST", "path": "/login", "body": "username=u&password=secret", "headers": FORM}


@pytest.fixture(scope="module")
def target() -> Iterator[LocustTarget]:
    with LocustTarget() as t:
        yield t


@pytest.fixture
def server(target: LocustTarget) -> LocustTarget:
    target.reset()
    return target


def scenario(url: str, folder: Path | None = None, **tables: Any) -> Scenario:
    data: dict[str, Any] = {"host": url, "load": {"users": 1}, **tables}
    return parse_scenario(data, str((folder or Path(".")) / "s.toml"))


def endpoint(agg: Any, name: str) -> Any:
    """The whole-run Stats of the row called ``name``."""
    (found,) = [
        stats
        for (_, n), stats in zip(agg.endpoint_keys, agg.endpoint_stats(), strict=True)
        if n == name
    ]
    return found


# ------------------------------------------------------------------- cookies


@pytest.mark.anyio
@pytest.mark.parametrize("cookies", [True, False])
async def test_a_flow_logs_in_and_sends_both_cookies_back(
    server: LocustTarget, cookies: bool
) -> None:
    flow = {
        "name": "f",
        "steps": [{**LOGIN, "name": "login"}, {"path": "/account", "name": "account"}],
    }
    sc = scenario(
        server.url, flows=[flow], load={"users": 2, "requests": 40}, http={"cookies": cookies}
    )
    agg = await run_engine(sc, server.url)
    requests, failures, kinds = totals(agg)
    assert requests == 40 == server.total()
    accounts = server.count("GET", "/account")
    assert accounts == 20
    if cookies:
        assert failures == 0, kinds
    else:  # without a jar the login's cookies never come back
        assert kinds == {"HTTP 401": 20}


@pytest.mark.anyio
async def test_plain_requests_keep_their_cookies(server: LocustTarget) -> None:
    """The weighted mix: once a user's login answered, its /account calls succeed."""
    login = {**LOGIN, "name": "login", "weight": 1}
    account = {"path": "/account", "name": "account", "weight": 1}
    sc = scenario(server.url, requests=[login, account], load={"users": 1, "requests": 200})
    agg = await run_engine(sc, server.url)
    requests, _, kinds = totals(agg)
    assert requests == 200 == server.total()
    # only the /account calls made before the first login can fail (about one)
    assert kinds.get("HTTP 401", 0) < 15, kinds
    assert server.count("GET", "/account") > 60


SCRIPT = """
from tui_loadtest.script import task, on_start

@on_start
async def login(user):
    if user.id == 0:  # user 1 never logs in: user 0's cookies must not reach it
        r = await user.post("/login", data={"username": "u", "password": "secret"}, name="login")
        assert sorted(r.cookies) == ["csrftoken", "session"], r.cookies
        assert len(r.headers.get_all("set-cookie")) == 2

@task
async def account(user):
    r = await user.get("/account", name=f"account {user.id}")
    if user.id == 0:
        assert r.status_code == 200 and set(user.cookies.as_dict()) == {"session", "csrftoken"}
"""


@pytest.mark.anyio
async def test_a_script_keeps_each_users_cookies_apart(
    server: LocustTarget, tmp_path: Path
) -> None:
    (tmp_path / "users.py").write_text(SCRIPT, encoding="utf-8")
    sc = scenario(server.url, tmp_path, script="users.py", load={"users": 2, "spawn_rate": 100})
    agg = await run_engine(sc, server.url, stop_when=lambda: server.count("GET", "/account") > 40)
    ours = endpoint(agg, "account 0")
    theirs = endpoint(agg, "account 1")
    assert ours.requests > 5 and ours.failures == 0
    # 401 every time (and, failing at once, it is slowed down rather than spinning)
    assert theirs.requests >= 1 and theirs.failures == theirs.requests
    _, _, kinds = totals(agg)
    assert "script" not in kinds, kinds  # the script's own asserts held


# ------------------------------------------------------------------ redirects


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "method", "landed"),
    [
        (301, "GET", "GET"),
        (302, "POST", "GET"),
        (303, "POST", "GET"),
        (307, "POST", "POST"),
        (308, "PUT", "PUT"),
    ],
)
async def test_a_redirect_is_one_request_and_the_server_sees_every_hop(
    server: LocustTarget, status: int, method: str, landed: str
) -> None:
    request = {"method": method, "path": f"/redirect/{status}?to=/api/landed", "name": "r"}
    if method != "GET":
        request["json"] = {"a": 1}
    sc = scenario(server.url, requests=[request], load={"users": 1, "requests": 10})
    agg = await run_engine(sc, server.url)
    row = endpoint(agg, "r")
    assert (row.requests, row.failures, row.redirects) == (10, 0, 10)
    assert server.count(method, f"/redirect/{status}") == 10
    assert server.count(landed, "/api/landed") == 10
    assert dict(row.statuses) == {200: 10}


@pytest.mark.anyio
async def test_redirects_to_another_port_and_along_a_chain(server: LocustTarget) -> None:
    sc = scenario(
        server.url,
        requests=[
            {"path": "/redirect/other-port", "name": "away"},
            {"path": "/redirect/chain/3", "name": "chain"},
            {"path": "/api/home", "name": "home"},
        ],
        load={"users": 2, "requests": 60},
    )
    agg = await run_engine(sc, server.url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures) == (60, 0), kinds
    away, chain = endpoint(agg, "away"), endpoint(agg, "chain")
    assert server.count("GET", "/api/landed", other=True) == away.requests == away.redirects
    assert chain.redirects == 3 * chain.requests
    assert server.count("GET", "/api/home") == endpoint(agg, "home").requests
    assert server.total() == 60 + away.redirects + chain.redirects


@pytest.mark.anyio
async def test_a_redirect_loop_ends_as_too_many_redirects(server: LocustTarget) -> None:
    sc = scenario(
        server.url,
        requests=[{"path": "/redirect/loop", "name": "loop"}],
        load={"users": 1, "requests": 3},
        http={"max_redirects": 4},
    )
    agg = await run_engine(sc, server.url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures, kinds) == (3, 3, {"redirects": 3})
    assert server.count("GET", "/redirect/loop") == 3 * 5  # the first try and 4 hops


@pytest.mark.anyio
async def test_max_redirects_0_reports_the_redirect(server: LocustTarget) -> None:
    sc = scenario(
        server.url,
        requests=[{"path": "/redirect/302", "name": "r"}],
        load={"users": 1, "requests": 5},
        http={"max_redirects": 0},
    )
    agg = await run_engine(sc, server.url)
    row = endpoint(agg, "r")
    assert (row.requests, row.redirects, dict(row.statuses)) == (5, 0, {302: 5})
    assert server.count("GET", "/api/landed") == 0


# ---------------------------------------------------------------- compression


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["/gzip", "/deflate"])
async def test_captures_read_compressed_bodies(server: LocustTarget, route: str) -> None:
    steps = [
        {"path": route, "name": "compressed", "capture": {"how": "json:$.items[2].name"}},
        {"path": "/echo?how={how}", "name": "echo"},
    ]
    sc = scenario(
        server.url, flows=[{"name": "f", "steps": steps}], load={"users": 1, "requests": 10}
    )
    agg = await run_engine(sc, server.url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures) == (10, 0), kinds
    assert server.targets()[("GET", "/echo?how=item%203")] == 5
    assert "gzip" in server.last_headers("GET", route)["accept-encoding"]


GZIP_SCRIPT = """
from tui_loadtest.script import task

@task
async def read(user):
    r = await user.get("/gzip", name="gzip")
    assert r.json()["gzip"] is True, r.content
    assert r.headers["content-encoding"] == "gzip" and len(r.raw_content) != len(r.content)
"""


@pytest.mark.anyio
async def test_a_script_reads_a_gzip_body(server: LocustTarget, tmp_path: Path) -> None:
    (tmp_path / "users.py").write_text(GZIP_SCRIPT, encoding="utf-8")
    sc = scenario(server.url, tmp_path, script="users.py", load={"users": 1, "requests": 5})
    agg = await run_engine(sc, server.url)
    requests, failures, kinds = totals(agg)
    assert (requests, failures) == (5, 0), kinds
    assert "script" not in kinds
