"""Checks on responses (``checks = ["status in [200, 201]", "json:$.status == 'ok'"]``),
parsed when the scenario loads.

A check is ``SOURCE OPERATOR [OPERAND]``:

- sources: ``status``, ``json:$.path`` (the JSONPath subset of captures), ``header:Name``,
  ``body`` (the body as text) and ``duration`` (the response's latency);
- operators: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in [a, b]``,
  ``matches 'regex'``, ``contains 'text'`` and ``exists`` (no operand);
- operands: ``'text'`` or ``"text"``, numbers, ``true``/``false``/``null``, a list
  ``[200, 201]``, and durations (``300ms``, ``1.5s``) for ``duration``.

Each one is parsed here once, so that a mistake fails the load with one line naming
the file, the key, the step and what is wrong; the engine compiles the parsed form
once per worker (``engine/checks.py``). An element of ``checks`` is a string, or a
table ``{ check = "...", name = "...", soft = true }``: a named check is counted
under its name, and a soft one only counts its failures (the request is not failed).
"""

from __future__ import annotations

import re
from typing import Any

from ..durations import parse_duration
from .captures import parse_json_path
from .checks import Context, boolean, text
from .headers import TOKEN
from .messages import join, show
from .model import CHECK_OPS, CheckSpec, CheckValue

__all__ = ["CheckSyntaxError", "parse_check", "parse_check_list"]

_CHECK_KEYS = ("check", "name", "soft")
_WORD_OPS = ("in", "matches", "contains", "exists")
_SYMBOL_OPS = ("==", "!=", "<=", ">=", "<", ">")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|m)\b")
_DURATION_US = {"us": 1, "µs": 1, "ms": 1000, "s": 1_000_000, "m": 60_000_000}
# What each source may be compared with.
_OPS_OF = {
    "status": ("==", "!=", "<", "<=", ">", ">=", "in"),
    "duration": ("<", "<=", ">", ">="),
    "body": ("==", "!=", "contains", "matches", "exists"),
    "header": CHECK_OPS,
    "json": CHECK_OPS,
}
_SOURCES_HINT = 'status, json:$.path, header:NAME, body or duration, like "status == 200"'
MAX_CHECK_CHARS = 1000


class CheckSyntaxError(ValueError):
    """A check that cannot be read: ``str()`` says what was expected, where."""


def parse_check_list(ctx: Context, key: str, raw: Any, where: str) -> tuple[CheckSpec, ...]:
    """A request's or step's ``checks``: a list of strings or ``{ check = ... }`` tables.
    ``where`` names the request or step in messages (``step "login"``)."""
    if raw is None:
        return ()
    what = 'a list of checks, like ["status == 200", "json:$.status == \'ok\'"]'
    if not isinstance(raw, list):
        raise ctx.expected(key, what, raw)
    found: list[CheckSpec] = []
    names: set[str] = set()
    for index, item in enumerate(raw, start=1):
        item_key = join(key, index)
        name = None
        soft = False
        if isinstance(item, dict):
            ctx.check_keys(item_key, item, _CHECK_KEYS)
            if "check" not in item:
                raise ctx.fail(item_key, 'missing key "check" (like check = "status == 200")')
            expr = item["check"]
            if "name" in item:
                name = text(ctx, f"{item_key}.name", item["name"]).strip()
            soft = boolean(ctx, f"{item_key}.soft", item.get("soft", False))
            expr_key = f"{item_key}.check"
        else:
            expr, expr_key = item, item_key
        if not isinstance(expr, str) or not expr.strip():
            raise ctx.expected(expr_key, 'a check like "status == 200"', expr)
        try:
            spec = parse_check(expr, name=name, soft=soft)
        except CheckSyntaxError as exc:
            raise ctx.fail(expr_key, f"check {show(expr)} of {where}: {exc}") from None
        if spec.name in names:
            raise ctx.fail(
                expr_key,
                f"check {show(spec.name)} of {where} is there twice (give one a name =)",
            )
        names.add(spec.name)
        found.append(spec)
    return tuple(found)


def parse_check(expr: str, *, name: str | None = None, soft: bool = False) -> CheckSpec:
    """One check from its text; raises :class:`CheckSyntaxError` saying what is wrong."""
    if len(expr) > MAX_CHECK_CHARS:
        raise CheckSyntaxError(f"expected at most {MAX_CHECK_CHARS} characters")
    text_ = expr.strip()
    source, path, header, rest = _source(text_)
    op, rest = _operator(rest, source)
    allowed = _OPS_OF[source]
    if op not in allowed:
        raise CheckSyntaxError(
            f"{source} cannot be compared with {op!r} (it takes {', '.join(allowed)})"
        )
    value: CheckValue | tuple[CheckValue, ...] = None
    if op == "exists":
        if rest.strip():
            raise CheckSyntaxError(f"nothing may follow exists, got {rest.strip()!r}")
    else:
        value = _operand(rest, source, op)
    return CheckSpec(
        text=text_,
        name=name or text_,
        source=source,
        op=op,
        value=value,
        path=path,
        header=header,
        soft=soft,
    )


def _source(expr: str) -> tuple[str, tuple, str, str]:
    """(source, JSONPath segments, header name, the rest of the text)."""
    for plain in ("status", "duration", "body"):
        if expr == plain or (expr.startswith(plain) and expr[len(plain)] in " \t=!<>"):
            return plain, (), "", expr[len(plain) :]
    kind, sep, after = expr.partition(":")
    kind = kind.strip().lower()
    if sep and kind == "json":
        end = _path_end(after)
        path_text = after[:end].strip()
        try:
            path = parse_json_path(path_text)
        except ValueError as exc:
            raise CheckSyntaxError(f"JSONPath {path_text!r}: {exc}") from None
        return "json", path, "", after[end:]
    if sep and kind == "header":
        m = re.match(r"\s*([^\s=!<>]+)", after)
        name = m.group(1) if m else ""
        if not TOKEN.fullmatch(name):
            raise CheckSyntaxError('expected a header name after "header:", like header:ETag')
        return "header", (), name, after[m.end() if m else 0 :]
    raise CheckSyntaxError(f"expected a source first: {_SOURCES_HINT}")


def _path_end(text_: str) -> int:
    """Where a JSONPath ends: the first blank outside brackets and quotes."""
    i = 0
    while i < len(text_) and text_[i] in " \t":
        i += 1
    depth = 0
    quote = ""
    while i < len(text_):
        c = text_[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif depth <= 0 and c in " \t=!<>":
            return i
        i += 1
    return i


def _operator(rest: str, source: str) -> tuple[str, str]:
    stripped = rest.lstrip()
    for op in _SYMBOL_OPS:
        if stripped.startswith(op):
            return op, stripped[len(op) :]
    word = re.match(r"[A-Za-z_]+", stripped)
    if word and word.group(0) in _WORD_OPS:
        return word.group(0), stripped[word.end() :]
    found = repr(stripped.split()[0]) if stripped.split() else "nothing"
    raise CheckSyntaxError(
        f"expected an operator after {source} (==, !=, <, <=, >, >=, in, matches, contains "
        f"or exists), got {found}"
    )


def _operand(rest: str, source: str, op: str) -> CheckValue | tuple[CheckValue, ...]:
    rest = rest.strip()
    if not rest:
        raise CheckSyntaxError(f"expected a value after {op}")
    if source == "duration":
        m = _DURATION.fullmatch(rest)
        if m is None:
            raise CheckSyntaxError(f"expected a duration like 300ms or 1.5s, got {rest!r}")
        try:
            parse_duration(f"{m.group(1)}s")  # only its range: a year at most
        except ValueError as exc:
            raise CheckSyntaxError(str(exc)) from None
        return round(float(m.group(1)) * _DURATION_US[m.group(2)])
    value, end = _literal(rest, 0)
    if rest[end:].strip():
        raise CheckSyntaxError(f"unexpected text after the value: {rest[end:].strip()!r}")
    if op == "in":
        if not isinstance(value, tuple) or not value:
            raise CheckSyntaxError(f"in takes a list, like in [200, 201], got {rest!r}")
        if source == "status" and not all(_is_int(v) for v in value):
            raise CheckSyntaxError(f"expected a list of status codes, got {rest!r}")
        return value
    if isinstance(value, tuple):
        raise CheckSyntaxError(f"a list goes with in only (like in [200, 201]), got {op} {rest}")
    if op in ("matches", "contains") and not isinstance(value, str):
        raise CheckSyntaxError(f"{op} takes a quoted text, like {op} 'ok', got {rest!r}")
    if op == "matches":
        assert isinstance(value, str)
        try:
            re.compile(value)
        except re.error as exc:
            raise CheckSyntaxError(f"regex {value!r}: {exc}") from None
    if op in ("<", "<=", ">", ">=") and not _is_number(value):
        raise CheckSyntaxError(f"{op} compares numbers, got {rest!r}")
    if source == "status" and not _is_int(value):
        raise CheckSyntaxError(f"expected a status code like 200, got {rest!r}")
    if source == "body" and not isinstance(value, str):
        raise CheckSyntaxError(f"the body is text: compare it with a quoted text, got {rest!r}")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _literal(s: str, i: int) -> tuple[CheckValue | tuple[CheckValue, ...], int]:
    """A value at ``s[i:]`` (after blanks): its value and where it ends."""
    while i < len(s) and s[i] in " \t":
        i += 1
    if i >= len(s):
        raise CheckSyntaxError("expected a value")
    c = s[i]
    if c in "'\"":
        out = []
        j = i + 1
        while j < len(s):
            if s[j] == "\\" and j + 1 < len(s):
                out.append(s[j + 1])
                j += 2
                continue
            if s[j] == c:
                return "".join(out), j + 1
            out.append(s[j])
            j += 1
        raise CheckSyntaxError(f"a text that never ends: {s[i:]!r} (no closing {c})")
    if c == "[":
        items: list[CheckValue] = []
        j = i + 1
        while True:
            while j < len(s) and s[j] in " \t":
                j += 1
            if j < len(s) and s[j] == "]" and not items:
                return (), j + 1
            item, j = _literal(s, j)
            if isinstance(item, tuple):
                raise CheckSyntaxError("a list inside a list")
            items.append(item)
            while j < len(s) and s[j] in " \t":
                j += 1
            if j < len(s) and s[j] == ",":
                j += 1
                continue
            if j < len(s) and s[j] == "]":
                return tuple(items), j + 1
            raise CheckSyntaxError(f"expected , or ] in the list {s[i:]!r}")
    for word, value in (("true", True), ("false", False), ("null", None)):
        if s.startswith(word, i) and not s[i + len(word) : i + len(word) + 1].isalnum():
            return value, i + len(word)
    m = _NUMBER.match(s, i)
    if m and not s[m.end() : m.end() + 1].isalpha():
        number = m.group(0)
        is_float = any(ch in number for ch in ".eE")
        return (float(number) if is_float else int(number)), m.end()
    raise CheckSyntaxError(
        f"expected a value ('text', a number, true, false, null or [a list]), got {s[i:]!r}"
    )
