"""Capture expressions (``capture = { token = "json:$.access_token" }``), parsed at load.

Each expression is parsed once here, so that a typo fails the load with one line
naming the key; the engine then compiles the parsed form once per worker (see
``engine/captures.py``) and never looks at the text again.

The JSONPath subset: ``$`` followed by ``.name``, ``['key']`` or ``["key"]``, ``[n]``
(``[-1]`` is the last element), and ``[*]`` or ``.*`` (one element picked at random,
as Artillery does). Filters, slices and ``..`` are not supported: they are rare in
load tests and would each cost a full scan of the body. An index is at most
``MAX_CAPTURE_INDEX`` either way: each worker decodes an array into a Struct with a
field per element up to the index (~250 bytes a field), so ``[10000000]`` built 2.5
GB in every worker.
"""

from __future__ import annotations

import re
from typing import Any

from .checks import Context
from .headers import TOKEN
from .messages import join, show
from .model import CAPTURE_SOURCES, CaptureSpec, PathSegment

__all__ = [
    "CAPTURE_NAME",
    "MAX_CAPTURE_INDEX",
    "parse_capture",
    "parse_capture_table",
    "parse_json_path",
]

MAX_CAPTURE_INDEX = 1000

CAPTURE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPECTED = '"json:$.path", "header:NAME", "cookie:NAME", "regex:PATTERN" or "status"'
_DOT_NAME = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_WILDCARD = re.compile(r"\[\s*\*\s*\]|\.\*")
_ESCAPE = re.compile(r"\\(.)")


def parse_json_path(text: str) -> tuple[PathSegment, ...]:
    """``"$.agents[0].id"`` -> ``("agents", 0, "id")``; ``[*]`` becomes None.

    Raises ``ValueError("expected ...")`` naming the first character it cannot read.
    """
    if not text.startswith("$"):
        raise ValueError('expected a JSONPath starting with "$", like "$.data.id"')
    segments: list[PathSegment] = []
    i = 1
    while i < len(text):
        if text.startswith("..", i):
            raise ValueError(
                f"expected .name, [n], ['key'] or [*] at character {i + 1} "
                '(".." recursive descent is not supported)'
            )
        for pattern in (_DOT_NAME, _INDEX, _QUOTED, _WILDCARD):
            m = pattern.match(text, i)
            if m is None:
                continue
            if pattern is _DOT_NAME:
                segments.append(m.group(1))
            elif pattern is _INDEX:
                digits = m.group(1)
                index = int(digits) if len(digits) <= 20 else MAX_CAPTURE_INDEX + 1
                if abs(index) > MAX_CAPTURE_INDEX:
                    shown = digits if len(digits) <= 20 else digits[:17] + "..."
                    raise ValueError(
                        f"index {shown} is out of range (expected -{MAX_CAPTURE_INDEX} to"
                        f" {MAX_CAPTURE_INDEX}: each worker decodes an array up to the index)"
                    )
                segments.append(index)
            elif pattern is _QUOTED:
                quoted = m.group(1) if m.group(1) is not None else m.group(2)
                segments.append(_ESCAPE.sub(r"\1", quoted))
            else:
                segments.append(None)
            i = m.end()
            break
        else:
            raise ValueError(f"expected .name, [n], ['key'] or [*] at character {i + 1}")
    if not segments:
        raise ValueError('expected a path below "$", like "$.data.id"')
    return tuple(segments)


def parse_capture_table(ctx: Context, key: str, raw: Any) -> tuple[CaptureSpec, ...]:
    """A step's ``capture`` table: value names to expressions."""
    table = ctx.table(key, raw, 'a table of names to expressions, like { token = "json:$.token" }')
    captures = []
    for name, value in table.items():
        item_key = join(key, name)
        if not CAPTURE_NAME.fullmatch(name):
            raise ctx.expected(
                item_key, "a name made of letters, digits and _ (it is used as {name})", name
            )
        captures.append(parse_capture(ctx, item_key, name, value))
    return tuple(captures)


def parse_capture(ctx: Context, key: str, name: str, value: Any) -> CaptureSpec:
    """One expression (a capture's, or a stream's ``tokens``), checked once here."""
    if not isinstance(value, str):
        raise ctx.expected(key, _EXPECTED, value)
    source, sep, expr = value.partition(":")
    source = source.strip().lower()
    if source == "status" and not expr.strip():
        return CaptureSpec(name=name, source="status", text=value)
    if source not in CAPTURE_SOURCES or not sep or not expr.strip():
        raise ctx.expected(key, _EXPECTED, value)
    expr = expr.strip()
    if source == "json":
        try:
            path = parse_json_path(expr)
        except ValueError as exc:
            raise ctx.fail(key, f"JSONPath {show(expr)}: {exc}") from None
        return CaptureSpec(name=name, source="json", text=value, path=path)
    if source == "header":
        if not TOKEN.fullmatch(expr):
            raise ctx.expected(key, 'a header name after "header:", like "header:ETag"', value)
        return CaptureSpec(name=name, source="header", text=value, header=expr)
    if source == "cookie":
        if not TOKEN.fullmatch(expr):
            raise ctx.expected(key, 'a cookie name after "cookie:", like "cookie:sid"', value)
        return CaptureSpec(name=name, source="cookie", text=value, header=expr)
    if source == "regex":
        try:
            re.compile(expr)
        except re.error as exc:
            raise ctx.fail(key, f"regex {show(expr)}: {exc}") from None
        return CaptureSpec(name=name, source="regex", text=value, pattern=expr)
    raise ctx.expected(key, _EXPECTED, value)  # "status:something"
