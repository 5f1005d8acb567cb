"""Pilot tests of the baseline list, details and compare screens, and the dashboard hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from tests.synthetic import HEALTH, QUERY, make_result
from tests.ui.helpers import text_of, wait_for
from tui_loadtest.compare import REGRESSED
from tui_loadtest.report.recommendations import recommend
from tui_loadtest.store import Baseline, BaselineStore
from tui_loadtest.ui.baselines_app import create_baselines_app
from tui_loadtest.ui.screens.baseline_dialogs import ConfirmAction, NamePrompt
from tui_loadtest.ui.screens.baselines import BaselineDetailScreen, BaselineListScreen
from tui_loadtest.ui.screens.compare import CompareScreen
from tui_loadtest.ui.style import TONE_COLOURS

pytestmark = pytest.mark.anyio
SIZE = (160, 48)


@pytest.fixture
def store(tmp_path: Path) -> BaselineStore:
    s = BaselineStore(tmp_path / "baselines.sqlite3")
    fast = make_result([HEALTH, QUERY], seconds=30, seed=1, scenario_name="checkout")
    slow = make_result([HEALTH, QUERY], seconds=30, seed=2, slowdown=1.4, host="http://staging")
    other = make_result([HEALTH], seconds=10, seed=3, scenario_name="health only")
    s.save(Baseline("fast", "2024-01-01T10:00:00+00:00", fast, {"source": "run"}))
    s.save(Baseline("slow", "2024-02-01T10:00:00+00:00", slow, {"source": "run"}))
    s.save(Baseline("health", "2024-03-01T10:00:00+00:00", other, {"source": "report"}))
    return s


async def list_screen(app, pilot) -> BaselineListScreen:  # noqa: ANN001
    await wait_for(pilot, lambda: isinstance(app.screen, BaselineListScreen))
    await pilot.pause()
    return app.screen


def names(screen: BaselineListScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [table.get_row_at(i)[1].plain for i in range(table.row_count)]


async def test_list_shows_every_baseline_and_filters_and_sorts(store) -> None:  # noqa: ANN001
    app = create_baselines_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await list_screen(app, pilot)
        assert names(screen) == ["health", "slow", "fast"]  # by creation date, newest first
        table = screen.query_one(DataTable)
        row = [str(c) for c in table.get_row_at(2)]
        info = store.list()[0]  # the store's own order: oldest first
        assert info.name == "fast"
        assert row[3] == "checkout" and row[6] == f"{info.p95_ms:.1f}"
        assert row[8] == info.rating.label
        assert "3 of 3" in text_of(screen.query_one("#baselines-title"))

        await pilot.press("slash", *"staging")
        assert names(screen) == ["slow"]
        assert "1 of 3" in text_of(screen.query_one("#baselines-title"))
        await pilot.press("ctrl+a", "ctrl+k", "escape")  # clear the filter, back to the table
        assert names(screen) == ["health", "slow", "fast"]
        assert screen.query_one(DataTable).has_focus

        await pilot.press("o")  # by name
        assert screen.sort_key == "name" and names(screen) == ["fast", "health", "slow"]
        await pilot.press("v")
        assert names(screen) == ["slow", "health", "fast"]


async def test_details_show_figures_tables_charts_and_recommendations(store) -> None:  # noqa: ANN001
    app = create_baselines_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await list_screen(app, pilot)
        await pilot.press("down", "enter")  # "slow"
        await wait_for(pilot, lambda: isinstance(app.screen, BaselineDetailScreen))
        await pilot.pause()
        detail = app.screen
        assert "slow" in text_of(detail.query_one("#detail-title"))
        assert "Python 3.11.7" in text_of(detail.query_one("#detail-title"))
        result = store.load("slow").result
        shown = " ".join(text_of(detail.query_one("#detail-summary")).split())
        for text in ("Overall Summary", "/api/health", "/api/agents/{id}/query", "Recommendations"):
            assert text in shown
        assert f"{result.summary.requests:,}" in shown
        assert " ".join(recommend(result)[0].split())[:40] in shown
        charts = [detail.query_one("#detail-rps"), detail.query_one("#detail-latency")]
        assert all(chart.size.height >= 10 for chart in charts)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BaselineListScreen))


async def test_delete_needs_confirmation(store) -> None:  # noqa: ANN001
    app = create_baselines_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await list_screen(app, pilot)
        await pilot.press("d")  # the newest, at the top
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmAction))
        assert '"health"' in text_of(app.screen.query_one("#confirm-title"))
        await pilot.press("enter")  # Enter means no
        await wait_for(pilot, lambda: app.screen is screen)
        assert store.exists("health")
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: not store.exists("health"))
        await pilot.pause()
        assert names(screen) == ["slow", "fast"]


async def test_rename_and_export(store, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    app = create_baselines_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await list_screen(app, pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NamePrompt))
        assert app.screen.query_one(Input).value == "health"  # the newest, at the top
        await pilot.press("ctrl+a", "ctrl+k", *"quick", "enter")
        await wait_for(pilot, lambda: store.exists("quick"))
        await pilot.pause()
        assert not store.exists("health") and "quick" in names(screen)
        await pilot.press("e")
        await wait_for(pilot, lambda: (tmp_path / "baseline_quick.json").exists())


async def test_compare_two_marked_baselines(store) -> None:  # noqa: ANN001
    app = create_baselines_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await list_screen(app, pilot)
        await pilot.press("c")  # nothing marked: a hint, no screen
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("down", "space", "down", "space")  # slow, then fast
        assert screen.marked == ["slow", "fast"]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=10)
        await pilot.pause()
        cmp_screen = app.screen
        c = cmp_screen.comparison
        assert (c.baseline_name, c.current_name) == ("fast", "slow")  # the older is the baseline
        assert c.verdict == REGRESSED
        assert "Verdict: regressed" in text_of(cmp_screen.query_one("#compare-title"))
        table = cmp_screen.query_one(DataTable)
        assert table.row_count == len(c.rows)
        labels = [str(col.label) for col in table.columns.values()]
        assert labels[2:4] == ["fast", "slow"]
        p95 = next(i for i, r in enumerate(c.rows) if r.scope == "overall" and r.metric == "p95_ms")
        cells = table.get_row_at(p95)
        assert str(cells[6]) == REGRESSED and TONE_COLOURS["bad"] in str(cells[6].style)
        assert str(cells[5]).startswith("+") and TONE_COLOURS["bad"] in str(cells[5].style)
        await pilot.press("f")  # changes only
        assert table.row_count == len(c.regressions) + len(c.improvements)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("escape")  # the root list: Esc leaves the app
        await wait_for(pilot, lambda: not app.is_running)


async def test_an_empty_store_says_how_to_make_baselines(tmp_path: Path) -> None:
    app = create_baselines_app(BaselineStore(tmp_path / "none.sqlite3"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await list_screen(app, pilot)
        assert "--save-baseline" in text_of(screen.query_one("#baselines-empty"))
        assert not (tmp_path / "none.sqlite3").exists()


# ------------------------------------------------------------------ dashboard hooks


async def on_dashboard(app, pilot):  # noqa: ANN001, ANN201
    from tui_loadtest.ui.screens.dashboard import DashboardScreen

    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    await wait_for(pilot, lambda: app.screen._snap is not None)
    return app.screen


async def test_b_saves_the_run_and_replaces_only_after_a_yes(tmp_path: Path) -> None:
    from tests.ui.fakes import demo_source
    from tui_loadtest.pipeline.outputs import BaselineContext
    from tui_loadtest.ui import create_app

    store = BaselineStore(tmp_path / "s.sqlite3")
    src = demo_source()
    app = create_app(src, baselines=BaselineContext(store))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = await on_dashboard(app, pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, NamePrompt))
        assert "so far" in text_of(app.screen.query_one(".dialog-title"))
        await pilot.press("ctrl+a", "ctrl+k", *"nightly", "enter")
        await wait_for(pilot, lambda: store.exists("nightly"))
        saved = store.load("nightly")
        assert saved.metadata["source"] == "dashboard" and saved.metadata["partial"] is True
        assert saved.result.summary.requests == src.result().summary.requests
        await wait_for(pilot, lambda: app.screen is dashboard)

        # The same name again: asked to confirm; "n" goes back to the prompt, saying why.
        await pilot.press("b", "ctrl+a", "ctrl+k", *"nightly", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmAction))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NamePrompt))
        assert "already exists" in text_of(app.screen.query_one("#name-error"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dashboard)
        assert store.load("nightly").created_at == saved.created_at
        # ... and "y" replaces it.
        await pilot.press("b", "ctrl+a", "ctrl+k", *"nightly", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmAction))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is dashboard)
        assert store.names() == ["nightly"]


async def test_l_opens_the_list_and_c_compares_a_baseline_with_the_live_run(store) -> None:  # noqa: ANN001
    from tests.ui.fakes import demo_source
    from tui_loadtest.pipeline.outputs import BaselineContext
    from tui_loadtest.ui import create_app

    app = create_app(demo_source(), baselines=BaselineContext(store))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = await on_dashboard(app, pilot)
        await pilot.press("l")
        screen = await list_screen(app, pilot)
        assert names(screen) == ["health", "slow", "fast"]
        await pilot.press("down", "down", "c")  # "fast"
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=10)
        c = app.screen.comparison
        assert (c.baseline_name, c.current_name) == ("fast", "this run")
        assert c.verdict == REGRESSED  # the demo's query endpoint is far slower than "fast"
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is dashboard)


async def test_compare_to_puts_the_baseline_beside_the_live_figures(store) -> None:  # noqa: ANN001
    from tests.ui.fakes import demo_source
    from tui_loadtest.pipeline.outputs import BaselineContext
    from tui_loadtest.ui import create_app
    from tui_loadtest.ui.baseline_hooks import BaselineDeltas

    base = store.load("fast")
    src = demo_source()
    app = create_app(src, baselines=BaselineContext(store, compare_to=base))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = await on_dashboard(app, pilot)
        panel = dashboard.query_one(BaselineDeltas)
        await wait_for(pilot, lambda: "P95" in text_of(panel))
        shown = text_of(panel)
        assert panel.border_title == "vs baseline fast"
        live, then = src.snapshot.total.latency.p95, base.result.summary.latency.p95
        line = next(ln for ln in shown.splitlines() if "P95" in ln)
        assert f"{(live - then) / then * 100:+.1f}%" in line


async def test_the_verdict_and_the_thresholds_show_when_the_run_ends(store) -> None:  # noqa: ANN001
    """--compare-to: the verdict table is on screen once the run is done, beside each
    threshold with what was measured (not only printed after the app exits)."""
    import io
    from dataclasses import replace

    from rich.console import Console

    from tests.ui.fakes import demo_source
    from tui_loadtest.pipeline.outputs import BaselineContext
    from tui_loadtest.ui import create_app
    from tui_loadtest.ui.baseline_hooks import BaselineDeltas
    from tui_loadtest.ui.widgets.summary import SummaryView, summary_renderable

    limits = [{"metric": "p95_ms", "limit": 0.5, "endpoint": None, "label": "p95_ms <= 0.5"},
              {"metric": "error_rate", "limit": 0.5, "endpoint": None,
               "label": "error_rate <= 0.5"}]  # fmt: skip
    src = demo_source()
    plain = src.result
    src.result = lambda: replace(plain(), scenario={"name": "demo", "thresholds": limits})
    app = create_app(src, baselines=BaselineContext(store, compare_to=store.load("fast")))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = await on_dashboard(app, pilot)
        src.finish()
        summary = dashboard.query_one(SummaryView)
        await wait_for(pilot, lambda: summary.result is not None)
        c = summary.comparison
        assert c is not None and c.verdict == REGRESSED and c.baseline_name == "fast"
        assert dashboard.query_one(BaselineDeltas).border_subtitle == "verdict: regressed"
        console = Console(width=150, record=True, file=io.StringIO())
        console.print(summary_renderable(summary.result, None, c))
        text = console.export_text()
    assert "Thresholds (1/2 passed)" in text and "Compared with fast" in text
    assert "✗ p95_ms <= 0.5" in text and "✓ error_rate <= 0.5" in text
    assert "Verdict: regressed" in text and "POST /api/agents/{id}/query" in text


async def test_two_baselines_of_several_runs_are_judged_over_their_runs(tmp_path: Path) -> None:
    """Marked baselines that hold 5 runs each are compared as the command line and the
    gate compare them: over the runs (Mann-Whitney and the pooled runs), with the
    rule, p and the runs a side on screen."""
    from tui_loadtest.stats.repeats import combine

    s = BaselineStore(tmp_path / "baselines.sqlite3")
    runs = {
        name: combine([make_result([HEALTH, QUERY], seconds=10, seed=seed + i,
                                   slowdown=slowdown) for i in range(5)], cooldown_s=0.0)
        for name, seed, slowdown in (("before", 1, 1.0), ("after", 20, 1.3))
    }  # fmt: skip
    s.save(Baseline("before", "2024-01-01T10:00:00+00:00", runs["before"], {"source": "run"}))
    s.save(Baseline("after", "2024-02-01T10:00:00+00:00", runs["after"], {"source": "run"}))
    app = create_baselines_app(s)
    async with app.run_test(size=SIZE) as pilot:
        await list_screen(app, pilot)
        await pilot.press("space", "down", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=10)
        await pilot.pause()
        c = app.screen.comparison
        assert c.method["runs"] == [5, 5] and c.verdict == REGRESSED
        legend = text_of(app.screen.query_one("#compare-legend"))
        assert "Mann-Whitney" in legend and "pooled" in legend
        table = app.screen.query_one(DataTable)
        p95 = next(i for i, r in enumerate(c.rows) if r.scope == "overall" and r.metric == "p95_ms")
        assert "n=5+5" in str(table.get_row_at(p95)[-1])


async def test_the_palettes_screenshot_saves_the_baselines_screen(  # noqa: ANN001
    store, tmp_path: Path, monkeypatch
) -> None:
    """As the dashboard's: in the folder the command names (here: the current one), never
    in a Downloads folder that may not exist, and it says where."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-downloads"))
    monkeypatch.delenv("TUI_LOADTEST_SCREENSHOTS", raising=False)
    app = create_baselines_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await list_screen(app, pilot)
        (command,) = [c for c in app.get_system_commands(screen) if c.title == "Screenshot"]
        assert str(here) in command.help
        command.callback()
        await wait_for(pilot, lambda: any(here.glob("*.svg")))
        (saved,) = here.glob("*.svg")
        assert "fast" in saved.read_text()  # the list, as drawn
        notes = lambda: [str(n.message) for n in app._notifications]  # noqa: E731
        await wait_for(pilot, lambda: any(str(saved) in m for m in notes()))
