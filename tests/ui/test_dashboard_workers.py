"""The workers view (issue 13): n shows one row per engine (host, state, users, req/s,
CPU %, lag), only when there is more than one engine or a cluster's; a lost worker is
red in the view and in the header."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.ui.fakes import demo_source
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.stats.model import WorkerRow
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.header import RunHeader
from tui_loadtest.ui.widgets.workers import WorkersView

pytestmark = pytest.mark.anyio

ROWS = (
    WorkerRow(0, "load-1", "running", 50, 812.0, 71.0, 14.0, 9_120, "tcp://10.0.0.11:40123"),
    WorkerRow(1, "load-2", "running", 50, 790.5, 96.0, 22.0, 8_870, "tcp://10.0.0.12:40444"),
)


async def test_n_shows_each_worker_and_a_lost_one_in_red():
    src = demo_source(elapsed=12.0)
    app = create_app(src)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen._snap is not None)
        assert not screen.check_action("toggle_workers", ())  # one local engine: no view

        src.publish(replace(src.snapshot, worker_rows=ROWS, workers=2))
        await wait_for(pilot, lambda: screen.check_action("toggle_workers", ()))
        await pilot.press("n")
        view = screen.query_one(WorkersView)
        assert screen.query_one("#body").current == "workers"
        await wait_for(pilot, lambda: view.row_count == 2)
        await pilot.pause()
        shown = text_of(view)
        for words in ("load-1", "tcp://10.0.0.11:40123", "running", "812.0", "71", "14", "9,120"):
            assert words in shown, words
        assert "Workers · 2 of 2 running" in str(view.border_title)
        assert not view.has_class("-lost")

        lost = (replace(ROWS[0], state="lost"), ROWS[1])
        src.publish(replace(src.snapshot, worker_rows=lost, workers=2, elapsed_s=13.0))
        await wait_for(pilot, lambda: view.has_class("-lost"))
        assert "1 of 2 running · 1 lost" in str(view.border_title)
        header = screen.query_one(RunHeader)
        await wait_for(pilot, lambda: "1 LOST" in text_of(header))

        await pilot.press("n")
        assert screen.query_one("#body").current == "live"
