"""The checks panel: each check on responses, its passes, failures and pass rate.

Shown only in runs with checks (``checks = [...]``, a script's ``user.check``): it
takes no room otherwise. Rows are keyed by (endpoint, check), updated in place; the
border turns red while a hard check is failing (its failures fail requests), amber
when only soft ones are.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from ...report.formatting import fmt_int, fmt_pct
from ...stats.model import CheckStats, Snapshot, check_rate
from ..style import Cell

COLUMNS = (
    ("check", "Check", None, False),
    ("passed", "Passed", 9, True),
    ("failed", "Failed", 8, True),
    ("rate", "Rate", 8, True),
)


class CheckTable(DataTable):
    """Checks on responses, in the scenario's order."""

    DEFAULT_CSS = """
    CheckTable {
        height: auto;
        max-height: 10;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
    }
    CheckTable:focus { border: round $accent; }
    CheckTable.-warn { border: round #f5c542; border-title-color: #f5c542; }
    CheckTable.-bad { border: heavy #ff5f5f; border-title-color: #ff5f5f; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)
        self._cells: dict[str, list[Cell]] = {}
        self._last: tuple[CheckStats, ...] | None = None
        self.display = False  # until a check has run
        self.border_title = "Checks"
        for key, label, width, numeric in COLUMNS:
            self.add_column(
                Text(label, justify="right" if numeric else "left"), width=width, key=key
            )

    def show(self, snap: Snapshot) -> None:
        checks = snap.checks
        if checks == self._last:
            return
        self._last = checks
        self.display = bool(checks)
        for c in checks:
            row_key = f"{c.endpoint}|{c.name}"
            if c.scenario:  # [[scenarios]]: the same check may run in two of them
                row_key = f"{c.scenario}|{row_key}"
            cells = _cells(c)
            old = self._cells.get(row_key)
            if old is None:
                self.add_row(*cells, key=row_key)
            else:
                for (col, *_), new, prev in zip(COLUMNS, cells, old, strict=True):
                    if new != prev:
                        self.update_cell(row_key, col, new)
            self._cells[row_key] = cells
        hard = any(c.failed and not c.soft for c in checks)
        soft = any(c.failed and c.soft for c in checks)
        self.set_class(hard, "-bad")
        self.set_class(soft and not hard, "-warn")
        rate = check_rate(checks)
        self.border_title = "Checks" + (f" · {fmt_pct(rate)} passed" if rate is not None else "")


def _cells(c: CheckStats) -> list[Cell]:
    label = f"{c.endpoint}: {c.name}" if c.endpoint else c.name
    if c.scenario:
        label = f"{c.scenario} · {label}"
    if c.soft:
        label += " (soft)"
    tone = "bold #ff5f5f" if c.failed and not c.soft else "#f5c542" if c.failed else ""
    return [
        Cell(label, label, justify="left"),
        Cell(fmt_int(c.passed), c.passed),
        Cell(fmt_int(c.failed), c.failed, tone),
        Cell(fmt_pct(c.pass_rate) if c.total else "-", c.pass_rate, tone),
    ]
