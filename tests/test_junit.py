"""JUnit XML: parsed back by junitparser, as GitLab, Jenkins and GitHub reporters read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from junitparser import Failure, JUnitXml

from tui_loadtest.report.junit import JUnitCase, junit_xml

CASES = [
    JUnitCase("run", "the run completed", True, "60.0 s, 12,000 requests", kind="run"),
    JUnitCase("thresholds", "p95_ms <= 500", True, "measured 212 ms", kind="threshold"),
    JUnitCase(
        "thresholds",
        "endpoints.POST /q.p99_ms <= 800",
        False,
        "measured 912 ms",
        kind="threshold",
    ),
    JUnitCase(
        "regression",
        'GET /api/health p95 <vs> "base" & more',
        False,
        "+31.0% (212 ms → 278 ms), beyond 10% and the noise",
        details="baseline: base (2024-01-01)",
        kind="regression",
    ),
]


def parse(text: str, tmp_path) -> JUnitXml:
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def test_every_case_is_read_back_with_its_verdict_and_figures(tmp_path):
    text = junit_xml(CASES, title="Mixed", started_at="2024-01-01T12:00:00+00:00", duration_s=60)
    xml = parse(text, tmp_path)
    assert xml.tests == 4 and xml.failures == 2 and xml.errors == 0
    suites = {s.name: s for s in xml}
    assert set(suites) == {"Mixed · run", "Mixed · thresholds", "Mixed · regression"}
    read = {(case.classname, case.name): case for suite in suites.values() for case in suite}
    assert len(read) == 4
    ok = read[("tui-loadtest.thresholds", "p95_ms <= 500")]
    assert ok.is_passed and ok.system_out == "measured 212 ms"
    bad = read[("tui-loadtest.thresholds", "endpoints.POST /q.p99_ms <= 800")]
    (failure,) = bad.result
    assert isinstance(failure, Failure)
    assert failure.message == "measured 912 ms" and failure.type == "threshold"
    reg = read[("tui-loadtest.regression", 'GET /api/health p95 <vs> "base" & more')]
    assert "+31.0% (212 ms → 278 ms)" in reg.result[0].message  # escaped and back intact
    assert "baseline: base (2024-01-01)" in reg.result[0].text
    assert suites["Mixed · thresholds"].failures == 1
    assert suites["Mixed · thresholds"].timestamp == "2024-01-01T12:00:00"


def test_the_document_is_well_formed_utf8_with_the_jenkins_layout():
    text = junit_xml(CASES, title="Mixed", started_at="2024-01-01T13:00:00+01:00")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    for suite in root:
        assert suite.tag == "testsuite"
        assert {"name", "tests", "failures", "errors", "time", "timestamp"} <= set(suite.attrib)
        assert suite.get("timestamp") == "2024-01-01T12:00:00"  # UTC, no zone
        assert all(case.tag == "testcase" for case in suite)


def test_no_cases_is_an_empty_but_valid_report(tmp_path):
    xml = parse(junit_xml([], title="Mixed"), tmp_path)
    assert xml.tests == 0 and xml.failures == 0


def test_a_run_writes_its_gates_and_verdicts_as_junit(tmp_path, demo_url):
    """End to end: thresholds (one fails on purpose) and a comparison with a baseline."""
    import subprocess
    import sys

    scenario = tmp_path / "s.toml"
    scenario.write_text(
        f'name = "J"\nhost = "{demo_url}"\n[load]\nusers = 2\nrequests = 60\n'
        '[[requests]]\npath = "/api/health"\n'
        "[thresholds]\np95_ms = 5000\nrps_min = 1000000\n"
    )
    store = str(tmp_path / "store.sqlite3")
    base = [sys.executable, "-m", "tui_loadtest", "run", str(scenario), "--headless",
            "--store", store]  # fmt: skip
    first = subprocess.run([*base, "--save-baseline", "b1"], capture_output=True, text=True,
                           timeout=120)  # fmt: skip
    assert first.returncode == 1, first.stderr  # rps_min fails
    junit = tmp_path / "junit.xml"
    second = subprocess.run([*base, "--compare-to", "b1", "--junit", str(junit)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert second.returncode == 1, second.stderr
    assert f"JUnit XML written to {junit}" in second.stderr
    xml = parse(junit.read_text(), tmp_path)
    cases = {(c.classname, c.name): c for suite in xml for c in suite}
    assert cases[("tui-loadtest.run", "the run completed")].is_passed
    assert cases[("tui-loadtest.thresholds", "p95_ms <= 5000")].is_passed
    rps = cases[("tui-loadtest.thresholds", "rps_min >= 1000000")]
    assert not rps.is_passed and "measured" in rps.result[0].message
    regression = [c for (cls, _), c in cases.items() if cls == "tui-loadtest.regression vs b1"]
    assert len(regression) >= 3  # every judged row of the comparison is a case
    assert any(name.startswith("overall ") for (_, name) in cases)
    assert xml.failures == sum(not c.is_passed for c in cases.values())
