"""Two runs side by side: every row with both figures, the absolute and relative change,
and its verdict. Colour follows the user's point of view: green is better (lower
latency or error rate, higher throughput), red is worse; bold when the verdict
says the change is real, plain when it is within the runs' noise or threshold.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...compare import IMPROVED, OVERALL, REGRESSED, Comparison, Row
from ...report.compare_format import fmt_change, fmt_delta, verdict_line
from ...report.compare_format import fmt_value as value_text
from ...report.compare_text import rule_text, verdict_text
from ..style import TONE_COLOURS

DIRECTION_COLOURS = {"better": TONE_COLOURS["good"], "worse": TONE_COLOURS["bad"], "same": ""}
VERDICT_STYLES = {
    REGRESSED: f"bold {TONE_COLOURS['bad']}",
    IMPROVED: f"bold {TONE_COLOURS['good']}",
}


def change_style(row: Row) -> str:
    """Colour by direction; bold only when the verdict confirms it, dim when not judged."""
    colour = DIRECTION_COLOURS[row.direction]
    if row.verdict in (REGRESSED, IMPROVED):
        return f"bold {colour}"
    return f"{colour} dim" if colour else "dim"


class CompareScreen(Screen):
    """The comparison table; Esc goes back."""

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: auto; padding: 0 1; background: $panel; }
    CompareScreen #compare-table { height: 1fr; margin: 0 1; }
    CompareScreen #compare-legend { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f", "toggle_changes", "Changes only"),
    ]

    def __init__(self, comparison: Comparison, baseline_desc: str = "", current_desc: str = ""):
        super().__init__(id="compare")
        self.comparison = comparison
        self.baseline_desc = baseline_desc
        self.current_desc = current_desc
        self.changes_only = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="compare-title")
        table: DataTable = DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        c = self.comparison
        for key, label in (
            ("scope", "Scope"),
            ("metric", "Metric"),
            ("a", c.baseline_name),
            ("b", c.current_name),
            ("delta", "Δ"),
            ("pct", "Δ %"),
            ("verdict", "Verdict"),
        ):
            table.add_column(label, key=key)
        yield table
        yield Static(
            rule_text(c) + " Green: better for users; red: worse; bold: a verdict; Max and"
            " thin tails are shown, not judged."
            + "".join(f"\nNote: {n}" for n in c.method.get("notes") or [])
            + (f"\nLatency compared: {c.method['latency']}." if c.method.get("latency") else ""),
            id="compare-legend",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.fill()
        self.query_one(DataTable).focus()

    def _title(self) -> Text:
        c = self.comparison
        title = Text()
        title.append("Compare  ", style="bold")
        title.append(c.baseline_name, style="bold")
        title.append(f" ({self.baseline_desc})" if self.baseline_desc else "", style="dim")
        title.append("  →  ")
        title.append(c.current_name, style="bold")
        title.append(f" ({self.current_desc})" if self.current_desc else "", style="dim")
        title.append("\nVerdict: ")
        title.append(verdict_line(c), style=VERDICT_STYLES.get(c.verdict, "bold"))
        if c.regressions:
            title.append(f"  ({len(c.regressions)} regressed row(s))", style="dim")
        return title

    def fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        previous = None
        for i, row in enumerate(self.comparison.rows):
            if self.changes_only and row.verdict not in (REGRESSED, IMPROVED):
                continue
            scope = "Overall" if row.scope == OVERALL else row.scope
            style = change_style(row)
            table.add_row(
                Text(scope if scope != previous else "", style="bold"),
                row.label,
                Text(value_text(row.metric, row.a), justify="right"),
                Text(value_text(row.metric, row.b), justify="right"),
                Text(fmt_delta(row), justify="right", style=style),
                Text(fmt_change(row), justify="right", style=style),
                Text(verdict_text(row), style=VERDICT_STYLES.get(row.verdict or "", "dim")),
                key=str(i),
            )
            previous = scope

    def action_toggle_changes(self) -> None:
        self.changes_only = not self.changes_only
        self.fill()

    def action_back(self) -> None:
        self.app.pop_screen()
