"""The per-endpoint table: one keyed row per request type, updated in place.

Click a column header (or press ``o``) to sort; ``w`` switches the figures
between the whole run and the recent window. Req/s is always the recent rate.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from ...report.formatting import endpoint_label
from ...stats.model import EndpointSnapshot, Snapshot
from ..style import TONE_COLOURS, Cell, error_tone, int_cell, ms_cell, rate_cell

# (key, label, width, numeric)
COLUMNS = (
    ("method", "Method", 6, False),
    ("name", "Endpoint", None, False),
    ("requests", "Requests", 10, True),
    ("failures", "Failures", 9, True),
    ("rps", "Req/s", 8, True),
    ("p50", "p50 ms", 8, True),
    ("p95", "p95 ms", 8, True),
    ("p99", "p99 ms", 8, True),
    ("max", "max ms", 8, True),
)
SORTABLE = [key for key, *_ in COLUMNS]


class EndpointTable(DataTable):
    """Method, name, requests, failures, req/s, p50, p95, p99 and max per endpoint."""

    DEFAULT_CSS = """
    EndpointTable {
        height: auto;
        max-height: 100%;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
    }
    EndpointTable:focus { border: round $accent; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)
        self.view = "run"  # or "window"
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._cells: dict[str, list[Cell]] = {}
        self._snap: Snapshot | None = None

    def on_mount(self) -> None:
        for key, label, width, numeric in COLUMNS:
            self.add_column(
                Text(label, justify="right" if numeric else "left"), width=width, key=key
            )
        self._retitle()

    # -- data ---------------------------------------------------------------
    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        changed = False
        for ep in snap.endpoints:
            key = f"{ep.method} {ep.name}"
            cells = self._row(ep, snap)
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                changed = True
            else:
                for (col, *_), new, prev in zip(COLUMNS, cells, old, strict=True):
                    if new != prev:
                        self.update_cell(key, col, new)
                        changed = True
            self._cells[key] = cells
        if changed:
            self._apply_sort()

    def _row(self, ep: EndpointSnapshot, snap: Snapshot) -> list[Cell]:
        stats = ep.total if self.view == "run" else ep.window
        lat = stats.latency
        has = lat.max > 0
        fail_style = TONE_COLOURS[error_tone(stats.error_rate, stats.requests > 0)]
        return [
            Cell(ep.method, ep.method, "bold", justify="left"),
            Cell(endpoint_label(ep.method, ep.name), ep.name, justify="left"),
            int_cell(stats.requests),
            int_cell(stats.failures, fail_style if stats.failures else ""),
            rate_cell(ep.window.rps),
            ms_cell(lat.p50, has),
            ms_cell(lat.p95, has),
            ms_cell(lat.p99, has),
            ms_cell(lat.max, has),
        ]

    # -- views and sorting ----------------------------------------------------
    def toggle_view(self) -> None:
        self.view = "window" if self.view == "run" else "run"
        self._retitle()
        if self._snap is not None:
            self.show(self._snap)

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        numeric = dict((k, n) for k, _, _, n in COLUMNS)[column]
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = numeric  # biggest first for figures, A-Z for names
        self._retitle()
        self._apply_sort()

    def cycle_sort(self) -> None:
        """Next sort column (plan order → requests → … → max → plan order)."""
        if self.sort_column is None:
            self.sort_by("requests")
            return
        i = SORTABLE.index(self.sort_column) + 1
        if i >= len(SORTABLE):
            self.sort_column = None
            self.sort_reverse = False
            self._retitle()
            self._restore_plan_order()
            return
        self.sort_by(SORTABLE[i])

    def _apply_sort(self) -> None:
        if self.sort_column is None:
            return
        self.sort(self.sort_column, key=_sort_key, reverse=self.sort_reverse)

    def _restore_plan_order(self) -> None:
        order = (
            {f"{ep.method} {ep.name}": i for i, ep in enumerate(self._snap.endpoints)}
            if self._snap
            else {}
        )
        self.sort("method", "name", key=lambda m_n: order.get(f"{m_n[0].value} {m_n[1].value}", 0))

    def _retitle(self) -> None:
        span = "whole run" if self.view == "run" else "last few seconds"
        if self._snap is not None and self.view == "window":
            span = f"last {self._snap.window_s} s"
        title = f"Endpoints · {span}"
        if self.sort_column is not None:
            label = dict((k, lab) for k, lab, *_ in COLUMNS)[self.sort_column]
            title += f" · by {label} {'↓' if self.sort_reverse else '↑'}"
        self.border_title = title
        self.border_subtitle = "o: sort  w: run/window"

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))


def _sort_key(value: object) -> object:
    return value.value if isinstance(value, Cell) else str(value)
