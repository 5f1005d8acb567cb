"""The end screen agrees with itself: once the run is over the tiles, the clock and the
progress line show the run's figures, the ones the summary beside them states (the real
app driven by Pilot, on seeded fakes)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.ui.fakes import FakeSource, SeededRun, demo_source, with_open_model
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.report.formatting import fmt_int, fmt_ms, fmt_pct, fmt_rate
from tui_loadtest.stats.result import RunResult
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.header import RunHeader, RunProgress

pytestmark = pytest.mark.anyio
WIDE = (160, 48)


async def ended(app, pilot, src: FakeSource) -> DashboardScreen:  # noqa: ANN001
    """Start the app, end the run, and wait for the summary."""
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen._snap is not None)
    src.finish()
    await wait_for(pilot, lambda: screen.result is not None)
    await pilot.pause()
    return screen


def folded(text: str) -> str:
    return " ".join(text.split())


def summary_value(screen: DashboardScreen, label: str) -> str:
    """The figure after ``label`` in the summary as drawn."""
    shown = folded(text_of(screen.query_one("#summary-body")))
    found = re.search(re.escape(label) + r" (\S+)", shown)
    assert found, f"{label!r} not in the summary"
    return found.group(1)


async def test_the_tiles_show_the_runs_figures_as_the_summary_does():
    """The last seconds were slower than the run: "p95 now" (the last 5 s) beside the
    summary's P95 read as two figures for one thing."""
    run = SeededRun(seed=3, duration_s=20.0)
    run.advance(15)
    run.advance(5, slowdown=3.0)
    src = FakeSource(run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await ended(app, pilot, src)
        result = screen.result
        assert result is not None
        s = result.summary
        assert src.snapshot.window.latency.p95 != s.latency.p95  # the window differs
        p95 = text_of(screen.query_one("#kpi-p95"))
        assert f"{fmt_ms(s.latency.p95)} ms" in p95 and f"p99 {fmt_ms(s.latency.p99)} ms" in p95
        assert screen.query_one("#kpi-p95").border_title == "p95 whole run"
        assert summary_value(screen, "P95 Response Time") == fmt_ms(s.latency.p95)
        errors = text_of(screen.query_one("#kpi-errors"))
        assert fmt_pct(s.error_rate) in errors and "now" not in errors
        assert summary_value(screen, "Error Rate") == fmt_pct(s.error_rate)
        assert f"{fmt_rate(s.rps)} req/s" in text_of(screen.query_one("#kpi-rps"))
        assert fmt_int(s.requests) in text_of(screen.query_one("#kpi-requests"))


class ResizedSource(FakeSource):
    """Users raised to 55 during the run, then lowered to 50; all gone at the end."""

    def finish(self) -> None:
        super().finish()
        self._snapshot = replace(self._snapshot, users_active=0)

    def result(self) -> RunResult:
        base = super().result()
        users = {"planned": 55, "peak": 53, "average": 48.7}
        return replace(base, outcome={**base.outcome, "users": users})


async def test_the_users_tile_says_reached_of_planned_as_the_summary():
    src = ResizedSource(demo_source().run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await ended(app, pilot, src)
        tile = text_of(screen.query_one("#kpi-users"))
        title = screen.query_one("#kpi-users").border_title
    assert "53 of 55" in tile and "avg 48.7" in tile
    assert "0 / 50" not in tile
    assert title == "Users reached"


class LateEndSource(FakeSource):
    """A 15 s run whose coordinator ended 1.2 s after the run time (the requests in
    flight, the workers' goodbyes): the last Snapshot's clock reads 16.2 s."""

    def finish(self) -> None:
        super().finish()
        self._snapshot = replace(self._snapshot, elapsed_s=16.2)


async def test_the_clock_shows_the_time_under_load_not_past_the_run_time():
    run = SeededRun(seed=5, duration_s=15.0)
    run.advance(15)
    src = LateEndSource(run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await ended(app, pilot, src)
        header = text_of(screen.query_one(RunHeader))
        progress = text_of(screen.query_one(RunProgress))
        duration = summary_value(screen, "Test Duration")
    assert "0:15 / 0:15" in header and "0:16" not in header
    assert duration == "15.00"
    assert "100%" in progress and "done in 15s" in progress


async def test_s_on_a_12s_run_ends_at_half_not_100_percent():
    """Stopped at 6 s of 12: the bar stays at 50 % and says so; the clock says 0:06."""
    run = SeededRun(seed=9, duration_s=12.0)
    run.advance(6)
    src = FakeSource(run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen._snap is not None)
        await pilot.press("s")
        assert src.stopped == ["stopped by user"]
        src.finish()
        await wait_for(pilot, lambda: screen.result is not None)
        await pilot.pause()
        progress = text_of(screen.query_one(RunProgress))
        header = text_of(screen.query_one(RunHeader))
    assert " 50%" in progress and "100%" not in progress
    assert "stopped by user after 6s of 12s" in progress
    assert "0:06 / 0:12" in header


async def test_a_request_bound_run_stopped_early_says_how_many_were_sent():
    run = SeededRun(seed=11, duration_s=None, requests_planned=10_000)
    run.advance(4)
    src = FakeSource(run)
    src.stop("stopped by user")
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await ended(app, pilot, src)
        progress = text_of(screen.query_one(RunProgress))
        sent = screen.result.summary.requests if screen.result else 0
    assert 0 < sent < 10_000
    assert f"{int(sent / 10_000 * 100):3d}%" in progress
    assert f"stopped by user after 4s · {fmt_int(sent)} of 10,000 requests" in progress


async def test_the_end_screen_keeps_the_runs_figures_after_the_clock_redraws():
    """The clock redraws on its own every 1.25 s when no Snapshot comes: it must not
    bring back the live figures."""
    run = SeededRun(seed=5, duration_s=15.0)
    run.advance(15)
    src = LateEndSource(run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await ended(app, pilot, src)
        drawn = screen._clock_drawn
        await wait_for(pilot, lambda: screen._clock_drawn > drawn)
        await pilot.pause()
        header = text_of(screen.query_one(RunHeader))
    assert "0:15 / 0:15" in header


class OpenSource(FakeSource):
    """An arrival-rate run: its Snapshots and result as the coordinator's would be."""

    def publish(self, snapshot=None) -> None:  # noqa: ANN001
        self._snapshot = snapshot or with_open_model(self.run.snapshot(self.state))

    def result(self) -> RunResult:
        base = super().result()
        summary = replace(base.summary, dropped=37)
        users = {"planned": 200, "peak": 41, "average": 12.5}
        return replace(base, summary=summary, outcome={**base.outcome, "users": users})


async def test_an_arrival_rate_runs_tiles_show_the_run_too():
    src = OpenSource(demo_source().run)
    src.publish()
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await ended(app, pilot, src)
        inflight = text_of(screen.query_one("#kpi-inflight"))
        dropped = text_of(screen.query_one("#kpi-dropped"))
        rps_title = screen.query_one("#kpi-rps").border_title
    assert "41" in inflight and "avg 12.5" in inflight
    assert "37" in dropped and "whole run" in dropped
    assert rps_title == "Req/s avg"
