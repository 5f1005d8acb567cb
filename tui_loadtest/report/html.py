"""``--html FILE``: one self-contained HTML page for a run or a baseline.

Everything is inline (CSS, SVG charts); the page fetches nothing, so it can be
attached to a CI build, mailed, or opened offline. Its sections follow the
text report: header, overall summary with ratings, endpoint table, errors,
charts of the per-second timeline, recommendations, and (for a run compared
against a baseline) the comparison table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from .. import __version__
from ..compare import OVERALL, Comparison
from ..ratings import Rating, rate_error_rate, rate_response_ms
from ..stats.result import RunResult
from .axis import round_ticks, tick_text
from .compare_format import fmt_change, fmt_delta, fmt_value, verdict_line
from .compare_text import differences_line, rule_text, verdict_text
from .formatting import (
    endpoint_label,
    fmt_bytes,
    fmt_int,
    fmt_ms,
    fmt_pct,
    fmt_rate,
    threshold_measured,
)
from .output_files import write_output
from .recommendations import recommend
from .text import iterations_text, note_lines, repeat_table, users_line
from .throughput import throughput_rating

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
 background:#f6f7f9;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.meta{color:#5b6475;margin:0 0 16px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e8}
th,td{padding:6px 10px;border-bottom:1px solid #eceff4;text-align:right;white-space:nowrap}
th{background:#f0f2f6;font-weight:600}
td.l,th.l{text-align:left}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 14px;
 min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#5b6475;font-size:12px}
.tone-good{color:#1a7f37}.tone-ok{color:#2f6fb0}.tone-warn{color:#9a6700}
.tone-bad{color:#cf222e}
.better{color:#1a7f37}.worse{color:#cf222e}.same{color:#5b6475}
.verdict{font-weight:600}
.chart{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:0 0 14px;
 padding:6px}
.chart text{font-size:11px;fill:#5b6475}
ol li{margin:4px 0}
footer{color:#8a93a3;font-size:12px;margin-top:30px}
"""

_COLOURS = {"rps": "#2f6fb0", "p50": "#1a7f37", "p95": "#9a6700", "p99": "#cf222e"}


def write_html(
    result: RunResult,
    path: str,
    *,
    title: str | None = None,
    comparison: Comparison | None = None,
) -> str:
    write_output(path, html_report(result, title=title, comparison=comparison), flag="--html")
    return path


def html_report(
    result: RunResult, *, title: str | None = None, comparison: Comparison | None = None
) -> str:
    s = result.summary
    heading = title or f"Load test: {result.scenario_name}"
    meta = " · ".join(
        [
            f"Host {result.host}",
            f"started {result.started_at}",
            f"{result.duration_s:.1f} s",
            f"users: {users_line(result)}",  # planned, and reached
        ]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{escape(heading)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        *(f"<p>{escape(line)}</p>" for line in note_lines(result)),
        "<h2>Overall summary</h2>",
        _cards(result),
        *_thresholds(result),
        *_repeats(result),
        *_scenarios(result),
        "<h2>Endpoints</h2>",
        _endpoint_table(result),
        *_tags(result),
        *_checks(result),
        *_streams(result),
        "<h2>Errors</h2>",
        _error_table(result),
        "<h2>Timeline</h2>",
        _charts(result),
    ]
    if comparison is not None:
        parts += [f"<h2>Compared with {escape(comparison.baseline_name)}</h2>"]
        parts += [_comparison(comparison)]
    parts += [
        "<h2>Recommendations</h2>",
        "<ol>" + "".join(f"<li>{escape(r)}</li>" for r in recommend(result)) + "</ol>",
        f"<footer>tui-loadtest {escape(__version__)} · {fmt_int(s.requests)} requests,"
        f" {fmt_bytes(s.bytes_received)} received</footer>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------ sections


def _card(label: str, value: str, rating: Rating | None = None) -> str:
    tone = f' class="v tone-{rating.tone}"' if rating else ' class="v"'
    note = f'<div class="k">{escape(rating.label)}</div>' if rating else ""
    return (
        f'<div class="card"><div class="k">{escape(label)}</div>'
        f"<div{tone}>{escape(value)}</div>{note}</div>"
    )


def _cards(result: RunResult) -> str:
    s = result.summary
    lat = s.latency
    cards = [
        _card("Requests", fmt_int(s.requests)),
        _card("Requests/s", f"{s.rps:,.2f}", throughput_rating(result)[0]),
        _card("Average", f"{fmt_ms(lat.mean)} ms"),
        _card("P50", f"{fmt_ms(lat.p50)} ms"),
        _card("P95", f"{fmt_ms(lat.p95)} ms", rate_response_ms(lat.p95)),
        _card("P99", f"{fmt_ms(lat.p99)} ms"),
        _card("Max", f"{fmt_ms(lat.max)} ms"),
        _card("Error rate", fmt_pct(s.error_rate), rate_error_rate(s.error_rate)),
    ]
    if s.ttfb is not None:  # the head's arrival, apart from the body's end
        cards.insert(7, _card("TTFB P95", f"{fmt_ms(s.ttfb.p95)} ms"))
    if result.flows:  # a task that raised is a failed iteration, not a failed request
        rate = result.iteration_failure_rate
        cards.append(_card("Failed iterations", iterations_text(result), rate_error_rate(rate)))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="l"' if i < left else ""
        return f"<{tag}{cls}>{text}</{tag}>"

    out = ["<table><tr>" + "".join(cell("th", i, escape(h)) for i, h in enumerate(head)) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    return "".join(out) + "</table>"


def _thresholds(result: RunResult) -> list[str]:
    found = result.threshold_results()
    if not found:
        return []
    passed = sum(t.passed for t in found)
    rows = [
        [
            f'<span class="{"better" if t.passed else "worse"}">'
            f"{'✓ passed' if t.passed else '✗ failed'}</span>",
            escape(t.label),
            escape("Overall" if t.scope == "overall" else t.scope),
            escape(threshold_measured(t.metric, t.value)),
        ]
        for t in found
    ]
    return [
        f"<h2>Thresholds ({passed}/{len(found)} passed)</h2>",
        _table(["Result", "Threshold", "Scope", "Measured"], rows, left=4),
    ]


def _repeats(result: RunResult) -> list[str]:
    """``--repeat N``: each run, the spread and the outlier, as the text summary has them."""
    table = repeat_table(result)
    if table is None:
        return []
    rows = [[escape(label), *map(escape, cells), escape(mark)] for label, cells, mark in table.rows]
    return [
        "<h2>Repeated runs</h2>",
        f"<p>{escape(table.title)}</p>",
        _table(["Run", *table.columns, ""], rows, left=1),
        f"<p>{escape(table.outlier)}</p>",
    ]


def _endpoint_table(result: RunResult) -> str:
    ttfb = any(e.stats.ttfb is not None for e in result.endpoints)
    rows = []
    for e in result.endpoints:
        s, lat = e.stats, e.stats.latency
        tone = rate_response_ms(lat.p95).tone
        first = [] if not ttfb else ["–", "–"] if s.ttfb is None else [
            fmt_ms(s.ttfb.p50), fmt_ms(s.ttfb.p95)]  # fmt: skip
        rows.append(
            [
                escape(e.method),
                escape(endpoint_label(e.method, e.name)),
                fmt_int(s.requests),
                fmt_int(s.failures),
                fmt_ms(lat.p50),
                f'<span class="tone-{tone}">{fmt_ms(lat.p95)}</span>',
                fmt_ms(lat.p99),
                fmt_ms(lat.max),
                *first,
                fmt_rate(s.rps),
                f'<span class="tone-{rate_error_rate(s.error_rate).tone}">'
                f"{fmt_pct(s.error_rate)}</span>",
            ]
        )
    head = ["Method", "Endpoint", "Requests", "Failures", "P50 ms", "P95 ms", "P99 ms",
            "Max ms", *(["TTFB P50 ms", "TTFB P95 ms"] if ttfb else []), "Req/s",
            "Errors"]  # fmt: skip
    if any(e.scenario for e in result.endpoints):  # [[scenarios]]: whose row each one is
        rows = [[escape(e.scenario), *row] for e, row in zip(result.endpoints, rows, strict=True)]
        return _table(["Scenario", *head], rows, left=3)
    return _table(head, rows, left=2)


def _scenarios(result: RunResult) -> list[str]:
    """Each ``[[scenarios]]`` entry, its endpoints' figures together."""
    groups = result.scenario_groups()
    if not groups:
        return []
    rows = [
        [
            escape(g.name),
            "arrival rate" if g.mode == "arrival-rate" else escape(g.mode),
            fmt_int(g.stats.requests),
            fmt_ms(g.stats.latency.p50),
            fmt_ms(g.stats.latency.p95),
            fmt_ms(g.stats.latency.p99),
            fmt_rate(g.stats.rps),
            fmt_pct(g.stats.error_rate),
            fmt_int(g.iterations) if g.iterations else "",
        ]
        for g in groups
    ]
    head = ["Scenario", "Model", "Requests", "P50 ms", "P95 ms", "P99 ms", "Req/s", "Errors",
            "Iterations"]  # fmt: skip
    return ["<h2>Scenarios</h2>", _table(head, rows, left=2)]


def _tags(result: RunResult) -> list[str]:
    """The endpoints grouped by tag, each tag's figures together."""
    groups = result.tag_groups()
    if not groups:
        return []
    rows = [
        [
            escape(t.tag),
            escape(", ".join(t.endpoints)),
            fmt_int(t.stats.requests),
            fmt_ms(t.stats.latency.p50),
            fmt_ms(t.stats.latency.p95),
            fmt_ms(t.stats.latency.p99),
            fmt_rate(t.stats.rps),
            fmt_pct(t.stats.error_rate),
        ]
        for t in groups
    ]
    head = ["Tag", "Endpoints", "Requests", "P50 ms", "P95 ms", "P99 ms", "Req/s", "Errors"]
    return ["<h2>Tags</h2>", _table(head, rows, left=2)]


def _checks(result: RunResult) -> list[str]:
    """Checks on responses: each one's passes, failures and pass rate."""
    if not result.checks:
        return []
    rows = [
        [
            escape(f"{c.scenario} · {c.endpoint}" if c.scenario else c.endpoint),
            escape(c.name) + (" <small>(soft)</small>" if c.soft else ""),
            fmt_int(c.passed),
            fmt_int(c.failed),
            f'<span class="{"better" if not c.failed else "worse"}">{fmt_pct(c.pass_rate)}</span>',
        ]
        for c in result.checks
    ]
    total = result.check_rate()
    heading = "Checks" + (f" ({fmt_pct(total)} passed)" if total is not None else "")
    return [
        f"<h2>{escape(heading)}</h2>",
        _table(["Endpoint", "Check", "Passed", "Failed", "Pass rate"], rows, left=2),
    ]


def _streams(result: RunResult) -> list[str]:
    """Streamed endpoints: events, the time to first event and between events, tokens."""
    found = [(e, st) for e in result.endpoints if (st := e.stats.stream) is not None]
    if not found:
        return []
    tokens = any(st.tokens for _, st in found)
    rows = [
        [
            escape(e.method),
            escape(endpoint_label(e.method, e.name)),
            fmt_int(st.streams),
            f"{st.events_per_stream:,.1f}",
            fmt_ms(st.ttft.p50),
            fmt_ms(st.ttft.p95),
            fmt_ms(st.ttft.p99),
            fmt_ms(st.inter_event.p50),
            fmt_ms(st.inter_event.p95),
            *([fmt_int(st.tokens), f"{st.output_tokens_per_s:,.1f}"] if tokens else []),
        ]
        for e, st in found
    ]
    head = ["Method", "Endpoint", "Streams", "Events/stream", "TTFT P50 ms", "TTFT P95 ms",
            "TTFT P99 ms", "Between P50 ms", "Between P95 ms",
            *(["Tokens", "Tokens/s per stream"] if tokens else [])]  # fmt: skip
    return [
        "<h2>Streams</h2>",
        _table(head, rows, left=2),
        "<p>TTFT: from each request's start to its stream's first event"
        + (" carrying a token" if tokens else "")
        + "; between: each gap between two events. A stream cut before its end is an"
        " error of kind <code>stream</code>.</p>",
    ]


def _error_table(result: RunResult) -> str:
    if not result.errors:
        return "<p>No errors.</p>"
    rows = [
        [
            escape(e.label),
            escape(f"{e.scenario} · {e.endpoint}" if e.scenario else e.endpoint),
            fmt_int(e.count),
            escape(e.message),
        ]
        for e in result.errors
    ]
    return _table(["Kind", "Endpoint", "Count", "Last message"], rows, left=2)


def _charts(result: RunResult) -> str:
    tl = result.timeline
    if not tl:
        return "<p>No timeline (the run lasted less than a second).</p>"
    t = [p.t for p in tl]
    rps = line_chart(
        "Requests per second",
        t,
        [("req/s", [float(p.requests) for p in tl], _COLOURS["rps"])],
        unit="req/s",
    )
    latency = line_chart(
        "Response time percentiles",
        t,
        [
            ("p50", [p.p50_ms for p in tl], _COLOURS["p50"]),
            ("p95", [p.p95_ms for p in tl], _COLOURS["p95"]),
            ("p99", [p.p99_ms for p in tl], _COLOURS["p99"]),
        ],
        unit="ms",
    )
    charts = [rps, latency]
    if "per_second_percentiles" in result.missing:  # e.g. a Locust import: never drawn as 0
        charts = [rps, "<p>Response time percentiles per second: not recorded by the source.</p>"]
    if any(p.failures for p in tl):
        charts.append(
            line_chart(
                "Errors per second",
                t,
                [("errors/s", [float(p.failures) for p in tl], _COLOURS["p99"])],
                unit="errors/s",
            )
        )
    return "".join(f'<div class="chart">{c}</div>' for c in charts)


def _comparison(c: Comparison) -> str:
    out = [
        f'<p>Verdict: <span class="verdict {_verdict_class(c.verdict)}">'
        f"{escape(verdict_line(c))}</span></p>",
        f"<p>{escape(rule_text(c))}</p>",
    ]
    out += [f"<p>Note: {escape(n)}</p>" for n in c.method.get("notes") or []]
    if c.differences:
        out.append(f'<p class="worse">{escape(differences_line(c))}</p>')
    head = ["Scope", "Metric", "Baseline", "Current", "Delta", "Change", "Verdict"]
    rows = []
    for r in c.rows:
        scope = "Overall" if r.scope == OVERALL else r.scope
        verdict = verdict_text(r)  # over repeated runs with p and the runs a side
        rows.append(
            [
                escape(scope),
                escape(r.label),
                fmt_value(r.metric, r.a),
                fmt_value(r.metric, r.b),
                f'<span class="{r.direction}">{escape(fmt_delta(r))}</span>',
                f'<span class="{r.direction}">{escape(fmt_change(r))}</span>',
                f'<span class="{_verdict_class(r.verdict)}">{escape(verdict)}</span>',
            ]
        )
    out.append(_table(head, rows, left=2))
    return "".join(out)


def _verdict_class(verdict: str | None) -> str:
    return {"regressed": "worse", "improved": "better"}.get(verdict or "", "same")


# -------------------------------------------------------------------------- charts


def line_chart(
    title: str,
    xs: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    unit: str = "",
    width: int = 1040,
    height: int = 220,
) -> str:
    """An inline SVG line chart: axes with round ticks, one polyline per series, a legend."""
    left, right, top, bottom = 64, 16, 28, 28
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = (min(xs), max(xs)) if xs else (0, 1)
    if x1 == x0:
        x1 = x0 + 1
    peak = max((v for _, values, _ in series for v in values if math.isfinite(v)), default=0.0)
    ticks = round_ticks(peak)
    y1 = ticks[-1] or 1.0

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y / y1) * ph

    out = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img"'
        f' aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" style="font-weight:600">{escape(title)}'
        + (f" ({escape(unit)})" if unit else "")
        + "</text>",
    ]
    for tick in ticks:
        y = sy(tick)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#eceff4"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick_text(tick)}</text>'
        )
    for tick in round_ticks(x1 - x0, count=8):
        x = sx(x0 + tick)
        label = tick_text(x0 + tick)
        out.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{label}s</text>')
    out.append(
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#9aa3b2"/>'
    )
    legend_x = left + pw
    for label, values, colour in reversed(series):
        points = " ".join(
            f"{sx(x):.1f},{sy(v):.1f}" for x, v in zip(xs, values, strict=False) if math.isfinite(v)
        )
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{points}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        legend_x -= 8 + 7 * len(label) + 14
        out.append(
            f'<rect x="{legend_x}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="17">{escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
