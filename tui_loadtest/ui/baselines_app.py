"""``tui-loadtest baselines``: the app opened on the baseline list, without a run."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..store import BaselineStore
from .screens.baselines import BaselineListScreen
from .screenshot_files import SavesScreenshots


class BaselinesApp(SavesScreenshots, App[None]):
    """Browse, inspect and compare stored baselines."""

    TITLE = "tui-loadtest · baselines"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, store: BaselineStore) -> None:
        super().__init__()
        self.store = store

    def on_mount(self) -> None:
        self.push_screen(BaselineListScreen(self.store, root=True))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, with our Screenshot (see screenshot_files) for its own."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        yield self.screenshot_command()


def create_baselines_app(store: BaselineStore) -> BaselinesApp:
    """The app the CLI runs and the tests drive."""
    return BaselinesApp(store)


def run_baselines_app(store: BaselineStore) -> None:
    create_baselines_app(store).run()
