"""Small modal dialogs for baselines: ask for a name, confirm a destructive action."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

_BOX_CSS = """
{cls} {{ align: center middle; background: $background 60%; }}
{cls} > .dialog-box {{
    width: 70;
    max-width: 100%;
    height: auto;
    border: thick $accent;
    background: $surface;
    padding: 1 2;
}}
{cls} .dialog-title {{ text-style: bold; margin-bottom: 1; }}
{cls} .dialog-keys {{ margin-top: 1; color: $text-muted; }}
{cls} .dialog-error {{ color: #ff5f5f; height: auto; }}
"""


class NamePrompt(ModalScreen[str | None]):
    """Type a name; Enter answers it, Esc cancels (None)."""

    DEFAULT_CSS = _BOX_CSS.format(cls="NamePrompt")
    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True)]

    def __init__(self, title: str, value: str = "", *, error: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self.title_text, classes="dialog-title")
            yield Input(value=self.value, placeholder="baseline name", id="name-input")
            yield Static(self.error, classes="dialog-error", id="name-error")
            yield Static("[b]Enter[/b]: OK     [b]Esc[/b]: cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmAction(ModalScreen[bool]):
    """Yes (y) or No (n, Esc). Enter means No: overwriting or deleting needs a deliberate y."""

    DEFAULT_CSS = _BOX_CSS.format(cls="ConfirmAction")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", priority=True),
        Binding("n,escape,enter", "answer(False)", "No", priority=True),
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self.title_text, classes="dialog-title", id="confirm-title")
            yield Static(self.message, id="confirm-message")
            yield Static("[b]y[/b]: yes     [b]n[/b] / Esc: no", classes="dialog-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
