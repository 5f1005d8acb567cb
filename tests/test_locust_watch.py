"""``tui-loadtest locust watch``: a real Locust web UI, swarmed through its ``/swarm``
endpoint against the demo API, shown on the dashboard (Pilot); its figures are checked
against Locust's own ``/stats/requests`` and against what the demo server answered."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.helpers import text_of, wait_for
from tui_loadtest.cli import main
from tui_loadtest.demo import DemoServer
from tui_loadtest.locust.watch import LocustWatch, stats_url
from tui_loadtest.report.formatting import fmt_int, fmt_ms
from tui_loadtest.store import BaselineStore
from tui_loadtest.ui import RunSource, create_app
from tui_loadtest.ui.baseline_hooks import BaselineContext
from tui_loadtest.ui.screens.baseline_dialogs import NamePrompt
from tui_loadtest.ui.screens.dashboard import DashboardScreen
from tui_loadtest.ui.widgets.endpoints import EndpointTable
from tui_loadtest.ui.widgets.errors import ErrorTable
from tui_loadtest.ui.widgets.percentiles import PercentilePanel

from .locust_support import free_port, locust_web

SETTLE_TIMEOUT_S = 60.0


def _locust(url: str) -> dict[str, Any]:
    return httpx.get(stats_url(url), timeout=10, trust_env=False).json()


def _total(data: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in data["stats"] if e["name"] == "Aggregated")


@pytest.fixture(scope="module")
def swarmed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict, dict]]:
    """A Locust web UI whose swarm has finished (each user stops after its tasks):
    (its URL, its final /stats/requests, what the demo server counted)."""
    folder = tmp_path_factory.mktemp("locust-web")
    with DemoServer(error_rate=0.0, seed=7) as demo, locust_web(folder, demo.url) as url:
        form = {"user_count": 4, "spawn_rate": 4, "host": demo.url}
        r = httpx.post(f"{url}/swarm", data=form, trust_env=False, timeout=10)
        assert r.status_code == 200 and r.json().get("success"), r.text
        # Settled: every user has stopped and two reads past Locust's 2 s cache agree.
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        before: dict[str, Any] | None = None
        while True:
            data = _locust(url)
            total = _total(data)
            settled = total["num_requests"] > 0 and data["user_count"] == 0
            if settled and before is not None and _total(before) == total:
                break
            before = data if settled else None
            assert time.monotonic() < deadline, "the Locust swarm did not finish"
            time.sleep(2.1)  # Locust caches /stats/requests for 2 s: nothing new sooner
        yield url, data, demo.stats()


def test_unreachable_or_not_locust_is_one_line_and_exit_3(
    demo_url: str, capsys: pytest.CaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    assert main(["locust", "watch", closed]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unreachable" in err[0]
    assert main(["locust", "watch", demo_url]) == 3  # a web server, but not Locust
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a Locust web UI" in err[0]
    assert main(["locust", "watch", "ftp://x"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_source_figures_are_locusts(swarmed: tuple[str, dict, dict]) -> None:
    url, data, server = swarmed
    source = LocustWatch(url)
    assert isinstance(source, RunSource) and source.observe_only  # no run controls shown
    try:
        snap = source.poll_once()
    finally:
        source.close()
    total = _total(data)
    # Locust's count is what the demo server answered (users finished every request).
    assert snap.total.requests == total["num_requests"] == server["requests"]
    assert snap.total.failures == total["num_failures"] > 0
    assert snap.total.latency.p95 == total["response_time_percentile_0.95"]
    assert snap.total.latency.p99 == total["response_time_percentile_0.99"]
    assert snap.total.latency.p50 == total["median_response_time"]
    assert snap.total.latency.max == total["max_response_time"]
    # What Locust does not report is NaN (n/a on screen), never a number.
    assert math.isnan(snap.total.latency.p90) and math.isnan(snap.total.latency.p999)
    by_key = {(e.method, e.name): e for e in snap.endpoints}
    for entry in data["stats"][:-1]:
        ep = by_key[(entry["method"], f"{entry['method']} {entry['name']}")]
        assert ep.total.requests == entry["num_requests"]
        assert ep.total.latency.p95 == entry["response_time_percentile_0.95"]
        # Recent percentiles per endpoint: none from Locust (n/a), or no recent requests.
        recent = (ep.window.latency.p50, ep.window.latency.p99)
        assert all(math.isnan(v) for v in recent) if ep.window.requests else recent == (0, 0)
    assert (
        by_key[("GET", "GET /api/health")].total.requests == server["by_route"]["GET /api/health"]
    )
    assert sum(e.count for e in snap.errors) == sum(e["occurrences"] for e in data["errors"])
    assert {(e.kind, e.status) for e in snap.errors} == {("http", 404)}
    assert snap.users_active == data["user_count"]


@pytest.mark.anyio
async def test_dashboard_shows_locust_and_b_saves_what_was_seen(
    swarmed: tuple[str, dict, dict], tmp_path: Path
) -> None:
    url, data, server = swarmed
    total = _total(data)
    store = BaselineStore(tmp_path / "s.sqlite3")
    source = LocustWatch(url, interval_s=0.2)
    source.start()
    app = create_app(source, baselines=BaselineContext(store))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            await wait_for(pilot, lambda: source.polls > 0, timeout=20)
            screen = app.screen
            await wait_for(pilot, lambda: screen._snap is source.snapshot and source.polls > 0)
            await pilot.pause()
            assert fmt_int(total["num_requests"]) in text_of(screen.query_one("#kpi-requests"))
            table = screen.query_one(EndpointTable)
            for entry in data["stats"][:-1]:
                key = f"{entry['method']} {entry['method']} {entry['name']}"
                assert table.get_cell(key, "requests").plain == fmt_int(entry["num_requests"])
                p95 = entry["response_time_percentile_0.95"]
                assert table.get_cell(key, "p95").plain == fmt_ms(p95)
            panel = text_of(screen.query_one(PercentilePanel))
            assert (
                "n/a" in panel and f"{fmt_ms(total['response_time_percentile_0.99'])} ms" in panel
            )
            assert "404" in text_of(screen.query_one(ErrorTable))

            await pilot.press("b")
            await wait_for(pilot, lambda: isinstance(app.screen, NamePrompt))
            await pilot.press("ctrl+a", "ctrl+k", *"from-locust", "enter")
            await wait_for(pilot, lambda: store.exists("from-locust"))
    finally:
        source.close()
    saved = store.load("from-locust").result
    assert saved.summary.requests == total["num_requests"] == server["requests"]
    assert saved.summary.latency.p95 == round(total["response_time_percentile_0.95"], 3)
    assert saved.histogram.total == 0 and "histograms" in saved.missing
