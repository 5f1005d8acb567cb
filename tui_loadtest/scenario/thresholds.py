"""CI gates: the ``[thresholds]`` table, run-wide and per endpoint."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .checks import Context, is_number, positive_number
from .messages import did_you_mean, join, show
from .model import RUN_ONLY_METRICS, THRESHOLD_METRICS, Threshold

ENDPOINT_METRICS = tuple(m for m in THRESHOLD_METRICS if m not in RUN_ONLY_METRICS)
_RATE = re.compile(r"\s*rate\s*(>=|>)\s*(\d+(?:\.\d*)?|\.\d+)\s*")
_RATE_HINT = 'a pass rate like "rate > 0.99" or "rate >= 0.999"'


def parse_thresholds(
    ctx: Context,
    raw: Any,
    request_names: list[str],
    *,
    iterations: bool = True,
    check_names: list[str] | None = None,
    tag_names: list[str] | None = None,
    scenario_names: list[str] | None = None,
) -> tuple[Threshold, ...]:
    """``iterations``: the scenario has flows or a script (``iteration_failure_rate``
    has something to measure); ``check_names``: the names of the scenario's checks
    (None: any name, a script names its checks as it runs); ``tag_names``: its tags;
    ``scenario_names``: its ``[[scenarios]]``."""
    table = ctx.table("thresholds", raw, "a table ([thresholds])")
    found: list[Threshold] = []
    for name, value in table.items():
        key = join("thresholds", name)
        if name == "iteration_failure_rate" and not iterations:
            raise ctx.fail(key, "needs [[flows]] or a script (plain requests make no iterations)")
        if name in THRESHOLD_METRICS:
            found.append(_threshold(ctx, key, name, value, None))
        elif name == "tags":
            groups = ctx.table(key, value, "a table of tags, like { checkout = { p95_ms = 500 } }")
            for tag, metrics in groups.items():
                found += _tag_thresholds(ctx, join(key, tag), tag, metrics, tag_names)
        elif name.startswith("tags."):
            found += _tag_thresholds(ctx, key, name.removeprefix("tags."), value, tag_names)
        elif name == "scenarios":
            groups = ctx.table(
                key, value, "a table of scenarios, like { browse = { p95_ms = 500 } }"
            )
            for part, metrics in groups.items():
                found += _part_thresholds(ctx, join(key, part), part, metrics, scenario_names)
        elif name.startswith("scenarios."):
            part = name.removeprefix("scenarios.")
            found += _part_thresholds(ctx, key, part, value, scenario_names)
        elif name == "checks" and isinstance(value, dict):
            for check, rate in value.items():
                found.append(_check_threshold(ctx, join(key, check), check, rate, check_names))
        elif name == "checks":
            found.append(_check_threshold(ctx, key, None, value, check_names))
        elif name.startswith("checks."):
            check = name.removeprefix("checks.")
            found.append(_check_threshold(ctx, key, check, value, check_names))
        elif name == "endpoints":
            endpoints = ctx.table(key, value, 'a table of request names, like { "GET /" = {...} }')
            for endpoint, metrics in endpoints.items():
                found += _endpoint_thresholds(
                    ctx, join(key, endpoint), endpoint, metrics, request_names
                )
        elif name.startswith("endpoints."):
            endpoint = name.removeprefix("endpoints.")
            found += _endpoint_thresholds(ctx, key, endpoint, value, request_names)
        else:
            choices = [
                *THRESHOLD_METRICS,
                "checks",
                *(f"endpoints.{n}" for n in request_names),
                *(f"tags.{t}" for t in tag_names or ()),
                *(f"scenarios.{n}" for n in scenario_names or ()),
            ]
            guess = did_you_mean(name, choices)
            hint = (
                f'did you mean "{guess}"?'
                if guess
                else "known keys: " + ", ".join(THRESHOLD_METRICS) + ', checks, "endpoints.<name>"'
            )
            raise ctx.fail(key, f"unknown key ({hint})")
    seen: set[str] = set()
    for threshold in found:
        if threshold.key in seen:
            raise ctx.fail(join("thresholds", threshold.key), "set twice")
        seen.add(threshold.key)
    return tuple(found)


def _endpoint_thresholds(
    ctx: Context, key: str, endpoint: str, raw: Any, request_names: list[str]
) -> list[Threshold]:
    if endpoint not in request_names:
        guess = did_you_mean(endpoint, request_names)
        hint = (
            f"did you mean {show(guess)}?"
            if guess
            else "request names: " + ", ".join(show(n) for n in request_names)
        )
        raise ctx.fail(key, f"no request named {show(endpoint)} ({hint})")
    metrics = ctx.table(key, raw, "a table of metrics, like { p99_ms = 800 }")
    for metric in metrics:
        if metric in RUN_ONLY_METRICS:
            raise ctx.fail(
                join(key, metric),
                "is for the whole run: iterations belong to flows and script tasks,"
                " not to an endpoint (set it under [thresholds])",
            )
    ctx.check_keys(key, metrics, ENDPOINT_METRICS)
    return [
        _threshold(ctx, join(key, metric), metric, value, endpoint)
        for metric, value in metrics.items()
    ]


def _threshold(ctx: Context, key: str, metric: str, value: Any, endpoint: str | None) -> Threshold:
    if metric in ("error_rate", "iteration_failure_rate"):
        if not is_number(value) or not 0 <= value <= 1:
            raise ctx.expected(key, "a fraction between 0 and 1 (0.01 means 1%)", value)
    elif metric == "rps_min":
        positive_number(ctx, key, value, "a positive number of requests per second")
    else:
        positive_number(ctx, key, value, "a positive number of milliseconds")
    return Threshold(metric=metric, limit=float(value), endpoint=endpoint)


def _check_threshold(
    ctx: Context, key: str, check: str | None, value: Any, names: list[str] | None
) -> Threshold:
    """``checks = "rate > 0.99"`` (every check) or one check's, by name."""
    if names is not None and not names:
        raise ctx.fail(key, "the scenario has no checks (add checks = [...] to a request or step)")
    if check is not None and names is not None and check not in names:
        guess = did_you_mean(check, names)
        hint = (
            f"did you mean {show(guess)}?"
            if guess
            else "checks: " + ", ".join(show(n) for n in names[:10])
        )
        raise ctx.fail(key, f"no check named {show(check)} ({hint})")
    m = _RATE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ctx.expected(key, _RATE_HINT, value)
    limit = float(m.group(2))
    if limit > 1:
        raise ctx.expected(key, f"{_RATE_HINT} (a fraction between 0 and 1)", value)
    return Threshold(metric="checks", limit=limit, check=check, strict=m.group(1) == ">")


def _tag_thresholds(
    ctx: Context, key: str, tag: str, raw: Any, tags: list[str] | None
) -> list[Threshold]:
    """``"tags.checkout".p95_ms = 500``: the endpoints tagged ``checkout``, together."""
    known = tags or []
    if tag not in known:
        guess = did_you_mean(tag, known)
        hint = (
            f"did you mean {show(guess)}?"
            if guess
            else "tags: " + (", ".join(show(t) for t in known) if known else "none")
        )
        raise ctx.fail(key, f"no endpoint is tagged {show(tag)} ({hint})")
    metrics = ctx.table(key, raw, "a table of metrics, like { p95_ms = 500 }")
    for metric in metrics:
        if metric in RUN_ONLY_METRICS:
            raise ctx.fail(join(key, metric), "is for the whole run (set it under [thresholds])")
    ctx.check_keys(key, metrics, ENDPOINT_METRICS)
    return [
        replace(_threshold(ctx, join(key, metric), metric, value, None), tag=tag)
        for metric, value in metrics.items()
    ]


def _part_thresholds(
    ctx: Context, key: str, part: str, raw: Any, names: list[str] | None
) -> list[Threshold]:
    """``[thresholds.scenarios.checkout] p95_ms = 500``: one ``[[scenarios]]``'s rows
    together (its ``iteration_failure_rate``: its flows' or script tasks' iterations)."""
    known = names or []
    if part not in known:
        guess = did_you_mean(part, known)
        hint = (
            f"did you mean {show(guess)}?"
            if guess
            else "[[scenarios]]: " + (", ".join(show(n) for n in known) if known else "none")
        )
        raise ctx.fail(key, f"no scenario named {show(part)} ({hint})")
    metrics = ctx.table(key, raw, "a table of metrics, like { p95_ms = 500 }")
    ctx.check_keys(key, metrics, THRESHOLD_METRICS)
    return [
        replace(_threshold(ctx, join(key, metric), metric, value, None), scenario=part)
        for metric, value in metrics.items()
    ]
