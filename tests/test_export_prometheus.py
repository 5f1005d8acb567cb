"""--prometheus ADDR: a real Prometheus scrapes the run; the buckets are exact; the port
is checked before any load; a scraper that hangs does not hold the run."""

from __future__ import annotations

import json
import random
import socket
import time

import pytest

from tests.export_support import PROMETHEUS, FreezableServer, Prometheus, cli, free_port
from tui_loadtest.export.buckets import EDGES_S, EDGES_US, add_buckets, cumulative
from tui_loadtest.stats.histogram import Histogram, bucket_bounds, bucket_index


@pytest.fixture
def target():
    server = FreezableServer(fail_every=10)
    url = server.start()
    yield server, url
    server.stop()


def test_each_exported_bucket_counts_exactly_the_values_below_its_edge():
    rng = random.Random(26)
    values = [int(rng.lognormvariate(7, 2.5)) for _ in range(20_000)] + list(EDGES_US)
    values += [e - 1 for e in EDGES_US]
    h = Histogram.from_values(values)
    slots = [0] * (len(EDGES_US) + 1)
    add_buckets(slots, h.items())
    counts = cumulative(slots)
    for edge, count in zip(EDGES_US, counts, strict=False):
        assert bucket_bounds(bucket_index(edge))[0] == edge  # an edge of our own buckets
        assert count == sum(v < edge for v in values), edge
    assert counts[-1] == len(values)


def test_a_taken_port_is_one_line_before_any_load(target):
    server, url = target
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli("run", f"{url}/x", "-t", "2s", "--no-ui", "--prometheus", f"127.0.0.1:{port}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"tui-loadtest: error: --prometheus 127.0.0.1:{port}: cannot listen: the port is taken"
    ]
    assert server.received == 0


def test_another_address_than_loopback_needs_allowing(target):
    server, url = target
    proc = cli("run", f"{url}/x", "-t", "2s", "--no-ui", "--prometheus", "0.0.0.0:9646")
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "not a loopback address" in line and "--prometheus-allow-remote" in line
    assert server.received == 0


def test_a_scraper_that_hangs_does_not_hold_the_run(target, tmp_path):
    """Half a request sent to /metrics, never finished: the run ends on time, its report
    equals what the server sent."""
    server, url = target
    port = free_port()
    out = tmp_path / "r.json"
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", f"{url}/x", "--rate", "100", "-t", "2s",
         "--no-ui", "--prometheus", f"127.0.0.1:{port}", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    hung = socket.socket()
    try:
        deadline = time.monotonic() + 30
        while hung.connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and proc.poll() is None, "no endpoint"
            hung.close()
            hung = socket.socket()
            time.sleep(0.05)
        hung.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        _, err = proc.communicate(timeout=60)
    finally:
        hung.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    assert json.loads(out.read_text())["summary"]["requests"] == server.sent > 0


@pytest.mark.skipif(
    PROMETHEUS is None, reason="needs a prometheus binary (apt-get install prometheus)"
)
def test_a_real_prometheus_scrapes_the_runs_totals(target, tmp_path):
    """Prometheus 1 s scrapes over a 10 s run: the last scraped value is the report's
    total exactly (the run waits for that last scrape), increase() is within one
    scrape's worth of it, histogram_quantile(0.95) within the bucket holding p95."""
    server, url = target
    port = free_port()
    prom = Prometheus(tmp_path, [f"127.0.0.1:{port}"])
    out = tmp_path / "r.json"
    try:
        proc = cli("run", f"{url}/x", "--rate", "200", "-t", "10s", "--no-ui", "--prometheus",
                   f"127.0.0.1:{port}", "--run-id", "prom-test", "--out", str(out))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "waiting up to" in proc.stderr  # for Prometheus' last scrape
        report = json.loads(out.read_text())
        summary, sel = report["summary"], '{run_id="prom-test"}'
        assert summary["requests"] == server.sent

        def last(metric: str) -> float:
            return prom.value(f"sum(max_over_time({metric}{sel}[5m]))")

        deadline = time.monotonic() + 10  # the last scrape is being stored
        while last("tui_loadtest_requests_total") != summary["requests"]:
            assert time.monotonic() < deadline, (last("tui_loadtest_requests_total"), summary)
            time.sleep(0.2)
        assert last("tui_loadtest_failures_total") == summary["failures"] == server.failed
        assert (
            last("tui_loadtest_request_duration_seconds_count")
            == report["histograms"]["total"]["count"]
        )

        worth = max(p["rps"] for p in report["timeline"])  # one scrape interval's worth
        for metric, total in (
            ("tui_loadtest_requests_total", summary["requests"]),
            ("tui_loadtest_failures_total", summary["failures"]),
        ):
            increase = prom.value(f"sum(increase({metric}{sel}[5m]))")
            assert abs(increase - total) <= max(1, worth * total / summary["requests"]), metric

        p95 = summary["latency_ms"]["p95"] / 1000
        q = prom.value(
            "histogram_quantile(0.95, sum by (le) "
            f"(increase(tui_loadtest_request_duration_seconds_bucket{sel}[5m])))"
        )
        bounds = [0.0, *EDGES_S]
        i = next(i for i in range(len(EDGES_S)) if p95 <= bounds[i + 1])
        assert abs(q - p95) <= bounds[i + 1] - bounds[i], (q, p95)
    finally:
        prom.stop()
