"""The checks panel: hidden in runs without checks, shown with each check's counts when
a run has some, red while a hard check fails, amber when only soft ones do."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.ui.fakes import demo_source
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.stats.model import CheckStats
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.checks import CheckTable

pytestmark = pytest.mark.anyio
WIDE = (160, 48)


async def test_the_checks_panel_shows_only_with_checks_and_follows_them():
    src = demo_source()
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen._snap is not None)
        table = screen.query_one(CheckTable)
        assert not table.display  # no checks: no room taken

        soft = CheckStats("GET /api/agents", "json:$.agents exists", 90, 10, soft=True)
        src.publish(replace(src.snapshot, checks=(soft,)))
        await wait_for(pilot, lambda: table.display)
        await pilot.pause()
        assert table.get_cell("GET /api/agents|json:$.agents exists", "failed").plain == "10"
        assert "90.00%" in text_of(table)
        assert table.has_class("-warn") and not table.has_class("-bad")
        assert "90.00% passed" in str(table.border_title)

        hard = CheckStats("GET /api/health", "status == 200", 50, 1)
        src.publish(replace(src.snapshot, checks=(soft, hard)))
        await wait_for(pilot, lambda: table.row_count == 2)
        assert table.has_class("-bad")
        assert table.get_cell("GET /api/agents|json:$.agents exists", "passed").plain == "90"
