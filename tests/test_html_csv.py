"""HTML (self-contained, inline SVG) and Locust-compatible CSV outputs."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from tui_loadtest.compare import compare
from tui_loadtest.report import csv_export
from tui_loadtest.report.html import html_report, line_chart, write_html
from tui_loadtest.report.recommendations import recommend
from tui_loadtest.stats.histogram import Histogram

from .synthetic import HEALTH, QUERY, make_result

LOCUST_STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
LOCUST_HISTORY = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size"
)
LOCUST_FAILURES = "Method,Name,Error,Occurrences,First Seen,Last Seen"
LOCUST_EXCEPTIONS = "Count,Message,Traceback,Nodes"


def run():
    failing = replace(QUERY, failures=[("http", 503, 0.02), ("timeout", None, 0.01)])
    return make_result([HEALTH, failing], seconds=25, seed=21)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained(tmp_path: Path) -> None:
    result = run()
    path = write_html(result, str(tmp_path / "r.html"))
    text = Path(path).read_text(encoding="utf-8")
    # Nothing that could fetch: no scripts, links, sources, CSS urls or imports.
    parser = _Tags()
    parser.feed(text)
    assert parser.tags and parser.tags[0][0] == "html"
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        assert not {"src", "href", "srcset", "xlink:href"} & set(attrs), (tag, attrs)
    assert "url(" not in text and "@import" not in text
    # The only URL in the page is the target host, shown as text.
    assert re.findall(r"[a-z]+://[^\s<\"']+", text) == [result.host]


def test_html_holds_the_summary_tables_charts_and_recommendations() -> None:
    result = run()
    text = html_report(result)
    assert text.count("<svg") == 3  # req/s, percentiles, errors per second
    polylines = re.findall(r'<polyline[^>]*points="([^"]*)"', text)
    assert len(polylines) == 5
    assert all(len(p.split()) == len(result.timeline) for p in polylines)
    assert "/api/agents/{id}/query" in text and "HTTP 503" in text
    for line in recommend(result):
        assert line.replace("'", "&#x27;") in text
    assert f"{result.summary.requests:,}" in text


def test_html_escapes_what_it_shows() -> None:
    result = replace(run(), scenario_name="<script>alert(1)</script>")
    text = html_report(result)
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_html_with_a_comparison_colours_the_verdicts() -> None:
    a = make_result([HEALTH], seconds=20, seed=1)
    b = make_result([HEALTH], seconds=20, seed=2, slowdown=1.4)
    c = compare(a, b, baseline_name="v1", current_name="now")
    text = html_report(b, comparison=c)
    assert "Compared with v1" in text
    assert '<span class="worse">regressed</span>' in text
    assert 'Verdict: <span class="verdict worse">regressed</span>' in text


def test_chart_scales_to_round_ticks() -> None:
    svg = line_chart("t", [0, 1, 2], [("a", [0.0, 37.0, 12.0], "#000")])
    labels = re.findall(r'text-anchor="end">([^<]*)<', svg)
    assert labels == ["0", "10", "20", "30", "40"]


def _read(path: Path) -> tuple[str, list[dict[str, str]]]:
    text = path.read_text(encoding="utf-8")
    return text.splitlines()[0], list(csv.DictReader(text.splitlines()))


def test_csv_files_use_locust_columns(tmp_path: Path) -> None:
    result = run()
    (tmp_path / "out").mkdir()  # folders are the user's to make: none is created
    paths = csv_export.write_csv(result, tmp_path / "out" / "run")
    assert [p.name for p in paths] == [
        "run_stats.csv",
        "run_stats_history.csv",
        "run_failures.csv",
        "run_exceptions.csv",
    ]
    heads = [_read(p)[0] for p in paths]
    assert heads == [LOCUST_STATS, LOCUST_HISTORY, LOCUST_FAILURES, LOCUST_EXCEPTIONS]
    for p in paths:  # Locust's line ending on every record
        data = p.read_bytes()
        assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n")


def test_stats_csv_rows(tmp_path: Path) -> None:
    result = run()
    csv_export.write_csv(result, tmp_path / "run")
    _, rows = _read(tmp_path / "run_stats.csv")
    assert [(r["Type"], r["Name"]) for r in rows] == [
        ("GET", "/api/health"),
        ("POST", "/api/agents/{id}/query"),
        ("", "Aggregated"),
    ]
    for row, e in zip(rows, result.endpoints, strict=False):
        assert int(row["Request Count"]) == e.stats.requests
        assert int(row["Failure Count"]) == e.stats.failures
        assert float(row["95%"]) == round(e.histogram.percentile(0.95) / 1000, 3)
        assert float(row["100%"]) == round(e.histogram.max() / 1000, 3)
        assert float(row["Requests/s"]) == round(e.stats.requests / result.duration_s, 6)
    total = rows[-1]
    assert int(total["Request Count"]) == result.summary.requests
    assert float(total["Median Response Time"]) == round(result.histogram.percentile(0.5) / 1000, 3)


def test_history_csv_rows(tmp_path: Path) -> None:
    result = run()
    csv_export.write_csv(result, tmp_path / "run")
    _, rows = _read(tmp_path / "run_stats_history.csv")
    assert len(rows) == len(result.timeline)
    stamps = [int(r["Timestamp"]) for r in rows]
    assert stamps == list(range(stamps[0], stamps[0] + len(rows)))
    assert all(r["Name"] == "Aggregated" and r["Type"] == "" for r in rows)
    # Requests/s, Failures/s: Locust's "current" rates, the mean of the last 10 seconds.
    for i in (0, 4, 14, len(rows) - 1):
        recent = result.timeline[max(0, i - 9) : i + 1]
        expect = sum(p.requests for p in recent) / len(recent)
        assert float(rows[i]["Requests/s"]) == round(expect, 6)
        assert rows[i]["Requests/s"] == f"{expect:.6f}"
        assert float(rows[i]["Failures/s"]) == round(
            sum(p.failures for p in recent) / len(recent), 6
        )
    assert int(rows[-1]["Total Request Count"]) == result.summary.requests
    assert int(rows[-1]["Total Failure Count"]) == result.summary.failures
    assert float(rows[-1]["Total Max Response Time"]) == round(result.histogram.max() / 1000, 3)
    # Percentile columns: the run so far, as in Locust's Aggregated history rows.
    so_far = Histogram()
    for pairs in result.per_second[:15]:
        so_far.add_sparse(pairs)
    assert float(rows[14]["99%"]) == round(so_far.percentile(0.99) / 1000, 3)
    assert float(rows[-1]["99%"]) == round(result.histogram.percentile(0.99) / 1000, 3)
    mean = float(rows[-1]["Total Average Response Time"])
    assert abs(mean - result.summary.latency.mean) / result.summary.latency.mean < 0.004


def test_failures_csv_and_empty_rows(tmp_path: Path) -> None:
    result = run()
    csv_export.write_csv(result, tmp_path / "run")
    _, rows = _read(tmp_path / "run_failures.csv")
    assert {r["Error"].split(":")[0] for r in rows} == {"HTTP 503", "timeout"}
    assert sum(int(r["Occurrences"]) for r in rows) == result.summary.failures
    # Seen times are unknown for errors that did not record them: empty, as in Locust.
    assert {r["First Seen"] for r in rows} == {""} == {r["Last Seen"] for r in rows}
    # An endpoint without a single response writes N/A percentiles, as Locust does.
    empty = replace(result, endpoints=[replace(result.endpoints[0], histogram=Histogram())])
    _, rows = _read_text(csv_export.stats_csv(empty))
    assert rows[0]["50%"] == "N/A" and rows[0]["Median Response Time"] == "0"


def _read_text(text: str) -> tuple[str, list[dict[str, str]]]:
    return text.splitlines()[0], list(csv.DictReader(text.splitlines()))


def test_failures_seen_times_and_exceptions(tmp_path: Path) -> None:
    result = run()
    start = int(datetime.fromisoformat(result.started_at).timestamp())
    errors = [
        replace(e, first_seen_s=3.0 + i, last_seen_s=20.0) for i, e in enumerate(result.errors)
    ]
    failed = [
        "worker 1 failed: MemoryError: out of memory",
        "worker 3 failed: MemoryError: out of memory",
    ]
    result = replace(result, errors=errors, outcome={**result.outcome, "worker_errors": failed})
    csv_export.write_csv(result, tmp_path / "run")
    _, rows = _read(tmp_path / "run_failures.csv")
    by_error = {r["Error"]: r for r in rows}
    for i, e in enumerate(errors):
        text = e.label if not e.message or e.message == e.label else f"{e.label}: {e.message}"
        row = by_error[text]
        first = datetime.fromtimestamp(start + 3 + i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert row["First Seen"] == first
        assert row["Last Seen"] == datetime.fromtimestamp(start + 20, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    _, rows = _read(tmp_path / "run_exceptions.csv")
    assert rows == [
        {
            "Count": "2",
            "Message": "MemoryError: out of memory",
            "Traceback": "",
            "Nodes": "worker 1, worker 3",
        }
    ]
