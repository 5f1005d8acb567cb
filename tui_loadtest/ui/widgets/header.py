"""The top two lines: what runs where and in which state, and how far it has got."""

from __future__ import annotations

from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...report.formatting import fmt_clock, fmt_int
from ...stats.model import Snapshot
from ..style import STATE_COLOURS, fmt_clock_colon


class RunHeader(Static):
    """Scenario, host, state badge, elapsed time and workers, on one line."""

    DEFAULT_CSS = """
    RunHeader {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__("", **kwargs)
        self._last: tuple | None = None

    def show(self, snap: Snapshot, state: str, elapsed: float) -> None:
        key = (snap.scenario_name, snap.host, state, int(elapsed), snap.workers, snap.duration_s)
        if key == self._last:
            return
        self._last = key
        left = Text.assemble(
            (" tui-loadtest ", "bold"),
            ("│ ", "dim"),
            (snap.scenario_name, "bold"),
            ("  →  ", "dim"),
            (snap.host, ""),
            no_wrap=True,
            overflow="ellipsis",
        )
        colour = STATE_COLOURS.get(state, "white")
        clock = fmt_clock_colon(elapsed)
        if snap.duration_s:
            clock += f" / {fmt_clock_colon(snap.duration_s)}"
        workers = f"{snap.workers} worker" + ("s" if snap.workers != 1 else "")
        right = Text.assemble(
            (f" {state.upper():^8} ", f"bold #1d1f23 on {colour}"),
            "  ",
            (f"{clock:>13}", "bold"),
            ("  │  ", "dim"),
            (f"{workers:>9} ", ""),
            no_wrap=True,
        )
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        self.update(grid)


class RunProgress(Static):
    """A bar against the run time (or the request count) and what is left."""

    DEFAULT_CSS = """
    RunProgress {
        height: 1;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__("", **kwargs)
        self._last: tuple | None = None

    def show(self, snap: Snapshot, elapsed: float, paused_s: float, state: str) -> None:
        fraction, detail = _progress(snap, elapsed, paused_s, state)
        key = (None if fraction is None else round(fraction, 3), detail, state)
        if key == self._last:
            return
        self._last = key
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1)
        grid.add_column(justify="right", no_wrap=True, width=5)
        grid.add_column(justify="right", no_wrap=True, min_width=30)
        if fraction is None:
            bar: ProgressBar | Text = Text("no end set: runs until you press s", style="dim")
            pct = Text("")
        else:
            colour = "#4ec97b" if state == "done" else "#56b6f7"
            if state == "paused":
                colour = "#f5c542"
            bar = ProgressBar(total=1.0, completed=fraction, complete_style=colour)
            pct = Text(f"{fraction * 100:3.0f}%", style="bold")
        grid.add_row(bar, pct, Text(detail, style="dim" if state == "done" else ""))
        self.update(grid)


def _progress(
    snap: Snapshot, elapsed: float, paused_s: float, state: str
) -> tuple[float | None, str]:
    """(fraction done, words) from the live clock, which runs between Snapshots."""
    if state == "done":
        return 1.0, f"done in {fmt_clock(elapsed)}"
    fractions: list[float] = []
    words = ""
    if snap.duration_s:
        active = max(0.0, elapsed - paused_s)
        fractions.append(min(1.0, active / snap.duration_s))
        left = max(0.0, snap.duration_s - active)
        words = f"{fmt_clock(left)} left of {fmt_clock(snap.duration_s)}"
    if snap.requests_planned:
        done = snap.total.requests
        fractions.append(min(1.0, done / snap.requests_planned))
        count = f"{fmt_int(done)} of {fmt_int(snap.requests_planned)} requests"
        if not words:
            # Count-bound only: estimate the time left from the average rate so far.
            active = max(0.0, snap.elapsed_s - paused_s)
            rate = done / active if active > 0 else 0.0
            left = (snap.requests_planned - done) / rate if rate > 0 else None
            words = f"~{fmt_clock(left)} left" if left is not None else "estimating…"
        words = f"{count} · {words}"
    if state == "paused" and words:
        words = "paused · " + words
    if state == "stopping":
        words = "stopping: finishing requests in flight"
    return (max(fractions) if fractions else None), words
