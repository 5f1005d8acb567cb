"""Text for ``baselines compare`` and the end of a ``--compare-to`` run: the two runs
side by side, each row with its absolute and relative change and its verdict."""

from __future__ import annotations

from ..compare import NO_CHANGE, OVERALL, Comparison, Row
from ..compare.verdicts import CHECK_METHOD, LABELS
from .compare_format import DISTURBED, describe, fmt_change, fmt_delta, fmt_value, verdict_line
from .text import RULE, THIN


def _metric_title(metric: str) -> str:
    """The verdicts' own label, with the unit for latencies ("P95 (ms)", "TTFB P95 (ms)")."""
    label = LABELS.get(metric, metric)
    return f"{label} (ms)" if metric.endswith("_ms") else label


def verdict_text(row: Row) -> str:
    disturbed = "generator disturbed" if row.disturbed else ""
    if row.runs is not None and row.verdict is not None:  # over repeated runs (benchstat's ~)
        word = "~" if row.verdict == NO_CHANGE else row.verdict
        p = "" if row.p_value is None else f"p={row.p_value:.3f} "
        extra = f"; {disturbed}" if disturbed else ""
        return f"{word} ({p}n={row.runs[0]}+{row.runs[1]}{extra})"
    if row.verdict is not None:
        return f"{row.verdict} ({disturbed})" if disturbed else row.verdict
    if row.a is None:
        return "only in current"
    if row.b is None:
        return "only in baseline"
    return "not judged"


def _row_line(row: Row) -> str:
    return (
        f"{_metric_title(row.metric) if row.method != CHECK_METHOD else row.label:<12} "
        f"{fmt_value(row.metric, row.a):>12} "
        f"{fmt_value(row.metric, row.b):>12} {fmt_delta(row):>12} {fmt_change(row):>9}   "
        f"{verdict_text(row)}"
    )


def comparison_text(c: Comparison, baseline_desc: str = "", current_desc: str = "") -> str:
    header = (
        f"{'Metric':<12} {'Baseline':>12} {'Current':>12} {'Delta':>12} {'Change':>9}   Verdict"
    )
    lines = [
        RULE,
        "Baseline Comparison",
        RULE,
        f"Baseline: {c.baseline_name}" + (f"  ({baseline_desc})" if baseline_desc else ""),
        f"Current:  {c.current_name}" + (f"  ({current_desc})" if current_desc else ""),
        f"Rule: {rule_text(c)}",
    ]
    lines += [f"Note: {note}" for note in c.method.get("notes") or []]
    if c.method.get("latency"):
        lines.append(f"Latency compared: {c.method['latency']}")
    for scope in c.scopes:
        lines += ["", "Overall" if scope == OVERALL else scope, THIN, header, THIN]
        lines += [_row_line(r) for r in c.scope_rows(scope)]
    lines += [
        "",
        f"Verdict: {verdict_line(c)}" + (" (the scenarios differ)" if c.differences else ""),
    ]
    for r in c.regressions:
        lines.append(f"  regressed: {describe(r)}")
    for r in c.improvements:
        lines.append(f"  improved:  {describe(r)}")
    alpha = c.method.get("alpha", 0.05)
    for r in c.inconclusive:
        why = "within the runs' noise"
        if r.disturbed:
            why = f"{DISTURBED}: {r.disturbed}"
        elif r.runs is not None and r.p_value is not None and r.p_value < alpha:
            why = "the runs differ, but within the sampling noise of the pooled runs"
        lines.append(f"  inconclusive: {describe(r)} ({why})")
    lines += not_judged_lines(c)
    if c.differences:
        lines.append(f"  {differences_line(c)}")
    return "\n".join(lines)


def rule_text(c: Comparison) -> str:
    """What a change must clear, in one sentence (every view of a comparison says it):
    over repeated runs, the run-to-run test and the pooled runs' sampling noise."""
    start = (
        f"A change counts when it is at least {c.threshold * 100:g}%, at least the floor"
        " (1 ms for latency), and "
    )
    runs = c.method.get("runs")
    if runs:
        return start + (
            f"the runs differ (run to run: Mann-Whitney U over per-run values, p <"
            f" {c.method.get('alpha', 0.05):g}; {runs[0]} + {runs[1]} runs; ~ = no significant"
            " change), beyond the sampling noise of each side's runs pooled"
            f" ({c.confidence * 100:g}% confidence over the table)."
        )
    return start + f"beyond the runs' noise ({c.confidence * 100:g}% confidence over the table)."


def not_judged_lines(c: Comparison) -> list[str]:
    """Rows present in both runs but without a verdict, grouped by why (the maximum,
    never judged by design, is left to the table)."""
    groups: dict[str, dict[str, None]] = {}
    for r in c.rows:
        if r.verdict is None and r.not_judged and r.metric != "max_ms":
            groups.setdefault(r.not_judged, {})[r.label] = None
    return [f"Not judged: {', '.join(labels)} ({why})" for why, labels in groups.items()]


def differences_line(c: Comparison) -> str:
    """The warning printed when the two runs did not run the same scenario."""
    return (
        "warning: the two runs' scenarios differ (" + "; ".join(c.differences) + "):"
        " a change may come from the scenario, not the target"
    )
