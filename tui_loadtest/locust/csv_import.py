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
import re
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UserError
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
_HTTP_STATUS = re.compile(
    r"\b([1-5]\d\d) (?:Client|Server) Error\b|\bstatus(?: code)?[ =:]+([1-5]\d\d)"
)


def read_locust_csv(
    prefix: str | Path, *, host: str = "", scenario_name: str | None = None
) -> RunResult:
    """``PREFIX_stats.csv`` (required), ``PREFIX_stats_history.csv`` and ``PREFIX_failures.csv``
    as a result; a one-line UserError if unreadable. ``PREFIX_exceptions.csv`` (errors in
    the locustfile's own code) is not part of a baseline's figures and is not read."""
    prefix = str(prefix)
    stats_rows = _read(f"{prefix}_stats.csv", required=True)
    history = _read(f"{prefix}_stats_history.csv")
    failures = _read(f"{prefix}_failures.csv")
    where = f"{prefix}_stats.csv"
    total_row = next((r for r in stats_rows if r.get("Name") == AGGREGATED), None)
    if total_row is None:
        raise UserError(f'{where}: no "Aggregated" row (not a Locust --csv stats file?)')
    summary = _stats(total_row, where)
    endpoints = [
        EndpointResult(r["Type"], _name(r["Type"], r["Name"]), _stats(r, where), Histogram())
        for r in stats_rows
        if r is not total_row
    ]
    aggregated = [r for r in history if r.get("Name") == AGGREGATED]
    start = _int(aggregated[0], "Timestamp", f"{prefix}_stats_history.csv") if aggregated else 0
    duration = summary.requests / summary.rps if summary.rps > 0 else 0.0
    if not duration and len(aggregated) > 1:
        duration = float(_int(aggregated[-1], "Timestamp", "") - start)
    timeline = _timeline(aggregated, start, f"{prefix}_stats_history.csv")
    users = max((p.users for p in timeline), default=0)
    errors = [_error(r, start, f"{prefix}_failures.csv") for r in failures]
    name = scenario_name or f"locust {Path(prefix).name}"
    return RunResult(
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


def _read(path: str, *, required: bool = False) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        if required:
            raise UserError(
                f"{path}: no such file (give the PREFIX Locust's --csv was given)"
            ) from None
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot read it as CSV: {exc}") from None
    return rows


def _name(method: str, name: str) -> str:
    """Endpoints are named "GET /path" here (the CSV export strips the method again)."""
    return name if not method or name.startswith(f"{method} ") else f"{method} {name}"


def _num(row: dict[str, str], column: str, where: str) -> float:
    text = (row.get(column) or "").strip()
    if text in ("", "N/A"):
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{where}: column {column!r}: expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise UserError(f"{where}: column {column!r}: expected a number >= 0, got {text!r}")
    return value


def _int(row: dict[str, str], column: str, where: str) -> int:
    return int(_num(row, column, where))


def _stats(row: dict[str, str], where: str) -> Stats:
    if "Request Count" not in row or "95%" not in row:
        raise UserError(f"{where}: not a Locust --csv stats file (no Request Count or 95% column)")
    requests = _int(row, "Request Count", where)
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
        failures=_int(row, "Failure Count", where),
        rps=_num(row, "Requests/s", where),
        bytes_received=round(_num(row, "Average Content Size", where) * requests),
        latency=latency,
    )


def _timeline(rows: list[dict[str, str]], start: int, where: str) -> list[TimelinePoint]:
    """One point per second from the running totals (Locust writes about once a second)."""
    points: list[TimelinePoint] = []
    last_requests = last_failures = 0
    last_t = -1
    for row in rows:
        t = _int(row, "Timestamp", where) - start
        requests = _int(row, "Total Request Count", where)
        failures = _int(row, "Total Failure Count", where)
        if t <= last_t:
            continue  # two writes in one second: the later total counts in the next
        points.append(
            TimelinePoint(
                t=t,
                requests=max(0, requests - last_requests),
                failures=max(0, failures - last_failures),
                users=_int(row, "User Count", where),
                p50_ms=0.0,  # not in Locust's history (MISSING)
                p95_ms=0.0,
                p99_ms=0.0,
            )
        )
        last_requests, last_failures, last_t = requests, failures, t
    return points


def _error(row: dict[str, str], start: int, where: str) -> ErrorRow:
    text = row.get("Error", "")
    match = _HTTP_STATUS.search(text)
    status = int(match.group(1) or match.group(2)) if match else None
    method = row.get("Method", "")
    return ErrorRow(
        kind="http" if status else "other",
        status=status,
        endpoint=_name(method, row.get("Name", "")),
        method=method,
        count=_int(row, "Occurrences", where),
        message=text,
        first_seen_s=_seen(row.get("First Seen"), start),
        last_seen_s=_seen(row.get("Last Seen"), start),
    )


def _seen(text: str | None, start: int) -> float | None:
    if not text or not start:
        return None
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return max(0.0, when.timestamp() - start)
