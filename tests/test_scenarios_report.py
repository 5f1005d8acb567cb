"""Results of a run with ``[[scenarios]]``: the same request in two scenarios is two
rows, grouped, compared and gated each on its own (and together by name)."""

from __future__ import annotations

from tui_loadtest.compare import compare
from tui_loadtest.report.text import run_summary
from tui_loadtest.scenario import Threshold
from tui_loadtest.stats.result import RunResult
from tui_loadtest.stats.thresholds import evaluate

from .synthetic import Ep, make_result


def two_scenarios(slow_b: float = 1.0, seed: int = 1) -> RunResult:
    """``GET /x`` in scenario a and in scenario b (``slow_b`` times slower), and one
    request of b's own."""
    result = make_result(
        [Ep("GET /x", rps=80), Ep("GET /x", median_ms=20 * slow_b, rps=40), Ep("POST /pay")],
        seed=seed,
    )
    for e, part in zip(result.endpoints, ("a", "b", "b"), strict=True):
        e.scenario = part
    result.scenario["scenarios"] = [
        {"name": "a", "load": {"mode": "users"}},
        {"name": "b", "load": {"mode": "arrival-rate"}},
    ]
    return result


def test_each_scenario_is_its_rows_together() -> None:
    result = two_scenarios()
    a, b = result.scenario_groups()
    x_a, x_b, pay = result.endpoints
    assert (a.name, a.mode, a.endpoints) == ("a", "users", ("GET /x",))
    assert (b.name, b.mode, b.endpoints) == ("b", "arrival-rate", ("GET /x", "POST /pay"))
    assert a.stats.requests == x_a.stats.requests
    assert b.stats.requests == x_b.stats.requests + pay.stats.requests
    assert b.histogram.total == x_b.histogram.total + pay.histogram.total
    # a threshold on a name both scenarios use reads both rows together
    both = result.endpoint("GET /x")
    assert both is not None and both.stats.requests == x_a.stats.requests + x_b.stats.requests
    measured = evaluate([Threshold("rps_min", 1.0, scenario="b")], result)[0]
    assert measured.scope == "scenario b" and measured.value == b.stats.rps


def test_a_comparison_judges_the_same_request_in_each_scenario_apart() -> None:
    """Only b's GET /x got slower: its row regresses, a's does not."""
    baseline, current = two_scenarios(seed=1), two_scenarios(slow_b=3.0, seed=2)
    comparison = compare(baseline, current)
    regressed = {r.scope for r in comparison.regressions}
    assert "b · GET /x" in regressed
    assert not any(scope.startswith("a · ") for scope in regressed)
    assert {r.scope for r in comparison.rows} >= {"a · GET /x", "b · GET /x", "b · POST /pay"}


def test_the_summary_puts_each_scenarios_rows_under_its_name() -> None:
    text = run_summary(two_scenarios(), 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    table = lines[lines.index("Scenarios") + 2 :]
    assert table[0].startswith("Scenario ") and [table[2].split()[0], table[3].split()[0]] == [
        "a",
        "b",
    ]
    rows = lines[lines.index("Endpoint Performance") :]
    assert rows.index("[a]") < rows.index("[b]")
    between = rows[rows.index("[a]") + 1 : rows.index("[b]")]
    assert len(between) == 1 and "/x" in between[0]


def test_the_html_report_has_each_scenario_and_whose_row_each_is() -> None:
    from tui_loadtest.report.html import html_report

    page = html_report(two_scenarios())
    assert "<h2>Scenarios</h2>" in page and "arrival rate" in page
    endpoints = page[page.index("<h2>Endpoints</h2>") :]
    assert '<th class="l">Scenario</th>' in endpoints.split("</table>")[0]
