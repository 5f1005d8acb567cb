"""Bounds on input: absurd values get one line naming the key (exit 2), never a crash or a hang."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import (
    MAX_ENDPOINTS,
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_USERS,
    MAX_WORKERS,
    LoadSpec,
    Stage,
    apply_overrides,
    load_scenario,
    normalize_host,
    parse_scenario,
    plan_workers,
    url_scenario,
)

from .helpers import HEALTH, ErrorText, LoadText

YEAR = 'expected a duration of at most one year ("8760h")'

# ------------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[http]\nconnect_timeout = 1e308\n", f"http.connect_timeout: {YEAR}, got 1e+308"),
        (
            "[http]\nconnect_timeout = 1000000000000000000\n",
            f"http.connect_timeout: {YEAR}, got 1000000000000000000",
        ),
        (
            '[http]\nconnect_timeout = "99999999h"\n',
            f'http.connect_timeout: {YEAR}, got "99999999h"',
        ),
        ("[http]\ntimeout = 1e308\n", f"http.timeout: {YEAR}, got 1e+308"),
        ('[load]\nrun_time = "8761h"\n', f'load.run_time: {YEAR}, got "8761h"'),
        ("[load]\nthink_time = 1e12\n", f"load.think_time: {YEAR}, got 1000000000000.0"),
        (
            '[load]\nthink_time = "1s..99999999h"\n',
            f'load.think_time: {YEAR}, got "1s..99999999h"',
        ),
        (
            '[[load.stages]]\nduration = "9000h"\ntarget = 1\n',
            f'load.stages[1].duration: {YEAR}, got "9000h"',
        ),
        (
            '[[load.stages]]\nduration = "5000h"\ntarget = 1\n'
            '[[load.stages]]\nduration = "5000h"\ntarget = 2\n',
            'load.stages: expected stages lasting at most one year in all ("8760h"), got 10000h',
        ),
    ],
)
def test_durations_above_one_year(error_text: ErrorText, text: str, message: str) -> None:
    assert error_text(text + HEALTH) == f"x.toml: {message}"


def test_one_year_itself_is_accepted(load_text: LoadText) -> None:
    sc = load_text('[load]\nrun_time = "8760h"\n[http]\ntimeout = 31536000\n' + HEALTH)
    assert sc.load.run_time_s == sc.http.timeout_s == 365 * 24 * 3600


# --------------------------------------------------------------------- load sizes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[load]\nusers = 10000000\n",
            "load.users: expected at most 100000 users (the most one run can have), got 10000000",
        ),
        (
            '[load]\nmode = "arrival-rate"\nrate = 10\nmax_users = 100001\n',
            "load.max_users: expected at most 100000 users (the most one run can have), got 100001",
        ),
        (
            "[load]\nspawn_rate = 1e308\n",
            "load.spawn_rate: expected at most 100000 users per second "
            "(the most one run can have), got 1e+308",
        ),
        (
            '[load]\nmode = "arrival-rate"\nrate = 1e9\n',
            "load.rate: expected at most 1000000 requests per second "
            "(the most one run can ask for), got 1000000000.0",
        ),
        (
            '[[load.stages]]\nduration = "1m"\ntarget = 5\n'
            '[[load.stages]]\nduration = "1m"\ntarget = 200000\n',
            "load.stages[2].target: expected at most 100000 users (the most one run can have), "
            "got 200000",
        ),
        (
            '[load]\nmode = "arrival-rate"\n[[load.stages]]\nduration = "1m"\ntarget = 1e7\n',
            "load.stages[1].target: expected at most 1000000 requests per second "
            "(the most one run can ask for), got 10000000.0",
        ),
    ],
)
def test_load_sizes_above_the_documented_maximum(
    error_text: ErrorText, text: str, message: str
) -> None:
    assert error_text(text + HEALTH) == f"x.toml: {message}"


def test_the_maximum_itself_is_accepted(load_text: LoadText) -> None:
    assert load_text(f"[load]\nusers = {MAX_USERS}\n" + HEALTH).load.users == MAX_USERS


def test_weight_above_the_maximum(error_text: ErrorText) -> None:
    message = error_text('[[requests]]\npath = "/"\nweight = 1e300\n')
    assert message == (
        "x.toml: requests[1].weight: expected at most 1000000 "
        "(weights are relative: 1 and 3 mean 25 % and 75 %), got 1e+300"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"users": "99999999999999999999999"},
            "--users: expected at most 100000 users (the most one run can have), "
            'got "99999999999999999999999"',
        ),
        ({"users": "²"}, '--users: expected a positive integer, got "²"'),
        ({"users": "9" * 5000}, "--users: expected a positive integer, got "),
        ({"run_time": "99999999h"}, f'--run-time: {YEAR}, got "99999999h"'),
        ({"run_time": 1e308}, f'--run-time: {YEAR}, got "1e+308"'),
        ({"spawn_rate": "1e308"}, "--spawn-rate: expected at most 100000 users per second"),
        ({"rate": "1e12"}, "--rate: expected at most 1000000 requests per second"),
        (
            {"rate": "5", "max_users": str(10**7)},
            "--max-users: expected at most 100000 users",
        ),
    ],
)
def test_flag_bounds(load_text: LoadText, flags: dict[str, str], message: str) -> None:
    sc = load_text(HEALTH)
    with pytest.raises(ScenarioError) as info:
        apply_overrides(sc, **flags)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_bench_concurrency_is_bounded() -> None:
    with pytest.raises(ScenarioError, match=r"^the command line: load.users: expected at most"):
        url_scenario("http://127.0.0.1:1/", load={"users": MAX_USERS + 1, "requests": 1})


# ----------------------------------------------------------------------- endpoints


def many_requests(count: int) -> str:
    return "".join(f'[[requests]]\npath = "/api/agents/a1?n={i}"\n' for i in range(count))


def test_the_documented_number_of_endpoints_loads(load_text: LoadText) -> None:
    sc = load_text(many_requests(MAX_ENDPOINTS))
    assert len(sc.requests) == MAX_ENDPOINTS
    assert len({r.name for r in sc.requests}) == MAX_ENDPOINTS


def test_more_endpoints_than_documented(error_text: ErrorText) -> None:
    assert error_text(many_requests(MAX_ENDPOINTS + 1)) == (
        f"x.toml: requests: expected at most {MAX_ENDPOINTS} [[requests]] tables "
        f"(the most one scenario can hold), got {MAX_ENDPOINTS + 1}"
    )


def test_flow_steps_count_as_endpoints(error_text: ErrorText) -> None:
    steps = "".join(f'[[flows.steps]]\npath = "/s?n={i}"\n' for i in range(2))
    text = many_requests(MAX_ENDPOINTS - 1) + '[[flows]]\nname = "f"\n' + steps
    assert error_text(text) == (
        f"x.toml: flows: expected at most {MAX_ENDPOINTS} endpoints in all ([[requests]] "
        f"and the flows' steps), got {MAX_ENDPOINTS + 1}"
    )


def test_flow_weight_above_the_maximum(error_text: ErrorText) -> None:
    text = '[[flows]]\nweight = 1e9\n[[flows.steps]]\npath = "/"\n'
    assert error_text(text) == (
        "x.toml: flows[1].weight: expected at most 1000000 "
        "(weights are relative: 1 and 3 mean 25 % and 75 %), got 1000000000.0"
    )


# --------------------------------------------------------------------------- files


def read_error(path: Path | str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, env={})
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert (
        read_error(fifo) == f"{fifo}: cannot read scenario file: not a regular file (a named pipe)"
    )


def test_a_character_device_is_refused(tmp_path: Path) -> None:
    device = tmp_path / "zero.toml"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # what /dev/zero is
    except PermissionError:
        pytest.skip("mknod needs privileges here")
    assert read_error(device) == (
        f"{device}: cannot read scenario file: not a regular file (a character device)"
    )


def test_a_link_to_a_device_is_judged_by_its_target(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link.toml"
    link.symlink_to(fifo)
    assert read_error(link).endswith("not a regular file (a named pipe)")


def test_a_file_above_10_mb_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written or read
    assert read_error(big) == (
        f"{big}: cannot read scenario file: 10.0 MB is more than a scenario may hold (10 MB)"
    )


# ------------------------------------------------------------------ nesting, integers


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = " + "[" * 500 + "]" * 500, "invalid TOML: nested too deeply (at most 64 levels)"),
        (
            "a = " + "{ b = " * 500 + "1" + " }" * 500,
            "invalid TOML: nested too deeply (at most 64 levels)",
        ),
        ("[" + ".".join(["a"] * 500) + "]", "a.a.a.a...: nested too deeply (at most 64 levels)"),
        (
            '[[requests]]\npath = "/"\njson = ' + "[" * 100 + "]" * 100,
            "requests[1].json[1]...: nested too deeply (at most 64 levels)",
        ),
    ],
)
def test_deep_nesting(error_text: ErrorText, text: str, message: str) -> None:
    assert error_text(text + "\n") == f"x.toml: {message}"


def test_deep_nesting_in_decoded_data() -> None:
    data: dict = {"requests": [{"path": "/", "json": {}}]}
    inner = data["requests"][0]["json"]
    for _ in range(5000):  # deeper than Python's recursion limit
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(ScenarioError, match=r"^d.toml: requests\[1\].json.x...: nested too deeply"):
        parse_scenario(data, "d.toml", env={})


def test_json_as_deep_as_allowed_is_fine(load_text: LoadText) -> None:
    depth = MAX_NESTING - 3  # requests, [1], json
    sc = load_text('[[requests]]\npath = "/"\njson = ' + "[" * depth + "]" * depth + "\n")
    assert sc.requests[0].body == b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "0x" + "f" * 5000,
            "weight: expected an integer that fits in 64 bits (as TOML requires), "
            "got <an integer of 20000 bits>",
        ),
        ("9" * 30, "weight: expected an integer that fits in 64 bits (as TOML requires), got 999"),
    ],
)
def test_integers_beyond_64_bits(error_text: ErrorText, value: str, message: str) -> None:
    text = f'[[requests]]\npath = "/"\nweight = {value}\n'
    assert error_text(text).startswith(f"x.toml: requests[1].{message}")


def test_an_integer_too_long_to_read(error_text: ErrorText) -> None:
    assert error_text(f"a = {'9' * 5000}\n") == (
        "x.toml: invalid TOML: an integer too long to read (TOML integers fit in 64 bits)"
    )


# ---------------------------------------------------------------------------- URLs

IPV6 = 'expected an IPv6 address between [ and ], like "http://[::1]:5000"'


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", IPV6),
        ("http://[::1]]:80", IPV6),
        ("http://[zz]:80", IPV6),
        ("http://::1:80", IPV6),
        ("http://h:0", 'expected a port number between 1 and 65535, like "http://127.0.0.1:5000"'),
        ("http://h:99999", "expected a port number between 1 and 65535"),
    ],
)
def test_urls_say_what_was_expected(url: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_host(url)
    assert str(info.value).startswith(message)


def test_host_flag_with_an_open_bracket(load_text: LoadText) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_overrides(load_text(HEALTH), host="http://[::1")
    assert str(info.value) == f'--host: {IPV6}, got "http://[::1"'


@pytest.mark.parametrize("url", ["http://[::1]:8080", "http://[fe80::1%25eth0]:80", "http://[::1]"])
def test_good_ipv6_hosts(url: str) -> None:
    assert normalize_host(url) == url


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_demo_server_port_out_of_range(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo-server", "--port", port])
    assert info.value.code == 2
    assert "expected a port number between 0 and 65535" in capsys.readouterr().err


# ------------------------------------------------------------------------- workers


def test_workers_never_exceed_users() -> None:
    workers, notes = plan_workers(LoadSpec(users=2), 4, cores=8)
    assert workers == 2
    assert notes == [
        "--workers: starting 2, not 4: workers need one user each (this run has at most 2)"
    ]


def test_workers_follow_the_stages_peak() -> None:
    load = LoadSpec(stages=(Stage(10, 3), Stage(10, 0)))
    assert plan_workers(load, 8, cores=8)[0] == 3


def test_workers_never_exceed_what_the_rate_needs() -> None:
    load = LoadSpec(mode="arrival-rate", rate=2.5, max_users=100)
    workers, notes = plan_workers(load, 8, cores=8)
    assert workers == 3
    assert "this run peaks at 2.5 req/s, 100 in flight" in notes[0]
    capped = LoadSpec(mode="arrival-rate", rate=1000, max_users=2)
    assert plan_workers(capped, 8, cores=8)[0] == 2


def test_workers_above_the_core_count_warn() -> None:
    workers, notes = plan_workers(LoadSpec(users=100), 4, cores=2)
    assert workers == 4
    assert len(notes) == 1 and notes[0].startswith("--workers: warning: 4 workers on 2 cores")


def test_workers_within_bounds_say_nothing() -> None:
    assert plan_workers(LoadSpec(users=100), 2, cores=2) == (2, [])


def test_workers_above_the_maximum() -> None:
    with pytest.raises(ScenarioError, match=rf'^--workers: expected at most {MAX_WORKERS}, got "'):
        plan_workers(LoadSpec(users=MAX_USERS), MAX_WORKERS + 1, cores=2)


def test_run_starts_no_more_workers_than_users(
    demo_server, demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: the report records the workers really started, the server the requests."""
    out = tmp_path / "r.json"
    # One endpoint and no thresholds: the demo scenario's per-endpoint gates fail when 20
    # weighted requests happen to miss an endpoint.
    scenario = tmp_path / "one.toml"
    scenario.write_text('name = "one"\n' + HEALTH)
    code = main(
        ["run", str(scenario), "--no-ui", "-u", "1", "-n", "20", "--workers", "3"]
        + ["--host", demo_url, "--out", str(out)]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "--workers: starting 1, not 3" in err
    report = json.loads(out.read_text())
    assert report["load"]["workers"] == 1
    assert report["summary"]["requests"] == 20 == demo_server.stats()["requests"]


# --------------------------------------------------------------------------- ASCII


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[requests]]\npath = "/café"\n',
            "requests[1].path: expected a path in ASCII (percent-encode other characters: "
            'é is %C3%A9), got "/café"',
        ),
        (
            '[[requests]]\npath = "/{x}"\nvars = { x = ["Ā"] }\n',
            "requests[1].vars.x[1]: expected a value in ASCII (it goes into the path; "
            'percent-encode others), got "Ā"',
        ),
        (
            '[http]\nheaders = { X-A = "é" }\n' + HEALTH,
            "http.headers.X-A: expected ASCII text (header values hold no other characters), "
            'got "é"',
        ),
    ],
)
def test_what_goes_on_the_wire_is_ascii(error_text: ErrorText, text: str, message: str) -> None:
    """A request line or a header the transports could not encode would fail every request."""
    assert error_text(text) == f"x.toml: {message}"


def test_non_ascii_bodies_are_utf8(load_text: LoadText) -> None:
    sc = load_text(
        '[[requests]]\npath = "/{x}"\nmethod = "POST"\nbody = "é {x}"\nvars = { x = ["a"] }\n'
    )
    assert sc.requests[0].fill({"x": "a"}) == ("/a", "é a".encode())
