"""Human-friendly durations ("1m30s", "500ms") and think times ("0.5s..1.5s").

Errors are plain ``ValueError`` with a short "expected ..." text; the scenario
loader adds the file name, the key and the offending value around it.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_DURATION_S",
    "DurationTooLong",
    "parse_duration",
    "parse_think_time",
    "format_duration",
]

# The longest duration anything accepts (a timeout, a run, a pause): one year. Longer
# values are typos ("99999999h") or overflow the clocks and timers they end up in.
MAX_DURATION_S = 365 * 24 * 3600.0

DURATION_HINT = 'expected a duration like "90s", "5m", "1h30m", "500ms" or a number of seconds'
TOO_LONG_HINT = 'expected a duration of at most one year ("8760h")'
THINK_TIME_HINT = (
    'expected a think time like "0.5s", a range like "0.5s..1.5s" or a number of seconds'
)

# Units in the only order they may appear: "1h30m" is fine, "30m1h" is not.
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_UNIT_ORDER = ("h", "m", "s", "ms")
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|h|m|s)")
_BARE = re.compile(rf"\s*({_NUMBER})\s*")


class DurationTooLong(ValueError):
    """A well-formed duration above :data:`MAX_DURATION_S`."""

    def __init__(self) -> None:
        super().__init__(TOO_LONG_HINT)


def _number_seconds(value: object) -> float | None:
    """Seconds for a non-negative, finite int/float; None if ``value`` is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and value > MAX_DURATION_S:
        raise DurationTooLong  # before float(): a huge int would overflow it
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(DURATION_HINT)
    return seconds


def parse_duration(text: object) -> float:
    """Return the duration in seconds.

    Accepts unit strings ("90s", "1h30m", "2h5m10s", "500ms", "0.5s"), a bare
    number string ("90") and int/float values, all meaning seconds when
    unitless. Units must come in h, m, s, ms order, each at most once, so that a
    typo such as "1m1m" is reported instead of silently summed. Durations above
    :data:`MAX_DURATION_S` raise :class:`DurationTooLong`.
    """
    seconds = _number_seconds(text)
    if seconds is None:
        seconds = _text_seconds(text)
    if seconds > MAX_DURATION_S:
        raise DurationTooLong
    return seconds


def _text_seconds(text: object) -> float:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(DURATION_HINT)
    bare = _BARE.fullmatch(text)
    if bare:
        return float(bare.group(1))
    total = 0.0
    pos = 0
    last_unit = -1
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            if text[pos:].strip():
                raise ValueError(DURATION_HINT)
            break
        unit_index = _UNIT_ORDER.index(match.group(2))
        if unit_index <= last_unit:
            raise ValueError('expected units in h, m, s, ms order, each at most once, like "1h30m"')
        last_unit = unit_index
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total


def parse_think_time(value: object) -> tuple[float, float]:
    """Return ``(low, high)`` seconds: a fixed pause gives ``low == high``.

    A range "a..b" means a uniformly random pause between a and b, which
    spreads virtual users out instead of letting them fire in lockstep.
    """
    if isinstance(value, str) and ".." in value:
        low_text, _, high_text = value.partition("..")
        try:
            low, high = parse_duration(low_text), parse_duration(high_text)
        except DurationTooLong:
            raise
        except ValueError:
            raise ValueError(THINK_TIME_HINT) from None
        if low > high:
            raise ValueError(THINK_TIME_HINT + " (low end first)")
        return (low, high)
    try:
        seconds = parse_duration(value)
    except DurationTooLong:
        raise
    except ValueError:
        raise ValueError(THINK_TIME_HINT) from None
    return (seconds, seconds)


def _trim(number: float) -> str:
    """Shortest readable form: 30.0 -> "30", 1.5 -> "1.5", 0.1234 -> "0.123"."""
    return f"{number:.3f}".rstrip("0").rstrip(".")


def format_duration(seconds: float) -> str:
    """Format seconds the way users write them: 90 -> "1m30s", 0.25 -> "250ms".

    The output parses back with :func:`parse_duration` (to the millisecond).
    """
    if not math.isfinite(seconds):
        raise ValueError("expected a finite number of seconds")
    if seconds < 0:
        return "-" + format_duration(-seconds)
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if rest:
        parts.append(f"{_trim(rest / 1000)}s")
    return "".join(parts)
