"""``--csv PREFIX`` against the files a real Locust run writes: the same four files,
the same header lines byte for byte, the same line endings."""

from __future__ import annotations

import csv
from pathlib import Path

from tui_loadtest.cli import main

from .locust_support import LocustCsvRun, first_line, line_endings

SUFFIXES = ("stats", "stats_history", "failures", "exceptions")


def test_locust_run_is_what_we_think(locust_csv_run: LocustCsvRun) -> None:
    """The reference run did what the other tests rely on, counted against the server."""
    with locust_csv_run.file("stats").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    total = rows[-1]
    assert total["Name"] == "Aggregated"
    assert int(total["Request Count"]) == locust_csv_run.server_stats["requests"] > 0
    with locust_csv_run.file("exceptions").open(newline="", encoding="utf-8") as fh:
        assert any("task raised on purpose" in r["Message"] for r in csv.DictReader(fh))


def test_csv_files_match_locust(
    locust_csv_run: LocustCsvRun, demo_url: str, tmp_path: Path
) -> None:
    ours = tmp_path / "ours"
    code = main(
        [
            "bench",
            f"{demo_url}/api/health",
            "200",
            "4",
            "--out",
            str(tmp_path / "r.json"),
            "--csv",
            str(ours),
        ]  # fmt: skip
    )
    assert code == 0
    for suffix in SUFFIXES:
        theirs_path = locust_csv_run.file(suffix)
        ours_path = Path(f"{ours}_{suffix}.csv")
        assert ours_path.exists(), suffix
        ours_head, theirs_head = first_line(ours_path), first_line(theirs_path)
        if suffix == "stats":
            # Locust's columns first, byte for byte; ours (time to first byte) after them.
            assert ours_head.startswith(theirs_head.rstrip(b"\r\n") + b","), ours_head
            assert ours_head.endswith(b",TTFB Median,TTFB 95%,TTFB 99%\r\n"), ours_head
        else:
            assert ours_head == theirs_head, suffix
        assert line_endings(theirs_path) == {b"\r\n"}, suffix
        assert line_endings(ours_path) == {b"\r\n"}, suffix
    # The row layout is Locust's too: the stats file ends with the Aggregated row.
    with Path(f"{ours}_stats.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[-1]["Type"] == "" and rows[-1]["Name"] == "Aggregated"
    assert int(rows[-1]["Request Count"]) == 200
