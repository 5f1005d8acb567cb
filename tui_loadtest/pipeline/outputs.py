"""After the run: comparison with a baseline, gates, HTML/CSV reports, saving a baseline.

The CLI turns its flags into an :class:`OutputOptions` and calls
:func:`prepare_outputs` before the run starts (so that a typo in a baseline
name costs one line, not a whole run); once the result exists,
:meth:`RunOutputs.finish` does what was asked and returns the exit code.
Nothing here knows about argparse: lines for stdout go to ``emit``, notes
for stderr to ``note``, so another front end (an API server, a test) can
collect them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_GATE_FAILED, EXIT_OK, EXIT_USAGE, UserError

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..scenario import Threshold
    from ..stats.result import RunResult
    from ..store import Baseline, BaselineStore
    from .gates import GateResult


def print_line(text: str) -> None:
    print(text, flush=True)


def print_note(text: str) -> None:
    print(f"tui-loadtest: {text}", file=sys.stderr, flush=True)


@dataclass
class BaselineContext:
    """The store a dashboard saves to and browses, and the baseline it compares with."""

    store: BaselineStore
    compare_to: Baseline | None = None
    threshold: float = 0.10  # --fail-on-regression, as a fraction: colours the live deltas


@dataclass(frozen=True)
class OutputOptions:
    """What to do once a run's result exists (the CLI fills it from its flags)."""

    store: str | None = None  # store file or folder; None: $TUI_LOADTEST_STORE or per user
    save_baseline: str | None = None
    overwrite_baseline: bool = False
    compare_to: str | None = None  # a baseline name
    fail_on_regression_pct: float = 10.0
    html: str | None = None
    csv: str | None = None
    junit: str | None = None  # JUnit XML of the gates ("-": stdout)
    thresholds: tuple[Threshold, ...] = ()
    out: str | None = None  # the JSON report's file ("-": stdout), checked with the others
    scenario_file: str | None = None  # no output may name it
    exit_code_on_error: int | None = None  # Locust's --exit-code-on-error
    stream: str | None = None  # --stream's file (written by tui_loadtest.export), checked too
    # bench: exit 1 when every request failed (a dead path is no benchmark), where
    # run keeps k6's convention (only thresholds and gates fail a run that ran).
    fail_when_all_failed: bool = False


@dataclass
class RunOutputs:
    """What a run does once its result exists, prepared (and checked) before it starts."""

    store: BaselineStore | None = None
    store_path: str | None = None  # --store, for the dashboard's b and l
    save_name: str | None = None
    overwrite: bool = False
    compare_to: Baseline | None = None
    fail_pct: float = 10.0
    html: str | None = None
    csv: str | None = None
    junit: str | None = None
    thresholds: tuple[Threshold, ...] = ()
    error_code: int | None = None  # the exit code when any request failed (else unchanged)
    fail_when_all_failed: bool = False  # exit 1 when every request failed (bench)
    emit: Callable[[str], None] = print_line  # a line of the run's output (stdout)
    note: Callable[[str], None] = print_note  # a remark beside it (stderr)
    comparison: Comparison | None = field(default=None, init=False)

    def dashboard_context(self) -> BaselineContext:
        """What the dashboard's b, l and live deltas use."""
        from ..baselines import open_store

        store = self.store or open_store(self.store_path)
        return BaselineContext(store, self.compare_to, self.fail_pct / 100)

    def finish(self, result: RunResult, code: int) -> int:
        """Reports, comparison, gates, saving; returns the final exit code."""
        from ..compare.repeated import compare_results
        from ..report.compare_text import comparison_text, differences_line
        from . import gates

        measured = not result.unreachable and result.summary.requests > 0
        verdicts: list[gates.GateResult] = []
        if self.compare_to is not None and measured:
            self.comparison = compare_results(
                self.compare_to.result,
                result,
                threshold=self.fail_pct / 100,
                baseline_name=self.compare_to.name,
                current_name="this run",
            )
            self.emit("")
            self.emit(comparison_text(self.comparison, self.compare_to.created_at))
            if self.comparison.differences:
                self.note(differences_line(self.comparison))
            verdicts += gates.regression_gates(self.comparison)
        if measured or (not result.unreachable and result.iterations):
            # a script whose every task raised before its request has iterations to judge
            verdicts = gates.evaluate_thresholds(self.thresholds, result) + verdicts
        written = write_extra_formats(
            result, self.html, self.csv, comparison=self.comparison, keep=True, note=self.note
        )
        if verdicts:
            # The summary above already lists the result's own thresholds: not twice.
            shown = {t.label for t in result.threshold_results()}
            block = [g for g in verdicts if g.kind != "threshold" or g.name not in shown]
            if block:
                self.emit("\n".join(gates.gate_lines(block)))
            for gate in verdicts:
                if not gate.passed:
                    self.note(gate.failure)
        if self.junit is not None:
            written = self._write_junit(result, verdicts) and written
        code = gates.exit_code(code, verdicts)
        failures, requests = result.summary.failures, result.summary.requests
        failed = failed_text(result)
        if self.error_code is not None and code == EXIT_OK and failed:
            code = self.error_code
            self.note(f"{failed} failed: exit code {code} (--exit-code-on-error)")
        if self.fail_when_all_failed and code == EXIT_OK and measured and failures >= requests:
            code = EXIT_GATE_FAILED
            self.note(f"every request failed ({failures:,} of {requests:,}): exit code {code}")
        if self.error_code is None and code == EXIT_OK and result.failed_iterations:
            self.note(
                f"{result.failed_iterations:,} of {result.iterations:,} iterations failed;"
                " the exit code stays 0 (--exit-code-on-error 1 or [thresholds]"
                " iteration_failure_rate fails a build on them)"
            )
        if self.save_name is not None and self.store is not None:
            code = self._save(result, code)
        return code if written else output_failed(code)

    def _write_junit(self, result: RunResult, verdicts: list[GateResult]) -> bool:
        """The gates as JUnit XML; False (and one line) if the file could not be written."""
        from ..report.junit import junit_cases, junit_xml
        from ..report.output_files import OutputError, save_output

        assert self.junit is not None
        cases = junit_cases(result, verdicts, self.comparison, error_code=self.error_code)
        xml = junit_xml(
            cases,
            title=result.scenario_name,
            started_at=result.started_at,
            duration_s=result.duration_s,
        )
        try:
            written = save_output(
                self.junit, xml, what="the JUnit file", flag="--junit", allow_stdout=True
            )
        except OutputError as exc:
            self.note(f"error: {exc}")
            return False
        if self.junit != "-":
            self.note(f"JUnit XML written to {written}")
        return True

    def _save(self, result: RunResult, code: int) -> int:
        from ..baselines import make_baseline

        assert self.store is not None and self.save_name is not None
        if result.interrupted or result.unreachable or not result.summary.requests:
            self.note(f'baseline "{self.save_name}" not saved: the run did not complete')
            return code
        baseline = make_baseline(result, self.save_name, source="run", ran_here=True)
        try:
            self.store.save(baseline, overwrite=self.overwrite)
        except UserError as exc:
            self.note(f"error: {exc}{_kept_for_import(baseline)}")
            return EXIT_USAGE
        self.note(f'baseline "{self.save_name}" saved in {self.store.path}')
        return code


def failed_text(result: RunResult) -> str:
    """What ``--exit-code-on-error`` counts: "3 request(s) and 12 iteration(s)" that
    failed (a script task that raised is a failed iteration); "" when none did."""
    parts = []
    if result.summary.failures:
        parts.append(f"{result.summary.failures:,} request(s)")
    if result.failed_iterations:
        parts.append(f"{result.failed_iterations:,} iteration(s)")
    return " and ".join(parts)


def _kept_for_import(baseline: Baseline) -> str:
    """The unsaved baseline, exported to a fallback file: how to import it later."""
    from ..baselines import export_data
    from ..report.json_report import json_text
    from ..report.output_files import fallback_file

    path, why = fallback_file(json_text(export_data(baseline)), suffix=".json")
    if path is None:
        return f"; the run could not be kept elsewhere either ({why})"
    return f"; the run was kept in {path} (tui-loadtest baselines import {path})"


def output_failed(code: int) -> int:
    """The exit code once an output could not be written where asked (its content went to
    a fallback file): 2, unless the run was interrupted or never reached the target."""
    return EXIT_USAGE if code in (EXIT_OK, EXIT_GATE_FAILED) else code


def not_empty(value: str | None, flag: str, what: str) -> None:
    if value is not None and not value.strip():
        raise UserError(f"{flag}: expected {what}, got an empty one")


def prepare_outputs(options: OutputOptions) -> RunOutputs:
    """Check the options before the run: an empty or unwritable output name, a missing
    --compare-to baseline, a taken --save-baseline name or an unusable store end here,
    with exit code 2."""
    from ..baselines import open_store
    from ..store import check_name

    not_empty(options.save_baseline, "--save-baseline", "a baseline name")
    not_empty(options.compare_to, "--compare-to", "a baseline name")
    not_empty(options.store, "--store", "a store file or folder")
    check_files(
        out=options.out,
        html=options.html,
        csv_prefix=options.csv,
        junit=options.junit,
        out_allows_stdout=True,
        scenario_file=options.scenario_file,
        stream=options.stream,
    )
    out = RunOutputs(
        fail_pct=options.fail_on_regression_pct,
        html=options.html,
        csv=options.csv,
        junit=options.junit,
        thresholds=tuple(options.thresholds),
        save_name=options.save_baseline,
        overwrite=options.overwrite_baseline,
        store_path=options.store,
        error_code=options.exit_code_on_error,
        fail_when_all_failed=options.fail_when_all_failed,
    )
    if out.save_name is not None or options.compare_to is not None:
        out.store = open_store(options.store)
    if options.compare_to is not None:
        assert out.store is not None
        out.compare_to = out.store.load(options.compare_to)
    if out.save_name is not None:
        assert out.store is not None
        check_name(out.save_name)
        out.store.check_writable()  # read-only, damaged, newer: found now, not after the run
        if not out.overwrite and out.store.exists(out.save_name):
            raise UserError(
                f'--save-baseline: a baseline named "{out.save_name}" already exists'
                " (choose another name, or pass --overwrite-baseline)"
            )
    return out


def write_extra_formats(
    result: RunResult,
    html: str | None,
    csv_prefix: str | None,
    *,
    title: str | None = None,
    comparison: Comparison | None = None,
    keep: bool = False,
    note: Callable[[str], None] = print_note,
) -> bool:
    """Write --html and --csv, each announced with one note. With ``keep`` (after a run)
    a file that cannot be written is saved to a fallback file, named on one line, and
    the others are still written; returns False if any of them failed."""
    from ..report.output_files import OutputError, save_output, write_output

    files: list[tuple[str, str, str, str | None, str]] = []  # flag, path, text, newline, what
    if html is not None:
        from ..report.html import html_report

        text = html_report(result, title=title, comparison=comparison)
        files.append(("--html", html, text, None, "the HTML report"))
    if csv_prefix is not None:
        from ..report.csv_export import csv_files

        for name, text in csv_files(result, csv_prefix):
            files.append(("--csv", name, text, "", f"the CSV file {Path(name).name}"))
    ok = True
    written: list[str] = []
    for flag, path, text, newline, what in files:
        if not keep:
            write_output(path, text, newline=newline, flag=flag)
        else:
            try:
                save_output(path, text, what=what, newline=newline, flag=flag)
            except OutputError as exc:
                note(f"error: {exc}")
                ok = False
                continue
        if flag == "--html":
            note(f"HTML report written to {path}")
        else:
            written.append(path)
    if written:
        note("CSV written to " + ", ".join(written))
    return ok


def check_files(
    *,
    out: str | None = None,
    html: str | None = None,
    csv_prefix: str | None = None,
    junit: str | None = None,
    out_allows_stdout: bool = False,
    scenario_file: str | None = None,
    stream: str | None = None,
) -> None:
    """Before any work: each output name is writable by the output-file rules, and no two
    outputs (nor an output and the scenario file) name the same file. One line if not."""
    from ..report.csv_export import csv_file_names
    from ..report.output_files import check_output, same_file

    if csv_prefix is not None and not csv_prefix.strip():
        raise UserError("--csv: expected a file name prefix, got an empty one")
    named: list[tuple[str, str]] = []
    if out is not None:
        check_output(out, "--out", allow_stdout=out_allows_stdout)
        named.append(("--out", out))
    if html is not None:
        check_output(html, "--html")
        named.append(("--html", html))
    if csv_prefix is not None:
        for name in csv_file_names(csv_prefix, checks=True):
            check_output(name, "--csv")
            named.append(("--csv", name))
    if junit is not None:
        check_output(junit, "--junit", allow_stdout=True)
        if junit == "-" and out == "-":
            raise UserError("--junit and --out: only one of them can be - (standard output)")
        if junit != "-":
            named.append(("--junit", junit))
    if stream is not None:
        check_output(stream, "--stream")
        named.append(("--stream", stream))
    for i, (flag, path) in enumerate(named):
        if scenario_file is not None and same_file(path, scenario_file):
            raise UserError(f"{flag}: {path} is the scenario file; give another name")
        for other_flag, other in named[i + 1 :]:
            if same_file(path, other):
                raise UserError(f"{flag} and {other_flag} both name {path}; give two names")
