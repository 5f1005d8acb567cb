"""Running a scenario to its end, for ``run`` and ``bench``: the target, the dashboard
or the headless printer, the signals, and what happens after (the report first,
then the summary, outputs and the exit code). Plain values in; no argparse here."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_WORKER_LOST,
    UserError,
)
from ..report.output_files import STDOUT
from .args import note

if TYPE_CHECKING:
    from ..engine.coordinator import Run
    from ..engine.pool import WorkerPool
    from ..engine.repeated import RepeatedRun
    from ..export import Exporters
    from ..pipeline.outputs import RunOutputs
    from ..scenario import Scenario
    from ..stats.result import RunResult


def plan_workers(scenario: Scenario, requested: int) -> int:
    """No more workers than the load keeps busy; a warning above the core count."""
    from ..scenario import cpu_cores
    from ..scenario import plan_workers as plan

    workers, notes = plan(scenario.load, requested, cpu_cores(), [p.load for p in scenario.parts])
    for line in notes:
        note(line)
    return workers


def check_monitor(scenario: Scenario) -> None:
    """--monitor-pid names a live process we may read: said before the run, exit 2."""
    if scenario.monitor.pids:
        from ..monitor import check_pid

        for pid in scenario.monitor.pids:
            check_pid(pid)


def execute(
    scenario: Scenario,
    *,
    workers: int,
    out: str | None,
    no_ui: bool,
    interval: float,
    user_step: int | None = None,
    outputs: RunOutputs | None = None,
    pool: WorkerPool | None = None,
    repeat: int = 1,
    cooldown_s: float = 10.0,
    shape: Any = None,
    exporters: Exporters | None = None,
    http_debug: tuple[bool, int] | None = None,
) -> int:
    """Run a scenario to its end and return the exit code (shared by ``run`` and ``bench``).
    ``repeat``: run it that many times, ``cooldown_s`` apart (see engine/repeated.py).

    ``outputs`` (see :mod:`tui_loadtest.pipeline.outputs`) gives the dashboard its baseline
    store and ``--compare-to`` baseline, and once the result exists does what the flags
    ask (reports, comparison, gates, saving a baseline) and decides the final exit code.
    With ``--out -`` the JSON report is standard output's only content: progress lines,
    the summary and everything else go to stderr. ``pool`` runs the engines (a
    connected cluster, see :mod:`tui_loadtest.cli.cluster`); local processes without it.
    ``exporters`` (opened, see :mod:`tui_loadtest.export`) get every run's seconds, and
    are closed once the report is written.
    """
    from ..engine.coordinator import Run
    from ..engine.pool import LocalProcessPool
    from ..engine.repeated import RepeatedRun
    from ..pipeline.headless import Signals, run_headless
    from ..pipeline.launch import preflight, target_url
    from ..report.text import run_line

    not_a_terminal = not no_ui and not (sys.stdout.isatty() and sys.stdin.isatty())
    no_ui = no_ui or not_a_terminal
    human = sys.stderr if out == STDOUT else sys.stdout  # progress lines
    with Signals() as signals, contextlib.ExitStack() as stack:
        if pool is not None:  # let go of the cluster last, even if the run never started
            stack.callback(getattr(pool, "close", pool.kill))
        if exporters is not None:  # after the report: the final export, the last scrape
            stack.callback(exporters.close)
        with target_url(scenario, announce=note) as url:
            preflight(url, scenario.http.connect_timeout_s)
            if not_a_terminal:
                note("not a terminal: running headless (as with --no-ui)")
            if not no_ui:
                # Imported before the load starts: Textual's import is ~0.3 s of CPU.
                from ..ui import run_dashboard

            def one_run() -> Run:
                # headless, what a script or locustfile prints shows (on stderr), as
                # under Locust; the dashboard keeps the screen to itself
                shown = no_ui and (scenario.script or scenario.locustfile) is not None
                run = Run(
                    scenario,
                    url,
                    workers=workers,
                    pool=pool if pool is not None else LocalProcessPool(keep_stdio=shown),
                    http_debug=http_debug,
                )
                if exporters is not None:
                    exporters.attach(run)
                return run

            def said(i: int, n: int, result: RunResult) -> None:
                if no_ui:  # the dashboard shows "run i of N" itself
                    print(run_line(i, n, result), file=human, flush=True)

            run = RepeatedRun(one_run, repeat, cooldown_s, said) if repeat > 1 else one_run()
            try:
                run.start(go=no_ui)  # the dashboard says go once it is drawn
            except RuntimeError as exc:
                raise UserError(str(exc)) from None
            if shape is not None and isinstance(run, Run):  # a locustfile's LoadTestShape
                from ..engine.shape import ShapeDriver

                spec = scenario.locustfile
                names = tuple(c.name for c in spec.classes) if spec is not None else ()
                ShapeDriver(run, shape, names).start()
            try:
                if no_ui:
                    result = run_headless(run, interval_s=interval, out=human, signals=signals)
                else:
                    baselines = outputs.dashboard_context() if outputs else None
                    result = run_dashboard(
                        run, out=out, user_step=user_step, baselines=baselines, signals=signals
                    )
            finally:
                signals.defer()  # the report is next: a signal now is noted, not raised
                run.close()
        signals.forget_dead_terminal(keep_stdout=out == STDOUT)
        report_stdout = sys.stdout
        human = sys.stderr if out == STDOUT else sys.stdout
        with contextlib.redirect_stdout(human):
            code = after_run(run, result, url, out, report_stdout, outputs)
        # SIGTERM and SIGHUP exit as Ctrl+C does, 128 + the signal, even once the run
        # had ended (CI asked us to stop).
        return signals.exit_code or code


def after_run(
    run: Run | RepeatedRun,
    result: RunResult,
    url: str,
    out: str | None,
    report_stdout: TextIO,
    outputs: RunOutputs | None,
) -> int:
    """Write the report first (nothing after the run may lose it), then the summary, the
    worker and script errors, the outputs; return the exit code."""
    from ..pipeline.outputs import output_failed
    from ..report.fit import output_width
    from ..report.json_report import report_json
    from ..report.output_files import OutputError, save_output
    from ..report.text import run_summary

    written = True
    if out is not None:  # first, so that nothing after the run can lose it
        try:
            path = save_output(out, report_json(result.to_struct()), what="the report",
                               flag="--out", allow_stdout=True, stdout=report_stdout)  # fmt: skip
            if out != STDOUT:
                note(f"report written to {path}")
        except OutputError as exc:
            note(f"error: {exc}")
            written = False
    print(run_summary(result, output_width(sys.stdout)), flush=True)  # the terminal's width
    for line in run.worker_errors:
        note(line + (f" (details in {run.log_path})" if run.log_path else ""))
    if run.log_path and any(e.kind == "script" for e in result.errors):
        note(f"script errors: tracebacks in {run.log_path}")
    for log in _http_debug_paths(run):
        note(f"HTTP exchanges written to {log}")
    code = EXIT_OK
    if result.interrupted:
        code = EXIT_INTERRUPTED
    elif run.lost:  # each one's line above says how many seconds of its share are missing
        note(f"exit code {EXIT_WORKER_LOST}: {run.degraded}, the figures miss their share")
        code = EXIT_WORKER_LOST
    elif result.unreachable:
        first = result.errors[0].message if result.errors else "no response"
        note(f"the target {url} was unreachable for every request ({first})")
        code = EXIT_UNREACHABLE
    code = outputs.finish(result, code) if outputs else code
    asked = getattr(run, "exit_code_asked", None)
    if asked is not None and not result.interrupted:  # environment.process_exit_code
        note(f"exit code {asked}: the locustfile set environment.process_exit_code")
        code = asked
    return code if written else output_failed(code)


def _http_debug_paths(run: Run | RepeatedRun) -> list[str]:
    """--http-debug: the run's log file (with --repeat, the last run's: each run names
    its own as it starts)."""
    path = getattr(getattr(run, "current", run), "http_debug_path", None)
    return [path] if path else []
