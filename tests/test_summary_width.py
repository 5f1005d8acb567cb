"""The printed summary fits where it is printed: a terminal's width (tables laid out to
fit, prose broken between words with a hanging indent), or a sane width with the guide's
layout when piped. Run for real in a pseudo-terminal of 80 and 60 columns."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.synthetic import Ep, make_result
from tui_loadtest.report.fit import PIPED_WIDTH, wrap_line
from tui_loadtest.report.json_report import read_report
from tui_loadtest.report.recommendations import numbered, recommend
from tui_loadtest.report.text import run_summary

GUIDE_HEADER = (
    "Method   Endpoint                                  P50        P95        P99        "
    "RPS        Errors"
)


def in_terminal(args: list[str], columns: int, cwd: Path) -> str:
    """Run the command with a pseudo-terminal of ``columns`` columns as its stdout (and
    stderr), and return what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", *args],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=cwd, env=env,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait(60)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def section(text: str, title: str) -> list[str]:
    """The lines of a summary section, from its rule to the blank line after it."""
    lines = text.splitlines()
    start = lines.index(title) + 2
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def words(lines: list[str]) -> list[str]:
    return " ".join(lines).split()


@pytest.mark.parametrize("columns", [80, 60])
def test_the_summary_fits_a_terminal_and_never_breaks_a_word(
    demo_url: str, tmp_path: Path, columns: int
) -> None:
    out = tmp_path / "r.json"
    drawn = in_terminal(["bench", f"{demo_url}/api/agents", "300", "5", "--out", str(out)],
                        columns, tmp_path)  # fmt: skip
    summary = drawn[drawn.index("=" * min(80, columns)) :]
    assert max(len(line) for line in summary.splitlines()) <= columns, summary
    result = read_report(out)
    # Every recommendation's words, in order, none cut: only wrapped between words.
    assert words(section(summary, "Recommendations")) == words(numbered(recommend(result)))
    # One row per endpoint, its figures on the row.
    (row,) = section(summary, "Endpoint Performance")[2:]
    assert row.split() == ["GET", "/api/agents", *row.split()[2:]] and len(row.split()) == 7
    assert json.loads(out.read_text())["summary"]["requests"] == 300


def test_piped_the_summary_keeps_the_guides_layout_at_a_sane_width(
    demo_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "bench", f"{demo_url}/api/agents", "300", "5",
         "--out", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert GUIDE_HEADER in lines  # the guide's fixed-width table
    assert "=" * 80 in lines
    assert max(len(line) for line in lines) <= PIPED_WIDTH


LONG = "POST /api/agents/{id}/query/with/a/rather/long/path"


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120])
def test_every_line_fits_and_only_table_cells_are_cut(width: int) -> None:
    result = make_result(
        [
            Ep("GET /api/health", rps=30),
            Ep(LONG, method="POST", failures=[("http", 503, 0.05), ("timeout", None, 0.02)]),
        ],
        seconds=10,
    )
    text = run_summary(result, width)
    assert max(len(line) for line in text.splitlines()) <= width
    recommendations = section(text, "Recommendations")
    expected = words(numbered(recommend(result)))
    assert "".join(words(recommendations)) == "".join(expected)  # nothing lost
    if width - 3 >= max(map(len, expected)):  # a word longer than a line is all that is cut
        assert words(recommendations) == expected
    # A list item's next lines are indented past its number.
    assert all(re.match(r"\d+\. |   \S", line) for line in recommendations)
    rows = section(text, "Endpoint Performance")[2:]
    assert [r.split()[0] for r in rows] == ["GET", "POST"]
    assert all(len(r.split()) == 7 for r in rows)  # every figure on its row


def test_the_default_is_the_guides_layout_unfitted() -> None:
    result = make_result([Ep("GET /api/health", rps=30)], seconds=5)
    text = run_summary(result)
    assert GUIDE_HEADER in text.splitlines()
    assert any(len(line) > 80 for line in text.splitlines())  # nothing wrapped


def test_wrap_line_breaks_between_words_with_a_hanging_indent() -> None:
    line = "12. " + " ".join(f"word{i}" for i in range(30))
    parts = wrap_line(line, 30)
    assert all(len(p) <= 30 for p in parts)
    assert all(p.startswith("    ") for p in parts[1:])  # past "12. "
    assert " ".join(parts).split() == line.split()
    assert wrap_line("short", 30) == ["short"]


def test_progress_lines_fit_the_terminal_too(demo_url: str, tmp_path: Path) -> None:
    drawn = in_terminal(
        ["run", f"{demo_url}/api/health", "--no-ui", "-t", "2s", "--interval", "0.5", "-c", "2"],
        60,
        tmp_path,
    )
    progress = [line for line in drawn.splitlines() if line.startswith("[")]
    assert progress, drawn  # at least one progress report was drawn
    # Notes naming a file (stderr) may be longer than a line; nothing else is.
    lines = [line for line in drawn.splitlines() if not line.startswith("tui-loadtest:")]
    assert max(len(line) for line in lines) <= 60, drawn
