"""Tags: ``--tags`` and ``--exclude-tags`` run exactly the tagged requests and steps (the
server counts them), a choice that breaks a flow or leaves nothing is one line, and
thresholds and reports group endpoints by tag."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.scenario.tags import select_tags
from tui_loadtest.stats.result import RunResult

from .engine_harness import run_engine
from .servers import RoutesServer, response

OK = response(200, b'{"id": "x1"}', {"Content-Type": "application/json"})
PATHS = ("/browse", "/search", "/login", "/cart", "/pay", "/health")


@pytest.fixture
def server():
    srv = RoutesServer({p: OK for p in PATHS})
    srv.start()
    yield srv
    srv.stop()


def shop(url: str = "http://127.0.0.1:1", **load: Any) -> dict[str, Any]:
    return {
        "host": url,
        "tags": ["shop"],
        "load": {"users": 2, "requests": 60, **load},
        "requests": [
            {"name": "browse", "path": "/browse", "tags": ["read"]},
            {"name": "search", "path": "/search", "tags": ["read", "slow"]},
            {"name": "health", "path": "/health", "tags": ["ops"]},
        ],
        "flows": [
            {
                "name": "checkout",
                "tags": ["buy"],
                "steps": [
                    {"name": "login", "path": "/login", "capture": {"id": "json:$.id"},
                     "tags": ["auth"]},
                    {"name": "cart", "path": "/cart?id={id}"},
                    {"name": "pay", "path": "/pay", "tags": ["slow"]},
                ],
            }
        ],
    }  # fmt: skip


def hits(srv: RoutesServer) -> dict[str, int]:
    return {p: srv.hits(p) for p in PATHS if srv.hits(p)}


@pytest.mark.parametrize(
    ("tags", "exclude", "paths"),
    [
        (["read"], None, {"/browse", "/search"}),
        (["buy"], None, {"/login", "/cart", "/pay"}),  # the flow's tag: all its steps
        (["slow"], None, {"/search", "/pay"}),  # a step alone is a flow of its own steps
        (None, ["slow"], {"/browse", "/health", "/login", "/cart"}),
        (["shop"], ["read", "ops"], {"/login", "/cart", "/pay"}),  # the scenario's tag
        (["read", "ops"], ["slow"], {"/browse", "/health"}),
    ],
)
def test_tags_choose_exactly_what_the_server_gets(
    server: RoutesServer, tags: list[str] | None, exclude: list[str] | None, paths: set[str]
) -> None:
    url = f"http://127.0.0.1:{server.port}"
    chosen, notes = select_tags(parse_scenario(shop(url), "s.toml"), tags, exclude)
    assert notes == []
    agg = asyncio.run(run_engine(chosen, url))
    got = hits(server)
    assert set(got) == paths
    assert sum(got.values()) == agg.total_span().requests == 60
    assert {name for _, name in chosen.endpoints} == {p.strip("/") for p in paths}


def test_a_choice_that_breaks_a_flow_or_leaves_nothing_is_one_line() -> None:
    sc = parse_scenario(shop(), "s.toml")
    with pytest.raises(ScenarioError) as info:
        select_tags(sc, None, ["auth"])
    assert str(info.value) == (
        'flow "checkout": step "cart" needs {id}, captured by step "login", which the tags'
        " leave out (tag that step too)"
    )
    with pytest.raises(ScenarioError, match=r"--tags nope: nothing left to run \(the scenario's"
                       r" tags: auth, buy, ops, read, shop, slow\)"):  # fmt: skip
        select_tags(sc, ["nope"], None)
    with pytest.raises(ScenarioError, match="--tags: expected tags of letters"):
        select_tags(sc, ["a b"], None)


def test_bad_tags_in_a_file_are_one_line() -> None:
    data = shop()
    data["requests"][0]["tags"] = ["read", "no spaces"]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "s.toml")
    assert str(info.value) == (
        's.toml: requests[1].tags[2]: expected a tag of letters, digits, _ and -, got "no spaces"'
    )
    data = shop()
    data["tags"] = "shop"
    with pytest.raises(ScenarioError, match=r"s.toml: tags: expected a list of tags"):
        parse_scenario(data, "s.toml")


def test_thresholds_left_without_anything_to_measure_are_said_and_dropped() -> None:
    data = shop()
    data["thresholds"] = {"endpoints.pay": {"p99_ms": 100}, "tags.read": {"p95_ms": 100}}
    chosen, notes = select_tags(parse_scenario(data, "s.toml"), ["read"], None)
    assert notes == [
        "--tags read: threshold endpoints.pay.p99_ms left out (nothing it measures runs)"
    ]
    assert [t.key for t in chosen.thresholds] == ["tags.read.p95_ms"]
    assert [t["label"] for t in chosen.redacted["thresholds"]] == ["tags.read.p95_ms <= 100"]
    assert chosen.redacted["selected_tags"] == {"tags": ["read"], "exclude_tags": []}
    assert [r["name"] for r in chosen.redacted["requests"]] == ["browse", "search"]


def test_thresholds_and_reports_group_endpoints_by_tag(
    server: RoutesServer, tmp_path: Path
) -> None:
    """``"tags.read".error_rate`` and ``rps_min`` over the tagged endpoints together; the
    JSON report's ``tags`` and the summary's Tags table hold each tag's figures, equal to
    its endpoints' added up, as the server counted them."""
    data = shop(f"http://127.0.0.1:{server.port}")
    data["thresholds"] = {
        "tags": {"read": {"error_rate": 0.0}, "buy": {"p99_ms": 10_000}},
        "tags.slow": {"rps_min": 1_000_000},  # fails: nothing is that fast
    }
    path = tmp_path / "s.toml"
    path.write_text(_toml(data))
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", str(path), "--no-ui", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "threshold failed: tags.slow.rps_min >= 1000000" in proc.stderr
    report = json.loads(out.read_text())
    by_tag = {t["tag"]: t for t in report["tags"]}
    counted = hits(server)
    assert by_tag["read"]["requests"] == counted["/browse"] + counted["/search"]
    assert by_tag["slow"]["requests"] == counted["/search"] + counted["/pay"]
    assert by_tag["shop"]["requests"] == sum(counted.values()) == 60
    assert by_tag["buy"]["endpoints"] == ["login", "cart", "pay"]
    assert [(t["label"], t["passed"]) for t in report["thresholds"]] == [
        ("tags.read.error_rate <= 0", True),
        ("tags.buy.p99_ms <= 10000", True),
        ("tags.slow.rps_min >= 1000000", False),
    ]
    result = RunResult.from_report(report)
    assert [t.tag for t in result.tag_groups()] == list(by_tag)
    assert "Tags\n" in proc.stdout and "read " in proc.stdout


def test_a_threshold_on_an_unknown_tag_is_one_line() -> None:
    data = shop()
    data["thresholds"] = {"tags.reed": {"p95_ms": 10}}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "s.toml")
    assert str(info.value) == (
        's.toml: thresholds."tags.reed": no endpoint is tagged "reed" (did you mean "read"?)'
    )


def _toml(data: dict[str, Any]) -> str:
    """Just enough TOML for these tests' scenarios."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    lines = [f"host = {json.dumps(data['host'])}", f"tags = {value(data['tags'])}", "[load]"]
    lines += [f"{k} = {value(v)}" for k, v in data["load"].items()]
    for r in data["requests"]:
        lines += ["[[requests]]", *(f"{k} = {value(v)}" for k, v in r.items())]
    for f in data["flows"]:
        lines += ["[[flows]]", *(f"{k} = {value(v)}" for k, v in f.items() if k != "steps")]
        for st in f["steps"]:
            lines += ["[[flows.steps]]", *(f"{k} = {value(v)}" for k, v in st.items())]
    lines += [
        "[thresholds]",
        *(f"{json.dumps(k)} = {value(v)}" for k, v in data["thresholds"].items()),
    ]
    return "\n".join(lines) + "\n"


def test_run_and_check_take_the_flags(server: RoutesServer, tmp_path: Path) -> None:
    data = shop(f"http://127.0.0.1:{server.port}")
    data["thresholds"] = {"tags.read": {"error_rate": 0.0}}
    path = tmp_path / "s.toml"
    path.write_text(_toml(data))
    run = [sys.executable, "-m", "tui_loadtest", "run", str(path), "--no-ui"]
    proc = subprocess.run([*run, "--tags", "read", "--exclude-tags", "slow"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hits(server) == {"/browse": 60}
    server.log.clear()
    check = [sys.executable, "-m", "tui_loadtest", "check", str(path), "--json"]
    proc = subprocess.run([*check, "--tags", "buy"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [json.loads(line)["endpoint"] for line in proc.stdout.splitlines()] == [
        "login",
        "cart",
        "pay",
    ]
    assert hits(server) == {"/login": 1, "/cart": 1, "/pay": 1}
