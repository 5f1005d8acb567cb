"""The event log: spawn complete, user count changes, first error of each kind, the end.

Snapshots carry the run's whole event list, merged by time; events already shown
are remembered by (time, text), so a late event never repeats an earlier line.
The log is one Static re-rendered when an event arrives (rare), so long lines
re-wrap whenever the terminal is resized.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...stats.model import Event, Snapshot
from ..style import TONE_COLOURS, fmt_clock_colon

LEVEL_STYLES = {"info": "", "warning": TONE_COLOURS["warn"], "error": TONE_COLOURS["bad"]}
MAX_LINES = 500


class EventLog(VerticalScroll):
    """Lines appended as events happen; the newest at the bottom, kept in view."""

    DEFAULT_CSS = """
    EventLog {
        height: 1fr;
        min-height: 4;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    EventLog:focus { border: round $accent; }
    EventLog > #event-lines { width: 100%; height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Static("", id="event-lines"), **kwargs)
        self.border_title = "Events"
        self.lines: list[Event] = []
        self._seen: set[tuple[float, str]] = set()
        self._count = 0

    def show(self, snap: Snapshot) -> None:
        if len(snap.events) == self._count:
            return
        self._count = len(snap.events)
        fresh = [e for e in snap.events if (e.t, e.text) not in self._seen]
        if not fresh:
            return
        for event in fresh:
            self._seen.add((event.t, event.text))
        self._append(fresh)

    def note(self, t: float, text: str, level: str = "info") -> None:
        """A line from the dashboard itself (a key pressed, the report's path)."""
        self._append([Event(t, text, level)])

    def _append(self, events: list[Event]) -> None:
        at_end = self.scroll_y >= self.max_scroll_y
        self.lines = (self.lines + events)[-MAX_LINES:]
        self.query_one("#event-lines", Static).update(_render(self.lines))
        if at_end:
            self.call_after_refresh(self.scroll_end, animate=False)


def _render(events: list[Event]) -> Table:
    """Time on the left, text wrapping beside it (a hanging indent)."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(justify="right", style="dim", no_wrap=True, width=5)
    table.add_column(ratio=1)
    for event in events:
        table.add_row(
            fmt_clock_colon(event.t), Text(event.text, style=LEVEL_STYLES.get(event.level, ""))
        )
    return table
