"""The corpus target answers as its routes say and counts exactly what it received."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import httpx
import pytest

from .locust_target import PASSWORD, REDIRECT_CODES, LocustTarget


@pytest.fixture(scope="module")
def target() -> Iterator[LocustTarget]:
    with LocustTarget() as server:
        yield server


@pytest.fixture
def client(target: LocustTarget) -> Iterator[httpx.Client]:
    target.reset()
    with httpx.Client(base_url=target.url, trust_env=False, timeout=10) as c:
        yield c


def test_counts_per_method_and_path_exactly(target: LocustTarget, client: httpx.Client) -> None:
    for _ in range(7):
        client.get("/api/items")
    for i in range(3):
        client.get("/api/items/5", params={"page": i})
    client.post("/api/items", json={"name": "chair"})
    client.head("/api/items")
    client.get("/nowhere")
    counts = target.counts()
    assert counts[("GET", "/api/items")] == 7
    assert counts[("GET", "/api/items/5")] == 3
    assert counts[("POST", "/api/items")] == 1
    assert counts[("HEAD", "/api/items")] == 1
    assert counts[("GET", "/nowhere")] == 1
    assert target.total() == 13
    assert target.targets()[("GET", "/api/items/5?page=2")] == 1
    assert target.counts(other=True) == {}


def test_item_routes(client: httpx.Client) -> None:
    assert len(client.get("/api/items").json()) == 10
    assert client.post("/api/items", json={"name": "x"}).status_code == 201
    assert client.post("/api/items", json={"nope": 1}).status_code == 400
    assert client.post("/api/items", content=b"not json").status_code == 400
    assert client.get("/api/items/1001").status_code == 404
    assert client.patch("/api/items/3", json={"price": 2}).json() == {"id": 3, "price": 2}
    r = client.delete("/api/items/3")
    assert r.status_code == 204 and r.content == b""
    assert client.head("/api/items").content == b""
    assert client.get("/api/anything/else?x=1").json()["query"] == {"x": ["1"]}


def test_login_sets_two_cookies_and_account_needs_both(client: httpx.Client) -> None:
    assert client.get("/account").status_code == 401
    assert client.post("/login", data={"username": "ann", "password": "bad"}).status_code == 401
    r = client.post("/login", data={"username": "ann", "password": PASSWORD})
    assert r.status_code == 200
    assert set(r.cookies) == {"session", "csrftoken"}
    assert client.get("/account").json() == {"user": "ann"}
    with httpx.Client(base_url=str(client.base_url), trust_env=False) as fresh:
        # one cookie of the two is not enough
        one = {"cookie": f"session={r.cookies['session']}"}
        assert fresh.get("/account", headers=one).status_code == 401
        assert (
            fresh.post("/login", json={"username": "bo", "password": PASSWORD}).status_code == 200
        )
        assert fresh.get("/account").json() == {"user": "bo"}
        fresh.post("/logout")
        assert fresh.get("/account").status_code == 401


@pytest.mark.parametrize("code", REDIRECT_CODES)
def test_redirects(target: LocustTarget, client: httpx.Client, code: int) -> None:
    r = client.get(f"/redirect/{code}", follow_redirects=False)
    assert r.status_code == code and r.headers["location"] == "/api/landed"
    r = client.post(
        f"/redirect/{code}",
        params={"to": f"{target.url}/echo"},
        json={"a": 1},
        follow_redirects=True,
    )
    assert r.status_code == 200
    # 307 and 308 keep the method and the body; 301, 302 and 303 turn a POST into a GET
    assert r.json()["method"] == ("POST" if code in (307, 308) else "GET")


def test_chain_other_port_and_loop(target: LocustTarget, client: httpx.Client) -> None:
    r = client.get("/redirect/chain/3", follow_redirects=True)
    assert r.status_code == 200 and len(r.history) == 3
    r = client.get("/redirect/other-port", follow_redirects=True)
    assert str(r.url) == f"{target.other_url}/api/landed"
    assert target.counts(other=True) == {("GET", "/api/landed"): 1}
    with pytest.raises(httpx.TooManyRedirects):
        client.get("/redirect/loop", follow_redirects=True)
    assert target.count("GET", "/redirect/loop") == 21  # httpx's limit is 20 hops


def test_compressed_bodies_are_always_compressed(client: httpx.Client) -> None:
    for path, decode in (("/gzip", gzip.decompress), ("/deflate", zlib.decompress)):
        with client.stream("GET", path, headers={"accept-encoding": "identity"}) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == path[1:]
        assert len(decode(raw)) > len(raw) / 2
        assert client.get(path).json()[path[1:]] is True


def test_status_auth_tenant_echo_and_bodies(client: httpx.Client) -> None:
    assert client.get("/status/500").status_code == 500
    assert client.delete("/status/418").status_code == 418
    assert client.get("/basic-auth/ann/pw").status_code == 401
    assert client.get("/basic-auth/ann/pw", auth=("ann", "pw")).status_code == 200
    assert client.get("/tenant").status_code == 400
    assert client.get("/tenant", headers={"X-Tenant": "acme"}).json() == {"tenant": "acme"}
    echo = client.post("/echo?x=1", data={"a": "1", "b": "2"}).json()
    assert echo["form"] == {"a": ["1"], "b": ["2"]} and echo["query"] == {"x": ["1"]}
    assert client.post("/echo", json=[1, 2]).json()["json"] == [1, 2]
    assert client.post("/echo", content="plain text").json()["body"] == "plain text"
    assert client.post("/form", json={}).status_code == 400
    assert client.post("/form", data={"k": "v"}).json() == {"k": ["v"]}
    assert client.post("/json", content=b"{").status_code == 400
    assert client.post("/json", json={"k": 1}).json() == {"k": 1}
    assert client.get("/slow", params={"ms": 30}).json() == {"slept_ms": 30}
    assert len(client.get("/bytes/1000").content) == 1000
    assert "café" in client.get("/text").text
