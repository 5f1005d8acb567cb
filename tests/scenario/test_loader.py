"""The loader: defaults, load modes, bodies and vars, and every user-facing error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import DEFAULT_MAX_USERS, HttpSpec, LoadSpec, Stage, load_scenario

from .helpers import HEALTH, SECRET, ErrorText, LoadText

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
    assert error_text(text) == (
        "x.toml: requests: expected at least one [[requests]] table (or [[flows]])"
    )


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
    assert error_text(text) == (
        "x.toml: requests[1].vars.idd: not used as {idd} in path, headers or body"
    )


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
