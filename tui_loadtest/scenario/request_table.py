"""The request mix: ``[[requests]]`` tables with their paths, bodies, vars and checks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from .captures import parse_capture
from .checks import Context, at_most, choice, duration, is_number, positive_number, text
from .env import substitute_env, substitute_env_in_json
from .headers import TOKEN, parse_headers
from .messages import join, number_text, show
from .model import (
    ENV_REF,
    MAX_ENDPOINTS,
    MAX_WEIGHT,
    PLACEHOLDER,
    STREAM_MODES,
    THRESHOLD_METRICS,
    CaptureSpec,
    RequestSpec,
)
from .redact import REDACTED, redact_query, secret_query_values, secret_vars
from .response_checks import parse_check_list
from .tags import parse_tags
from .urls import SPACE_OR_CONTROL

WEIGHT_LIMIT = "(weights are relative: 1 and 3 mean 25 % and 75 %)"
_ENV_IN_PATH = (
    "environment variable value holds spaces, control or non-ASCII characters "
    "(it goes into the path; percent-encode it)"
)
_ASCII_PATH = "a path in ASCII (percent-encode other characters: é is %C3%A9)"
REQUEST_KEYS = (
    "name",
    "method",
    "path",
    "weight",
    "json",
    "body",
    "headers",
    "vars",
    "expect_status",
    "checks",
    "tags",
    "stream",
    "tokens",
    "idle_timeout",
)


def parse_requests(
    ctx: Context,
    raw: Any,
    global_headers: tuple[tuple[str, str], ...],
    *,
    known: frozenset[str] = frozenset(),
    optional: bool = False,
    unknown_hint: str = "",
) -> tuple[tuple[RequestSpec, ...], list[dict[str, Any]]]:
    """The requests, and each one's report form (``redact.report_dict`` reads it).

    ``known``: placeholder names filled elsewhere (data columns); ``optional``: the
    scenario has flows or a script, so no request is needed."""
    if optional and raw is None:
        return (), []
    if raw is None or raw == []:
        raise ctx.fail("requests", "expected at least one [[requests]] table (or [[flows]])")
    if not isinstance(raw, list):
        raise ctx.expected("requests", "one or more [[requests]] tables", raw)
    if len(raw) > MAX_ENDPOINTS:
        raise ctx.fail(
            "requests",
            f"expected at most {MAX_ENDPOINTS} [[requests]] tables (the most one scenario "
            f"can hold), got {len(raw)}",
        )
    requests: list[RequestSpec] = []
    reports: list[dict[str, Any]] = []
    names: set[str] = set()
    has_global_type = any(name.lower() == "content-type" for name, _ in global_headers)
    for index, item in enumerate(raw, start=1):
        key = join("requests", index)
        if not isinstance(item, dict):
            raise ctx.expected(key, "a [[requests]] table", item)
        spec, report = parse_request(
            ctx, key, item, has_global_type, known=known, unknown_hint=unknown_hint
        )
        if spec.name in names:
            raise ctx.fail(
                f"{key}.name",
                f"duplicate name {show(spec.name)} (names label the tables and must be unique)",
            )
        names.add(spec.name)
        requests.append(spec)
        reports.append(report)
    return tuple(requests), reports


def parse_request(
    ctx: Context,
    key: str,
    item: dict[str, Any],
    has_global_type: bool,
    *,
    known: frozenset[str] = frozenset(),
    step: bool = False,
    unknown_hint: str = "",
) -> tuple[RequestSpec, dict[str, Any]]:
    """One request, checked as written (templates), then with ``${VAR}`` filled in.

    A flow step's request part too (``step=True``: no weight). Every ``{name}`` in
    the path, headers or body must be in the request's ``vars`` or in ``known``
    (data columns, values captured by earlier steps).
    """
    if step and "weight" in item:
        raise ctx.fail(
            join(key, "weight"), "a step has no weight (set weight on the [[flows]] table)"
        )
    for name in item:
        if name in THRESHOLD_METRICS or name.startswith("endpoints."):
            # A threshold written below [[requests]] without a [thresholds] header.
            raise ctx.fail(
                join(key, name), "unknown key (thresholds belong under a [thresholds] header)"
            )
    ctx.check_keys(key, item, REQUEST_KEYS)
    if "path" not in item:
        raise ctx.fail(key, 'missing key "path" (like path = "/api/health")')
    template = _parse_path(ctx, f"{key}.path", item["path"])
    method = item.get("method", "GET")
    if not isinstance(method, str) or not TOKEN.fullmatch(method):
        raise ctx.expected(f"{key}.method", 'an HTTP method like "GET" or "POST"', method)
    method = method.upper()
    name = text(ctx, f"{key}.name", item.get("name", f"{method} {redact_query(template)}"))
    weight = positive_number(ctx, f"{key}.weight", item.get("weight", 1))
    at_most(ctx, f"{key}.weight", weight, MAX_WEIGHT, WEIGHT_LIMIT)
    headers, header_report = parse_headers(ctx, f"{key}.headers", item.get("headers"))
    body, body_template, json_body = _parse_body(ctx, key, item)
    content_type = None
    has_type = has_global_type or any(n.lower() == "content-type" for n, _ in headers)
    if json_body and not has_type:
        content_type = "application/json"
    body_key = "body" if "body" in item else "json"
    variables, vars_report = _parse_vars(
        ctx,
        key,
        item.get("vars"),
        (template, body_template, body_key, headers),
        known,
        unknown_hint,
    )
    expect = _parse_expect_status(ctx, f"{key}.expect_status", item.get("expect_status"))
    checks = parse_check_list(
        ctx, f"{key}.checks", item.get("checks"), f"{'step' if step else 'request'} {show(name)}"
    )
    stream, tokens, idle = _parse_stream(ctx, key, item, method)
    path = _resolve_path(ctx, f"{key}.path", template)
    ctx.secrets.update(secret_query_values(template))
    spec = RequestSpec(
        name=name,
        method=method,
        path=path,
        weight=weight,
        headers=headers,
        body=body,
        content_type=content_type,
        vars=variables,
        expect_status=expect,
        json_body=json_body,
        checks=checks,
        tags=parse_tags(ctx, f"{key}.tags", item.get("tags")),
        stream=stream,
        tokens=tokens,
        idle_timeout_s=idle,
    )
    report = {
        "headers": header_report,
        "path": redact_query(template),
        "body": body_template,
        "vars": vars_report,
    }
    return spec, report


def _parse_stream(
    ctx: Context, key: str, item: Mapping[str, Any], method: str
) -> tuple[str | None, CaptureSpec | None, float | None]:
    """``stream``, ``tokens`` and ``idle_timeout``: the last two need the first."""
    raw = item.get("stream")
    stream = None if raw is None else choice(ctx, f"{key}.stream", raw, STREAM_MODES)
    for name in ("tokens", "idle_timeout"):
        if name in item and stream is None:
            raise ctx.fail(join(key, name), 'needs stream = "sse", "chunks" or "lines"')
    if stream is not None and method == "HEAD":
        raise ctx.fail(f"{key}.stream", "a HEAD response has no body to stream")
    tokens = None
    if "tokens" in item:
        tokens = parse_capture(ctx, f"{key}.tokens", "tokens", item["tokens"])
        if tokens.source not in ("json", "regex"):
            raise ctx.expected(f"{key}.tokens", '"json:$.path" or "regex:PATTERN"', item["tokens"])
    idle = (
        duration(ctx, f"{key}.idle_timeout", item["idle_timeout"])
        if "idle_timeout" in item
        else None
    )
    return stream, tokens, idle


def _parse_path(ctx: Context, key: str, value: Any) -> str:
    """The path as written: ``{var}`` placeholders and ``${VAR}`` references unfilled."""
    shown = redact_query(value) if isinstance(value, str) else value
    if not isinstance(value, str) or not value.startswith("/"):
        raise ctx.expected(key, 'a string starting with "/"', shown)
    if SPACE_OR_CONTROL.search(value):
        raise ctx.expected(
            key, "a path without spaces or control characters (percent-encode them)", shown
        )
    if not value.isascii():
        raise ctx.expected(key, _ASCII_PATH, shown)
    if re.search(r"[{}]", PLACEHOLDER.sub("", ENV_REF.sub("", value))):
        raise ctx.expected(key, "placeholders like {id} (letters, digits and _)", shown)
    return value


def _resolve_path(ctx: Context, key: str, template: str) -> str:
    path = substitute_env(ctx, key, template, redact_query(template))
    if path != template and not _fits_a_path(path):
        raise ctx.fail(key, _ENV_IN_PATH)
    return path


def _fits_a_path(text: str) -> bool:
    """Sendable in a request line as is: ASCII, no spaces or control characters."""
    return text.isascii() and not SPACE_OR_CONTROL.search(text)


def _parse_body(
    ctx: Context, key: str, item: Mapping[str, Any]
) -> tuple[bytes | None, str | None, bool]:
    """``(body to send, body as written, came from json)``; ``${VAR}`` filled in the first."""
    if "json" in item and "body" in item:
        raise ctx.fail(f"{key}.body", "cannot be combined with json (use one of them)")
    if "body" in item:
        body = item["body"]
        if not isinstance(body, str):
            raise ctx.expected(f"{key}.body", "a string (use json = ... for structured data)", body)
        return substitute_env(ctx, f"{key}.body", body, body).encode(), body, False
    if "json" in item:
        try:
            template = _json_text(item["json"])
        except ValueError:
            raise ctx.expected(
                f"{key}.json", "JSON-compatible values (no nan or inf)", item["json"]
            ) from None
        filled = substitute_env_in_json(ctx, f"{key}.json", item["json"])
        return _json_text(filled).encode(), template, True
    return None, None, False


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {value!r}")


def _parse_vars(
    ctx: Context,
    key: str,
    raw: Any,
    parts: tuple[str, str | None, str, tuple[tuple[str, str], ...]],
    known: frozenset[str],
    unknown_hint: str,
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], dict[str, list[str]]]:
    """The vars with ``${VAR}`` filled in, and their report form (as written; the
    literal values of a var that fills a credential-named query parameter redacted).

    ``parts``: the path and body as written, the body's key, and the headers. A
    ``{name}`` that neither the vars nor ``known`` fill is an error here."""
    path, body, body_key, headers = parts
    table = ctx.table(f"{key}.vars", raw, 'a table of lists, like { id = ["a1", "a2"] }')
    body_names = set(PLACEHOLDER.findall(body)) if body is not None else set()
    path_names = PLACEHOLDER.findall(path)
    header_names = {n for _, value in headers for n in PLACEHOLDER.findall(value)}
    hidden = secret_vars(path)
    for part, names in (
        ("path", path_names),
        ("headers", sorted(header_names)),
        (body_key, sorted(body_names)),
    ):
        for name in names:
            if name not in table and name not in known:
                hint = unknown_hint or f'add vars = {{ {name} = ["..."] }}'
                raise ctx.fail(f"{key}.{part}", f"placeholder {{{name}}} has no values ({hint})")
    result = []
    report: dict[str, list[str]] = {}
    for name, values in table.items():
        var_key = join(f"{key}.vars", name)
        if name not in path_names and name not in body_names and name not in header_names:
            raise ctx.fail(var_key, f"not used as {{{name}}} in path, headers or body")
        what = 'a non-empty list of strings, like ["a1", "a2"]'
        if not isinstance(values, list) or not values:
            raise ctx.expected(var_key, what, values)
        options, shown = [], []
        for index, value in enumerate(values, start=1):
            item_key = join(var_key, index)
            secret = name in hidden
            template = _var_value(ctx, item_key, value, name in path_names, secret)
            filled = substitute_env(ctx, item_key, template, REDACTED if secret else template)
            if name in path_names and filled != template and not _fits_a_path(filled):
                raise ctx.fail(item_key, _ENV_IN_PATH)
            if secret and not ENV_REF.fullmatch(template):
                ctx.secrets.add(template)
                template = REDACTED
            options.append(filled)
            shown.append(template)
        result.append((name, tuple(options)))
        report[name] = shown
    return tuple(result), report


def _var_value(ctx: Context, key: str, value: Any, in_path: bool, secret: bool) -> str:
    if is_number(value):
        return number_text(value) if isinstance(value, int) else repr(value)
    shown = REDACTED if secret and isinstance(value, str) else value
    if not isinstance(value, str) or not value:
        raise ctx.expected(key, "a non-empty string or a number", shown)
    if in_path and SPACE_OR_CONTROL.search(value):
        raise ctx.expected(
            key, "a value without spaces (it goes into the path; percent-encode them)", shown
        )
    if in_path and not value.isascii():
        raise ctx.expected(
            key, "a value in ASCII (it goes into the path; percent-encode others)", shown
        )
    return value


def _parse_expect_status(ctx: Context, key: str, raw: Any) -> frozenset[int] | None:
    if raw is None:
        return None
    values = [raw] if isinstance(raw, int) and not isinstance(raw, bool) else raw
    what = "a list of HTTP status codes (integers 100-599)"
    if not isinstance(values, list) or not values:
        raise ctx.expected(key, what, raw)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
            raise ctx.expected(key, what, raw)
    return frozenset(values)
