"""The dry run (``tui-loadtest check``, ``run --dry-run``): what it prints is what the
server got and sent, in order; failures are shown with what they were tried on; the
exit codes; secrets hidden unless asked; scripts; plain output when piped."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from .servers import RoutesServer, response

REPO = Path(__file__).resolve().parent.parent
JOURNEY = REPO / "tui_loadtest" / "examples" / "journey.toml"
TOKEN = "tok_s3cr3t_value_0123456789"


def check(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def records(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_the_demo_journey_prints_what_the_server_counted(demo_server, demo_url) -> None:
    """Every flow and request once, twice over: the exchanges printed are the requests
    the demo API counted, route by route, and the captured token went with them."""
    proc = check("check", str(JOURNEY), "--host", demo_url, "--iterations", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    got = records(proc)
    stats = demo_server.stats()
    assert len(got) == stats["requests"]
    by_endpoint: dict[str, int] = {}
    for r in got:
        by_endpoint[r["endpoint"]] = by_endpoint.get(r["endpoint"], 0) + 1
        assert r["ok"] and r["response"]["status"] == 200
    assert by_endpoint == {
        "login": stats["by_route"]["POST /api/auth/login"],
        "GET /api/agents": stats["by_route"]["GET /api/agents"],
        "POST /api/agents/{agent}/query": stats["by_route"]["POST /api/agents/{id}/query"],
        "GET /api/queries/{qid}": stats["by_route"]["GET /api/queries/{qid}"],
        "GET /api/health": stats["by_route"]["GET /api/health"],
    }
    assert by_endpoint["login"] == 1  # once per user
    assert stats["authorized"] == 6  # the captured token went into every later request
    assert [r["iteration"] for r in got] == [1] * 5 + [2] * 4
    # a captured value is shown as the user stored it: the id in the next request's path
    agents = [r for r in got if r["endpoint"] == "GET /api/agents"]
    queries = [r for r in got if r["endpoint"] == "POST /api/agents/{agent}/query"]
    for a, q in zip(agents, queries, strict=True):
        assert q["request"]["url"].endswith(f"/api/agents/{a['captures']['agent']}/query")
    # the token is a secret: never shown, in any form
    login = got[0]
    assert login["captures"]["token"] == "<redacted>"
    assert "tok_" not in proc.stdout
    assert ["Authorization", "<redacted>"] in got[1]["request"]["headers"]


@pytest.fixture
def shop():
    """A JSON API that logs what it answered."""
    items = json.dumps({"items": [{"id": "i1", "price": 3}], "status": "ok"}).encode()
    login = json.dumps({"token": TOKEN, "user": "ann"}).encode()
    srv = RoutesServer(
        {
            "/login": response(200, login, {"Content-Type": "application/json"}),
            "/items": response(200, items, {"Content-Type": "application/json"}),
            "/big": response(200, b'{"pad": "' + b"x" * 5000 + b'"}'),
        }
    )
    srv.start()
    yield srv
    srv.stop()


def write(tmp_path: Path, srv: RoutesServer, body: str) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(f'host = "http://127.0.0.1:{srv.port}"\n' + body)
    return path


SHOP = """
[[flows]]
name = "buy"
[[flows.steps]]
name = "login"
method = "POST"
path = "/login"
json = { user = "ann" }
capture = { token = "json:$.token", who = "json:$.user" }
[[flows.steps]]
name = "items"
path = "/items"
headers = { Authorization = "Bearer {token}" }
checks = [
    "status == 200",
    "json:$.items[0].price < 5",
    { check = "json:$.status == 'nope'", soft = true },
]
capture = { item = "json:$.items[0].id" }
[[flows.steps]]
name = "big"
path = "/big?item={item}"
"""


def test_the_text_shows_each_exchange_as_the_server_logged_it(
    shop: RoutesServer, tmp_path: Path
) -> None:
    proc = check("check", str(write(tmp_path, shop, SHOP)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out  # piped: no colours
    assert [(m, t) for m, t, _, _ in shop.log] == [
        ("POST", "/login"),
        ("GET", "/items"),
        ("GET", "/big?item=i1"),
    ]
    port = shop.port
    for method, target, _, body in shop.log:
        assert f"→ {method} http://127.0.0.1:{port}{target}" in out
        if body:
            assert body.decode() in out
    assert out.count("← 200") == 3
    assert "· capture who = ann" in out and "· capture item = i1" in out
    assert "capture token = <redacted>" in out and TOKEN not in out
    assert "Authorization: <redacted>" in out
    assert "✓ status == 200" in out and "✓ json:$.items[0].price < 5" in out
    assert "~ json:$.status == 'nope' (soft): found 'ok'" in out
    # a body over 2 KB is cut, its size given
    assert "(2,048 of 5,011 bytes shown)" in out
    assert "OK: 3 exchanges, nothing failed." in out
    shown = check("check", str(tmp_path / "shop.toml"), "--show-secrets").stdout
    assert f"capture token = {TOKEN}" in shown and f"Authorization: Bearer {TOKEN}" in shown


def test_a_wrong_jsonpath_shows_the_body_it_was_tried_on_and_exits_1(
    shop: RoutesServer, tmp_path: Path
) -> None:
    bad = SHOP.replace('item = "json:$.items[0].id"', 'item = "json:$.items[0].sku"')
    proc = check("check", str(write(tmp_path, shop, bad)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    line = (
        "✗ capture item = json:$.items[0].sku: found nothing (step items): tried on the body above"
    )
    assert line in out
    body_at = out.index('{"items": [{"id": "i1", "price": 3}], "status": "ok"}')
    assert body_at < out.index(line)
    assert "/big" not in out  # the strict capture ended the iteration there
    assert "✗ capture on items ×1" in out and "FAILED: 1 of 2 exchanges failed." in out
    assert shop.hits("/big") == 0


def test_a_failed_check_exits_1_and_a_bad_file_2(shop: RoutesServer, tmp_path: Path) -> None:
    failing = SHOP.replace('"json:$.items[0].price < 5"', '"json:$.items[0].price > 5"')
    proc = check("check", str(write(tmp_path, shop, failing)), "--json")
    assert proc.returncode == 1
    items = [r for r in records(proc) if r["endpoint"] == "items"][0]
    assert not items["ok"]
    assert {"check": "json:$.items[0].price > 5", "name": "json:$.items[0].price > 5",
            "soft": False, "passed": False, "found": 3} in items["checks"]  # fmt: skip
    broken = write(tmp_path, shop, SHOP.replace("status == 200", "status contains 2"))
    proc = check("check", str(broken))
    assert proc.returncode == 2
    assert proc.stderr.startswith("tui-loadtest: error: ")
    assert "flows[1].steps[2].checks[1]" in proc.stderr and proc.stderr.count("\n") == 1


def test_run_dry_run_is_the_same_dry_run(shop: RoutesServer, tmp_path: Path) -> None:
    proc = check("run", str(write(tmp_path, shop, SHOP)), "--dry-run", "--iterations", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("← 200") == 6  # the flow's three steps, twice
    assert shop.hits("/login") == 2 and shop.hits("/items") == 2
    assert "~ items: json:$.status == 'nope' (soft)  (0 passed, 2 failed)" in proc.stdout


def test_a_script_is_checked_task_by_task(shop: RoutesServer, tmp_path: Path) -> None:
    script = tmp_path / "users.py"
    script.write_text(
        "from tui_loadtest.script import task, on_start\n"
        f'host = "http://127.0.0.1:{shop.port}"\n'
        "@on_start\n"
        "async def login(user):\n"
        '    r = await user.post("/login", json={"user": "ann"})\n'
        '    user.headers["Authorization"] = "Bearer " + r.json()["token"]\n'
        "@task\n"
        "async def browse(user):\n"
        '    r = await user.get("/items")\n'
        '    user.check("cheap", r.json()["items"][0]["price"] < 2)\n'
    )
    proc = check("check", str(script), "--json")
    assert proc.returncode == 1  # the check failed: counted by the engine as a run counts it
    got = records(proc)
    assert [(r["flow"], r["endpoint"]) for r in got] == [
        ("login", "POST /login"),
        ("browse", "GET /items"),
    ]
    assert [m for m, _, _, _ in shop.log] == ["POST", "GET"]
    text = check("check", str(script)).stdout
    assert "✗ GET /items: cheap  (0 passed, 1 failed)" in text


def test_http_debug_copies_the_first_exchanges_of_each_endpoint(
    shop: RoutesServer, tmp_path: Path
) -> None:
    """--http-debug-limit 2: two exchanges per endpoint in the log named at the start and
    at the end, as the server got them, the captured token and its header scrubbed; the
    bodies cut at 2 KB unless =full."""
    scenario = write(tmp_path, shop, SHOP + "[load]\nusers = 2\nrequests = 30\n")
    proc = check("run", str(scenario), "--no-ui", "--http-debug", "--http-debug-limit", "2",
                 cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = [line for line in proc.stderr.splitlines() if "HTTP exchanges" in line]
    assert len(said) == 2
    path = Path(said[-1].split("written to ")[1])
    assert path.name in said[0]
    log = path.read_text()
    blocks = [b for b in log.split("\n--- ") if b.strip()]
    assert len(blocks) == 6  # three endpoints, two each
    assert TOKEN not in log and "Authorization: <redacted>" in log
    firsts = [(m, t) for m, t, _, _ in shop.log]
    for method, target in (("POST", "/login"), ("GET", "/items"), ("GET", "/big?item=i1")):
        assert log.count(f"> {method} {target} HTTP/1.1") == 2
        assert firsts.count((method, target)) >= 2
    assert "(2,048 of 5,011 bytes)" in log
    path.unlink()
    proc = check("run", str(scenario), "--no-ui", "--http-debug=full", "--http-debug-limit",
                 "1", cwd=tmp_path)  # fmt: skip
    path = Path([ln for ln in proc.stderr.splitlines() if "written to" in ln][-1].split("to ")[1])
    assert "x" * 5000 in path.read_text()
    path.unlink()


def test_without_http_debug_the_engine_runs_its_usual_users() -> None:
    """Nothing of the copying is on the measured path when it is off: the user classes
    are the plain ones, and their connections write straight to the transport."""
    from tui_loadtest.engine.shares import WorkerShare
    from tui_loadtest.engine.users.plain import VUser
    from tui_loadtest.engine.worker_engine import WorkerEngine
    from tui_loadtest.scenario import parse_scenario

    sc = parse_scenario({"requests": [{"path": "/"}]}, "x.toml")
    share = WorkerShare(worker=0, workers=1, users=1, spawn_rate=1.0)
    eng = WorkerEngine(sc, "http://127.0.0.1:9", share, lambda d: None)
    assert eng.user_class is VUser and eng.observer is None
    copying = replace(share, http_debug=(False, 5))
    debug = WorkerEngine(sc, "http://127.0.0.1:9", copying, lambda d: None)
    assert debug.user_class is not VUser and issubclass(debug.user_class, VUser)
