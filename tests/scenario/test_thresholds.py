"""The [thresholds] table: run-wide and per-endpoint gates."""

from __future__ import annotations

import pytest

from tui_loadtest.scenario import Threshold

from .helpers import HEALTH, ErrorText, LoadText

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
