"""``[[flows]]``: user journeys, ordered steps whose responses feed later requests.

A step is a request table (no ``weight``: flows are weighted) plus ``once``,
``capture`` and ``strict``. Every ``{name}`` a step uses must be captured by an
earlier step of the same flow, be a column of a ``[[data]]`` file, or be in the
step's ``vars``; anything else fails the load, naming the step and the key.
"""

from __future__ import annotations

from typing import Any

from ..durations import parse_think_time
from .captures import parse_capture_table
from .checks import Context, at_most, boolean, positive_number, text
from .messages import join, show
from .model import MAX_WEIGHT, FlowSpec, StepSpec
from .redact import check_report, stream_dict
from .request_table import REQUEST_KEYS, WEIGHT_LIMIT, parse_request
from .tags import parse_tags

__all__ = ["parse_flows"]

_FLOW_KEYS = ("name", "weight", "think_time", "steps", "tags")
_STEP_ONLY_KEYS = ("once", "capture", "strict")
_STEP_KEYS = (*(k for k in REQUEST_KEYS if k != "weight"), *_STEP_ONLY_KEYS)


def parse_flows(
    ctx: Context,
    raw: Any,
    global_headers: tuple[tuple[str, str], ...],
    columns: frozenset[str],
    taken: dict[str, str],
    data_hint: str = "",
) -> tuple[tuple[FlowSpec, ...], list[dict[str, Any]]]:
    """Every ``[[flows]]`` table and its report form (templates only, never values).

    ``taken`` maps endpoint names already used (by ``[[requests]]``) to their method:
    steps may share a row with a request or another step of the same method and name.
    """
    if raw is None:
        return (), []
    if not isinstance(raw, list) or not raw or not all(isinstance(f, dict) for f in raw):
        raise ctx.expected("flows", "one or more [[flows]] tables", raw)
    has_global_type = any(name.lower() == "content-type" for name, _ in global_headers)
    flows: list[FlowSpec] = []
    reports: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, item in enumerate(raw, start=1):
        key = join("flows", index)
        ctx.check_keys(key, item, _FLOW_KEYS)
        name = text(ctx, f"{key}.name", item.get("name", f"flow {index}"))
        if name in names:
            raise ctx.fail(f"{key}.name", f"duplicate flow name {show(name)}")
        names.add(name)
        weight = positive_number(ctx, f"{key}.weight", item.get("weight", 1))
        at_most(ctx, f"{key}.weight", weight, MAX_WEIGHT, WEIGHT_LIMIT)
        think = None
        if "think_time" in item:
            try:
                think = parse_think_time(item["think_time"])
            except ValueError as exc:
                what = str(exc).removeprefix("expected ")
                raise ctx.expected(f"{key}.think_time", what, item["think_time"]) from None
        steps, step_reports = _parse_steps(
            ctx, key, item.get("steps"), has_global_type, (columns, data_hint), taken
        )
        tags = parse_tags(ctx, f"{key}.tags", item.get("tags"))
        flows.append(FlowSpec(name=name, steps=steps, weight=weight, think_time=think, tags=tags))
        reports.append(
            {
                "name": name,
                "weight": weight,
                "think_time": list(think) if think is not None else None,
                "steps": step_reports,
                **({"tags": list(tags)} if tags else {}),
            }
        )
    return tuple(flows), reports


def _parse_steps(
    ctx: Context,
    key: str,
    raw: Any,
    has_global_type: bool,
    data: tuple[frozenset[str], str],
    taken: dict[str, str],
) -> tuple[tuple[StepSpec, ...], list[dict[str, Any]]]:
    columns, data_hint = data
    steps_key = f"{key}.steps"
    if raw is None:
        raise ctx.fail(key, 'missing [[flows.steps]] (each step is a request, like path = "/")')
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        raise ctx.expected(steps_key, "one or more [[flows.steps]] tables", raw)
    captured: set[str] = set()
    steps: list[StepSpec] = []
    reports: list[dict[str, Any]] = []
    seen_regular = False
    for index, item in enumerate(raw, start=1):
        step_key = join(steps_key, index)
        if "weight" in item:
            raise ctx.fail(
                f"{step_key}.weight", "a step has no weight (set weight on the [[flows]] table)"
            )
        ctx.check_keys(step_key, item, _STEP_KEYS)
        once = boolean(ctx, f"{step_key}.once", item.get("once", False))
        if once and seen_regular:
            raise ctx.fail(
                f"{step_key}.once",
                "once steps run before the first iteration: list them before the other steps",
            )
        seen_regular = seen_regular or not once
        captures = parse_capture_table(ctx, f"{step_key}.capture", item.get("capture"))
        if "strict" in item and not captures:
            raise ctx.fail(
                f"{step_key}.strict", "only used with capture (it says what a failed capture does)"
            )
        strict = boolean(ctx, f"{step_key}.strict", item.get("strict", True))
        request_part = {k: v for k, v in item.items() if k not in _STEP_ONLY_KEYS}
        hint = (
            f"not captured by an earlier step{data_hint or ', not a [[data]] column'}, not in vars"
        )
        spec, report = parse_request(
            ctx,
            step_key,
            request_part,
            has_global_type,
            known=frozenset(captured) | columns,
            step=True,
            unknown_hint=hint,
        )
        if spec.stream is not None and captures:
            raise ctx.fail(
                f"{step_key}.capture",
                "a streamed answer is read as it arrives, not kept: nothing to capture from"
                " (capture in another step)",
            )
        method = taken.setdefault(spec.name, spec.method)
        if method != spec.method:
            raise ctx.fail(
                f"{step_key}.name",
                f"{show(spec.name)} already names a {method} request (a row has one method; "
                "give this step its own name)",
            )
        captured.update(c.name for c in captures)
        steps.append(StepSpec(request=spec, once=once, captures=captures, strict=strict))
        reports.append(
            {
                "name": spec.name,
                "method": spec.method,
                "path": report["path"],  # as written: templates, ${VAR} unfilled
                "headers": dict(report["headers"]),
                "body": report["body"],
                "content_type": spec.content_type,
                "vars": report["vars"],
                "expect_status": None if spec.expect_status is None else sorted(spec.expect_status),
                "once": once,
                "strict": strict,
                "capture": {c.name: c.text for c in captures},
                **({"checks": [check_report(c) for c in spec.checks]} if spec.checks else {}),
                **({"tags": list(spec.tags)} if spec.tags else {}),
                **stream_dict(spec),
            }
        )
    if all(s.once for s in steps):
        raise ctx.fail(steps_key, "every step is once = true (a flow needs a step to repeat)")
    return tuple(steps), reports
