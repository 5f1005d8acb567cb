"""The typed report format: old files still load, bad ones fail on one line naming the
field, and the published JSON Schema matches what the writer writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tui_loadtest.cli import main
from tui_loadtest.report.json_report import read_report, write_report
from tui_loadtest.stats.report_format import SCHEMA_VERSION, report_schema
from tui_loadtest.store import BaselineStore

from .report_schema import problems_in

FIXTURES = Path(__file__).parent / "fixtures"
# Written by tui-loadtest before the typed format (commit 55abafb): "format": 1, no
# schema_version. The store holds the same two runs as baselines closed-v1 and open-v1.
CLOSED = FIXTURES / "report_format1_closed.json"
OPEN = FIXTURES / "report_format1_open.json"
EXPORTED = FIXTURES / "baseline_export_format1.json"
STORE = FIXTURES / "store_format1.sqlite3"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [CLOSED, OPEN], ids=["closed", "open"])
def test_a_format_1_report_loads_and_is_rewritten_with_the_same_keys_and_figures(
    path: Path, tmp_path: Path
) -> None:
    old = load(path)
    assert old["format"] == 1 and "schema_version" not in old
    result = read_report(path)
    assert result.summary.requests == old["summary"]["requests"] > 0
    assert result.histogram.total == old["histograms"]["total"]["count"]
    assert result.open_model == (old["load"]["mode"] == "arrival-rate")
    out = write_report(result, tmp_path / "again.json")
    new = load(out)
    assert new.pop("schema_version") == SCHEMA_VERSION
    # Added: each threshold of the scenario with what was measured.
    labels = [t["label"] for t in old["scenario"]["thresholds"]]
    assert [t["label"] for t in new.pop("thresholds")] == labels and labels
    # Added since: bytes sent, responses by status and redirects followed (0, {} and 0
    # for a file without them).
    for stats in (new["summary"], *new["endpoints"]):
        assert stats.pop("bytes_sent") == 0 and stats.pop("status_codes") == {}
        assert stats.pop("redirects") == 0
    assert new == old  # nothing lost, nothing renamed, same meanings


def test_an_exported_baseline_imports_with_its_name_and_date(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    store = tmp_path / "s.sqlite3"
    assert main(["baselines", "import", str(EXPORTED), "--store", str(store)]) == 0
    block = load(EXPORTED)["baseline"]
    got = BaselineStore(store).load(block["name"])
    assert got.created_at == block["created_at"]
    assert got.metadata["source"] == block["metadata"]["source"]
    assert got.result.summary.requests == load(EXPORTED)["summary"]["requests"]


def test_baselines_in_a_format_1_store_still_load(tmp_path: Path) -> None:
    copy = tmp_path / "old.sqlite3"
    shutil.copyfile(STORE, copy)
    store = BaselineStore(copy)
    assert store.names() == ["closed-v1", "open-v1"]
    closed, opened = store.load("closed-v1"), store.load("open-v1")
    assert closed.result.summary.requests == load(CLOSED)["summary"]["requests"]
    assert opened.result.open_model and opened.result.summary.service is not None


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (lambda d: d["summary"].update(requests="abc"),
         'summary.requests: expected an integer, got "abc"'),
        (lambda d: d["endpoints"][1].pop("failures"), "endpoints[1].failures: missing"),
        (lambda d: d["timeline"][0].update(paused="no"),
         'timeline[0].paused: expected true or false, got "no"'),
        (lambda d: d["histograms"]["total"].update(buckets=[[1, 2, 3]]),
         "histograms.total.buckets[0]: expected a list of 2, got [1,2,3]"),
        (lambda d: d["histograms"].update(buckets=12),
         "histograms.buckets: expected "),
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1),
         f"schema_version {SCHEMA_VERSION + 1} was written by a newer tui-loadtest"),
    ],
)  # fmt: skip
def test_a_malformed_report_is_one_line_naming_the_field(
    change,
    line: str,
    tmp_path: Path,
    capsys,  # noqa: ANN001
) -> None:
    data = load(CLOSED)
    change(data)
    bad = tmp_path / "malformed.json"
    bad.write_text(json.dumps(data))
    code = main(["baselines", "compare", str(bad), str(CLOSED), "--store", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"tui-loadtest: error: {bad}: {line}")


def test_the_schema_command_prints_the_schema_the_files_follow(capsys) -> None:  # noqa: ANN001
    assert main(["schema", "report"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads(json.dumps(report_schema()))
    for path in (CLOSED, OPEN, EXPORTED):
        assert problems_in(load(path)) == []
    broken = load(CLOSED)
    broken["summary"]["requests"] = "abc"
    broken["timeline"][0].pop("t")
    assert len(problems_in(broken)) == 2


def test_a_real_run_writes_a_report_that_matches_the_schema(demo_url, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "bench", f"{demo_url}/api/health", "300", "5",
         "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = load(out)
    assert problems_in(data) == []
    assert data["schema_version"] == SCHEMA_VERSION and data["summary"]["requests"] == 300
    assert msgspec.json.decode(out.read_bytes())["format"] == 1


def test_a_result_key_the_format_does_not_declare_is_not_silently_dropped() -> None:
    from dataclasses import replace

    result = read_report(CLOSED)
    odd = replace(result, outcome={**result.outcome, "surprise": 1})
    with pytest.raises(ValueError, match="RunResult.outcome has keys .*: surprise"):
        odd.to_struct()


def test_responses_by_status_survive_the_file_and_the_store(tmp_path: Path) -> None:
    from dataclasses import replace

    from tui_loadtest.store import Baseline

    result = read_report(CLOSED)
    counted = replace(result, summary=replace(result.summary, statuses=((200, 40), (503, 2))))
    again = read_report(write_report(counted, tmp_path / "r.json"))
    assert again.summary.statuses == ((200, 40), (503, 2))
    assert load(tmp_path / "r.json")["summary"]["status_codes"] == {"200": 40, "503": 2}
    store = BaselineStore(tmp_path / "s.sqlite3")
    store.save(Baseline("b", "2024-01-01T00:00:00+00:00", counted))
    assert store.load("b").result.summary.statuses == ((200, 40), (503, 2))
