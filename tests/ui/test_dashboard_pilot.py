"""Pilot tests: a seeded fake run drives the dashboard; keys do what the footer says."""

from __future__ import annotations

import pytest
from textual.widgets import ContentSwitcher

from tests.ui.fakes import Ep, FakeSource, SeededRun, demo_source, with_open_model
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.report.formatting import fmt_int, fmt_ms, fmt_pct
from tui_loadtest.ui import create_app
from tui_loadtest.ui.app import QUIT_INTERRUPTED, default_user_step
from tui_loadtest.ui.screens.confirm import ConfirmQuit
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.screens.help import HelpScreen
from tui_loadtest.ui.source import RunSource
from tui_loadtest.ui.widgets.endpoints import EndpointTable
from tui_loadtest.ui.widgets.errors import ErrorTable
from tui_loadtest.ui.widgets.header import RunHeader, RunProgress
from tui_loadtest.ui.widgets.percentiles import PercentilePanel

pytestmark = pytest.mark.anyio
WIDE = (160, 48)


async def started(app, pilot) -> DashboardScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen._snap is not None)
    await pilot.pause()
    return screen


def test_fake_source_satisfies_the_protocol():
    assert isinstance(demo_source(), RunSource)


async def test_panels_show_the_seeded_figures():
    src = demo_source(elapsed=24.0)
    snap = src.snapshot
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)

        kpis = text_of(screen.query_one("#kpi-requests")) + text_of(screen.query_one("#kpi-errors"))
        assert fmt_int(snap.total.requests) in kpis
        assert fmt_pct(snap.total.error_rate) in kpis
        assert "50 / 50" in text_of(screen.query_one("#kpi-users"))

        panel = text_of(screen.query_one(PercentilePanel))
        for value in (snap.window.latency.p99, snap.total.latency.p99, snap.total.latency.max):
            assert f"{fmt_ms(value)} ms" in panel
        assert f"last {snap.window_s} s" in panel

        table = screen.query_one(EndpointTable)
        assert table.row_count == len(snap.endpoints)
        for ep in snap.endpoints:
            key = f"{ep.method} {ep.name}"
            assert table.get_cell(key, "requests").plain == fmt_int(ep.total.requests)
            assert table.get_cell(key, "p99").plain == fmt_ms(ep.total.latency.p99)

        errors = screen.query_one(ErrorTable)
        assert errors.row_count == len(snap.errors) == 1
        assert "HTTP 500" in text_of(errors)

        events = text_of(screen.query_one("#event-lines"))
        assert "all 50 users running" in events and "first HTTP 500" in events

        header = text_of(screen.query_one(RunHeader))
        assert "RUNNING" in header and "0:24 / 1:00" in header
        # 24 s elapsed, 3 of them paused: 21 of 60 s done.
        assert "35%" in text_of(screen.query_one(RunProgress))
        assert "39s left" in text_of(screen.query_one(RunProgress))


async def test_new_snapshots_update_rows_in_place_and_add_new_error_kinds():
    src = demo_source()
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)
        before = table.get_cell("GET GET /api/health", "requests").value
        rows_before = list(table.rows)

        src.run.advance(3, refused=0.5)
        src.publish()
        await wait_for(pilot, lambda: screen._snap is src.snapshot)

        after = table.get_cell("GET GET /api/health", "requests").value
        assert after > before
        assert list(table.rows) == rows_before  # same keyed rows, updated in place
        errors = screen.query_one(ErrorTable)
        kinds = {table_row.value for table_row in errors.rows}
        assert any(k.startswith("refused|") for k in kinds)
        lines = screen.query_one("#event-lines")
        await wait_for(pilot, lambda: "first refused" in text_of(lines))


async def test_a_dead_target_turns_the_error_panel_red():
    src = demo_source()
    app = create_app(src, refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        errors = screen.query_one(ErrorTable)
        assert not errors.has_class("-bad")
        src.run.advance(6, refused=1.0)
        src.publish()
        await wait_for(pilot, lambda: errors.has_class("-bad"))
        assert "– ms" in text_of(screen.query_one("#kpi-p95"))  # no responses lately
        await pilot.press("question_mark")  # still responsive
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_plus_and_minus_change_the_target_by_the_step():
    src = demo_source()
    app = create_app(src)
    assert app.user_step == default_user_step(50) == 5
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("plus")
        await pilot.press("plus")
        await pilot.press("minus")
        assert [c for c in src.calls if c[0] == "users"] == [
            ("users", 55),
            ("users", 60),
            ("users", 55),
        ]
        await wait_for(pilot, lambda: "50 / 55" in text_of(app.screen.query_one("#kpi-users")))


async def test_user_step_is_configurable_and_never_goes_below_one_user():
    src = demo_source()
    app = create_app(src, user_step=40)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("minus")
        await pilot.press("minus")
        assert src.users_target == 1
        await pilot.press("plus")
        assert src.users_target == 41


async def test_space_pauses_and_resumes():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        await pilot.press("space")
        assert src.paused
        await wait_for(pilot, lambda: "PAUSED" in text_of(screen.query_one(RunHeader)))
        await pilot.press("space")
        assert not src.paused
        await wait_for(pilot, lambda: "RUNNING" in text_of(screen.query_one(RunHeader)))
        assert [c for c in src.calls if c[0] == "pause"] == [("pause", True), ("pause", False)]


async def test_s_stops_gracefully_and_the_summary_stays_on_screen():
    src = demo_source()
    app = create_app(src, out="report.json", refresh_s=0.05)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        await pilot.press("s")
        assert src.stopped == ["stopped by user"]
        await wait_for(pilot, lambda: "STOPPING" in text_of(screen.query_one(RunHeader)))
        # Controls that mean nothing now are gone from the footer.
        assert screen.check_action("toggle_pause", ()) is False

        src.finish()
        switcher = screen.query_one("#body", ContentSwitcher)
        await wait_for(pilot, lambda: switcher.current == "summary")
        await pilot.pause()
        summary = text_of(screen.query_one("#summary-body"))
        for heading in ("Overall Summary", "Endpoint Performance", "Errors", "Recommendations"):
            assert heading in summary
        assert "Run ended: stopped by user." in summary
        assert "report.json" in summary
        assert app.is_running  # the summary stays until the user quits

        await pilot.press("d")
        assert switcher.current == "live"
        await pilot.press("d")
        assert switcher.current == "summary"


async def test_q_while_running_asks_and_no_keeps_the_run():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.is_running
        assert src.stopped == []


async def test_q_then_yes_stops_the_run_as_interrupted_and_exits():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)
    assert src.stopped == [QUIT_INTERRUPTED]
    assert app.return_value == QUIT_INTERRUPTED
    assert app.quit_while_running


async def test_ctrl_c_behaves_like_q_and_twice_confirms():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running)
    assert src.stopped == [QUIT_INTERRUPTED]


async def test_q_after_the_run_ended_quits_without_asking():
    src = demo_source()
    src.finish()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert src.stopped == []
    assert app.return_value == "done"


async def test_help_opens_and_closes():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "pause / resume" in text_of(app.screen.query_one("#help-text"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_endpoint_table_sorts_by_header_click_and_by_key():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)

        def order() -> list[str]:
            return [table.get_row_at(i)[1].value for i in range(table.row_count)]

        plan = order()
        assert plan[0] == "GET /api/health"
        await pilot.press("o")  # by requests, biggest first
        by_requests = order()
        reqs = [table.get_row_at(i)[2].value for i in range(table.row_count)]
        assert reqs == sorted(reqs, reverse=True)
        assert "by Requests ↓" in table.border_title

        await pilot.click(EndpointTable, offset=(80, 1))  # the p99 header
        p99s = [table.get_row_at(i)[7].value for i in range(table.row_count)]
        assert p99s == sorted(p99s, reverse=True)
        assert order()[0] == "POST /api/agents/{id}/query" != by_requests[0]


async def test_w_switches_the_endpoint_table_to_the_recent_window():
    src = demo_source()
    snap = src.snapshot
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)
        await pilot.press("w")
        ep = snap.endpoints[0]
        key = f"{ep.method} {ep.name}"
        assert table.get_cell(key, "requests").value == ep.window.requests
        assert f"last {snap.window_s} s" in table.border_title


async def test_t_switches_the_latency_columns_to_the_time_to_first_byte():
    run = SeededRun(seed=5, endpoints=(Ep("GET", "GET /slow", 40.0, 0.3, 30, ttfb_share=0.25),))
    run.advance(6)
    src = FakeSource(run)
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)
        ep = src.snapshot.endpoints[0]
        assert ep.total.ttfb is not None
        assert table.get_cell("GET GET /slow", "p50").value == ep.total.latency.p50
        await pilot.press("t")
        assert table.get_cell("GET GET /slow", "p50").value == ep.total.ttfb.p50
        assert ep.total.ttfb.p50 < ep.total.latency.p50 / 2
        assert "time to first byte" in table.border_title
        await pilot.press("t")  # no stream: back to the response time
        assert table.get_cell("GET GET /slow", "p50").value == ep.total.latency.p50
        assert "time to first byte" not in table.border_title


async def test_t_shows_a_streams_time_to_first_event_and_between_events():
    eps = (Ep("POST", "POST /chat", 300.0, 0.2, 10, ttfb_share=0.1, events=20),
           Ep("GET", "GET /plain", 5.0, 0.2, 20))  # fmt: skip
    run = SeededRun(seed=6, endpoints=eps)
    run.advance(6)
    src = FakeSource(run)
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        table = screen.query_one(EndpointTable)
        chat = src.snapshot.endpoints[0].total
        for _ in range(2):
            await pilot.press("t")
        assert "time to first event" in table.border_title
        assert table.get_cell("POST POST /chat", "p95").value == chat.stream.ttft.p95
        assert table.get_cell("GET GET /plain", "p95").value == -1.0  # no stream: "–"
        await pilot.press("t")
        assert "time between events" in table.border_title
        assert table.get_cell("POST POST /chat", "p50").value == chat.stream.inter_event.p50
        await pilot.press("t")
        assert table.get_cell("POST POST /chat", "p50").value == chat.latency.p50


async def test_arrival_rate_runs_show_rate_drops_and_lag_and_c_toggles_service_time():
    run = SeededRun(seed=3)
    run.advance(12)
    src = FakeSource(run)
    src.publish(with_open_model(run.snapshot(), rate=400.0))
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        snap = src.snapshot
        assert screen.query_one("#kpi-rps").border_title == "Rate / target"
        assert "/ 400 /s" in text_of(screen.query_one("#kpi-rps"))
        assert "37" in text_of(screen.query_one("#kpi-dropped"))
        assert "12.0 ms" in text_of(screen.query_one("#kpi-lag"))
        panel = screen.query_one(PercentilePanel)
        assert "corrected" in panel.border_title
        assert f"{fmt_ms(snap.total.latency.p99)} ms" in text_of(panel)

        await pilot.press("c")
        assert "service time" in panel.border_title
        assert f"{fmt_ms(snap.total.service.p99)} ms" in text_of(panel)

        rate = src.snapshot.rate_target
        await pilot.press("plus")  # an arrival-rate run: + moves the rate, not users
        assert not [c for c in src.calls if c[0] == "users"]
        assert ("rate", rate + round(rate / 10)) in src.calls
        raised = rate + round(rate / 10)
        await pilot.press("minus")  # a tenth of the new rate
        assert src.calls[-1] == ("rate", raised - round(raised / 10))


async def test_c_does_nothing_on_closed_model_runs():
    src = demo_source()
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        panel = screen.query_one(PercentilePanel)
        assert screen.check_action("toggle_latency_view", ()) is False
        await pilot.press("c")
        assert panel.border_title == "Latency" and panel.view == "corrected"


async def test_count_bound_runs_show_progress_against_requests():
    run = SeededRun(seed=5, duration_s=None, requests_planned=10_000)
    run.advance(10)
    src = FakeSource(run)
    app = create_app(src)
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        done = src.snapshot.total.requests
        progress = text_of(screen.query_one(RunProgress))
        assert f"{fmt_int(done)} of 10,000 requests" in progress
        assert f"{done * 100 // 10_000}%" in progress
        assert "left" in progress


async def test_a_slow_endpoint_is_coloured_by_the_response_time_bands():
    run = SeededRun(seed=9, endpoints=(Ep("GET", "GET /slow", 1500.0, 0.1, 20),))
    run.advance(6)
    app = create_app(FakeSource(run))
    async with app.run_test(size=WIDE) as pilot:
        screen = await started(app, pilot)
        cell = screen.query_one(EndpointTable).get_cell("GET GET /slow", "p50")
        assert str(cell.style) == "#ff5f5f"  # > 1000 ms: needs optimisation
