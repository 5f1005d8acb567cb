"""Header tables (``[http.headers]`` and a request's ``headers``)."""

from __future__ import annotations

import re
from typing import Any

from .checks import Context, is_number
from .env import substitute_env
from .messages import join, number_text
from .redact import REDACTED, is_sensitive_header

# An HTTP token (RFC 9110): header names and methods.
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse_headers(
    ctx: Context, key: str, raw: Any
) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """Return the substituted headers and their report form (templates, redacted)."""
    table = ctx.table(key, raw, 'a table of header names to values, like { Accept = "text/plain" }')
    headers: list[tuple[str, str]] = []
    report: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in table.items():
        item_key = join(key, name)
        if not TOKEN.fullmatch(name):
            raise ctx.expected(item_key, "a header name made of letters, digits and -", name)
        if name.lower() in seen:
            raise ctx.fail(item_key, "duplicate header (header names ignore case)")
        seen.add(name.lower())
        if name.lower() in ("content-length", "transfer-encoding"):
            raise ctx.fail(item_key, "is set by the client from the body; remove it")
        sensitive = is_sensitive_header(name)
        shown = REDACTED if sensitive and isinstance(value, str) else value
        if is_number(value):
            value = number_text(value)
        if not isinstance(value, str):
            raise ctx.expected(item_key, "a string", shown)
        if _CONTROL.search(value):
            raise ctx.expected(item_key, "a value without line breaks or control characters", shown)
        if not value.isascii():
            raise ctx.expected(
                item_key, "ASCII text (header values hold no other characters)", shown
            )
        resolved = substitute_env(ctx, item_key, value, shown)
        if _CONTROL.search(resolved):
            raise ctx.fail(item_key, "environment variable value holds a line break or control")
        if not resolved.isascii():
            raise ctx.fail(
                item_key, "environment variable value holds characters that are not ASCII"
            )
        headers.append((name, resolved))
        report[name] = REDACTED if sensitive else value
        if sensitive:
            ctx.secrets.add(resolved)
    return tuple(headers), report
