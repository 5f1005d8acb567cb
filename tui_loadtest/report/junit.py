"""JUnit XML: the run's gates as test cases, for the test reports of GitLab, Jenkins and
GitHub Actions (which read no other common format).

Each threshold and each regression verdict is one ``<testcase>``; a failed one has a
``<failure>`` whose message carries the figures, so the CI page says why without
opening the log. Suites group the cases: the run itself, the checks on responses
(a hard check that failed at least once failed requests, and is a failed case; a
soft one only reports its rate), the thresholds, and the comparison with a baseline.
The layout follows the schema Jenkins publishes (``testsuites > testsuite >
testcase``, ``failure message type``), which GitLab and the GitHub reporters read too.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .compare_format import describe

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..stats.result import RunResult

CLASS_PREFIX = "tui-loadtest"


@dataclass(frozen=True)
class JUnitCase:
    """One check: ``suite`` groups it ("run", "thresholds", "regression")."""

    suite: str
    name: str
    passed: bool
    message: str  # one line with the figures: what was measured
    details: str = ""  # more lines for the failure's body
    kind: str = ""  # the failure's type attribute: "threshold", "regression", "run"


def junit_cases(
    result: RunResult,
    gates: Sequence[Any],
    comparison: Comparison | None = None,
    *,
    error_code: int | None = None,
) -> list[JUnitCase]:
    """The run, each threshold gate, and each judged row of the comparison, as cases.

    ``gates`` are :class:`tui_loadtest.pipeline.gates.GateResult`; a comparison's rows are
    used one by one (a regression fails its own case, with its figures), so the
    "regression" gate lines themselves are not repeated. ``error_code``
    (``--exit-code-on-error``) adds the case it decides: no request or iteration failed.
    """
    from ..compare import REGRESSED

    s = result.summary
    ran = not result.interrupted and not result.unreachable
    why = "interrupted" if result.interrupted else "unreachable" if result.unreachable else ""
    iterations = ""
    if result.flows:
        iterations = f", {result.failed_iterations:,} of {result.iterations:,} iterations failed"
    cases = [
        JUnitCase(
            "run",
            "the run completed",
            ran,
            f"{result.duration_s:.1f} s, {s.requests:,} requests, {s.failures:,} failed"
            + iterations
            + (f" ({why})" if why else ""),
            kind="run",
        )
    ]
    if error_code is not None:
        failed = bool(s.failures or result.failed_iterations)
        cases.append(
            JUnitCase(
                "run",
                f"no request or iteration failed (--exit-code-on-error {error_code})",
                not failed,
                f"{s.failures:,} of {s.requests:,} requests failed" + iterations,
                kind="run",
            )
        )
    for c in result.checks:  # a hard check that failed failed requests; a soft one, nothing
        label = f"{c.endpoint}: {c.name}" if c.endpoint else c.name
        cases.append(
            JUnitCase(
                "checks",
                label + (" (soft)" if c.soft else ""),
                c.soft or not c.failed,
                f"{c.passed:,} passed, {c.failed:,} failed ({c.pass_rate:.2%})",
                kind="check",
            )
        )
    for gate in gates:
        if gate.kind == "threshold":
            cases.append(JUnitCase("thresholds", gate.name, gate.passed, gate.measured,
                                   kind="threshold"))  # fmt: skip
    if comparison is not None:
        suite = f"regression vs {comparison.baseline_name}"
        for row in comparison.rows:
            if not row.judged:
                continue
            where = row.scope  # "overall", or the endpoint's name ("GET /api/health")
            cases.append(
                JUnitCase(
                    suite,
                    f"{where} {row.label}",
                    row.verdict != REGRESSED,
                    f"{row.verdict}: {describe(row)}",
                    details=f"threshold {comparison.threshold * 100:g}% and the runs' noise",
                    kind="regression",
                )
            )
    return cases


def junit_xml(
    cases: Sequence[JUnitCase],
    *,
    title: str,
    started_at: str | None = None,
    duration_s: float = 0.0,
) -> str:
    """The XML document for ``cases``, in the order given, grouped by suite.

    ``started_at`` is the run's ISO start time; JUnit wants it without a zone, in UTC.
    """
    stamp = _timestamp(started_at)
    root = ET.Element(
        "testsuites",
        name=title,
        tests=str(len(cases)),
        failures=str(sum(not c.passed for c in cases)),
        errors="0",
        time=_seconds(duration_s),
    )
    suites: dict[str, list[JUnitCase]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    for i, (suite, members) in enumerate(suites.items()):
        element = ET.SubElement(
            root,
            "testsuite",
            id=str(i),
            name=f"{title} · {suite}",
            package=CLASS_PREFIX,
            tests=str(len(members)),
            failures=str(sum(not c.passed for c in members)),
            errors="0",
            skipped="0",
            time=_seconds(duration_s),
            timestamp=stamp,
            hostname="localhost",
        )
        for case in members:
            test = ET.SubElement(
                element,
                "testcase",
                classname=f"{CLASS_PREFIX}.{suite}",
                name=case.name,
                time="0",
            )
            if case.passed:
                out = ET.SubElement(test, "system-out")
                out.text = case.message
            else:
                failure = ET.SubElement(
                    test, "failure", message=case.message, type=case.kind or suite
                )
                failure.text = "\n".join(filter(None, (f"{case.name}: {case.message}",
                                                       case.details)))  # fmt: skip
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _seconds(s: float) -> str:
    return f"{max(0.0, s):.3f}"


def _timestamp(started_at: str | None) -> str:
    when = datetime.now(UTC)
    if started_at:
        with contextlib.suppress(ValueError):  # not ISO: the time of writing
            when = datetime.fromisoformat(started_at)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.replace(tzinfo=None, microsecond=0).isoformat()
