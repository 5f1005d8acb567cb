"""How a comparison row reads: its figures, its change and one line naming it.

The comparison itself (:mod:`tui_loadtest.compare`) returns numbers and
verdicts only; every text view (the terminal table, HTML, the dashboard's
compare screen, the gate lines) formats them here, so they read the same.
"""

from __future__ import annotations

from ..compare import INCONCLUSIVE, OVERALL, Comparison, Row
from .formatting import fmt_ms, fmt_pct, fmt_rate


def unit(metric: str) -> str:
    return " ms" if metric.endswith("_ms") else ""


def fmt_value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric == "error_rate":
        return fmt_pct(value)
    if metric == "rps":
        return fmt_rate(value)
    return fmt_ms(value)


def fmt_delta(row: Row) -> str:
    """The absolute change with its sign, in the metric's unit."""
    if row.delta is None:
        return "—"
    sign = "+" if row.delta > 0 else "-" if row.delta < 0 else "±"
    if row.metric == "error_rate":
        return f"{sign}{abs(row.delta) * 100:.2f} pp"
    return f"{sign}{fmt_value(row.metric, abs(row.delta))}"


def fmt_change(row: Row) -> str:
    """The relative change: +30.9%, -4.1%, ±0.0%, or "new" when the baseline was 0."""
    if row.delta is None:
        return "—"
    if row.pct is None:
        return "±0.0%" if row.delta == 0 else "new"
    sign = "+" if row.pct > 0 else "-" if row.pct < 0 else "±"
    return f"{sign}{abs(row.pct) * 100:.1f}%"


def verdict_line(c: Comparison) -> str:
    """The table's verdict as every view states it: ``inconclusive: the load generator
    was disturbed (current run: loop lag P95 1.04 ms, load average 2.2 on 2 CPUs)`` when
    rows that moved were left undecided for that (compare/disturbance.py)."""
    if c.verdict == INCONCLUSIVE and c.disturbed:
        return f"{INCONCLUSIVE}: {DISTURBED} ({c.disturbed})"
    return c.verdict


DISTURBED = "the load generator was disturbed"


def describe(row: Row) -> str:
    """``overall P95 48.2 -> 63.1 ms (+30.9%)``: one line naming the row and its change."""
    where = "overall" if row.scope == OVERALL else row.scope
    return f"{where} {row.label} {fmt_value(row.metric, row.a)} -> " + (
        f"{fmt_value(row.metric, row.b)}{unit(row.metric)} ({fmt_change(row)})"
    )
