"""Asks before a running load test is abandoned."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmQuit(ModalScreen[bool]):
    """Yes (y, Enter, or q / Ctrl+C again) quits and stops the run; No (n, Esc) goes back."""

    DEFAULT_CSS = """
    ConfirmQuit {
        align: center middle;
        background: $background 60%;
    }
    ConfirmQuit > #confirm-box {
        width: 64;
        max-width: 100%;
        height: auto;
        border: thick #ff9e4a;
        background: $surface;
        padding: 1 2;
    }
    ConfirmQuit #confirm-title { text-style: bold; margin-bottom: 1; }
    ConfirmQuit #confirm-keys { margin-top: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Quit", priority=True),
        Binding("q,ctrl+c,ctrl+q", "answer(True)", "Quit", show=False, priority=True),
        Binding("n,escape", "answer(False)", "Keep running", priority=True),
    ]

    def __init__(
        self,
        message: str,
        *,
        title: str = "Quit while the run is going?",
        keys: str = "[b]y[/b] / Enter: stop and quit     [b]n[/b] / Esc: keep running",
    ) -> None:
        super().__init__()
        self.message = message
        self.title_text = title
        self.keys_text = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.title_text, id="confirm-title")
            yield Static(self.message, id="confirm-message")
            yield Static(self.keys_text, id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
