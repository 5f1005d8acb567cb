"""``--csv PREFIX``: the four CSV files Locust writes, with its headers, meanings and
line endings (``\r\n``, as Python's csv module writes by default).

- ``PREFIX_stats.csv``: one row per endpoint, then the ``Aggregated`` row.
- ``PREFIX_stats_history.csv``: one ``Aggregated`` row per second of the run.
- ``PREFIX_failures.csv``: one row per (method, endpoint, error), with the UTC
  seconds it was first and last seen.
- ``PREFIX_exceptions.csv``: errors of the load generator itself (Locust: an
  exception raised in a task; here: a worker process that failed), never
  request failures.
- ``PREFIX_checks.csv`` (runs with checks only; Locust has no checks): one row per
  check, its endpoint, passes, failures and pass rate.

Differences worth knowing, all from measuring rather than guessing:

- times are milliseconds, as in Locust, but keep three decimals (Locust
  writes whole milliseconds, which turns every fast endpoint into 0);
- response times cover requests that got a response (Locust also times
  failed connections);
- content size counts bytes on the wire, headers included;
- the history's ``Requests/s`` and ``Failures/s`` are the mean of the last
  10 seconds (Locust's "current" rates), its percentile and ``Total`` columns
  cover the run so far (as Locust's Aggregated history rows do), and its
  ``Total Average Content Size`` is the whole run's average, since bytes are
  not kept per second;
- ``First Seen``/``Last Seen`` are the start of the second the error was
  first/last counted in; reports written before they were kept leave them
  empty, as Locust does for an unknown time;
- the exceptions' ``Traceback`` is empty: a failed worker's traceback is in
  the log file named by the run;
- per-endpoint history rows (Locust's ``--csv-full-history``) are not
  written: reports keep per-second histograms for the whole run only;
- the stats file has columns Locust does not write, after its own (so readers
  that go by column name, or read Locust's columns by position, still read it):
  ``TTFB Median``, ``TTFB 95%`` and ``TTFB 99%`` (time to first byte, ms) when the
  run measured it, and with streams ``TTFT Median``, ``TTFT 95%``, ``Inter-event
  Median``, ``Inter-event 95%`` (ms), ``Events/Stream`` and ``Tokens/s`` (per stream,
  after its first token), empty for an endpoint that does not stream.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from ..stats.histogram import Histogram, bucket_value
from ..stats.model import Latency, StreamStats
from ..stats.result import RunResult
from .formatting import endpoint_label
from .output_files import write_output

PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
PERCENTILE_COLUMNS = [
    f"{int(p * 100)}%" if float(p * 100).is_integer() else f"{round(p * 100, 6)}%"
    for p in PERCENTILES
]
STATS_COLUMNS = [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
    *PERCENTILE_COLUMNS,
]
HISTORY_COLUMNS = [
    "Timestamp",
    "User Count",
    "Type",
    "Name",
    "Requests/s",
    "Failures/s",
    *PERCENTILE_COLUMNS,
    "Total Request Count",
    "Total Failure Count",
    "Total Median Response Time",
    "Total Average Response Time",
    "Total Min Response Time",
    "Total Max Response Time",
    "Total Average Content Size",
]
FAILURES_COLUMNS = ["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"]
EXCEPTIONS_COLUMNS = ["Count", "Message", "Traceback", "Nodes"]
CHECKS_COLUMNS = ["Name", "Check", "Passed", "Failed", "Pass Rate", "Soft"]
AGGREGATED = "Aggregated"
WINDOW_S = 10
LINE_END = "\r\n"  # Locust's: csv.writer's default, written through a text file on POSIX


def csv_file_names(prefix: str | Path, checks: bool = False) -> list[str]:
    """The four files ``--csv PREFIX`` writes (five with ``checks``)."""
    suffixes = ("stats", "stats_history", "failures", "exceptions", "checks")
    return [f"{prefix}_{suffix}.csv" for suffix in suffixes[: 5 if checks else 4]]


def csv_files(result: RunResult, prefix: str | Path) -> list[tuple[str, str]]:
    """(file name, CSV text) for each of the four files, and the checks' when it ran any."""
    texts = [stats_csv(result), history_csv(result), failures_csv(result), exceptions_csv(result)]
    if result.checks:
        texts.append(checks_csv(result))
    return list(zip(csv_file_names(prefix, bool(result.checks)), texts, strict=True))


def write_csv(result: RunResult, prefix: str | Path) -> list[Path]:
    """Write the four files (by the output-file rules); returns their paths."""
    return [write_output(name, text, newline="") for name, text in csv_files(result, prefix)]


TTFB_COLUMNS = ["TTFB Median", "TTFB 95%", "TTFB 99%"]
STREAM_COLUMNS = [
    "TTFT Median",
    "TTFT 95%",
    "Inter-event Median",
    "Inter-event 95%",
    "Events/Stream",
    "Tokens/s",
]


def stats_csv(result: RunResult) -> str:
    rows: list[list[object]] = []
    given = "histograms" in result.missing  # e.g. a Locust import: its figures as given
    duration = result.duration_s
    ttfb = result.summary.ttfb is not None  # Locust's columns, then what it lacks
    streams = result.summary.stream is not None
    for e in result.endpoints:
        rows.append(
            _stats_row(
                e.method,
                e.name,
                e.stats.requests,
                e.stats.failures,
                e.histogram,
                e.stats.bytes_received,
                duration,
                e.stats.latency if given else None,
            )
            + (_ttfb_fields(e.stats.ttfb) if ttfb else [])
            + (_stream_fields(e.stats.stream) if streams else [])
        )
    s = result.summary
    rows.append(
        _stats_row(
            "",
            AGGREGATED,
            s.requests,
            s.failures,
            result.histogram,
            s.bytes_received,
            duration,
            s.latency if given else None,
        )
        + (_ttfb_fields(s.ttfb) if ttfb else [])
        + (_stream_fields(s.stream) if streams else [])
    )
    extra = (TTFB_COLUMNS if ttfb else []) + (STREAM_COLUMNS if streams else [])
    return _render(STATS_COLUMNS + extra, rows)


def _stream_fields(st: StreamStats | None) -> list[object]:
    if st is None:
        return [""] * len(STREAM_COLUMNS)
    return [
        round(st.ttft.p50, 3),
        round(st.ttft.p95, 3),
        round(st.inter_event.p50, 3),
        round(st.inter_event.p95, 3),
        _num(st.events_per_stream),
        _num(st.output_tokens_per_s),
    ]


def _ttfb_fields(lat: Latency | None) -> list[object]:
    if lat is None:
        return ["N/A"] * len(TTFB_COLUMNS)
    return [round(lat.p50, 3), round(lat.p95, 3), round(lat.p99, 3)]


def _stats_row(
    method: str,
    name: str,
    requests: int,
    failures: int,
    hist: Histogram,
    bytes_received: int,
    duration_s: float,
    latency: Latency | None = None,
) -> list[object]:
    per_s = (lambda n: n / duration_s) if duration_s > 0 else (lambda n: 0.0)
    if latency is not None:
        # No histogram, but the figures of the source (a Locust import): written as given.
        return [
            method,
            endpoint_label(method, name) if method else name,
            requests,
            failures,
            latency.p50,
            latency.mean,
            latency.min,
            latency.max,
            _num(bytes_received / requests) if requests else 0,
            _num(per_s(requests)),
            _num(per_s(failures)),
            *(_given(latency, p) for p in PERCENTILES),
        ]
    return [
        method,
        endpoint_label(method, name) if method else name,
        requests,
        failures,
        _ms(hist.percentile(0.5)) if hist.total else 0,
        _ms(hist.mean()) if hist.total else 0,
        _ms(hist.min()) if hist.total else 0,
        _ms(hist.max()) if hist.total else 0,
        _num(bytes_received / requests) if requests else 0,
        _num(per_s(requests)),
        _num(per_s(failures)),
        *_percentile_fields(hist),
    ]


def history_csv(result: RunResult) -> str:
    rows: list[list[object]] = []
    start = _epoch(result.started_at)
    s = result.summary
    avg_size = _num(s.bytes_received / s.requests) if s.requests else 0
    seconds = result.per_second if len(result.per_second) == len(result.timeline) else []
    cumulative = Histogram()
    total_requests = total_failures = 0
    for i, point in enumerate(result.timeline):
        cumulative.add_sparse(seconds[i] if seconds else [])
        total_requests += point.requests
        total_failures += point.failures
        recent = result.timeline[max(0, i + 1 - WINDOW_S) : i + 1]
        rows.append(
            [
                start + point.t + 1,
                point.users,
                "",
                AGGREGATED,
                f"{sum(p.requests for p in recent) / len(recent):.6f}",
                f"{sum(p.failures for p in recent) / len(recent):.6f}",
                *_percentile_fields(cumulative),
                total_requests,
                total_failures,
                _ms(cumulative.percentile(0.5)) if cumulative.total else 0,
                _ms(_midpoint_mean(cumulative)) if cumulative.total else 0,
                _ms(cumulative.min()) if cumulative.total else 0,
                _ms(cumulative.max()) if cumulative.total else 0,
                avg_size,
            ]
        )
    return _render(HISTORY_COLUMNS, rows)


def from_locustfile(result: RunResult) -> bool:
    """A locustfile's run: its failure messages are Locust's own (``HTTPError('404 ...')``)
    and its tasks' exceptions go in the exceptions file, as Locust writes them."""
    return bool(result.scenario.get("locustfile"))


def failures_csv(result: RunResult) -> str:
    start = _epoch(result.started_at)
    rows = []
    locust = from_locustfile(result)
    for err in sorted(result.errors, key=lambda e: (e.endpoint, e.label, -e.count)):
        if locust and err.kind == "script":
            continue  # a task's exception, not a request's failure: the exceptions file
        text = (
            err.label
            if not err.message or err.message == err.label
            else err.message
            if locust
            else (f"{err.label}: {err.message}")
        )
        rows.append(
            [
                err.method,
                endpoint_label(err.method, err.endpoint),
                text,
                err.count,
                _utc(start, err.first_seen_s),
                _utc(start, err.last_seen_s),
            ]
        )
    return _render(FAILURES_COLUMNS, rows)


def exceptions_csv(result: RunResult) -> str:
    """One row per distinct failure of a worker process (``worker N failed: message``)."""
    grouped: dict[str, list[str]] = {}
    for line in result.outcome.get("worker_errors") or []:
        node, sep, message = str(line).partition(" failed: ")
        if not sep:
            node, message = "", str(line)
        grouped.setdefault(message, []).append(node)
    rows = [
        [len(nodes), message, "", ", ".join(n for n in nodes if n)]
        for message, nodes in grouped.items()
    ]
    if from_locustfile(result):  # the tasks' exceptions, as Locust lists them
        rows += [
            [err.count, err.message, f"in task {err.endpoint}", "local"]
            for err in result.errors
            if err.kind == "script"
        ]
    return _render(EXCEPTIONS_COLUMNS, rows)


# ----------------------------------------------------------------------- helpers


def checks_csv(result: RunResult) -> str:
    """One row per check: its endpoint, name, passes, failures, pass rate and softness."""
    rows: list[list[object]] = [
        [c.endpoint, c.name, c.passed, c.failed, round(c.pass_rate, 6), "yes" if c.soft else "no"]
        for c in result.checks
    ]
    return _render(CHECKS_COLUMNS, rows)


def _percentile_fields(h: Histogram) -> list[object]:
    if not h.total:
        return ["N/A"] * len(PERCENTILES)
    return [_ms(v) for v in h.percentiles(PERCENTILES)]


def _midpoint_mean(h: Histogram) -> float:
    """Mean from bucket midpoints: per-second data keeps counts, not sums (within 0.4 %)."""
    total = sum(bucket_value(i) * c for i, c in enumerate(h.counts) if c)
    return total / h.total


def _epoch(started_at: str) -> int:
    try:
        return int(datetime.fromisoformat(started_at).timestamp())
    except (TypeError, ValueError):
        return 0


_GIVEN = {0.5: "p50", 0.9: "p90", 0.95: "p95", 0.99: "p99", 0.999: "p999", 1.0: "max"}


def _given(latency: Latency, q: float) -> object:
    """A percentile the result carries without a histogram, else N/A (never interpolated)."""
    attr = _GIVEN.get(q)
    return getattr(latency, attr) if attr else "N/A"


def _utc(start: int, offset_s: float | None) -> str:
    """Locust's timestamp format (``2024-01-01T12:00:05Z``); empty when unknown."""
    if offset_s is None or not start:
        return ""
    return datetime.fromtimestamp(int(start + offset_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(us: float) -> float:
    return round(us / 1000, 3)


def _num(x: float) -> float:
    return round(float(x), 6)


def _render(columns: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=LINE_END)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
