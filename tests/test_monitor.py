"""Watching the target (issue 14): --monitor-pid, --scrape and [monitor], against the real
demo server in its own process; one short run serves the checks that need one."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from tui_loadtest.cli import main
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.monitor import _Series
from tui_loadtest.monitor.prometheus import parse
from tui_loadtest.scenario import MonitorSpec, parse_scenario
from tui_loadtest.scenario.monitor_table import parse_selector
from tui_loadtest.stats.result import RunResult

RUN_S = 3.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def watched(demo_server):
    """A 3 s run on the demo that watches its process, scrapes its /metrics and scrapes
    a port where nothing listens."""
    dead = f"http://127.0.0.1:{closed_port()}/metrics"
    scenario = parse_scenario(
        {
            "load": {"users": 4, "run_time": f"{RUN_S}s"},
            "requests": [{"path": "/api/health"}],
            "monitor": {"scrape": ["/metrics", dead], "metrics": ["demo_requests_total"]},
        },
        "watched.toml",
    )
    scenario = replace(scenario, monitor=replace(scenario.monitor, pids=(demo_server.pid,)))
    run = Run(scenario, demo_server.url, workers=1)
    run.start()
    try:
        assert run.wait(timeout=60), "the run did not end"
        result = run.result()
    finally:
        run.close()
    return run, result, dead


def series(result: RunResult, key_start: str):
    found = [s for s in result.resources if s.key.startswith(key_start)]
    assert found, [s.key for s in result.resources]
    return found[0]


def test_monitor_pid_records_the_demo_servers_cpu(watched, demo_server):
    _, result, _ = watched
    cpu = series(result, f"pid:{demo_server.pid}:cpu_pct")
    assert len(cpu.points) >= RUN_S - 1
    assert cpu.max is not None and cpu.max > 0  # it served thousands of requests
    rss = series(result, f"pid:{demo_server.pid}:rss_bytes")
    assert rss.min is not None and rss.min > 1024 * 1024
    assert series(result, f"pid:{demo_server.pid}:threads").min >= 1


def test_scraped_request_rate_matches_the_tools_own(watched):
    _, result, _ = watched
    scraped = series(result, "scrape:demo_requests_total")
    assert scraped.kind == "rate" and scraped.unit == "/s"
    assert result.summary.requests > 100
    assert scraped.mean == pytest.approx(result.summary.rps, rel=0.10)
    # only the series [monitor] metrics picked
    assert {s.metric for s in result.resources if s.key.startswith("scrape:")} == {
        "demo_requests_total"
    }


def test_an_unreachable_scrape_url_is_an_event_and_the_run_completes(watched):
    run, result, dead = watched
    assert result.outcome["reason"] == "run time reached"
    assert result.summary.failures == 0  # a failed scrape is never a failed request
    texts = [e.text for e in run.snapshot.events]
    assert any(t.startswith(f"scrape {dead} failed") for t in texts), texts
    source = next(s for s in result.monitor["sources"] if s.get("url") == dead)
    assert source["failures"] == source["scrapes"] >= RUN_S


def test_the_report_keeps_the_series_and_reads_them_back(watched):
    _, result, _ = watched
    report = result.to_report()
    assert {s["key"] for s in report["resources"]["series"]} == {s.key for s in result.resources}
    again = RunResult.from_report(report)
    assert [s.key for s in again.resources] == [s.key for s in result.resources]
    for read, kept in zip(again.resources[0].points, result.resources[0].points, strict=True):
        assert read == pytest.approx(kept, rel=1e-3, abs=1e-3)
    assert again.monitor["sources"] == result.monitor["sources"]


# ------------------------------------------------------------------- no run needed


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('scrap = "http://127.0.0.1:9/metrics"', "monitor.scrap"),
        ('scrape = "ftp://127.0.0.1/metrics"', "monitor.scrape"),
        ('scrape = ["http://127.0.0.1:9/m", 3]', "monitor.scrape[2]"),
        ('scrape = "/metrics"\nscrape_interval = "1ms"', "monitor.scrape_interval"),
        ('scrape = "/metrics"\nmetrics = ["a{b=c}"]', "monitor.metrics[1]"),
        ('scrape = "/metrics"\nmetrics = [\'a{b=~"(("}\']', "monitor.metrics[1]"),
        ('metrics = ["a"]', "monitor"),
    ],
)
def test_bad_monitor_keys_exit_2_naming_the_key(tmp_path, capsys, table, key):
    path = tmp_path / "bad.toml"
    path.write_text(f'[[requests]]\npath = "/"\n\n[monitor]\n{table}\n')
    assert main(["run", str(path), "--no-ui"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"tui-loadtest: error: {path}: {key}: "), err


def test_monitor_pid_of_no_process_exits_2(capsys):
    missing = 2**22 + 7  # above Linux's default pid_max
    assert main(["run", "--no-ui", "--monitor-pid", str(missing), "-t", "1s"]) == 2
    assert f"--monitor-pid: no process with id {missing}" in capsys.readouterr().err


def test_selectors_match_as_promql_does():
    sel = parse_selector('http_requests_total{code=~"5..", method!="GET"}')
    assert sel.matches("http_requests_total", {"code": "503", "method": "POST"})
    assert not sel.matches("http_requests_total", {"code": "503", "method": "GET"})
    assert not sel.matches("http_requests_total", {"code": "5030", "method": "POST"})  # anchored
    assert not sel.matches("http_requests", {"code": "500"})


PAGE = """# TYPE reqs_total counter
reqs_total{code="200"} 10
reqs_total{code="500"} 1
reqs_created{code="200"} 1.7e9
# TYPE pool_in_use gauge
pool_in_use 4
# TYPE lat histogram
lat_bucket{le="0.1"} 3
lat_bucket{le="+Inf"} 4
lat_count 4
lat_sum 0.25
"""


def test_parse_keeps_counters_and_gauges_and_marks_the_counters():
    got = {s.key: s.counter for s in parse(PAGE, ())}
    assert got == {
        'reqs_total{code="200"}': True,
        'reqs_total{code="500"}': True,
        "pool_in_use": False,
        "lat_count": True,
        "lat_sum": True,
    }
    picked = parse(PAGE, (parse_selector('reqs_total{code="500"}'),))
    assert [s.key for s in picked] == ['reqs_total{code="500"}']


def test_counters_become_rates_and_survive_a_reset():
    s = _Series("k", "src", "m", "m", "/s", "rate")
    for t, v in ((0.0, 100.0), (1.0, 110.0), (2.0, 130.0), (3.0, 5.0), (4.0, 15.0)):
        s.add(t, v)
    frozen = s.frozen()
    assert [v for _, v in frozen.points] == [10.0, 20.0, 5.0, 10.0]  # 130 -> 5: a restart
    assert frozen.increase == 45.0 and frozen.span_s == 4.0
    assert frozen.mean == pytest.approx(45.0 / 4.0)


def test_scrape_flags_add_to_the_scenario_and_keep_credentials_out():
    from tui_loadtest.scenario import apply_overrides

    sc = parse_scenario({"requests": [{"path": "/"}]}, "x.toml")
    sc = apply_overrides(sc, scrape=["http://127.0.0.1:9100?token=abcd1234"], monitor_pids=[1])
    assert sc.monitor == MonitorSpec(scrape=("http://127.0.0.1:9100/metrics?token=abcd1234",),
                                     pids=(1,))  # fmt: skip
    assert sc.redacted["monitor"]["scrape"] == ["http://127.0.0.1:9100/metrics?token=<redacted>"]
    assert "abcd1234" in sc.secrets
