"""The dashboard's end-of-run summary says what the headless text summary says:
users planned and reached, the generator's saturation, status codes, and a journey's
flows (a real journey run against the demo API, on the real app)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from tests.ui.fakes import FakeSource, demo_source
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.examples import example
from tui_loadtest.report.formatting import fmt_int, fmt_ms, fmt_rate
from tui_loadtest.report.text import generator_lines, run_summary, users_reached
from tui_loadtest.scenario import apply_overrides, load_builtin_demo, load_scenario
from tui_loadtest.stats.result import RunResult
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.summary import summary_renderable

pytestmark = pytest.mark.anyio
WIDE = (160, 48)


def summary_text(screen: DashboardScreen) -> str:
    """The summary as drawn, with runs of spaces folded (columns differ from the text's)."""
    return " ".join(text_of(screen.query_one("#summary-body")).split())


def folded(line: str) -> str:
    return " ".join(line.split())


async def test_a_journey_runs_summary_shows_its_flows_and_the_users_reached(demo_url):
    found = example("journey")
    assert found is not None
    scenario = apply_overrides(
        load_scenario(str(found.resource)), host=demo_url, users=4, spawn_rate=100, run_time="3s"
    )
    run = Run(scenario, demo_url, workers=1)
    run.start(go=False)
    try:
        app = create_app(run, refresh_s=0.1)
        async with app.run_test(size=WIDE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen.result is not None, timeout=30)
            await pilot.pause()
            result = screen.result
            shown = summary_text(screen)
    finally:
        run.close()
    (flow,) = result.flows
    assert flow.stats.iterations > 0  # the journey really ran
    assert "Flows" in shown and flow.name in shown
    row = f"{flow.name} {fmt_int(flow.stats.iterations)} {fmt_int(flow.stats.failed)}"
    row += f" {fmt_rate(flow.stats.rate)} {fmt_ms(flow.stats.duration.p50)}"
    assert row in shown
    assert "think time between steps included" in shown
    # At 80 columns (74 inside the panel) every figure stays: the flow's name wraps instead.
    console = Console(width=74, record=True, file=io.StringIO())
    console.print(summary_renderable(result))
    narrow = folded(console.export_text())
    figures = (flow.stats.duration.p50, flow.stats.duration.p95, flow.stats.duration.p99)
    assert "Iterations Failed It/s P50 P95 P99" in narrow
    assert " ".join(fmt_ms(v) for v in figures) in narrow
    reached = users_reached(result)
    assert reached.startswith("4 planned, 4 reached") and folded(reached) in shown
    # The status codes are the text summary's, counted by the run.
    codes = next(x for x in run_summary(result).splitlines() if x.startswith("Status Codes"))
    assert "200: " in codes and folded(codes.partition(": ")[2]) in shown


class SaturatedSource(FakeSource):
    """A finished run whose generator ran out of CPU and lost a worker: the result's
    generator and outcome say so, as the coordinator's would."""

    def result(self) -> RunResult:
        base = super().result()
        return replace(
            base,
            load={**base.load, "workers": 2},
            generator={"saturated": True, "peak_cpu_pct": 98.0, "saturated_by": "worker 1"},
            outcome={
                **base.outcome,
                "users": {"planned": 50, "peak": 31, "average": 27.5},
                "workers_lost": [
                    {"worker": 2, "at_s": 11, "reason": "engine gone", "missing_s": 13}
                ],
            },
        )


async def test_the_summary_warns_of_a_saturated_generator_and_a_lost_worker():
    seeded = demo_source()
    src = SaturatedSource(seeded.run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        src.finish()
        await wait_for(pilot, lambda: screen.result is not None)
        await pilot.pause()
        shown = summary_text(screen)
    lines = generator_lines(screen.result)
    assert len(lines) == 2 and "saturated (worker 1 at 98 % CPU)" in lines[0]
    for line in lines:
        assert folded(line) in shown
    assert "50 planned, 31 reached, 27.5 on average" in shown
    assert "Flows" not in shown  # no flows in this run: no empty section


async def test_an_arrival_rate_runs_latency_views_fit_80_columns(demo_url):
    scenario = apply_overrides(load_builtin_demo(), host=demo_url, rate=40, run_time="2s")
    run = Run(scenario, demo_url, workers=1)
    run.start(go=False)
    try:
        app = create_app(run, refresh_s=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen.result is not None, timeout=30)
            await pilot.pause()
            result = screen.result
            lines = text_of(screen.query_one("#summary-body")).splitlines()
    finally:
        run.close()
    s = result.summary
    assert s.service is not None and result.lag is not None
    for label, lat in (
        ("Corrected (from intended start)", s.latency),
        ("Service (from when it was sent)", s.service),
        ("Generator lag (behind schedule)", result.lag),
    ):
        row = folded(next(line for line in lines if label in line))  # one line each
        assert row.endswith(" ".join(fmt_ms(v) for v in (lat.p50, lat.p95, lat.p99, lat.max)))
    assert any(f"Dropped arrivals: {fmt_int(s.dropped)}" in line for line in lines)
