"""``locust import`` against hostile CSV files, each made from a real Locust run's files by
one edit: stored with Locust's figures, or one line and exit 2; never exit 70, a
traceback, or figures a comparison cannot take (issue 24 item 14).

The cases the hostile pass found are listed one by one; a property-based test then
applies generated edits (cut anywhere, a field replaced by anything, a column renamed)
and checks the same promise, and that whatever was stored compares.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_loadtest.cli import main
from tui_loadtest.compare import compare
from tui_loadtest.stats.figures import figures_problem
from tui_loadtest.store import BaselineStore

from .locust_support import LocustCsvRun
from .serve_support import results_dir  # noqa: F401

FILES = ("stats", "stats_history", "failures")
Edit = Callable[[Path], None]


def _copy(run: LocustCsvRun, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for suffix in FILES:
        shutil.copy(run.file(suffix), folder / f"locust_{suffix}.csv")
    return folder / "locust"


def _import(prefix: Path, store: Path, name: str = "x") -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["locust", "import", str(prefix), "--name", name, "--store", str(store),
                     "--overwrite"])  # fmt: skip
    return code, err.getvalue().strip().splitlines()


def _file(prefix: Path, suffix: str) -> Path:
    return Path(f"{prefix}_{suffix}.csv")


def _cut(suffix: str, n: int) -> Edit:
    """The last n bytes gone: Locust killed while it rewrote the file."""
    return lambda p: _file(p, suffix).write_bytes(_file(p, suffix).read_bytes()[:-n])


def _field(suffix: str, column: str, value: str, row: int = -1) -> Edit:
    """One field of one row (the last: Aggregated, in stats) replaced."""

    def edit(p: Path) -> None:
        path = _file(p, suffix)
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        cells = lines[row].split(",")
        cells[header.index(column)] = value
        lines[row] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def _header(suffix: str, old: str, new: str) -> Edit:
    def edit(p: Path) -> None:
        path = _file(p, suffix)
        text = path.read_text(encoding="utf-8")
        head, _, rest = text.partition("\n")
        path.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")

    return edit


# (case, the edit, what the one line says)
HOSTILE: list[tuple[str, Edit, str]] = [
    ("truncated last stats row", _cut("stats", 60), "locust_stats.csv line 5: expected 22 fields"),
    ("last stats number cut", _cut("stats", 2), "locust_stats.csv line 5: the last row has"),
    ("truncated history row", _cut("stats_history", 80), "locust_stats_history.csv line"),
    ("truncated failures row", _cut("failures", 30), "locust_failures.csv line 2: "),
    ("no Type column", _header("stats", "Type,", "Kind,"), 'no "Type" column'),
    ("no Occurrences column", _header("failures", "Occurrences", "N"), 'no "Occurrences" column'),
    ("a count of 1e30", _field("stats", "Request Count", "1e30"),
     "line 5 (Aggregated): Request Count: expected a whole number from 0 to"),
    ("a count of 1e30 on an endpoint", _field("stats", "Request Count", "1e30", row=1),
     "line 2 (GET /api/agents): Request Count: expected a whole number"),
    ("a fractional count", _field("stats", "Failure Count", "1.5"),
     "Failure Count: expected a whole"),
    ("a negative count", _field("stats", "Failure Count", "-1"), "Failure Count: expected a whole"),
    ("occurrences of 1e30", _field("failures", "Occurrences", "1e30", row=1), "Occurrences"),
    ("a timestamp out of range", _field("stats_history", "Timestamp", "99999999999999", row=1),
     "Timestamp: expected a Unix time from 0 to 253402300799"),
    ("a timestamp of 1e30", _field("stats_history", "Timestamp", "1e30", row=1), "Timestamp"),
    ("failures above requests", _field("stats", "Failure Count", "500"),
     "line 5 (Aggregated): Failure Count 500 is more than Request Count"),
    ("history failures above requests",
     _field("stats_history", "Total Failure Count", "1000000000"),
     "Total Failure Count 1000000000 is more than Total Request Count"),
    ("percentiles going down", _field("stats", "99%", "0"),
     "line 5 (Aggregated): 99% (0 ms) is below 98%"),
    ("a rate of 1e300", _field("stats", "Requests/s", "1e300"), "Requests/s: expected a number"),
    ("a response time of NaN", _field("stats", "95%", "NaN"), "95%: expected a number"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_malformed_csv_is_one_line_and_exit_2(
    locust_csv_run: LocustCsvRun, tmp_path: Path, case: str, edit: Edit, message: str
) -> None:
    prefix = _copy(locust_csv_run, tmp_path / "run")
    edit(prefix)
    code, err = _import(prefix, tmp_path / "s.sqlite3")
    assert code == 2 and len(err) == 1, (code, err)
    assert err[0].startswith("tui-loadtest: error: ") and message in err[0], err[0]
    assert "Traceback" not in err[0] and "internal error" not in err[0]


def test_a_utf8_bom_is_read_as_the_same_file(locust_csv_run: LocustCsvRun, tmp_path: Path) -> None:
    """Excel and Windows tools save CSV with a BOM: the figures are the same as without."""
    plain = _copy(locust_csv_run, tmp_path / "plain")
    marked = _copy(locust_csv_run, tmp_path / "bom")
    for suffix in FILES:
        _file(marked, suffix).write_bytes(b"\xef\xbb\xbf" + _file(marked, suffix).read_bytes())
    store = tmp_path / "s.sqlite3"
    assert _import(plain, store, "plain")[0] == 0
    assert _import(marked, store, "bom")[0] == 0
    a, b = (BaselineStore(store).load(n).result for n in ("plain", "bom"))
    assert a.summary == b.summary and a.errors == b.errors
    assert [(e.name, e.stats) for e in a.endpoints] == [(e.name, e.stats) for e in b.endpoints]
    assert a.timeline == b.timeline


# -------------------------------------------------------------------- generated edits

HOSTILE_VALUES = ["", "N/A", "abc", "-1", "0", "1.5", "1e30", "1e308", "inf", "NaN", "9" * 30,
                  "99999999999999", '"', "\x00", " 7 ", "2", "100000"]  # fmt: skip


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str, int, int, str]:
    suffix = draw(st.sampled_from(FILES))
    how = draw(st.sampled_from(["cut", "field", "header", "bom"]))
    return (
        suffix,
        how,
        draw(st.integers(0, 10_000)),
        draw(st.integers(0, 50)),
        draw(st.sampled_from(HOSTILE_VALUES) | st.text(max_size=6)),
    )


def _apply(prefix: Path, edit: tuple[str, str, int, int, str]) -> None:
    suffix, how, at, column, value = edit
    path = _file(prefix, suffix)
    raw = path.read_bytes()
    if how == "cut":
        path.write_bytes(raw[: at % (len(raw) + 1)])
    elif how == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + raw)
    else:
        lines = raw.decode("utf-8").split("\n")
        row = 0 if how == "header" else 1 + at % max(1, len(lines) - 2)
        cells = lines[row].split(",")
        cells[column % len(cells)] = value.replace("\n", " ").replace(",", ";")
        lines[row] = ",".join(cells)
        path.write_bytes("\n".join(lines).encode("utf-8"))


@settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.lists(edits(), min_size=1, max_size=3))
def test_generated_edits_are_stored_or_one_line(
    locust_csv_run: LocustCsvRun, tmp_path_factory: pytest.TempPathFactory, changes: list
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    prefix = _copy(locust_csv_run, folder / "run")
    for change in changes:
        _apply(prefix, change)
    store = folder / "s.sqlite3"
    code, err = _import(prefix, store)
    assert code in (0, 2) and len(err) == 1, (code, err)
    assert "internal error" not in err[0] and "Traceback" not in err[0]
    if code == 0:
        result = BaselineStore(store).load("x").result
        assert figures_problem(result) is None
        compare(result, result)  # what was stored can be compared


# ---------------------------------------- the same figures from a report, or a store


def _impossible(data: dict, how: str) -> dict:
    if how == "failures":
        data["summary"]["failures"] = data["summary"]["requests"] + 1
    else:  # percentiles are read from the histograms when there are some: here none
        data.pop("histograms")
        data["summary"]["latency_ms"]["p99"] = data["summary"]["latency_ms"]["p95"] / 2
    return data


@pytest.mark.parametrize(("how", "message"), [
    ("failures", "summary: failures (301) are more than requests (300)"),
    ("percentiles", "summary: latency: p99"),
])  # fmt: skip
def test_a_report_with_impossible_figures_is_refused(
    tmp_path: Path, demo_url: str, how: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    """serve's inline reports, report files given to the CLI: one line, 422 or exit 2."""
    import json

    import httpx

    from tests.serve_support import REPORT, make_results, running_api

    results = make_results(tmp_path / "results", demo_url)
    data = _impossible(json.loads((results / REPORT).read_text()), how)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    capsys.readouterr()
    store = str(tmp_path / "cli.sqlite3")
    assert main(["baselines", "import", str(bad), "--name", "bad", "--store", store]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    for api in running_api(tmp_path, results):
        body = {"test_results": data, "baseline_name": "bad"}
        r = httpx.post(f"{api.url}/api/load-test/baseline", json=body, trust_env=False)
        assert r.status_code == 422 and message in r.json()["detail"], r.text
        assert not api.store.exists("bad")


def test_compare_refuses_a_stored_run_that_cannot_be_true(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    results_dir: Path,  # noqa: F811
) -> None:
    """A store written before imports were checked may hold such a run: compare says so
    in one line (exit 2; 422 from serve) instead of 'math domain error' (exit 70; 500)."""
    import dataclasses

    import httpx

    from tests.serve_support import running_api
    from tui_loadtest.baselines import make_baseline
    from tui_loadtest.report.json_report import read_report

    from .serve_support import REPORT

    good = read_report(results_dir / REPORT)
    bad = dataclasses.replace(
        good, summary=dataclasses.replace(good.summary, failures=good.summary.requests * 5)
    )
    for api in running_api(tmp_path, results_dir):
        api.store.save(make_baseline(good, "good", source="test"))
        api.store.save(make_baseline(bad, "legacy", source="test"))  # the store takes it as is
        store = str(api.store.path)
        capsys.readouterr()
        assert main(["baselines", "compare", "legacy", "good", "--store", store]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "legacy: summary: failures" in err[0], err
        assert "cannot be compared" in err[0]
        r = httpx.get(f"{api.url}/api/load-test/compare", params={"baseline": "good",
                      "run": "legacy"}, trust_env=False)  # fmt: skip
        assert r.status_code == 422 and "legacy: summary: failures" in r.json()["detail"]
