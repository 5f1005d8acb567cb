"""The ``[monitor]`` table: Prometheus endpoints to scrape while the load runs.

```toml
[monitor]
scrape = "http://127.0.0.1:9100/metrics"     # or a list; "/metrics": on the target
scrape_interval = "1s"                        # default 1 s
metrics = ["process_cpu_seconds_total", 'db_pool_in_use{pool="main"}']
```

Selectors are PromQL's: a metric name, then optional label matchers ``=``,
``!=``, ``=~`` and ``!~`` (regexes anchored, as in Prometheus). Everything is
checked here, so a typo fails at load with one line, not mid-run.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..durations import parse_duration
from .checks import Context
from .messages import join
from .model import (
    LABEL_OPS,
    MIN_SCRAPE_INTERVAL_S,
    LabelMatcher,
    MetricSelector,
    MonitorSpec,
)
from .redact import secret_query_values
from .urls import SPACE_OR_CONTROL, split_url

MONITOR_KEYS = ("scrape", "scrape_interval", "metrics")
MAX_SCRAPE_INTERVAL_S = 3600.0
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_MATCHER = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"((?:[^\"\\]|\\.)*)\"\s*(,|$)", re.DOTALL
)
SELECTOR_EXAMPLE = 'a metric name, like "db_pool_in_use" or \'http_requests_total{code="200"}\''


def parse_monitor(ctx: Context, raw: Any) -> MonitorSpec:
    table = ctx.table("monitor", raw, "a table ([monitor])")
    ctx.check_keys("monitor", table, MONITOR_KEYS)
    urls = _urls(ctx, table.get("scrape"))
    interval = 1.0
    if "scrape_interval" in table:
        interval = scrape_interval(ctx, "monitor.scrape_interval", table["scrape_interval"])
    metrics: tuple[MetricSelector, ...] = ()
    if "metrics" in table:
        value = table["metrics"]
        if not isinstance(value, list) or not value:
            raise ctx.expected("monitor.metrics", "a list of metric names", value)
        metrics = tuple(
            _selector(ctx, join("monitor.metrics", i), item)
            for i, item in enumerate(value, start=1)
        )
    if (metrics or "scrape_interval" in table) and not urls:
        raise ctx.fail(
            "monitor", 'metrics and scrape_interval need scrape = "URL" (what to scrape)'
        )
    return MonitorSpec(scrape=urls, scrape_interval_s=interval, metrics=metrics)


def scrape_interval(ctx: Context, key: str, value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ctx.expected(key, str(exc).removeprefix("expected "), value) from None
    if not MIN_SCRAPE_INTERVAL_S <= seconds <= MAX_SCRAPE_INTERVAL_S:
        raise ctx.expected(key, 'a duration between "100ms" and "1h"', value)
    return seconds


def check_scrape_url(url: Any) -> str:
    """A scrape URL (``ValueError("expected ...")`` otherwise): absolute http(s), any
    path; or a path alone ("/metrics"), on the run's target (the embedded demo too)."""
    if not isinstance(url, str):
        raise ValueError('expected a URL like "http://127.0.0.1:9100/metrics"')
    if url.startswith("/"):
        if SPACE_OR_CONTROL.search(url):
            raise ValueError('expected a path without spaces, like "/metrics"')
        return url
    origin, path = split_url(url.strip(), allow_path=True)
    if not urlsplit(url.strip()).path:
        path = "/metrics" + path.removeprefix("/")  # Prometheus's default metrics_path
    return origin + path


def _urls(ctx: Context, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        what = 'a URL or a list of URLs, like "http://127.0.0.1:9100/metrics"'
        raise ctx.expected("monitor.scrape", what, value)
    urls = []
    for i, item in enumerate(items, start=1):
        key = "monitor.scrape" if isinstance(value, str) else join("monitor.scrape", i)
        try:
            urls.append(check_scrape_url(item))
            ctx.secrets |= secret_query_values(urls[-1])
        except ValueError as exc:
            raise ctx.expected(key, str(exc).removeprefix("expected "), item) from None
    return tuple(dict.fromkeys(urls))


def parse_selector(text: Any) -> MetricSelector:
    """``name{label op "value", ...}`` to a selector; ``ValueError("expected ...")`` if bad."""
    if not isinstance(text, str):
        raise ValueError(f"expected {SELECTOR_EXAMPLE}")
    stripped = text.strip()
    name_match = _NAME.match(stripped)
    if name_match is None:
        raise ValueError(f"expected {SELECTOR_EXAMPLE}")
    rest = stripped[name_match.end() :].strip()
    matchers: list[LabelMatcher] = []
    if rest:
        if not (rest.startswith("{") and rest.endswith("}")):
            raise ValueError(f"expected {SELECTOR_EXAMPLE}")
        body, pos = rest[1:-1], 0
        while body[pos:].strip():
            m = _MATCHER.match(body, pos)
            if m is None:
                raise ValueError('expected label matchers like {code="200", path=~"/api/.*"}')
            label, op, value = m.group(1), m.group(2), _unescape(m.group(3))
            assert op in LABEL_OPS
            if op in ("=~", "!~"):
                try:
                    re.compile(value)
                except re.error as exc:
                    what = f"a valid regular expression for {label} ({exc})"
                    raise ValueError(f"expected {what}") from None
            matchers.append(LabelMatcher(label, op, value))
            pos = m.end()
    return MetricSelector(name_match.group(0), tuple(matchers), stripped)


def _selector(ctx: Context, key: str, value: Any) -> MetricSelector:
    try:
        return parse_selector(value)
    except ValueError as exc:
        raise ctx.expected(key, str(exc).removeprefix("expected "), value) from None


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)
