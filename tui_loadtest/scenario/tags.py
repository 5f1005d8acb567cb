"""Tags (``tags = ["checkout"]`` on a scenario, a request, a flow or a step): what
``--tags`` and ``--exclude-tags`` choose to run (Locust's flags), and what thresholds
and reports group endpoints by.

An endpoint's tags are the scenario's, its flow's and its own. ``--tags a b`` keeps
what has at least one of them; ``--exclude-tags c`` then drops what has any of those.
A flow keeps the steps chosen (none: the flow goes); a kept step that needs a value
only a dropped step captures is an error, as is a choice that leaves nothing to run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..errors import ScenarioError
from .checks import Context
from .messages import join, show
from .model import PLACEHOLDER, FlowSpec, RequestSpec, Scenario
from .redact import threshold_dicts

__all__ = ["TAG", "parse_tags", "select_tags"]

TAG = re.compile(r"[A-Za-z0-9_-]+")


def parse_tags(ctx: Context, key: str, raw: Any) -> tuple[str, ...]:
    """``tags = ["checkout", "slow"]``: names of letters, digits, ``_`` and ``-``."""
    if raw is None:
        return ()
    what = 'a list of tags, like ["checkout", "slow"] (letters, digits, _ and -)'
    if not isinstance(raw, list):
        raise ctx.expected(key, what, raw)
    for index, tag in enumerate(raw, start=1):
        if not isinstance(tag, str) or not TAG.fullmatch(tag):
            raise ctx.expected(join(key, index), "a tag of letters, digits, _ and -", tag)
    return tuple(dict.fromkeys(raw))


def select_tags(
    scenario: Scenario, tags: Sequence[str] | None, exclude: Sequence[str] | None
) -> tuple[Scenario, list[str]]:
    """The scenario with only what ``--tags`` and ``--exclude-tags`` choose, and notes on
    what went with it (thresholds on endpoints, checks or tags left out)."""
    if tags is None and not exclude:
        return scenario, []
    if scenario.script is not None:
        raise ScenarioError("--tags/--exclude-tags: a script's tasks have no tags yet")
    if scenario.parts:
        raise ScenarioError(
            "--tags/--exclude-tags: not yet for a file with [[scenarios]] (each scenario "
            "names what it runs)"
        )
    wanted = set(tags) if tags is not None else None
    dropped = set(exclude or ())
    for flag, names in (("--tags", wanted or set()), ("--exclude-tags", dropped)):
        for name in names:
            if not TAG.fullmatch(name):
                raise ScenarioError(
                    f'{flag}: expected tags of letters, digits, _ and -, got "{name}"'
                )

    def chosen(own: Sequence[str]) -> bool:
        every = set(own)
        return (wanted is None or bool(every & wanted)) and not every & dropped

    requests = tuple(r for r in scenario.requests if chosen((*scenario.tags, *r.tags)))
    flows: list[FlowSpec] = []
    kept_steps: list[list[int]] = []
    for flow in scenario.flows:
        keep = [
            i
            for i, step in enumerate(flow.steps)
            if chosen((*scenario.tags, *flow.tags, *step.request.tags))
        ]
        if not keep or all(flow.steps[i].once for i in keep):
            continue
        _check_values(flow, keep, scenario)
        flows.append(replace(flow, steps=tuple(flow.steps[i] for i in keep)))
        kept_steps.append(keep)
    if not requests and not flows:
        every = sorted({t for names in scenario.endpoint_tags.values() for t in names})
        known = ", ".join(every) if every else "none"
        raise ScenarioError(
            f"{_flags(tags, exclude)}: nothing left to run (the scenario's tags: {known})"
        )
    chosen_sc = replace(scenario, requests=requests, flows=tuple(flows))
    names = {name for _, name in chosen_sc.endpoints}
    checks = {name for _, name, _ in chosen_sc.check_rows}
    tag_names = {t for tt in chosen_sc.endpoint_tags.values() for t in tt}
    thresholds = []
    notes = []
    for t in scenario.thresholds:
        gone = (
            (t.endpoint is not None and t.endpoint not in names)
            or (t.check is not None and t.check not in checks)
            or (t.metric == "checks" and not checks)
            or (t.tag is not None and t.tag not in tag_names)
        )
        if gone:
            flags = _flags(tags, exclude)
            notes.append(f"{flags}: threshold {t.key} left out (nothing it measures runs)")
        else:
            thresholds.append(t)
    chosen_sc = replace(chosen_sc, thresholds=tuple(thresholds))
    redacted = _redacted(scenario, chosen_sc, kept_steps, tags, exclude)
    return replace(chosen_sc, redacted=redacted), notes


def _flags(tags: Sequence[str] | None, exclude: Sequence[str] | None) -> str:
    parts = []
    if tags is not None:
        parts.append("--tags " + " ".join(tags))
    if exclude:
        parts.append("--exclude-tags " + " ".join(exclude))
    return " ".join(parts)


def _check_values(flow: FlowSpec, keep: list[int], scenario: Scenario) -> None:
    """A kept step's ``{name}`` captured only by a dropped step of its flow: an error."""
    columns = {c for d in scenario.data for c in d.columns}
    captured_by: dict[str, list[int]] = {}
    for i, step in enumerate(flow.steps):
        for c in step.captures:
            captured_by.setdefault(c.name, []).append(i)
    kept = set(keep)
    for i in keep:
        step = flow.steps[i]
        for name in sorted(_used(step.request) - {n for n, _ in step.request.vars} - columns):
            sources = captured_by.get(name, [])
            if sources and not any(j in kept and j < i for j in sources):
                by = flow.steps[sources[0]].name
                raise ScenarioError(
                    f"flow {show(flow.name)}: step {show(step.name)} needs {{{name}}}, captured"
                    f" by step {show(by)}, which the tags leave out (tag that step too)"
                )


def _used(spec: RequestSpec) -> set[str]:
    used = set(PLACEHOLDER.findall(spec.path))
    used |= {n for _, v in spec.headers for n in PLACEHOLDER.findall(v)}
    if spec.body is not None:
        used |= set(PLACEHOLDER.findall(spec.body.decode("utf-8", "replace")))
    return used


def _redacted(
    before: Scenario,
    after: Scenario,
    kept_steps: list[list[int]],
    tags: Sequence[str] | None,
    exclude: Sequence[str] | None,
) -> dict[str, Any]:
    """The report's scenario with what was chosen: requests and flows (index-aligned with
    the file's), thresholds, the tags of each endpoint, and the flags."""
    red = dict(before.redacted)
    if "requests" in red:
        kept = {id(r) for r in after.requests}
        red["requests"] = [
            rep for r, rep in zip(before.requests, red["requests"], strict=True) if id(r) in kept
        ]
    if "flows" in red:
        by_name = {f["name"]: f for f in red["flows"]}
        red["flows"] = [
            {**by_name[f.name], "steps": [by_name[f.name]["steps"][i] for i in keep]}
            for f, keep in zip(after.flows, kept_steps, strict=True)
        ]
    red["thresholds"] = threshold_dicts(after.thresholds)
    red["endpoint_tags"] = {name: list(t) for name, t in after.endpoint_tags.items() if t}
    red["selected_tags"] = {
        "tags": list(tags) if tags is not None else None,
        "exclude_tags": list(exclude or ()),
    }
    return red
