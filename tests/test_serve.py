"""``tui-loadtest serve`` against a real uvicorn server on loopback, through httpx: every
endpoint, traversal attempts, the body cap, concurrent saves, bad input and auth."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tui_loadtest import __version__
from tui_loadtest.baselines import export_data
from tui_loadtest.cli import main
from tui_loadtest.ratings import bands
from tui_loadtest.report.baseline_text import baseline_report
from tui_loadtest.report.json_report import read_report
from tui_loadtest.serve import MAX_BODY_BYTES, check_bind, is_loopback
from tui_loadtest.serve.app import create_app
from tui_loadtest.serve.config import ServeConfig
from tui_loadtest.serve.openapi import ENDPOINTS, openapi_document

from .serve_support import REPORT, Api, results_dir, running_api  # noqa: F401

BASE = "/api/load-test"
TOKEN = "s3cret-token-for-the-tests-0123456789"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, results_dir: Path) -> Iterator[Api]:  # noqa: F811
    yield from running_api(tmp_path_factory.mktemp("serve"), results_dir)


@pytest.fixture(scope="module")
def locked_api(tmp_path_factory: pytest.TempPathFactory, results_dir: Path) -> Iterator[Api]:  # noqa: F811
    """The same API with a token, as a non-loopback bind requires (bound to loopback here)."""
    yield from running_api(tmp_path_factory.mktemp("serve-token"), results_dir, token=TOKEN)


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, trust_env=False, timeout=30) as c:
        yield c


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"} and body["detail"], body
    assert "Traceback" not in response.text and 'File "' not in response.text
    if code:
        assert body["error"] == code, body
    return body


def _report_data(api: Api) -> dict:
    return json.loads((api.results / REPORT).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------- the guide's


def test_info(client: httpx.Client, api: Api) -> None:
    r = client.get(f"{BASE}/info")
    assert r.status_code == 200
    info = r.json()
    assert info["version"] == __version__
    assert info["store"] == str(api.store.path)
    assert info["results_dir"] == str(api.results)
    assert info["counts"]["baselines"] == len(api.store.names())
    assert [(e["method"], e["path"]) for e in info["endpoints"]] == [
        (m, p) for m, p, _ in ENDPOINTS
    ]
    assert info["rating_bands"] == bands()


def test_save_from_results_file_then_read_it_back(client: httpx.Client, api: Api) -> None:
    name = "production_baseline_v1"
    r = client.post(f"{BASE}/baseline", json={"test_results_file": REPORT, "baseline_name": name})
    assert r.status_code == 201, r.text
    saved = r.json()
    report = read_report(api.results / REPORT)
    assert saved["name"] == name
    assert saved["requests"] == report.summary.requests == 300
    assert saved["p95_ms"] == round(report.summary.latency.p95, 3)
    assert saved["metadata"] == {"source": "api", "file": REPORT}
    assert r.headers["location"] == f"{BASE}/baselines/{name}"
    stored = api.store.load(name)  # the same store the CLI reads
    assert stored.result.summary.requests == 300

    listed = client.get(f"{BASE}/baselines").json()
    row = next(b for b in listed["baselines"] if b["name"] == name)
    for key in ("created_at", "scenario", "host", "requests", "p95_ms", "error_rate", "rps"):
        assert row[key] == saved[key]
    assert row["rating"] == saved["rating"]

    details = client.get(f"{BASE}/baselines/{name}")
    assert details.status_code == 200
    assert details.json() == json.loads(json.dumps(export_data(stored)))
    text = client.get(f"{BASE}/baselines/{name}", params={"format": "text"})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == baseline_report(stored) + "\n"
    assert "Performance Baseline Report" in text.text
    html = client.get(f"{BASE}/baselines/{name}", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.startswith("<!DOCTYPE html>") and f"Baseline: {name}" in html.text


def test_existing_name_is_409_unless_replace(client: httpx.Client, api: Api) -> None:
    body = {"test_results_file": REPORT, "baseline_name": "twice"}
    assert client.post(f"{BASE}/baseline", json=body).status_code == 201
    first = api.store.load("twice").created_at
    _error(client.post(f"{BASE}/baseline", json=body), 409, "exists")
    time.sleep(1.1)  # created_at has whole seconds: the replacement must show a later one
    r = client.post(f"{BASE}/baseline", params={"replace": "true"}, json=body)
    assert r.status_code == 201
    assert api.store.load("twice").created_at > first


def test_inline_results(client: httpx.Client, api: Api) -> None:
    data = _report_data(api)
    r = client.post(f"{BASE}/baseline", json={"test_results": data, "baseline_name": "from-ci"})
    assert r.status_code == 201, r.text
    assert api.store.load("from-ci").result.summary.requests == data["summary"]["requests"]
    assert api.store.load("from-ci").metadata == {"source": "api"}


def test_unknown_baseline_and_route(client: httpx.Client) -> None:
    assert "no baseline named" in _error(client.get(f"{BASE}/baselines/nope"), 404)["detail"]
    _error(client.get(f"{BASE}/nothing-here"), 404, "not_found")
    r = client.patch(f"{BASE}/baselines/nope")
    _error(r, 405, "method_not_allowed")
    assert {"GET", "DELETE"} <= {m.strip() for m in r.headers["allow"].split(",")}
    _error(client.get(f"{BASE}/baselines/x", params={"format": "pdf"}), 400)
    _error(client.get(f"{BASE}/baselines", params={"sort": "size"}), 400)


# ----------------------------------------------------------------------- bad input


def test_bad_json_and_missing_fields(client: httpx.Client) -> None:
    url = f"{BASE}/baseline"
    headers = {"Content-Type": "application/json"}
    _error(client.post(url, content=b"{not json", headers=headers), 400, "bad_json")
    _error(client.post(url, content=b"", headers=headers), 400, "bad_json")
    _error(client.post(url, content=b"\xff\xfe", headers=headers), 400, "bad_json")
    _error(client.post(url, content=b"[1, 2]", headers=headers), 400, "bad_json")
    nan = b'{"baseline_name": "x", "test_results": {"summary": {"rps": NaN}}}'
    _error(client.post(url, content=nan, headers=headers), 400, "bad_json")
    _error(client.post(url, content=b"[" * 100_000, headers=headers), 400, "bad_json")
    _error(client.post(url, json={"test_results_file": REPORT}), 400, "missing_field")
    _error(client.post(url, json={"baseline_name": "x"}), 400, "missing_field")
    both = {"baseline_name": "x", "test_results_file": REPORT, "test_results": {}}
    _error(client.post(url, json=both), 400, "missing_field")
    _error(client.post(url, json={"baseline_name": 5, "test_results": {}}), 400)
    bad_name = {"baseline_name": "a/b", "test_results_file": REPORT}
    _error(client.post(url, json=bad_name), 400, "bad_name")


def test_unreadable_reports_are_422(client: httpx.Client, api: Api) -> None:
    url = f"{BASE}/baseline"
    for junk in ({}, {"foo": 1}, {"summary": "x"}, {"summary": {"requests": "many"}},
                 {"summary": {}, "histograms": {"total": {"buckets": [[10**9, 1]]}}},
                 {"summary": {"requests": 10**30}}):  # fmt: skip
        body = _error(client.post(url, json={"test_results": junk, "baseline_name": "j"}), 422)
        assert body["error"] == "unreadable_report"
    (api.results / "notes.json").write_text("this is not json", encoding="utf-8")
    r = client.post(url, json={"test_results_file": "notes.json", "baseline_name": "j"})
    assert "not JSON" in _error(r, 422)["detail"]
    assert not api.store.exists("j")


def test_traversal_is_refused(client: httpx.Client, api: Api, tmp_path: Path) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps(_report_data(api)), encoding="utf-8")
    (api.results / "sub").mkdir(exist_ok=True)
    link_out = api.results / "sub" / "link-out.json"
    link_out.unlink(missing_ok=True)
    link_out.symlink_to(outside)
    dir_out = api.results / "dir-out"
    dir_out.unlink(missing_ok=True)
    dir_out.symlink_to(tmp_path, target_is_directory=True)
    attempts = [
        f"../{outside.parent.name}/secret.json",
        "sub/../../secret.json",
        "..",
        str(outside),
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "..\\secret.json",
        "sub/link-out.json",
        "dir-out/secret.json",
        "~/secret.json",
        "report\x00.json",
        "sub",  # a folder, not a file
    ]
    for name in attempts:
        r = client.post(f"{BASE}/baseline", json={"test_results_file": name, "baseline_name": "t"})
        _error(r, 400, "bad_path")
    _error(client.post(f"{BASE}/baseline", json={"test_results_file": "none.json",
                                                  "baseline_name": "t"}), 404)  # fmt: skip
    assert not api.store.exists("t")
    # A link that stays inside the folder is fine.
    inside = api.results / "sub" / "alias.json"
    inside.unlink(missing_ok=True)
    inside.symlink_to(api.results / REPORT)
    r = client.post(f"{BASE}/baseline", json={"test_results_file": "sub/alias.json",
                                              "baseline_name": "alias"})  # fmt: skip
    assert r.status_code == 201, r.text


def test_a_fifo_does_not_block(client: httpx.Client, api: Api) -> None:
    fifo = api.results / "pipe.json"
    if not fifo.exists():
        os.mkfifo(fifo)
    r = client.post(f"{BASE}/baseline", json={"test_results_file": "pipe.json",
                                              "baseline_name": "p"})  # fmt: skip
    _error(r, 400, "bad_path")


# ---------------------------------------------------------------------- the body cap


def test_declared_body_over_10mb_is_413(client: httpx.Client) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    r = client.post(f"{BASE}/baseline", content=body, headers={"Content-Type": "application/json"})
    _error(r, 413, "too_large")


def test_chunked_body_is_cut_off_while_reading(api: Api) -> None:
    """A body with no length and no end: the 413 can only come from counting as it arrives."""
    parts = urlsplit(api.url)
    chunk = b" " * (1024 * 1024)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {BASE}/baseline HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        while sent < 4 * MAX_BODY_BYTES:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered before the body ended (it never does)
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(chunk)
        head = sock.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head[:200]
    assert sent < 4 * MAX_BODY_BYTES  # it did not wait for more
    assert '"too_large"' in head


# ------------------------------------------------------------------ concurrent saves


def test_twenty_concurrent_posts_are_all_saved(api: Api) -> None:
    data = _report_data(api)
    names = [f"concurrent-{i:02d}" for i in range(20)]

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as c:
            return await asyncio.gather(
                *(
                    c.post(f"{BASE}/baseline", json={"test_results": data, "baseline_name": n})
                    for n in names
                )  # fmt: skip
            )

    responses = asyncio.run(post_all())
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    assert set(names) <= set(api.store.names())
    for n in names:
        assert api.store.load(n).result.summary.requests == data["summary"]["requests"]


def test_twenty_concurrent_posts_of_one_name_save_it_once(api: Api) -> None:
    data = _report_data(api)

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as c:
            body = {"test_results": data, "baseline_name": "one-name"}
            return await asyncio.gather(*(c.post(f"{BASE}/baseline", json=body) for _ in range(20)))

    codes = sorted(r.status_code for r in asyncio.run(post_all()))
    assert codes == [201] + [409] * 19


# ---------------------------------------------------------------------------- compare


def test_compare(client: httpx.Client, api: Api) -> None:
    for name in ("cmp-a", "cmp-b"):
        body = {"test_results_file": REPORT, "baseline_name": name}
        assert client.post(f"{BASE}/baseline", json=body).status_code == 201
    r = client.get(f"{BASE}/compare", params={"baseline": "cmp-a", "run": "cmp-b"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["baseline"], c["current"]) == ("cmp-a", "cmp-b")
    assert c["verdict"] == "no significant change"  # the same run twice
    overall = {row["metric"]: row for row in c["rows"] if row["scope"] == "overall"}
    assert overall["p95_ms"]["baseline"] == overall["p95_ms"]["current"]
    # B may be a report file in the results folder.
    r = client.get(f"{BASE}/compare", params={"baseline": "cmp-a", "run": REPORT})
    assert r.status_code == 200 and r.json()["current"] == REPORT
    _error(client.get(f"{BASE}/compare", params={"baseline": "cmp-a", "run": "nope"}), 404)
    _error(client.get(f"{BASE}/compare", params={"baseline": "cmp-a", "run": "../x.json"}), 400)
    _error(client.get(f"{BASE}/compare", params={"baseline": "cmp-a"}), 400)
    params = {"baseline": "cmp-a", "run": "cmp-b", "threshold": "ten"}
    _error(client.get(f"{BASE}/compare", params=params), 400)


# ------------------------------------------------------------------------------- auth


def test_delete_needs_a_token(client: httpx.Client, api: Api) -> None:
    body = {"test_results_file": REPORT, "baseline_name": "keep-me"}
    assert client.post(f"{BASE}/baseline", json=body).status_code == 201
    r = client.delete(f"{BASE}/baselines/keep-me")
    _error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.store.exists("keep-me")


def test_token_guards_every_api_call(locked_api: Api) -> None:
    with httpx.Client(base_url=locked_api.url, trust_env=False, timeout=30) as c:
        for method, path in [("GET", f"{BASE}/info"), ("GET", f"{BASE}/baselines"),
                             ("GET", f"{BASE}/baselines/x"), ("DELETE", f"{BASE}/baselines/x"),
                             ("GET", f"{BASE}/compare?baseline=a&run=b"),
                             ("POST", f"{BASE}/baseline")]:  # fmt: skip
            _error(c.request(method, path), 401, "unauthorized")
            wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
            _error(c.request(method, path, headers=wrong), 401, "unauthorized")
            _error(c.request(method, path, headers={"Authorization": TOKEN}), 401)
        assert c.get("/openapi.json").status_code == 200  # the description stays public
        ok = locked_api.auth()
        assert c.get(f"{BASE}/info", headers=ok).status_code == 200
        body = {"test_results_file": REPORT, "baseline_name": "guarded"}
        assert c.post(f"{BASE}/baseline", json=body, headers=ok).status_code == 201
        r = c.delete(f"{BASE}/baselines/guarded", headers=ok)
        assert r.status_code == 200 and r.json() == {"deleted": "guarded"}
        assert not locked_api.store.exists("guarded")
        _error(c.delete(f"{BASE}/baselines/guarded", headers=ok), 404)


def test_bind_rule() -> None:
    for host in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
        check_bind(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        assert not is_loopback(host)
        with pytest.raises(Exception, match="needs --token"):
            check_bind(host, None)
        check_bind(host, TOKEN)  # allowed with a token (never bound in the tests)
    with pytest.raises(Exception, match="at least 16"):
        check_bind("127.0.0.1", "short")


def test_cli_refuses_a_public_bind_without_token(capsys: pytest.CaptureFixture, tmp_path) -> None:  # noqa: ANN001
    assert main(["serve", "--host", "0.0.0.0", "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs --token" in err[0]
    assert main(["serve", "--results-dir", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


# ------------------------------------------------------------------- nothing leaks


def test_no_traceback_reaches_a_response(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_loadtest.serve import app as app_module

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("a bug with a secret path /home/me/x")

    body = {"test_results_file": REPORT, "baseline_name": "for-the-bug"}
    client.post(f"{BASE}/baseline", json=body)
    monkeypatch.setattr(app_module, "baseline_report", broken)
    r = client.get(f"{BASE}/baselines/for-the-bug", params={"format": "text"})
    body = _error(r, 500, "internal")
    assert "secret" not in r.text and "RuntimeError" in body["detail"]


def test_a_damaged_store_is_one_line(tmp_path: Path, results_dir: Path) -> None:  # noqa: F811
    (tmp_path / "store.sqlite3").write_bytes(b"this is not a database" * 100)
    for api in running_api(tmp_path, results_dir):
        with httpx.Client(base_url=api.url, trust_env=False, timeout=30) as c:
            body = _error(c.get(f"{BASE}/baselines"), 500, "store_error")
            assert "left untouched" in body["detail"]
    assert (tmp_path / "store.sqlite3").read_bytes().startswith(b"this is not")


def test_openapi_names_every_route(client: httpx.Client, api: Api) -> None:
    doc = client.get("/openapi.json").json()
    assert doc == openapi_document()
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == {(m, p) for m, p, _ in ENDPOINTS}
    app = create_app(ServeConfig(store_path=api.store.path, results_dir=api.results))
    routed = {(m, r.path) for r in app.app.routes for m in r.methods if m != "HEAD"}
    assert routed == listed


def test_without_the_extra_one_line_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['starlette'] = None\n"  # as if the serve extra were missing
        "from tui_loadtest.cli import main\n"
        f"sys.exit(main(['serve', '--port', '0', '--store', {str(tmp_path / 's')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'tui-loadtest[serve]'" in lines[0], done.stderr
