"""Python user scripts against the real demo API, through the real CLI and worker."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import LoadSpec, parse_scenario, script_scenario

from .engine_harness import run_engine

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


BROKEN = """
from tui_loadtest.script import task, on_start

@on_start
async def login(user):
    r = await user.post("/api/auth/login", json=user.data, name="login")
    user.headers["Authorization"] = "Bearer " + r.json()["access_token"]

@task(2)
async def boom(user):
    await user.get("/api/agents")
    raise ValueError("bad value for " + user.data["username"])

@task
async def fine(user):
    r = await user.get("/api/agents", name="agents")
    if r.status != 200:
        user.fail("no agents")
"""


def test_script_exceptions_are_counted_and_the_worker_lives(demo_server, tmp_path: Path) -> None:  # noqa: ANN001
    demo_server.reset()
    (tmp_path / "users.py").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "users.csv").write_text("username,password\nuser3,pass3\nuser4,pass4\n")
    (tmp_path / "s.toml").write_text(
        f'host = "{demo_server.url}"\nscript = "users.py"\n[load]\nusers = 2\n'
        'run_time = "3s"\n[[data]]\nfile = "users.csv"\nsecret_columns = ["username"]\n',
        encoding="utf-8",
    )
    proc = cli("run", "s.toml", "--no-ui", "--out", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    flows = {f["name"]: f for f in report["flows"]}
    assert flows["login"]["iterations"] == 2 and flows["login"]["failed_iterations"] == 0
    boom, fine = flows["boom"], flows["fine"]
    # (few: a task that raises at once is slowed down, so a broken task cannot spin; a
    # run of booms in a row pauses its user up to 1 s, so fine runs vary: 3 s, not 2)
    assert boom["iterations"] > 3 and boom["failed_iterations"] == boom["iterations"]
    assert fine["iterations"] > 5 and fine["failed_iterations"] == 0
    (error,) = [e for e in report["errors"] if e["kind"] == "script"]
    assert error["endpoint"] == "boom" and error["method"] == "TASK"
    assert error["count"] == boom["iterations"]
    # The message names the exception but not the user's data value.
    assert error["message"] == "ValueError: bad value for <redacted>"
    # The worker kept going all along: requests kept coming until the end. (A task
    # the end of the run cut short after its request is no iteration: one per user.)
    endpoints = {e["name"]: e["requests"] for e in report["endpoints"]}
    assert 0 <= endpoints["GET /api/agents"] - boom["iterations"] <= 2
    assert 0 <= endpoints["agents"] - fine["iterations"] <= 2
    assert sum(endpoints.values()) == demo_server.stats()["requests"]
    assert report["timeline"][-1]["rps"] > 0
    log = proc.stderr.split("script errors: tracebacks in ")[1].splitlines()[0].strip()
    text = Path(log).read_text()
    assert 'raise ValueError("bad value for " + user.data["username"])' in text
    assert "user3" not in text and "user4" not in text
    Path(log).unlink()


def test_script_requests_in_the_engine(demo_server, tmp_path: Path) -> None:  # noqa: ANN001
    demo_server.reset()
    sc = script_scenario(REPO / "configs" / "journey_users.py")
    sc = replace(sc, load=LoadSpec(users=3, spawn_rate=100, requests=60))
    agg = asyncio.run(run_engine(sc, demo_server.url))
    stats = demo_server.stats()
    assert stats["logins"] == 3
    keys, stats_ = agg.endpoint_keys, agg.endpoint_stats()
    counted = {name: s.requests for (_, name), s in zip(keys, stats_, strict=True)}
    assert sum(counted.values()) == 60 == stats["requests"]
    protected = sum(n for name, n in counted.items() if name not in ("login", "GET /api/health"))
    assert stats["authorized"] == protected
    assert not agg.error_rows()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import nosuchmodule_xyz\n", "users.py:1: ModuleNotFoundError: No module named"),
        ("x = (\n", "users.py:1: SyntaxError: '(' was never closed"),
        (
            "from tui_loadtest.script import task\n\n\n@task\ndef sync(user):\n    pass\n",
            "users.py:4: sync must be an async function",
        ),
        ("x = 1\n", "users.py: no task (decorate an async function with @task"),
        ("raise RuntimeError('no config')\n", "users.py:1: RuntimeError: no config"),
    ],
)
def test_broken_script_gives_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "users.py").write_text(text, encoding="utf-8")
    proc = cli("run", "users.py", "--no-ui", "-t", "1s", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_script_not_found(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('script = "gone.py"\n', encoding="utf-8")
    proc = cli("run", "s.toml", "--no-ui", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == 'tui-loadtest: error: s.toml: script: cannot read script "gone.py": no such file'
    )
    proc = cli("run", "gone.py", "--no-ui", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == 'tui-loadtest: error: gone.py: cannot read script "gone.py": no such file'
    )


def test_script_and_requests_do_not_mix(tmp_path: Path) -> None:
    (tmp_path / "users.py").write_text("", encoding="utf-8")
    with pytest.raises(
        ScenarioError, match=r"x.toml: script: cannot be combined with \[\[requests\]\]"
    ):
        parse_scenario(
            {"script": "users.py", "requests": [{"path": "/"}]}, str(tmp_path / "x.toml")
        )
