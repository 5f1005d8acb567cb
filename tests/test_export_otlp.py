"""--otlp URL: an OTLP receiver built on the opentelemetry-proto messages gets the run's
totals exactly; a collector that refuses, fails or hangs is a warning, never a slower
run or a figure lost; without the otel extra, one line before any load."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.export_support import FreezableServer, OtlpReceiver, attrs, cli, free_port
from tui_loadtest.export.buckets import EDGES_S, add_buckets


@pytest.fixture
def target():
    server = FreezableServer(fail_every=9)
    url = server.start()
    yield server, url
    server.stop()


def test_the_receiver_gets_the_runs_totals_exactly(target, tmp_path):
    server, url = target
    receiver = OtlpReceiver()
    out = tmp_path / "r.json"
    try:
        proc = cli("run", f"{url}/x", "--rate", "200", "-t", "3s", "--no-ui", "--otlp",
                   receiver.url, "--otlp-interval", "1s", "--run-id", "otel-1",
                   "--out", str(out))  # fmt: skip
    finally:
        receiver.stop()
    assert proc.returncode == 0, proc.stderr
    assert f"metrics to {receiver.url}/v1/metrics every 1 s" in proc.stderr
    assert len(receiver.requests) >= 3  # every second, and the final figures
    report = json.loads(out.read_text())
    summary = report["summary"]
    assert summary["requests"] == server.sent and summary["failures"] == server.failed > 0

    metrics = receiver.last_metrics()
    requests = metrics["tui_loadtest_requests"].sum
    assert requests.is_monotonic and requests.aggregation_temporality == 2  # cumulative
    by_status: dict[int, int] = {}
    for p in requests.data_points:
        a = attrs(p)
        assert (a["run_id"], a["endpoint"], a["http.request.method"]) == ("otel-1", "GET /x", "GET")
        by_status[a["http.response.status_code"]] = p.as_int
    assert by_status == {int(k): v for k, v in summary["status_codes"].items()}
    (failures,) = metrics["tui_loadtest_failures"].sum.data_points
    assert failures.as_int == summary["failures"]

    (latency,) = metrics["tui_loadtest_request_duration"].histogram.data_points
    assert metrics["tui_loadtest_request_duration"].unit == "s"
    total = report["histograms"]["total"]
    assert latency.count == total["count"] == sum(latency.bucket_counts)
    assert list(latency.explicit_bounds) == list(EDGES_S)
    slots = [0] * (len(EDGES_S) + 1)
    add_buckets(slots, total["buckets"])  # the report's own histogram, cut at the edges
    assert list(latency.bucket_counts) == slots
    assert latency.sum == pytest.approx(total["sum_us"] / 1e6)
    (done,) = metrics["tui_loadtest_run_done"].gauge.data_points
    assert done.as_int == 1


@pytest.mark.parametrize("collector", ["refuses", "fails", "hangs"])
def test_a_collector_in_trouble_is_a_warning_and_costs_nothing(target, tmp_path, collector):
    server, url = target
    receiver = None
    if collector == "refuses":
        where = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    else:
        receiver = OtlpReceiver("error" if collector == "fails" else "hang")
        where = receiver.url
    out = tmp_path / "r.json"
    try:
        proc = cli("run", f"{url}/x", "--rate", "100", "-t", "3s", "--no-ui", "--otlp", where,
                   "--otlp-interval", "1s", "--out", str(out))  # fmt: skip
    finally:
        if receiver is not None:
            receiver.stop()
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "OTLP export to" in ln]
    assert warnings and warnings[0].startswith(f"tui-loadtest: warning: OTLP export to {where}")
    assert "the report keeps every figure" in warnings[0]
    assert "Traceback" not in proc.stderr
    assert "OTLP: the run's final figures did not reach" in proc.stderr
    report = json.loads(out.read_text())
    assert report["summary"]["requests"] == server.sent > 0
    timeline = [p["t"] for p in report["timeline"]]
    assert timeline == list(range(len(timeline))) and len(timeline) >= 2
    if receiver is not None:
        assert receiver.attempts >= 2  # it kept trying, every interval


def test_without_the_otel_extra_one_line_before_any_load(target):
    server, url = target
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if the extra were not installed\n"
        "from tui_loadtest.cli import main\n"
        f"sys.exit(main(['run', '{url}/x', '-t', '2s', '--no-ui', '--otlp',"
        " 'http://127.0.0.1:4318']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "tui-loadtest: error: --otlp needs the OpenTelemetry SDK and its OTLP exporter:"
        " pip install 'tui-loadtest[otel]'"
    ]
    assert server.received == 0
