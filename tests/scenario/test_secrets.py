"""Secrets: ${VAR} from the environment, and the redacted copy reports keep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import (
    apply_overrides,
    is_secret_param,
    load_scenario,
    redact_query,
    redact_scenario,
    redact_text,
    url_scenario,
)

from .helpers import HEALTH, SECRET, ErrorText, LoadText

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


# ------------------------------------------- ${VAR} in paths, bodies, JSON and vars

ENV = {"TOKEN": "tok-9f8e7d", "USER": 'u"1\\', "SPACE": "a b", "WIDE": "Ā"}


def test_env_in_path_body_json_and_vars(load_text: LoadText) -> None:
    sc = load_text(
        '[[requests]]\nname = "p"\npath = "/u/${TOKEN}/{id}"\nvars = { id = ["${TOKEN}", "x"] }\n'
        '[[requests]]\nname = "j"\nmethod = "POST"\npath = "/j"\n'
        'json = { user = "${USER}", list = ["${TOKEN}", 1], "${KEY}" = "keys stay" }\n'
        '[[requests]]\nname = "b"\nmethod = "POST"\npath = "/b"\nbody = "t=${TOKEN}&u={u}"\n'
        'vars = { u = ["${TOKEN}"] }\n',
        env=ENV,
    )
    by_name = {r.name: r for r in sc.requests}
    assert by_name["p"].path == "/u/tok-9f8e7d/{id}"
    assert dict(by_name["p"].vars) == {"id": ("tok-9f8e7d", "x")}
    assert json.loads(by_name["j"].body or b"") == {
        "user": 'u"1\\',
        "list": ["tok-9f8e7d", 1],
        "${KEY}": "keys stay",
    }
    assert by_name["b"].body == b"t=tok-9f8e7d&u={u}"
    assert by_name["b"].fill({"u": "v"}) == ("/b", b"t=tok-9f8e7d&u=v")
    assert sc.secrets >= {"tok-9f8e7d", 'u"1\\'}
    dumped = json.dumps(sc.redacted)
    assert "tok-9f8e7d" not in dumped and 'u\\"1' not in dumped
    reports = {r["name"]: r for r in sc.redacted["requests"]}
    assert reports["p"]["path"] == "/u/${TOKEN}/{id}"
    assert reports["p"]["vars"] == {"id": ["${TOKEN}", "x"]}
    assert json.loads(reports["j"]["body"])["user"] == "${USER}"
    assert reports["b"]["body"] == "t=${TOKEN}&u={u}"


def test_default_name_keeps_the_reference(load_text: LoadText) -> None:
    sc = load_text('[[requests]]\npath = "/u/${TOKEN}"\n', env=ENV)
    assert sc.requests[0].name == "GET /u/${TOKEN}"


@pytest.mark.parametrize(
    ("request_text", "key"),
    [
        ('path = "/u/${MISSING}"', "requests[1].path"),
        ('path = "/"\nmethod = "POST"\nbody = "${MISSING}"', "requests[1].body"),
        (
            'path = "/"\nmethod = "POST"\njson = { a = [{ b = "${MISSING}" }] }',
            "requests[1].json.a[1].b",
        ),
        ('path = "/{id}"\nvars = { id = ["ok", "${MISSING}"] }', "requests[1].vars.id[2]"),
    ],
)
def test_missing_variable_names_the_key(error_text: ErrorText, request_text: str, key: str) -> None:
    message = error_text(f"[[requests]]\n{request_text}\n", env=ENV)
    assert message == f"x.toml: {key}: environment variable MISSING is not set"


def test_malformed_reference_in_json(error_text: ErrorText) -> None:
    message = error_text('[[requests]]\npath = "/"\njson = { a = "${" }\n', env=ENV)
    assert message.startswith("x.toml: requests[1].json.a: expected ${NAME} with NAME made of")


@pytest.mark.parametrize(
    "request_text",
    [
        'path = "/u/${SPACE}"',
        'path = "/{id}"\nvars = { id = ["${SPACE}"] }',
        'path = "/u/${WIDE}"',
    ],
)
def test_env_value_with_spaces_in_a_path(error_text: ErrorText, request_text: str) -> None:
    message = error_text(f"[[requests]]\n{request_text}\n", env=ENV)
    assert message.endswith(
        "environment variable value holds spaces, control or non-ASCII characters "
        "(it goes into the path; percent-encode it)"
    )
    assert "a b" not in message


# ------------------------------------------------- credentials in query parameters


def test_query_credentials_are_redacted_in_reports_and_names(load_text: LoadText) -> None:
    sc = load_text(
        '[[requests]]\npath = "/x?api_key=lit-key-123&q=shoes&token=${TOKEN}&sig={s}"\n'
        'vars = { s = ["sig-literal-1", "${TOKEN}"] }\n',
        env=ENV,
    )
    (request,) = sc.requests
    assert request.path == "/x?api_key=lit-key-123&q=shoes&token=tok-9f8e7d&sig={s}"
    shown = "/x?api_key=<redacted>&q=shoes&token=${TOKEN}&sig={s}"
    assert request.name == f"GET {shown}"
    report = sc.redacted["requests"][0]
    assert report["path"] == shown
    assert report["vars"] == {"s": ["<redacted>", "${TOKEN}"]}
    assert {"lit-key-123", "sig-literal-1", "tok-9f8e7d"} <= sc.secrets
    dumped = json.dumps(sc.redacted)
    assert "lit-key-123" not in dumped and "sig-literal-1" not in dumped


def test_path_errors_do_not_quote_query_credentials(error_text: ErrorText) -> None:
    message = error_text('[[requests]]\npath = "/x?token=lit-key-123&q=a b"\n')
    assert "lit-key-123" not in message and "<redacted>" in message


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True),
        ("access_token", True),
        ("accessToken", True),
        ("api_key", True),
        ("apiKey", True),
        ("X-Amz-Signature", True),
        ("sig", True),
        ("password", True),
        ("client_secret", True),
        ("auth", True),
        ("session_id", True),
        ("sessionId", True),
        ("q", False),
        ("keyword", False),
        ("author", False),
        ("passport", False),
        ("id", False),
    ],
)
def test_secret_parameter_names(name: str, secret: bool) -> None:
    assert is_secret_param(name) is secret


def test_redact_query_keeps_the_rest_of_the_url() -> None:
    url = "http://h:1/a?x=1&password=hunter22&y=&token#frag"
    assert redact_query(url) == "http://h:1/a?x=1&password=<redacted>&y=&token#frag"
    assert redact_query("/plain/path") == "/plain/path"


def test_redact_text_scrubs_secrets_longest_first() -> None:
    text = "GET /x?token=abcdef failed; abcdefgh; ab"
    assert redact_text(text, {"abcdef", "abcdefgh", "ab"}) == (
        "GET /x?token=<redacted> failed; <redacted>; ab"
    )


def test_bench_url_credentials_are_redacted() -> None:
    sc = url_scenario("http://127.0.0.1:1/x?api_key=lit-key-123", load={"requests": 1})
    assert sc.requests[0].path == "/x?api_key=lit-key-123"
    assert sc.requests[0].name == "GET /x?api_key=<redacted>"
    assert "lit-key-123" not in json.dumps(sc.redacted) + sc.name
    assert "lit-key-123" in sc.secrets
    with pytest.raises(ScenarioError) as info:
        url_scenario("http://h/x?token=lit-key-123&a=b c", load={"requests": 1})
    assert "lit-key-123" not in str(info.value)


def test_host_flag_errors_do_not_quote_credentials(load_text: LoadText) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_overrides(load_text(HEALTH), host="http://h/x?token=lit-key-123")
    assert "lit-key-123" not in str(info.value)


def test_the_store_pass_redacts_query_credentials() -> None:
    scenario = {"requests": [{"name": "GET /x?key=lit-key-123", "path": "/x?key=lit-key-123"}]}
    cleaned = redact_scenario(scenario)["requests"][0]
    assert cleaned == {"name": "GET /x?key=<redacted>", "path": "/x?key=<redacted>"}


def test_a_redactor_with_many_secrets_scrubs_leftmost_longest() -> None:
    """Past Redactor.FEW secrets the text is scanned slice by slice: a 1M-row password
    column costs a set lookup per slice, not a sort per message."""
    from tui_loadtest.scenario import Redactor

    many = {f"pw-{i:06d}" for i in range(100_000)} | {"pw-000001-long", "abc"}
    redactor = Redactor(many)
    assert len(redactor.secrets) == 100_001  # "abc" is too short to scrub
    text = "login pw-000042 failed; pw-000001-long; pw-00000; abc; pw-099999"
    assert redactor(text) == ("login <redacted> failed; <redacted>; pw-00000; abc; <redacted>")
    assert redactor("HTTP 404") == "HTTP 404"
    # The same answers as the few-secrets path where the secrets do not overlap.
    few = {"pw-000042", "pw-099999", "pw-000001-long"}
    assert Redactor(few)(text) == redactor(text)
