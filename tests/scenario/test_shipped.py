"""The shipped scenario files: configs/ and the embedded demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui_loadtest.scenario import load_builtin_demo, load_scenario

from .helpers import CONFIGS, REPO

# ------------------------------------------------------------------ shipped files


def test_configs_folder_has_the_three_guide_scenarios() -> None:
    names = {path.name for path in CONFIGS}
    assert {"health.toml", "query.toml", "mixed.toml"} <= names


# stall.toml targets a demo-server started by hand with --stall (see its header)
BY_HAND = {"stall.toml": "http://127.0.0.1:5000"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_loads_against_the_demo_target(path: Path) -> None:
    sc = load_scenario(path, env={})
    if path.name in BY_HAND:
        assert sc.host == BY_HAND[path.name]
    else:
        assert sc.host is None and sc.is_demo
    assert sc.requests
    assert sc.source == str(path)
    assert path.read_text().startswith("#"), "each config starts with an explanatory comment"
    names = {r.name for r in sc.requests}
    assert all(t.endpoint is None or t.endpoint in names for t in sc.thresholds)
    for request in sc.requests:
        assert request.path.startswith("/api/")


def test_health_config() -> None:
    sc = load_scenario(REPO / "configs" / "health.toml", env={})
    assert (sc.load.users, sc.load.spawn_rate, sc.load.run_time_s) == (1000, 50.0, 120.0)
    assert [(r.method, r.path) for r in sc.requests] == [("GET", "/api/health")]


def test_query_config() -> None:
    sc = load_scenario(REPO / "configs" / "query.toml", env={})
    assert (sc.load.users, sc.load.spawn_rate, sc.load.run_time_s) == (500, 10.0, 300.0)
    by_name = {r.name: r for r in sc.requests}
    query = by_name["POST /api/agents/{id}/query"]
    assert query.method == "POST"
    assert json.loads(query.body or b"") == {"query": "status?"}
    assert query.content_type == "application/json"
    assert dict(query.vars)["id"]
    assert "GET /api/agents/{id}" in by_name


def test_mixed_config_weights() -> None:
    sc = load_scenario(REPO / "configs" / "mixed.toml", env={})
    assert (sc.load.users, sc.load.spawn_rate, sc.load.run_time_s) == (1000, 10.0, 600.0)
    weights = {(r.method, r.path): r.weight for r in sc.requests}
    assert weights == {
        ("GET", "/api/health"): 10,
        ("GET", "/api/agents"): 5,
        ("GET", "/api/agents/{id}"): 3,
        ("POST", "/api/agents/{id}/query"): 3,
    }
    low, high = sc.load.think_time
    assert 0 < low < high <= 2


def test_builtin_demo() -> None:
    sc = load_builtin_demo(env={})
    assert sc.name == "Demo: AI Agent Connector API"
    assert sc.is_demo
    assert (sc.load.users, sc.load.spawn_rate, sc.load.run_time_s) == (50, 25.0, 60.0)
    assert sc.load.think_time == (0.05, 0.25)
    assert {r.path for r in sc.requests} == {
        "/api/health",
        "/api/agents",
        "/api/agents/{id}",
        "/api/agents/{id}/query",
    }
    agent_ids = dict(next(r for r in sc.requests if r.path == "/api/agents/{id}").vars)["id"]
    assert set(agent_ids) <= {f"a{i}" for i in range(1, 21)}, "unknown ids would 404"
    assert sc.source is not None and Path(sc.source).name == "demo.toml"
    assert sc.redacted["source"] == sc.source


def test_demo_scenarios_is_a_plain_data_folder() -> None:
    folder = REPO / "tui_loadtest" / "demo" / "scenarios"
    assert (folder / "demo.toml").is_file()
    assert not (folder / "__init__.py").exists()


def test_scenario_module_does_not_import_textual() -> None:
    code = "import sys, tui_loadtest.scenario; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
