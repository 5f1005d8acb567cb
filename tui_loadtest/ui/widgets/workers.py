"""The workers view (``n``): one row per engine, like Locust's workers tab.

Where each engine runs (host, and the Dask worker's address on a cluster), its
state, and its last reported second: users, requests per second, its process's
CPU and how late its delta reached the coordinator. A lost worker's row is red,
and so is the panel's border while one is lost (docs/cluster.md, "Lost workers").
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from ...report.formatting import fmt_int
from ...stats.model import Snapshot, WorkerRow
from ..style import STATE_COLOURS

COLUMNS = (
    ("worker", "#", 4, True),
    ("host", "Host", 18, False),
    ("address", "Address", 24, False),
    ("state", "State", 9, False),
    ("users", "Users", 8, True),
    ("rps", "Req/s", 10, True),
    ("cpu", "CPU %", 7, True),
    ("lag", "Lag ms", 8, True),
    ("requests", "Requests", 11, True),
)
ROW_COLOURS = {
    **STATE_COLOURS,
    "ready": STATE_COLOURS["starting"],
    "lost": "#ff5f5f",
    "failed": "#ff5f5f",
    "stopped": STATE_COLOURS["done"],
}
CPU_WARN_PCT = 90.0  # as engine/generator.py: a worker this busy understates the target


class WorkersView(DataTable):
    """Every engine of the run, in worker order."""

    DEFAULT_CSS = """
    WorkersView {
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
    }
    WorkersView.-lost { border: heavy #ff5f5f; border-title-color: #ff5f5f; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)
        self._rows: tuple[WorkerRow, ...] | None = None
        self.border_title = "Workers"
        self.border_subtitle = "n: back"

    def on_mount(self) -> None:
        for key, label, width, numeric in COLUMNS:
            label_text = Text(label, justify="right" if numeric else "left")
            self.add_column(label_text, width=width, key=key)

    def show(self, snap: Snapshot) -> None:
        rows = snap.worker_rows
        if rows == self._rows:
            return
        self._rows = rows
        self.clear()
        for row in rows:
            self.add_row(*cells(row), key=str(row.worker))
        lost = sum(r.state == "lost" for r in rows)
        running = sum(r.state == "running" for r in rows)
        title = f"Workers · {running} of {len(rows)} running"
        if lost:
            title += f" · {lost} lost"
        self.border_title = title
        self.set_class(bool(lost), "-lost")


def cells(row: WorkerRow) -> tuple[Text, ...]:
    colour = ROW_COLOURS.get(row.state, "white")
    cpu = Text("–" if row.cpu_pct is None else f"{row.cpu_pct:.0f}", justify="right")
    if row.cpu_pct is not None and row.cpu_pct >= CPU_WARN_PCT:
        cpu.stylize("bold #f5c542")
    lag = Text("–" if row.lag_ms is None else f"{row.lag_ms:.0f}", justify="right")
    return (
        Text(str(row.worker), justify="right"),
        Text(row.host),
        Text(row.address or "this machine", style="" if row.address else "dim"),
        Text(row.state, style=f"bold {colour}"),
        Text(fmt_int(row.users), justify="right"),
        Text(f"{row.rps:,.1f}", justify="right"),
        cpu,
        lag,
        Text(fmt_int(row.requests), justify="right"),
    )
