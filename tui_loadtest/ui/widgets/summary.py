"""The end-of-run summary, in the layout of the guide's baseline report:
a header, the overall summary, the endpoint table, flows, errors, then recommendations.

Same sections, figures and columns as :func:`tui_loadtest.report.text.run_summary`
(users planned and reached, the generator's saturation, status codes, bytes,
latency views, flows, watched resources), with the figures coloured by the rating
bands. The sentences come from ``report.text`` so the two never say different things.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...compare import IMPROVED, NO_CHANGE, OVERALL, REGRESSED, Comparison
from ...ratings import rate_error_rate, rate_response_ms
from ...report.compare_format import fmt_change, fmt_value, verdict_line
from ...report.compare_text import differences_line, rule_text, verdict_text
from ...report.formatting import (
    endpoint_label,
    fmt_int,
    fmt_ms,
    fmt_pct,
    fmt_rate,
    threshold_measured,
)
from ...report.recommendations import recommend
from ...report.resources import resource_lines
from ...report.text import (
    check_table,
    generator_lines,
    iterations_text,
    latency_views,
    note_lines,
    repeat_lines,
    response_lines,
    users_line,
    warmup_note,
)
from ...report.throughput import throughput_rating
from ...stats.result import RunResult
from ..style import TONE_COLOURS, error_tone, ms_tone


class SummaryView(VerticalScroll):
    """A scrollable panel holding the final summary once the run is done."""

    DEFAULT_CSS = """
    SummaryView {
        border: round #b48ead;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 2;
        height: 1fr;
    }
    SummaryView:focus { border: round $accent; }
    SummaryView > #summary-body { width: 100%; height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Static("", id="summary-body"), **kwargs)
        self.border_title = "Run summary"
        self.result: RunResult | None = None
        self.comparison: Comparison | None = None  # with --compare-to, once the run ended

    def show(
        self, result: RunResult, out: str | None = None, comparison: Comparison | None = None
    ) -> None:
        self.result = result
        self.comparison = comparison
        self.border_title = f"Run Summary: {result.scenario_name}"
        self.border_subtitle = "↑↓ scroll  d: live panels  q: quit"
        body = summary_renderable(result, out, comparison)
        self.query_one("#summary-body", Static).update(body)


def comparison_renderable(c: Comparison) -> RenderableType:
    """The verdict against the --compare-to baseline: the rows that moved or could not be
    ruled out, then the verdict line (every row is in the text printed at exit)."""
    colour = {REGRESSED: "bad", IMPROVED: "good"}.get(c.verdict, "ok")
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    for title in ("Scope", "Metric", "Baseline", "Current", "Change", "Verdict"):
        right = title in ("Baseline", "Current", "Change")
        table.add_column(title, justify="right" if right else "left", no_wrap=True)
    shown = [r for r in c.rows if r.verdict not in (None, NO_CHANGE)]
    for r in shown:
        tone = {REGRESSED: "bad", IMPROVED: "good"}.get(r.verdict or "", "ok")
        table.add_row(
            "Overall" if r.scope == OVERALL else r.scope,
            r.label,
            fmt_value(r.metric, r.a),
            fmt_value(r.metric, r.b),
            fmt_change(r),
            Text(verdict_text(r), style=TONE_COLOURS[tone]),
        )
    verdict = Text("Verdict: ", style="bold")
    verdict.append(verdict_line(c), style=f"bold {TONE_COLOURS[colour]}")
    note = Text(rule_text(c) + ("" if shown else " No row moved that far."), style="dim")
    parts: list[RenderableType] = [verdict, note]
    parts += [Text(f"Note: {n}", style=TONE_COLOURS["warn"]) for n in c.method.get("notes") or []]
    if c.differences:
        parts.append(Text(differences_line(c), style=TONE_COLOURS["warn"]))
    if shown:
        parts.append(table)
    return Group(*parts)


def summary_renderable(
    result: RunResult, out: str | None = None, comparison: Comparison | None = None
) -> RenderableType:
    s = result.summary
    users = users_line(result)
    paused = float(result.outcome.get("paused_s") or 0)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="dim", no_wrap=True)
    head.add_column()
    head.add_row("Host", result.host)
    head.add_row("Started", result.started_at)
    head.add_row(
        "Test Duration",
        f"{result.duration_s:.2f} seconds"
        + (f" under load ({paused:.2f} more paused)" if paused >= 0.005 else ""),
    )
    head.add_row("Total Requests", fmt_int(s.requests))
    head.add_row("Failed Requests", fmt_int(s.failures))
    head.add_row("Concurrent Users", users)
    warmup = warmup_note(result)
    if warmup:
        head.add_row("Warm-up", warmup)
    warnings = [
        Text(line, style=TONE_COLOURS["warn"])
        for line in generator_lines(result) + note_lines(result)
    ]

    overall = Table.grid(padding=(0, 2))
    overall.add_column(no_wrap=True)
    overall.add_column(justify="right", no_wrap=True, min_width=12)
    overall.add_column(no_wrap=True)
    lat = s.latency
    has = lat.max > 0
    overall.add_row("Average Response Time", *_rated_ms(lat.mean, has))
    overall.add_row("Median (P50) Response Time", *_rated_ms(lat.p50, has))
    overall.add_row("P95 Response Time", *_rated_ms(lat.p95, has))
    overall.add_row("P99 Response Time", *_rated_ms(lat.p99, has))
    overall.add_row("Max Response Time", *_rated_ms(lat.max, has))
    er = rate_error_rate(s.error_rate)
    overall.add_row(
        "Error Rate",
        Text(fmt_pct(s.error_rate), style=TONE_COLOURS[er.tone]),
        Text(er.label, style=f"dim {TONE_COLOURS[er.tone]}"),
    )
    if result.flows:  # a task that raised is a failed iteration, not a failed request
        ir = rate_error_rate(result.iteration_failure_rate)
        overall.add_row(
            "Failed Iterations",
            Text(iterations_text(result), style=TONE_COLOURS[ir.tone]),
            Text(ir.label, style=f"dim {TONE_COLOURS[ir.tone]}"),
        )
    tr, _ = throughput_rating(result)  # rated only when the target set the pace
    overall.add_row("Requests per Second", Text(f"{s.rps:,.2f}"), Text(tr.label, style="dim"))
    answers = Table.grid(padding=(0, 2))  # status codes and bytes, worded as the text summary
    answers.add_column(no_wrap=True, min_width=len("Median (P50) Response Time"))
    answers.add_column()
    for line in response_lines(result):
        label, _, value = line.partition(": ")
        if not label.endswith("Response Time"):  # those are rated above
            answers.add_row(label, value)

    endpoints = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    endpoints.add_column("Method", no_wrap=True)
    endpoints.add_column("Endpoint", no_wrap=True, overflow="ellipsis", max_width=48)
    for label in ("P50", "P95", "P99"):
        endpoints.add_column(label, justify="right", min_width=8)
    endpoints.add_column("RPS", justify="right", min_width=8)
    endpoints.add_column("Errors", justify="right", min_width=7)
    for e in result.endpoints:
        el = e.stats.latency
        ehas = el.max > 0
        endpoints.add_row(
            e.method,
            endpoint_label(e.method, e.name),
            *(_ms(v, ehas) for v in (el.p50, el.p95, el.p99)),
            fmt_rate(e.stats.rps),
            Text(
                fmt_pct(e.stats.error_rate),
                style=TONE_COLOURS[error_tone(e.stats.error_rate, e.stats.requests > 0)],
            ),
        )

    errors: RenderableType
    if result.errors:
        errors = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
        errors.add_column("Kind", no_wrap=True)
        errors.add_column("Endpoint", no_wrap=True, overflow="ellipsis", max_width=40)
        errors.add_column("Count", justify="right")
        errors.add_column("Last message", overflow="ellipsis", no_wrap=True)
        for err in result.errors:
            errors.add_row(
                Text(err.label, style=TONE_COLOURS["bad"]),
                err.endpoint,
                fmt_int(err.count),
                Text(err.message, style="dim"),
            )
    else:
        errors = Text("No errors.", style=TONE_COLOURS["good"])

    advice = Table.grid(padding=(0, 1))
    advice.add_column(justify="right", style="bold", no_wrap=True)
    advice.add_column(ratio=1)
    for i, line in enumerate(recommend(result), start=1):
        advice.add_row(f"{i}.", line)

    footer = Text()
    reason = result.outcome.get("reason")
    if reason:
        footer.append(f"Run ended: {reason}.", style="bold")
    if out:
        footer.append(f"  The JSON report goes to {out} when you quit.", style="dim")

    checks: list[RenderableType] = []
    thresholds = result.threshold_results()
    if thresholds:
        grid = Table.grid(padding=(0, 1))
        for t in thresholds:
            mark = Text("✓" if t.passed else "✗", style=TONE_COLOURS["good" if t.passed else "bad"])
            grid.add_row(mark, t.label, Text(threshold_measured(t.metric, t.value), style="dim"))
        passed = sum(t.passed for t in thresholds)
        checks = [_section(f"Thresholds ({passed}/{len(thresholds)} passed)"), grid]

    if comparison is not None:
        checks += [_section(f"Compared with {comparison.baseline_name}"),
                   comparison_renderable(comparison)]  # fmt: skip

    views = latency_views(result)
    resources = resource_lines(result)
    repeats = repeat_lines(result)  # --repeat N: each run, the spread, the outlier
    return Group(
        head,
        *warnings,
        *([_section(repeats[0]), Text("\n".join(repeats[2:]).rstrip())] if repeats else []),
        _section("Overall Summary"),
        overall,
        answers,
        *checks,
        *([_section("Latency Views"), *latency_table(result, views)] if views else []),
        _section("Endpoint Performance"),
        endpoints,
        *([_section("Flows"), *flows] if (flows := flow_table(result)) else []),
        *(
            [_section("Checks"), Text("\n".join([lines[0], *lines[2:]]))]
            if (lines := check_table(result))
            else []
        ),
        *([_section("Resources"), Text("\n".join(resources))] if resources else []),
        _section("Errors"),
        errors,
        _section("Recommendations"),
        advice,
        Text(""),
        footer,
    )


def latency_table(result: RunResult, views: list[str]) -> list[RenderableType]:
    """Open model: corrected, service and lag latency as a table that fits 80 columns;
    then the text summary's own notes (dropped arrivals, what a gap means)."""
    s = result.summary
    rows = [("Corrected (from intended start)", s.latency)]
    if s.service is not None:
        rows.append(("Service (from when it was sent)", s.service))
    if result.lag is not None:
        rows.append(("Generator lag (behind schedule)", result.lag))
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    table.add_column("Latency, ms", no_wrap=True)
    for label in ("P50", "P95", "P99", "Max"):
        table.add_column(label, justify="right", min_width=7)
    for label, lat in rows:
        table.add_row(label, *(fmt_ms(v) for v in (lat.p50, lat.p95, lat.p99, lat.max)))
    notes = views[len(rows) :]  # the text summary's lines after its rows
    return [table, *(Text(note) for note in notes)]


def flow_table(result: RunResult) -> list[RenderableType]:
    """Journeys: iterations, failed ones and iteration duration per flow (as the text
    summary's Flows table); nothing for runs without flows."""
    if not result.flows:
        return []
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    table.add_column("Flow", ratio=1, max_width=40)  # wraps before a figure is hidden
    for label in ("Iterations", "Failed", "It/s", "P50", "P95", "P99"):
        table.add_column(label, justify="right", min_width=8)
    for f in result.flows:
        st, d = f.stats, f.stats.duration
        has = st.iterations > 0
        table.add_row(
            f.name,
            fmt_int(st.iterations),
            Text(
                fmt_int(st.failed),
                style=TONE_COLOURS[error_tone(st.failure_rate, st.iterations > 0)],
            ),
            fmt_rate(st.rate),
            *(fmt_ms(v) if has else "–" for v in (d.p50, d.p95, d.p99)),
        )
    corrected = result.service_histogram is not None  # open model
    start = "each arrival's intended start" if corrected else "the first send"
    note = f"Iteration duration in ms, from {start}, think time between steps included."
    return [table, Text(note, style="dim")]


def _section(title: str) -> RenderableType:
    return Group(Text(""), Rule(Text(title, style="bold"), align="left", style="dim"))


def _ms(ms: float, has: bool) -> Text:
    if not has:
        return Text("–", style="dim")
    return Text(fmt_ms(ms), style=TONE_COLOURS[ms_tone(ms)])


def _rated_ms(ms: float, has: bool) -> tuple[Text, Text]:
    if not has:
        return Text("– ms", style="dim"), Text("no responses", style="dim")
    rating = rate_response_ms(ms)
    colour = TONE_COLOURS[rating.tone]
    return Text(f"{fmt_ms(ms)} ms", style=colour), Text(rating.label, style=f"dim {colour}")
