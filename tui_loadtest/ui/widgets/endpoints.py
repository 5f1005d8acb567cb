"""The per-endpoint table: one keyed row per request type, updated in place.

Journeys add one row per flow (method ``FLOW``) after the endpoints: its
iterations, failed iterations, iterations/s and iteration duration.

Click a column header (or press ``o``) to sort; ``w`` switches the figures
between the whole run and the recent window; ``t`` switches the latency columns
between the response time, the time to first byte and, with streams, the time to
first event and between events. Req/s is always the recent rate.

With ``[[scenarios]]``, each scenario's rows (endpoints, then flows) sit under a
heading row: its name, users or rate, whether it is paused or yet to start, and its
rows' figures together. Sorting orders the rows within each scenario; the scenario
the dashboard's controls act on (``g``) is marked.

On a narrow terminal the columns that matter least go first (max, then
requests), so method, endpoint, req/s, errors, p50, p95 and p99 fit in 80
columns; a long endpoint name is shortened rather than pushing figures off
screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from ...report.formatting import endpoint_label, fmt_clock
from ...stats.model import (
    EndpointSnapshot,
    FlowSnapshot,
    Latency,
    ScenarioSnapshot,
    Snapshot,
    Stats,
)
from ..style import TONE_COLOURS, Cell, error_tone, int_cell, ms_cell, rate_cell


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None  # None: as wide as the longest endpoint name (or what is left)
    numeric: bool
    drop: int = 0  # narrow terminals drop columns from 1 upwards; 0 always stays


COLUMNS = (
    Column("method", "Method", 6, False),
    Column("name", "Endpoint", None, False),
    Column("requests", "Requests", 9, True, drop=2),
    Column("failures", "Errors", 7, True),
    Column("rps", "Req/s", 7, True),
    Column("p50", "p50 ms", 7, True),
    Column("p95", "p95 ms", 7, True),
    Column("p99", "p99 ms", 7, True),
    Column("max", "max ms", 7, True, drop=1),
)
SORTABLE = [c.key for c in COLUMNS]
# What the latency columns show (``t`` cycles): the response time, the time to first byte,
# and a stream's time to first event and time between events (these two only once a
# stream was measured).
FIGURES = ("latency", "ttfb", "ttft", "inter_event")
FIGURE_TITLES = {
    "latency": "",
    "ttfb": "time to first byte",
    "ttft": "time to first event",
    "inter_event": "time between events",
}
MIN_NAME_WIDTH = 12  # the endpoint's name never gets narrower than this
SEP = "\x1f"  # between a row's scenario and its name, in its key (never in a name shown)


def fit_columns(width: int, longest_name: int, padding: int = 1) -> tuple[list[Column], int]:
    """The columns that fit in ``width`` cells, and the endpoint column's width.

    Columns go in the order of their ``drop`` rank until the rest fit beside the
    whole endpoint name; the name then takes what is left (at least
    ``MIN_NAME_WIDTH``, shortened with an ellipsis).
    """
    name_width = max(len("Endpoint"), longest_name)
    shown = list(COLUMNS)
    for rank in sorted({c.drop for c in COLUMNS if c.drop}):
        if _fixed(shown, padding) + name_width + 2 * padding <= width:
            break
        shown = [c for c in shown if c.drop != rank]
    room = width - _fixed(shown, padding) - 2 * padding
    return shown, max(MIN_NAME_WIDTH, min(name_width, room))


def _fixed(columns: list[Column], padding: int) -> int:
    return sum((c.width or 0) + 2 * padding for c in columns if c.width is not None)


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
        self.figure = "latency"  # what the latency columns show (FIGURES)
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.shown: list[Column] = []  # the columns on screen now, in order
        self._layout: tuple = ()
        self._cells: dict[str, list[Cell]] = {}  # every column, shown or not, in plan order
        self._snap: Snapshot | None = None
        # [[scenarios]]: rows in plan order (each scenario's heading, then its rows), and
        # each row's (scenario's place, 0 for its heading or 1)
        self._order: dict[str, int] = {}
        self._group_of: dict[str, tuple[int, int]] = {}
        self.selected: str | None = None  # the scenario the controls act on (None: all)

    def on_mount(self) -> None:
        self._fit()
        self._retitle()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    # -- columns that fit -------------------------------------------------------
    def _fit(self) -> None:
        """Choose the columns for the current width; rebuild the table if they changed."""
        width = self.size.width or 10_000  # inside the border; everything before layout
        if self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        longest = max((c[1].cell_len for c in self._cells.values()), default=0)
        shown, name_width = fit_columns(width, longest, self.cell_padding)
        layout = (tuple(c.key for c in shown), name_width)
        if layout == self._layout:
            return
        self._layout = layout
        self.shown = shown
        self.clear(columns=True)
        for c in shown:
            self.add_column(
                Text(c.label, justify="right" if c.numeric else "left"),
                width=name_width if c.width is None else c.width,
                key=c.key,
            )
        for key, cells in self._cells.items():
            self.add_row(*self._visible(cells), key=key)
        if self.sort_column is not None and self.sort_column not in layout[0]:
            self.sort_column = None  # its column is gone: back to plan order
            self._retitle()
        self._apply_sort()

    def _visible(self, cells: list[Cell]) -> list[Cell]:
        keys = {c.key for c in self.shown}
        return [cell for c, cell in zip(COLUMNS, cells, strict=True) if c.key in keys]

    # -- data ---------------------------------------------------------------
    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        changed = False
        added = False
        keys = {c.key for c in self.shown}
        if snap.scenarios:
            rows = self._grouped_rows(snap)
        else:
            rows = [(f"{ep.method} {ep.name}", self._row(ep, snap)) for ep in snap.endpoints]
            rows += [(f"FLOW {f.name}", self._flow_row(f)) for f in snap.flows]
        order = {key: i for i, (key, _) in enumerate(rows)}
        if order != self._order:  # a script's row found: its place is in its scenario
            self._order = order
            changed = True
        for key, cells in rows:
            old = self._cells.get(key)
            self._cells[key] = cells
            if old is None:
                added = True
                continue
            for c, new, prev in zip(COLUMNS, cells, old, strict=True):
                if new != prev and c.key in keys:
                    self.update_cell(key, c.key, new)
                    changed = True
        if added:  # new names may be longer, and rows may bring a scrollbar: refit
            self._retitle()  # (the first rows may be scenarios': g then means something)
            self._layout = ()
            self._fit()
            self.call_after_refresh(self._fit)
        elif changed:
            self._apply_sort()

    def _grouped_rows(self, snap: Snapshot) -> list[tuple[str, list[Cell]]]:
        """Each scenario's heading, then its endpoints and flows (keys carry the scenario:
        the same request in two scenarios is a row in each)."""
        rows: list[tuple[str, list[Cell]]] = []
        self._group_of = {}
        for rank, part in enumerate(snap.scenarios):
            name = part.name
            heading = self._heading(part, snap)
            rows.append((f" {name}{SEP}", heading))
            self._group_of[f" {name}{SEP}"] = (rank, 0)
            for ep in snap.endpoints:
                if ep.scenario == name:
                    key = f"{ep.method} {name}{SEP}{ep.name}"
                    rows.append((key, self._row(ep, snap, f"{name}{SEP}{ep.name}")))
                    self._group_of[key] = (rank, 1)
            for f in snap.flows:
                if f.scenario == name:
                    key = f"FLOW {name}{SEP}{f.name}"
                    rows.append((key, self._flow_row(f, f"{name}{SEP}{f.name}")))
                    self._group_of[key] = (rank, 1)
        return rows

    def _heading(self, part: ScenarioSnapshot, snap: Snapshot) -> list[Cell]:
        """A scenario's heading row: its name and load, its rows' figures together."""
        stats = part.total if self.view == "run" else part.window
        lat = stats.latency
        has = lat.max > 0
        users = f"{part.users}/{part.target:g} users"
        load = f"{part.target:g} req/s" if part.is_open else users
        if snap.elapsed_s < part.start_s and snap.state not in ("done", "stopping"):
            load += f" · starts at {fmt_clock(part.start_s)}"
        elif part.paused:
            load += " · paused"
        chosen = part.name == self.selected
        mark = "▶ " if chosen else "  "
        style = "bold reverse" if chosen else "bold"
        fail_style = TONE_COLOURS[error_tone(stats.error_rate, stats.requests > 0)]
        return [
            Cell("", "", style, justify="left"),
            Cell(f"{mark}{part.name} · {load}", f"{part.name}{SEP}", style, justify="left"),
            int_cell(stats.requests, "bold"),
            int_cell(stats.failures, fail_style if stats.failures else "bold"),
            rate_cell(part.window.rps),
            ms_cell(lat.p50, has),
            ms_cell(lat.p95, has),
            ms_cell(lat.p99, has),
            ms_cell(lat.max, has),
        ]

    def _row(self, ep: EndpointSnapshot, snap: Snapshot, value: str | None = None) -> list[Cell]:
        """An endpoint's row; ``value``: what its name sorts and is keyed by (its scenario's
        and its own, with [[scenarios]])."""
        stats = ep.total if self.view == "run" else ep.window
        lat = figure_of(stats, self.figure)
        has = lat is not None and not lat.max <= 0  # NaN: not reported by the source: n/a
        lat = lat or Latency()
        fail_style = TONE_COLOURS[error_tone(stats.error_rate, stats.requests > 0)]
        return [
            Cell(ep.method, ep.method, "bold", justify="left"),
            Cell(endpoint_label(ep.method, ep.name), value or ep.name, justify="left"),
            int_cell(stats.requests),
            int_cell(stats.failures, fail_style if stats.failures else ""),
            rate_cell(ep.window.rps),
            ms_cell(lat.p50, has),
            ms_cell(lat.p95, has),
            ms_cell(lat.p99, has),
            ms_cell(lat.max, has),
        ]

    def _flow_row(self, flow: FlowSnapshot, value: str | None = None) -> list[Cell]:
        stats = flow.total if self.view == "run" else flow.window
        d = stats.duration
        has = d.max > 0 and self.figure == "latency"  # an iteration has no first byte
        fail_style = TONE_COLOURS[error_tone(stats.failure_rate, stats.iterations > 0)]
        return [
            Cell("FLOW", "FLOW", "bold", justify="left"),
            Cell(flow.name, value or flow.name, justify="left"),
            int_cell(stats.iterations),
            int_cell(stats.failed, fail_style if stats.failed else ""),
            rate_cell(flow.window.rate),
            ms_cell(d.p50, has),
            ms_cell(d.p95, has),
            ms_cell(d.p99, has),
            ms_cell(d.max, has),
        ]

    # -- views and sorting ----------------------------------------------------
    def toggle_view(self) -> None:
        self.view = "window" if self.view == "run" else "run"
        self._retitle()
        if self._snap is not None:
            self.show(self._snap)

    def cycle_figure(self) -> None:
        """``t``: the next figure in the latency columns (the stream ones once measured)."""
        streams = self._snap is not None and any(
            ep.total.stream is not None for ep in self._snap.endpoints
        )
        shown = FIGURES if streams else FIGURES[:2]
        i = shown.index(self.figure) + 1 if self.figure in shown else 0
        self.figure = shown[i % len(shown)]
        self._retitle()
        if self._snap is not None:
            self.show(self._snap)

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        numeric = next(c.numeric for c in COLUMNS if c.key == column)
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = numeric  # biggest first for figures, A-Z for names
        self._retitle()
        self._apply_sort()

    def cycle_sort(self) -> None:
        """Next sort column on screen (plan order → requests → … → max → plan order)."""
        sortable = [key for key in SORTABLE if key in {c.key for c in self.shown}]
        order = sortable[sortable.index("method") + 2 :]  # the figures, then plan order
        if self.sort_column not in order:
            self.sort_by(order[0])
            return
        i = order.index(self.sort_column) + 1
        if i >= len(order):
            self.sort_column = None
            self.sort_reverse = False
            self._retitle()
            self._apply_sort()
            return
        self.sort_by(order[i])

    def _apply_sort(self) -> None:
        """Order the rows by the sort column (plan order without one), read from the cells."""
        if not self.row_count:
            return
        if self.sort_column is None:
            plan = self._order or {key: i for i, key in enumerate(self._cells)}
            self.sort("method", "name", key=lambda m_n: plan.get(_row_key(m_n), 0))
            return
        i = SORTABLE.index(self.sort_column)
        cells = self._cells
        groups = self._group_of
        if groups:  # within each scenario, under its heading, whichever the direction
            flip = -1 if self.sort_reverse else 1

            def grouped(m_n: tuple) -> tuple:
                key = _row_key(m_n)
                rank, row = groups.get(key, (len(groups), 1))
                return (flip * rank, flip * row, _sort_key(cells[key][i]))

            self.sort("method", "name", key=grouped, reverse=self.sort_reverse)
            return
        self.sort(
            "method",
            "name",
            key=lambda m_n: _sort_key(cells[_row_key(m_n)][i]),
            reverse=self.sort_reverse,
        )

    def _retitle(self) -> None:
        span = "whole run" if self.view == "run" else "last few seconds"
        if self._snap is not None and self.view == "window":
            span = f"last {self._snap.window_s} s"
        title = f"Endpoints · {span}"
        if FIGURE_TITLES[self.figure]:
            title += f" · {FIGURE_TITLES[self.figure]}"
        if self.sort_column is not None:
            label = next(c.label for c in COLUMNS if c.key == self.sort_column)
            title += f" · by {label} {'↓' if self.sort_reverse else '↑'}"
        self.border_title = title
        self.border_subtitle = "o: sort  w: run/window"
        if self._snap is not None and self._snap.scenarios:
            chosen = self.selected or "all"
            self.border_subtitle = f"g: scenario ({chosen})  o: sort  w: run/window"

    def select(self, name: str | None) -> None:
        """Mark the scenario the controls act on (None: all of them)."""
        self.selected = name
        self._retitle()
        if self._snap is not None:
            self.show(self._snap)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))


def figure_of(stats: Stats, figure: str) -> Latency | None:
    """The latency figures a view of the table shows (None: not measured there)."""
    if figure == "latency":
        return stats.latency
    if figure == "ttfb":
        return stats.ttfb
    stream = stats.stream
    if stream is None:
        return None
    return stream.ttft if figure == "ttft" else stream.inter_event


def _row_key(method_and_name: tuple) -> str:
    method, name = method_and_name
    return f"{method.value} {name.value}"


def _sort_key(value: object) -> object:
    return value.value if isinstance(value, Cell) else str(value)
