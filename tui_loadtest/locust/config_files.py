"""Locust's configuration files, read as Locust reads them.

Two formats (Locust hands both to ConfigArgParse: ``LocustConfigParser`` in
``locust/argument_parser.py``):

- ``locust.conf`` style: one ``key = value`` a line (``key: value``, ``key value`` and
  ``--key value`` too; a bare ``key`` sets a switch), ``#`` and ``;`` comments, lines
  starting ``[`` or ``---`` skipped, a value in quotes kept as written, ``[a, b]`` a list;
- a file whose name ends in ``.toml``: the ``[tool.locust]`` table (none: nothing set).

Keys are a flag's long name without or with its dashes (``users``, ``--users``). Each
value is returned as text or a list of texts, as Locust receives it; :mod:`.options`
converts it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from ..errors import UsageError

Raw = str | list[str]

_BOOL_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0")


def read_config_file(path: Path, label: str) -> dict[str, Raw]:
    """The settings of one file, in order; a duplicate key keeps its last value.
    ``label`` names the file in errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{label}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not a text file (UTF-8)") from None
    if path.name.endswith("toml"):
        return _toml(text, label)
    return _conf(text, label)


def _toml(text: str, label: str) -> dict[str, Raw]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{label}: not valid TOML ({exc})") from None
    table = data.get("tool", {})
    table = table.get("locust") if isinstance(table, dict) else None
    if not isinstance(table, dict):
        return {}
    out: dict[str, Raw] = {}
    for key, value in table.items():
        if value is None:
            continue
        out[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return out


def _conf(text: str, label: str) -> dict[str, Raw]:
    out: dict[str, Raw] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;[" or line.startswith("---"):
            continue
        key, value = _conf_line(line)
        if not key:
            raise UsageError(f"{label}: line {number} is not a setting: {line}")
        out[key] = list_or_text(value)
    return out


def _conf_line(line: str) -> tuple[str, str]:
    """``key = value`` -> (key, value); a bare key is a switch set to ``true``."""
    end = 0
    while end < len(line) and line[end] not in ":=;#" and not line[end].isspace():
        end += 1
    key, rest = line[:end], line[end:]
    stripped = rest.lstrip()
    if stripped[:1] in (":", "="):
        value = stripped[1:].strip()
        separated = True
    elif not stripped or (rest[:1].isspace() and stripped[:1] in ("#", ";")):
        return key, "true"
    else:
        value, separated = stripped, False
    value = _without_comment(value)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    if not value and not separated:
        value = "true"
    return key, value


def _without_comment(value: str) -> str:
    """A ``#`` or ``;`` after whitespace starts a comment, unless the value is quoted."""
    if len(value) >= 2 and value[0] in "'\"" and value[0] == value[-1]:
        return value
    for i in range(1, len(value)):
        if value[i] in "#;" and value[i - 1].isspace():
            return value[:i].rstrip()
    return value


def list_or_text(value: str) -> Raw:
    """``[a, b]`` or ``["a", "b"]`` is a list; anything else stays text."""
    if not (value.startswith("[") and value.endswith("]")):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return [part.strip() for part in value[1:-1].split(",")]
    return [str(v) for v in parsed] if isinstance(parsed, list) else value


def is_bool_word(text: str) -> bool:
    return text.lower() in _BOOL_WORDS


__all__ = ["Raw", "is_bool_word", "list_or_text", "read_config_file"]
