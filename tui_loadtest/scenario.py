"""Scenario files: the TOML format, its data model and a strict loader.

Everything a run needs (target, load shape, HTTP options, weighted requests,
CI thresholds) lives in one TOML file whose key names follow Locust where
Locust has one (``users``, ``spawn_rate``, ``run_time``). The loader is
deliberately strict: unknown keys, wrong types and impossible combinations
are reported as one line naming the file, the dotted key and what was
expected, because a silently ignored typo in a load test wastes a whole run.

This is a core module: it must not import textual.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from .durations import parse_duration, parse_think_time
from .errors import ScenarioError

__all__ = [
    "ARRIVALS",
    "DEFAULT_MAX_USERS",
    "MODES",
    "THRESHOLD_METRICS",
    "TRANSPORTS",
    "HttpSpec",
    "LoadSpec",
    "RequestSpec",
    "Scenario",
    "Stage",
    "Threshold",
    "apply_overrides",
    "is_sensitive_header",
    "load_builtin_demo",
    "load_scenario",
    "normalize_host",
    "parse_scenario",
    "single_url_scenario",
]

MODES = ("users", "arrival-rate")
ARRIVALS = ("even", "poisson")
TRANSPORTS = ("fast", "httpx")
# Arrival-rate mode opens a new request on schedule whether or not earlier ones
# finished; against a stalled server that would grow without bound. 1000 in
# flight is far above what a healthy target at a few thousand req/s needs and
# still well below typical file-descriptor limits.
DEFAULT_MAX_USERS = 1000
THRESHOLD_METRICS = (
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "mean_ms",
    "error_rate",
    "rps_min",
)
REDACTED = "<redacted>"

_SENSITIVE_NAMES = frozenset({"authorization", "proxy-authorization", "cookie"})
_SENSITIVE_WORDS = ("token", "key", "secret", "password", "auth", "cookie", "session")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_DEMO_RESOURCE = ("demo", "scenarios", "demo.toml")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class RequestSpec:
    """One weighted request of the mix; ``name`` labels its row in every table."""

    name: str
    method: str
    path: str
    weight: float = 1.0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str | None = None
    vars: tuple[tuple[str, tuple[str, ...]], ...] = ()
    expect_status: frozenset[int] | None = None
    json_body: bool = False  # body came from ``json``: filled values get JSON-escaped

    def is_success(self, status: int) -> bool:
        """True if ``status`` counts as a success (default: any status below 400)."""
        if self.expect_status is not None:
            return status in self.expect_status
        return 100 <= status < 400

    def render(self, rng: random.Random | None = None) -> tuple[str, bytes | None]:
        """Return ``(path, body)`` with every ``{var}`` filled with a random choice.

        One value is drawn per var and used everywhere it appears, so a path
        and a body that both mention ``{id}`` agree. Requests without vars
        return their fixed path and body without any work.
        """
        if not self.vars:
            return self.path, self.body
        choice = (rng or random).choice
        return self.fill({name: choice(options) for name, options in self.vars})

    def fill(self, values: Mapping[str, str]) -> tuple[str, bytes | None]:
        """Return ``(path, body)`` with each ``{var}`` replaced by ``values[var]``."""
        path = _fill(self.path, values)
        if self.body is None:
            return path, None
        if self.json_body:
            values = {name: json.dumps(value)[1:-1] for name, value in values.items()}
        return path, _fill(self.body.decode(), values).encode()


@dataclass(frozen=True)
class Stage:
    """Ramp linearly from the previous stage's target (0 at the start) to ``target``."""

    duration_s: float
    target: float


@dataclass(frozen=True)
class LoadSpec:
    """The load shape.

    ``users`` mode (closed model): ``users`` virtual users loop request, think,
    request; throughput follows the server's latency. ``arrival-rate`` mode
    (open model): ``rate`` requests/s start on schedule regardless of latency,
    at most ``max_users`` in flight. With ``stages`` the level starts at 0,
    ramps linearly through each target and holds the last one if ``run_time``
    is longer than the stages; ``users``/``spawn_rate``/``rate`` are unused then.
    The run ends at ``run_time`` or after ``requests`` requests, whichever
    comes first; with neither (and no stages) it runs until interrupted.
    """

    mode: str = "users"
    users: int = 10
    spawn_rate: float | None = None
    run_time_s: float | None = None
    requests: int | None = None
    think_time: tuple[float, float] = (0.0, 0.0)
    rate: float | None = None
    max_users: int = DEFAULT_MAX_USERS
    arrival: str = "even"
    stages: tuple[Stage, ...] = ()

    @property
    def effective_spawn_rate(self) -> float:
        """Users started per second; unset means all users within about a second."""
        return float(self.spawn_rate) if self.spawn_rate is not None else float(self.users)

    @property
    def is_open(self) -> bool:
        """True for the open (arrival-rate) model."""
        return self.mode == "arrival-rate"

    @property
    def total_stage_time(self) -> float:
        """Seconds covered by all stages (0 without stages)."""
        return sum(stage.duration_s for stage in self.stages)

    @property
    def duration_s(self) -> float | None:
        """Planned run length: ``run_time``, else the stages' total, else None (no limit)."""
        if self.run_time_s is not None:
            return self.run_time_s
        if self.stages:
            return self.total_stage_time
        return None

    def level_at(self, elapsed_s: float) -> float:
        """Target users (closed) or req/s (open) at ``elapsed_s`` seconds into the run.

        Spawning towards the target at ``spawn_rate`` is left to the engine.
        """
        if not self.stages:
            return float(self.rate or 0.0) if self.is_open else float(self.users)
        start_level, start_time = 0.0, 0.0
        for stage in self.stages:
            end_time = start_time + stage.duration_s
            if elapsed_s < end_time:
                fraction = max(0.0, elapsed_s - start_time) / stage.duration_s
                return start_level + (stage.target - start_level) * fraction
            start_level, start_time = stage.target, end_time
        return start_level

    @property
    def peak_level(self) -> float:
        """Highest target users (closed) or req/s (open) the run will reach."""
        if self.stages:
            return max(stage.target for stage in self.stages)
        return self.level_at(0.0)


@dataclass(frozen=True)
class HttpSpec:
    """Client options; ``headers`` are sent with every request (after ${VAR} substitution)."""

    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    keepalive: bool = True
    verify_tls: bool = True
    follow_redirects: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    transport: str = "fast"
    http2: bool = False


@dataclass(frozen=True)
class Threshold:
    """A CI gate: a metric must stay at or below ``limit`` (``rps_min``: at or above)."""

    metric: str
    limit: float
    endpoint: str | None = None

    @property
    def is_lower_bound(self) -> bool:
        """True when the measured value must reach the limit (throughput floors)."""
        return self.metric == "rps_min"

    @property
    def key(self) -> str:
        """The threshold as written in the file, e.g. ``endpoints.GET /x.p99_ms``."""
        prefix = f"endpoints.{self.endpoint}." if self.endpoint is not None else ""
        return prefix + self.metric

    @property
    def label(self) -> str:
        """Human-readable gate, e.g. ``p95_ms <= 500`` or ``rps_min >= 100``."""
        operator = ">=" if self.is_lower_bound else "<="
        return f"{self.key} {operator} {_number_text(self.limit)}"

    def passes(self, value: float) -> bool:
        """True if the measured ``value`` satisfies the gate (limits are inclusive)."""
        return value >= self.limit if self.is_lower_bound else value <= self.limit


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario. ``host`` None means the embedded demo target.

    ``redacted`` is a JSON-able copy for reports: header values keep their
    ``${VAR}`` text (never the environment's value) and sensitive headers are
    replaced by ``<redacted>``.
    """

    name: str
    host: str | None
    load: LoadSpec
    http: HttpSpec
    requests: tuple[RequestSpec, ...]
    thresholds: tuple[Threshold, ...] = ()
    source: str | None = None
    redacted: dict[str, Any] = field(compare=False, default_factory=dict, repr=False)

    @property
    def is_demo(self) -> bool:
        """True when the run targets the embedded demo server."""
        return self.host is None


def is_sensitive_header(name: str) -> bool:
    """True for headers whose values must never reach a report or a log."""
    lowered = name.lower()
    return lowered in _SENSITIVE_NAMES or any(word in lowered for word in _SENSITIVE_WORDS)


def _fill(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _number_text(value: float) -> str:
    """500.0 -> "500", 0.01 -> "0.01": limits read the way they were written."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---------------------------------------------------------------- error formatting


def _show(value: Any, limit: int = 60) -> str:
    """Render a value the way it would look in TOML, shortened for one-line errors."""
    text = _toml_text(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _toml_text(value: Any) -> str:
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
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_text(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_key_part(k)} = {_toml_text(v)}" for k, v in value.items())
        return "{ " + items + " }"
    return repr(value)


def _key_part(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _join(parent: str, child: str | int) -> str:
    """Dotted key for messages; list indexes are 1-based like the tables in the file."""
    if isinstance(child, int):
        return f"{parent}[{child}]"
    part = _key_part(child)
    return f"{parent}.{part}" if parent else part


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    choices = list(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


class _Context:
    """Carries the file name and environment through the parse; builds the messages."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env

    def fail(self, key: str, message: str) -> ScenarioError:
        where = f"{self.source}: {key}" if key else self.source
        return ScenarioError(f"{where}: {message}")

    def expected(self, key: str, what: str, value: Any) -> ScenarioError:
        return self.fail(key, f"expected {what}, got {_show(value)}")

    def check_keys(self, key: str, table: Mapping[str, Any], allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for name in table:
            if name in allowed:
                continue
            guess = _did_you_mean(name, allowed)
            hint = f'did you mean "{guess}"?' if guess else "known keys: " + ", ".join(allowed)
            raise self.fail(_join(key, name), f"unknown key ({hint})")

    def table(self, key: str, value: Any, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.expected(key, what, value)
        return value


# ------------------------------------------------------------------ value checks


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(ctx: _Context, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ctx.expected(key, "a positive integer", value)
    return value


def _positive_number(ctx: _Context, key: str, value: Any, what: str = "a positive number") -> float:
    if not _is_number(value) or value <= 0:
        raise ctx.expected(key, what, value)
    return float(value)


def _bool(ctx: _Context, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ctx.expected(key, "true or false", value)
    return value


def _choice(ctx: _Context, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        options = " or ".join(f'"{choice}"' for choice in choices)
        raise ctx.expected(key, options, value)
    return value


def _duration(ctx: _Context, key: str, value: Any) -> float:
    """A strictly positive duration: a zero timeout or run time is always a mistake."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ctx.expected(key, str(exc).removeprefix("expected "), value) from None
    if seconds <= 0:
        raise ctx.expected(key, "a duration greater than 0", value)
    return seconds


def _text(ctx: _Context, key: str, value: Any, what: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.expected(key, what, value)
    return value


# ------------------------------------------------------------------------- host


def normalize_host(text: str | None) -> str | None:
    """Return ``scheme://host[:port]`` without a trailing slash, or None for the demo.

    "demo", "" and None select the embedded demo target. Paths belong in
    ``[[requests]]`` and credentials in headers, so a host holding either is
    rejected rather than half-used. Raises ``ValueError("expected ...")``.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError('expected "demo" or a URL like "http://127.0.0.1:5000"')
    stripped = text.strip()
    if stripped == "" or stripped.lower() == "demo":
        return None
    return _split_url(stripped, allow_path=False)[0]


def _split_url(text: str, *, allow_path: bool) -> tuple[str, str]:
    """Split an absolute http(s) URL into ``(origin, path_and_query)``."""
    example = "http://127.0.0.1:5000/api/health" if allow_path else "http://127.0.0.1:5000"
    if "://" not in text:
        raise ValueError(f'expected a URL starting with http:// or https:// (like "http://{text}")')
    if _SPACE_OR_CONTROL.search(text):
        raise ValueError(f'expected a URL without spaces (percent-encode them), like "{example}"')
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f'expected a URL starting with http:// or https://, like "{example}"')
    if "@" in parts.netloc:
        raise ValueError("expected a URL without user:password@ (send credentials in a header)")
    if not parts.hostname:
        raise ValueError(f'expected a URL with a host name, like "{example}"')
    try:
        parts.port  # noqa: B018 - validates the port (range and digits)
    except ValueError:
        raise ValueError(f'expected a port number between 0 and 65535, like "{example}"') from None
    if parts.netloc.endswith(":"):
        raise ValueError(f'expected a port number after ":", like "{example}"')
    origin = f"{scheme}://{parts.netloc}"
    if not allow_path:
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                'expected a URL without a path, like "http://127.0.0.1:5000" '
                "(put paths in [[requests]])"
            )
        return origin, ""
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return origin, path


# ------------------------------------------------------------------------ headers


def _substitute_env(ctx: _Context, key: str, template: str, shown: Any) -> str:
    """Replace each ``${NAME}`` with the environment's value; a missing one is an error."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ctx.env:
            raise ctx.fail(key, f"environment variable {name} is not set")
        return ctx.env[name]

    if "${" in _ENV_REF.sub("", template):
        raise ctx.expected(key, "${NAME} with NAME made of letters, digits and _", shown)
    return _ENV_REF.sub(lookup, template)


def _parse_headers(
    ctx: _Context, key: str, raw: Any
) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """Return the substituted headers and their report form (templates, redacted)."""
    table = ctx.table(key, raw, 'a table of header names to values, like { Accept = "text/plain" }')
    headers: list[tuple[str, str]] = []
    report: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in table.items():
        item_key = _join(key, name)
        if not _TOKEN.fullmatch(name):
            raise ctx.expected(item_key, "a header name made of letters, digits and -", name)
        if name.lower() in seen:
            raise ctx.fail(item_key, "duplicate header (header names ignore case)")
        seen.add(name.lower())
        if name.lower() in ("content-length", "transfer-encoding"):
            raise ctx.fail(item_key, "is set by the client from the body; remove it")
        sensitive = is_sensitive_header(name)
        shown = REDACTED if sensitive and isinstance(value, str) else value
        if _is_number(value):
            value = _number_text(value)
        if not isinstance(value, str):
            raise ctx.expected(item_key, "a string", shown)
        if _CONTROL.search(value):
            raise ctx.expected(item_key, "a value without line breaks or control characters", shown)
        resolved = _substitute_env(ctx, item_key, value, shown)
        if _CONTROL.search(resolved):
            raise ctx.fail(item_key, "environment variable value holds a line break or control")
        headers.append((name, resolved))
        report[name] = REDACTED if sensitive else value
    return tuple(headers), report


# --------------------------------------------------------------------------- load

_LOAD_KEYS = (
    "mode",
    "users",
    "spawn_rate",
    "run_time",
    "requests",
    "think_time",
    "rate",
    "max_users",
    "arrival",
    "stages",
)
_CLOSED_ONLY = ("users", "spawn_rate", "think_time")
_OPEN_ONLY = ("rate", "max_users", "arrival")


def _parse_load(ctx: _Context, raw: Any) -> LoadSpec:
    table = ctx.table("load", raw, "a table ([load])")
    ctx.check_keys("load", table, _LOAD_KEYS)
    mode = _choice(ctx, "load.mode", table.get("mode", "users"), MODES)
    is_open = mode == "arrival-rate"
    _check_mode_keys(ctx, table, is_open)
    stages = _parse_stages(ctx, table.get("stages"), is_open)
    if stages:
        for name in ("rate",) if is_open else ("users", "spawn_rate"):
            if name in table:
                what = "rate" if is_open else "users"
                raise ctx.fail(
                    f"load.{name}",
                    f"not used with [[load.stages]] (each stage's target sets the {what})",
                )
    elif is_open and "rate" not in table:
        raise ctx.fail("load.rate", 'required when mode = "arrival-rate" (or give [[load.stages]])')

    spec = LoadSpec(mode=mode, stages=stages)
    values: dict[str, Any] = {}
    if "users" in table:
        values["users"] = _positive_int(ctx, "load.users", table["users"])
    if "spawn_rate" in table:
        values["spawn_rate"] = _positive_number(ctx, "load.spawn_rate", table["spawn_rate"])
    if "run_time" in table:
        values["run_time_s"] = _duration(ctx, "load.run_time", table["run_time"])
    if "requests" in table:
        values["requests"] = _positive_int(ctx, "load.requests", table["requests"])
    if "think_time" in table:
        try:
            values["think_time"] = parse_think_time(table["think_time"])
        except ValueError as exc:
            raise ctx.expected(
                "load.think_time", str(exc).removeprefix("expected "), table["think_time"]
            ) from None
    if "rate" in table:
        values["rate"] = _positive_number(
            ctx, "load.rate", table["rate"], "a positive number of requests per second"
        )
    if "max_users" in table:
        values["max_users"] = _positive_int(ctx, "load.max_users", table["max_users"])
    if "arrival" in table:
        values["arrival"] = _choice(ctx, "load.arrival", table["arrival"], ARRIVALS)
    return replace(spec, **values)


def _check_mode_keys(ctx: _Context, table: Mapping[str, Any], is_open: bool) -> None:
    """Reject keys of the other load model: they would silently do nothing."""
    if is_open:
        for name in _CLOSED_ONLY:
            if name in table:
                raise ctx.fail(
                    f"load.{name}",
                    'only used with mode = "users" (in "arrival-rate" mode '
                    "rate, max_users and arrival set the load)",
                )
    else:
        for name in _OPEN_ONLY:
            if name in table:
                raise ctx.fail(
                    f"load.{name}",
                    'needs mode = "arrival-rate" (in "users" mode '
                    "users, spawn_rate and think_time set the load)",
                )


def _parse_stages(ctx: _Context, raw: Any, is_open: bool) -> tuple[Stage, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        raise ctx.expected("load.stages", "one or more [[load.stages]] tables", raw)
    stages = []
    for index, item in enumerate(raw, start=1):
        key = _join("load.stages", index)
        ctx.check_keys(key, item, ("duration", "target"))
        for name in ("duration", "target"):
            if name not in item:
                raise ctx.fail(key, f'missing key "{name}"')
        duration = _duration(ctx, f"{key}.duration", item["duration"])
        target = item["target"]
        if is_open:
            if not _is_number(target) or target < 0:
                raise ctx.expected(f"{key}.target", "a number of requests per second >= 0", target)
        elif isinstance(target, bool) or not isinstance(target, int) or target < 0:
            raise ctx.expected(f"{key}.target", "a whole number of users >= 0", target)
        stages.append(Stage(duration_s=duration, target=float(target)))
    return tuple(stages)


# --------------------------------------------------------------------------- http

_HTTP_KEYS = (
    "timeout",
    "connect_timeout",
    "keepalive",
    "verify_tls",
    "follow_redirects",
    "transport",
    "http2",
    "headers",
)


def _parse_http(ctx: _Context, raw: Any) -> tuple[HttpSpec, dict[str, str]]:
    table = ctx.table("http", raw, "a table ([http])")
    ctx.check_keys("http", table, _HTTP_KEYS)
    values: dict[str, Any] = {}
    if "timeout" in table:
        values["timeout_s"] = _duration(ctx, "http.timeout", table["timeout"])
    if "connect_timeout" in table:
        values["connect_timeout_s"] = _duration(
            ctx, "http.connect_timeout", table["connect_timeout"]
        )
    for name in ("keepalive", "verify_tls", "follow_redirects", "http2"):
        if name in table:
            values[name] = _bool(ctx, f"http.{name}", table[name])
    transport = _choice(ctx, "http.transport", table.get("transport", "fast"), TRANSPORTS)
    if values.get("http2") and transport != "httpx":
        raise ctx.fail(
            "http.http2",
            'needs http.transport = "httpx" (the "fast" transport speaks HTTP/1.1 only)',
        )
    if values.get("follow_redirects") and transport != "httpx":
        raise ctx.fail(
            "http.follow_redirects",
            'needs http.transport = "httpx" (the "fast" transport reports redirects as they come)',
        )
    headers, report = _parse_headers(ctx, "http.headers", table.get("headers"))
    return HttpSpec(transport=transport, headers=headers, **values), report


# ------------------------------------------------------------------------ requests

_REQUEST_KEYS = (
    "name",
    "method",
    "path",
    "weight",
    "json",
    "body",
    "headers",
    "vars",
    "expect_status",
)


def _parse_requests(
    ctx: _Context, raw: Any, global_headers: tuple[tuple[str, str], ...]
) -> tuple[tuple[RequestSpec, ...], list[dict[str, str]]]:
    if raw is None or raw == []:
        raise ctx.fail("requests", "expected at least one [[requests]] table")
    if not isinstance(raw, list):
        raise ctx.expected("requests", "one or more [[requests]] tables", raw)
    requests: list[RequestSpec] = []
    reports: list[dict[str, str]] = []
    names: set[str] = set()
    has_global_type = any(name.lower() == "content-type" for name, _ in global_headers)
    for index, item in enumerate(raw, start=1):
        key = _join("requests", index)
        if not isinstance(item, dict):
            raise ctx.expected(key, "a [[requests]] table", item)
        spec, report = _parse_request(ctx, key, item, has_global_type)
        if spec.name in names:
            raise ctx.fail(
                f"{key}.name",
                f"duplicate name {_show(spec.name)} (names label the tables and must be unique)",
            )
        names.add(spec.name)
        requests.append(spec)
        reports.append(report)
    return tuple(requests), reports


def _parse_request(
    ctx: _Context, key: str, item: dict[str, Any], has_global_type: bool
) -> tuple[RequestSpec, dict[str, str]]:
    for name in item:
        if name in THRESHOLD_METRICS or name.startswith("endpoints."):
            # A threshold written below [[requests]] without a [thresholds] header.
            raise ctx.fail(
                _join(key, name), "unknown key (thresholds belong under a [thresholds] header)"
            )
    ctx.check_keys(key, item, _REQUEST_KEYS)
    if "path" not in item:
        raise ctx.fail(key, 'missing key "path" (like path = "/api/health")')
    path = _parse_path(ctx, f"{key}.path", item["path"])
    method = item.get("method", "GET")
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise ctx.expected(f"{key}.method", 'an HTTP method like "GET" or "POST"', method)
    method = method.upper()
    name = _text(ctx, f"{key}.name", item.get("name", f"{method} {path}"))
    weight = _positive_number(ctx, f"{key}.weight", item.get("weight", 1))
    headers, report = _parse_headers(ctx, f"{key}.headers", item.get("headers"))
    body, json_body = _parse_body(ctx, key, item)
    content_type = None
    has_type = has_global_type or any(n.lower() == "content-type" for n, _ in headers)
    if json_body and not has_type:
        content_type = "application/json"
    variables = _parse_vars(ctx, key, item.get("vars"), path, body)
    expect = _parse_expect_status(ctx, f"{key}.expect_status", item.get("expect_status"))
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
    )
    return spec, report


def _parse_path(ctx: _Context, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ctx.expected(key, 'a string starting with "/"', value)
    if _SPACE_OR_CONTROL.search(value):
        raise ctx.expected(
            key, "a path without spaces or control characters (percent-encode them)", value
        )
    if re.search(r"[{}]", _PLACEHOLDER.sub("", value)):
        raise ctx.expected(key, "placeholders like {id} (letters, digits and _)", value)
    return value


def _parse_body(ctx: _Context, key: str, item: Mapping[str, Any]) -> tuple[bytes | None, bool]:
    if "json" in item and "body" in item:
        raise ctx.fail(f"{key}.body", "cannot be combined with json (use one of them)")
    if "body" in item:
        body = item["body"]
        if not isinstance(body, str):
            raise ctx.expected(f"{key}.body", "a string (use json = ... for structured data)", body)
        return body.encode(), False
    if "json" in item:
        try:
            text = json.dumps(
                item["json"], separators=(",", ":"), allow_nan=False, default=_json_default
            )
        except ValueError:
            raise ctx.expected(
                f"{key}.json", "JSON-compatible values (no nan or inf)", item["json"]
            ) from None
        return text.encode(), True
    return None, False


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {value!r}")


def _parse_vars(
    ctx: _Context, key: str, raw: Any, path: str, body: bytes | None
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    table = ctx.table(f"{key}.vars", raw, 'a table of lists, like { id = ["a1", "a2"] }')
    body_names = set(_PLACEHOLDER.findall(body.decode())) if body is not None else set()
    path_names = _PLACEHOLDER.findall(path)
    for name in path_names:
        if name not in table:
            raise ctx.fail(
                f"{key}.path",
                f'placeholder {{{name}}} has no values (add vars = {{ {name} = ["..."] }})',
            )
    result = []
    for name, values in table.items():
        var_key = _join(f"{key}.vars", name)
        if name not in path_names and name not in body_names:
            raise ctx.fail(var_key, f"not used as {{{name}}} in path or body")
        what = 'a non-empty list of strings, like ["a1", "a2"]'
        if not isinstance(values, list) or not values:
            raise ctx.expected(var_key, what, values)
        options = []
        for index, value in enumerate(values, start=1):
            options.append(_var_value(ctx, _join(var_key, index), value, name in path_names))
        result.append((name, tuple(options)))
    return tuple(result)


def _var_value(ctx: _Context, key: str, value: Any, in_path: bool) -> str:
    if _is_number(value):
        return _number_text(value) if isinstance(value, int) else repr(value)
    if not isinstance(value, str) or not value:
        raise ctx.expected(key, "a non-empty string or a number", value)
    if in_path and _SPACE_OR_CONTROL.search(value):
        raise ctx.expected(
            key, "a value without spaces (it goes into the path; percent-encode them)", value
        )
    return value


def _parse_expect_status(ctx: _Context, key: str, raw: Any) -> frozenset[int] | None:
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


# ----------------------------------------------------------------------- thresholds


def _parse_thresholds(ctx: _Context, raw: Any, request_names: list[str]) -> tuple[Threshold, ...]:
    table = ctx.table("thresholds", raw, "a table ([thresholds])")
    found: list[Threshold] = []
    for name, value in table.items():
        key = _join("thresholds", name)
        if name in THRESHOLD_METRICS:
            found.append(_threshold(ctx, key, name, value, None))
        elif name == "endpoints":
            endpoints = ctx.table(key, value, 'a table of request names, like { "GET /" = {...} }')
            for endpoint, metrics in endpoints.items():
                found += _endpoint_thresholds(
                    ctx, _join(key, endpoint), endpoint, metrics, request_names
                )
        elif name.startswith("endpoints."):
            endpoint = name.removeprefix("endpoints.")
            found += _endpoint_thresholds(ctx, key, endpoint, value, request_names)
        else:
            choices = [*THRESHOLD_METRICS, *(f"endpoints.{n}" for n in request_names)]
            guess = _did_you_mean(name, choices)
            hint = (
                f'did you mean "{guess}"?'
                if guess
                else "known keys: " + ", ".join(THRESHOLD_METRICS) + ', "endpoints.<name>"'
            )
            raise ctx.fail(key, f"unknown key ({hint})")
    seen: set[str] = set()
    for threshold in found:
        if threshold.key in seen:
            raise ctx.fail(_join("thresholds", threshold.key), "set twice")
        seen.add(threshold.key)
    return tuple(found)


def _endpoint_thresholds(
    ctx: _Context, key: str, endpoint: str, raw: Any, request_names: list[str]
) -> list[Threshold]:
    if endpoint not in request_names:
        guess = _did_you_mean(endpoint, request_names)
        hint = (
            f"did you mean {_show(guess)}?"
            if guess
            else "request names: " + ", ".join(_show(n) for n in request_names)
        )
        raise ctx.fail(key, f"no request named {_show(endpoint)} ({hint})")
    metrics = ctx.table(key, raw, "a table of metrics, like { p99_ms = 800 }")
    ctx.check_keys(key, metrics, THRESHOLD_METRICS)
    return [
        _threshold(ctx, _join(key, metric), metric, value, endpoint)
        for metric, value in metrics.items()
    ]


def _threshold(ctx: _Context, key: str, metric: str, value: Any, endpoint: str | None) -> Threshold:
    if metric == "error_rate":
        if not _is_number(value) or not 0 <= value <= 1:
            raise ctx.expected(key, "a fraction between 0 and 1 (0.01 means 1%)", value)
    elif metric == "rps_min":
        _positive_number(ctx, key, value, "a positive number of requests per second")
    else:
        _positive_number(ctx, key, value, "a positive number of milliseconds")
    return Threshold(metric=metric, limit=float(value), endpoint=endpoint)


# -------------------------------------------------------------------- entry points

_TOP_KEYS = ("name", "host", "load", "http", "requests", "thresholds")


def parse_scenario(
    data: dict[str, Any], source: str, env: Mapping[str, str] | None = None
) -> Scenario:
    """Validate already-decoded TOML ``data``; ``source`` names the file in messages."""
    ctx = _Context(source, os.environ if env is None else env)
    if not isinstance(data, dict):
        raise ctx.expected("", "a TOML document", data)
    ctx.check_keys("", data, _TOP_KEYS)
    name = _text(ctx, "name", data.get("name", Path(source).stem or "scenario"))
    raw_host = data.get("host")
    if raw_host is not None and not isinstance(raw_host, str):
        raise ctx.expected("host", '"demo" or a URL like "http://127.0.0.1:5000"', raw_host)
    try:
        host = normalize_host(raw_host)
    except ValueError as exc:
        raise ctx.expected("host", str(exc).removeprefix("expected "), raw_host) from None
    load = _parse_load(ctx, data.get("load"))
    http, http_report = _parse_http(ctx, data.get("http"))
    requests, request_reports = _parse_requests(ctx, data.get("requests"), http.headers)
    thresholds = _parse_thresholds(ctx, data.get("thresholds"), [r.name for r in requests])
    scenario = Scenario(
        name=name,
        host=host,
        load=load,
        http=http,
        requests=requests,
        thresholds=thresholds,
        source=source,
    )
    redacted = _report_dict(scenario, http_report, request_reports)
    return replace(scenario, redacted=redacted)


def load_scenario(path: str | Path, env: Mapping[str, str] | None = None) -> Scenario:
    """Read and validate a scenario file; every problem is a one-line ScenarioError."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read scenario file: {exc.strerror or exc}") from None
    return _parse_bytes(raw, source, env)


def load_builtin_demo(env: Mapping[str, str] | None = None) -> Scenario:
    """The scenario ``tui-loadtest run`` uses when no file is given."""
    resource = files("tui_loadtest").joinpath(*_DEMO_RESOURCE)
    scenario = _parse_bytes(resource.read_bytes(), "demo.toml", env)
    redacted = {**scenario.redacted, "source": str(resource)}
    return replace(scenario, source=str(resource), redacted=redacted)


def _parse_bytes(raw: bytes, source: str, env: Mapping[str, str] | None) -> Scenario:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: invalid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: invalid TOML: {exc}") from None
    return parse_scenario(data, source, env)


def single_url_scenario(
    url: str,
    users: int,
    requests: int,
    *,
    method: str = "GET",
    http: HttpSpec | None = None,
    name: str | None = None,
) -> Scenario:
    """A one-request scenario for ``tui-loadtest bench URL N C`` (ab-style).

    ``users`` connections share ``requests`` requests, all started at once.
    Messages name the command's arguments: URL, N (requests), C (users).
    """
    try:
        if not isinstance(url, str):
            raise ValueError('expected a URL like "http://127.0.0.1:5000/api/health"')
        host, path = _split_url(url.strip(), allow_path=True)
    except ValueError as exc:
        raise ScenarioError(f"URL: {exc}, got {_show(url)}") from None
    count = _flag_int("N", requests)
    concurrency = _flag_int("C", users)
    verb = method.upper()
    request = RequestSpec(name=f"{verb} {path}", method=verb, path=path)
    load = LoadSpec(users=concurrency, spawn_rate=float(concurrency), requests=count)
    scenario = Scenario(
        name=name or f"bench {url}",
        host=host,
        load=load,
        http=http or HttpSpec(),
        requests=(request,),
        source=None,
    )
    http_report = {k: REDACTED if is_sensitive_header(k) else v for k, v in scenario.http.headers}
    return replace(scenario, redacted=_report_dict(scenario, http_report, [{}]))


# ---------------------------------------------------------------------- overrides


def _flag_error(flag: str, what: str, value: Any) -> ScenarioError:
    return ScenarioError(f'{flag}: expected {what}, got "{value}"')


def _flag_int(flag: str, value: Any) -> int:
    number: Any = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise _flag_error(flag, "a positive integer", value)
    return number


def _flag_number(flag: str, value: Any, what: str = "a positive number") -> float:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _flag_error(flag, what, value) from None
    if not _is_number(number) or number <= 0:
        raise _flag_error(flag, what, value)
    return float(number)


def _flag_duration(flag: str, value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise _flag_error(flag, str(exc).removeprefix("expected "), value) from None
    if seconds <= 0:
        raise _flag_error(flag, "a duration greater than 0", value)
    return seconds


def apply_overrides(
    sc: Scenario,
    *,
    users: int | str | None = None,
    spawn_rate: float | str | None = None,
    run_time: str | float | None = None,
    requests: int | str | None = None,
    host: str | None = None,
    rate: float | str | None = None,
    max_users: int | str | None = None,
) -> Scenario:
    """Return ``sc`` with command-line flags applied (None means "keep the file's value").

    - ``rate`` switches to arrival-rate mode with that constant rate.
    - ``users`` (or ``rate``) replaces the file's stages with a constant load;
      if the file had no run_time, the stages' total becomes the run time so
      the run still ends when the file said it would.
    - ``requests`` and ``run_time`` combine: the run stops at whichever comes
      first, so ``-n`` on a file with a run_time keeps that run_time.
    - Flags that do nothing in the resulting mode are errors (``--users`` with
      arrival-rate, ``--max-users`` with users mode), naming the flag.
    """
    new_users = _flag_int("--users", users) if users is not None else None
    new_spawn = _flag_number("--spawn-rate", spawn_rate) if spawn_rate is not None else None
    new_run_time = _flag_duration("--run-time", run_time) if run_time is not None else None
    new_requests = _flag_int("--requests", requests) if requests is not None else None
    new_rate = (
        _flag_number("--rate", rate, "a positive number of requests per second")
        if rate is not None
        else None
    )
    new_max = _flag_int("--max-users", max_users) if max_users is not None else None
    new_host = sc.host
    if host is not None:
        try:
            new_host = normalize_host(host)
        except ValueError as exc:
            raise _flag_error("--host", str(exc).removeprefix("expected "), host) from None

    load = sc.load
    if new_rate is not None:
        for flag, given in (("--users", new_users), ("--spawn-rate", new_spawn)):
            if given is not None:
                raise ScenarioError(
                    f"{flag}: not used with --rate (arrival-rate mode; cap connections "
                    "with --max-users)"
                )
        load = replace(
            _without_stages(load),
            mode="arrival-rate",
            rate=new_rate,
            spawn_rate=None,
            think_time=(0.0, 0.0),
        )
    if new_users is not None:
        if load.is_open:
            raise ScenarioError(
                '--users: only used in "users" mode; this scenario has mode = "arrival-rate" '
                "(use --rate and --max-users)"
            )
        load = replace(_without_stages(load), users=new_users)
    if new_spawn is not None:
        if load.is_open:
            raise ScenarioError(
                '--spawn-rate: only used in "users" mode; this scenario has mode = "arrival-rate"'
            )
        if load.stages:
            raise ScenarioError(
                "--spawn-rate: not used with the scenario's [[load.stages]] "
                "(add --users to replace them with a constant load)"
            )
        load = replace(load, spawn_rate=new_spawn)
    if new_max is not None:
        if not load.is_open:
            raise ScenarioError(
                '--max-users: needs mode = "arrival-rate" (set load.mode or pass --rate); '
                "use --users in users mode"
            )
        load = replace(load, max_users=new_max)
    if new_run_time is not None:
        load = replace(load, run_time_s=new_run_time)
    if new_requests is not None:
        load = replace(load, requests=new_requests)

    result = replace(sc, load=load, host=new_host)
    redacted = copy.deepcopy(sc.redacted)
    redacted["load"] = _load_dict(load)
    redacted["host"] = new_host
    flags = {
        "users": new_users,
        "spawn_rate": new_spawn,
        "run_time_s": new_run_time,
        "requests": new_requests,
        "host": None if host is None else (new_host or "demo"),
        "rate": new_rate,
        "max_users": new_max,
    }
    applied = {k: v for k, v in flags.items() if v is not None}
    if applied:
        redacted["overrides"] = {**redacted.get("overrides", {}), **applied}
    return replace(result, redacted=redacted)


def _without_stages(load: LoadSpec) -> LoadSpec:
    if not load.stages:
        return load
    run_time = load.run_time_s if load.run_time_s is not None else load.total_stage_time
    return replace(load, stages=(), run_time_s=run_time)


# ---------------------------------------------------------------------- reporting


def _load_dict(load: LoadSpec) -> dict[str, Any]:
    return {
        "mode": load.mode,
        "users": load.users,
        "spawn_rate": load.spawn_rate,
        "run_time_s": load.run_time_s,
        "requests": load.requests,
        "think_time": list(load.think_time),
        "rate": load.rate,
        "max_users": load.max_users,
        "arrival": load.arrival,
        "stages": [{"duration_s": s.duration_s, "target": s.target} for s in load.stages],
    }


def _report_dict(
    sc: Scenario, http_headers: dict[str, str], request_headers: list[dict[str, str]]
) -> dict[str, Any]:
    """The scenario as plain JSON data with header values as templates, secrets redacted."""
    http = sc.http
    return {
        "name": sc.name,
        "host": sc.host,
        "source": sc.source,
        "load": _load_dict(sc.load),
        "http": {
            "timeout_s": http.timeout_s,
            "connect_timeout_s": http.connect_timeout_s,
            "keepalive": http.keepalive,
            "verify_tls": http.verify_tls,
            "follow_redirects": http.follow_redirects,
            "headers": dict(http_headers),
            "transport": http.transport,
            "http2": http.http2,
        },
        "requests": [
            {
                "name": r.name,
                "method": r.method,
                "path": r.path,
                "weight": r.weight,
                "headers": dict(headers),
                "body": None if r.body is None else r.body.decode("utf-8", "replace"),
                "content_type": r.content_type,
                "vars": {name: list(values) for name, values in r.vars},
                "expect_status": None if r.expect_status is None else sorted(r.expect_status),
            }
            for r, headers in zip(sc.requests, request_headers, strict=True)
        ],
        "thresholds": [
            {"metric": t.metric, "limit": t.limit, "endpoint": t.endpoint, "label": t.label}
            for t in sc.thresholds
        ],
    }
