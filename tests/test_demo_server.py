"""The embedded demo API, tested as a real server on loopback (no mocks)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tui_loadtest.demo import DemoServer, create_app
from tui_loadtest.demo.app import LATENCY_CAP_S, sample_latency
from tui_loadtest.errors import UsageError

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    """One deterministic server (no errors, no latency) shared by most tests."""
    with DemoServer(error_rate=0.0, latency_scale=0.0, seed=7) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=5.0) as c:
        yield c


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


def _wait_refused(port: int, within: float = 5.0) -> bool:
    """Bounded poll: process exit is not observable from here in any other way."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _refuses(port):
            return True
        time.sleep(0.05)
    return False


# -- endpoints ----------------------------------------------------------------------


def test_health(client: httpx.Client) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "ok"}


def test_agents_list(client: httpx.Client) -> None:
    r = client.get("/api/agents")
    assert r.status_code == 200
    assert r.headers["etag"] == '"agents-v1"'
    agents = r.json()["agents"]
    assert [a["id"] for a in agents] == [f"a{i}" for i in range(1, 21)]
    assert all(set(a) == {"id", "name", "status"} for a in agents)


@pytest.mark.parametrize("agent_id", ["a1", "a20"])
def test_agent_detail(client: httpx.Client, agent_id: str) -> None:
    r = client.get(f"/api/agents/{agent_id}")
    assert r.status_code == 200
    assert r.json()["id"] == agent_id


def test_query_answers(client: httpx.Client) -> None:
    r = client.post("/api/agents/a5/query", json={"prompt": "summarise my inbox"})
    assert r.status_code == 200
    body = r.json()
    assert body["agent"] == "a5"
    assert isinstance(body["answer"], str) and body["answer"]
    assert body["query_id"].startswith("q")


def test_query_accepts_any_body(client: httpx.Client) -> None:
    assert client.post("/api/agents/a1/query", content=b"not json").status_code == 200
    assert client.post("/api/agents/a1/query").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "error"),
    [
        ("GET", "/api/agents/a21", "unknown agent"),
        ("POST", "/api/agents/nope/query", "unknown agent"),
        ("GET", "/", "not found"),
        ("GET", "/api", "not found"),
        ("GET", "/api/agents/", "unknown agent"),
        ("POST", "/api/agents/a1/query/more", "not found"),
        ("GET", "/__demo/nope", "not found"),
    ],
)
def test_not_found(client: httpx.Client, method: str, path: str, error: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 404
    assert r.json() == {"error": error}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/health", "GET, HEAD"),
        ("POST", "/api/agents", "GET, HEAD"),
        ("PUT", "/api/agents/a1", "GET, HEAD"),
        ("GET", "/api/agents/a1/query", "POST"),
        ("POST", "/__demo/stats", "GET, HEAD"),
        ("GET", "/__demo/reset", "POST"),
    ],
)
def test_wrong_method(client: httpx.Client, method: str, path: str, allow: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json() == {"error": "method not allowed"}


# -- counters -----------------------------------------------------------------------


async def _send_mix(url: str, health: int, agents: int, queries: int) -> list[int]:
    """Concurrent requests over several keep-alive connections, like a load test."""
    limits = httpx.Limits(max_connections=8)  # httpx's pool gets slow with many more
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=5.0, limits=limits) as c:
        calls = (
            [c.get("/api/health") for _ in range(health)]
            + [c.get(f"/api/agents/a{i % 20 + 1}") for i in range(agents)]
            + [c.post("/api/agents/a2/query", json={"q": i}) for i in range(queries)]
        )
        return [r.status_code for r in await asyncio.gather(*calls)]


def test_stats_match_requests_sent(server: DemoServer, client: httpx.Client) -> None:
    server.reset()
    codes = asyncio.run(_send_mix(server.url, health=150, agents=30, queries=20))
    assert codes == [200] * 200
    client.get("/nope")
    client.delete("/api/health")
    expected = {
        "requests": 202,
        "by_route": {
            "GET /api/health": 150,
            "GET /api/agents/{id}": 30,
            "POST /api/agents/{id}/query": 20,
            "GET (unmatched)": 1,
            "DELETE /api/health": 1,
        },
        "authorized": 0,
        "authorized_by_route": {},
        "logins": 0,
        "logins_by_user": {},
    }
    assert server.stats() == expected
    assert server.stats() == expected  # reading the stats is not counted


def test_reset_zeroes_counters(server: DemoServer, client: httpx.Client) -> None:
    client.get("/api/health")
    assert server.stats()["requests"] > 0
    server.reset()
    assert server.stats() == {
        "requests": 0,
        "by_route": {},
        "authorized": 0,
        "authorized_by_route": {},
        "logins": 0,
        "logins_by_user": {},
    }
    assert client.post("/__demo/reset").json() == {"status": "reset"}


# -- journeys: login, tokens, stored queries -------------------------------------------


def _login(client: httpx.Client, user: str = "user7", password: str = "pass7") -> str:
    r = client.post("/api/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    return body["access_token"]


def test_login_query_and_read_back(server: DemoServer, client: httpx.Client) -> None:
    server.reset()
    token = _login(client)
    auth = {"Authorization": f"Bearer {token}"}
    agents = client.get("/api/agents", headers=auth).json()["agents"]
    posted = client.post(f"/api/agents/{agents[0]['id']}/query", headers=auth, json={"q": 1})
    qid = posted.json()["query_id"]
    r = client.get(f"/api/queries/{qid}", headers=auth)
    assert r.status_code == 200
    assert r.json() == {
        "query_id": qid,
        "agent": "a1",
        "status": "done",
        "answer": posted.json()["answer"],
    }
    assert client.get("/api/queries/q999999999", headers=auth).status_code == 404
    stats = server.stats()
    assert stats["logins"] == 1
    assert stats["authorized"] == 4
    assert stats["authorized_by_route"] == {
        "GET /api/agents": 1,
        "GET /api/queries/{qid}": 2,
        "POST /api/agents/{id}/query": 1,
    }


@pytest.mark.parametrize(
    ("user", "password"), [("user7", "nope"), ("nobody", "pass7"), ("user7", None)]
)
def test_login_refused(client: httpx.Client, user: str, password: str | None) -> None:
    r = client.post("/api/auth/login", json={"username": user, "password": password})
    assert r.status_code == 401
    assert client.post("/api/auth/login", content=b"{not json").status_code == 401
    assert client.get("/api/auth/login").status_code == 405


def test_tokens_are_checked(server: DemoServer, client: httpx.Client) -> None:
    token = _login(client)
    server.reset()
    # The stored queries need a valid token; other routes work without one...
    assert client.get("/api/queries/q1").status_code == 401
    assert client.get("/api/agents").status_code == 200
    # ...but refuse an invalid one, or another scheme.
    for value in ("Bearer tok_forged", "Basic dXNlcjpwYXNz", f"Bearer {token}x"):
        r = client.get("/api/agents", headers={"Authorization": value})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/agents", headers={"authorization": f"bearer {token}"}).is_success
    assert server.stats()["authorized"] == 1


# -- parameters ---------------------------------------------------------------------


def test_error_rate_zero_never_fails(server: DemoServer) -> None:
    codes = asyncio.run(_send_mix(server.url, health=0, agents=0, queries=300))
    assert set(codes) == {200}


def test_error_rate_one_always_fails() -> None:
    with DemoServer(error_rate=1.0, latency_scale=0.0, seed=1) as srv:
        codes = asyncio.run(_send_mix(srv.url, health=10, agents=0, queries=100))
        assert codes[:10] == [200] * 10  # only queries fail
        assert set(codes[10:]) == {500, 503}
        assert srv.stats()["by_route"]["POST /api/agents/{id}/query"] == 100


def test_latency_scale_zero_is_fast(client: httpx.Client) -> None:
    # The scale multiplies every sampled delay: at 0 no query waits at all (checked on the
    # sampler, not with a clock, so a busy machine cannot fail it).
    rng = random.Random(3)
    assert all(sample_latency(rng, 0.0) == 0 for _ in range(1000))
    assert sum(sample_latency(rng, 1.0) for _ in range(100)) > 0
    for _ in range(50):
        assert client.post("/api/agents/a1/query", json={}).status_code == 200


def test_default_latency_really_sleeps() -> None:
    with (
        DemoServer(error_rate=0.0, seed=3) as srv,
        httpx.Client(base_url=srv.url, trust_env=False) as c,
    ):
        start = time.perf_counter()
        for _ in range(10):
            c.post("/api/agents/a1/query", json={})
        assert time.perf_counter() - start > 0.1  # mean ~37 ms per query


def test_latency_distribution_is_long_tailed() -> None:
    rng = random.Random(42)
    samples = sorted(sample_latency(rng) for _ in range(20_000))
    assert 0.022 < statistics.median(samples) < 0.028
    assert 0.150 < samples[int(len(samples) * 0.99)] < 0.250
    assert max(samples) <= LATENCY_CAP_S
    assert sample_latency(rng, 0.0) == 0.0


def test_same_seed_same_answers() -> None:
    """Sequential runs are reproducible: the app's draws come from one seeded Random."""
    first, second = create_app(seed=5), create_app(seed=5)
    assert [first.rng.random() for _ in range(5)] == [second.rng.random() for _ in range(5)]


@pytest.mark.parametrize(
    "kwargs", [{"error_rate": 1.5}, {"error_rate": -0.1}, {"latency_scale": -1}]
)
def test_bad_parameters_rejected_before_spawning(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DemoServer(**kwargs)


# -- process lifecycle --------------------------------------------------------------


def test_silent_and_stop_is_idempotent(capfd: pytest.CaptureFixture[str]) -> None:
    with DemoServer(error_rate=0.5, latency_scale=0.0) as srv:
        url = srv.url
        with httpx.Client(base_url=url, trust_env=False) as c:
            for _ in range(20):
                c.post("/api/agents/a1/query", json={})
            c.get("/nope")
        # A malformed request makes uvicorn log a warning: it must not reach us.
        with socket.create_connection(("127.0.0.1", _port(url)), timeout=2.0) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        srv.stop()
        srv.stop()
        assert srv.pid is None
        with pytest.raises(RuntimeError):
            _ = srv.url
    srv.stop()
    assert _refuses(_port(url))
    assert capfd.readouterr() == ("", "")


@posix_only
def test_child_ignores_sigint(server: DemoServer, client: httpx.Client) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGINT)
    assert client.get("/api/health").status_code == 200


def test_start_failure_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        srv = DemoServer(port=busy.getsockname()[1])
        with pytest.raises(RuntimeError, match="failed to start.*in use"):
            srv.start()
        assert srv.pid is None


@posix_only
def test_child_exits_when_parent_dies() -> None:
    code = textwrap.dedent(
        """
        import sys
        from tui_loadtest.demo import DemoServer
        srv = DemoServer(latency_scale=0)  # keep a reference: GC would stop it
        print(srv.start(), flush=True)
        sys.stdin.read()
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        url = parent.stdout.readline().strip()
        assert httpx.get(f"{url}/api/health", trust_env=False).status_code == 200
    finally:
        parent.kill()  # SIGKILL: no atexit, no chance to stop the child politely
        parent.communicate(timeout=5)
    assert _wait_refused(_port(url))


@posix_only
def test_serve_forever_prints_one_line_and_exits_cleanly_on_ctrl_c() -> None:
    code = "from tui_loadtest.demo import serve_forever; serve_forever(port=0)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("demo API listening on http://127.0.0.1:")
        assert line.endswith(" (Ctrl+C to stop)\n")
        url = line.split()[4]
        assert httpx.get(f"{url}/api/health", trust_env=False).json() == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (0, "", "")


def test_serve_forever_busy_port_is_a_user_error() -> None:
    from tui_loadtest.demo import serve_forever

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(UsageError, match="cannot listen on"):
            serve_forever(port=busy.getsockname()[1])


def test_stall_freezes_every_endpoint_once_per_period() -> None:
    """--stall: a pause every period, the target coordinated omission hides."""
    with DemoServer(stall_s=0.3, stall_every_s=0.6) as srv, httpx.Client(base_url=srv.url) as c:
        took = []
        deadline = time.monotonic() + 1.3
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            assert c.get("/api/health").status_code == 200
            took.append(time.monotonic() - t0)
    assert min(took) < 0.05  # outside the stall: fast
    assert max(took) >= 0.15  # a request that arrived in a stall waited for its end
    # ... and no longer than the stall plus a busy machine's delays: a stall that did
    # not end (one period and more, 0.6 s) would exceed this (0.45 failed under load)
    assert max(took) < 0.9


def test_stall_must_be_shorter_than_its_period() -> None:
    with pytest.raises(ValueError, match="stall"):
        create_app(stall_s=2.0, stall_every_s=1.0)


def test_background_server_rejects_a_bad_stall_before_spawning() -> None:
    with pytest.raises(ValueError, match="stall"):
        DemoServer(stall_s=6.0, stall_every_s=5.0)
