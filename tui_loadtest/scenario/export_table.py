"""``[export]`` and the flags beside it: where the run's figures go while it runs.

```toml
[export]
prometheus = "127.0.0.1:9646"        # serve /metrics there during the run
prometheus_allow_remote = false      # true: another address than loopback is allowed
otlp = "http://127.0.0.1:4318"       # send OpenTelemetry metrics (the otel extra)
otlp_interval = "5s"
stream = "run.ndjson"                # one JSON line per complete second
run_id = "nightly-42"                # the run_id label (default: made up at the start)
```

The values are checked here (an address's form, a URL's scheme, an interval), so a
typo fails at load with one line; binding the port and opening the file happen in
``tui_loadtest.export``, still before any load.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ..durations import parse_duration
from ..errors import ScenarioError
from .checks import Context, boolean, text
from .messages import show
from .model import ExportSpec, Scenario

__all__ = ["EXPORT_KEYS", "parse_export", "with_export_flags"]

EXPORT_KEYS = ("prometheus", "prometheus_allow_remote", "otlp", "otlp_interval", "stream", "run_id")
MIN_OTLP_INTERVAL_S = 1.0
MAX_OTLP_INTERVAL_S = 3600.0
ADDRESS_HELP = 'HOST:PORT, like "127.0.0.1:9646" (or ":9646")'
_ADDRESS = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):\d{1,5}|\d{1,5}")
_RUN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
RUN_ID_HELP = "1 to 64 letters, digits, '_', '.', ':' or '-'"


def check_address(value: str) -> str:
    """A ``--prometheus`` address's form (ValueError otherwise); which addresses are
    allowed is the endpoint's check, with ``--prometheus-allow-remote`` known."""
    value = value.strip()
    if not _ADDRESS.fullmatch(value) or int(value.rpartition(":")[2].strip("]")) > 65535:
        raise ValueError(ADDRESS_HELP)
    return value


def check_otlp_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError('an http(s) URL, like "http://127.0.0.1:4318"')
    return value.strip()


def check_interval(value: Any) -> float:
    seconds = parse_duration(value)
    if not MIN_OTLP_INTERVAL_S <= seconds <= MAX_OTLP_INTERVAL_S:
        raise ValueError('a duration between "1s" and "1h"')
    return seconds


def check_run_id(value: str) -> str:
    if not _RUN_ID.fullmatch(value):
        raise ValueError(RUN_ID_HELP)
    return value


def parse_export(ctx: Context, raw: Any) -> ExportSpec:
    """The ``[export]`` table (absent: nothing goes out during the run)."""
    table = ctx.table("export", raw, "a table ([export])")
    ctx.check_keys("export", table, EXPORT_KEYS)
    spec = ExportSpec()
    checks: tuple[tuple[str, Any], ...] = (
        ("prometheus", check_address),
        ("otlp", check_otlp_url),
        ("otlp_interval", check_interval),
        ("run_id", check_run_id),
    )
    values: dict[str, Any] = {}
    for key, check in checks:
        if key in table:
            value = table[key]
            if key != "otlp_interval" and not isinstance(value, str):
                raise ctx.expected(f"export.{key}", "a string", value)
            try:
                values[key] = check(value)
            except ValueError as exc:
                raise ctx.expected(
                    f"export.{key}", str(exc).removeprefix("expected "), value
                ) from None
    if "stream" in table:
        values["stream"] = text(
            ctx, "export.stream", table["stream"], 'a file name, like "run.ndjson"'
        )
    allow = boolean(
        ctx, "export.prometheus_allow_remote", table.get("prometheus_allow_remote", False)
    )
    if "otlp_interval" in values and "otlp" not in values:
        raise ctx.fail("export.otlp_interval", 'needs otlp = "URL" (where to send)')
    return replace(
        spec,
        prometheus=values.get("prometheus"),
        prometheus_allow_remote=allow,
        otlp=values.get("otlp"),
        otlp_interval_s=values.get("otlp_interval", spec.otlp_interval_s),
        stream=values.get("stream"),
        run_id=values.get("run_id"),
    )


def with_export_flags(
    scenario: Scenario,
    *,
    prometheus: str | None = None,
    allow_remote: bool = False,
    otlp: str | None = None,
    otlp_interval: str | None = None,
    stream: str | None = None,
    run_id: str | None = None,
) -> Scenario:
    """The scenario's ``[export]`` with the flags applied (flags win)."""
    spec = scenario.export
    given: dict[str, tuple[str | None, Callable[[Any], Any], str]] = {
        "--prometheus": (prometheus, check_address, "prometheus"),
        "--otlp": (otlp, check_otlp_url, "otlp"),
        "--otlp-interval": (otlp_interval, check_interval, "otlp_interval_s"),
        "--run-id": (run_id, check_run_id, "run_id"),
    }
    for flag, (value, check, field_name) in given.items():
        if value is None:
            continue
        try:
            spec = replace(spec, **{field_name: check(value)})
        except ValueError as exc:
            raise ScenarioError(f"{flag}: expected {exc}, got {show(value)}") from None
    if stream is not None:
        if not stream.strip():
            raise ScenarioError("--stream: expected a file name, got an empty one")
        spec = replace(spec, stream=stream)
    if allow_remote:
        spec = replace(spec, prometheus_allow_remote=True)
    if otlp_interval is not None and spec.otlp is None:
        raise ScenarioError("--otlp-interval: needs --otlp URL (or otlp in [export])")
    return replace(scenario, export=spec)
