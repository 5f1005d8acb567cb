"""``[[scenarios]]``: several workloads in one file, each with its own load model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_loadtest.engine.shares import make_shares
from tui_loadtest.scenario import Threshold

from .helpers import ErrorText, LoadText

LIBRARY = """
[load]
run_time = "1m"

[[requests]]
name = "health"
path = "/health"

[[requests]]
name = "list"
path = "/items"

[[flows]]
name = "checkout"
steps = [{ method = "POST", path = "/cart" }, { path = "/pay" }]
"""

TWO = (
    LIBRARY
    + """
[[scenarios]]
name = "browse"
users = 20
spawn_rate = 10
think_time = "1s"
requests = ["health", "list"]

[[scenarios]]
name = "buy"
rate = 5
max_users = 8
start = "30s"
flows = ["checkout"]
"""
)


def test_two_scenarios_each_with_its_own_model_and_rows(load_text: LoadText) -> None:
    sc = load_text(TWO)
    browse, buy = sc.parts
    assert (browse.name, browse.load.users, browse.load.think_time) == ("browse", 20, (1.0, 1.0))
    assert [r.name for r in browse.requests] == ["health", "list"]
    assert buy.load.is_open and (buy.load.rate, buy.load.max_users) == (5.0, 8)
    assert buy.load.start_s == 30.0 and [f.name for f in buy.flows] == ["checkout"]
    # the run's length stays in [load]; its users are the closed scenarios'
    assert sc.load.run_time_s == 60.0 and sc.load.users == 20
    assert [name for _, name in sc.endpoints] == ["health", "list", "POST /cart", "GET /pay"]
    assert sc.endpoint_groups == ("browse", "browse", "buy", "buy")
    assert (sc.flow_names, sc.flow_groups) == (("checkout",), ("buy",))
    assert [p["name"] for p in sc.redacted["scenarios"]] == ["browse", "buy"]
    assert sc.redacted["scenarios"][1]["load"]["start_s"] == 30.0


def test_the_same_request_in_two_scenarios_is_a_row_in_each(load_text: LoadText) -> None:
    sc = load_text(
        LIBRARY
        + '[[scenarios]]\nname = "a"\nusers = 1\nrequests = ["health"]\n'
        + '[[scenarios]]\nname = "b"\nusers = 1\nrequests = ["health", "list"]\n'
    )
    assert [name for _, name in sc.endpoints] == ["health", "health", "list"]
    assert sc.endpoint_groups == ("a", "b", "b")


def test_a_file_without_scenarios_means_what_it_meant(load_text: LoadText) -> None:
    sc = load_text(LIBRARY)
    assert sc.parts == () and sc.endpoint_groups == ("", "", "", "")
    assert [name for _, name in sc.endpoints] == ["health", "list", "POST /cart", "GET /pay"]
    assert "scenarios" not in sc.redacted


def test_stages_iterations_and_an_arrival_stage(load_text: LoadText) -> None:
    sc = load_text(
        LIBRARY
        + '[[scenarios]]\nname = "ramp"\nstages = [{ duration = "10s", target = 5 }]\n'
        + 'start = "5s"\nrequests = ["health"]\n'
        + '[[scenarios]]\nname = "each"\nusers = 3\niterations_per_user = 4\nflows = ["checkout"]\n'
        + '[[scenarios]]\nname = "shared"\nusers = 2\niterations = 7\nrequests = ["list"]\n'
        + '[[scenarios]]\nname = "spike"\nmode = "arrival-rate"\n'
        + 'stages = [{ duration = "5s", target = 50 }]\nrequests = ["list"]\n'
    )
    ramp, each, shared, spike = (p.load for p in sc.parts)
    assert ramp.stop_after_s == 15.0  # a scenario with stages ends with its last stage
    assert (each.iterations_per_user, each.iterations) == (4, None)
    assert shared.iterations == 7 and spike.is_open and spike.stop_after_s == 5.0


def test_shares_split_each_scenario_across_workers(load_text: LoadText) -> None:
    sc = load_text(
        LIBRARY
        + '[[scenarios]]\nname = "a"\nusers = 3\niterations = 10\nrequests = ["health"]\n'
        + '[[scenarios]]\nname = "b"\nrate = 9\nmax_users = 4\niterations = 5\n'
        + 'requests = ["list"]\n'
    )
    shares = make_shares(sc, 2)
    assert [s.users for s in shares] == [2 + 2, 1 + 2]  # each worker's users and slots
    a0, a1 = (s.parts[0] for s in shares)
    assert (a0.users, a1.users) == (2, 1)
    assert (a0.iterations, a1.iterations) == (7, 3)  # as the users are split
    b0, b1 = (s.parts[1] for s in shares)
    assert (b0.fraction, b1.fraction) == (0.5, 0.5)
    assert (b0.requests, b1.requests) == (3, 2)  # an arrival is an iteration


def test_a_threshold_can_name_a_scenario(load_text: LoadText) -> None:
    sc = load_text(
        TWO + '[thresholds]\n"scenarios.buy".p95_ms = 300\n'
        "[thresholds.scenarios.browse]\nerror_rate = 0.01\n"
    )
    assert set(sc.thresholds) == {
        Threshold("p95_ms", 300.0, scenario="buy"),
        Threshold("error_rate", 0.01, scenario="browse"),
    }
    assert {t.key for t in sc.thresholds} == {"scenarios.buy.p95_ms", "scenarios.browse.error_rate"}
    assert Threshold("p95_ms", 300.0, scenario="buy").label == "scenarios.buy.p95_ms <= 300"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[scenarios]]\nname = "x"\nusers = 1\nrequests = ["helth"]\n',
            'scenarios[1].requests[1]: no request named "helth" (did you mean "health"?)',
        ),
        (
            '[[scenarios]]\nname = "x"\nusers = 1\nflows = ["nope"]\n',
            'scenarios[1].flows[1]: no flow named "nope" ([[flows]] names: "checkout")',
        ),
        (
            '[[scenarios]]\nname = "x"\nusers = 1\n',
            "scenarios[1]: runs nothing: give requests = [...] or flows = [...]",
        ),
        (
            '[[scenarios]]\nusers = 1\nrequests = ["list"]\n',
            'scenarios[1]: missing key "name"',
        ),
        (
            '[[scenarios]]\nname = "x"\nusers = 1\nrequests = ["list"]\n'
            '[[scenarios]]\nname = "x"\nusers = 1\nrequests = ["list"]\n',
            'scenarios[2].name: duplicate scenario name "x"',
        ),
        (
            '[[scenarios]]\nname = "x"\nrate = 5\nusers = 3\nrequests = ["list"]\n',
            'scenarios[1].users: only used with mode = "users"',
        ),
        (
            '[[scenarios]]\nname = "x"\nusers = 3\nrun_time = "1m"\nrequests = ["list"]\n',
            "scenarios[1].run_time: set it in [load]: the run's length bounds every scenario",
        ),
        (
            '[[scenarios]]\nname = "x"\nusers = 3\nstart = "-5s"\nrequests = ["list"]\n',
            "scenarios[1].start: expected a duration",
        ),
        (
            '[[scenarios]]\nname = "x"\nstages = [{ duration = "5s", target = 2 }]\n'
            'iterations_per_user = 2\nrequests = ["list"]\n',
            "scenarios[1].iterations_per_user: not with stages",
        ),
        (
            '[[scenarios]]\nname = "x"\nrate = 2\niterations_per_user = 2\nrequests = ["list"]\n',
            'scenarios[1].iterations_per_user: only used with mode = "users"',
        ),
        (
            '[[scenarios]]\nname = "two words"\nusers = 1\nrequests = ["list"]\n',
            'scenarios[1].name: expected a name of letters, digits, _ and -, got "two words"',
        ),
        (
            '[[scenarios]]\nname = "x"\nusers = 1\nrequests = ["list"]\n'
            '[thresholds]\n"scenarios.y".p95_ms = 5\n',
            'thresholds."scenarios.y": no scenario named "y" ([[scenarios]]: "x")',
        ),
    ],
)
def test_mistakes_in_scenarios_are_one_line_naming_the_key(
    error_text: ErrorText, extra: str, message: str
) -> None:
    assert error_text(LIBRARY + extra).startswith("x.toml: " + message)


def test_load_keeps_only_the_run_length_with_scenarios(error_text: ErrorText) -> None:
    text = TWO.replace('run_time = "1m"', 'run_time = "1m"\nusers = 5')
    assert error_text(text) == (
        "x.toml: load.users: set it in each [[scenarios]] (with [[scenarios]], [load] holds "
        "only run_time and warmup)"
    )


def test_a_top_level_script_with_scenarios_is_refused(error_text: ErrorText) -> None:
    assert error_text('script = "users.py"\n' + TWO).startswith(
        "x.toml: script: with [[scenarios]], give script ="
    )


def test_a_scenario_runs_a_script_of_its_own(load_text: LoadText, tmp_path: Path) -> None:
    (tmp_path / "users.py").write_text(
        "from tui_loadtest.script import task\n\n@task\nasync def look(user):\n"
        "    await user.get('/x')\n"
    )
    sc = load_text(
        LIBRARY
        + '[[scenarios]]\nname = "api"\nusers = 1\nrequests = ["list"]\n'
        + '[[scenarios]]\nname = "py"\nusers = 2\nscript = "users.py"\n'
    )
    assert sc.parts[1].script is not None and sc.parts[1].script.tasks == (("look", 1.0),)
    assert sc.flow_names == ("look",) and sc.flow_groups == ("py",)
