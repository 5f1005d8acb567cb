"""The error panel: kind or status, endpoint, count and the last message.

Rows are keyed by (kind, status, endpoint), so a new kind appears as a new row
the second it is first seen. The border turns red while the recent error rate
is in the worst band (a target that died, say).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from ...report.formatting import endpoint_label, fmt_int
from ...stats.model import ErrorRow, Snapshot
from ..style import Cell, error_tone

COLUMNS = (
    ("kind", "Kind", 10, False),
    ("endpoint", "Endpoint", 28, False),
    ("count", "Count", 9, True),
    ("message", "Last message", None, False),  # what is left of the width, cut with …
)
MIN_MESSAGE_WIDTH = 12


class ErrorTable(DataTable):
    """Failures by kind and endpoint, most frequent first."""

    DEFAULT_CSS = """
    ErrorTable {
        height: auto;
        max-height: 100%;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
    }
    ErrorTable:focus { border: round $accent; }
    ErrorTable.-warn { border: round #f5c542; border-title-color: #f5c542; }
    ErrorTable.-bad { border: heavy #ff5f5f; border-title-color: #ff5f5f; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)
        self._cells: dict[str, list[Cell]] = {}
        self._last: tuple | None = None
        self._message_width: int | None = None
        self.border_title = "Errors · none"

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        """Give the last message what is left of the width, so nothing scrolls sideways."""
        width = self.size.width
        if self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        fixed = sum((w or 0) + 2 * self.cell_padding for _, _, w, _ in COLUMNS)
        message = max(MIN_MESSAGE_WIDTH, width - fixed) if width else None
        if message == self._message_width and self.columns:
            return
        self._message_width = message
        self.clear(columns=True)
        for key, label, w, numeric in COLUMNS:
            self.add_column(
                Text(label, justify="right" if numeric else "left"),
                width=message if key == "message" else w,
                key=key,
            )
        for row_key, cells in self._cells.items():
            self.add_row(*cells, key=row_key)
        if self._cells:
            self.sort("count", key=lambda c: c.value, reverse=True)

    def show(self, snap: Snapshot) -> None:
        key = (snap.errors, snap.window.failures, snap.window.requests)
        if key == self._last:
            return
        self._last = key
        changed = False
        for row in snap.errors:
            row_key = _row_key(row)
            cells = _cells(row)
            old = self._cells.get(row_key)
            if old is None:
                self.add_row(*cells, key=row_key)
                changed = True
            else:
                for (col, *_), new, prev in zip(COLUMNS, cells, old, strict=True):
                    if new != prev:
                        self.update_cell(row_key, col, new)
                        changed = True
            self._cells[row_key] = cells
        if changed:
            self.sort("count", key=lambda c: c.value, reverse=True)
        tone = error_tone(snap.window.error_rate, snap.window.requests > 0)
        if snap.window.requests == 0 and snap.window.failures:
            tone = "bad"
        self.set_class(tone == "bad", "-bad")
        self.set_class(tone == "warn", "-warn")
        failures = sum(r.count for r in snap.errors)
        if not snap.errors:
            self.border_title = "Errors · none"
        else:
            kinds = len(snap.errors)
            self.border_title = (
                f"Errors · {fmt_int(failures)} in {kinds} kind{'s' if kinds != 1 else ''}"
            )
        recent = snap.window.error_rate * 100
        self.border_subtitle = (
            f"last {snap.window_s} s: {recent:.1f}% failing" if snap.window.failures else ""
        )


def _row_key(row: ErrorRow) -> str:
    key = f"{row.kind}|{row.status}|{row.method}|{row.endpoint}"
    return f"{key}|{row.scenario}" if row.scenario else key


def _cells(row: ErrorRow) -> list[Cell]:
    where = f"{row.method} {endpoint_label(row.method, row.endpoint)}"
    if row.scenario:  # [[scenarios]]: the same request may fail in two of them
        where = f"{row.scenario} · {where}"
    return [
        Cell(row.label, row.label, "bold #ff5f5f", justify="left"),
        Cell(where, row.endpoint, justify="left"),
        Cell(fmt_int(row.count), row.count),
        Cell(row.message, row.message, "dim", justify="left"),
    ]
