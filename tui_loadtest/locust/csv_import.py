"""A Locust ``--csv`` run read back as a :class:`RunResult`, to keep as a baseline.

What Locust gives is carried as Locust gives it: counts, rates, min/mean/max and
its percentiles (50 %, 90 %, 95 %, 99 %, 99.9 %, 100 %) for the whole run and per
endpoint, the per-second history (users, and requests and failures from the
running totals), and the failures with their first and last time seen.

What Locust does not write is left missing, never invented: there are no latency
histograms (overall, per endpoint or per second), so the result's histograms are
empty and a comparison shows its percentiles without judging them; the history
has no per-second percentiles, so the timeline's are 0 and :data:`MISSING` says
so; bytes are Locust's body sizes, not bytes on the wire.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from ..durations import MAX_DURATION_S
from ..errors import UserError, os_reason
from ..stats.figures import MAX_COUNT, MAX_FIGURE, figures_problem
from ..stats.histogram import Histogram
from ..stats.model import ErrorRow, Latency, Stats, TimelinePoint
from ..stats.result import EndpointResult, RunResult

AGGREGATED = "Aggregated"
# What a Locust CSV run does not have (kept in the scenario section and the baseline's
# metadata, so every reader can say "not available" instead of showing a zero).
MISSING = (
    "histograms",  # no latency histograms: percentiles as Locust computed them, not judged
    "per_second_percentiles",  # the history's percentiles are of the run so far
    "corrected_latency",  # Locust runs a closed model only
    "bytes_on_wire",  # Locust counts response bodies
)
# The columns read; a file without one of them is not what Locust's --csv writes.
STATS_COLUMNS = (
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "50%",
    "90%",
    "95%",
    "99%",
    "99.9%",
)
HISTORY_COLUMNS = ("Timestamp", "User Count", "Name", "Total Request Count", "Total Failure Count")
FAILURES_COLUMNS = ("Method", "Name", "Error", "Occurrences")
PERCENTILE_COLUMNS = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%",
                      "100%")  # fmt: skip
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: the last second datetime can show
_HTTP_STATUS = re.compile(
    r"\b([1-5]\d\d) (?:Client|Server) Error\b|\bstatus(?: code)?[ =:]+([1-5]\d\d)"
)


def read_locust_csv(
    prefix: str | Path, *, host: str = "", scenario_name: str | None = None
) -> RunResult:
    """``PREFIX_stats.csv`` (required), ``PREFIX_stats_history.csv`` and ``PREFIX_failures.csv``
    as a result; a one-line UserError if unreadable. ``PREFIX_exceptions.csv`` (errors in
    the locustfile's own code) is not part of a baseline's figures and is not read.

    Every figure is checked as it is read (see :func:`_count`, :func:`_num`,
    :func:`_check_stats_row`): a file cut short, a count of 1e30, failures above
    requests or percentiles going down are one line naming the file, the line and the
    column, never a baseline that a comparison cannot take."""
    prefix = str(prefix)
    where = f"{prefix}_stats.csv"
    stats_rows = _read(where, required=True)
    history_where = f"{prefix}_stats_history.csv"
    history = _read(history_where, columns=HISTORY_COLUMNS)
    failures_where = f"{prefix}_failures.csv"
    failures = _read(failures_where, columns=FAILURES_COLUMNS)
    total_row = next((r for r in stats_rows if r.values.get("Name") == AGGREGATED), None)
    if total_row is None:
        raise UserError(f'{where}: no "Aggregated" row (not a Locust --csv stats file?)')
    _need(where, stats_rows[0].values, STATS_COLUMNS)
    summary = _stats(total_row, where)
    endpoints = []
    for r in stats_rows:
        if r is not total_row:
            method = r.values["Type"]
            name = _name(method, r.values["Name"])
            endpoints.append(EndpointResult(method, name, _stats(r, where), Histogram()))
    aggregated = [r for r in history if r.values.get("Name") == AGGREGATED]
    start = _timestamp(aggregated[0], history_where) if aggregated else 0
    duration = summary.requests / summary.rps if summary.rps > 0 else 0.0
    if duration > MAX_DURATION_S:
        raise UserError(
            f"{where} line {total_row.line} ({AGGREGATED}): {summary.requests} requests at"
            f" {summary.rps:g} Requests/s make a run longer than a year"
        )
    if not duration and len(aggregated) > 1:
        duration = float(_timestamp(aggregated[-1], history_where) - start)
    timeline = _timeline(aggregated, start, history_where)
    users = max((p.users for p in timeline), default=0)
    errors = [_error(r, start, failures_where) for r in failures]
    name = scenario_name or f"locust {Path(prefix).name}"
    result = RunResult(
        started_at=datetime.fromtimestamp(start, UTC).isoformat() if start else "",
        duration_s=duration,
        host=host,
        scenario_name=name,
        load={"model": "closed", "mode": "users", "users": users, "workers": 1},
        scenario={
            "name": name,
            "source": "locust --csv",
            "prefix": Path(prefix).name,
            "missing": list(MISSING),
        },
        summary=summary,
        histogram=Histogram(),
        endpoints=endpoints,
        errors=errors,
        timeline=timeline,
        outcome={
            "reason": "imported from Locust",
            "interrupted": False,
            # Not in the CSV; "some answered" keeps a run that got responses from
            # reading as unreachable (its histogram is empty by design).
            "connections": 1 if summary.requests > summary.failures else 0,
            "worker_errors": [],
        },
        environment={"tool_version": "locust", "python": "", "workers": 1},
        tool="locust",
        version="",
    )
    problem = figures_problem(result)  # the rows were checked; this covers the whole
    if problem:
        raise UserError(f"{prefix}: {problem}")
    return result


@dataclass(frozen=True)
class _Row:
    """A CSV row by column name, and the line it ends on (for messages)."""

    line: int
    values: dict[str, str]

    def label(self, where: str) -> str:
        """``PATH line N (NAME)``: where a figure of this row is, in a message."""
        name = self.values.get("Name") or ""
        method = self.values.get("Type") or self.values.get("Method") or ""
        shown = _name(method, name) if name else ""
        return f"{where} line {self.line}" + (f" ({shown})" if shown else "")


def _read(path: str, *, required: bool = False, columns: tuple[str, ...] = ()) -> list[_Row]:
    """The rows of a CSV file written by Locust: UTF-8 (a BOM is allowed), every row as
    wide as the header, the last one ended by a line end (Locust's are: a row without
    one was cut while the file was rewritten)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        if required:
            raise UserError(
                f"{path}: no such file (give the PREFIX Locust's --csv was given)"
            ) from None
        return []
    except OSError as exc:
        raise UserError(f"{path}: cannot read it: {os_reason(exc)}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start + 1})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    try:
        header = next(reader, None)
        if header is None:
            return []
        _need(path, dict.fromkeys(header, ""), columns)
        for cells in reader:
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                raise UserError(
                    f"{path} line {reader.line_num}: expected {len(header)} fields (as in the"
                    f" header), got {len(cells)} (a file cut short?)"
                )
            rows.append(_Row(reader.line_num, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        raise UserError(f"{path} line {reader.line_num}: cannot read it as CSV: {exc}") from None
    if text and not text.endswith(("\n", "\r")):
        raise UserError(
            f"{path} line {reader.line_num}: the last row has no line end (a file cut"
            " short while Locust wrote it?)"
        )
    return rows


def _need(path: str, row: dict[str, str], columns: tuple[str, ...]) -> None:
    for column in columns:
        if column not in row:
            raise UserError(f'{path}: no "{column}" column (not a file Locust\'s --csv wrote?)')


def _name(method: str, name: str) -> str:
    """Endpoints are named "GET /path" here (the CSV export strips the method again)."""
    return name if not method or name.startswith(f"{method} ") else f"{method} {name}"


def _num(row: _Row, column: str, where: str) -> float:
    text = (row.values.get(column) or "").strip()
    if text in ("", "N/A"):
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_FIGURE):
        raise UserError(
            f"{row.label(where)}: {column}: expected a number from 0 to {MAX_FIGURE:g},"
            f" got {text!r}"
        )
    return value


def _count(row: _Row, column: str, where: str) -> int:
    """A count: a whole number a run can reach (1e30 overflowed the store)."""
    text = (row.values.get(column) or "").strip()
    if text in ("", "N/A"):
        return 0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer() and 0 <= value <= MAX_COUNT):
        raise UserError(
            f"{row.label(where)}: {column}: expected a whole number from 0 to {MAX_COUNT},"
            f" got {text!r}"
        )
    return int(value)


def _timestamp(row: _Row, where: str) -> int:
    text = (row.values.get("Timestamp") or "").strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_TIMESTAMP):
        raise UserError(
            f"{row.label(where)}: Timestamp: expected a Unix time from 0 to {MAX_TIMESTAMP}"
            f" (year 9999), got {text!r}"
        )
    return int(value)


def _stats(row: _Row, where: str) -> Stats:
    requests = _count(row, "Request Count", where)
    failures = _count(row, "Failure Count", where)
    if failures > requests:
        raise UserError(
            f"{row.label(where)}: Failure Count {failures} is more than Request Count {requests}"
        )
    percentiles = [(c, _num(row, c, where)) for c in PERCENTILE_COLUMNS if _given(row, c)]
    for (low, a), (high, b) in pairwise(percentiles):
        if b < a:
            raise UserError(
                f"{row.label(where)}: {high} ({b:g} ms) is below {low} ({a:g} ms):"
                " percentiles never decrease"
            )
    latency = Latency(
        min=_num(row, "Min Response Time", where),
        mean=_num(row, "Average Response Time", where),
        p50=_num(row, "50%", where),
        p90=_num(row, "90%", where),
        p95=_num(row, "95%", where),
        p99=_num(row, "99%", where),
        p999=_num(row, "99.9%", where),
        max=_num(row, "Max Response Time", where),
    )
    return Stats(
        requests=requests,
        failures=failures,
        rps=_num(row, "Requests/s", where),
        bytes_received=round(_num(row, "Average Content Size", where) * requests),
        latency=latency,
    )


def _given(row: _Row, column: str) -> bool:
    return (row.values.get(column) or "").strip() not in ("", "N/A")


def _timeline(rows: list[_Row], start: int, where: str) -> list[TimelinePoint]:
    """One point per second from the running totals (Locust writes about once a second)."""
    points: list[TimelinePoint] = []
    last_requests = last_failures = 0
    last_t = -1
    for row in rows:
        t = _timestamp(row, where) - start
        requests = _count(row, "Total Request Count", where)
        failures = _count(row, "Total Failure Count", where)
        if failures > requests:
            raise UserError(
                f"{row.label(where)}: Total Failure Count {failures} is more than"
                f" Total Request Count {requests}"
            )
        users = _count(row, "User Count", where)
        if t <= last_t:
            continue  # two writes in one second: the later total counts in the next
        points.append(
            TimelinePoint(
                t=t,
                requests=max(0, requests - last_requests),
                failures=max(0, failures - last_failures),
                users=users,
                p50_ms=0.0,  # not in Locust's history (MISSING)
                p95_ms=0.0,
                p99_ms=0.0,
            )
        )
        last_requests, last_failures, last_t = requests, failures, t
    return points


def _error(row: _Row, start: int, where: str) -> ErrorRow:
    text = row.values.get("Error", "")
    match = _HTTP_STATUS.search(text)
    status = int(match.group(1) or match.group(2)) if match else None
    method = row.values.get("Method", "")
    return ErrorRow(
        kind="http" if status else "other",
        status=status,
        endpoint=_name(method, row.values.get("Name", "")),
        method=method,
        count=_count(row, "Occurrences", where),
        message=text,
        first_seen_s=_seen(row.values.get("First Seen"), start),
        last_seen_s=_seen(row.values.get("Last Seen"), start),
    )


def _seen(text: str | None, start: int) -> float | None:
    if not text or not start:
        return None
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return max(0.0, when.timestamp() - start)
