"""CI gates: the scenario's ``[thresholds]`` and the regression check against a baseline.

Each gate ends as one line, ✓ or ✗ with what was measured, and every failure
is also named on its own line so a CI log shows why a build failed. A failed
gate makes the exit code 1, unless the run already ended with a code that
says more (2 usage, 3 unreachable, 130 interrupted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..compare import Comparison
from ..errors import (
    EXIT_GATE_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_WORKER_LOST,
)
from ..report.compare_format import describe, verdict_line
from ..report.formatting import threshold_measured
from ..scenario import Threshold
from ..stats.result import RunResult
from ..stats.thresholds import ThresholdResult, evaluate

PASS, FAIL = "✓", "✗"
_WINNING_CODES = (EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED, EXIT_WORKER_LOST)


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome: ``name`` says what was required, ``measured`` what was seen."""

    kind: str  # "threshold" or "regression"
    name: str
    passed: bool
    measured: str

    @property
    def line(self) -> str:
        return f"{PASS if self.passed else FAIL} {self.name}  ({self.measured})"

    @property
    def failure(self) -> str:
        """The one-line reason a build failed, for stderr."""
        what = "threshold failed" if self.kind == "threshold" else "regression"
        return f"{what}: {self.name} ({self.measured})"


def evaluate_thresholds(thresholds: Iterable[Threshold], result: RunResult) -> list[GateResult]:
    """Every threshold, passed or failed. One that cannot be measured fails: a gate
    that silently passes because an endpoint got no responses would hide the problem."""
    return [threshold_gate(t) for t in evaluate(thresholds, result)]


def threshold_gate(t: ThresholdResult) -> GateResult:
    return GateResult("threshold", t.label, t.passed, threshold_measured(t.metric, t.value))


def regression_gates(comparison: Comparison) -> list[GateResult]:
    """One failed gate per regressed row, or one passed gate saying there was none."""
    threshold = f"{comparison.threshold * 100:g}%"
    regressed = comparison.regressions
    if not regressed:
        seen = "improved" if comparison.improvements else "no significant change"
        if comparison.inconclusive and not comparison.improvements:
            seen = f"inconclusive: {len(comparison.inconclusive)} row(s) moved within the noise"
            if comparison.disturbed:  # moved as much as the generator's own delay
                seen = verdict_line(comparison)
        if comparison.differences:
            seen += "; the scenarios differ"
        return [
            GateResult(
                "regression",
                f"no regression against {comparison.baseline_name} beyond {threshold}",
                True,
                seen,
            )
        ]
    return [
        GateResult(
            "regression",
            f"{describe(r)} against {comparison.baseline_name}",
            False,
            f"beyond {threshold} and the runs' noise",
        )
        for r in regressed
    ]


def gate_lines(gates: Sequence[GateResult]) -> list[str]:
    """The block printed after the summary."""
    if not gates:
        return []
    passed = sum(g.passed for g in gates)
    return ["", f"Gates ({passed}/{len(gates)} passed)", "-" * 80, *(g.line for g in gates)]


def exit_code(code: int, gates: Sequence[GateResult]) -> int:
    """1 when a gate failed, unless ``code`` already says more (2, 3, 70 or 130 win)."""
    if code in _WINNING_CODES:
        return code
    if any(not g.passed for g in gates):
        return EXIT_GATE_FAILED
    return code if code else EXIT_OK
