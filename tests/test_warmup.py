"""The warm-up (issue 14): loaded like the rest, measured apart (Locust's --reset-stats).
The summary, percentiles and per-second figures cover the measured part only; the
report's ``warmup`` section holds the rest; both add up to what the server answered."""

from __future__ import annotations

import random

import pytest

from tests.test_aggregate import KEYS, delta
from tui_loadtest.cli import main
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.report.formatting import fmt_rate
from tui_loadtest.report.text import run_summary
from tui_loadtest.scenario import apply_overrides, parse_scenario
from tui_loadtest.stats.aggregate import RunAggregate
from tui_loadtest.stats.result import RunResult


def test_warmup_seconds_stay_out_of_the_totals_but_on_the_timeline():
    rng = random.Random(7)
    agg = RunAggregate(KEYS, workers=1, warmup_s=2)
    for tick in range(5):
        agg.add(delta(0, tick, rng, n=10 * (tick + 1))[0])
    # ticks 0 and 1 (10 + 20 requests per endpoint) are the warm-up
    assert agg.total_span(warmup=True).requests == 2 * (10 + 20)
    assert agg.total_span().requests == 2 * (30 + 40 + 50)
    assert agg.rate_s == 3.0 and agg.warmup_active_s == 2.0
    assert [p.warmup for p in agg.timeline] == [True, True, False, False, False]


def test_warmup_requests_are_absent_from_the_summary_and_present_in_the_warmup_section(
    demo_url, demo_server
):
    scenario = parse_scenario(
        {
            "load": {"users": 3, "run_time": "3s", "warmup": "1s"},
            "requests": [{"path": "/api/health"}],
        },
        "warm.toml",
    )
    run = Run(scenario, demo_url, workers=1)
    run.start()
    try:
        assert run.wait(timeout=60)
        result = run.result()
    finally:
        run.close()
    warm = result.warmup
    assert warm["planned_s"] == 1.0 and warm["summary"]["requests"] > 0
    served = demo_server.stats()["requests"]
    # counted against the server: every request it answered is in one part or the other
    assert result.summary.requests + warm["summary"]["requests"] == served
    assert all(p.t >= 1 and not p.warmup for p in result.timeline)
    assert [p["t"] for p in warm["timeline"]] == [0]
    assert len(result.per_second) == len(result.timeline)
    assert result.duration_s == pytest.approx(2.0, abs=0.3)  # the measured part only
    # the report keeps the section and reads it back; the summary is the measured part's
    again = RunResult.from_report(result.to_report())
    assert again.warmup == warm
    assert again.summary.requests == result.summary.requests
    assert any("warm-up over" in e.text for e in run.snapshot.events)
    # the summary says the figures are the measured part's, and what the warm-up held
    requests = f"{warm['summary']['requests']:,} requests"
    assert f"Warm-up: {warm['duration_s']:.2f} seconds before, measured apart ({requests}" in (
        run_summary(result)
    )


def test_warmup_flag_and_key_are_checked(tmp_path, capsys):
    sc = parse_scenario({"requests": [{"path": "/"}], "load": {"run_time": "10s"}}, "x.toml")
    assert apply_overrides(sc, warmup="2s").load.warmup_s == 2.0
    with pytest.raises(Exception, match="--warmup: expected less than the run's 10 s"):
        apply_overrides(sc, warmup="10s")
    path = tmp_path / "w.toml"
    path.write_text('[load]\nrun_time = "5s"\nwarmup = "5s"\n[[requests]]\npath = "/"\n')
    assert main(["run", str(path), "--no-ui"]) == 2
    assert f"{path}: load.warmup: expected less than the run's 5s" in capsys.readouterr().err


def test_the_progress_line_and_the_header_say_warming_up():
    from dataclasses import replace

    from tests.ui.fakes import demo_source
    from tui_loadtest.report.text import progress_line

    snap = replace(demo_source(elapsed=3.0).snapshot, elapsed_s=3.0, warmup_s=10.0)
    assert snap.warming_up
    assert "warming up (measured from 10s)" in progress_line(snap, 3.0)
    assert "(avg –)" in progress_line(snap, 3.0)  # nothing measured yet
    later = replace(snap, elapsed_s=12.0)
    assert not later.warming_up and "warming up" not in progress_line(later, 12.0)
    # the average is the totals' own rate (their complete seconds past the warm-up),
    # not their requests over the wall clock since the warm-up ended
    assert f"(avg {fmt_rate(later.total.rps)})" in progress_line(later, 12.0)


@pytest.mark.anyio
async def test_the_dashboard_header_says_warming_up_and_the_charts_shade_it():
    from dataclasses import replace

    from tests.ui.fakes import demo_source
    from tests.ui.helpers import text_of, wait_for
    from tui_loadtest.ui import create_app
    from tui_loadtest.ui.screens.dashboard import DashboardScreen
    from tui_loadtest.ui.widgets.charts import WARMUP_BG, RpsChart
    from tui_loadtest.ui.widgets.header import RunHeader

    src = demo_source(elapsed=5.0)
    snap = src.snapshot
    timeline = tuple(replace(p, warmup=p.t < 8) for p in snap.timeline)
    src.publish(replace(snap, elapsed_s=5.0, warmup_s=8.0, timeline=timeline))
    app = create_app(src)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen._snap is not None)
        await pilot.pause()
        assert "WARMING UP" in text_of(screen.query_one(RunHeader))
        chart = screen.query_one(RpsChart)
        assert "warm-up" in str(chart.border_title)
        assert WARMUP_BG in str(chart.render().spans)


# -- the warm-up is whole seconds, and leaves at least one to measure (issue 24 item 7) --
# Figures are kept per second, so the warm-up ends on a second: "--warmup 2.5s -t 3s" was
# measured as a 3 s warm-up and reported "Test Duration: 0.00 seconds".


@pytest.mark.parametrize(
    ("warmup", "run_time", "message"),
    [
        ("2.5s", "3s", "--warmup: expected whole seconds (figures are kept per second: 2.5s"
                       " would be measured as 3s), got 2.5s"),
        ("500ms", "10s", "--warmup: expected whole seconds (figures are kept per second: 500ms"
                         " would be measured as 1s), got 500ms"),
        ("2s", "2.5s", "--warmup: leaves 500ms of the run's 2.5s to measure (expected at"
                       " least 1s)"),
    ],
)  # fmt: skip
def test_a_warmup_that_cannot_be_measured_as_asked_is_refused(
    warmup: str, run_time: str, message: str
) -> None:
    sc = parse_scenario({"requests": [{"path": "/"}]}, "x.toml")
    with pytest.raises(Exception) as caught:
        apply_overrides(sc, warmup=warmup, run_time=run_time)
    assert str(caught.value) == message
    assert apply_overrides(sc, warmup="2s", run_time="3s").load.warmup_s == 2.0
    assert apply_overrides(sc, warmup="2s", run_time="3.5s").load.run_time_s == 3.5


@pytest.mark.parametrize(
    ("load", "message"),
    [
        ('run_time = "10s"\nwarmup = "1.5s"', "load.warmup: expected whole seconds"),
        ('run_time = "2.5s"\nwarmup = "2s"', "load.warmup: leaves 500ms of the run's 2.5s"),
    ],
)
def test_the_warmup_key_follows_the_same_rule(tmp_path, capsys, load: str, message: str):  # noqa: ANN001
    path = tmp_path / "w.toml"
    path.write_text(f'[load]\n{load}\n[[requests]]\npath = "/"\n')
    assert main(["run", str(path), "--no-ui"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"tui-loadtest: error: {path}: {message}"), err


def test_the_reported_case_stops_before_any_load(demo_url, demo_server, capsys):  # noqa: ANN001
    url = f"{demo_url}/api/health"
    assert main(["run", url, "--no-ui", "--warmup", "2.5s", "-t", "3s"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--warmup: expected whole seconds" in err[0], err
    assert demo_server.stats()["requests"] == 0
