"""The help screen: every key, and what the colours mean."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..style import TONE_COLOURS

RUN_KEYS = (
    ("space", "pause / resume sending (users stay connected; paused seconds are shaded)"),
    (
        "+ / -",
        "add / remove users (step: --user-step; they start at the spawn rate);"
        " arrival-rate runs: raise / lower the rate by a tenth",
    ),
    ("s", "stop the run gracefully; the final summary stays on screen"),
    (
        "g",
        "a file with [[scenarios]]: the scenario space and +/- act on next"
        " (each in turn, then all of them)",
    ),
    ("q, Ctrl+C", "quit (asks first while the run is going; --out is still written)"),
)
WATCH_KEYS = (  # a watched run (observe-only): no run controls, and q leaves it going
    ("q, Ctrl+C", "stop watching (the watched run goes on; b first keeps what was seen)"),
)
VIEW_KEYS = (
    ("c", "latency: corrected / service time (arrival-rate runs; closed runs have one kind)"),
    ("o", "endpoints: sort by the next column (or click a column header)"),
    ("w", "endpoints: whole run / last few seconds"),
    ("t", "endpoints: response time / time to first byte (streams: to first event, between)"),
    ("d", "after the run: summary / live panels"),
    ("b", "save the run (so far) as a baseline; an existing name asks before replacing"),
    ("l", "baselines: browse, details, compare (c there compares one with this run)"),
    ("↓ ↑, j k", "narrow terminals: the next / previous panel (PgDn / PgUp: a page)"),
    ("Tab", "move focus between panels (arrows and PgUp/PgDn then scroll the panel)"),
    ("Ctrl+P", "command palette (Screenshot saves an SVG here, or in $TUI_LOADTEST_SCREENSHOTS)"),
    ("?", "this help"),
)

BANDS = (
    ("Response time", (("< 100 ms", "good", "excellent"), ("100–500 ms", "ok", "good"),
                       ("500–1000 ms", "warn", "acceptable"),
                       ("> 1000 ms", "bad", "needs optimization"))),
    ("Error rate", (("< 0.1 %", "good", "excellent"), ("0.1–1 %", "ok", "good"),
                    ("1–5 %", "warn", "acceptable"), ("> 5 %", "bad", "needs investigation"))),
)  # fmt: skip


class HelpScreen(ModalScreen[None]):
    """Keys and colour bands; any of Esc, ? or q closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > #help-box {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $accent;
        border-title-style: bold;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS = [Binding("escape,question_mark,q", "dismiss_help", "Close", priority=True)]

    def __init__(self, *, observe_only: bool = False) -> None:
        super().__init__()
        self.keys = (WATCH_KEYS if observe_only else RUN_KEYS) + VIEW_KEYS

    def compose(self) -> ComposeResult:
        box = VerticalScroll(Static(_help_renderable(self.keys), id="help-text"), id="help-box")
        box.border_title = "tui-loadtest · help"
        box.border_subtitle = "Esc / ? / q: close"
        yield box

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


def _help_renderable(key_rows: tuple[tuple[str, str], ...]) -> Table:
    outer = Table.grid(padding=(0, 0))
    outer.add_column()
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold", no_wrap=True, min_width=10)
    keys.add_column()
    for key, what in key_rows:
        keys.add_row(key, what)
    outer.add_row(keys)
    outer.add_row(Text(""))
    bands = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
    for title, _ in BANDS:
        bands.add_column(title, no_wrap=True)
    for i in range(4):
        bands.add_row(
            *(
                Text(f"■ {rows[i][0]:<12} {rows[i][2]}", style=TONE_COLOURS[rows[i][1]])
                for _, rows in BANDS
            )
        )
    outer.add_row(bands)
    outer.add_row(Text(""))
    outer.add_row(
        Text(
            "Percentiles come from merged histograms (within 0.4 %), never averaged. "
            "The window is the last few complete seconds; 'whole run' is everything so far.",
            style="dim",
        )
    )
    return outer
