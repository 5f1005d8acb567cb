"""``--csv PREFIX``: the three CSV files Locust writes, with the same columns and meanings.

- ``PREFIX_stats.csv``: one row per endpoint, then the ``Aggregated`` row.
- ``PREFIX_stats_history.csv``: one ``Aggregated`` row per second of the run.
- ``PREFIX_failures.csv``: one row per (method, endpoint, error).

Differences worth knowing, all from measuring rather than guessing:

- times are milliseconds, as in Locust, but keep three decimals (Locust
  writes whole milliseconds, which turns every fast endpoint into 0);
- response times cover requests that got a response (Locust also times
  failed connections);
- content size counts bytes on the wire, headers included;
- the history's percentile columns cover the last 10 seconds (Locust's
  "current" window) and its ``Requests/s`` and ``Failures/s`` that second;
  its ``Total Average Content Size`` is the whole run's average, since
  bytes are not kept per second;
- per-endpoint history rows (Locust's ``--csv-full-history``) are not
  written: reports keep per-second histograms for the whole run only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..stats.histogram import Histogram, bucket_value
from ..stats.result import RunResult
from .formatting import endpoint_label
from .output_files import write_text_atomic

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
FAILURES_COLUMNS = ["Method", "Name", "Error", "Occurrences"]
AGGREGATED = "Aggregated"
WINDOW_S = 10


def write_csv(result: RunResult, prefix: str | Path) -> list[Path]:
    """Write the three files; returns their paths."""
    prefix = str(prefix)
    return [
        write_text_atomic(f"{prefix}_stats.csv", stats_csv(result), newline=""),
        write_text_atomic(f"{prefix}_stats_history.csv", history_csv(result), newline=""),
        write_text_atomic(f"{prefix}_failures.csv", failures_csv(result), newline=""),
    ]


def stats_csv(result: RunResult) -> str:
    rows: list[list[object]] = []
    duration = result.duration_s
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
            )
        )
    s = result.summary
    rows.append(
        _stats_row(
            "", AGGREGATED, s.requests, s.failures, result.histogram, s.bytes_received, duration
        )
    )
    return _render(STATS_COLUMNS, rows)


def _stats_row(
    method: str,
    name: str,
    requests: int,
    failures: int,
    hist: Histogram,
    bytes_received: int,
    duration_s: float,
) -> list[object]:
    per_s = (lambda n: n / duration_s) if duration_s > 0 else (lambda n: 0.0)
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
    recent: list[list[list[int]]] = []
    for i, point in enumerate(result.timeline):
        pairs = seconds[i] if seconds else []
        cumulative.add_sparse(pairs)
        total_requests += point.requests
        total_failures += point.failures
        recent = [*recent[-(WINDOW_S - 1) :], pairs]
        window = _merge(recent)
        rows.append(
            [
                start + point.t + 1,
                point.users,
                "",
                AGGREGATED,
                _num(point.requests),
                _num(point.failures),
                *_percentile_fields(window),
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


def failures_csv(result: RunResult) -> str:
    rows = []
    for err in sorted(result.errors, key=lambda e: (e.endpoint, e.label, -e.count)):
        text = (
            err.label
            if not err.message or err.message == err.label
            else (f"{err.label}: {err.message}")
        )
        rows.append([err.method, endpoint_label(err.method, err.endpoint), text, err.count])
    return _render(FAILURES_COLUMNS, rows)


# ----------------------------------------------------------------------- helpers


def _percentile_fields(h: Histogram) -> list[object]:
    if not h.total:
        return ["N/A"] * len(PERCENTILES)
    return [_ms(v) for v in h.percentiles(PERCENTILES)]


def _merge(seconds: Sequence[Sequence[Sequence[int]]]) -> Histogram:
    h = Histogram()
    for pairs in seconds:
        h.add_sparse(pairs)
    return h


def _midpoint_mean(h: Histogram) -> float:
    """Mean from bucket midpoints: per-second data keeps counts, not sums (within 0.4 %)."""
    total = sum(bucket_value(i) * c for i, c in enumerate(h.counts) if c)
    return total / h.total


def _epoch(started_at: str) -> int:
    try:
        return int(datetime.fromisoformat(started_at).timestamp())
    except (TypeError, ValueError):
        return 0


def _ms(us: float) -> float:
    return round(us / 1000, 3)


def _num(x: float) -> float:
    return round(float(x), 6)


def _render(columns: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
