"""docs/grafana/tui-loadtest-dashboard.json reads what the /metrics endpoint serves: every
metric and label its queries name exists, and it filters by the run-id variable."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tui_loadtest.export.prometheus import families
from tui_loadtest.export.totals import EndpointTotals, View

DASHBOARD = (
    Path(__file__).resolve().parent.parent / "docs" / "grafana" / "tui-loadtest-dashboard.json"
)


def served() -> tuple[set[str], set[str]]:
    """The sample names and label names of one scrape (a view with a bit of everything)."""
    ep = EndpointTotals("GET", "GET /x", requests={"2xx": 3}, failures=1, errors={"http": 1})
    view = View(run_id="r", scenario="s", mode="users", started_unix=0.0, endpoints=[ep],
                flows=[("f", 2, 0)], dropped=0, bytes_received=1, bytes_sent=1,
                loop_slots=[0] * len(ep.slots), loop_sum_us=0, cpu={0: 5.0}, users=1,
                users_planned=1, rate_target=None, seconds=1, done=False)  # fmt: skip
    names, labels = set(), set()
    for family in families(view):
        for sample in family.samples:
            names.add(sample.name)
            labels |= set(sample.labels)
    return names, labels


def test_every_query_reads_what_the_endpoint_serves():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 8
    names, labels = served()
    for expr in exprs:
        assert 'run_id=~"$run_id"' in expr, expr
        for metric in re.findall(r"tui_loadtest_\w+", expr):
            assert metric in names, metric
        for group in re.findall(r"by \(([^)]*)\)", expr):
            for label in (g.strip() for g in group.split(",")):
                assert label == "le" or label in labels, (label, expr)
    (run_id,) = [v for v in dashboard["templating"]["list"] if v["name"] == "run_id"]
    assert "label_values(tui_loadtest_run_info, run_id)" in run_id["definition"]
    assert "tui_loadtest_run_info" in names
