"""Browsing the baseline store: the list (filter, sort, mark two to compare) and the
details of one baseline (figures, endpoints, errors, charts, recommendations).

Both screens read the store when shown, so a baseline saved from the
dashboard, or by another process, appears when the list comes back into view.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from ...baselines import SORT_KEYS, export_data, export_file_name, filter_infos, sort_infos
from ...compare import compare
from ...compare.repeated import compare_results
from ...errors import UserError
from ...ratings import rate_throughput
from ...report.formatting import fmt_ms, fmt_pct, fmt_rate
from ...report.json_report import write_json_atomic
from ...stats.result import RunResult
from ...store import Baseline, BaselineInfo, BaselineStore, describe_skipped
from ..style import TONE_COLOURS
from ..widgets.charts import LatencyChart, RpsChart
from ..widgets.summary import summary_renderable
from .baseline_dialogs import ConfirmAction, NamePrompt
from .compare import CompareScreen

CurrentRun = Callable[[], RunResult]  # the live run's latest result, when there is one

_COLUMNS = (
    ("mark", " "),
    ("name", "Name"),
    ("date", "Created"),
    ("scenario", "Scenario"),
    ("host", "Host"),
    ("rps", "Req/s"),
    ("p95", "P95 ms"),
    ("errors", "Errors"),
    ("rating", "Rating"),
)

_CSS = """
BaselineListScreen #baselines-title, BaselineDetailScreen #detail-title {
    height: auto;
    padding: 0 1;
    background: $panel;
}
BaselineListScreen #baseline-filter { margin: 0 1; }
BaselineListScreen #baseline-table { height: 1fr; margin: 0 1; }
BaselineListScreen #baselines-empty { padding: 1 2; color: $text-muted; height: auto; }
BaselineDetailScreen #detail-body { height: 1fr; padding: 0 1; }
BaselineDetailScreen #detail-charts { height: 14; }
BaselineDetailScreen #detail-charts > * { width: 1fr; }
BaselineDetailScreen #detail-summary { height: auto; padding: 0 1; }
"""


class _BaselineActions(Screen):
    """Delete, rename and export, shared by the list and the details screens."""

    store: BaselineStore

    def _selected(self) -> str | None:
        raise NotImplementedError

    def _changed(self) -> None:
        """Called after the store changed."""

    def action_delete(self) -> None:
        name = self._selected()
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._try(lambda: self.store.delete(name), f'Deleted "{name}".')

        self.app.push_screen(
            ConfirmAction(f'Delete baseline "{name}"?', f"It is removed from {self.store.path}."),
            answered,
        )

    def action_rename(self) -> None:
        name = self._selected()
        if name is None:
            return

        def answered(new: str | None) -> None:
            if new and new != name:
                self._try(lambda: self.store.rename(name, new), f'Renamed "{name}" to "{new}".')

        self.app.push_screen(NamePrompt(f'Rename "{name}" to:', name), answered)

    def action_export(self) -> None:
        name = self._selected()
        if name is None:
            return
        path = Path.cwd() / export_file_name(name)
        self._try(
            lambda: write_json_atomic(path, export_data(self.store.load(name))),
            f"Exported to {path}",
            changed=False,
        )

    def _try(self, action: Callable[[], object], done: str, *, changed: bool = True) -> None:
        try:
            action()
        except UserError as exc:
            self.app.notify(str(exc), severity="error", timeout=6)
            return
        self.app.notify(done, timeout=4)
        if changed:
            self._changed()


class BaselineListScreen(_BaselineActions):
    """Every stored baseline. Space marks up to two for ``c`` (compare)."""

    DEFAULT_CSS = _CSS
    BINDINGS = [
        Binding("enter", "details", "Details", show=False),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("o", "sort", "Sort"),
        Binding("v", "reverse", "Reverse", show=False),
        Binding("n", "rename", "Rename"),
        Binding("e", "export", "Export"),
        Binding("d,delete", "delete", "Delete"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self, store: BaselineStore, *, current: CurrentRun | None = None, root: bool = False
    ) -> None:
        super().__init__(id="baselines")
        self.store = store
        self.current = current
        self.root = root  # the first screen of its app: Esc quits instead of going back
        self.infos: list[BaselineInfo] = []
        self.shown: list[BaselineInfo] = []
        self.marked: list[str] = []
        self.sort_key = "date"
        self.reverse = False

    def compose(self) -> ComposeResult:
        yield Static("", id="baselines-title")
        yield Input(placeholder="/ filter by name, scenario or host", id="baseline-filter")
        table: DataTable = DataTable(id="baseline-table", cursor_type="row", zebra_stripes=True)
        for key, label in _COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="baselines-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    # -- data ---------------------------------------------------------------------
    def reload(self) -> None:
        try:
            self.infos, skipped = self.store.scan()
            if skipped:
                self.app.notify(describe_skipped(skipped), severity="warning", timeout=10)
        except UserError as exc:
            self.infos = []
            self.app.notify(str(exc), severity="error", timeout=10)
        names = {i.name for i in self.infos}
        self.marked = [m for m in self.marked if m in names]
        self.redraw()

    def redraw(self) -> None:
        text = self.query_one("#baseline-filter", Input).value
        self.shown = sort_infos(filter_infos(self.infos, text), self.sort_key, self.reverse)
        table = self.query_one(DataTable)
        keep = self._selected()
        table.clear()
        for info in self.shown:
            table.add_row(*self._cells(info), key=info.name)
        if keep in {i.name for i in self.shown}:
            table.move_cursor(row=table.get_row_index(keep))
        order = "↑" if self.reverse else ""
        title = (
            f"[b]Baselines[/b]  {len(self.shown)} of {len(self.infos)} in {self.store.path}"
            f"   sort: {self.sort_key}{order}"
        )
        if self.marked:
            title += "   marked: " + ", ".join(self.marked)
        self.query_one("#baselines-title", Static).update(title)
        empty = self.query_one("#baselines-empty", Static)
        empty.display = not self.shown
        empty.update(
            "No baselines yet: press b on the dashboard, or run with --save-baseline NAME."
            if not self.infos
            else "No baseline matches the filter."
        )

    def _cells(self, i: BaselineInfo) -> list[object]:
        rating = i.rating
        mark = "✓" if i.name in self.marked else ""
        return [
            Text(mark, style="bold #56b6f7"),
            Text(i.name, style="bold"),
            i.created_at[:19].replace("T", " "),
            i.scenario_name,
            i.host,
            Text(fmt_rate(i.rps), justify="right", style=TONE_COLOURS[rate_throughput(i.rps).tone]),
            Text(fmt_ms(i.p95_ms), justify="right"),
            Text(fmt_pct(i.error_rate), justify="right"),
            Text(rating.label, style=TONE_COLOURS[rating.tone]),
        ]

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row].name

    def _changed(self) -> None:
        self.reload()

    # -- keys -----------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def action_back(self) -> None:
        if self.query_one(Input).has_focus:
            self.query_one(DataTable).focus()
        elif self.root:
            self.app.exit()
        else:
            self.app.pop_screen()

    def action_sort(self) -> None:
        self.sort_key = SORT_KEYS[(SORT_KEYS.index(self.sort_key) + 1) % len(SORT_KEYS)]
        self.redraw()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.redraw()

    def action_mark(self) -> None:
        name = self._selected()
        if name is None:
            return
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked = [*self.marked, name][-2:]  # the two most recent marks
        self.redraw()

    def action_details(self) -> None:
        name = self._selected()
        if name is not None:
            self.app.push_screen(BaselineDetailScreen(self.store, name, current=self.current))

    def action_compare(self) -> None:
        """Two marked: the older is the baseline. Otherwise the live run against the
        baseline under the cursor."""
        if len(self.marked) == 2:
            by_date = {i.name: i.created_at for i in self.infos}
            a, b = sorted(self.marked, key=lambda n: by_date.get(n, ""))
            self.compare_two(a, b)
        elif self.current is not None and (name := self._selected()) is not None:
            self.compare_live(name, self.current)
        else:
            self.app.notify("Mark two baselines with space, then press c.", timeout=4)

    @work(exclusive=True, thread=True, group="compare")
    def compare_two(self, a: str, b: str) -> None:
        try:
            ba, bb = self.store.load(a), self.store.load(b)
        except UserError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        c = compare_results(ba.result, bb.result, baseline_name=a, current_name=b)
        screen = CompareScreen(c, _describe(ba), _describe(bb))
        self.app.call_from_thread(self.app.push_screen, screen)

    @work(exclusive=True, thread=True, group="compare")
    def compare_live(self, name: str, current: CurrentRun) -> None:
        try:
            base = self.store.load(name)
        except UserError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        live = current()
        c = compare(base.result, live, baseline_name=name, current_name="this run")
        screen = CompareScreen(c, _describe(base), "the live run, so far")
        self.app.call_from_thread(self.app.push_screen, screen)


def _describe(b: Baseline) -> str:
    return f"{b.created_at[:19].replace('T', ' ')} · {b.result.scenario_name} · {b.result.host}"


class BaselineDetailScreen(_BaselineActions):
    """One baseline: who/when/where, the figures and tables, charts, recommendations."""

    DEFAULT_CSS = _CSS
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("c", "compare_live", "Compare with this run"),
        Binding("n", "rename", "Rename"),
        Binding("e", "export", "Export"),
        Binding("d,delete", "delete", "Delete"),
    ]

    def __init__(
        self, store: BaselineStore, name: str, *, current: CurrentRun | None = None
    ) -> None:
        super().__init__(id="baseline-detail")
        self.store = store
        self.baseline_name = name
        self.current = current
        self.baseline: Baseline | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-title")
        with VerticalScroll(id="detail-body"):
            with Horizontal(id="detail-charts"):
                yield RpsChart(id="detail-rps")
                yield LatencyChart(id="detail-latency")
            yield Static("", id="detail-summary")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.baseline = self.store.load(self.baseline_name)
        except UserError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            self.app.pop_screen()
            return
        b, r = self.baseline, self.baseline.result
        env, meta = r.environment, b.metadata
        self.query_one("#detail-title", Static).update(
            f"[b]{b.name}[/b]   created {b.created_at[:19].replace('T', ' ')}"
            f"   {r.scenario_name} → {r.host}\n"
            f"[dim]tui-loadtest {env.get('tool_version') or r.version}, Python"
            f" {env.get('python', '?')}, {env.get('workers', 1)} worker(s)"
            + (f", on {meta['machine']}" if meta.get("machine") else "")
            + f"; source: {meta.get('source', 'unknown')}[/dim]"
        )
        self.query_one(RpsChart).show(r.timeline, done=True)
        self.query_one(LatencyChart).show(r.timeline, done=True)
        self.query_one("#detail-summary", Static).update(summary_renderable(r))
        self.query_one("#detail-body").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "compare_live":
            return self.current is not None
        return True

    def _selected(self) -> str | None:
        return self.baseline_name

    def _changed(self) -> None:
        self.app.pop_screen()  # deleted or renamed: back to the (reloaded) list

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_compare_live(self) -> None:
        if self.current is None or self.baseline is None:
            return
        c = compare(self.baseline.result, self.current(), baseline_name=self.baseline_name,
                    current_name="this run")  # fmt: skip
        self.app.push_screen(CompareScreen(c, _describe(self.baseline), "the live run, so far"))
