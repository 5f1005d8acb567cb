"""A newcomer's dashboard (issue 16): 80×24 terminals, live-only controls, the chart's
time axis, screenshots, and keys that say why they do nothing."""

from __future__ import annotations

import pytest
from textual.containers import VerticalScroll
from textual.widgets import ContentSwitcher, Footer
from textual.widgets._footer import FooterKey

from tests.ui.fakes import FakeSource, SeededRun, demo_source, with_open_model
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.report.formatting import fmt_ms
from tui_loadtest.ui import create_app
from tui_loadtest.ui.screens.confirm import ConfirmQuit
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.screens.help import HelpScreen
from tui_loadtest.ui.screenshot_files import SCREENSHOTS_ENV, save_svg
from tui_loadtest.ui.widgets.charts import LatencyChart, RpsChart, axis_seconds
from tui_loadtest.ui.widgets.endpoints import COLUMNS, MIN_NAME_WIDTH, EndpointTable, fit_columns
from tui_loadtest.ui.widgets.header import RunHeader, short_host

pytestmark = pytest.mark.anyio
SMALL = (80, 24)
WIDE = (160, 48)


async def started(app, pilot) -> DashboardScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen._snap is not None)
    await pilot.pause()
    return screen


def footer_keys(screen: DashboardScreen) -> dict[str, FooterKey]:
    """The footer's keys that are on screen, by what they show."""
    width = screen.app.size.width
    return {
        k.key_display: k
        for k in screen.query_one(Footer).query(FooterKey)
        if k.region.width and k.region.right <= width
    }


def axis_labels(chart) -> list[str]:
    """The time labels under a chart's axis (its last line)."""
    return chart.render().plain.split("\n")[-1].split()


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


# -- 80×24 ------------------------------------------------------------------------
def test_columns_drop_by_priority_until_the_figures_fit():
    every = [c.key for c in COLUMNS]
    shown, name = fit_columns(200, 22)
    assert [c.key for c in shown] == every and name == 22
    shown, name = fit_columns(77, 22)  # 80 columns, inside the borders
    keys = [c.key for c in shown]
    assert keys == ["method", "name", "failures", "rps", "p50", "p95", "p99"]
    assert name == 22  # the longest demo endpoint still fits whole
    shown, name = fit_columns(77, 60)  # a long name is shortened, never a figure
    assert [c.key for c in shown] == keys and MIN_NAME_WIDTH <= name < 60
    shown, name = fit_columns(30, 22)  # too narrow for everything: the name keeps a minimum
    assert name == MIN_NAME_WIDTH and "p99" in [c.key for c in shown]


async def test_at_80x24_the_endpoint_table_shows_p95_p99_and_errors():
    src = demo_source()
    snap = src.snapshot
    app = create_app(src)
    async with app.run_test(size=SMALL) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)
        await wait_for(pilot, lambda: "max" not in [c.key for c in table.shown])
        shown = [str(c.label) for c in table.columns.values()]
        assert shown == ["Method", "Endpoint", "Errors", "Req/s", "p50 ms", "p95 ms", "p99 ms"]
        assert table.virtual_size.width <= table.size.width  # no sideways scrolling
        text = text_of(table)
        for ep in snap.endpoints:
            key = f"{ep.method} {ep.name}"
            for col in ("p95", "p99"):
                value = getattr(ep.total.latency, col)
                assert table.get_cell(key, col).plain == fmt_ms(value)
                assert fmt_ms(value) in text
        assert "/api/agents/{id}/query" in text  # the whole name still fits

        await pilot.resize_terminal(*WIDE)  # wider again: every column comes back
        await wait_for(pilot, lambda: len(table.columns) == len(COLUMNS))
        assert table.get_cell("GET GET /api/health", "max").plain


async def test_sorting_survives_columns_coming_and_going():
    app = create_app(demo_source())
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)
        table.sort_by("p99")
        await pilot.resize_terminal(*SMALL)
        await wait_for(pilot, lambda: "max" not in table.columns)
        p99s = [table.get_row_at(i)[-1].value for i in range(table.row_count)]
        assert p99s == sorted(p99s, reverse=True)
        table.sort_by("max")  # a hidden column's figures still order the rows
        await pilot.press("o")  # the next sort column is one on screen
        assert table.sort_column in table.columns


async def test_at_80x24_the_header_shows_the_host_in_short_form():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=SMALL) as pilot:
        screen = await started(app, pilot)
        header = text_of(screen.query_one(RunHeader))
        assert "127.0.0.1:5000" in header and "http://" not in header
        assert "RUNNING" in header and "0:24 / 1:00" in header
        await pilot.resize_terminal(*WIDE)
        header = screen.query_one(RunHeader)
        await wait_for(pilot, lambda: "http://127.0.0.1:5000" in text_of(header))
        assert "tui-loadtest" in text_of(header)


def test_short_hosts_drop_only_what_is_obvious():
    assert short_host("http://127.0.0.1:5000") == "127.0.0.1:5000"
    assert short_host("http://127.0.0.1:5000/api/") == "127.0.0.1:5000/api"
    assert short_host("https://[::1]:8443") == "https://[::1]:8443"
    assert short_host("demo") == "demo"


async def test_at_80x24_one_key_in_the_footer_scrolls_to_the_endpoints():
    app = create_app(demo_source())
    async with app.run_test(size=SMALL) as pilot:
        screen = await started(app, pilot)
        keys = footer_keys(screen)
        assert keys["↓"].description == "Scroll"
        body = screen.query_one("#live", VerticalScroll)
        table = screen.query_one(EndpointTable)
        assert not screen.screen.region.contains_region(table.region)  # below the fold
        assert screen.focused is None  # no Tab needed first
        tops = []
        for _ in range(3):  # one panel at a time: throughput, latency, the endpoints
            await pilot.press("down")
            await wait_for(pilot, lambda: body.scroll_y > (tops[-1] if tops else 0))
            tops.append(body.scroll_y)
        assert body.region.contains_region(table.region)
        await pilot.press("up")
        await wait_for(pilot, lambda: body.scroll_y < tops[-1])
        assert screen.query_one("#chart-latency").region.y == body.region.y
        await pilot.press("pageup")  # a page: the visible height
        await wait_for(pilot, lambda: body.scroll_y == max(0, tops[1] - body.size.height))

        await pilot.resize_terminal(*WIDE)  # nothing scrolls there: no key shown
        await wait_for(pilot, lambda: "↓" not in footer_keys(screen))


@pytest.mark.parametrize("size", [SMALL, WIDE])
async def test_b_and_l_are_in_the_footer_at_every_size(size):
    app = create_app(demo_source())
    async with app.run_test(size=size) as pilot:
        screen = await started(app, pilot)
        # The footer lays its keys out after the screen's first frames: wait for them.
        await wait_for(pilot, lambda: {"b", "l"} <= footer_keys(screen).keys())
        keys = footer_keys(screen)
        assert keys["b"].description == "Save" and keys["l"].description == "Baselines"
        for key in ("space", "+/-", "s", "q", "?"):
            assert key in keys


async def test_the_footer_fits_80_columns_on_an_arrival_rate_run():
    run = SeededRun(seed=3)
    run.advance(12)
    src = FakeSource(run)
    src.publish(with_open_model(run.snapshot(), rate=400.0))
    app = create_app(src)
    async with app.run_test(size=SMALL) as pilot:
        screen = await started(app, pilot)
        await wait_for(pilot, lambda: "c" in footer_keys(screen))
        assert {"c", "b", "l", "↓", "q", "?"} <= set(footer_keys(screen))


# -- keys that mean nothing now say so, or are gone -------------------------------------
async def test_c_on_a_closed_model_run_says_why_it_does_nothing():
    app = create_app(demo_source())
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        assert "c" not in footer_keys(screen)
        await pilot.press("c")
        await wait_for(pilot, lambda: messages(app))
        assert "arrival-rate" in messages(app)[-1]
        assert screen.query_one("#percentiles").view == "corrected"


async def test_after_the_run_live_actions_are_gone_from_keys_and_palette():
    src = demo_source()
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        live_titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Pause / resume", "More users", "Fewer users", "Stop the run"} <= live_titles

        src.finish()
        await wait_for(pilot, lambda: screen.result is not None)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert not titles & {"Pause / resume", "More users", "Fewer users", "Stop the run"}
        assert {"Save baseline", "Baselines", "Summary / live panels", "Screenshot"} <= titles
        await wait_for(pilot, lambda: not {"space", "+/-", "s"} & set(footer_keys(screen)))

        calls = list(src.calls)
        for key in ("plus", "minus", "space", "s"):
            await pilot.press(key)
        screen.action_more_users()  # as a stale palette entry would
        assert src.calls == calls  # nothing reached the finished run
        await wait_for(pilot, lambda: any("run is over" in m for m in messages(app)))
        assert not any("Target users" in m for m in messages(app))


async def test_the_palette_offers_rate_changes_on_arrival_rate_runs():
    run = SeededRun(seed=3)
    run.advance(12)
    src = FakeSource(run)
    src.publish(with_open_model(run.snapshot(), rate=400.0))
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Raise the rate", "Lower the rate", "Latency: corrected / service time"} <= titles
        assert "More users" not in titles


# -- the chart's time axis fits the run -------------------------------------------
def test_the_time_axis_spans_the_planned_or_the_actual_run():
    points = list(demo_source(seconds=12).snapshot.timeline)
    assert axis_seconds(points, 20.0, False, 300) == 20.0
    assert axis_seconds(points, None, False, 300) == 30.0  # unknown length: 30 s, growing
    assert axis_seconds(points, 20.0, True, 300) == len(points)  # done: exactly its seconds
    assert axis_seconds(points, 3600.0, False, 300) == 300.0  # long runs: the window


async def test_a_20_second_run_is_drawn_on_20_seconds():
    run = SeededRun(seed=4, duration_s=20.0)
    run.advance(8)
    src = FakeSource(run)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        for chart in (screen.query_one(RpsChart), screen.query_one(LatencyChart)):
            labels = axis_labels(chart)
            assert labels[-1] == "20s" and "30s" not in labels

        run.advance(12)
        src.finish()
        await wait_for(pilot, lambda: screen.result is not None)
        screen.query_one("#body", ContentSwitcher).current = "live"
        await pilot.pause()
        labels = axis_labels(screen.query_one(RpsChart))
        assert labels[-1] == "20s"


# -- screenshots -------------------------------------------------------------------
async def test_the_palette_screenshot_saves_here_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-downloads"))
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    app = create_app(demo_source())
    async with app.run_test(size=SMALL) as pilot:
        screen = await started(app, pilot)
        command = next(c for c in app.get_system_commands(screen) if c.title == "Screenshot")
        assert str(tmp_path) in command.help
        app.action_screenshot()
        app.action_screenshot()  # a second one never replaces the first
        saved = sorted(tmp_path.glob("tui-loadtest-*.svg"))
        assert len(saved) == 2
        assert "<svg" in saved[0].read_text()
        await wait_for(pilot, lambda: any(str(saved[0]) in m for m in messages(app)))


async def test_the_screenshot_folder_can_be_configured(tmp_path, monkeypatch):
    folder = tmp_path / "shots"
    monkeypatch.setenv(SCREENSHOTS_ENV, str(folder))
    app = create_app(demo_source())
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        app.action_screenshot()  # no such folder: said, and not created
        await wait_for(pilot, lambda: any("Could not save" in m for m in messages(app)))
        assert not folder.exists()
        folder.mkdir()
        app.action_screenshot()
        (saved,) = folder.glob("*.svg")
        await wait_for(pilot, lambda: any(str(saved) in m for m in messages(app)))

        monkeypatch.setenv(SCREENSHOTS_ENV, str(saved))  # a file, not a folder
        app.action_screenshot()
        await wait_for(pilot, lambda: "Could not save" in messages(app)[-1])
        assert saved.read_text().startswith("<svg")  # untouched


def test_save_svg_never_replaces_a_file(tmp_path):
    mine = tmp_path / "shot.svg"
    mine.write_text("mine")
    path = save_svg("<svg/>", tmp_path, "shot.svg")
    assert path.name == "shot-2.svg" and mine.read_text() == "mine"


async def test_long_error_messages_are_cut_rather_than_scrolled_sideways():
    from tui_loadtest.ui.widgets.errors import ErrorTable

    src = demo_source()
    src.run.advance(2, refused=0.5)
    src.publish()
    app = create_app(src)
    async with app.run_test(size=SMALL) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(ErrorTable)
        await wait_for(pilot, lambda: table.row_count >= 2)
        await pilot.pause()
        assert table.virtual_size.width <= table.size.width
        assert "HTTP 500 Internal" in text_of(table)  # the start of the message is kept
        await pilot.resize_terminal(*WIDE)
        await wait_for(pilot, lambda: "HTTP 500 Internal Server Error" in text_of(table))


# -- a watched run (observe-only) -----------------------------------------------------
LIVE_TITLES = {"Pause / resume", "More users", "Fewer users", "Stop the run"}


def confirm_text(app) -> str:
    """What the quit dialog says: its title, message and keys, as drawn."""
    return "\n".join(text_of(w) for w in app.screen.query("#confirm-box Static"))


async def test_a_watched_run_offers_no_run_controls():
    src = demo_source(observe_only=True)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        await wait_for(pilot, lambda: {"b", "l", "q"} <= footer_keys(screen).keys())
        assert not {"space", "+/-", "s"} & set(footer_keys(screen))
        commands = {c.title: c.help for c in app.get_system_commands(screen)}
        assert not LIVE_TITLES & commands.keys()
        assert "watched run goes on" in commands["Quit"]

        calls = list(src.calls)
        for key in ("plus", "minus", "space", "s"):
            await pilot.press(key)
        screen.action_more_users()  # as a stale palette entry would
        assert src.calls == calls  # nothing reached the watched run
        await wait_for(pilot, lambda: any("only watched here" in m for m in messages(app)))

        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = text_of(app.screen.query_one("#help-text"))
        assert "stop watching" in help_text and "pause / resume" not in help_text
        await pilot.press("escape")


async def test_q_on_a_watched_run_says_it_goes_on_and_exits_as_done():
    src = demo_source(observe_only=True)
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        box = confirm_text(app)
        assert "Stop watching?" in box and "exit code 0" in box and "130" not in box
        assert "keep watching" in box
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_value == "done" and not app.quit_while_running
    assert src.stopped == ["stopped watching"]


async def test_a_run_driven_here_still_warns_of_exit_code_130():
    src = demo_source()
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        assert "exit code 130" in confirm_text(app)
        await pilot.press("n")
