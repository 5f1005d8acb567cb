"""What the live dashboard does with baselines: ``b`` saves the run (during or after it),
``l`` opens the list, and ``--compare-to NAME`` puts the baseline's figures and the
deltas beside the live ones.

The dashboard's app and screen call into this module; everything about
baselines stays here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App
from textual.widgets import Static

from ..baselines import make_baseline
from ..errors import UserError
from ..pipeline.outputs import BaselineContext
from ..report.formatting import fmt_ms, fmt_pct, fmt_rate
from ..stats.model import Snapshot, Stats
from ..store import Baseline, check_name
from .screens.baseline_dialogs import ConfirmAction, NamePrompt
from .screens.baselines import BaselineListScreen
from .source import RunSource
from .style import TONE_COLOURS


def default_name(scenario_name: str, now: datetime | None = None) -> str:
    """``mixed-workload-20240101-1200``: a name to start from in the prompt."""
    slug = re.sub(r"[^a-z0-9]+", "-", scenario_name.lower()).strip("-")[:40] or "run"
    return f"{slug}-{(now or datetime.now()):%Y%m%d-%H%M}"


def save_baseline(app: App, ctx: BaselineContext, source: RunSource) -> None:
    """Ask for a name and save the run's result (partial while it is still going).

    An existing name is an error in the prompt; it is replaced only after an
    explicit "y" in a second dialog.
    """

    def ask(value: str, error: str = "") -> None:
        title = "Save this run as a baseline named:"
        if not source.done:
            title = "Save the run so far as a baseline named:"
        app.push_screen(NamePrompt(title, value, error=error), lambda name: answered(name))

    def answered(name: str | None) -> None:
        if name is None:
            return
        try:
            check_name(name)
            exists = ctx.store.exists(name)
        except UserError as exc:
            ask(name, str(exc))
            return
        if not exists:
            store(name, overwrite=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                store(name, overwrite=True)
            else:
                ask(
                    name, f'"{name}" already exists: choose another name, or confirm to replace it.'
                )

        app.push_screen(
            ConfirmAction(
                f'A baseline named "{name}" already exists.',
                "Replace it with this run? The stored baseline is lost.",
            ),
            confirmed,
        )

    def store(name: str, *, overwrite: bool) -> None:
        try:
            result = source.result()
            baseline = make_baseline(result, name, source="dashboard", ran_here=True,
                                     metadata={"partial": not source.done})  # fmt: skip
            ctx.store.save(baseline, overwrite=overwrite)
        except UserError as exc:
            app.notify(str(exc), severity="error", timeout=8)
            return
        what = "Replaced" if overwrite else "Saved"
        note = "" if source.done else " (the run so far)"
        app.notify(f'{what} baseline "{name}"{note} in {ctx.store.path}', timeout=5)

    ask(default_name(source.snapshot.scenario_name))


def open_baselines(app: App, ctx: BaselineContext, source: RunSource) -> None:
    """The baseline list on top of the dashboard; ``c`` there compares with this run."""
    if isinstance(app.screen, BaselineListScreen):
        return
    app.push_screen(BaselineListScreen(ctx.store, current=source.result))


class BaselineDeltas(Static):
    """The live run's whole-run figures beside the baseline's, with the change.

    Colours follow the user's point of view and the gate's threshold: a change
    smaller than the threshold stays dim. The noise-aware verdict comes at the end.
    """

    DEFAULT_CSS = """
    BaselineDeltas {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, baseline: Baseline, threshold: float = 0.10, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.baseline = baseline
        self.threshold = threshold
        self.border_title = f"vs baseline {baseline.name}"
        self.border_subtitle = "verdict at the end"

    def show(self, snap: Snapshot) -> None:
        self.update(delta_table(snap.total, self.baseline.result.summary, self.threshold))


def delta_table(live: Stats, base: Stats, threshold: float) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim")
    for _ in range(3):
        grid.add_column(justify="right")
    grid.add_row(
        "", Text("live", style="bold"), Text("base", style="bold"), Text("Δ", style="bold")
    )
    rows = (
        ("P50 ms", live.latency.p50, base.latency.p50, fmt_ms, False),
        ("P95 ms", live.latency.p95, base.latency.p95, fmt_ms, False),
        ("P99 ms", live.latency.p99, base.latency.p99, fmt_ms, False),
        ("Req/s", live.rps, base.rps, fmt_rate, True),
        ("Errors", live.error_rate, base.error_rate, fmt_pct, False),
    )
    for label, now, then, fmt, higher_better in rows:
        grid.add_row(label, fmt(now), fmt(then), _delta(now, then, higher_better, threshold))
    return grid


def _delta(now: float, then: float, higher_better: bool, threshold: float) -> Text:
    if not then:
        return Text("—" if not now else "new", style="dim")
    change = (now - then) / then
    better = change > 0 if higher_better else change < 0
    style = "dim"
    if abs(change) >= threshold:
        style = TONE_COLOURS["good"] if better else TONE_COLOURS["bad"]
    return Text(f"{change * 100:+.1f}%", style=style)


def default_context() -> BaselineContext:
    """The store from ``TUI_LOADTEST_STORE`` or the per-user default, nothing to compare."""
    from ..baselines import open_store

    return BaselineContext(open_store())
