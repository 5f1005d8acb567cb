"""The resources panel (issue 14): r shows a chart per watched series, only when there
are series; new series get a chart as they appear."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.ui.fakes import demo_source
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.stats.resources import ResourceSeries
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.resources import ResourcesView, SeriesChart

pytestmark = pytest.mark.anyio

CPU = ResourceSeries(
    key="pid:4242:cpu_pct",
    source="pid 4242 (uvicorn)",
    metric="cpu_pct",
    label="uvicorn 4242 CPU",
    unit="%",
    points=tuple((float(t), 20.0 + 5 * t) for t in range(1, 12)),
)
POOL = ResourceSeries(
    key="scrape:db_pool_in_use",
    source="http://127.0.0.1:9100/metrics",
    metric="db_pool_in_use",
    label="db_pool_in_use",
    unit="",
    points=tuple((float(t), float(t % 4)) for t in range(12)),
)


async def test_r_shows_a_chart_per_series_and_only_when_something_is_watched():
    src = demo_source(elapsed=12.0)
    app = create_app(src)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen._snap is not None)
        assert not screen.check_action("toggle_resources", ())  # nothing watched: no key

        src.publish(replace(src.snapshot, resources=(CPU,)))
        await wait_for(pilot, lambda: screen.check_action("toggle_resources", ()))
        await pilot.press("r")
        view = screen.query_one(ResourcesView)
        await wait_for(pilot, lambda: len(view.query(SeriesChart)) == 1)
        assert screen.query_one("#body").current == "resources"
        chart = view.query_one(SeriesChart)
        await pilot.pause()
        assert "uvicorn 4242 CPU" in str(chart.border_title)
        assert "75.0 %" in str(chart.border_title)  # the latest value
        assert "⠀" not in text_of(chart) and any(0x2801 <= ord(c) <= 0x28FF for c in text_of(chart))

        src.publish(replace(src.snapshot, resources=(CPU, POOL), elapsed_s=13.0))
        await wait_for(pilot, lambda: len(view.query(SeriesChart)) == 2)
        await pilot.press("r")
        assert screen.query_one("#body").current == "live"
