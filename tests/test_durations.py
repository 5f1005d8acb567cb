"""Durations as users write them in scenario files and flags."""

from __future__ import annotations

import pytest

from tui_loadtest.durations import (
    MAX_DURATION_S,
    DurationTooLong,
    format_duration,
    parse_duration,
    parse_think_time,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1h", 3600.0),
        ("0.5s", 0.5),
        ("1m30s", 90.0),
        ("2h5m10s", 7510.0),
        ("1s250ms", 1.25),
        (" 1h 30m ", 5400.0),
        ("90", 90.0),
        ("0", 0.0),
        (90, 90.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration_accepts_common_forms(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "abc",
        "5x",
        "1.5.5s",
        "-5s",
        "5 s s",
        "m",
        "1m1m",
        "30m1h",
        "1s1h",
        True,
        -1,
        None,
        float("inf"),
        float("nan"),
        [1],
    ],
)
def test_parse_duration_rejects_garbage_with_expected_text(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^expected "):
        parse_duration(bad)


def test_parse_duration_explains_unit_order() -> None:
    with pytest.raises(ValueError, match="h, m, s, ms order"):
        parse_duration("30s1m")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5s", (0.5, 0.5)),
        ("0.5s..1.5s", (0.5, 1.5)),
        ("100ms..1s", (0.1, 1.0)),
        ("1s..1s", (1.0, 1.0)),
        (2, (2.0, 2.0)),
        (0, (0.0, 0.0)),
    ],
)
def test_parse_think_time(value: object, expected: tuple[float, float]) -> None:
    assert parse_think_time(value) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["1.5s..0.5s", "..1s", "1s..", "fast", "1s..2s..3s", True])
def test_parse_think_time_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^expected a think time"):
        parse_think_time(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (90, "1m30s"),
        (45, "45s"),
        (0.25, "250ms"),
        (0, "0s"),
        (3600, "1h"),
        (5410, "1h30m10s"),
        (1.5, "1.5s"),
        (600, "10m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1, 59.5, 61, 3599, 7510, 86400.25])
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


def test_format_duration_rejects_infinity() -> None:
    with pytest.raises(ValueError):
        format_duration(float("inf"))


@pytest.mark.parametrize("value", [1e308, 10**18, 10**400, "99999999h", "8760h1ms", "1" * 400])
def test_parse_duration_refuses_more_than_one_year(value: object) -> None:
    with pytest.raises(DurationTooLong) as info:
        parse_duration(value)
    assert str(info.value) == 'expected a duration of at most one year ("8760h")'


def test_one_year_is_the_longest_duration() -> None:
    assert parse_duration("8760h") == MAX_DURATION_S == 365 * 24 * 3600


@pytest.mark.parametrize("value", ["1s..99999999h", 1e12])
def test_think_time_above_one_year_says_so(value: object) -> None:
    with pytest.raises(DurationTooLong):
        parse_think_time(value)
