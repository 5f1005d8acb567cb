"""Getting started: `init` writes a starter that runs as it is; `examples` lists and copies
the packaged examples; neither replaces a file without --force."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.errors import EXIT_GATE_FAILED
from tui_loadtest.examples import examples
from tui_loadtest.scenario import load_scenario

pytestmark = pytest.mark.usefixtures("in_tmp")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_commented_starter_that_loads(tmp_path, capsys):
    assert main(["init"]) == 0
    text = (tmp_path / "scenario.toml").read_text()
    assert "tui-loadtest run scenario.toml" in text and "[thresholds]" in text
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 10
    scenario = load_scenario(tmp_path / "scenario.toml", env={})
    assert scenario.name == "Scenario" and scenario.host is None  # "demo": the embedded API
    assert len(scenario.requests) == 2 and scenario.thresholds
    assert "tui-loadtest run scenario.toml" in capsys.readouterr().err


def test_init_names_the_file_and_the_scenario(tmp_path):
    assert main(["init", "checkout-api"]) == 0
    scenario = load_scenario(tmp_path / "checkout-api.toml", env={})
    assert scenario.name == "Checkout api"
    assert main(["init", 'odd "name".toml']) == 0
    assert load_scenario(tmp_path / 'odd "name".toml', env={}).name == 'Odd "name"'


def test_init_never_replaces_a_file_without_force(tmp_path, capsys):
    mine = tmp_path / "scenario.toml"
    mine.write_text("mine")
    assert main(["init"]) == 2
    assert mine.read_text() == "mine"
    assert "exists; not replacing it (--force" in capsys.readouterr().err
    assert main(["init", "--force"]) == 0
    assert "[[requests]]" in mine.read_text()


def test_init_keeps_a_link_a_link_and_refuses_a_folder(tmp_path):
    target = tmp_path / "real.toml"
    target.write_text("old")
    (tmp_path / "link.toml").symlink_to(target)
    dangling = tmp_path / "dangling.toml"
    dangling.symlink_to(tmp_path / "nowhere.toml")
    assert main(["init", "link.toml"]) == 2  # exists (as a link): refused
    assert main(["init", "dangling.toml"]) == 2
    assert main(["init", "link.toml", "--force"]) == 0
    assert (tmp_path / "link.toml").is_symlink() and "[load]" in target.read_text()
    (tmp_path / "dir.toml").mkdir()
    assert main(["init", "dir.toml", "--force"]) == 2


def test_init_to_stdout(capsys):
    assert main(["init", "-"]) == 0
    assert "[[requests]]" in capsys.readouterr().out
    assert not os.listdir(".")


def test_init_journey_writes_a_journey_that_runs(tmp_path):
    """The journey starter uses issue 12's keys and runs against the demo as written."""
    assert main(["init", "--journey", "login-flow"]) == 0
    text = (tmp_path / "login-flow.toml").read_text()
    for key in ("[[flows]]", "[[flows.steps]]", "once = true", "capture =", "{token}"):
        assert key in text
    scenario = load_scenario(tmp_path / "login-flow.toml", env={})
    assert scenario.name == "Login flow"
    out = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "login-flow.toml", "--headless", "-t", "2s"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr  # 1 only if a gate failed
    assert "browse and query" in out.stdout and "login" in out.stdout
    assert "capture" not in out.stdout.split("Errors")[-1].split("Recommendations")[0]


def test_the_starter_runs_as_written(tmp_path):
    """Against the embedded demo API, headless, for a second: both gates are judged.

    The demo fails about 1 % of its queries on purpose, so in a one-second run the
    error-rate gate may fail (exit 1), and on a loaded machine the latency gate too;
    the run itself may not.
    """
    assert main(["init"]) == 0
    out = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "scenario.toml", "--headless", "-t", "1s"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr
    assert "/api/health" in out.stdout and "/api/agents/{id}/query" in out.stdout
    # Both gates judged: on a loaded machine a one-second run's p95 passed 500 ms once.
    assert "p95_ms <= 500  (measured" in out.stdout and "error_rate <= 0.01" in out.stdout
    if out.returncode == 1:
        assert "threshold failed: " in out.stderr


def test_examples_lists_every_packaged_example(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    for e in examples():
        assert e.name in out and e.summary in out


def test_examples_copies_by_name_and_never_replaces(tmp_path, capsys):
    assert main(["examples", "mixed", "ramp"]) == 0
    assert (tmp_path / "mixed.toml").read_text() == (
        Path(__file__).resolve().parents[1] / "configs" / "mixed.toml"
    ).read_text()
    (tmp_path / "ramp.toml").write_text("mine")
    assert main(["examples", "--all"]) == 2  # one exists: nothing is written
    assert not (tmp_path / "health.toml").exists()
    assert (tmp_path / "ramp.toml").read_text() == "mine"
    assert main(["examples", "--all", "--force"]) == 0
    assert {p.name for p in tmp_path.glob("*.toml")} == {e.filename for e in examples()}
    capsys.readouterr()
    assert main(["examples", "nope"]) == 2
    assert "no example named 'nope' (there are: arrival_rate" in capsys.readouterr().err


def test_examples_into_a_folder(tmp_path):
    assert main(["examples", "health", "--dir", "missing"]) == 2
    (tmp_path / "cfg").mkdir()
    assert main(["examples", "health.toml", "--dir", "cfg"]) == 0
    assert (tmp_path / "cfg" / "health.toml").exists()


def test_the_first_headless_line_says_how_long_the_run_takes():
    from dataclasses import replace

    from tests.ui.fakes import demo_source
    from tui_loadtest.pipeline.headless import plan_line

    snap = demo_source().snapshot  # 50 users, 60 s
    assert plan_line(snap).startswith("running 50 users for 1m00s (Ctrl+C stops early")
    both = replace(snap, requests_planned=10_000)
    assert "for at most 1m00s or 10,000 requests" in plan_line(both)
    count = replace(snap, duration_s=None, requests_planned=500)
    assert "until 500 requests are done" in plan_line(count)
    assert "until stopped" in plan_line(replace(snap, duration_s=None))
    ramp = replace(snap, users_target=0)  # stages start from no user
    assert plan_line(ramp, 200).startswith("running a ramp of up to 200 users for 1m00s")
    rate = replace(snap, mode="arrival-rate", rate_target=200.0)
    assert plan_line(rate).startswith("running 200 requests/s for 1m00s")


def test_an_arrival_rate_runs_plan_line_names_its_rate_before_it_starts():
    """The plan line is printed before the first second: the rate must be known then."""
    from tests.engine_harness import scenario
    from tui_loadtest.engine.coordinator import Run
    from tui_loadtest.pipeline.headless import plan_line

    fixed = scenario([{"path": "/"}], load={"mode": "arrival-rate", "rate": 40, "run_time": "5s"})
    assert plan_line(Run(fixed, "http://127.0.0.1:9").snapshot).startswith(
        "running 40 requests/s for 5s"
    )
    ramp = {"mode": "arrival-rate", "stages": [{"duration": "5s", "target": 40}]}
    assert "an arrival-rate ramp" in plan_line(
        Run(scenario([{"path": "/"}], load=ramp), "http://127.0.0.1:9").snapshot
    )


def test_a_headless_run_says_its_length_before_the_first_progress_line():
    out = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "--headless", "-t", "2s", "-u", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # The demo fails ~1 % of queries on purpose: a short run may fail its error-rate gate.
    gate = out.returncode == EXIT_GATE_FAILED and "threshold failed" in out.stderr
    assert out.returncode == 0 or gate, out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith("running 5 users for 2s")


def test_an_example_with_test_data_is_copied_with_its_data(tmp_path):
    assert main(["examples", "journey"]) == 0
    assert (tmp_path / "journey.toml").exists() and (tmp_path / "users.csv").exists()
    scenario = load_scenario(tmp_path / "journey.toml", env={})  # the copy loads where it is
    assert scenario.name
