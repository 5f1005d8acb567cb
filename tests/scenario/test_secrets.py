"""Secrets: ${VAR} from the environment, and the redacted copy reports keep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_loadtest.scenario import load_scenario

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
