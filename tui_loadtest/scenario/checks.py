"""The parse context and the typed value checks every scenario table uses.

A check takes the context, the dotted key and the raw TOML value, and returns
the value in its model type or raises the one-line ScenarioError that names the
file, the key and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..durations import format_duration, parse_duration
from ..errors import ScenarioError
from .messages import did_you_mean, join, number_text, show
from .model import MAX_RATE, MAX_USERS

# What the documented maximums are called in messages ("expected at most 100000 users (...)").
USERS_LIMIT = "users (the most one run can have)"
RATE_LIMIT = "requests per second (the most one run can ask for)"
SPAWN_LIMIT = "users per second (the most one run can have)"

__all__ = [
    "RATE_LIMIT",
    "SPAWN_LIMIT",
    "USERS_LIMIT",
    "Check",
    "Context",
    "at_most",
    "boolean",
    "choice",
    "duration",
    "is_number",
    "positive_int",
    "positive_number",
    "request_rate",
    "spawn_rate",
    "text",
    "user_count",
    "warmup_problem",
]


class Context:
    """Carries the file name and environment through the parse; builds the messages."""

    def __init__(
        self,
        source: str,
        env: Mapping[str, str],
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self.env = env
        self.secrets: set[str] = set()  # values kept out of every artefact
        # Says what a slow step is doing (reading a large data file), as a start-up line.
        self.announce: Callable[[str], None] = announce or (lambda _text: None)

    def fail(self, key: str, message: str) -> ScenarioError:
        where = f"{self.source}: {key}" if key else self.source
        return ScenarioError(f"{where}: {message}")

    def expected(self, key: str, what: str, value: Any) -> ScenarioError:
        return self.fail(key, f"expected {what}, got {show(value)}")

    def check_keys(self, key: str, table: Mapping[str, Any], allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for name in table:
            if name in allowed:
                continue
            guess = did_you_mean(name, allowed)
            hint = f'did you mean "{guess}"?' if guess else "known keys: " + ", ".join(allowed)
            raise self.fail(join(key, name), f"unknown key ({hint})")

    def table(self, key: str, value: Any, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.expected(key, what, value)
        return value


# A check: (context, dotted key, raw value) -> the value in its model type.
Check = Callable[[Context, str, Any], Any]


def is_number(value: Any) -> bool:
    """A finite int or float that converts to float (TOML booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        return False


def positive_int(ctx: Context, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ctx.expected(key, "a positive integer", value)
    return value


def positive_number(ctx: Context, key: str, value: Any, what: str = "a positive number") -> float:
    if not is_number(value) or value <= 0:
        raise ctx.expected(key, what, value)
    return float(value)


def at_most(ctx: Context, key: str, value: Any, maximum: float, what: str) -> None:
    """Refuse a value above a documented maximum, e.g. "at most 100000 users (...)"."""
    if value > maximum:
        raise ctx.expected(key, f"at most {number_text(maximum)} {what}", value)


def user_count(ctx: Context, key: str, value: Any) -> int:
    """A positive number of users (or connections), at most :data:`MAX_USERS`."""
    count = positive_int(ctx, key, value)
    at_most(ctx, key, count, MAX_USERS, USERS_LIMIT)
    return count


def spawn_rate(ctx: Context, key: str, value: Any) -> float:
    """Users started per second: more than :data:`MAX_USERS` a second is all at once."""
    rate = positive_number(ctx, key, value)
    at_most(ctx, key, rate, MAX_USERS, SPAWN_LIMIT)
    return rate


def request_rate(ctx: Context, key: str, value: Any) -> float:
    """A positive number of requests per second, at most :data:`MAX_RATE`."""
    rate = positive_number(ctx, key, value, "a positive number of requests per second")
    at_most(ctx, key, rate, MAX_RATE, RATE_LIMIT)
    return rate


def boolean(ctx: Context, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ctx.expected(key, "true or false", value)
    return value


def choice(ctx: Context, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        options = " or ".join(f'"{option}"' for option in choices)
        raise ctx.expected(key, options, value)
    return value


def duration(ctx: Context, key: str, value: Any) -> float:
    """A strictly positive duration: a zero timeout or run time is always a mistake."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ctx.expected(key, str(exc).removeprefix("expected "), value) from None
    if seconds <= 0:
        raise ctx.expected(key, "a duration greater than 0", value)
    return seconds


def text(ctx: Context, key: str, value: Any, what: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.expected(key, what, value)
    return value


def warmup_problem(warmup_s: float, duration_s: float | None) -> str | None:
    """Why a warm-up cannot be measured as asked (the text after the key), or None.

    Figures are kept per second, so the warm-up ends on a second boundary: a
    fraction would silently be rounded up (``--warmup 2.5s -t 3s`` measured a 3 s
    warm-up and reported a 0.00 s test), and is refused rather than honoured.
    A warm-up at least as long as the run is the caller's own message; one that
    leaves less than a second to measure is refused here.
    """
    if warmup_s <= 0:
        return None
    whole = math.ceil(warmup_s - 1e-9)
    if warmup_s != whole and abs(warmup_s - whole) > 1e-9:
        shown = format_duration(warmup_s)
        return (
            f"expected whole seconds (figures are kept per second: {shown} would be measured"
            f" as {format_duration(whole)}), got {shown}"
        )
    if duration_s is not None and warmup_s < duration_s < warmup_s + 1:
        return (
            f"leaves {format_duration(duration_s - warmup_s)} of the run's"
            f" {format_duration(duration_s)} to measure (expected at least 1s)"
        )
    return None
