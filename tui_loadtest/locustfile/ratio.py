"""``--show-task-ratio`` and ``--show-task-ratio-json``: how often each user class, and
each task within it, runs, printed the way ``locust --show-task-ratio`` prints it."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .tasks import is_task_set


def class_counts(classes: list[type], users: int | None) -> dict[str, int]:
    """Users per class for ``users`` users: each ``fixed_count``, the rest by weight
    (without a user count, the weights themselves)."""
    fixed = sum(c.fixed_count for c in classes if c.fixed_count)  # type: ignore[attr-defined]
    weights = sum(c.weight for c in classes if not c.fixed_count)  # type: ignore[attr-defined]
    total = users or (weights if not fixed else 1)
    left = max(0, total - fixed)
    counts = {}
    for c in classes:
        share = c.fixed_count or (c.weight / weights * left if weights else 0)  # type: ignore[attr-defined]
        counts[c.__name__] = round(share)
    return counts


def ratios(classes: list[type], users: int | None, total: bool) -> dict[str, Any]:
    """Each class's share of users, and its tasks' shares (of the class, or of the whole
    run with ``total``), task sets nested."""
    counts = class_counts(classes, users)
    all_users = sum(counts.values()) or 1
    out: dict[str, Any] = {}
    for c in classes:
        share = counts.get(c.__name__, 0) / all_users
        out[c.__name__] = {"ratio": share, "tasks": _tasks(c.tasks, share if total else 1.0, total)}  # type: ignore[attr-defined]
    return out


def _tasks(tasks: list[Any], parent: float, total: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if not tasks:
        return found
    for task, n in Counter(tasks).items():
        share = n * parent / len(tasks)
        entry: dict[str, Any] = {"ratio": share}
        if is_task_set(task):
            entry["tasks"] = _tasks(task.tasks, share if total else 1.0, total)
        found[getattr(task, "__name__", str(task))] = entry
    return found


def ratio_lines(tree: dict[str, Any], depth: int = 0) -> list[str]:
    lines = []
    pad = "  " * depth
    for name, entry in tree.items():
        percent = f"{entry.get('ratio', 1) * 100:<6.1f}"
        lines.append(f" {pad + percent:<10} {pad + name:<50}".rstrip())
        if "tasks" in entry:
            lines += ratio_lines(entry["tasks"], depth + 1)
    return lines


def task_ratio_text(classes: list[type], users: int | None) -> str:
    rule = "-" * 80
    return "\n".join(
        [
            "",
            " Task ratio per User class",
            rule,
            *ratio_lines(ratios(classes, users, False)),
            "",
            " Total task ratio",
            rule,
            *ratio_lines(ratios(classes, users, True)),
        ]
    )


def task_ratio_json(classes: list[type], users: int | None) -> str:
    return json.dumps(
        {"per_class": ratios(classes, users, False), "total": ratios(classes, users, True)},
        indent=4,
    )
