"""The live dashboard: one screen that polls the run's latest Snapshot.

The poll timer belongs to this screen (an App-level timer raced with screen
teardown), and reads one immutable Snapshot per tick: never a message per
request. Panels redraw only when the Snapshot (or the clock) changed.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer

from ...compare.repeated import compare_results
from ...stats.model import ScenarioSnapshot, Snapshot
from ...stats.result import RunResult
from ..baseline_hooks import BaselineContext, BaselineDeltas
from ..source import RunSource, ScenarioControls
from ..widgets.charts import LatencyChart, RpsChart
from ..widgets.checks import CheckTable
from ..widgets.endpoints import EndpointTable
from ..widgets.errors import ErrorTable
from ..widgets.events import EventLog
from ..widgets.header import RunHeader, RunProgress, time_under_load
from ..widgets.kpi import KpiBar
from ..widgets.percentiles import PercentilePanel
from ..widgets.resources import ResourcesView
from ..widgets.summary import SummaryView
from ..widgets.workers import WorkersView

LIVE_STATES = ("starting", "ramping", "warming up", "running", "paused")
LIVE_ONLY = ("toggle_pause", "more_users", "fewer_users", "stop_run")  # mean nothing once over
ALL = "all"  # the scenario selection that acts on every scenario at once
STACKED_PANELS = ("left", "chart-rps", "chart-latency", "endpoints", "errors")  # narrow order
CLOCK_FALLBACK_S = 1.25  # redraw the clock on its own when no Snapshot came for this long


class DashboardScreen(Screen):
    """Header, progress, KPI tiles, percentiles, charts, endpoints, errors, checks (when
    the run has any), events."""

    CSS_PATH = "dashboard.tcss"
    AUTO_FOCUS = ""  # no panel highlighted until the user tabs to one
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause", key_display="space"),
        Binding("plus,equals_sign", "more_users", "Users", key_display="+/-"),
        Binding("minus,underscore", "fewer_users", "Fewer users", show=False),
        Binding("s", "stop_run", "Stop"),
        Binding("g", "next_scenario", "Scenario"),  # [[scenarios]]: what space and +/- act on
        Binding("c", "toggle_latency_view", "Latency"),  # corrected / service time
        Binding("c", "no_latency_view", show=False),  # closed-model runs: say why not
        Binding("d", "toggle_summary", "Summary/live"),
        Binding("r", "toggle_resources", "Resources"),  # only when something is watched
        Binding("n", "toggle_workers", "Workers"),  # several engines, or a cluster's
        Binding("o", "cycle_sort", "Sort endpoints", show=False),
        Binding("w", "toggle_endpoint_view", "Run/window", show=False),
        Binding("t", "cycle_endpoint_figure", "Latency/TTFB", show=False),
        # Narrow terminals: the stacked panels scroll; one key reaches what is below.
        Binding("down,j", "scroll_body(1)", "Scroll", key_display="↓"),
        Binding("up,k", "scroll_body(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_body(10)", "Page down", show=False),
        Binding("pageup", "scroll_body(-10)", "Page up", show=False),
    ]

    def __init__(
        self,
        source: RunSource,
        *,
        user_step: int = 10,
        refresh_s: float = 0.25,
        out: str | None = None,
        baselines: BaselineContext | None = None,
    ) -> None:
        super().__init__(id="dashboard")
        self.baselines = baselines
        self.source = source
        self.user_step = max(1, int(user_step))
        self.refresh_s = refresh_s
        self.out = out
        self.result: RunResult | None = None
        self._snap: Snapshot | None = None
        self._state = ""
        self._has_service = False
        self._has_resources = False
        self._has_workers = False
        self._clock_drawn = 0.0
        self.selected = ALL  # [[scenarios]]: the one space and +/- act on, or all of them

    # -- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        yield RunProgress(id="run-progress")
        yield KpiBar(id="kpis")
        with ContentSwitcher(initial="live", id="body"):
            with VerticalScroll(id="live", can_focus=False), Horizontal(id="main"):
                with Vertical(id="left"):
                    yield PercentilePanel(id="percentiles")
                    if self.baselines is not None and self.baselines.compare_to is not None:
                        yield BaselineDeltas(
                            self.baselines.compare_to, self.baselines.threshold, id="vs-baseline"
                        )
                    yield EventLog(id="events")
                with Vertical(id="right"):
                    yield RpsChart(id="chart-rps")
                    yield LatencyChart(id="chart-latency")
                    yield EndpointTable(id="endpoints")
                    yield ErrorTable(id="errors")
                    yield CheckTable(id="checks")  # runs with checks only
            yield SummaryView(id="summary")
            yield ResourcesView(id="resources")
            yield WorkersView(id="workers")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Looked up once: the poll runs several times a second.
        self._header = self.query_one(RunHeader)
        self._progress = self.query_one(RunProgress)
        self._kpis = self.query_one(KpiBar)
        self._rps_chart = self.query_one(RpsChart)
        self._latency_chart = self.query_one(LatencyChart)
        self._resources = self.query_one(ResourcesView)
        self._workers = self.query_one(WorkersView)
        self._body = self.query_one("#body", ContentSwitcher)
        self._panels = (
            self.query_one(PercentilePanel),
            self.query_one(EndpointTable),
            self.query_one(ErrorTable),
            self.query_one(CheckTable),
            self.query_one(EventLog),
        )
        self.call_after_refresh(self.refresh_view)
        self.call_after_refresh(self.source.go)  # the load starts once the screen is drawn
        self.set_interval(self.refresh_s, self.refresh_view)

    def on_resize(self) -> None:
        # The scroll key shows only in the narrow layout, where Ctrl+P gives way to it.
        self.query_one(Footer).show_command_palette = not self.has_class("-narrow")
        self.refresh_bindings()

    # -- the poll -------------------------------------------------------------
    def state(self) -> str:
        """The run's state now: the Snapshot's, with pause shown as soon as it is asked for."""
        snap = self.source.snapshot
        if self.source.done:
            return "done"
        if snap.state in ("ramping", "running") and self.source.paused:
            return "paused"
        if snap.state == "paused" and not self.source.paused:
            return "ramping" if snap.users_active < snap.users_target else "running"
        if snap.warming_up and snap.state in ("ramping", "running"):
            return "warming up"  # measured apart (the header says so)
        return snap.state

    def refresh_view(self) -> None:
        """Read the latest Snapshot; redraw what changed. Runs refresh_s apart.

        The clock is redrawn with each new Snapshot (they arrive just after each
        second) and on its own only when Snapshots stall, so a second costs one
        frame rather than two.
        """
        snap = self.source.snapshot
        state = self.state()
        changed = snap is not self._snap or state != self._state
        now = time.monotonic()
        if changed or now - self._clock_drawn >= CLOCK_FALLBACK_S:
            self._clock_drawn = now
            self._show_clock(snap, state)
        if changed:
            self._snap = snap
            for panel in self._panels:
                panel.show(snap)
            self._kpis.show(snap, state, self.result)
            done = state == "done"
            self._rps_chart.show(snap.timeline, snap.duration_s, done)
            self._latency_chart.show(snap.timeline, snap.duration_s, done)
            for delta_panel in self.query(BaselineDeltas):  # with --compare-to
                delta_panel.show(snap)
            if snap.resources and self._body.current == "resources":
                self._resources.show(snap.resources, snap.duration_s, done)
            if bool(snap.resources) != self._has_resources:
                self._has_resources = bool(snap.resources)
                self.refresh_bindings()
            if self._body.current == "workers":
                self._workers.show(snap)
            has_workers = len(snap.worker_rows) > 1 or any(r.address for r in snap.worker_rows)
            if has_workers != self._has_workers:
                self._has_workers = has_workers
                self.refresh_bindings()
            has_service = snap.total.service is not None
            if state != self._state or has_service != self._has_service:
                self._state = state
                self._has_service = has_service
                self.refresh_bindings()
        if state == "done" and self.result is None:
            try:
                self.show_summary()
            except Exception:
                if getattr(self.source, "failure", None) is None:
                    raise
                # The run itself failed (a bug in its merge): leave the app, and the
                # command reports it in one line with exit 70, as headless does.
                self.app.exit()

    def _show_clock(self, snap: Snapshot, state: str) -> None:
        """The header's clock and the progress line: live, or once the result exists the
        run's time under load and how far it got (as the summary states them)."""
        if self.result is not None:
            ran = time_under_load(self.result)
            self._header.show(snap, state, ran)
            self._progress.show(snap, ran, 0.0, state, self.result)
            return
        elapsed = snap.elapsed_s if state == "done" else self.source.elapsed()
        self._header.show(snap, state, elapsed)
        self._progress.show(snap, elapsed, self.source.paused_time(), state)

    def show_summary(self) -> None:
        """Fetch the final result once and show it in the seed's report layout; the
        header, the progress line and the tiles then show the result's figures too."""
        self.result = self.source.result()
        snap = self.source.snapshot
        self._show_clock(snap, "done")
        self._kpis.show(snap, "done", self.result)
        comparison = None
        ctx = self.baselines
        if ctx is not None and ctx.compare_to is not None and self.result.summary.requests:
            # --compare-to: the verdict on screen as soon as the run ends, judged as the
            # exit code will be (over the runs when either side holds several).
            comparison = compare_results(
                ctx.compare_to.result,
                self.result,
                threshold=ctx.threshold,
                baseline_name=ctx.compare_to.name,
                current_name="this run",
            )
            for panel in self.query(BaselineDeltas):
                panel.border_subtitle = f"verdict: {comparison.verdict}" + (
                    " (generator disturbed)" if comparison.disturbed else ""
                )
        self.query_one(SummaryView).show(self.result, self.out, comparison)
        self.query_one("#body", ContentSwitcher).current = "summary"
        self.query_one(SummaryView).focus()
        self.refresh_bindings()

    # -- keys -----------------------------------------------------------------
    def is_live(self) -> bool:
        """True while the run still sends requests (so pause, +/- and stop mean something)."""
        return self.state() in LIVE_STATES

    def controls_live(self) -> bool:
        """True while pause, +/- and stop act on the run: it is live and driven from here."""
        return self.is_live() and not self.source.observe_only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide controls that mean nothing in the current state."""
        if action in LIVE_ONLY:  # a watched run is driven elsewhere: never offered
            return self._state in LIVE_STATES and not self.source.observe_only
        if action == "toggle_latency_view":
            return self._has_service
        if action == "no_latency_view":
            return not self._has_service
        if action == "toggle_summary":
            return self.result is not None
        if action == "toggle_resources":
            return self._has_resources
        if action == "toggle_workers":
            return self._has_workers
        if action == "next_scenario":
            return bool(self._snap is not None and self._snap.scenarios) and self._controls()
        if action == "scroll_body":  # only the narrow, stacked layout scrolls
            body = self.query_one("#body", ContentSwitcher)
            return self.has_class("-narrow") and body.current == "live"
        return True

    def _over(self) -> bool:
        """For actions reached another way (the palette): say the run is over, or False."""
        if self.source.observe_only:
            self.notify("This run is only watched here: drive it from where it runs.", timeout=3)
            return True
        if self.is_live():
            return False
        self.notify("The run is over: that only works while it is running.", timeout=3)
        return True

    def _controls(self) -> bool:
        """The run takes controls per scenario (a Run of a file with [[scenarios]])."""
        return isinstance(self.source, ScenarioControls) and not self.source.observe_only

    def _scenarios(self) -> list[ScenarioSnapshot]:
        """The scenarios space and +/- act on now: the one selected, or every one."""
        parts = list(self.source.snapshot.scenarios)
        if self.selected == ALL:
            return parts
        return [p for p in parts if p.name == self.selected]

    def action_next_scenario(self) -> None:
        """g: the next scenario for space and +/- to act on (then all of them again)."""
        names = [ALL, *(p.name for p in self.source.snapshot.scenarios)]
        at = names.index(self.selected) if self.selected in names else 0
        self.selected = names[(at + 1) % len(names)]
        self.query_one(EndpointTable).select(None if self.selected == ALL else self.selected)
        what = "every scenario" if self.selected == ALL else f"scenario {self.selected}"
        self.notify(f"Space and +/- act on {what}", timeout=2)

    def action_toggle_pause(self) -> None:
        if self._over():
            return
        source = self.source
        if self.selected != ALL and isinstance(source, ScenarioControls):
            for part in self._scenarios():
                source.toggle_part_pause(part.name)
                state = "paused" if source.part_is_paused(part.name) else "resumed"
                self.notify(f"{part.name}: {state}", timeout=2)
        else:
            source.toggle_pause()
        self.refresh_view()

    def action_more_users(self) -> None:
        if self._over():
            return
        if self._change_parts(+1):
            return
        if not self._change_rate(+1):
            self._set_users(self.source.users_target + self.user_step)

    def action_fewer_users(self) -> None:
        if self._over():
            return
        if self._change_parts(-1):
            return
        if not self._change_rate(-1):
            self._set_users(max(1, self.source.users_target - self.user_step))

    def _change_parts(self, direction: int) -> bool:
        """[[scenarios]]: +/- on the selected scenario (or each): users by the step, an
        arrival rate by a tenth. False for a run without scenarios."""
        source = self.source
        if not self.source.snapshot.scenarios or not isinstance(source, ScenarioControls):
            return False
        said = []
        for part in self._scenarios():
            now = source.part_target(part.name)
            if part.is_open:
                new = max(1.0, now + direction * max(1.0, round(now / 10)))
                source.set_part_rate(part.name, new)
                said.append(f"{part.name} {new:g} req/s")
            else:
                users = max(1 if direction < 0 else 0, int(now) + direction * self.user_step)
                source.set_part_users(part.name, users)
                said.append(f"{part.name} {users} users")
        self.notify("Target: " + ", ".join(said), timeout=2)
        return True

    def _change_rate(self, direction: int) -> bool:
        """Arrival-rate runs: +/- move the rate by a tenth (at least 1 req/s). False otherwise."""
        snap = self.source.snapshot
        if snap.mode != "arrival-rate":
            return False
        rate = snap.rate_target or 0.0
        step = max(1.0, round(rate / 10))
        new = max(1.0, rate + direction * step)
        self.source.set_rate(new)
        self.notify(f"Target rate: {new:g} req/s", timeout=2)
        return True

    def _set_users(self, users: int) -> None:
        if users != self.source.users_target:
            self.source.set_users(users)
            self.notify(f"Target users: {users}", timeout=2)

    def action_stop_run(self) -> None:
        if self._over():
            return
        self.source.stop("stopped by user")
        self.notify("Stopping: finishing requests in flight…", timeout=3)
        self.refresh_view()

    def action_toggle_latency_view(self) -> None:
        panel = self.query_one(PercentilePanel)
        if panel.toggle_view():
            self.notify(f"Latency: {panel.view} view", timeout=2)

    def action_no_latency_view(self) -> None:
        """c on a closed-model run: there is no queueing delay to correct, so say so."""
        self.notify(
            "c switches corrected / service-time latency on arrival-rate runs (--rate). "
            "This run has a fixed number of users, which wait for each response: "
            "the two are the same here.",
            title="Nothing to switch",
            timeout=6,
        )

    def action_scroll_body(self, step: int) -> None:
        """↓ ↑ (j k): the next / previous panel to the top; PgDn PgUp: a page. No focus needed."""
        live = self.query_one("#live", VerticalScroll)
        if abs(step) > 1:
            (live.scroll_page_down if step > 0 else live.scroll_page_up)(animate=False)
            return
        top = live.region.y
        panels = [self.query_one(f"#{name}") for name in STACKED_PANELS]
        if step > 0:
            target = next((p for p in panels if p.region.y > top), None)
        else:
            target = next((p for p in reversed(panels) if p.region.y < top), None)
        if target is None:
            (live.scroll_end if step > 0 else live.scroll_home)(animate=False)
        else:
            live.scroll_to_widget(target, animate=False, top=True)

    def action_toggle_summary(self) -> None:
        switcher = self.query_one("#body", ContentSwitcher)
        switcher.current = "live" if switcher.current == "summary" else "summary"
        self.refresh_bindings()

    def action_toggle_resources(self) -> None:
        """r: the watched series (a chart each), or back to the live panels."""
        if self._body.current == "resources":
            self._body.current = "summary" if self.result is not None else "live"
        else:
            snap = self.source.snapshot
            self._resources.show(snap.resources, snap.duration_s, self.source.done)
            self._body.current = "resources"
        self.refresh_bindings()

    def action_toggle_workers(self) -> None:
        """n: one row per engine (host, state, users, req/s, CPU, lag), or back."""
        if self._body.current == "workers":
            self._body.current = "summary" if self.result is not None else "live"
        else:
            self._workers.show(self.source.snapshot)
            self._body.current = "workers"
        self.refresh_bindings()

    def action_cycle_sort(self) -> None:
        self.query_one(EndpointTable).cycle_sort()

    def action_toggle_endpoint_view(self) -> None:
        self.query_one(EndpointTable).toggle_view()

    def action_cycle_endpoint_figure(self) -> None:
        self.query_one(EndpointTable).cycle_figure()
