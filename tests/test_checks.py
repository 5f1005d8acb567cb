"""Checks on responses: every source and operator against a real loopback server that
counts what it answered, soft checks, a failed check failing its request, compressed
and chunked bodies, the open model, scripts' ``user.check``, load errors, thresholds
on pass rates and the artefacts that carry the counts."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.compare import compare
from tui_loadtest.errors import ScenarioError
from tui_loadtest.report.csv_export import csv_files
from tui_loadtest.report.html import html_report
from tui_loadtest.report.junit import junit_cases
from tui_loadtest.report.text import run_summary
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.stats.aggregate import RunAggregate
from tui_loadtest.stats.result import RunResult

from .engine_harness import run_engine, totals
from .servers import RoutesServer, response

DOC = {"status": "ok", "n": 3, "price": 2.5, "tags": ["a", "b"], "ok": True, "id": "x-17"}
BODY = json.dumps(DOC).encode()
JSON = {"Content-Type": "application/json", "ETag": '"v1"'}


@pytest.fixture
def server():
    """/a: a JSON body; /z: the same, gzip; /big: a JSON body of ~200 KB (many chunks);
    /fail: a 500 with the same body."""
    big = json.dumps({"pad": "x" * 200_000, "status": "ok"}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    srv = RoutesServer(
        {
            "/a": response(200, BODY, JSON),
            "/z": response(200, gzip.compress(BODY), {**JSON, "Content-Encoding": "gzip"}),
            "/big": response(200, big, JSON),
            "/fail": response(500, BODY, JSON),
            "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
        }
    )
    srv.start()
    yield srv
    srv.stop()


def url(srv: RoutesServer) -> str:
    return f"http://127.0.0.1:{srv.port}"


# (check, passes on /a?): every source, every operator, both outcomes.
CASES = [
    ("status == 200", True),
    ("status != 200", False),
    ("status in [200, 201]", True),
    ("status in [301, 302]", False),
    ("status < 300", True),
    ("status >= 400", False),
    ("json:$.status == 'ok'", True),
    ('json:$.status == "fail"', False),
    ("json:$.status != 'fail'", True),
    ("json:$.n == 3", True),
    ("json:$.n == '3'", False),  # a JSON number is not a text
    ("json:$.ok == true", True),
    ("json:$.ok == 1", False),  # true is not 1
    ("json:$.n in [1, 2, 3]", True),
    ("json:$.status in ['ok']", True),  # a list of one: compared, not looked up
    ("json:$.n in [4]", False),
    ("status in [200]", True),
    ("json:$.n > 2", True),
    ("json:$.price <= 2", False),
    ("json:$.status > 2", False),  # a text is not a number
    ("json:$.tags contains 'b'", True),
    ("json:$.tags contains 'c'", False),
    ("json:$.id contains '-1'", True),
    ("json:$.id matches '^x-[0-9]+$'", True),
    ("json:$.id matches '^y'", False),
    ("json:$.tags[1] exists", True),
    ("json:$.missing exists", False),
    ("header:Content-Type == 'application/json'", True),
    ("header:content-type contains 'json'", True),
    ("header:ETag matches 'v[0-9]'", True),
    ("header:X-Nope exists", False),
    ("header:Content-Type != 'text/html'", True),
    ("header:X-Nope != 'a'", False),  # nothing to compare: fails, as every operator but exists
    ("header:X-Nope contains 'a'", False),
    ("header:Content-Length < 1000", True),
    ("header:Content-Length > 1000", False),
    ("header:Content-Length == 81", len(BODY) == 81),
    ("body contains '\"ok\"'", True),
    ("body contains 'nowhere'", False),
    ("body matches '\"n\": *3'", True),
    ("body exists", True),
    ("duration < 10s", True),
    ("duration > 10s", False),
]


def soft(check: str) -> dict[str, Any]:
    return {"check": check, "soft": True}


def counts(agg: RunAggregate) -> dict[tuple[str, str], tuple[int, int]]:
    return {(c.endpoint, c.name): (c.passed, c.failed) for c in agg.check_stats()}


def test_every_source_and_operator_counts_each_response(server: RoutesServer) -> None:
    """Soft checks: each one counted on every response the server sent, passed or failed
    as its operator says, and no request failed by them."""
    sc = parse_scenario(
        {
            "host": url(server),
            "load": {"users": 2, "requests": 30},
            "requests": [{"name": "a", "path": "/a", "checks": [soft(c) for c, _ in CASES]}],
        },
        "t.toml",
    )
    agg = asyncio.run(run_engine(sc, url(server)))
    served = server.hits("/a")
    assert served > 0
    found = counts(agg)
    for check, passes in CASES:
        assert found[("a", check)] == ((served, 0) if passes else (0, served)), check
    requests, failures, kinds = totals(agg)
    assert (requests, failures, kinds) == (served, 0, {})


def test_compressed_and_chunked_bodies_are_read_as_sent(server: RoutesServer) -> None:
    """A gzip body is decoded for a body or JSON check; a chunked one de-chunked; a body
    of ~200 KB (many chunks) is kept whole for its check."""
    checks = ["json:$.status == 'ok'", "body contains 'ok'"]
    sc = parse_scenario(
        {
            "host": url(server),
            "load": {"users": 2, "requests": 24},
            "requests": [
                {"name": "z", "path": "/z", "checks": checks},
                {"name": "chunked", "path": "/chunked", "checks": checks},
                {"name": "big", "path": "/big", "checks": checks},
            ],
        },
        "t.toml",
    )
    agg = asyncio.run(run_engine(sc, url(server)))
    found = counts(agg)
    for name, path in (("z", "/z"), ("chunked", "/chunked"), ("big", "/big")):
        served = server.hits(path)
        assert served > 0
        for check in checks:
            assert found[(name, check)] == (served, 0), (name, check)
    assert totals(agg)[1] == 0


def test_a_failed_check_fails_its_request_once(server: RoutesServer) -> None:
    """A hard check that fails: the request fails with kind check and the check's text;
    a response its status failed already is not failed twice, but its checks count."""
    sc = parse_scenario(
        {
            "host": url(server),
            "load": {"users": 1, "requests": 20},
            "requests": [
                {"name": "a", "path": "/a", "checks": ["json:$.status == 'fail'", "status == 200"]},
                {"name": "fail", "path": "/fail", "checks": ["status == 200"]},
            ],
        },
        "t.toml",
    )
    agg = asyncio.run(run_engine(sc, url(server)))
    a, fail = server.hits("/a"), server.hits("/fail")
    assert a and fail
    assert counts(agg) == {
        ("a", "json:$.status == 'fail'"): (0, a),
        ("a", "status == 200"): (a, 0),
        ("fail", "status == 200"): (0, fail),
    }
    requests, failures, kinds = totals(agg)
    assert (requests, failures) == (a + fail, a + fail)
    assert kinds == {"check": a, "HTTP 500": fail}
    [row] = [r for r in agg.error_rows() if r.kind == "check"]
    assert (row.endpoint, row.message) == ("a", "json:$.status == 'fail'")


def test_flow_steps_check_in_both_models(server: RoutesServer) -> None:
    """Checks on flow steps, a capturing one and one that keeps its response only for
    its check, in the closed model and the open one (their responses complete apart)."""
    flow = {
        "name": "f",
        "steps": [
            {"name": "first", "path": "/a", "capture": {"id": "json:$.id"},
             "checks": ["json:$.n == 3"]},
            {"name": "second", "path": "/big?id={id}",
             "checks": ["json:$.status == 'ok'", "duration < 10s"]},
        ],
    }  # fmt: skip
    for load in ({"users": 2, "requests": 20}, {"mode": "arrival-rate", "rate": 200,
                                                 "requests": 20}):  # fmt: skip
        server.log.clear()
        sc = parse_scenario({"host": url(server), "load": load, "flows": [flow]}, "t.toml")
        agg = asyncio.run(run_engine(sc, url(server)))
        first, second = server.hits("/a"), server.hits("/big")
        assert first and second
        assert counts(agg) == {
            ("first", "json:$.n == 3"): (first, 0),
            ("second", "json:$.status == 'ok'"): (second, 0),
            ("second", "duration < 10s"): (second, 0),
        }, load
        assert all(t.split("id=")[1] == "x-17" for _, t, _, _ in server.log if "id=" in t)
        assert totals(agg)[1] == 0


def test_a_failed_check_ends_a_strict_capturing_step_as_a_failed_status_does(
    server: RoutesServer,
) -> None:
    flow = {
        "name": "f",
        "steps": [
            {"name": "first", "path": "/a", "capture": {"id": "json:$.id"},
             "checks": ["json:$.n == 4"]},
            {"name": "second", "path": "/big?id={id}"},
        ],
    }  # fmt: skip
    sc = parse_scenario(
        {"host": url(server), "load": {"users": 1, "requests": 10}, "flows": [flow]}, "t.toml"
    )
    agg = asyncio.run(run_engine(sc, url(server)))
    assert server.hits("/a") == 10 and server.hits("/big") == 0
    assert counts(agg) == {("first", "json:$.n == 4"): (0, 10)}
    [f] = agg.flow_stats()
    assert (f.iterations, f.failed) == (10, 10)


SCRIPT = """
from tui_loadtest.script import task

@task
async def browse(user):
    r = await user.get("/a")
    user.check("answered ok", r.json()["status"] == "ok")
    user.check("n is 4", r.json()["n"] == 4, soft=True)
    if not user.check("a 201", r.status_code == 201):
        return
    await user.get("/nowhere")
"""


def test_scripts_count_user_check(server: RoutesServer, tmp_path: Path) -> None:
    (tmp_path / "users.py").write_text(SCRIPT)
    sc = parse_scenario(
        {"host": url(server), "load": {"users": 2, "requests": 20}, "script": "users.py"},
        str(tmp_path / "s.toml"),
    )
    agg = asyncio.run(run_engine(sc, url(server)))
    served = server.hits("/a")
    assert served and server.hits("/nowhere") == 0  # check() returned False: the task ended
    assert counts(agg) == {
        ("GET /a", "answered ok"): (served, 0),
        ("GET /a", "n is 4"): (0, served),
        ("GET /a", "a 201"): (0, served),
    }
    assert [c.soft for c in agg.check_stats()] == [False, True, False]
    requests, failures, kinds = totals(agg)
    assert (requests, failures, kinds) == (served, served, {"check": served})


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        (["status contains 2"], "check \"status contains 2\" of step \"get\": status cannot be"
         " compared with 'contains' (it takes ==, !=, <, <=, >, >=, in)"),
        (["json:$..id exists"], "check \"json:$..id exists\" of step \"get\": JSONPath '$..id':"),
        (["duration < 300"], "expected a duration like 300ms or 1.5s, got '300'"),
        (["body matches '(('"], "regex '((': missing ), unterminated subpattern"),
        (["stat == 200"], 'expected a source first: status, json:$.path, header:NAME'),
        (["status == 200", "status == 200"], 'is there twice (give one a name =)'),
        ([{"name": "x"}], 'missing key "check"'),
        ([{"check": "status == 200", "soft": "yes"}], 'expected true or false, got "yes"'),
    ],
)  # fmt: skip
def test_a_bad_check_is_one_line_naming_the_file_the_step_and_the_mistake(
    checks: list[Any], message: str
) -> None:
    data = {"flows": [{"name": "f", "steps": [{"name": "get", "path": "/", "checks": checks}]}]}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "shop.toml")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("shop.toml: flows[1].steps[1].checks[")
    assert message in text


def test_check_thresholds_are_parsed_and_checked() -> None:
    base = {"requests": [{"path": "/", "checks": ["status == 200"]}]}
    sc = parse_scenario(
        {**base, "thresholds": {"checks": "rate > 0.99", "checks.status == 200": "rate >= 0.5"}},
        "t.toml",
    )
    assert [t.label for t in sc.thresholds] == [
        "checks rate > 0.99",
        "checks.status == 200 rate >= 0.5",
    ]
    for bad, message in (
        ({"checks": "rate > 2"}, "a fraction between 0 and 1"),
        ({"checks": 0.99}, 'expected a pass rate like "rate > 0.99"'),
        ({"checks": {"status == 20": "rate > 0.9"}}, 'did you mean "status == 200"?'),
    ):
        with pytest.raises(ScenarioError, match="t.toml: thresholds.checks") as info:
            parse_scenario({**base, "thresholds": bad}, "t.toml")
        assert message in str(info.value)
    with pytest.raises(ScenarioError, match="the scenario has no checks"):
        parse_scenario({"requests": [{"path": "/"}], "thresholds": {"checks": "rate > 0.5"}}, "x")


def run_cli(tmp_path: Path, scenario: str, *flags: str) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "s.toml"
    path.write_text(scenario)
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", str(path), "--no-ui", "--out", str(out),
         *flags],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    return proc.returncode, json.loads(out.read_text()), proc.stdout + proc.stderr


def test_a_threshold_on_a_check_rate_sets_the_exit_code(
    server: RoutesServer, tmp_path: Path
) -> None:
    """A hard check failing on 1 request in 2 (half the mix): ``checks = "rate > 0.9"``
    fails the run with exit 1; ``rate >= 0.5`` on the named check that always passes and
    a soft check keep 0. Every artefact holds the counts the server's log gives."""
    scenario = f"""
host = "{url(server)}"
[load]
users = 2
requests = 40
[[requests]]
name = "a"
path = "/a"
checks = ["json:$.status == 'ok'", {{ check = "json:$.n == 4", soft = true, name = "n four" }}]
[[requests]]
name = "fail"
path = "/fail"
checks = ["status == 200"]
[thresholds]
checks = "rate > 0.9"
"""
    code, report, output = run_cli(tmp_path, scenario)
    a, fail = server.hits("/a"), server.hits("/fail")
    assert a + fail == 40
    assert code == 1, output
    assert "threshold failed: checks rate > 0.9" in output
    assert report["checks"] == [
        {"endpoint": "a", "name": "json:$.status == 'ok'", "passed": a, "failed": 0,
         "pass_rate": 1.0, "soft": False},
        {"endpoint": "a", "name": "n four", "passed": 0, "failed": a, "pass_rate": 0.0,
         "soft": True},
        {"endpoint": "fail", "name": "status == 200", "passed": 0, "failed": fail,
         "pass_rate": 0.0, "soft": False},
    ]  # fmt: skip
    [t] = report["thresholds"]
    assert (t["passed"], t["value"]) == (False, round(a / (a + a + fail), 6))
    server.log.clear()
    named = '"checks.json:$.status == \'ok\'" = "rate >= 0.5"'
    passing = scenario.replace('checks = "rate > 0.9"', named)
    code, report, output = run_cli(tmp_path, passing)
    assert code == 0, output
    assert report["thresholds"][0]["passed"] is True

    result = RunResult.from_report(report)
    assert [(c.name, c.passed) for c in result.checks] == [
        (c["name"], c["passed"]) for c in report["checks"]
    ]
    summary = run_summary(result, 100)
    assert "Checks" in summary and "✗ fail: status == 200" in summary
    assert "n four (soft)" in summary
    html = html_report(result)
    assert "<h2>Checks" in html and "n four" in html
    files = dict(csv_files(result, "p"))
    assert files["p_checks.csv"].splitlines()[0] == "Name,Check,Passed,Failed,Pass Rate,Soft"
    assert len(files["p_checks.csv"].splitlines()) == 4
    cases = [c for c in junit_cases(result, []) if c.suite == "checks"]
    assert [(c.name, c.passed) for c in cases] == [
        ("a: json:$.status == 'ok'", True),
        ("a: n four (soft)", True),
        ("fail: status == 200", False),
    ]


def test_compare_judges_each_checks_failure_rate() -> None:
    from tui_loadtest.stats.model import CheckStats
    from tui_loadtest.stats.result import RunResult as R

    def result(failed: int) -> R:
        report = {
            "tool": "tui-loadtest", "version": "x", "started_at": "", "duration_s": 10.0,
            "host": "h", "scenario_name": "s",
            "load": {"model": "closed", "mode": "users", "users": 1},
            "environment": {}, "outcome": {"reason": None, "interrupted": False,
                                           "connections": 1},
            "scenario": {},
            "summary": {"requests": 10_000, "failures": 0, "error_rate": 0, "rps": 1000,
                        "bytes_received": 0, "latency_ms": dict.fromkeys(
                            ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max"), 1.0)},
            "endpoints": [], "errors": [], "timeline": [],
        }  # fmt: skip
        r = R.from_report(report)
        r.checks = [CheckStats("GET /", "ok", 10_000 - failed, failed)]
        return r

    c = compare(result(10), result(2_000))
    [row] = [r for r in c.rows if r.method == "CHECK"]
    assert (row.scope, row.metric, row.verdict) == ("check: GET /: ok", "error_rate", "regressed")
    assert row.label == "Fail rate"
    from tui_loadtest.report.compare_text import comparison_text

    assert "Fail rate           0.10%       20.00%" in comparison_text(c)
