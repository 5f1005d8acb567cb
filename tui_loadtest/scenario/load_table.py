"""The load model: ``[load]``, and the same keys in each ``[[scenarios]]`` entry.

Which keys a model allows is decided first (closed users or an arrival rate), so that
each value's check judges only its value, and a key of the other model is refused
rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from ..durations import format_duration, parse_duration, parse_think_time
from .checks import (
    RATE_LIMIT,
    USERS_LIMIT,
    Check,
    Context,
    at_most,
    choice,
    duration,
    is_number,
    positive_int,
    request_rate,
    spawn_rate,
    user_count,
    warmup_problem,
)
from .messages import join
from .model import ARRIVALS, MAX_DURATION_S, MAX_RATE, MAX_USERS, MODES, LoadSpec, Stage

__all__ = ["LOAD_KEYS", "PART_LOAD_KEYS", "RUN_LENGTH_KEYS", "parse_load", "parse_part_load"]


def _think_time(ctx: Context, key: str, value: Any) -> tuple[float, float]:
    try:
        return parse_think_time(value)
    except ValueError as exc:
        raise ctx.expected(key, str(exc).removeprefix("expected "), value) from None


def _start(ctx: Context, key: str, value: Any) -> float:
    """A start offset from the run's start: a duration, 0 allowed (``"0s"``, ``"30s"``)."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ctx.expected(key, str(exc).removeprefix("expected "), value) from None
    if seconds < 0:
        raise ctx.expected(key, "a duration of 0 or more", value)
    if seconds > MAX_DURATION_S:
        raise ctx.expected(key, 'at most one year ("8760h")', value)
    return seconds


# Load values: (key, LoadSpec field, check), checked in this order.
_MODEL_VALUES: tuple[tuple[str, str, Check], ...] = (
    ("users", "users", user_count),
    ("spawn_rate", "spawn_rate", spawn_rate),
    ("think_time", "think_time", _think_time),
    ("rate", "rate", request_rate),
    ("max_users", "max_users", user_count),
    ("arrival", "arrival", partial(choice, choices=ARRIVALS)),
)
_RUN_VALUES: tuple[tuple[str, str, Check], ...] = (
    ("run_time", "run_time_s", duration),
    ("requests", "requests", positive_int),
    ("warmup", "warmup_s", duration),
)
_PART_VALUES: tuple[tuple[str, str, Check], ...] = (
    ("start", "start_s", _start),
    ("iterations", "iterations", positive_int),
    ("iterations_per_user", "iterations_per_user", positive_int),
)
LOAD_KEYS = ("mode", *(key for key, _, _ in (*_MODEL_VALUES, *_RUN_VALUES)), "stages")
# What [load] keeps in a file with [[scenarios]]: the run's length and its warm-up.
RUN_LENGTH_KEYS = ("run_time", "warmup")
# The load keys of a [[scenarios]] entry.
PART_LOAD_KEYS = ("mode", *(key for key, _, _ in (*_MODEL_VALUES, *_PART_VALUES)), "stages")
_CLOSED_ONLY = ("users", "spawn_rate", "think_time", "iterations_per_user")
_OPEN_ONLY = ("rate", "max_users", "arrival")


def parse_load(ctx: Context, raw: Any, *, parts: bool = False) -> LoadSpec:
    """``[load]``. With ``parts`` (the file has ``[[scenarios]]``) it holds only the run's
    length and warm-up: each scenario has its own load model."""
    table = ctx.table("load", raw, "a table ([load])")
    if parts:
        for name in table:
            if name not in RUN_LENGTH_KEYS and name in LOAD_KEYS:
                raise ctx.fail(
                    join("load", name),
                    "set it in each [[scenarios]] (with [[scenarios]], [load] holds only "
                    "run_time and warmup)",
                )
        ctx.check_keys("load", table, RUN_LENGTH_KEYS)
    else:
        ctx.check_keys("load", table, LOAD_KEYS)
    load = _load_model(ctx, table, "load", (*_MODEL_VALUES, *_RUN_VALUES), "users")
    problem = warmup_problem(load.warmup_s, load.duration_s)
    if problem:
        raise ctx.fail("load.warmup", problem)
    if load.warmup_s and load.duration_s is not None and load.warmup_s >= load.duration_s:
        raise ctx.fail(
            "load.warmup",
            f"expected less than the run's {format_duration(load.duration_s)} (the warm-up is "
            "the first part of run_time)",
        )
    return load


def parse_part_load(ctx: Context, table: Mapping[str, Any], key: str) -> LoadSpec:
    """The load model of one ``[[scenarios]]`` entry (``key``, e.g. ``scenarios[2]``): its
    other keys are the caller's. The model is an arrival rate when ``rate``,
    ``max_users`` or ``arrival`` is given (or ``mode = "arrival-rate"``), closed users
    otherwise. With stages, the scenario ends with its last stage."""
    open_keys = any(name in table for name in _OPEN_ONLY)
    load = _load_model(
        ctx, table, key, (*_MODEL_VALUES, *_PART_VALUES), "arrival-rate" if open_keys else "users"
    )
    if load.iterations_per_user is not None and load.stages:
        raise ctx.fail(
            join(key, "iterations_per_user"),
            "not with stages (each of a fixed number of users runs its iterations; "
            "use iterations for a budget shared by the stages' users)",
        )
    if load.iterations is not None and load.iterations_per_user is not None:
        raise ctx.fail(
            join(key, "iterations_per_user"),
            "give iterations (shared by the users) or iterations_per_user, not both",
        )
    if load.stages:  # it ends with its last stage (the run's length bounds it too)
        return replace(load, stop_after_s=load.start_s + load.total_stage_time)
    return load


def _load_model(
    ctx: Context,
    table: Mapping[str, Any],
    prefix: str,
    checks: tuple[tuple[str, str, Check], ...],
    default_mode: str,
) -> LoadSpec:
    mode = choice(ctx, join(prefix, "mode"), table.get("mode", default_mode), MODES)
    is_open = mode == "arrival-rate"
    _check_mode_keys(ctx, table, prefix, is_open)
    stages = _parse_stages(ctx, table.get("stages"), prefix, is_open)
    if stages:
        for name in ("rate",) if is_open else ("users", "spawn_rate"):
            if name in table:
                what = "rate" if is_open else "users"
                raise ctx.fail(
                    join(prefix, name),
                    f"not used with {_stages_key(prefix)} (each stage's target sets the {what})",
                )
    elif is_open and "rate" not in table:
        raise ctx.fail(
            join(prefix, "rate"),
            f'required when mode = "arrival-rate" (or give {_stages_key(prefix)})',
        )
    values = {
        attr: check(ctx, join(prefix, name), table[name])
        for name, attr, check in checks
        if name in table
    }
    return LoadSpec(mode=mode, stages=stages, **values)


def _stages_key(prefix: str) -> str:
    return "[[load.stages]]" if prefix == "load" else f"{prefix}.stages"


def _check_mode_keys(ctx: Context, table: Mapping[str, Any], prefix: str, is_open: bool) -> None:
    """Reject keys of the other load model: they would silently do nothing."""
    if is_open:
        for name in _CLOSED_ONLY:
            if name in table:
                raise ctx.fail(
                    join(prefix, name),
                    'only used with mode = "users" (in "arrival-rate" mode '
                    "rate, max_users and arrival set the load)",
                )
    else:
        for name in _OPEN_ONLY:
            if name in table:
                raise ctx.fail(
                    join(prefix, name),
                    'needs mode = "arrival-rate" (in "users" mode '
                    "users, spawn_rate and think_time set the load)",
                )


def _parse_stages(ctx: Context, raw: Any, prefix: str, is_open: bool) -> tuple[Stage, ...]:
    if raw is None:
        return ()
    stages_key = join(prefix, "stages")
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        what = (
            "one or more [[load.stages]] tables"
            if prefix == "load"
            else 'a list of stages, like [{ duration = "30s", target = 10 }]'
        )
        raise ctx.expected(stages_key, what, raw)
    stages = []
    for index, item in enumerate(raw, start=1):
        key = join(stages_key, index)
        ctx.check_keys(key, item, ("duration", "target"))
        for name in ("duration", "target"):
            if name not in item:
                raise ctx.fail(key, f'missing key "{name}"')
        seconds = duration(ctx, f"{key}.duration", item["duration"])
        target = item["target"]
        if is_open:
            if not is_number(target) or target < 0:
                raise ctx.expected(f"{key}.target", "a number of requests per second >= 0", target)
            at_most(ctx, f"{key}.target", target, MAX_RATE, RATE_LIMIT)
        else:
            if isinstance(target, bool) or not isinstance(target, int) or target < 0:
                raise ctx.expected(f"{key}.target", "a whole number of users >= 0", target)
            at_most(ctx, f"{key}.target", target, MAX_USERS, USERS_LIMIT)
        stages.append(Stage(duration_s=seconds, target=float(target)))
    total = sum(stage.duration_s for stage in stages)
    if total > MAX_DURATION_S:
        raise ctx.fail(
            stages_key,
            f'expected stages lasting at most one year in all ("8760h"), '
            f"got {format_duration(total)}",
        )
    return tuple(stages)
