# PYTHON_ARGCOMPLETE_OK  (shell completion: see tui_loadtest.cli_completion)
"""The ``tui-loadtest`` command line.

Every error a user can cause ends as one line on stderr and a documented exit
code (see :mod:`tui_loadtest.errors`), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib.resources import as_file
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .cli_adhoc import (
    RUN_DEFAULTS,
    add_request_flags,
    looks_like_url,
    url_scenario,
    uses_request_flags,
)
from .cli_baselines import THRESHOLDS_EPILOG, output_flags, output_options
from .cli_baselines import register as register_baselines
from .cli_cluster import add_flags as add_cluster_flags
from .cli_cluster import apply_flags as apply_cluster_flags
from .cli_cluster import open_pool
from .cli_completion import asked as completion_asked
from .cli_completion import complete
from .cli_completion import register as register_completion
from .cli_start import register as register_start
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_WORKER_LOST,
    UserError,
)
from .locust.command import register as register_locust
from .outputs import RunOutputs, prepare_outputs
from .report.output_files import STDOUT
from .serve.command import register as register_serve

if TYPE_CHECKING:
    from .engine.coordinator import Run
    from .engine.pool import WorkerPool
    from .engine.repeated import RepeatedRun
    from .scenario import Scenario
    from .stats.result import RunResult

EXIT_CODES_HELP = """\
exit codes:
  0    the run completed
  1    a threshold failed or a significant regression was found
  N    with --exit-code-on-error N: a request failed and no other code applies
  2    usage error, an invalid scenario file or store, or an output file that
       could not be written (its content went to a fallback file named on stderr)
  3    the target was unreachable for every request
  130  interrupted by Ctrl+C (SIGINT); the partial report is still written
  143  stopped by SIGTERM (what CI sends on a timeout), as Ctrl+C: partial report written
  129  stopped by SIGHUP (the terminal closed), likewise
  70   a worker process crashed or was killed (the report says how many seconds
       of its share are missing), or an internal error (a bug: please report it
       with the log file named)
"""


EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in tui-loadtest itself


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """A positive duration flag: "2", "0.5", "500ms", "1m"; at most one year."""
    from .durations import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a duration greater than 0, got {text!r}")
    return value


def _seconds_or_zero(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0s") else _seconds(text)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"expected a port number between 0 and 65535 (0 picks a free one), got {text!r}"
        )
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tui-loadtest",
        description=(
            "Load-test HTTP APIs from the terminal: a live dashboard, a headless mode for CI,\n"
            "JSON reports, and baselines to compare runs against.\n\n"
            "Start with:  tui-loadtest run        (the dashboard against a built-in demo API)"
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        parents=[output_flags(dashboard=True)],  # --save-baseline, --compare-to, --html, ...
        help="run a scenario (the dashboard by default, --no-ui for CI)",
        description=(
            "Run a load test. SCENARIO is a TOML file (or -f FILE, or --example NAME) or a\n"
            "Python user script (users.py, see configs/journey_users.py); a URL instead\n"
            "runs that one request (shape it with -m, -H, -d, --json); without either, the\n"
            "built-in demo scenario runs against the embedded demo API. Flags override the\n"
            "file.\n\n"
            "  tui-loadtest run http://127.0.0.1:8080/api/health -c 20 -t 1m\n"
            "  tui-loadtest run https://api.example.test/items -H 'Authorization: Bearer ...'\n"
            "  tui-loadtest run -f my.toml --headless"
        ),
        epilog=EXIT_CODES_HELP + THRESHOLDS_EPILOG,
        formatter_class=_Formatter,
    )
    run.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="scenario TOML file, .py user script or URL"
    )
    run.add_argument("-f", "--file", metavar="FILE", help="scenario file (as Locust's -f)")
    run.add_argument(
        "--example", metavar="NAME", help="run a packaged example (list: tui-loadtest examples)"
    )
    run.add_argument(
        "--no-ui",
        "--headless",
        dest="no_ui",
        action="store_true",
        help="no dashboard: print progress lines and a summary (for CI)",
    )
    run.add_argument(
        "-u", "-c", "--users", type=_positive_int, metavar="N", help="concurrent virtual users"
    )
    run.add_argument(
        "-r", "--spawn-rate", type=_positive_float, metavar="R", help="users started per second"
    )
    run.add_argument("-t", "--run-time", metavar="T", help='how long to run: "90s", "5m", "1h30m"')
    run.add_argument(
        "-n", "--requests", type=_positive_int, metavar="N", help="stop after N requests in total"
    )
    run.add_argument(
        "--warmup",
        metavar="T",
        help='load for T first ("30s", whole seconds), measured apart: the summary, thresholds,'
        " baselines and compare cover the rest only (T is part of --run-time)",
    )
    run.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        metavar="N",
        help="run the scenario N times (default 1): each run's figures, their spread and an"
        " outlier run in the summary; --save-baseline keeps all N; --compare-to judges"
        " over run-to-run variance from 3 runs on a side (docs/verdicts.md)",
    )
    run.add_argument(
        "--cooldown",
        type=_seconds_or_zero,
        default=10.0,
        metavar="T",
        help="with --repeat: pause T between runs so the target settles (default 10s)",
    )
    run.add_argument(
        "--rate",
        type=_positive_float,
        metavar="R",
        help="arrival-rate mode: start R requests per second",
    )
    run.add_argument(
        "--max-users",
        type=_positive_int,
        metavar="N",
        help="arrival-rate mode: cap on requests in flight",
    )
    run.add_argument(
        "--host",
        metavar="URL",
        help='target base URL, e.g. http://127.0.0.1:8080 ("demo" for the built-in API)',
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="worker processes generating load (default 1; one per core at most)",
    )
    run.add_argument(
        "--out",
        metavar="FILE",
        help="write the JSON report to FILE (- for stdout; the summary then goes to stderr)",
    )
    run.add_argument(
        "--interval",
        type=_seconds,
        default=2.0,
        metavar="S",
        help="headless: seconds between progress lines (default 2)",
    )
    run.add_argument(
        "--user-step",
        type=_positive_int,
        metavar="N",
        help="dashboard: users added or removed by + and - (default: a tenth of --users)",
    )
    watch = run.add_argument_group("watching the target (series in the report and the dashboard)")
    watch.add_argument(
        "--monitor-pid",
        type=_positive_int,
        action="append",
        default=[],
        metavar="PID",
        help="a local target process: CPU %%, memory, threads and open files every second,"
        " its children included (repeatable)",
    )
    watch.add_argument(
        "--scrape",
        action="append",
        default=[],
        metavar="URL",
        help="a Prometheus endpoint to poll every second (repeatable; /metrics alone: on the"
        " target); counters become rates; a failed scrape is an event, never a failure",
    )
    add_request_flags(run)
    add_cluster_flags(run, _positive_int)
    run.set_defaults(handler=cmd_run)

    bench = sub.add_parser(
        "bench",
        parents=[output_flags(dashboard=False)],
        help="send exactly N requests to one URL from C users (ab/hey-style)",
        description=(
            "Send exactly TOTAL_REQUESTS requests (-n) to URL from CONCURRENT_USERS users\n"
            "(-c), or keep sending for -z DURATION; headless. Prints the summary and writes\n"
            "performance_report_YYYYMMDD_HHMMSS.json in the current folder (or --out).\n\n"
            "  tui-loadtest bench http://127.0.0.1:8080/api/health -n 5000 -c 100\n"
            "  tui-loadtest bench http://127.0.0.1:8080/api/items -z 30s -c 20 \\\n"
            "      -m POST --json '{\"name\": \"x\"}' -H 'Authorization: Bearer ...'"
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=_Formatter,
    )
    bench.add_argument("url", metavar="URL")
    bench.add_argument(
        "total",
        nargs="?",
        type=_positive_int,
        default=1000,
        metavar="TOTAL_REQUESTS",
        help="default 1000",
    )
    bench.add_argument(
        "users",
        nargs="?",
        type=_positive_int,
        default=100,
        metavar="CONCURRENT_USERS",
        help="default 100",
    )
    bench.add_argument(
        "--out",
        metavar="FILE",
        help="report file (default performance_report_<time>.json; - for stdout,"
        " the summary then goes to stderr)",
    )
    bench.add_argument(
        "--workers", type=_positive_int, default=1, metavar="N", help="worker processes (default 1)"
    )
    bench.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="per-request timeout in seconds (default 10)",
    )
    bench.add_argument(
        "-n", "--requests", dest="total_flag", type=_positive_int, metavar="N",
        help="total requests (as TOTAL_REQUESTS; with -z: stop at N or the duration)",
    )  # fmt: skip
    bench.add_argument(
        "-c", "--concurrency", dest="users_flag", type=_positive_int, metavar="C",
        help="concurrent users (as CONCURRENT_USERS)",
    )  # fmt: skip
    bench.add_argument(
        "-z", "--duration", metavar="T", help='send for T ("30s", "5m") instead of a count'
    )
    add_request_flags(bench)
    bench.set_defaults(handler=cmd_bench)

    demo = sub.add_parser(
        "demo-server",
        help="serve the demo API in the foreground",
        description="Serve the built-in demo API (an imitation AI-agent service) until Ctrl+C.",
        formatter_class=_Formatter,
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument(
        "--port", type=_port, default=5000, help="port (default 5000; 0 picks a free one)"
    )
    demo.add_argument(
        "--error-rate",
        type=float,
        default=0.01,
        metavar="F",
        help="fraction of queries that fail (default 0.01)",
    )
    demo.add_argument(
        "--stall",
        type=_seconds_or_zero,
        default=0.0,
        metavar="S",
        help="freeze every endpoint for S seconds once per --stall-every (default 0: never)",
    )
    demo.add_argument(
        "--stall-every",
        type=_seconds,
        default=5.0,
        metavar="S",
        help="period of the stalls in seconds (default 5)",
    )
    demo.add_argument(
        "--latency-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiplies the query latency (default 1)",
    )
    demo.set_defaults(handler=cmd_demo_server)

    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of a file tui-loadtest writes",
        description=(
            "Print a JSON Schema (draft 2020-12), for validating files in other tools.\n"
            "  report   the JSON report (--out, bench, baselines export)"
        ),
        formatter_class=_Formatter,
    )
    schema.add_argument("what", choices=["report"], metavar="FORMAT", help="report")
    schema.set_defaults(handler=cmd_schema)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Other modules add their subcommands here.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    register_baselines,
    register_serve,
    register_completion,
    register_start,
    register_locust,
]


def _note(text: str) -> None:
    print(f"tui-loadtest: {text}", file=sys.stderr, flush=True)


def _load_scenario(args: argparse.Namespace) -> Scenario:
    from .scenario import apply_overrides, load_builtin_demo, load_scenario, script_scenario

    given = [g for g in (args.scenario, args.file, args.example) if g]
    if len(given) > 1:
        raise UserError("give one scenario: SCENARIO, -f FILE, --example NAME or a URL")
    source = args.scenario or args.file
    if looks_like_url(source):
        sc = url_scenario(source, args, RUN_DEFAULTS)
    else:
        if uses_request_flags(args):
            raise UserError(
                "-m, -H, -d and --json shape the request of `run URL`; a scenario file"
                " has its own [[requests]]"
            )
        if args.example:
            sc = load_scenario(_example_path(args.example))
        elif not source:
            sc = load_builtin_demo()
        elif str(source).endswith(".py"):
            sc = script_scenario(source)  # a Python user script, run directly
        else:
            sc = load_scenario(source, announce=_note)
    sc = apply_overrides(
        sc,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=args.run_time,
        requests=args.requests,
        host=args.host,
        rate=args.rate,
        max_users=args.max_users,
        monitor_pids=getattr(args, "monitor_pid", ()),
        scrape=getattr(args, "scrape", ()),
        warmup=getattr(args, "warmup", None),
    )
    return apply_cluster_flags(sc, args)


def _check_monitor(scenario: Scenario) -> None:
    """--monitor-pid names a live process we may read: said before the run, exit 2."""
    if scenario.monitor.pids:
        from .monitor import check_pid

        for pid in scenario.monitor.pids:
            check_pid(pid)


def _example_path(name: str) -> str:
    from .cli_start import _named

    with as_file(_named(name).resource) as path:  # a real file inside the package
        return str(path)


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
) -> int:
    """Run a scenario to its end and return the exit code (shared by ``run`` and ``bench``).
    ``repeat``: run it that many times, ``cooldown_s`` apart (see engine/repeated.py).

    ``outputs`` (see :mod:`tui_loadtest.outputs`) gives the dashboard its baseline
    store and ``--compare-to`` baseline, and once the result exists does what the flags
    ask (reports, comparison, gates, saving a baseline) and decides the final exit code.
    With ``--out -`` the JSON report is standard output's only content: progress lines,
    the summary and everything else go to stderr. ``pool`` runs the engines (a
    connected cluster, see :mod:`tui_loadtest.cli_cluster`); local processes without it.
    """
    from .engine.coordinator import Run
    from .engine.repeated import RepeatedRun
    from .headless import Signals, run_headless
    from .launch import preflight, target_url
    from .report.text import run_line

    not_a_terminal = not no_ui and not (sys.stdout.isatty() and sys.stdin.isatty())
    no_ui = no_ui or not_a_terminal
    human = sys.stderr if out == STDOUT else sys.stdout  # progress lines
    with Signals() as signals, contextlib.ExitStack() as stack:
        if pool is not None:  # let go of the cluster last, even if the run never started
            stack.callback(getattr(pool, "close", pool.kill))
        with target_url(scenario, announce=_note) as url:
            preflight(url, scenario.http.connect_timeout_s)
            if not_a_terminal:
                _note("not a terminal: running headless (as with --no-ui)")
            if not no_ui:
                # Imported before the load starts: Textual's import is ~0.3 s of CPU.
                from .ui import run_dashboard

            def one_run() -> Run:
                return Run(scenario, url, workers=workers, pool=pool)

            def said(i: int, n: int, result: RunResult) -> None:
                if no_ui:  # the dashboard shows "run i of N" itself
                    print(run_line(i, n, result), file=human, flush=True)

            run = RepeatedRun(one_run, repeat, cooldown_s, said) if repeat > 1 else one_run()
            try:
                run.start(go=no_ui)  # the dashboard says go once it is drawn
            except RuntimeError as exc:
                raise UserError(str(exc)) from None
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
            code = _after_run(run, result, url, out, report_stdout, outputs)
        # SIGTERM and SIGHUP exit as Ctrl+C does, 128 + the signal, even once the run
        # had ended (CI asked us to stop).
        return signals.exit_code or code


def _after_run(
    run: Run | RepeatedRun,
    result: RunResult,
    url: str,
    out: str | None,
    report_stdout: TextIO,
    outputs: RunOutputs | None,
) -> int:
    from .outputs import output_failed
    from .report.json_report import report_json
    from .report.output_files import OutputError, save_output
    from .report.text import run_summary

    written = True
    if out is not None:  # first, so that nothing after the run can lose it
        try:
            path = save_output(out, report_json(result.to_struct()), what="the report",
                               flag="--out", allow_stdout=True, stdout=report_stdout)  # fmt: skip
            if out != STDOUT:
                _note(f"report written to {path}")
        except OutputError as exc:
            _note(f"error: {exc}")
            written = False
    print(run_summary(result), flush=True)
    for line in run.worker_errors:
        _note(line + (f" (details in {run.log_path})" if run.log_path else ""))
    if run.log_path and any(e.kind == "script" for e in result.errors):
        _note(f"script errors: tracebacks in {run.log_path}")
    code = EXIT_OK
    if result.interrupted:
        code = EXIT_INTERRUPTED
    elif run.lost:  # each one's line above says how many seconds of its share are missing
        _note(f"exit code {EXIT_WORKER_LOST}: {run.degraded}, the figures miss their share")
        code = EXIT_WORKER_LOST
    elif result.unreachable:
        first = result.errors[0].message if result.errors else "no response"
        _note(f"the target {url} was unreachable for every request ({first})")
        code = EXIT_UNREACHABLE
    code = outputs.finish(result, code) if outputs else code
    return code if written else output_failed(code)


def _plan_workers(scenario: Scenario, requested: int) -> int:
    """No more workers than the load keeps busy; a warning above the core count."""
    from .scenario import cpu_cores, plan_workers

    workers, notes = plan_workers(scenario.load, requested, cpu_cores())
    for line in notes:
        _note(line)
    return workers


def cmd_run(args: argparse.Namespace) -> int:
    scenario = _load_scenario(args)
    _check_monitor(scenario)
    pool = None
    if scenario.cluster.address is None:
        workers = _plan_workers(scenario, args.workers or 1)
    # Fails fast on a missing --compare-to baseline or a taken --save-baseline name.
    if args.repeat > 1 and scenario.cluster.address is not None:
        raise UserError(
            "--repeat: not with a cluster yet (each run would need the cluster's engines"
            " again); repeat the command, then `baselines add-run` each report"
        )
    outputs = prepare_outputs(output_options(args, scenario))
    if scenario.cluster.address is not None:
        pool, workers = open_pool(scenario, workers_flag=args.workers, note=_note)
    return execute(
        scenario,
        workers=workers,
        out=args.out,
        no_ui=args.no_ui,
        interval=args.interval,
        user_step=args.user_step,
        outputs=outputs,
        pool=pool,
        repeat=args.repeat,
        cooldown_s=args.cooldown,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    from .report.json_report import default_report_name
    from .scenario import HttpSpec, single_url_scenario

    total = args.total_flag or args.total
    users = args.users_flag or args.users
    if args.duration or uses_request_flags(args):
        load: dict[str, object] = {"users": users, "spawn_rate": users}
        if args.duration:
            load["run_time"] = args.duration
        if not args.duration or args.total_flag:
            load["requests"] = total
        scenario = url_scenario(args.url, args, load)
        scenario = replace(scenario, http=replace(scenario.http, timeout_s=args.timeout))
    else:
        scenario = single_url_scenario(
            args.url, users, total, http=HttpSpec(timeout_s=args.timeout)
        )
    if args.out is None:
        args.out = str(Path.cwd() / default_report_name())
    outputs = prepare_outputs(output_options(args, scenario))  # checks --out (or the default) too
    return execute(
        scenario,
        workers=_plan_workers(scenario, args.workers),
        out=args.out,
        no_ui=True,
        interval=2.0,
        outputs=outputs,
    )


def cmd_demo_server(args: argparse.Namespace) -> int:
    from .demo import serve_forever

    if args.stall and args.stall >= args.stall_every:
        raise UserError("--stall: expected fewer seconds than --stall-every")
    serve_forever(
        host=args.host,
        port=args.port,
        error_rate=args.error_rate,
        latency_scale=args.latency_scale,
        stall_s=args.stall,
        stall_every_s=args.stall_every,
    )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from .stats.report_format import report_schema

    print(json.dumps(report_schema(), indent=2))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if argv is None and completion_asked():  # a shell's Tab, not a run
        complete(parser)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_OK
    from .headless import Signals

    try:
        with Signals():  # SIGTERM and SIGHUP end any command as Ctrl+C does
            return int(args.handler(args) or 0)
    except UserError as exc:
        one_line = " ".join(str(exc).split())  # whatever a library put in the message
        print(f"tui-loadtest: error: {one_line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM / SIGHUP (headless.Interrupted)
        signum = getattr(exc, "signum", None)
        with contextlib.suppress(OSError):
            print(f"tui-loadtest: interrupted{f' ({exc})' if signum else ''}", file=sys.stderr)
        return 128 + signum if signum else EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_USAGE
    except Exception as exc:  # a bug of ours: one line for the user, the traceback in a file
        log = _save_traceback()
        print(
            f"tui-loadtest: internal error: {type(exc).__name__}: {exc} (details in {log})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _save_traceback() -> str:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="tui-loadtest-crash-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as fh:
        traceback.print_exc(file=fh)
    return path


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
