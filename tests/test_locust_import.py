"""``tui-loadtest locust import``: a real Locust ``--csv`` run becomes a baseline with
Locust's own figures, nothing invented, and compare says what it could not judge."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.store import BaselineStore

from .locust_support import LocustCsvRun


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def imported(locust_csv_run: LocustCsvRun, tmp_path: Path) -> BaselineStore:
    store = tmp_path / "store.sqlite3"
    code = main(["locust", "import", str(locust_csv_run.prefix), "--name", "locust-v1",
                 "--host", "http://demo", "--store", str(store)])  # fmt: skip
    assert code == 0
    return BaselineStore(store)


def test_import_carries_locusts_figures(
    imported: BaselineStore, locust_csv_run: LocustCsvRun
) -> None:
    b = imported.load("locust-v1")
    r = b.result
    stats = _rows(locust_csv_run.file("stats"))
    total = stats[-1]
    # Counted against what the demo server itself answered.
    assert (
        r.summary.requests == int(total["Request Count"]) == locust_csv_run.server_stats["requests"]
    )
    assert r.summary.failures == int(total["Failure Count"]) > 0
    assert r.summary.latency.p95 == round(float(total["95%"]), 3)  # kept to the µs
    assert r.summary.latency.p99 == round(float(total["99%"]), 3)  # kept to the µs
    assert r.summary.latency.p999 == round(float(total["99.9%"]), 3)  # kept to the µs
    assert r.summary.latency.max == round(float(total["Max Response Time"]), 3)  # kept to the µs
    assert r.summary.latency.mean == round(
        float(total["Average Response Time"]), 3
    )  # kept to the µs
    assert r.host == "http://demo"
    by_name = {(e.method, e.name): e for e in r.endpoints}
    server = locust_csv_run.server_stats["by_route"]
    for row in stats[:-1]:
        e = by_name[(row["Type"], f"{row['Type']} {row['Name']}")]
        assert e.stats.requests == int(row["Request Count"])
        assert e.stats.latency.p50 == round(float(row["50%"]), 3)
    assert by_name[("GET", "GET /api/health")].stats.requests == server["GET /api/health"]
    assert by_name[("GET", "GET /api/agents")].stats.requests == server["GET /api/agents"]
    # Nothing invented: no histogram anywhere, and the result says what is missing.
    assert r.histogram.total == 0 and all(e.histogram.total == 0 for e in r.endpoints)
    assert r.per_second == []
    assert "histograms" in r.scenario["missing"] and "histograms" in b.metadata["missing"]
    # The history's running totals become the timeline; its last total is the run's.
    assert sum(p.requests for p in r.timeline) == int(
        _rows(locust_csv_run.file("stats_history"))[-1]["Total Request Count"]
    )
    # Failures: Locust's 404s, with their first and last time seen.
    assert sum(e.count for e in r.errors) == r.summary.failures
    assert {(e.kind, e.status) for e in r.errors} == {("http", 404)}
    assert all(e.first_seen_s is not None and e.last_seen_s >= e.first_seen_s for e in r.errors)


def test_compare_says_what_it_could_not_judge(
    imported: BaselineStore, demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = str(imported.path)
    code = main(["bench", f"{demo_url}/api/health", "400", "4", "--out", str(tmp_path / "r.json"),
                 "--save-baseline", "ours", "--store", store])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    code = main(["baselines", "compare", "locust-v1", "ours", "--json", "--store", store])
    assert code in (0, 1)  # a real verdict either way
    c = json.loads(capsys.readouterr().out)
    rows = {(r["scope"], r["metric"]): r for r in c["rows"]}
    for metric in ("p50_ms", "p95_ms", "p99_ms"):
        row = rows[("overall", metric)]
        assert row["verdict"] is None and row["baseline"] is not None  # shown, not judged
        assert "histogram" in row["not_judged"]
    assert rows[("overall", "rps")]["verdict"] is not None  # counts can still be judged
    assert rows[("overall", "error_rate")]["verdict"] is not None
    assert rows[("GET /api/health", "p95_ms")]["not_judged"]
    main(["baselines", "compare", "locust-v1", "ours", "--store", store])
    text = capsys.readouterr().out
    assert "Not judged:" in text and "no latency histogram" in text


def test_import_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "s.sqlite3")
    assert main(["locust", "import", str(tmp_path / "none"), "--name", "x", "--store", store]) == 2
    assert "none_stats.csv: no such file" in capsys.readouterr().err
    (tmp_path / "bad_stats.csv").write_text("a,b\r\n1,2\r\n", encoding="utf-8")
    assert main(["locust", "import", str(tmp_path / "bad"), "--name", "x", "--store", store]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Aggregated" in err[0]


def test_reports_of_an_import_show_what_is_missing(imported: BaselineStore) -> None:
    from tui_loadtest.report.html import html_report

    r = imported.load("locust-v1").result
    assert "per_second_percentiles" in r.missing
    page = html_report(r)
    assert "Requests per second" in page and 'aria-label="Response time percentiles"' not in page
    assert "not recorded by the source" in page


def test_csv_of_an_import_gives_locusts_figures_back(
    imported: BaselineStore, locust_csv_run: LocustCsvRun, tmp_path: Path
) -> None:
    from tui_loadtest.report.csv_export import write_csv

    write_csv(imported.load("locust-v1").result, tmp_path / "again")
    theirs = _rows(locust_csv_run.file("stats"))
    ours = _rows(tmp_path / "again_stats.csv")
    assert [(r["Type"], r["Name"], r["Request Count"]) for r in ours] == [
        (r["Type"], r["Name"], r["Request Count"]) for r in theirs
    ]
    for a, b in zip(ours, theirs, strict=True):
        for column in ("50%", "90%", "95%", "99%", "99.9%"):
            assert float(a[column]) == float(b[column]), column
        assert a["66%"] == "N/A"  # not carried: not interpolated either
