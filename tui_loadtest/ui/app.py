"""The Textual app that shows a run live, and the entry point the CLI calls.

``create_app`` builds the app around any :class:`RunSource` (a real
:class:`~tui_loadtest.engine.coordinator.Run`, or a seeded fake in tests).
``run_dashboard`` runs it in the main thread for a started Run and returns the
run's result, having stopped the run if the user quit while it was going.

Extending: screens are installed by name in ``SCREENS`` and pushed with
``push_screen("name")``; app-wide keys go in ``BINDINGS``, run controls on
:class:`DashboardScreen`. Commands added to ``get_system_commands`` show in the
command palette (Ctrl+P).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..pipeline.headless import Interrupted, Signals, finish_interrupted
from ..stats.result import RunResult
from .baseline_hooks import BaselineContext, default_context, open_baselines, save_baseline
from .screens.confirm import ConfirmQuit
from .screens.dashboard import LIVE_STATES, DashboardScreen
from .screens.help import HelpScreen
from .screenshot_files import SavesScreenshots
from .source import RunSource

QUIT_INTERRUPTED = "interrupted"  # the app's return value when a running run was abandoned
WATCH_QUIT = (
    "The watched run keeps going where it runs; only this view closes (exit code 0)."
    " What was seen here is kept only if saved with b first."
)
WATCH_QUIT_TEXTS = {
    "title": "Stop watching?",
    "keys": "[b]y[/b] / Enter: stop watching     [b]n[/b] / Esc: keep watching",
}


def default_user_step(users: int) -> int:
    """About a tenth of the users, at least one: +/- then feel the same at 50 or 5,000."""
    return max(1, round(users / 10))


class LoadTestApp(SavesScreenshots, App[str]):
    """The live dashboard for one run."""

    TITLE = "tui-loadtest"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("b", "save_baseline", "Save"),
        Binding("l", "baselines", "Baselines"),
    ]

    def __init__(
        self,
        source: RunSource,
        *,
        out: str | None = None,
        user_step: int = 10,
        refresh_s: float = 0.25,
        baselines: BaselineContext | None = None,
        screenshots: str | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.screenshots = screenshots  # folder for screenshots; None: the env or here
        self.baselines = baselines  # store, and --compare-to; the default store when None
        self.out = out
        self.user_step = user_step
        self.refresh_s = refresh_s
        self.quit_while_running = False
        self.loop: asyncio.AbstractEventLoop | None = None  # for quit_on_signal

    def on_mount(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Pushed (not the default screen) so that Textual loads the screen's CSS_PATH.
        self.install_screen(
            DashboardScreen(
                self.source,
                user_step=self.user_step,
                refresh_s=self.refresh_s,
                out=self.out,
                baselines=self.baselines,
            ),
            name="dashboard",
        )
        self.push_screen("dashboard")

    @property
    def dashboard(self) -> DashboardScreen:
        """The live screen."""
        return self.get_screen("dashboard", DashboardScreen)

    # -- quitting -------------------------------------------------------------
    def run_is_live(self) -> bool:
        """True while quitting would abandon requests the run is still sending."""
        return not self.source.done and self.source.snapshot.state in LIVE_STATES

    async def action_quit(self) -> None:
        """q, Ctrl+C, Ctrl+Q and the palette's Quit: ask first while the run is going."""
        if isinstance(self.screen, ConfirmQuit):
            self.screen.dismiss(True)  # q or Ctrl+C pressed again: yes
            return
        if not self.run_is_live():
            self.exit("done" if self.source.done else "stopping")
            return
        if self.source.observe_only:
            self.push_screen(ConfirmQuit(WATCH_QUIT, **WATCH_QUIT_TEXTS), self._stop_watching)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.quit_while_running = True
                self.source.stop(QUIT_INTERRUPTED)
                self.exit(QUIT_INTERRUPTED)

        message = "Requests in flight finish, then the run ends as interrupted (exit code 130)."
        if self.out:
            message += f" The partial report is still written to {self.out}."
        self.push_screen(ConfirmQuit(message), answered)

    def _stop_watching(self, yes: bool | None) -> None:
        """A watched run goes on without us: stop watching, and quit as done (exit code 0)."""
        if yes:
            self.source.stop("stopped watching")
            self.exit("done")

    def quit_on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP (or a SIGINT from outside): quit as if q were confirmed, through
        Textual's own exit, which leaves the alternate screen and releases the mouse."""
        if self.run_is_live() and not self.source.observe_only:
            self.quit_while_running = True
            self.source.stop(QUIT_INTERRUPTED)
        self.exit(QUIT_INTERRUPTED if self.quit_while_running else "done")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(observe_only=self.source.observe_only))

    # -- baselines (tui_loadtest.ui.baseline_hooks) ---------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save_baseline", "baselines"):
            return isinstance(self.screen, DashboardScreen)
        return True

    def action_save_baseline(self) -> None:
        """b: save the run (so far) as a baseline."""
        self.baselines = self.baselines or default_context()
        save_baseline(self, self.baselines, self.source)

    def action_baselines(self) -> None:
        """l: the baseline list, where c compares a baseline with this run."""
        self.baselines = self.baselines or default_context()
        open_baselines(self, self.baselines, self.source)

    # -- command palette --------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers what the keys do now: live controls only while the run is live."""
        if isinstance(screen, DashboardScreen) and screen.controls_live():
            yield SystemCommand(
                "Pause / resume", "Pause or resume sending (space)", screen.action_toggle_pause
            )
            if screen.source.snapshot.mode == "arrival-rate":
                yield SystemCommand(
                    "Raise the rate", "A tenth more requests per second (+)",
                    screen.action_more_users,
                )  # fmt: skip
                yield SystemCommand(
                    "Lower the rate", "A tenth fewer requests per second (-)",
                    screen.action_fewer_users,
                )  # fmt: skip
            else:
                yield SystemCommand(
                    "More users", f"Add {screen.user_step} users (+)", screen.action_more_users
                )
                yield SystemCommand(
                    "Fewer users",
                    f"Remove {screen.user_step} users (-)",
                    screen.action_fewer_users,
                )
            yield SystemCommand(
                "Stop the run", "Stop gracefully; the summary stays (s)", screen.action_stop_run
            )
        if isinstance(screen, DashboardScreen):
            if screen.check_action("toggle_latency_view", ()):
                yield SystemCommand(
                    "Latency: corrected / service time",
                    "Switch the latency figures (c)",
                    screen.action_toggle_latency_view,
                )
            yield SystemCommand(
                "Sort endpoints",
                "Sort the endpoint table by the next column (o)",
                screen.action_cycle_sort,
            )
            yield SystemCommand(
                "Endpoints: run / window",
                "Whole-run or recent figures (w)",
                screen.action_toggle_endpoint_view,
            )
            if screen.result is not None:
                yield SystemCommand(
                    "Summary / live panels", "Switch views (d)", screen.action_toggle_summary
                )
        if isinstance(screen, DashboardScreen):
            yield SystemCommand(
                "Save baseline", "Save this run as a baseline (b)", self.action_save_baseline
            )
            yield SystemCommand(
                "Baselines", "Browse and compare baselines (l)", self.action_baselines
            )
        yield SystemCommand("Help", "Keys and colour bands (?)", self.action_help)
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Screenshot"):
                yield command
        yield self.screenshot_command()
        quit_help = (
            "Stop watching (the watched run goes on)"
            if self.source.observe_only
            else "Quit (asks first while the run is going)"
        )
        yield SystemCommand("Quit", quit_help, self.action_quit)


def create_app(
    source: RunSource,
    *,
    out: str | None = None,
    user_step: int | None = None,
    refresh_s: float = 0.25,
    baselines: BaselineContext | None = None,
    screenshots: str | None = None,
) -> LoadTestApp:
    """Build the dashboard app around ``source`` (used by the CLI and the tests)."""
    step = user_step if user_step is not None else default_user_step(source.users_target)
    return LoadTestApp(
        source,
        out=out,
        user_step=step,
        refresh_s=refresh_s,
        baselines=baselines,
        screenshots=screenshots,
    )


def run_dashboard(
    run: RunSource,
    *,
    out: str | None = None,
    user_step: int | None = None,
    baselines: BaselineContext | None = None,
    signals: Signals | None = None,
) -> RunResult:
    """Show a started run on the dashboard until the user quits; return its result.

    Whatever ends the app (q, Ctrl+C, a crash, SIGTERM or SIGHUP through ``signals``)
    while the run is still going stops the run as "interrupted", waits for requests in
    flight (a second Ctrl+C or signal stops waiting), and returns the partial result.
    """
    app = create_app(run, out=out, user_step=user_step, baselines=baselines)

    def on_signal(signum: int) -> None:
        # Called by the signal handler, between two bytecodes of the app's own loop:
        # only schedule the quit there. Before the app is mounted, or once its loop has
        # closed, the signal interrupts as Ctrl+C does.
        if app.loop is None or app.loop.is_closed():
            raise Interrupted(signum)
        app.loop.call_soon_threadsafe(app.quit_on_signal, signum)

    if signals is not None:
        signals.redirect = on_signal
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    finally:
        if signals is not None:
            signals.redirect = None
        if not run.done:
            finish_interrupted(run, QUIT_INTERRUPTED, signals=signals)  # type: ignore[arg-type]
    return run.result()
