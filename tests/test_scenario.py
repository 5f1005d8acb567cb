"""Scenario files: shipped configs, the data model and every user-facing error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import (
    DEFAULT_MAX_USERS,
    HttpSpec,
    LoadSpec,
    RequestSpec,
    Scenario,
    Stage,
    Threshold,
    apply_overrides,
    load_builtin_demo,
    load_scenario,
    normalize_host,
    single_url_scenario,
)

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPO / "configs").glob("*.toml"))
HEALTH = '\n[[requests]]\npath = "/api/health"\n'
SECRET = "s3cr3t-value-that-must-not-leak"

LoadText = Callable[..., Scenario]
ErrorText = Callable[..., str]


@pytest.fixture
def load_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadText:
    """Write TOML to ``x.toml`` in a temp cwd and load it, so messages say "x.toml"."""
    monkeypatch.chdir(tmp_path)

    def load(text: str, env: dict[str, str] | None = None, name: str = "x.toml") -> Scenario:
        Path(name).write_text(text, encoding="utf-8")
        return load_scenario(name, env=env or {})

    return load


@pytest.fixture
def error_text(load_text: LoadText) -> ErrorText:
    """The one-line ScenarioError message for a TOML text."""

    def error(text: str, env: dict[str, str] | None = None, name: str = "x.toml") -> str:
        with pytest.raises(ScenarioError) as info:
            load_text(text, env=env, name=name)
        message = str(info.value)
        assert "\n" not in message
        return message

    return error


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


# ----------------------------------------------------------------------- defaults


def test_minimal_scenario_defaults(load_text: LoadText) -> None:
    sc = load_text(HEALTH)
    assert sc.name == "x"
    assert sc.host is None
    assert sc.load == LoadSpec()
    assert sc.load.max_users == DEFAULT_MAX_USERS == 1000
    assert sc.http == HttpSpec()
    (request,) = sc.requests
    assert (request.name, request.method, request.weight) == ("GET /api/health", "GET", 1.0)
    assert request.body is None and request.content_type is None
    assert request.is_success(200) and request.is_success(302)
    assert not request.is_success(404) and not request.is_success(500)


def test_full_example_from_the_format_description(load_text: LoadText) -> None:
    sc = load_text(
        """
name = "Mixed workload"
host = "http://127.0.0.1:5000/"
[load]
users = 100
spawn_rate = 10
run_time = "5m"
requests = 10000
think_time = "0.5s..1.5s"
[http]
timeout = "10s"
connect_timeout = "3s"
keepalive = false
verify_tls = false
follow_redirects = true
transport = "httpx"
http2 = true
headers = { Authorization = "Bearer ${API_TOKEN}" }
[[requests]]
name = "query"
method = "post"
path = "/api/agents/{id}/query"
weight = 2.5
json = { query = "status?" }
vars = { id = ["a1", 2] }
expect_status = [200, 201]
[thresholds]
p95_ms = 500
error_rate = 0.01
rps_min = 100
"endpoints.query".p99_ms = 800
""",
        env={"API_TOKEN": SECRET},
    )
    assert sc.name == "Mixed workload"
    assert sc.host == "http://127.0.0.1:5000"
    assert sc.load.run_time_s == 300 and sc.load.requests == 10000
    assert sc.load.effective_spawn_rate == 10
    assert sc.http == HttpSpec(
        timeout_s=10,
        connect_timeout_s=3,
        keepalive=False,
        verify_tls=False,
        follow_redirects=True,
        headers=(("Authorization", f"Bearer {SECRET}"),),
        transport="httpx",
        http2=True,
    )
    (request,) = sc.requests
    assert request.method == "POST"
    assert request.weight == 2.5
    assert request.vars == (("id", ("a1", "2")),)
    assert request.expect_status == frozenset({200, 201})
    assert request.is_success(201) and not request.is_success(204)
    assert [t.label for t in sc.thresholds] == [
        "p95_ms <= 500",
        "error_rate <= 0.01",
        "rps_min >= 100",
        "endpoints.query.p99_ms <= 800",
    ]


# ------------------------------------------------------------------ error messages


def test_error_wrong_type_names_file_key_and_value(error_text: ErrorText) -> None:
    message = error_text('[load]\nusers = "ten"\n' + HEALTH, name="mixed.toml")
    assert message == 'mixed.toml: load.users: expected a positive integer, got "ten"'


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("true", "true"),
        ("1.5", "1.5"),
        ("0", "0"),
        ("-3", "-3"),
        ("[1]", "[1]"),
        ("{ a = 1 }", "{ a = 1 }"),
    ],
)
def test_users_must_be_a_positive_int(error_text: ErrorText, value: str, shown: str) -> None:
    message = error_text(f"[load]\nusers = {value}\n" + HEALTH)
    assert message == f"x.toml: load.users: expected a positive integer, got {shown}"


def test_error_file_name_is_shown_as_given(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "y.toml"
    path.parent.mkdir()
    path.write_text('[load]\nusers = "ten"\n' + HEALTH)
    with pytest.raises(ScenarioError, match=r"^" + str(path) + ": load.users: "):
        load_scenario(path, env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[load]\nuserz = 5\n" + HEALTH,
            'x.toml: load.userz: unknown key (did you mean "users"?)',
        ),
        (
            HEALTH + '[[requests]]\npath = "/b"\nmetod = "POST"\n',
            'x.toml: requests[2].metod: unknown key (did you mean "method"?)',
        ),
        (
            '[http]\ntimout = "1s"\n' + HEALTH,
            'x.toml: http.timout: unknown key (did you mean "timeout"?)',
        ),
        (
            HEALTH + "[thresholds]\np95 = 100\n",
            'x.toml: thresholds.p95: unknown key (did you mean "p95_ms"?)',
        ),
        (
            '[[load.stages]]\nduration = "1s"\ntargt = 5\n' + HEALTH,
            'x.toml: load.stages[1].targt: unknown key (did you mean "target"?)',
        ),
        (
            "[lod]\nusers = 5\n" + HEALTH,
            'x.toml: lod: unknown key (did you mean "load"?)',
        ),
        (
            HEALTH + '"endpoints.GET /api/health".p95ms = 1\n',
            'x.toml: requests[1]."endpoints.GET /api/health": unknown key '
            "(thresholds belong under a [thresholds] header)",
        ),
    ],
)
def test_unknown_keys_suggest_the_closest_name(
    error_text: ErrorText, text: str, message: str
) -> None:
    assert error_text(text) == message


def test_unknown_key_without_a_close_match_lists_known_keys(error_text: ErrorText) -> None:
    message = error_text("[http]\nzzz = 1\n" + HEALTH)
    assert message.startswith("x.toml: http.zzz: unknown key (known keys: timeout, ")
    assert "transport" in message


def test_unknown_metric_inside_endpoint_table(error_text: ErrorText) -> None:
    message = error_text(HEALTH + '[thresholds]\n"endpoints.GET /api/health".p95ms = 1\n')
    assert message == (
        'x.toml: thresholds."endpoints.GET /api/health".p95ms: unknown key (did you mean "p95_ms"?)'
    )


def test_path_must_start_with_slash(error_text: ErrorText) -> None:
    text = '[[requests]]\npath = "api/health"\n'
    assert error_text(text, name="mixed.toml") == (
        'mixed.toml: requests[1].path: expected a string starting with "/", got "api/health"'
    )


def test_path_must_not_hold_spaces(error_text: ErrorText) -> None:
    message = error_text('[[requests]]\npath = "/a b"\n')
    assert message.startswith("x.toml: requests[1].path: expected a path without spaces")


def test_missing_path(error_text: ErrorText) -> None:
    assert error_text('[[requests]]\nname = "x"\n').startswith(
        'x.toml: requests[1]: missing key "path"'
    )


def test_file_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario("nope.toml")
    assert str(info.value) == "nope.toml: cannot read scenario file: No such file or directory"


def test_directory_is_not_a_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("dir.toml").mkdir()
    with pytest.raises(ScenarioError, match=r"^dir.toml: cannot read scenario file: "):
        load_scenario("dir.toml")


def test_invalid_toml_reports_line_and_column(error_text: ErrorText) -> None:
    message = error_text('name = "x"\n[load\nusers = 1\n', name="bad.toml")
    assert message.startswith("bad.toml: invalid TOML: ")
    assert "line 2" in message and "column" in message


def test_non_utf8_file(error_text: ErrorText, tmp_path: Path) -> None:
    Path("latin.toml").write_bytes(b'name = "caf\xe9"\n' + HEALTH.encode())
    with pytest.raises(ScenarioError, match="^latin.toml: invalid TOML: .*UTF-8"):
        load_scenario("latin.toml")


@pytest.mark.parametrize("text", ['name = "x"\n', "requests = []\n"])
def test_no_requests(error_text: ErrorText, text: str) -> None:
    assert error_text(text) == "x.toml: requests: expected at least one [[requests]] table"


def test_requests_as_single_table(error_text: ErrorText) -> None:
    message = error_text('[requests]\npath = "/"\n')
    assert message.startswith("x.toml: requests: expected one or more [[requests]] tables, got {")


def test_duplicate_request_names(error_text: ErrorText) -> None:
    text = HEALTH + '[[requests]]\npath = "/b"\n' + HEALTH
    assert error_text(text) == (
        'x.toml: requests[3].name: duplicate name "GET /api/health" '
        "(names label the tables and must be unique)"
    )


def test_same_path_with_distinct_names_is_fine(load_text: LoadText) -> None:
    sc = load_text(HEALTH + '[[requests]]\nname = "health again"\npath = "/api/health"\n')
    assert [r.name for r in sc.requests] == ["GET /api/health", "health again"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[load]\nspawn_rate = 0\n", "load.spawn_rate: expected a positive number, got 0"),
        ('[load]\nrun_time = "soon"\n', 'load.run_time: expected a duration like "90s"'),
        (
            '[load]\nrun_time = "0s"\n',
            'load.run_time: expected a duration greater than 0, got "0s"',
        ),
        ("[load]\nrequests = 2.0\n", "load.requests: expected a positive integer, got 2.0"),
        ('[load]\nthink_time = "2s..1s"\n', "load.think_time: expected a think time"),
        ('[load]\nmode = "open"\n', 'load.mode: expected "users" or "arrival-rate", got "open"'),
        ("[http]\ntimeout = 0\n", "http.timeout: expected a duration greater than 0, got 0"),
        ('[http]\nkeepalive = "yes"\n', 'http.keepalive: expected true or false, got "yes"'),
        ('[http]\ntransport = "aiohttp"\n', 'http.transport: expected "fast" or "httpx"'),
        ("host = 5\n", 'host: expected "demo" or a URL'),
        (
            'host = "localhost:5000"\n',
            'host: expected a URL starting with http:// or https:// (like "http://localhost:5000")',
        ),
        ('host = "http://u:p@h"\n', "host: expected a URL without user:password@"),
        ('host = "http://h/api"\n', "host: expected a URL without a path"),
        ('name = ""\n', 'name: expected a non-empty string, got ""'),
        ("load = 3\n", "load: expected a table ([load]), got 3"),
    ],
)
def test_value_errors(error_text: ErrorText, text: str, message: str) -> None:
    assert error_text(text + HEALTH).startswith("x.toml: " + message)


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("weight = 0", "requests[1].weight: expected a positive number, got 0"),
        ("weight = true", "requests[1].weight: expected a positive number, got true"),
        ('method = "GE T"', 'requests[1].method: expected an HTTP method like "GET" or "POST"'),
        ("expect_status = [600]", "requests[1].expect_status: expected a list of HTTP status"),
        ("expect_status = []", "requests[1].expect_status: expected a list of HTTP status"),
        ("body = 5", "requests[1].body: expected a string (use json = ... for structured"),
        ("json = nan", "requests[1].json: expected JSON-compatible values (no nan or inf)"),
        ('json = {a = 1}\nbody = "x"', "requests[1].body: cannot be combined with json"),
        (
            'headers = { "Bad Name" = "x" }',
            'requests[1].headers."Bad Name": expected a header name',
        ),
        ("headers = { X-Flag = true }", "requests[1].headers.X-Flag: expected a string, got true"),
        (
            'headers = { Content-Length = "5" }',
            "requests[1].headers.Content-Length: is set by the client",
        ),
        ('headers = { A = "1", a = "2" }', "requests[1].headers.a: duplicate header"),
        ('name = ""', 'requests[1].name: expected a non-empty string, got ""'),
    ],
)
def test_request_value_errors(error_text: ErrorText, request_text: str, message: str) -> None:
    text = f'[[requests]]\npath = "/p"\n{request_text}\n'
    assert error_text(text).startswith("x.toml: " + message)


def test_expect_status_accepts_a_single_code(load_text: LoadText) -> None:
    sc = load_text(HEALTH + "expect_status = 204\n")
    assert sc.requests[0].expect_status == frozenset({204})


# ----------------------------------------------------------------- load modes


def test_arrival_rate_mode(load_text: LoadText) -> None:
    sc = load_text('[load]\nmode = "arrival-rate"\nrate = 500\narrival = "poisson"\n' + HEALTH)
    assert sc.load.is_open
    assert (sc.load.rate, sc.load.arrival, sc.load.max_users) == (500.0, "poisson", 1000)
    assert sc.load.level_at(10) == 500


def test_arrival_rate_needs_rate_or_stages(error_text: ErrorText) -> None:
    assert error_text('[load]\nmode = "arrival-rate"\n' + HEALTH) == (
        'x.toml: load.rate: required when mode = "arrival-rate" (or give [[load.stages]])'
    )


def test_rate_in_users_mode_is_rejected(error_text: ErrorText) -> None:
    assert error_text("[load]\nrate = 50\n" + HEALTH).startswith(
        'x.toml: load.rate: needs mode = "arrival-rate"'
    )


@pytest.mark.parametrize("key", ["users = 5", "spawn_rate = 5", 'think_time = "1s"'])
def test_users_mode_keys_rejected_in_arrival_rate_mode(error_text: ErrorText, key: str) -> None:
    message = error_text(f'[load]\nmode = "arrival-rate"\nrate = 5\n{key}\n' + HEALTH)
    name = key.split(" ")[0]
    assert message.startswith(f'x.toml: load.{name}: only used with mode = "users"')


def test_stages_ramp_linearly_and_hold(load_text: LoadText) -> None:
    sc = load_text(
        '[[load.stages]]\nduration = "10s"\ntarget = 100\n'
        '[[load.stages]]\nduration = "20s"\ntarget = 50\n' + HEALTH
    )
    load = sc.load
    assert load.stages == (Stage(10.0, 100.0), Stage(20.0, 50.0))
    assert load.total_stage_time == 30 and load.duration_s == 30
    assert load.level_at(0) == 0
    assert load.level_at(5) == pytest.approx(50)
    assert load.level_at(20) == pytest.approx(75)
    assert load.level_at(99) == 50
    assert load.peak_level == 100


def test_users_with_stages_is_rejected(error_text: ErrorText) -> None:
    message = error_text(
        '[load]\nusers = 5\n[[load.stages]]\nduration = "1s"\ntarget = 5\n' + HEALTH
    )
    assert message.startswith("x.toml: load.users: not used with [[load.stages]]")


def test_stage_errors(error_text: ErrorText) -> None:
    assert error_text('[[load.stages]]\nduration = "1s"\ntarget = 1.5\n' + HEALTH) == (
        "x.toml: load.stages[1].target: expected a whole number of users >= 0, got 1.5"
    )
    assert error_text('[[load.stages]]\nduration = "1s"\n' + HEALTH) == (
        'x.toml: load.stages[1]: missing key "target"'
    )
    assert error_text("[load]\nstages = []\n" + HEALTH).startswith(
        "x.toml: load.stages: expected one or more [[load.stages]] tables"
    )


def test_fractional_stage_targets_in_arrival_rate_mode(load_text: LoadText) -> None:
    sc = load_text(
        '[load]\nmode = "arrival-rate"\n[[load.stages]]\nduration = "1m"\ntarget = 2.5\n' + HEALTH
    )
    assert sc.load.stages == (Stage(60.0, 2.5),)
    assert sc.load.rate is None and sc.load.duration_s == 60


def test_run_time_and_requests_combine(load_text: LoadText) -> None:
    sc = load_text('[load]\nrun_time = "1m"\nrequests = 100\n' + HEALTH)
    assert (sc.load.run_time_s, sc.load.requests, sc.load.duration_s) == (60.0, 100, 60.0)


def test_http2_needs_httpx(error_text: ErrorText) -> None:
    message = error_text("[http]\nhttp2 = true\n" + HEALTH)
    assert message.startswith('x.toml: http.http2: needs http.transport = "httpx"')


# -------------------------------------------------------------- vars and bodies


def test_json_body_is_compact_with_content_type(load_text: LoadText) -> None:
    sc = load_text(HEALTH + 'method = "POST"\njson = { query = "status?", n = [1, 2] }\n')
    request = sc.requests[0]
    assert request.body == b'{"query":"status?","n":[1,2]}'
    assert request.content_type == "application/json"
    assert request.json_body


def test_string_body_is_utf8_without_content_type(load_text: LoadText) -> None:
    sc = load_text(HEALTH + 'body = "héllo"\n')
    assert sc.requests[0].body == "héllo".encode()
    assert sc.requests[0].content_type is None


@pytest.mark.parametrize("where", ["request", "http"])
def test_user_content_type_wins_over_json_default(load_text: LoadText, where: str) -> None:
    header = 'headers = { content-type = "application/vnd.api+json" }\n'
    if where == "http":
        sc = load_text("[http]\n" + header + HEALTH + "json = { a = 1 }\n")
    else:
        sc = load_text(HEALTH + "json = { a = 1 }\n" + header)
    assert sc.requests[0].content_type is None


def test_vars_fill_path_and_body_with_the_same_value(load_text: LoadText) -> None:
    sc = load_text(
        '[[requests]]\nmethod = "POST"\npath = "/api/agents/{id}/query"\n'
        'json = { agent = "{id}", q = "{q}" }\n'
        'vars = { id = ["a1", "a2", 3], q = [\'say "hi"\'] }\n'
    )
    request = sc.requests[0]
    assert dict(request.vars) == {"id": ("a1", "a2", "3"), "q": ('say "hi"',)}
    seen = set()
    for _ in range(60):
        path, body = request.render()
        document = json.loads(body or b"")
        assert path == f"/api/agents/{document['agent']}/query"
        assert document["q"] == 'say "hi"', "values are JSON-escaped inside json bodies"
        seen.add(document["agent"])
    assert seen == {"a1", "a2", "3"}


def test_render_without_vars_returns_fixed_path(load_text: LoadText) -> None:
    request = load_text(HEALTH).requests[0]
    assert request.render() == ("/api/health", None)


def test_placeholder_without_var(error_text: ErrorText) -> None:
    assert error_text('[[requests]]\npath = "/api/agents/{id}"\n').startswith(
        "x.toml: requests[1].path: placeholder {id} has no values"
    )


def test_var_not_used(error_text: ErrorText) -> None:
    text = '[[requests]]\npath = "/api/agents/{id}"\nvars = { id = ["a1"], idd = ["x"] }\n'
    assert error_text(text) == "x.toml: requests[1].vars.idd: not used as {idd} in path or body"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            "[]",
            'requests[1].vars.id: expected a non-empty list of strings, like ["a1", "a2"], got []',
        ),
        ('"a1"', "requests[1].vars.id: expected a non-empty list of strings"),
        ('["a1", ""]', 'requests[1].vars.id[2]: expected a non-empty string or a number, got ""'),
        (
            '["a1", true]',
            "requests[1].vars.id[2]: expected a non-empty string or a number, got true",
        ),
        ('["a b"]', "requests[1].vars.id[1]: expected a value without spaces"),
    ],
)
def test_var_list_errors(error_text: ErrorText, values: str, message: str) -> None:
    text = f'[[requests]]\npath = "/api/agents/{{id}}"\nvars = {{ id = {values} }}\n'
    assert error_text(text).startswith("x.toml: " + message)


def test_malformed_placeholder(error_text: ErrorText) -> None:
    assert error_text('[[requests]]\npath = "/a/{1x}"\n').startswith(
        "x.toml: requests[1].path: expected placeholders like {id}"
    )


# -------------------------------------------------------- environment and secrets


def test_env_substitution_in_headers(load_text: LoadText) -> None:
    sc = load_text(
        '[http]\nheaders = { Authorization = "Bearer ${API_TOKEN}", X-Env = "${STAGE}-1" }\n'
        + HEALTH
        + 'headers = { X-Trace = "${STAGE}" }\n',
        env={"API_TOKEN": SECRET, "STAGE": "prod"},
    )
    assert dict(sc.http.headers) == {"Authorization": f"Bearer {SECRET}", "X-Env": "prod-1"}
    assert sc.requests[0].headers == (("X-Trace", "prod"),)


def test_missing_env_var(error_text: ErrorText) -> None:
    text = '[http]\nheaders = { Authorization = "Bearer ${API_TOKEN}" }\n' + HEALTH
    assert error_text(text, env={}, name="mixed.toml") == (
        "mixed.toml: http.headers.Authorization: environment variable API_TOKEN is not set"
    )


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_LOADTEST_TEST_TOKEN", "from-os")
    path = tmp_path / "x.toml"
    path.write_text('[http]\nheaders = { X-T = "${TUI_LOADTEST_TEST_TOKEN}" }\n' + HEALTH)
    assert load_scenario(path).http.headers == (("X-T", "from-os"),)


def test_malformed_env_reference(error_text: ErrorText) -> None:
    text = '[http]\nheaders = { X-T = "${API-TOKEN}" }\n' + HEALTH
    assert error_text(text).startswith("x.toml: http.headers.X-T: expected ${NAME} with NAME")


def test_header_line_breaks_are_rejected_without_showing_secrets(error_text: ErrorText) -> None:
    message = error_text(f'[http]\nheaders = {{ Authorization = "{SECRET}\\r\\nX: y" }}\n' + HEALTH)
    assert message.startswith("x.toml: http.headers.Authorization: expected a value without")
    assert SECRET not in message


def test_env_value_with_line_break_is_rejected(error_text: ErrorText) -> None:
    text = '[http]\nheaders = { X-T = "${T}" }\n' + HEALTH
    message = error_text(text, env={"T": "a\r\nInjected: 1"})
    assert message.startswith("x.toml: http.headers.X-T: environment variable value holds")
    assert "Injected" not in message


def test_redacted_never_holds_secret_values(load_text: LoadText) -> None:
    sc = load_text(
        '[http]\nheaders = { Authorization = "Bearer ${API_TOKEN}", X-Stage = "${STAGE}", '
        f'Cookie = "sid={SECRET}", X-Api-Key = "{SECRET}", Accept = "text/plain" }}\n'
        + HEALTH
        + 'headers = { X-Session-Token = "${API_TOKEN}", X-Mode = "${API_TOKEN}" }\n',
        env={"API_TOKEN": SECRET, "STAGE": "prod"},
    )
    dumped = json.dumps(sc.redacted)
    assert SECRET not in dumped
    assert "prod" not in dumped, "even non-secret ${VAR} values stay as written"
    headers = sc.redacted["http"]["headers"]
    assert headers == {
        "Authorization": "<redacted>",
        "X-Stage": "${STAGE}",
        "Cookie": "<redacted>",
        "X-Api-Key": "<redacted>",
        "Accept": "text/plain",
    }
    assert sc.redacted["requests"][0]["headers"] == {
        "X-Session-Token": "<redacted>",
        "X-Mode": "${API_TOKEN}",
    }
    assert sc.http.headers[0] == ("Authorization", f"Bearer {SECRET}")
    assert SECRET not in repr(sc.redacted)


def test_redacted_is_plain_json_data(load_text: LoadText) -> None:
    sc = load_text(
        '[load]\nrun_time = "1m"\n' + HEALTH + 'method = "POST"\njson = { q = "x" }\n'
        "expect_status = [200]\n[thresholds]\np95_ms = 10\n"
    )
    data = json.loads(json.dumps(sc.redacted))
    assert data["name"] == "x" and data["host"] is None
    assert data["load"]["run_time_s"] == 60
    assert data["requests"][0]["body"] == '{"q":"x"}'
    assert data["requests"][0]["expect_status"] == [200]
    assert data["thresholds"][0]["label"] == "p95_ms <= 10"


# ---------------------------------------------------------------------- thresholds


def test_thresholds_endpoints_both_spellings(load_text: LoadText) -> None:
    sc = load_text(
        HEALTH
        + '[[requests]]\nname = "list"\npath = "/api/agents"\n'
        + '[thresholds]\n"endpoints.list".p99_ms = 800\n'
        + '[thresholds.endpoints."GET /api/health"]\nmax_ms = 50\nrps_min = 10\n'
    )
    assert set(sc.thresholds) == {
        Threshold("p99_ms", 800.0, "list"),
        Threshold("max_ms", 50.0, "GET /api/health"),
        Threshold("rps_min", 10.0, "GET /api/health"),
    }


def test_threshold_endpoint_must_exist(error_text: ErrorText) -> None:
    text = HEALTH + '[thresholds]\n"endpoints.GET /api/healt".p99_ms = 800\n'
    assert error_text(text) == (
        'x.toml: thresholds."endpoints.GET /api/healt": no request named "GET /api/healt" '
        '(did you mean "GET /api/health"?)'
    )


def test_threshold_endpoint_far_from_any_name(error_text: ErrorText) -> None:
    message = error_text(HEALTH + '[thresholds]\n"endpoints.zzz".p99_ms = 800\n')
    assert message.endswith('(request names: "GET /api/health")')


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("error_rate = 2", "thresholds.error_rate: expected a fraction between 0 and 1"),
        ("p95_ms = 0", "thresholds.p95_ms: expected a positive number of milliseconds, got 0"),
        (
            'p99_ms = "fast"',
            'thresholds.p99_ms: expected a positive number of milliseconds, got "fast"',
        ),
        ("rps_min = -1", "thresholds.rps_min: expected a positive number of requests per second"),
    ],
)
def test_threshold_value_errors(error_text: ErrorText, line: str, message: str) -> None:
    assert error_text(HEALTH + f"[thresholds]\n{line}\n").startswith("x.toml: " + message)


def test_threshold_set_twice(error_text: ErrorText) -> None:
    text = (
        HEALTH
        + '[thresholds]\n"endpoints.GET /api/health".p99_ms = 1\n'
        + '[thresholds.endpoints."GET /api/health"]\np99_ms = 2\n'
    )
    assert error_text(text).endswith(": set twice")


def test_error_rate_zero_is_a_valid_gate() -> None:
    gate = Threshold("error_rate", 0.0)
    assert gate.passes(0.0) and not gate.passes(0.001)
    assert gate.label == "error_rate <= 0"


def test_threshold_helpers() -> None:
    floor = Threshold("rps_min", 100.0)
    assert floor.is_lower_bound and floor.passes(100) and not floor.passes(99.9)
    assert floor.label == "rps_min >= 100"
    latency = Threshold("p99_ms", 800.0, endpoint="POST /x")
    assert not latency.is_lower_bound and latency.passes(800) and not latency.passes(801)
    assert latency.label == "endpoints.POST /x.p99_ms <= 800"


# ----------------------------------------------------------------------- overrides


def test_overrides_replace_file_values(load_text: LoadText) -> None:
    sc = load_text('[load]\nusers = 5\nrun_time = "1m"\n' + HEALTH)
    new = apply_overrides(
        sc, users=50, spawn_rate="2.5", run_time="10s", requests="1000", host="http://h:1/"
    )
    assert (new.load.users, new.load.spawn_rate) == (50, 2.5)
    assert (new.load.run_time_s, new.load.requests) == (10.0, 1000)
    assert new.host == "http://h:1"
    assert sc.load.users == 5, "the original is untouched"
    assert new.redacted["load"]["users"] == 50
    assert new.redacted["host"] == "http://h:1"
    assert new.redacted["overrides"]["users"] == 50


def test_requests_override_keeps_the_file_run_time(load_text: LoadText) -> None:
    sc = load_text('[load]\nrun_time = "1m"\n' + HEALTH)
    new = apply_overrides(sc, requests=10)
    assert (new.load.run_time_s, new.load.requests) == (60.0, 10)


def test_no_overrides_is_identity(load_text: LoadText) -> None:
    sc = load_text(HEALTH)
    assert apply_overrides(sc) == sc
    assert "overrides" not in apply_overrides(sc).redacted


def test_host_override_to_demo(load_text: LoadText) -> None:
    sc = load_text('host = "http://127.0.0.1:5000"\n' + HEALTH)
    assert apply_overrides(sc, host="demo").host is None


def test_rate_override_switches_to_arrival_rate(load_text: LoadText) -> None:
    sc = load_text('[load]\nusers = 5\nthink_time = "1s"\n' + HEALTH)
    new = apply_overrides(sc, rate="250", max_users=64)
    assert new.load.is_open
    assert (new.load.rate, new.load.max_users, new.load.think_time) == (250.0, 64, (0.0, 0.0))


def test_users_override_replaces_stages_but_keeps_their_length(load_text: LoadText) -> None:
    sc = load_text('[[load.stages]]\nduration = "30s"\ntarget = 10\n' + HEALTH)
    new = apply_overrides(sc, users=3)
    assert new.load.stages == ()
    assert new.load.users == 3 and new.load.duration_s == 30


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"users": "0"}, '--users: expected a positive integer, got "0"'),
        ({"users": 0}, '--users: expected a positive integer, got "0"'),
        ({"users": "ten"}, '--users: expected a positive integer, got "ten"'),
        ({"requests": "-1"}, '--requests: expected a positive integer, got "-1"'),
        ({"spawn_rate": "x"}, '--spawn-rate: expected a positive number, got "x"'),
        ({"run_time": "soon"}, '--run-time: expected a duration like "90s"'),
        ({"run_time": "0s"}, '--run-time: expected a duration greater than 0, got "0s"'),
        ({"rate": "0"}, '--rate: expected a positive number of requests per second, got "0"'),
        ({"max_users": "1.5"}, '--max-users: expected a positive integer, got "1.5"'),
        ({"max_users": 10}, '--max-users: needs mode = "arrival-rate"'),
        ({"rate": 5, "users": 5}, "--users: not used with --rate"),
        ({"host": "ftp://x"}, "--host: expected a URL starting with http:// or https://"),
    ],
)
def test_override_errors_name_the_flag(
    load_text: LoadText, flags: dict[str, object], message: str
) -> None:
    sc = load_text(HEALTH)
    with pytest.raises(ScenarioError) as info:
        apply_overrides(sc, **flags)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_users_override_rejected_in_arrival_rate_mode(load_text: LoadText) -> None:
    sc = load_text('[load]\nmode = "arrival-rate"\nrate = 5\n' + HEALTH)
    with pytest.raises(ScenarioError, match=r'^--users: only used in "users" mode'):
        apply_overrides(sc, users=3)
    assert apply_overrides(sc, max_users=7).load.max_users == 7


# -------------------------------------------------------------- hosts and bench


@pytest.mark.parametrize(
    ("text", "host"),
    [
        (None, None),
        ("", None),
        ("demo", None),
        (" DEMO ", None),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("HTTPS://example.com", "https://example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_normalize_host(text: str | None, host: str | None) -> None:
    assert normalize_host(text) == host


@pytest.mark.parametrize(
    "bad",
    [
        "localhost",
        "ftp://x",
        "http://",
        "http://h:99999",
        "http://h:",
        "http://h/x",
        "http://h?q=1",
        "http://a:b@h",
        "http://h x",
    ],
)
def test_normalize_host_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^expected "):
        normalize_host(bad)


def test_single_url_scenario() -> None:
    sc = single_url_scenario("http://127.0.0.1:8000/api/agents?limit=5", users=8, requests=1000)
    assert sc.host == "http://127.0.0.1:8000"
    (request,) = sc.requests
    assert (request.method, request.path) == ("GET", "/api/agents?limit=5")
    assert request.name == "GET /api/agents?limit=5"
    assert (sc.load.users, sc.load.requests, sc.load.run_time_s) == (8, 1000, None)
    assert sc.load.effective_spawn_rate == 8
    assert json.loads(json.dumps(sc.redacted))["requests"][0]["path"] == "/api/agents?limit=5"


def test_single_url_scenario_root_path_and_errors() -> None:
    assert single_url_scenario("https://example.com", 1, 1).requests[0].path == "/"
    with pytest.raises(ScenarioError, match=r'^URL: expected .*got "example.com"$'):
        single_url_scenario("example.com", 1, 1)
    with pytest.raises(ScenarioError, match=r'^N: expected a positive integer, got "0"$'):
        single_url_scenario("http://h", 1, 0)
    with pytest.raises(ScenarioError, match=r'^C: expected a positive integer, got "0"$'):
        single_url_scenario("http://h", 0, 1)


def test_load_spec_helpers() -> None:
    load = LoadSpec(users=20)
    assert load.effective_spawn_rate == 20 and not load.is_open
    assert load.duration_s is None and load.total_stage_time == 0
    assert load.level_at(5) == 20
    assert LoadSpec(users=20, spawn_rate=2, run_time_s=9).duration_s == 9


def test_request_spec_is_success_default_and_explicit() -> None:
    assert RequestSpec("a", "GET", "/").is_success(399)
    assert not RequestSpec("a", "GET", "/", expect_status=frozenset({404})).is_success(200)
