"""Time to first byte: recorded for every response of every kind of user, beside the
latency, merged per endpoint, and carried through the report and its outputs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tui_loadtest.compare import compare
from tui_loadtest.report import csv_export
from tui_loadtest.report.html import html_report
from tui_loadtest.report.text import run_summary
from tui_loadtest.scenario import LoadSpec, parse_scenario, script_scenario
from tui_loadtest.stats.aggregate import RunAggregate
from tui_loadtest.stats.result import RunResult
from tui_loadtest.stats.thresholds import evaluate

from .engine_harness import run_engine, scenario
from .servers import SlowBodyServer

BODY_AFTER_S = 0.05

SCRIPT = """
from tui_loadtest.script import task

@task
async def one(user):
    await user.get("/x", name="GET /x")
"""


@pytest.fixture(scope="module")
def slow_body():
    server = SlowBodyServer(BODY_AFTER_S)
    url = server.start()
    yield server, url
    server.stop()


def only_endpoint(agg: RunAggregate):
    (span,) = [s for s in agg.cumulative if s.requests]
    return span


def check_head_then_body(agg: RunAggregate, answered: int) -> None:
    """Every response has a TTFB; the head came at once, the body 50 ms later."""
    span = only_endpoint(agg)
    assert span.failures == 0
    assert span.ttfb is not None and span.ttfb.total == span.hist.total == answered
    ttfb_p50 = span.ttfb.percentile(0.5) / 1000
    total_p50 = span.hist.percentile(0.5) / 1000
    # The head came at once (~0.2 ms on loopback; a busy machine delays any reading):
    # a TTFB that held the body's wait would be within a reading's delay of the total.
    half = BODY_AFTER_S * 1000 / 2
    assert ttfb_p50 < half, ttfb_p50
    assert total_p50 >= BODY_AFTER_S * 1000, total_p50
    assert total_p50 - ttfb_p50 >= half, (ttfb_p50, total_p50)  # the wait is not in it


def test_plain_requests_record_the_head_apart_from_the_body(slow_body):
    server, url = slow_body
    before = server.responses
    sc = scenario([{"path": "/x"}], load={"users": 2, "requests": 12})
    agg = asyncio.run(run_engine(sc, url))
    check_head_then_body(agg, server.responses - before)


@pytest.mark.parametrize("kind", ["flow", "httpx", "open"])
def test_every_kind_of_user_records_it(slow_body, kind):
    server, url = slow_body
    before = server.responses
    if kind == "flow":
        flows = [{"name": "f", "steps": [{"path": "/x"}]}]
        load = {"users": 2, "requests": 8}
        sc = parse_scenario({"host": url, "flows": flows, "load": load}, "f.toml")
    elif kind == "httpx":
        sc = scenario([{"path": "/x"}], http={"transport": "httpx"},
                      load={"users": 2, "requests": 8})  # fmt: skip
    else:  # the open model: corrected, from each arrival's intended start
        load = {"mode": "arrival-rate", "rate": 40, "requests": 8}
        sc = scenario([{"path": "/x"}], load=load)
    agg = asyncio.run(run_engine(sc, url))
    check_head_then_body(agg, server.responses - before)


def test_a_script_records_it(slow_body, tmp_path: Path):
    server, url = slow_body
    (tmp_path / "users.py").write_text(SCRIPT, encoding="utf-8")
    sc = script_scenario(tmp_path / "users.py")
    sc = replace(sc, load=LoadSpec(users=2, spawn_rate=100, requests=8))
    before = server.responses
    agg = asyncio.run(run_engine(sc, url))
    check_head_then_body(agg, server.responses - before)


def test_the_report_and_its_outputs_carry_it(slow_body, tmp_path: Path):
    """Through the command line and its worker process: the JSON report, HTML, CSV
    and the summary say it; a report from before it was measured still loads."""
    server, url = slow_body
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", f"{url}/x", "-n", "4", "-c", "1",
         "--no-ui", "--out", "r.json", "--html", "r.html", "--csv", "r"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Time to First Byte: p50" in proc.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    result = RunResult.from_report(data)
    assert result.summary.ttfb is not None and result.ttfb_histogram is not None
    assert result.ttfb_histogram.total == 4 == result.endpoints[0].ttfb_histogram.total
    assert data["summary"]["ttfb_ms"]["p50"] == round(result.summary.ttfb.p50, 3) < 10
    assert data["endpoints"][0]["ttfb_ms"]["p95"] == round(result.summary.ttfb.p95, 3)
    assert result.summary.latency.p50 >= BODY_AFTER_S * 1000
    assert "TTFB P95" in (tmp_path / "r.html").read_text()
    header = (tmp_path / "r_stats.csv").read_text().splitlines()[0]
    assert header.endswith("TTFB Median,TTFB 95%,TTFB 99%")
    # Thresholds and verdicts read it as any latency.
    gates = {"ttfb_p95_ms": 10, "endpoints": {"GET /x": {"ttfb_p50_ms": 0.001}}}
    sc = parse_scenario({"host": url, "requests": [{"path": "/x"}], "thresholds": gates}, "t.toml")
    found = {t.label: t for t in evaluate(sc.thresholds, result)}
    assert found["ttfb_p95_ms <= 10"].passed and found["ttfb_p95_ms <= 10"].value < 10
    assert not found["endpoints.GET /x.ttfb_p50_ms <= 0.001"].passed
    rows = [r for r in compare(result, result).rows if r.metric == "ttfb_p95_ms"]
    assert rows and rows[0].label == "TTFB P95" and rows[0].a == rows[0].b
    # A report from before TTFB was measured still loads, and says nothing of it.
    for section in (data["summary"], *data["endpoints"]):
        del section["ttfb_ms"]
    del data["histograms"]["ttfb_total"], data["histograms"]["ttfb_endpoints"]
    old = RunResult.from_report(data)
    assert old.summary.ttfb is None and old.endpoints[0].ttfb_histogram is None
    assert "Time to First Byte" not in run_summary(old)
    assert "TTFB P95" not in html_report(old)
    assert "TTFB" not in csv_export.stats_csv(old)
    assert not [r for r in compare(old, result).rows if r.metric == "ttfb_p95_ms"]
