"""Setup and teardown: once per run (the server counts them), their values in every
user's requests and in no artefact, teardown after a stop and on SIGTERM, skipped by a
second signal, a failing setup that sends no load, scripts' @setup and @teardown, and
the dry run around them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import parse_scenario

from .servers import RoutesServer, response

ADMIN = "adm_9f8e7d6c5b4a39281706"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api():
    srv = RoutesServer(
        {
            "/admin/login": response(200, json.dumps({"token": ADMIN}).encode(), JSON),
            "/tenants": response(201, b'{"id": "t42"}', JSON),
            "/tenants/t42": response(204),
            "/items": response(200, b'{"items": []}', JSON),
            "/broken": response(500, b"{}"),
            "/slow": response(200, b"{}"),
        },
        delays={"/slow": 30.0},
    )
    srv.start()
    yield srv
    srv.stop()


def scenario(srv: RoutesServer, load: str, teardown_path: str = "/tenants/{tenant}") -> str:
    return f"""
host = "http://127.0.0.1:{srv.port}"
{load}

[setup]
[[setup.steps]]
method = "POST"
path = "/admin/login"
capture = {{ admin = "json:$.token" }}
[[setup.steps]]
method = "POST"
path = "/tenants"
headers = {{ X-Admin = "{{admin}}" }}
capture = {{ tenant = "json:$.id" }}
checks = ["status == 201"]

[[requests]]
name = "items"
path = "/items?tenant={{tenant}}"
headers = {{ X-Admin = "{{admin}}" }}

[teardown]
[[teardown.steps]]
method = "DELETE"
path = "{teardown_path}"
headers = {{ X-Admin = "{{admin}}" }}
"""


def start(tmp_path: Path, text: str, *flags: str) -> subprocess.Popen[str]:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", str(path), "--no-ui", "--out",
         str(tmp_path / "r.json"), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def calls(srv: RoutesServer) -> list[tuple[str, str]]:
    return [(m, t) for m, t, _, _ in srv.log]


def test_setup_and_teardown_run_once_and_their_values_reach_every_user(
    api: RoutesServer, tmp_path: Path
) -> None:
    proc = start(tmp_path, scenario(api, "[load]\nusers = 3\nrequests = 30"), "--workers", "2")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    got = calls(api)
    assert got[:2] == [("POST", "/admin/login"), ("POST", "/tenants")]
    assert got[-1] == ("DELETE", "/tenants/t42")
    assert got[2:-1] == [("GET", "/items?tenant=t42")] * 30  # every user, both workers
    assert all(h.get("x-admin") == ADMIN for _, t, h, _ in api.log if t != "/admin/login")
    report_text = (tmp_path / "r.json").read_text()
    assert ADMIN not in report_text and ADMIN not in out + err  # a secret everywhere
    report = json.loads(report_text)
    assert report["summary"]["requests"] == 30  # setup and teardown are not measured
    assert report["outcome"]["setup"] == {
        "requests": 2, "duration_s": report["outcome"]["setup"]["duration_s"], "passed": True,
        "failure": None, "skipped": None,
    }  # fmt: skip
    assert report["outcome"]["teardown"]["requests"] == 1
    assert report["outcome"]["teardown"]["passed"] is True


def test_a_failing_setup_sends_no_load_and_exits_2(api: RoutesServer, tmp_path: Path) -> None:
    broken = scenario(api, '[load]\nusers = 2\nrun_time = "5s"').replace(
        'path = "/tenants"\n', 'path = "/broken"\n'
    )
    proc = start(tmp_path, broken)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == (
        "tui-loadtest: error: setup failed, no load was sent: step POST /broken: HTTP 500"
    )
    assert calls(api) == [("POST", "/admin/login"), ("POST", "/broken")]
    assert not (tmp_path / "r.json").exists()


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_teardown_runs_after_sigterm_and_a_second_signal_skips_it(
    api: RoutesServer, tmp_path: Path
) -> None:
    load = '[load]\nusers = 2\nrun_time = "60s"'
    proc = start(tmp_path, scenario(api, load))
    wait_for(lambda: api.hits("/items") >= 5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    assert calls(api)[-1] == ("DELETE", "/tenants/t42")
    assert api.hits("/tenants/t42") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"]["interrupted"] and report["outcome"]["teardown"]["passed"]

    api.log.clear()
    proc = start(tmp_path, scenario(api, load, teardown_path="/slow"))
    wait_for(lambda: api.hits("/items") >= 5)
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: api.hits("/slow") == 1)  # the teardown has begun: it waits 30 s
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 15, "the second signal did not cut the teardown short"
    assert proc.returncode == 143, out + err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"]["teardown"]["passed"] is False
    assert report["outcome"]["teardown"]["skipped"]


SCRIPT = """
from tui_loadtest.script import setup, task, teardown

@setup
async def prepare(user):
    r = await user.post("/admin/login")
    return {"admin": r.json()["token"], "tenant": "t42"}

@task
async def browse(user):
    await user.get("/items", params={"tenant": user.setup["tenant"]},
                   headers={"X-Admin": user.setup["admin"]})

@teardown
async def clean(user):
    await user.delete("/tenants/" + user.setup["tenant"], headers={"X-Admin": user.setup["admin"]})
"""


def test_a_scripts_setup_and_teardown(api: RoutesServer, tmp_path: Path) -> None:
    script = tmp_path / "users.py"
    script.write_text(f'host = "http://127.0.0.1:{api.port}"\n' + SCRIPT)
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", str(script), "--no-ui", "-n", "12",
         "-u", "2", "--out", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = calls(api)
    assert got[0] == ("POST", "/admin/login") and got[-1] == ("DELETE", "/tenants/t42")
    assert got[1:-1] == [("GET", "/items?tenant=t42")] * 12
    assert all(h.get("x-admin") == ADMIN for _, t, h, _ in api.log[1:])
    assert ADMIN not in (tmp_path / "r.json").read_text()


def test_the_dry_run_goes_through_setup_and_teardown(api: RoutesServer, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(scenario(api, ""))
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "check", str(path), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["flow"], r["request"]["method"]) for r in got] == [
        ("setup", "POST"), ("setup", "POST"), ("items", "GET"), ("teardown", "DELETE"),
    ]  # fmt: skip
    assert ADMIN not in proc.stdout  # a setup value is a secret
    assert got[2]["request"]["url"].endswith("/items?tenant=t42")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"flows": [{"name": "f", "steps": [{"path": "/x", "capture": {"tenant": "json:$.id"}}]}]},
         'flows[1].steps[1].capture.tenant: "tenant" is captured by [setup]'),
        ({"setup": {"steps": [{"path": "/x", "once": True}]}},
         "setup.steps[1].once: not used in [setup] (it runs once already)"),
        ({"teardown": {"steps": [{"path": "/x/{nope}"}]}},
         "teardown.steps[1].path: placeholder {nope} has no values"),
        ({"setup": {"steps": []}}, "setup.steps: expected one or more [[setup.steps]] tables"),
    ],
)  # fmt: skip
def test_setup_mistakes_are_one_line(change: dict[str, Any], message: str) -> None:
    data: dict[str, Any] = {
        "setup": {"steps": [{"path": "/t", "capture": {"tenant": "json:$.id"}}]},
        "requests": [{"path": "/items/{tenant}"}],
    }
    data.update(change)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "s.toml")
    assert "\n" not in str(info.value)
    assert message in str(info.value)


def test_setup_values_are_not_in_the_scenario_a_report_keeps() -> None:
    sc = parse_scenario(
        {
            "setup": {"steps": [{"path": "/t", "capture": {"tenant": "json:$.id"}}]},
            "requests": [{"path": "/items/{tenant}"}],
            "teardown": {"steps": [{"method": "DELETE", "path": "/t/{tenant}"}]},
        },
        "s.toml",
    )
    assert sc.setup_names == ("tenant",) and sc.has_journeys
    assert sc.redacted["setup"][0]["capture"] == {"tenant": "json:$.id"}
    assert sc.redacted["teardown"][0]["path"] == "/t/{tenant}"
