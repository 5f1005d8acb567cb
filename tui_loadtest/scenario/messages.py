"""One-line error text: values shown the way they look in TOML, dotted keys, suggestions.

Every scenario error names the file, the dotted key and what was expected; these
helpers render the key and the offending value so a message fits on one line.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from ..errors import ScenarioError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def show(value: Any, limit: int = 60) -> str:
    """Render a value the way it would look in TOML, shortened for one-line errors."""
    text = toml_text(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def toml_text(value: Any) -> str:
    """``value`` written as TOML would write it (strings quoted, inf/nan bare)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        # str() refuses ints above 4300 digits; a hex literal in TOML can make one.
        return (
            str(value)
            if value.bit_length() <= 256
            else f"<an integer of {value.bit_length()} bits>"
        )
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_text(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{key_part(k)} = {toml_text(v)}" for k, v in value.items())
        return "{ " + items + " }"
    return repr(value)


def key_part(name: str) -> str:
    """A key as TOML needs it written: bare when it can be, quoted otherwise."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def join(parent: str, child: str | int) -> str:
    """Dotted key for messages; list indexes are 1-based like the tables in the file."""
    if isinstance(child, int):
        return f"{parent}[{child}]"
    part = key_part(child)
    return f"{parent}.{part}" if parent else part


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelt ``word`` (case-insensitive), if any is close."""
    choices = list(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def number_text(value: float) -> str:
    """500.0 -> "500", 0.01 -> "0.01": limits read the way they were written."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def flag_error(flag: str, what: str, value: Any) -> ScenarioError:
    """A flag's one-line error, e.g. ``--users: expected a positive integer, got "x"``."""
    return ScenarioError(f'{flag}: expected {what}, got "{value}"')
