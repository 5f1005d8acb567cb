"""Repeated runs (issue 14): --repeat N, the spread, baselines of several runs, and
verdicts over run-to-run variance (exact Mann-Whitney U)."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.compare import NO_CHANGE, REGRESSED
from tui_loadtest.compare.mann_whitney import mann_whitney
from tui_loadtest.compare.repeated import compare_runs, uses_runs
from tui_loadtest.report.compare_text import comparison_text
from tui_loadtest.report.json_report import read_report
from tui_loadtest.stats.repeats import combine, find_outlier, spread
from tui_loadtest.stats.result import RunResult
from tui_loadtest.store import Baseline, BaselineStore

from .synthetic import HEALTH, QUERY, make_result

FIXTURES = Path(__file__).parent / "fixtures"
HEALTH_TOML = '[[requests]]\nname = "health"\npath = "/api/health"\n'


def brute_force_p(a: list[float], b: list[float]) -> float:
    """The permutation p-value by listing every split of the pooled values."""
    pooled = [*a, *b]
    order = sorted(pooled)
    rank = {v: (order.index(v) + 1 + len(order) - order[::-1].index(v)) / 2 for v in pooled}
    observed = sum(rank[v] for v in a)
    mean = len(a) * (len(pooled) + 1) / 2
    splits = list(itertools.combinations(range(len(pooled)), len(a)))
    far = sum(
        1
        for s in splits
        if abs(sum(rank[pooled[i]] for i in s) - mean) >= abs(observed - mean) - 1e-9
    )
    return far / len(splits)


def test_mann_whitney_is_exact_with_and_without_ties():
    # the classic table: complete separation of 5 + 5 is 2 / C(10, 5)
    assert mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p == pytest.approx(2 / 252)
    assert mann_whitney([1, 2, 3], [4, 5, 6]).min_p == pytest.approx(0.1)  # 3 + 3: never < 0.05
    assert mann_whitney([1, 2, 3, 4], [5, 6, 7, 8]).p == pytest.approx(2 / 70)
    rng = random.Random(3)
    for _ in range(40):
        n_a, n_b = rng.randint(1, 6), rng.randint(1, 6)
        a = [float(rng.randint(0, 6)) for _ in range(n_a)]  # small integers: many ties
        b = [float(rng.randint(0, 6)) for _ in range(n_b)]
        assert mann_whitney(a, b).p == pytest.approx(brute_force_p(a, b)), (a, b)


def test_spread_and_the_outlier_run():
    s = spread([10.0, 11.0, 12.0])
    assert (s["min"], s["median"], s["max"]) == (10.0, 11.0, 12.0)
    assert s["cv"] == pytest.approx(1.0 / 11.0)
    calm = {"p50_ms": 5.0, "p95_ms": 20.0, "p99_ms": 40.0, "rps": 500.0, "error_rate": 0.0}
    runs = [dict(calm, p95_ms=v) for v in (20.0, 20.5, 19.8, 35.0, 20.2)]
    out = find_outlier(runs)
    assert out is not None and out["run"] == 4 and out["metric"] == "p95_ms"
    assert find_outlier([dict(calm, p95_ms=v) for v in (20.0, 20.5, 19.8, 20.9, 20.2)]) is None
    # two runs in the same histogram bucket (no spread between them) do not make a 10 %
    # wobble of the third an outlier
    assert find_outlier([dict(calm, p95_ms=v) for v in (38.3, 42.1, 38.3)]) is None


def results(n: int, *, slowdown: float = 1.0, seed: int = 0) -> list[RunResult]:
    return [make_result([HEALTH, QUERY], seconds=10, seed=seed + i, slowdown=slowdown)
            for i in range(n)]  # fmt: skip


def test_compare_over_runs_finds_a_slowdown_and_not_noise():
    a, same, slower = results(5, seed=1), results(5, seed=20), results(5, slowdown=1.3, seed=40)
    assert uses_runs(a, same) and not uses_runs(a[:2], same[:1])
    unchanged = compare_runs(a, same)
    assert unchanged.verdict == NO_CHANGE and not unchanged.method["notes"]
    assert "Mann-Whitney" in unchanged.method["noise"]
    c = compare_runs(a, slower)
    assert c.verdict == REGRESSED
    row = next(r for r in c.overall if r.metric == "p95_ms")
    assert row.verdict == REGRESSED and row.p_value == pytest.approx(2 / 252)
    assert row.runs == (5, 5)
    text = comparison_text(c)
    assert "p=0.008" in text and "n=5+5" in text
    from tui_loadtest.report.html import html_report

    page = html_report(slower[0], comparison=c)  # the HTML says the same as the text
    assert "Mann-Whitney" in page and "p=0.008 n=5+5" in page
    # three runs a side cannot reach 0.05: the same slowdown is only inconclusive, and
    # the comparison says why
    weak = compare_runs(a[:3], slower[:3])
    assert weak.verdict != REGRESSED
    assert "fewer than 4 runs (3 + 3)" in weak.method["notes"][0]
    assert "fewer than 4 runs" in comparison_text(weak)
    assert "~" in comparison_text(unchanged)
    # a percentile on a thin tail (fewer than 10 responses beyond it in a run) is shown,
    # never judged, as for single runs
    short = [make_result([HEALTH], seconds=1, seed=60 + i) for i in range(5)]
    p99 = next(r for r in compare_runs(short, short).overall if r.metric == "p99_ms")
    assert p99.verdict is None and "fewer than 10 responses beyond it" in (p99.not_judged or "")


def test_a_result_of_several_runs_writes_and_reads_back_every_run(tmp_path):
    runs = results(3, seed=7)
    combined = combine(runs, cooldown_s=2.0)
    rep = combined.repeats
    assert rep["count"] == 3 and len(rep["runs"]) == 3 and len(combined.runs) == 3
    assert [r["requests"] for r in rep["runs"]] == [r.summary.requests for r in runs]
    again = RunResult.from_report(json.loads(json.dumps(combined.to_report())))
    assert [r.summary.requests for r in again.runs] == [r.summary.requests for r in runs]
    assert again.repeats == rep
    # the HTML report shows each run and the spread, as the text summary does
    from tui_loadtest.report.formatting import fmt_ms
    from tui_loadtest.report.html import html_report
    from tui_loadtest.report.text import repeat_lines

    page = html_report(combined)
    assert "<h2>Repeated runs</h2>" in page and "Outlier: none" in page
    p95 = [fmt_ms(r.summary.latency.p95) for r in runs]
    assert all(f"<td>{v}</td>" in page for v in p95)
    text = "\n".join(repeat_lines(combined))
    assert all(v in text for v in p95) and "run 3" in text and "CV" in text


def cli(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_repeat_3_gives_3_runs_a_spread_and_one_baseline(demo_url, demo_server, tmp_path, capsys):
    scenario = tmp_path / "health.toml"
    scenario.write_text(HEALTH_TOML)
    store = tmp_path / "s.sqlite3"
    out = tmp_path / "r.json"
    code, stdout, err = cli(capsys, "run", str(scenario), "--no-ui", "-t", "1s", "-u", "4",
                            "--host", demo_url, "--repeat", "3", "--cooldown", "0s",
                            "--out", str(out), "--store", str(store),
                            "--save-baseline", "three")  # fmt: skip
    assert code == 0, err
    served = demo_server.stats()["requests"]
    report = json.loads(out.read_text())
    rep = report["repeats"]
    assert rep["count"] == 3 and [r["run"] for r in rep["runs"]] == [1, 2, 3]
    # every request the server answered is in exactly one run
    assert sum(r["requests"] for r in rep["runs"]) == served
    assert len(rep["reports"]) == 3
    assert set(rep["spread"]) == {"p50_ms", "p95_ms", "p99_ms", "rps", "error_rate"}
    assert "Repeated Runs (3 runs" in stdout and "CV" in stdout
    for line in ("run 1", "run 2", "run 3", "median"):
        assert line in stdout
    assert "run 1 of 3" in stdout  # a line as each run ends
    # one baseline holding the three runs
    saved = BaselineStore(store).load("three")
    assert [r.summary.requests for r in saved.runs] == [r["requests"] for r in rep["runs"]]
    assert BaselineStore(store).list()[0].runs == 3
    # a later run added to it, from its report file
    one = tmp_path / "one.json"
    code, _, err = cli(capsys, "run", str(scenario), "--no-ui", "-t", "1s", "-u", "4",
                       "--host", demo_url, "--out", str(one))  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "baselines", "add-run", "three", str(one), "--store", str(store))
    assert code == 0, err
    assert "now holds 4 runs" in err
    four = BaselineStore(store).load("three")
    assert len(four.runs) == 4
    assert four.runs[-1].summary.requests == read_report(one).summary.requests
    # exported and imported, it keeps every run
    exported = tmp_path / "three.json"
    code, _, err = cli(capsys, "baselines", "export", "three", str(exported), "--store", str(store))
    assert code == 0, err
    code, _, err = cli(capsys, "baselines", "import", str(exported), "--name", "copy",
                       "--store", str(store))  # fmt: skip
    assert code == 0, err
    assert len(BaselineStore(store).load("copy").runs) == 4
    # compare over the runs: a note, since the other side has fewer than 4
    code, stdout, err = cli(
        capsys, "baselines", "compare", "three", str(out), "--store", str(store)
    )
    assert code in (0, 1), err
    assert "run to run" in stdout and "fewer than 4 runs (4 + 3)" in stdout


def test_add_run_refuses_another_scenario_and_a_missing_baseline(tmp_path, capsys):
    store = BaselineStore(tmp_path / "s.sqlite3")
    store.save(Baseline("b", "2024-01-01T10:00:00+00:00", results(1)[0], {"source": "run"}))
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(make_result([HEALTH], seconds=5, host="http://elsewhere").to_report())
    )
    code, _, err = cli(capsys, "baselines", "add-run", "b", str(other), "--store", str(store.path))
    assert code == 2 and "another scenario" in err and "Traceback" not in err
    code, _, err = cli(
        capsys, "baselines", "add-run", "nope", str(other), "--store", str(store.path)
    )
    assert code == 2 and 'no baseline named "nope"' in err
    assert len(store.load("b").runs) == 1


def test_a_schema_1_store_stays_readable_and_is_migrated_by_a_write(tmp_path):
    path = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURES / "store_format1.sqlite3", path)
    path.chmod(0o444)  # read-only: reading must not need to migrate it
    store = BaselineStore(path)
    infos = store.list()
    assert infos and all(i.runs == 1 for i in infos)
    name = infos[0].name
    first = store.load(name)
    assert len(first.runs) == 1
    path.chmod(0o644)
    extra = first.result
    store.add_runs(name, [extra])
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert {i.name: i.runs for i in BaselineStore(path).list()}[name] == 2
    assert len(BaselineStore(path).load(name).runs) == 2


def test_repeat_and_cooldown_are_checked(capsys):
    for args, flag in ((["--repeat", "0"], "--repeat"), (["--cooldown", "soon"], "--cooldown")):
        with pytest.raises(SystemExit) as stop:
            main(["run", "--no-ui", *args])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {flag}:" in err and "Traceback" not in err


@pytest.mark.anyio
async def test_the_dashboard_header_says_which_run():
    from dataclasses import replace

    from tests.ui.fakes import demo_source
    from tests.ui.helpers import text_of, wait_for
    from tui_loadtest.ui import create_app
    from tui_loadtest.ui.screens.dashboard import DashboardScreen
    from tui_loadtest.ui.widgets.header import RunHeader

    src = demo_source(elapsed=5.0)
    src.publish(replace(src.snapshot, repeat=(2, 5)))
    app = create_app(src)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: "run 2 of 5" in text_of(screen.query_one(RunHeader)))
        src.publish(replace(src.snapshot, repeat=(3, 5), elapsed_s=6.0))
        await wait_for(pilot, lambda: "run 3 of 5" in text_of(screen.query_one(RunHeader)))


def test_stopping_during_the_cooldown_keeps_the_runs_made(demo_url, demo_server):
    import time

    from tui_loadtest.engine.coordinator import Run
    from tui_loadtest.engine.repeated import RepeatedRun
    from tui_loadtest.scenario import parse_scenario

    sc = parse_scenario(
        {"load": {"users": 2, "run_time": "1s"}, "requests": [{"path": "/api/health"}]}, "r.toml"
    )
    ended: list[int] = []
    rep = RepeatedRun(lambda: Run(sc, demo_url, workers=1), 3, cooldown_s=60.0,
                      on_run_end=lambda i, n, r: ended.append(i))  # fmt: skip
    rep.start()
    try:
        deadline = time.monotonic() + 60
        while not ended:  # the first run's end (its own event, polled)
            assert time.monotonic() < deadline
            rep.wait(0.05)
        assert rep.snapshot.state == "starting" and rep.snapshot.repeat == (1, 3)
        rep.stop("interrupted")
        assert rep.wait(10)  # not the 60 s cooldown
    finally:
        rep.close()
    result = rep.result()
    assert ended == [1] and result.interrupted
    assert result.summary.requests == demo_server.stats()["requests"]


def test_a_move_every_run_shows_must_also_stand_out_of_sampling():
    """Every current run 15 % slower than every baseline run: the rank test alone says
    p = 0.008. Five 2-second runs hold too few queries to tell 15 % from sampling,
    so the row is inconclusive; five 30-second runs of the same shape, regressed."""
    query = [QUERY]

    def sides(seconds: int) -> tuple[list[RunResult], list[RunResult]]:
        # one sample per side, repeated: the runs agree exactly, so the ranks separate
        a = make_result(query, seconds=seconds, seed=5)
        b = make_result(query, seconds=seconds, seed=5, slowdown=1.15)
        return [a] * 5, [b] * 5

    short = compare_runs(*sides(2))
    row = next(r for r in short.overall if r.metric == "p50_ms")
    assert row.p_value == pytest.approx(2 / 252)
    assert row.pct is not None and row.pct > 0.10
    assert row.verdict == "inconclusive" and not row.significant
    assert "pooled" in short.method["sampling"]
    text = comparison_text(short)
    assert "the runs differ, but within the sampling noise of the pooled runs" in text
    assert "beyond the sampling noise of each side's runs pooled" in text
    long = compare_runs(*sides(30))
    row = next(r for r in long.overall if r.metric == "p50_ms")
    assert row.verdict == REGRESSED and row.significant
