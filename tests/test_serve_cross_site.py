"""What a web page can make a browser send to ``serve``, against the real server.

A page on any site may send a "simple" request without a preflight: a POST whose
body is ``text/plain``, a form or multipart, with the browser's ``Origin``. A
page on a name the attacker controls, rebound to 127.0.0.1 (DNS rebinding),
reaches the server with its own name in ``Host``. None of these may write to the
store, or be answered at all. Clients that are not browsers (curl, CI scripts)
send JSON with no ``Origin`` and keep working.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tui_loadtest.cli import main
from tui_loadtest.serve import ServeConfig, check_bind
from tui_loadtest.serve.server import BackgroundServer
from tui_loadtest.store import BaselineStore, StoreError, check_name

from .serve_support import REPORT, Api, results_dir, running_api  # noqa: F401

BASE = "/api/load-test"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, results_dir: Path) -> Iterator[Api]:  # noqa: F811
    yield from running_api(tmp_path_factory.mktemp("cross-site"), results_dir)


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, trust_env=False, timeout=30) as c:
        yield c


def _refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == code, body
    return str(body["detail"])


def _body(name: str) -> bytes:
    return json.dumps({"test_results_file": REPORT, "baseline_name": name}).encode()


# ----------------------------------------------------------- simple requests


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,  # a fetch() with a Blob body and no type
    ],
)
def test_a_simple_request_cannot_write(client: httpx.Client, api: Api, content_type) -> None:  # noqa: ANN001
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post(f"{BASE}/baseline", content=_body("simple"), headers=headers)
    assert "content-type" not in r.request.headers or content_type
    detail = _refused(r, 415, "unsupported_media_type")
    assert "application/json" in detail
    assert not api.store.exists("simple")


def test_a_form_cannot_replace_a_baseline(client: httpx.Client, api: Api) -> None:
    assert client.post(f"{BASE}/baseline", content=_body("kept"),
                       headers={"Content-Type": "application/json"}).status_code == 201  # fmt: skip
    before = api.store.load("kept").created_at
    r = client.post(f"{BASE}/baseline?replace=true", content=_body("kept"),
                    headers={"Content-Type": "text/plain"})  # fmt: skip
    _refused(r, 415, "unsupported_media_type")
    assert api.store.load("kept").created_at == before


def test_json_with_a_charset_is_json(client: httpx.Client, api: Api) -> None:
    r = client.post(f"{BASE}/baseline", content=_body("charset"),
                    headers={"Content-Type": "Application/JSON; charset=utf-8"})  # fmt: skip
    assert r.status_code == 201, r.text


# -------------------------------------------------------------------- Origin


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:1"])
def test_a_cross_origin_request_is_refused(client: httpx.Client, api: Api, origin: str) -> None:
    r = client.post(f"{BASE}/baseline", content=_body("evil"),
                    headers={"Content-Type": "application/json", "Origin": origin})  # fmt: skip
    assert origin in _refused(r, 403, "cross_origin")
    assert not api.store.exists("evil")
    _refused(client.get(f"{BASE}/baselines", headers={"Origin": origin}), 403, "cross_origin")


def test_the_servers_own_origin_is_fine(client: httpx.Client, api: Api) -> None:
    r = client.post(f"{BASE}/baseline", content=_body("same-origin"),
                    headers={"Content-Type": "application/json", "Origin": api.url})  # fmt: skip
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------------- Host


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", ""])
def test_a_spoofed_host_is_not_answered(client: httpx.Client, api: Api, host: str) -> None:
    port = urlsplit(api.url).port
    for name in (host, f"{host}:{port}" if host and ":" not in host else host):
        headers = {"Host": name}
        _refused(client.get(f"{BASE}/info", headers=headers), 403, "bad_host")
        _refused(client.get("/openapi.json", headers=headers), 403, "bad_host")
        r = client.post(f"{BASE}/baseline", content=_body("rebound"),
                        headers={**headers, "Content-Type": "application/json"})  # fmt: skip
        assert "--allowed-host" in _refused(r, 403, "bad_host")
    assert not api.store.exists("rebound")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "127.0.0.2"])
def test_loopback_names_are_answered(client: httpx.Client, api: Api, host: str) -> None:
    port = urlsplit(api.url).port
    for name in (host, f"{host}:{port}"):
        assert client.get(f"{BASE}/info", headers={"Host": name}).status_code == 200, name


def test_allowed_host_adds_a_name(tmp_path: Path, results_dir: Path) -> None:  # noqa: F811
    store = BaselineStore(tmp_path / "store.sqlite3")
    config = ServeConfig(store.path, results_dir, allowed_hosts=frozenset({"loadtest.internal"}))
    with BackgroundServer(config) as url, httpx.Client(base_url=url, trust_env=False) as c:
        port = urlsplit(url).port
        assert c.get(f"{BASE}/info", headers={"Host": f"loadtest.internal:{port}"}).is_success
        assert c.get(f"{BASE}/info", headers={"Host": "LoadTest.Internal."}).is_success
        assert c.get(f"{BASE}/info", headers={"Host": "localhost"}).is_success
        _refused(c.get(f"{BASE}/info", headers={"Host": "other.internal"}), 403, "bad_host")
        origin = {"Origin": f"http://loadtest.internal:{port}", "Host": f"loadtest.internal:{port}"}
        assert c.get(f"{BASE}/info", headers=origin).is_success


def test_allowed_host_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "s.sqlite3")
    for bad in ("http://x.example", "x.example/path", "", "a b"):
        assert main(["serve", "--allowed-host", bad, "--store", store]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--allowed-host" in err[0], err


# --------------------------------------------------- tokens, names, fields


@pytest.mark.parametrize("token", [" " * 20, "\t\n " * 8])
def test_a_whitespace_token_is_refused(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Exception, match="whitespace"):
        check_bind("127.0.0.1", token)
    store = str(tmp_path / "s.sqlite3")
    assert main(["serve", "--host", "0.0.0.0", "--token", token, "--store", store]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "whitespace" in err[0], err
    monkeypatch.setenv("TUI_LOADTEST_SERVE_TOKEN", token)
    assert main(["serve", "--host", "0.0.0.0", "--store", store]) == 2
    assert "whitespace" in capsys.readouterr().err


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(client: httpx.Client, api: Api, name: str) -> None:
    with pytest.raises(StoreError):
        check_name(name)
    r = client.post(f"{BASE}/baseline", json={"test_results_file": REPORT, "baseline_name": name})
    _refused(r, 400, "bad_name")
    assert not api.store.exists(name)


def test_compare_names_the_field_it_could_not_use(client: httpx.Client, api: Api) -> None:
    r = client.post(f"{BASE}/baseline", json={"test_results_file": REPORT, "baseline_name": "a"})
    assert r.status_code in (201, 409)
    for field, params in (("run", {"baseline": "a", "run": "../x.json"}),
                          ("baseline", {"baseline": "/etc/x.json", "run": "a"})):  # fmt: skip
        detail = _refused(client.get(f"{BASE}/compare", params=params), 400, "bad_path")
        assert detail.startswith(f"{field}:") and "test_results_file" not in detail, detail


def test_host_rule_for_a_public_bind(tmp_path: Path) -> None:
    """Listening on every address answers IP addresses (no DNS, so no rebinding), and names
    only when allowed; listening on one address answers that address."""
    from tui_loadtest.serve.config import host_allowed

    wildcard = ServeConfig(tmp_path, tmp_path, bind_host="0.0.0.0")
    assert host_allowed("192.168.1.10:5000", wildcard)
    assert host_allowed("[fe80::1]:5000", wildcard)
    assert not host_allowed("my-laptop.lan:5000", wildcard)
    named = ServeConfig(
        tmp_path, tmp_path, bind_host="::", allowed_hosts=frozenset({"my-laptop.lan"})
    )
    assert host_allowed("my-laptop.lan:5000", named)
    one = ServeConfig(tmp_path, tmp_path, bind_host="192.168.1.10")
    assert host_allowed("192.168.1.10", one)
    assert not host_allowed("192.168.1.11", one)
    assert not host_allowed("evil.example", one)
