"""``[setup]`` and ``[teardown]``: steps run once, before the load and after it.

```toml
[setup]
[[setup.steps]]
method = "POST"
path = "/api/tenants"
capture = { tenant = "json:$.id" }

[teardown]
[[teardown.steps]]
method = "DELETE"
path = "/api/tenants/{tenant}"
```

A step is a request table (``vars``, ``checks`` and ``capture`` included; no ``weight``,
``once`` or ``strict``: any failure fails the setup). What the setup captures is every
user's, read-only: ``{tenant}`` may be used by any request, flow step or teardown step;
a flow may not capture a value of the same name. A setup step may use what an earlier
one captured; a teardown step, the setup's values and what an earlier teardown step
captured. Setup and teardown steps are not endpoints: their requests are not measured.
"""

from __future__ import annotations

from typing import Any

from .captures import parse_capture_table
from .checks import Context
from .messages import join, show
from .model import StepSpec
from .request_table import REQUEST_KEYS, parse_request

__all__ = ["parse_setup"]

_STEP_KEYS = (*(k for k in REQUEST_KEYS if k not in ("weight", "tags")), "capture")


def parse_setup(
    ctx: Context,
    key: str,
    raw: Any,
    global_headers: tuple[tuple[str, str], ...],
    known: frozenset[str] = frozenset(),
) -> tuple[tuple[StepSpec, ...], list[dict[str, Any]]]:
    """The steps of ``[setup]`` (``key`` "setup") or ``[teardown]``, and their report
    form. ``known``: the values its steps may use besides their own captures."""
    if raw is None:
        return (), []
    table = ctx.table(key, raw, f"a table ([{key}]) of [[{key}.steps]]")
    ctx.check_keys(key, table, ("steps",))
    steps_raw = table.get("steps")
    if (
        not isinstance(steps_raw, list)
        or not steps_raw
        or not all(isinstance(s, dict) for s in steps_raw)
    ):
        raise ctx.expected(f"{key}.steps", f"one or more [[{key}.steps]] tables", steps_raw)
    has_global_type = any(name.lower() == "content-type" for name, _ in global_headers)
    captured: set[str] = set()
    steps: list[StepSpec] = []
    reports: list[dict[str, Any]] = []
    for index, item in enumerate(steps_raw, start=1):
        step_key = join(f"{key}.steps", index)
        for word, why in (
            ("weight", "runs once"),
            ("once", "runs once already"),
            ("strict", "stops at its first failure"),
            ("tags", "always runs"),
        ):
            if word in item:
                raise ctx.fail(f"{step_key}.{word}", f"not used in [{key}] (it {why})")
        ctx.check_keys(step_key, item, _STEP_KEYS)
        captures = parse_capture_table(ctx, f"{step_key}.capture", item.get("capture"))
        for c in captures:
            if c.name in known:
                raise ctx.fail(
                    f"{step_key}.capture.{c.name}",
                    f"{show(c.name)} is captured by [setup] already (its values are read-only)",
                )
        request_part = {k: v for k, v in item.items() if k != "capture"}
        spec, report = parse_request(
            ctx,
            step_key,
            request_part,
            has_global_type,
            known=frozenset(captured) | known,
            step=True,
            unknown_hint=f"not captured by an earlier step of [{key}], not in vars",
        )
        captured.update(c.name for c in captures)
        steps.append(StepSpec(request=spec, captures=captures))
        reports.append(
            {
                "name": spec.name,
                "method": spec.method,
                "path": report["path"],
                "headers": dict(report["headers"]),
                "body": report["body"],
                "capture": {c.name: c.text for c in captures},
            }
        )
    return tuple(steps), reports
