"""Journeys against the real demo API: captures reach the server, once steps, data rows,
failed captures, arrival-rate flows, and no captured or data value in any artefact."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.scenario import Scenario, parse_scenario
from tui_loadtest.stats.aggregate import RunAggregate
from tui_loadtest.store.db import BaselineStore

from .engine_harness import run_engine

REPO = Path(__file__).resolve().parent.parent
LOGIN_FLOW: dict[str, Any] = {
    "name": "query an agent",
    "steps": [
        {
            "name": "login",
            "once": True,
            "method": "POST",
            "path": "/api/auth/login",
            "json": {"username": "{username}", "password": "{password}"},
            "capture": {"token": "json:$.access_token"},
        },
        {
            "name": "agents",
            "path": "/api/agents",
            "headers": {"Authorization": "Bearer {token}"},
            "capture": {"agent": "json:$.agents[*].id", "etag": "header:ETag"},
        },
        {
            "name": "query",
            "method": "POST",
            "path": "/api/agents/{agent}/query",
            "headers": {"Authorization": "Bearer {token}", "If-None-Match": "{etag}"},
            "json": {"query": "status?"},
            "capture": {"qid": "json:$.query_id"},
        },
        {
            "name": "read back",
            "path": "/api/queries/{qid}",
            "headers": {"Authorization": "Bearer {token}"},
            "expect_status": [200],
        },
    ],
}
PROTECTED = ("agents", "query", "read back")


def write_users(folder: Path, count: int = 50, extra: str = "") -> Path:
    head = "username,password" + (",note" if extra else "")
    rows = [f"user{i},pass{i}" + (f",{extra}{i}" if extra else "") for i in range(1, count + 1)]
    path = folder / "users.csv"
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def journey(folder: Path, *, mode: str = "circular", **load: Any) -> Scenario:
    write_users(folder)
    data = {
        "name": "journey",
        "load": {"users": 4, "spawn_rate": 100, **load},
        "flows": [LOGIN_FLOW],
        "data": [{"file": "users.csv", "mode": mode}],
    }
    return parse_scenario(data, str(folder / "journey.toml"), env={})


def rows(agg: RunAggregate) -> dict[str, tuple[int, int]]:
    """(requests, failures) per endpoint name."""
    return {
        name: (s.requests, s.failures)
        for (_, name), s in zip(agg.endpoint_keys, agg.endpoint_stats(), strict=True)
    }


@pytest.fixture
def demo(demo_server):  # noqa: ANN001, ANN201
    demo_server.reset()
    return demo_server


def test_captured_token_reaches_the_server(demo, tmp_path: Path) -> None:  # noqa: ANN001
    sc = journey(tmp_path, requests=400)
    agg = asyncio.run(run_engine(sc, demo.url))
    seen = rows(agg)
    stats = demo.stats()
    assert sum(r for r, _ in seen.values()) == 400
    assert all(f == 0 for _, f in seen.values()), agg.error_rows()
    # Every protected request carried a token the server had handed out.
    assert stats["authorized"] == sum(seen[name][0] for name in PROTECTED)
    assert stats["authorized_by_route"]["GET /api/queries/{qid}"] == seen["read back"][0]
    assert stats["logins"] == seen["login"][0]
    # The read-back step found the query ids the server made (404 would be a failure).
    (flow,) = agg.flow_stats()
    assert flow.iterations >= 100 and flow.failed == 0
    assert flow.duration.p50 > 0


def test_once_step_runs_once_per_user(demo, tmp_path: Path) -> None:  # noqa: ANN001
    sc = journey(tmp_path, users=6, requests=300)
    agg = asyncio.run(run_engine(sc, demo.url))
    assert rows(agg)["login"] == (6, 0)
    assert demo.stats()["logins"] == 6


def test_queue_gives_each_row_to_one_user(demo, tmp_path: Path) -> None:  # noqa: ANN001
    # 8 users, 5 rows: 5 users log in with 5 different accounts, 3 stay idle.
    write_users(tmp_path, count=5)
    data = {
        "load": {"users": 8, "spawn_rate": 100, "run_time": "2s"},
        "flows": [LOGIN_FLOW],
        "data": [{"file": "users.csv", "mode": "queue"}],
    }
    sc = parse_scenario(data, str(tmp_path / "q.toml"), env={})
    agg = asyncio.run(run_engine(sc, demo.url, stop_after=1.5))
    assert rows(agg)["login"] == (5, 0)
    assert demo.stats()["logins"] == 5
    logged_in = _logins_by_user(demo)
    assert sorted(logged_in) == [f"user{i}" for i in range(1, 6)]
    assert all(n == 1 for n in logged_in.values())
    warnings = [e.text for e in agg.events if e.level == "warning"]
    assert warnings == [
        'data users.csv: every row is taken (mode = "queue", 5 rows); '
        "new users get none and stay idle"
    ]


def _logins_by_user(demo) -> dict[str, int]:  # noqa: ANN001
    return demo.stats()["logins_by_user"]


def test_failed_capture_is_counted_and_named(demo, tmp_path: Path) -> None:  # noqa: ANN001
    write_users(tmp_path)
    flow = json.loads(json.dumps(LOGIN_FLOW))
    flow["steps"][2]["capture"] = {"qid": "json:$.no_such_field"}
    data = {
        "load": {"users": 2, "spawn_rate": 100, "requests": 60},
        "flows": [flow],
        "data": [{"file": "users.csv"}],
    }
    sc = parse_scenario(data, str(tmp_path / "c.toml"), env={})
    agg = asyncio.run(run_engine(sc, demo.url))
    seen = rows(agg)
    # The read-back step never runs: the iteration ends at the failed capture.
    assert seen["read back"] == (0, 0)
    assert seen["query"][1] == seen["query"][0] > 0
    (err,) = [e for e in agg.error_rows() if e.kind == "capture"]
    assert err.endpoint == "query" and err.count == seen["query"][0]
    assert err.message == "capture qid = json:$.no_such_field: found nothing (step query)"
    (stats,) = agg.flow_stats()
    assert stats.failed == stats.iterations == seen["query"][0]


def test_not_strict_capture_goes_on(demo, tmp_path: Path) -> None:  # noqa: ANN001
    write_users(tmp_path)
    flow = json.loads(json.dumps(LOGIN_FLOW))
    flow["steps"][1]["capture"] = {
        "agent": "json:$.agents[0].id",
        "etag": "header:ETag",
        "x": "regex:nothing(here)",
    }
    flow["steps"][1]["strict"] = False
    data = {
        "load": {"users": 2, "spawn_rate": 100, "requests": 41},
        "flows": [flow],
        "data": [{"file": "users.csv"}],
    }
    sc = parse_scenario(data, str(tmp_path / "s.toml"), env={})
    agg = asyncio.run(run_engine(sc, demo.url))
    seen = rows(agg)
    assert seen["read back"][0] > 0 and seen["read back"][1] == 0
    assert seen["agents"][1] == seen["agents"][0]
    assert {e.kind for e in agg.error_rows()} == {"capture"}


def test_arrival_rate_flows(demo, tmp_path: Path) -> None:  # noqa: ANN001
    write_users(tmp_path)
    data = {
        "load": {"mode": "arrival-rate", "rate": 40, "max_users": 20, "requests": 30},
        "flows": [LOGIN_FLOW],
        "data": [{"file": "users.csv"}],
    }
    sc = parse_scenario(data, str(tmp_path / "a.toml"), env={})
    agg = asyncio.run(run_engine(sc, demo.url))
    seen = rows(agg)
    (flow,) = agg.flow_stats()
    # One arrival is one iteration: 30 arrivals, each ran the three regular steps.
    assert flow.iterations == 30 and flow.failed == 0
    assert seen["read back"] == (30, 0)
    # Each slot logged in the first time it was used, once.
    assert 1 <= seen["login"][0] <= 20
    assert demo.stats()["authorized"] == 90
    assert flow.service is not None and flow.duration.max >= flow.service.max


# -- no secret, captured value or data value in any artefact ----------------------------

SECRET = "pl4nted-s3cret-9f1c"
NOTE = "data-v4lue-7e2a"


def test_no_value_leaks_into_any_artefact(demo, tmp_path: Path) -> None:  # noqa: ANN001
    write_users(tmp_path, extra=NOTE)
    scenario = tmp_path / "leak.toml"
    scenario.write_text(
        f"""
name = "leak check"
host = "{demo.url}"
[load]
users = 3
run_time = "2s"
[http]
headers = {{ X-Api-Key = "${{LEAK_SECRET}}" }}
[[flows]]
name = "journey"
[[flows.steps]]
name = "login"
once = true
method = "POST"
path = "/api/auth/login"
json = {{ username = "{{username}}", password = "{{password}}" }}
capture = {{ token = "json:$.access_token" }}
[[flows.steps]]
name = "agents"
path = "/api/agents"
headers = {{ Authorization = "Bearer {{token}}", X-Note = "{{note}}" }}
capture = {{ agent = "json:$.agents[0].id" }}
[[flows.steps]]
name = "bad capture"
method = "POST"
path = "/api/agents/{{agent}}/query"
headers = {{ Authorization = "Bearer {{token}}" }}
json = {{ query = "{{note}}" }}
capture = {{ qid = "json:$.missing" }}
strict = false
[[data]]
file = "users.csv"
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    store = tmp_path / "store.db"
    env = {**os.environ, "LEAK_SECRET": SECRET, "TUI_LOADTEST_STORE": str(store)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui_loadtest",
            "run",
            str(scenario),
            "--no-ui",
            "--out",
            str(out / "report.json"),
            "--html",
            str(out / "report.html"),
            "--csv",
            str(out / "run"),
            "--save-baseline",
            "leak",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["flows"][0]["iterations"] > 0
    assert {e["kind"] for e in report["errors"]} == {"capture"}
    # The values that went over the wire: the secret, every password and note, and the
    # tokens (the demo's all start "tok_").
    assert demo.stats()["logins"] >= 3
    values = [SECRET, "tok_", *(f"pass{i}" for i in range(1, 51))]
    values += [f"{NOTE}{i}" for i in range(1, 51)]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "users.csv"]
    files = [p for p in files if p.name != scenario.name]
    assert {p.name for p in files} >= {"report.json", "report.html", "store.db"}
    texts = {p: p.read_bytes() for p in files}
    texts[Path("stdout")] = proc.stdout.encode()
    texts[Path("stderr")] = proc.stderr.encode()
    with sqlite3.connect(store) as db:
        for table, *_ in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 - our own tables
                texts[Path(f"store:{table}")] = repr(row).encode()
    for where, data in texts.items():
        for value in values:
            assert value.encode() not in data, f"{value!r} found in {where}"
    # The baseline keeps the per-flow iterations, with their histogram.
    saved = BaselineStore(store).load("leak").result
    (flow,) = saved.flows
    assert flow.name == "journey" and flow.stats.iterations == report["flows"][0]["iterations"]
    assert flow.histogram.total == flow.stats.iterations > 0
    assert flow.stats.duration.p95 == pytest.approx(
        report["flows"][0]["iteration_duration_ms"]["p95"], abs=0.01
    )


# -- bad input: one line naming the file and the key, exit 2 -----------------------------

BAD_INPUT = [
    ("/api/queries/{qid}", "/api/queries/{qidd}", "j.toml: flows[1].steps[4].path: placeholder"),
    ('"json:$.query_id"', '"json:$.query_id["', "j.toml: flows[1].steps[3].capture.qid: JSONPath"),
    ('"users.csv"', '"missing.csv"', 'j.toml: data[1].file: cannot read "missing.csv"'),
    ('"users.csv"', '"empty.csv"', 'j.toml: data[1].file: "empty.csv" is empty'),
    (
        "{password}",
        "{passwd}",
        "j.toml: flows[1].steps[1].json: placeholder {passwd} has no values",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (REPO / "configs" / "journey.toml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "j.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    write_users(tmp_path)
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "j.toml", "--no-ui"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tui-loadtest: error: {message}"), proc.stderr
