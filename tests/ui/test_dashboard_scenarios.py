"""The dashboard on a real run of two ``[[scenarios]]``: rows grouped under each
scenario, and pause and +/- acting on the scenario chosen with ``g`` (or on all)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.servers import RoutesServer, response
from tests.ui.helpers import wait_for
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.endpoints import EndpointTable

OK = response(200, b"ok")


@pytest.fixture
def server() -> Any:
    srv = RoutesServer({"/a": OK, "/b": OK, "/c": OK})
    url = srv.start()
    yield srv, url
    srv.stop()


def rows(table: EndpointTable) -> list[str]:
    """The endpoint column as drawn, top to bottom."""
    return [table.get_row_at(i)[1].plain.strip() for i in range(table.row_count)]


@pytest.mark.anyio
async def test_rows_are_grouped_and_controls_follow_the_chosen_scenario(server: Any) -> None:
    srv, url = server
    sc = parse_scenario(
        {
            "name": "shop",
            "host": url,
            "load": {"run_time": "60s"},
            "requests": [{"name": "home", "path": "/a"}],
            "flows": [{"name": "checkout", "steps": [{"path": "/b"}, {"path": "/c"}]}],
            "scenarios": [
                {"name": "browse", "users": 2, "think_time": "0.02s", "requests": ["home"]},
                {"name": "buy", "rate": 20, "max_users": 4, "flows": ["checkout"]},
            ],
        },
        "shop.toml",
    )
    run = Run(sc, url, workers=1)
    run.start(go=False)
    try:
        app = create_app(run, refresh_s=0.1, user_step=3)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            screen = app.screen
            table = screen.query_one(EndpointTable)
            await wait_for(pilot, lambda: srv.hits("/a") > 0 and srv.hits("/b") > 0, timeout=8)
            await wait_for(pilot, lambda: table.row_count == 6)
            shown = rows(table)
            # each scenario's heading, then its endpoints, then its flows
            assert shown[0].startswith("browse · ") and shown[1] == "home"
            assert shown[2].startswith("buy · 20 req/s") and shown[3:] == [
                "/b",
                "/c",
                "checkout",
            ], shown
            assert "g: scenario (all)" in str(table.border_subtitle)

            # sorting keeps each scenario's rows under its heading
            await pilot.press("o")
            await pilot.pause(0.05)
            shown = rows(table)
            assert shown[0].startswith("browse") and shown[1] == "home"
            assert shown[2].startswith("buy") and sorted(shown[3:]) == ["/b", "/c", "checkout"]

            # g: browse; space pauses it alone, + adds users to it alone
            await pilot.press("g")
            await wait_for(pilot, lambda: rows(table)[0].startswith("▶ browse"))
            assert "g: scenario (browse)" in str(table.border_subtitle)
            await pilot.press("space")
            assert run.part_is_paused("browse") and not run.part_is_paused("buy")
            assert not run.paused
            await pilot.press("plus")
            assert run.part_target("browse") == 5 and run.part_target("buy") == 20
            await wait_for(pilot, lambda: "paused" in rows(table)[0], timeout=5)
            held = srv.hits("/a")
            before = srv.hits("/b")
            await wait_for(pilot, lambda: srv.hits("/b") > before + 10, timeout=5)
            assert srv.hits("/a") == held

            # g again: buy; + raises its rate by a tenth (at least 1 req/s)
            await pilot.press("g")
            await pilot.press("plus")
            assert run.part_target("buy") == 22 and run.part_target("browse") == 5
            # g once more: every scenario; space pauses the whole run
            await pilot.press("g")
            assert "g: scenario (all)" in str(table.border_subtitle)
            await pilot.press("space")
            assert run.paused
            await pilot.press("space")  # resuming the run resumes browse too
            assert not run.paused and not run.part_is_paused("browse")
            await pilot.press("s")
            await wait_for(pilot, lambda: screen.result is not None, timeout=15)
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running)
    finally:
        run.close()
    result = run.result()
    browse, buy = result.scenario_groups()
    assert browse.stats.requests == srv.hits("/a")
    assert buy.stats.requests == srv.hits("/b") + srv.hits("/c")
