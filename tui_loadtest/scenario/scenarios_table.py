"""``[[scenarios]]``: several workloads in one run, each with its own load model.

Each entry names what it runs from the file's ``[[requests]]`` and ``[[flows]]`` (or
gives a script of its own), and has the load keys of ``[load]`` (closed users, stages,
an arrival rate) plus ``start``, ``iterations`` and ``iterations_per_user``. The run's
length stays in ``[load]`` (``run_time``) and bounds every scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .checks import Context, text
from .load_table import PART_LOAD_KEYS, parse_part_load
from .messages import did_you_mean, join, show
from .model import FlowSpec, RequestSpec, ScenarioPart, ScriptSpec
from .script_file import load_script
from .tags import TAG, parse_tags

__all__ = ["PART_KEYS", "parse_parts"]

PART_KEYS = ("name", "requests", "flows", "script", "tags", *PART_LOAD_KEYS)


def parse_parts(
    ctx: Context,
    raw: Any,
    requests: tuple[RequestSpec, ...],
    flows: tuple[FlowSpec, ...],
) -> tuple[ScenarioPart, ...]:
    """Every ``[[scenarios]]`` entry, its requests and flows taken from the file's by name."""
    if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
        raise ctx.expected("scenarios", "one or more [[scenarios]] tables", raw)
    by_request = {r.name: r for r in requests}
    by_flow = {f.name: f for f in flows}
    parts: list[ScenarioPart] = []
    names: set[str] = set()
    for index, item in enumerate(raw, start=1):
        key = join("scenarios", index)
        for name in ("run_time", "warmup"):
            if name in item:
                raise ctx.fail(
                    join(key, name),
                    "set it in [load]: the run's length bounds every scenario (a scenario's "
                    "own ends with its stages or its iterations; start delays it)",
                )
        ctx.check_keys(key, item, PART_KEYS)
        if "name" not in item:
            raise ctx.fail(key, 'missing key "name" (rows are grouped under it)')
        name = text(ctx, f"{key}.name", item["name"])
        if not TAG.fullmatch(name):
            raise ctx.expected(f"{key}.name", "a name of letters, digits, _ and -", name)
        if name in names:
            raise ctx.fail(f"{key}.name", f"duplicate scenario name {show(name)}")
        names.add(name)
        load = parse_part_load(ctx, item, key)
        chosen_requests = tuple(
            by_request[n] for n in _names(ctx, key, item, "requests", "request", by_request)
        )
        chosen_flows = tuple(by_flow[n] for n in _names(ctx, key, item, "flows", "flow", by_flow))
        script = _script(ctx, key, item)
        if script is None and not chosen_requests and not chosen_flows:
            raise ctx.fail(
                key,
                "runs nothing: give requests = [...] or flows = [...] (names from the file's "
                '[[requests]] and [[flows]]), or script = "users.py"',
            )
        tags = parse_tags(ctx, f"{key}.tags", item.get("tags"))
        parts.append(
            ScenarioPart(
                name=name,
                load=load,
                requests=chosen_requests,
                flows=chosen_flows,
                script=script,
                tags=tags,
            )
        )
    return tuple(parts)


def _names(
    ctx: Context, key: str, item: Mapping[str, Any], field: str, what: str, known: Mapping[str, Any]
) -> list[str]:
    """``requests = ["GET /a", ...]``: names of the file's tables, each once."""
    raw = item.get(field)
    if raw is None:
        return []
    where = f"{key}.{field}"
    if not isinstance(raw, list) or not raw:
        raise ctx.expected(where, f'a list of {what} names, like ["{_example(known, what)}"]', raw)
    seen: list[str] = []
    for i, name in enumerate(raw, start=1):
        if not isinstance(name, str):
            raise ctx.expected(join(where, i), f"the name of a [[{field}]] table", name)
        if name not in known:
            guess = did_you_mean(name, known)
            hint = (
                f"did you mean {show(guess)}?"
                if guess
                else f"[[{field}]] names: " + (", ".join(show(n) for n in known) or "none")
            )
            raise ctx.fail(join(where, i), f"no {what} named {show(name)} ({hint})")
        if name in seen:
            raise ctx.fail(join(where, i), f"{show(name)} is named twice")
        seen.append(name)
    return seen


def _example(known: Mapping[str, Any], what: str) -> str:
    return next(iter(known), f"my {what}")


def _script(ctx: Context, key: str, item: Mapping[str, Any]) -> ScriptSpec | None:
    """``script = "users.py"``: the scenario's users run a Python script instead."""
    if "script" not in item:
        return None
    value = item["script"]
    if not isinstance(value, str) or not value.strip():
        raise ctx.expected(f"{key}.script", 'a Python file, like "users.py"', value)
    for other in ("requests", "flows"):
        if other in item:
            raise ctx.fail(
                f"{key}.script", f"cannot be combined with {other} (the script makes the requests)"
            )
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(ctx.source).parent / path
    spec = load_script(value, path, f"{ctx.source}: {key}.script")
    hooks = [name for name in (spec.setup, spec.teardown) if name is not None]
    if hooks:
        raise ctx.fail(
            f"{key}.script",
            f"{show(hooks[0])}: @setup and @teardown run once per run, not per scenario "
            "(use [setup] and [teardown] in the scenario file)",
        )
    return spec
