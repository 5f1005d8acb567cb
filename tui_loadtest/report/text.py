"""Text views of a run: the headless progress line and the end-of-run summary.

The summary follows the layout of the guide's "Performance Baseline Report":
a header, an overall summary, then a fixed-width endpoint table, so that people
who already read those reports read ours the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..stats.model import Latency, Snapshot
from ..stats.result import CLOCK_WARN_S, RunResult
from .fit import PIPED_WIDTH, clip, fit_lines, rule
from .formatting import (
    endpoint_label,
    fmt_bytes,
    fmt_clock,
    fmt_int,
    fmt_ms,
    fmt_pct,
    fmt_rate,
    threshold_measured,
)
from .recommendations import numbered, recommend
from .resources import resource_lines

RULE = rule("=", PIPED_WIDTH)  # the guide's 80 columns
THIN = rule("-", PIPED_WIDTH)


def progress_line(snap: Snapshot, elapsed_s: float) -> str:
    """One line of headless progress: where we are, load, throughput, latency, errors."""
    if snap.duration_s:
        clock = f"{fmt_clock(elapsed_s)}/{fmt_clock(snap.duration_s)}"
    elif snap.requests_planned:
        done = f"{fmt_int(snap.total.requests)}/{fmt_int(snap.requests_planned)}"
        clock = f"{fmt_clock(elapsed_s)} {done} req"
    else:
        clock = fmt_clock(elapsed_s)
    w = snap.window.latency
    # The totals' own rate: over the complete seconds they hold, after the warm-up and
    # without pauses (requests over the wall clock undercounted by up to a second of
    # requests, half the figure a second after a warm-up).
    avg = "–" if snap.warming_up else fmt_rate(snap.total.rps)
    if snap.mode == "arrival-rate":
        target = fmt_rate(snap.rate_target or 0.0)
        load = (
            f"rate {fmt_rate(snap.current_rps)}/{target} req/s"
            f" | in flight {snap.users_active}/{snap.users_target}"
        )
        if snap.total.dropped:
            load += f" | dropped {fmt_int(snap.total.dropped)}"
        if snap.lag is not None:
            load += f" | lag p99 {fmt_ms(snap.lag.p99)} ms"
        view = "corrected "
    else:
        load = (
            f"users {snap.users_active}/{snap.users_target}"
            f" | {fmt_rate(snap.current_rps)} req/s (avg {avg})"
        )
        view = ""
    if snap.warming_up:  # totals count from its end (Locust's --reset-stats)
        load = f"warming up (measured from {fmt_clock(snap.warmup_s)}) | {load}"
    if snap.repeat:
        load = f"run {snap.repeat[0]} of {snap.repeat[1]} | {load}"
    return (
        f"[{clock:>9}] {load}"
        f" | last {snap.window_s}s {view}p50 {fmt_ms(w.p50)} p95 {fmt_ms(w.p95)}"
        f" p99 {fmt_ms(w.p99)} ms"
        f" | errors {fmt_int(snap.total.failures)} ({fmt_pct(snap.total.error_rate)})"
        + (" | PAUSED" if snap.state == "paused" else "")
    )


def latency_views(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Open model: corrected and service latency side by side, lag and drops, and
    one sentence on what a gap between the two views means (narrower than a row: each
    view's name above its figures)."""
    s = result.summary
    if s.service is None:
        return []

    def row(label: str, lat: Latency) -> list[str]:
        figures = (
            f"p50 {fmt_ms(lat.p50):>8}  p95 {fmt_ms(lat.p95):>8}  "
            f"p99 {fmt_ms(lat.p99):>8}  max {fmt_ms(lat.max):>8} ms"
        )
        if 35 + len(figures) <= width:
            return [f"{label:<34} {figures}"]
        return [label, "  " + figures]

    lines = [
        *row("Corrected (from intended start):", s.latency),
        *row("Service (from when it was sent):", s.service),
    ]
    lag = result.lag
    if lag is not None:
        lines += row("Generator lag (behind schedule):", lag)
    lines.append(f"Dropped arrivals: {fmt_int(s.dropped)}")
    if s.service.p99 > 0 and s.latency.p99 > 2 * s.service.p99:
        if lag is not None and lag.p99 > s.latency.p99 / 2:
            lines.append(
                "The corrected figures are more than twice the service time mostly because "
                "the generator itself ran late: add workers or lower the rate."
            )
        else:
            lines.append(
                "The corrected figures are more than twice the service time: requests waited "
                "for a busy connection while the target was slow, a wait a closed-model "
                "tool would not show."
            )
    return lines


# The guide's endpoint table: Method, Endpoint, P50, P95, P99, RPS (left-aligned, in
# columns of 8, 41 and 10) and Errors; 102 columns with an error rate of 100.00%.
_GUIDE_TABLE_WIDTH = 8 + 1 + 41 + 1 + 4 * 11 + len("100.00%")


def endpoint_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """The endpoint table: method, endpoint, P50, P95, P99, RPS, errors; the guide's
    layout where it fits, else columns as wide as their figures and the endpoint's name
    shortened to what is left. With ``[[scenarios]]``, each scenario's rows under its name."""
    rows = [
        (
            e.method,
            endpoint_label(e.method, e.name),
            fmt_ms(e.stats.latency.p50),
            fmt_ms(e.stats.latency.p95),
            fmt_ms(e.stats.latency.p99),
            fmt_rate(e.stats.rps),
            fmt_pct(e.stats.error_rate),
        )
        for e in result.endpoints
    ]
    groups = [e.scenario for e in result.endpoints]
    if width >= _GUIDE_TABLE_WIDTH:
        lines = [
            f"{'Method':<8} {'Endpoint':<41} {'P50':<10} {'P95':<10} {'P99':<10} {'RPS':<10}"
            " Errors",
            rule("-", width),
        ]
        body = [
            f"{m:<8} {name:<41} {p50:<10} {p95:<10} {p99:<10} {rps:<10} {err}"
            for m, name, p50, p95, p99, rps, err in rows
        ]
        return lines + _grouped(body, groups)
    head = ("Method", "Endpoint", "P50", "P95", "P99", "RPS", "Errors")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    gaps = len(head) - 1
    gap = next((g for g in (3, 2) if sum(widths) + g * gaps <= width), 1)
    room = width - sum(widths) + widths[1] - gap * gaps  # what the name may take
    widths[1] = max(5, min(widths[1], room))
    lines = []
    for i, r in enumerate([head, *rows]):
        cells = [
            clip(c, w) if j == 1 else c for j, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        row = (" " * gap).join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))
        lines.append(row.rstrip())
        if i == 0:
            lines.append(rule("-", width))
    return lines[:2] + _grouped(lines[2:], groups)


def _grouped(rows: list[str], groups: list[str]) -> list[str]:
    """Table rows with each ``[[scenarios]]`` entry's name above its own (rows of a file
    without them are left as they are)."""
    if not any(groups):
        return rows
    out: list[str] = []
    for group in dict.fromkeys(groups):
        out.append(f"[{group}]" if group else "[run]")
        out += [row for row, g in zip(rows, groups, strict=True) if g == group]
    return out


def scenario_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Each ``[[scenarios]]`` entry: its requests, P50, P95, P99, rate, errors and
    iterations, its endpoints together; nothing for a file without them."""
    groups = result.scenario_groups()
    if not groups:
        return []
    name_w = max(8, min(30, width - 71, max(len(g.name) for g in groups)))
    lines = [
        f"{'Scenario':<{name_w}} {'Requests':>10} {'P50':>8} {'P95':>8} {'P99':>8} "
        f"{'RPS':>9} {'Errors':>8} {'Iterations':>10}",
        rule("-", width),
    ]
    for g in groups:
        s, lat = g.stats, g.stats.latency
        lines.append(
            f"{clip(g.name, name_w):<{name_w}} {fmt_int(s.requests):>10} {fmt_ms(lat.p50):>8} "
            f"{fmt_ms(lat.p95):>8} {fmt_ms(lat.p99):>8} {fmt_rate(s.rps):>9} "
            f"{fmt_pct(s.error_rate):>8} {fmt_int(g.iterations) if g.iterations else '-':>10}"
        )
    return lines


def flow_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Journeys: iterations, failed ones and iteration duration per flow (k6's
    ``iterations`` and ``iteration_duration``); the flow's name shortened to fit."""
    if not result.flows:
        return []
    corrected = result.service_histogram is not None
    name_w = max(8, min(31, width - 59))  # 59: the figures' columns and their spaces
    lines = [
        f"{'Flow':<{name_w}} {'Iterations':>10} {'Failed':>8} {'It/s':>8} "
        f"{'P50':>9} {'P95':>9} {'P99':>9}",
        rule("-", width),
    ]
    body = []
    for f in result.flows:
        s = f.stats
        d = s.duration
        name = clip(f.name, name_w)
        body.append(
            f"{name:<{name_w}} {fmt_int(s.iterations):>10} {fmt_int(s.failed):>8} "
            f"{fmt_rate(s.rate):>8} {fmt_ms(d.p50):>9} {fmt_ms(d.p95):>9} {fmt_ms(d.p99):>9}"
        )
    lines += _grouped(body, [f.scenario for f in result.flows])
    note = "from each arrival's intended start" if corrected else "from the first send"
    lines.append(f"Iteration duration in ms, {note}, think time between steps included.")
    return lines


def tag_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """The endpoints grouped by tag (``tags = [...]``): each tag's requests, P50, P95,
    P99, rate and errors, its endpoints together; nothing without tags."""
    groups = result.tag_groups()
    if not groups:
        return []
    name_w = max(8, min(30, width - 64, max(len(t.tag) for t in groups)))
    lines = [
        f"{'Tag':<{name_w}} {'Endpoints':>9} {'Requests':>10} {'P50':>9} {'P95':>9} "
        f"{'P99':>9} {'RPS':>9} {'Errors':>8}",
        rule("-", width),
    ]
    for t in groups:
        s, lat = t.stats, t.stats.latency
        lines.append(
            f"{clip(t.tag, name_w):<{name_w}} {len(t.endpoints):>9} {fmt_int(s.requests):>10} "
            f"{fmt_ms(lat.p50):>9} {fmt_ms(lat.p95):>9} {fmt_ms(lat.p99):>9} "
            f"{fmt_rate(s.rps):>9} {fmt_pct(s.error_rate):>8}"
        )
    return lines


def stream_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Streamed endpoints: streams, events per stream, the time to first event and
    between events (ms), and tokens per second per stream when tokens are counted."""
    rows = [(e, e.stats.stream) for e in result.endpoints if e.stats.stream is not None]
    if not rows:
        return []
    tokens = any(st.tokens for _, st in rows)
    name_w = max(8, min(36, width - 70 - (10 if tokens else 0)))
    head = (
        f"{'Endpoint':<{name_w}} {'Streams':>8} {'Events':>7} {'TTFT p50':>9} {'TTFT p95':>9}"
        f" {'Gap p50':>8} {'Gap p95':>8}" + (f" {'Tokens/s':>9}" if tokens else "")
    )
    lines = [head, rule("-", width)]
    for e, st in rows:
        name = clip(endpoint_label(e.method, e.name), name_w)
        lines.append(
            f"{name:<{name_w}} {fmt_int(st.streams):>8} {st.events_per_stream:>7.1f}"
            f" {fmt_ms(st.ttft.p50):>9} {fmt_ms(st.ttft.p95):>9}"
            f" {fmt_ms(st.inter_event.p50):>8} {fmt_ms(st.inter_event.p95):>8}"
            + (f" {st.output_tokens_per_s:>9.1f}" if tokens else "")
        )
    lines.append(
        "ms; TTFT: from each request's start to its first event"
        + (" carrying a token" if tokens else "")
        + "; events: per stream; gap: between events"
        + ("; tokens/s: per stream, after its first token" if tokens else "")
        + "."
    )
    total = result.summary.stream
    if tokens and total is not None:
        lines.append(
            f"Tokens: {fmt_int(total.tokens)} in all, {total.tokens_per_s:,.1f} per second"
            " over the run."
        )
    return lines


def check_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Checks on responses: each one's passes, failures and pass rate, under its
    endpoint; a soft check (only counted) is marked. Names are cut to fit."""
    if not result.checks:
        return []
    figures_w = 11 + 10 + 9 + 3  # Passed, Failed, Rate and their spaces
    name_w = max(12, min(60, width - figures_w))
    lines = [f"{'Check':<{name_w}} {'Passed':>10} {'Failed':>9} {'Rate':>9}", rule("-", width)]
    for c in result.checks:
        label = f"{c.endpoint}: {c.name}" if c.endpoint else c.name
        label = f"{c.scenario} · {label}" if c.scenario else label
        label += " (soft)" if c.soft else ""
        mark = "✓" if not c.failed else "✗"
        lines.append(
            f"{clip(f'{mark} {label}', name_w):<{name_w}} {fmt_int(c.passed):>10} "
            f"{fmt_int(c.failed):>9} {fmt_pct(c.pass_rate):>9}"
        )
    total = result.check_rate()
    if total is not None:
        lines.append(f"All checks: {fmt_pct(total)} passed.")
    return lines


def overall_lines(result: RunResult) -> list[str]:
    s = result.summary
    iterations = iterations_text(result)
    return [
        f"Average Response Time: {fmt_ms(s.latency.mean)} ms",
        f"P95 Response Time: {fmt_ms(s.latency.p95)} ms",
        f"P99 Response Time: {fmt_ms(s.latency.p99)} ms",
        f"Error Rate: {fmt_pct(s.error_rate)}",
        *([f"Failed Iterations: {iterations}"] if iterations else []),
        f"Requests per Second: {s.rps:,.2f}",
    ]


def iterations_text(result: RunResult) -> str:
    """The error rate's companion for flows and scripts: "12 of 4,810 (0.25%)" of their
    iterations failed (a task that raised sends no failed request); "" without flows."""
    if not result.flows:
        return ""
    failed, total = result.failed_iterations, result.iterations
    return f"{fmt_int(failed)} of {fmt_int(total)} ({fmt_pct(result.iteration_failure_rate)})"


def note_lines(result: RunResult) -> list[str]:
    """What the workers said once during the run (a data queue that ran out, a script's
    request names past the limit), as the headless run printed them."""
    return [f"Note: {text}" for text in result.outcome.get("notes") or []]


def response_lines(result: RunResult) -> list[str]:
    """What hey, oha and k6 users look for beside the guide's figures: the median and
    the maximum, the responses by status, and the bytes each way."""
    s = result.summary
    answered = sum(n for _, n in s.statuses)
    codes = [f"{status}: {fmt_int(n)}" for status, n in s.statuses]
    if s.statuses and s.requests > answered:
        codes.append(f"no response: {fmt_int(s.requests - answered)}")
    return [
        f"Median (P50) Response Time: {fmt_ms(s.latency.p50)} ms",
        f"Max Response Time: {fmt_ms(s.latency.max)} ms",
        *([f"Time to First Byte: {figures_text(s.ttfb)}"] if s.ttfb is not None else []),
        f"Status Codes: {' · '.join(codes) if codes else 'none counted'}",
        f"Data: {fmt_bytes(s.bytes_sent)} sent, {fmt_bytes(s.bytes_received)} received",
    ]


def figures_text(lat: Latency) -> str:
    """A latency in a phrase: ``p50 1.20 ms · p95 3.40 ms · p99 5.60 ms``."""
    return " · ".join(f"{q} {fmt_ms(getattr(lat, q))} ms" for q in ("p50", "p95", "p99"))


def error_table(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Errors by kind and endpoint, with the last message. Narrower than its full width,
    the columns take what their figures need, then the message and the endpoint's name
    are cut to what is left."""
    if not result.errors:
        return ["No errors."]
    rows = [
        (
            f"HTTP {e.status}" if e.kind == "http" and e.status else e.kind,
            f"{e.scenario} · {e.endpoint}" if e.scenario else e.endpoint,
            fmt_int(e.count),
            e.message,
        )
        for e in result.errors
    ]
    kind_w, name_w, count_w, message_w = 12, 34, 9, 60
    if width < kind_w + 1 + name_w + 1 + count_w + 2 + message_w:  # the full width
        kind_w = max(4, *(len(r[0]) for r in rows))
        count_w = max(5, *(len(r[2]) for r in rows))
        name_w = min(34, max(8, *(len(r[1]) for r in rows)))
        fixed = kind_w + 1 + 1 + count_w + 2  # and the gaps
        message_w = max(12, width - fixed - name_w)
        name_w = max(5, min(name_w, width - fixed - message_w))
        message_w = max(5, width - fixed - name_w)
    lines = [
        f"{'Kind':<{kind_w}} {'Endpoint':<{name_w}} {'Count':>{count_w}}  Last message",
        rule("-", width),
    ]
    for kind, endpoint, count, message in rows:
        name, said = clip(endpoint, name_w), clip(message, message_w)
        lines.append(f"{clip(kind, kind_w):<{kind_w}} {name:<{name_w}} {count:>{count_w}}  {said}")
    return lines


def users_reached(result: RunResult) -> str:
    """How many users really ran, beside the plan ("1,000 planned, 96 reached, 52.3 on
    average"); empty for results that do not say."""
    users = result.outcome.get("users")
    if not isinstance(users, dict) or "peak" not in users:
        return ""
    peak, average = int(users.get("peak") or 0), float(users.get("average") or 0)
    load = result.load
    if load.get("mode") == "arrival-rate":
        return f"{_planned(load)}: {fmt_int(peak)} connections at most, {average:,.1f} on average"
    planned = int(users.get("planned") or load.get("users") or 0)
    by_class = users.get("by_class") or {}
    classes = (
        " (at most " + ", ".join(f"{fmt_int(n)} {name}" for name, n in by_class.items()) + ")"
        if len(by_class) > 1
        else ""
    )
    return (
        f"{fmt_int(planned)} planned, {fmt_int(peak)} reached{classes}, {average:,.1f} on average"
    )


def warmup_note(result: RunResult) -> str | None:
    """The warm-up in a phrase (None without one): what the figures shown leave out."""
    warm = result.warmup
    if not warm:
        return None
    ws = warm.get("summary") or {}
    p95 = float((ws.get("latency_ms") or {}).get("p95") or 0)
    errors = fmt_pct(float(ws.get("error_rate") or 0))
    return (
        f"{float(warm.get('duration_s') or 0):.2f} seconds before, measured apart"
        f" ({fmt_int(int(ws.get('requests') or 0))} requests, p95 {fmt_ms(p95)} ms,"
        f" errors {errors})"
    )


def warmup_lines(result: RunResult) -> list[str]:
    """The warm-up, named so that the figures below are read as the measured part's."""
    note = warmup_note(result)
    return [f"Warm-up: {note}; every figure below is the measured part's"] if note else []


def generator_lines(result: RunResult) -> list[str]:
    """What went wrong on the generator's side: saturation, clocks off, lost workers."""
    lines = []
    gen = result.generator
    if gen.get("saturated"):
        pct = gen.get("peak_cpu_pct") or 0
        who = gen.get("saturated_by") or "the generator"
        lines.append(
            f"Generator: saturated ({who} at {pct:.0f} % CPU): latencies and throughput"
            " may understate the target."
        )
    lines += loop_lines(result)
    for e in result.environment.get("engines") or []:
        offset = e.get("clock_offset_ms") or 0.0
        if abs(offset) > CLOCK_WARN_S * 1000:
            lines.append(
                f"Clock: worker {e.get('worker')} ({e.get('host')}) was {offset:+.0f} ms off this"
                " machine's (corrected at the start; keep clocks in sync with NTP)."
            )
    lost = result.outcome.get("workers_lost") or []
    workers = int(result.load.get("workers") or 0)
    for w in lost:
        lines.append(
            f"Degraded: worker {w.get('worker')} of {workers} lost at {w.get('at_s')} s"
            f" ({w.get('reason')}); {w.get('missing_s', 0):g} s of its share missing."
        )
    return lines


LAG_SHOWN_MS = 10.0  # a loop lag P99 from here on is worth a line without any stall
STEAL_SHOWN_PCT = 5.0  # CPU time stolen by a hypervisor worth a line


def loop_lines(result: RunResult) -> list[str]:
    """The workers' event loops: stalls and what caused them, or a loop that ran late;
    and a machine with more runnable work than CPUs (its load average) or stolen time."""
    gen = result.generator
    loop = gen.get("loop") or {}
    lines = []
    stalls = int(loop.get("stalls") or 0)
    if stalls:
        culprits = loop.get("culprits") or []
        by = ", ".join(str(c.get("culprit")) for c in culprits[:2]) or "unknown code"
        more = f" and {len(culprits) - 2} more" if len(culprits) > 2 else ""
        stalled = int(loop.get("stalled_requests") or 0)
        share = float(loop.get("stalled_share") or 0.0)
        lines.append(
            f"Generator: its event loop was blocked {stalls:,} time{'s' if stalls != 1 else ''},"
            f" {float(loop.get('blocked_s') or 0):.2f} s in all (longest"
            f" {fmt_ms(float(loop.get('max_stall_ms') or 0))} ms), by {by}{more};"
            f" {fmt_int(stalled)} request{'s' if stalled != 1 else ''} ({share * 100:.1f} %)"
            " were in flight across a stall, and their latencies include it. A blocking call"
            " stalls every user of its worker: "
            + (
                "in a locustfile, self.client and time.sleep let the other users run; a"
                " library's own blocking call (requests, a database driver) does not."
                if result.scenario.get("locustfile")
                else "use await user.get(...) and await asyncio.sleep(...)."
            )
        )
    else:
        lag = loop.get("lag_ms") or {}
        p99 = float(lag.get("p99") or 0.0)
        if p99 >= LAG_SHOWN_MS:
            lines.append(
                f"Generator: its event loop ran late (lag P99 {fmt_ms(p99)} ms, max"
                f" {fmt_ms(float(lag.get('max') or 0))} ms): responses waited that long to be"
                " read, and latencies include it."
            )
    machine = gen.get("machine") or {}
    cpus = int(machine.get("cpus") or 0)
    load = (machine.get("load_average") or {}).get("mean")
    steal = (machine.get("steal_pct") or {}).get("mean")
    busy = []
    if cpus and load is not None and load > cpus:
        busy.append(f"load average {load:.1f} on {cpus} CPUs")
    if steal is not None and steal >= STEAL_SHOWN_PCT:
        busy.append(f"{steal:.0f} % of CPU time stolen by the hypervisor")
    if busy:
        lines.append(
            f"Machine: busy ({', '.join(busy)}): latencies include waiting for a CPU; compare"
            " runs made in like conditions."
        )
    return lines


def threshold_lines(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """Each of the scenario's thresholds: ✓ or ✗, the rule, and what was measured."""
    found = result.threshold_results()
    if not found:
        return []
    passed = sum(t.passed for t in found)
    return [
        f"Thresholds ({passed}/{len(found)} passed)",
        rule("-", width),
        *(
            f"{'✓' if t.passed else '✗'} {t.label}  ({threshold_measured(t.metric, t.value)})"
            for t in found
        ),
        "",
    ]


def users_line(result: RunResult) -> str:
    """The summary's users: "50 planned, 12 reached, 9.8 on average", or the load as
    planned when the run did not say what it reached (an arrival-rate run's slots)."""
    return users_reached(result) or _planned(result.load)


def _planned(load: dict[str, Any]) -> str:
    """The users the load asked for (arrival rate: the slots and the rate)."""
    if load.get("mode") == "arrival-rate":
        shape = f"{load['rate']:g} req/s" if load.get("rate") else "rate following stages"
        return f"up to {fmt_int(load.get('max_users') or 0)} in flight (arrival rate, {shape})"
    return fmt_int(load.get("users") or 0)


def run_summary(result: RunResult, width: int | None = None) -> str:
    """The end-of-run summary printed by headless runs: the guide's layout, or fitted
    to ``width`` columns (:func:`tui_loadtest.report.fit.output_width`: a terminal's,
    or a sane width for a file or a pipe)."""
    fits = width or PIPED_WIDTH
    s = result.summary
    users = users_line(result)
    paused = float(result.outcome.get("paused_s") or 0)
    views = latency_views(result, fits)
    flows = flow_table(result, fits)
    checks = check_table(result, fits)
    heavy, thin = rule("=", fits), rule("-", fits)
    lines = [
        heavy,
        f"Run Summary: {result.scenario_name}",
        heavy,
        f"Host: {result.host}",
        f"Started: {result.started_at}",
        f"Test Duration: {result.duration_s:.2f} seconds"
        + (f" under load ({paused:.2f} more paused)" if paused >= 0.005 else ""),
        f"Total Requests: {fmt_int(s.requests)}",
        f"Failed Requests: {fmt_int(s.failures)}",
        f"Concurrent Users: {users}",
        *warmup_lines(result),
        *generator_lines(result),
        *note_lines(result),
        "",
        *repeat_lines(result, fits),
        "Overall Summary",
        thin,
        *overall_lines(result),
        *response_lines(result),
        "",
        *threshold_lines(result, fits),
        *(["Latency Views", thin, *views, ""] if views else []),
        *(["Scenarios", thin, *parts, ""] if (parts := scenario_table(result, fits)) else []),
        "Endpoint Performance",
        thin,
        *endpoint_table(result, fits),
        "",
        *(["Tags", thin, *tags, ""] if (tags := tag_table(result, fits)) else []),
        *(["Streams", thin, *streams, ""] if (streams := stream_table(result, fits)) else []),
        *(["Flows", thin, *flows, ""] if flows else []),
        *(["Checks", thin, *checks, ""] if checks else []),
        *(["Resources", thin, *res, ""] if (res := resource_lines(result)) else []),
        "Errors",
        thin,
        *error_table(result, fits),
        "",
        "Recommendations",
        thin,
        *numbered(recommend(result)),
    ]
    reason = result.outcome.get("reason")
    if reason:
        lines += ["", f"Run ended: {reason}."]
    return "\n".join(lines if width is None else fit_lines(lines, width))


_REPEAT_COLUMNS = (
    ("requests", "Requests"),
    ("p50_ms", "P50 ms"),
    ("p95_ms", "P95 ms"),
    ("p99_ms", "P99 ms"),
    ("rps", "Req/s"),
    ("error_rate", "Errors"),
)


def _repeat_cell(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric == "error_rate":
        return fmt_pct(value)
    if metric == "rps":
        return fmt_rate(value)
    if metric == "requests":
        return fmt_int(int(value))
    return fmt_ms(value)


@dataclass(frozen=True)
class RepeatTable:
    """``--repeat N`` as a table, for the text summary and the HTML report alike."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[str], str]]  # label, one cell per column, mark
    outlier: str


def repeat_table(result: RunResult) -> RepeatTable | None:
    """Each run's figures, their spread and the outlier run, if any (None: one run)."""
    rep = result.repeats
    if not rep:
        return None
    runs = rep.get("runs") or []
    cooldown = float(rep.get("cooldown_s") or 0)
    title = (
        f"Repeated Runs ({len(runs)} runs, {cooldown:g} s cooldown; the figures below are"
        f" run {rep.get('representative')}'s, the median P95)"
    )
    rows: list[tuple[str, list[str], str]] = []
    outlier = rep.get("outlier") or {}
    for r in runs:
        mark = "  outlier" if outlier.get("run") == r.get("run") else ""
        mark += "  interrupted" if r.get("interrupted") else ""
        cells = [_repeat_cell(m, r.get(m)) for m, _ in _REPEAT_COLUMNS]
        rows.append((f"run {r.get('run')}", cells, mark.strip()))
    spread = rep.get("spread") or {}
    for stat in ("min", "median", "max"):
        cells = [_repeat_cell(m, (spread.get(m) or {}).get(stat)) for m, _ in _REPEAT_COLUMNS]
        rows.append((stat, cells, ""))
    cvs = [(spread.get(m) or {}).get("cv") for m, _ in _REPEAT_COLUMNS]
    rows.append(("CV", ["–" if cv is None else fmt_pct(cv) for cv in cvs], ""))
    if outlier:
        metric = str(outlier.get("metric"))
        z = outlier.get("z")
        line = (
            f"Outlier: run {outlier.get('run')} ({_REPEAT_TITLES.get(metric, metric)}"
            f" {_repeat_cell(metric, outlier.get('value'))} against a median of"
            f" {_repeat_cell(metric, outlier.get('median'))}"
            + (f", modified z-score {z:.1f}" if z is not None else "")
            + "): check what else ran on the machine or the target then"
        )
    else:
        line = "Outlier: none (no run stands out from the others)"
    return RepeatTable(title, [label for _, label in _REPEAT_COLUMNS], rows, line)


def repeat_lines(result: RunResult, width: int = PIPED_WIDTH) -> list[str]:
    """``--repeat N``: each run's figures, their spread and the outlier run, if any."""
    table = repeat_table(result)
    if table is None:
        return []
    head = f"{'':<8}" + "".join(f"{label:>12}" for label in table.columns)
    lines = [table.title, rule("-", width), head]
    for label, cells, mark in table.rows:
        lines.append(f"{label:<8}" + "".join(f"{c:>12}" for c in cells)
                     + (f"  {mark}" if mark else ""))  # fmt: skip
    return [*lines, table.outlier, ""]


_REPEAT_TITLES = {"p50_ms": "P50", "p95_ms": "P95", "p99_ms": "P99", "rps": "req/s",
                  "error_rate": "error rate"}  # fmt: skip


def run_line(index: int, count: int, result: RunResult) -> str:
    """The line a headless --repeat prints as each run ends."""
    s = result.summary
    lat = s.latency
    return (
        f"run {index} of {count} done: p50 {fmt_ms(lat.p50)} p95 {fmt_ms(lat.p95)}"
        f" p99 {fmt_ms(lat.p99)} ms | {fmt_rate(s.rps)} req/s | errors {fmt_pct(s.error_rate)}"
        + (" | interrupted" if result.interrupted else "")
    )
