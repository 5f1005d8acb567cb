"""``tui-loadtest baselines``: the app opened on the baseline list, without a run."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from ..store import BaselineStore
from .screens.baselines import BaselineListScreen


class BaselinesApp(App[None]):
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


def create_baselines_app(store: BaselineStore) -> BaselinesApp:
    """The app the CLI runs and the tests drive."""
    return BaselinesApp(store)


def run_baselines_app(store: BaselineStore) -> None:
    create_baselines_app(store).run()
