"""SVG snapshots of the dashboard with seeded data, at 80×24 and 160×48.

The fake run has a fixed clock and fixed Snapshots, so frames are identical on
every machine with the pinned Textual. Update with ``--snapshot-update`` after
checking the new frames by eye (``snapshot_report.html``).
"""

from __future__ import annotations

from textual.pilot import Pilot

from tests.ui.fakes import demo_source
from tests.ui.helpers import wait_for
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.dashboard import DashboardScreen


async def settled(pilot: Pilot) -> None:
    """Wait until the dashboard has drawn the Snapshot (and the summary, once done)."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen._snap is not None)
    if app.source.done:
        await wait_for(pilot, lambda: screen.result is not None)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_running_at_160x48(snap_compare):
    assert snap_compare(create_app(demo_source()), terminal_size=(160, 48), run_before=settled)


def test_running_at_80x24(snap_compare):
    assert snap_compare(create_app(demo_source()), terminal_size=(80, 24), run_before=settled)


def test_summary_after_the_run_at_160x48(snap_compare):
    src = demo_source(seconds=30)
    src.stop("stopped by user")
    src.finish()
    app = create_app(src, out="report.json")
    assert snap_compare(app, terminal_size=(160, 48), run_before=settled)


def test_target_down_at_160x48(snap_compare):
    src = demo_source()
    src.run.advance(6, refused=1.0)
    src.publish()
    assert snap_compare(create_app(src), terminal_size=(160, 48), run_before=settled)


def test_endpoints_at_80x24_after_one_key(snap_compare):
    """The stacked panels scrolled with ↓ (shown in the footer) to the endpoint table:
    p50, p95 and p99 fit beside the method, the name, the errors and req/s."""

    async def scrolled(pilot: Pilot) -> None:
        await settled(pilot)
        for _ in range(3):  # latency and events → throughput → latency chart → endpoints
            await pilot.press("down")
        await pilot.pause()

    assert snap_compare(create_app(demo_source()), terminal_size=(80, 24), run_before=scrolled)
