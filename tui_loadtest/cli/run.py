"""``tui-loadtest run``: a scenario file, a user script, a URL, a packaged example or
the built-in demo, on the dashboard or headless.

The flags end here: :func:`cmd_run` turns them into a scenario (the loader and its
overrides) and plain options, and :func:`~tui_loadtest.cli.execute.execute` runs it.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from importlib.resources import as_file
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..pipeline.outputs import prepare_outputs
from ..scenario.model import WORKER_LOSS
from .args import (
    EXIT_CODES_HELP,
    Formatter,
    note,
    positive_float,
    positive_int,
    seconds,
    seconds_or_zero,
)
from .check import add_dry_run_flags, add_tag_flags, chosen_by_tags, run_dry
from .cluster import add_flags as add_cluster_flags
from .cluster import open_pool
from .execute import check_monitor, execute, plan_workers
from .export import add_export_flags, export_flags, open_exporters
from .outputs import THRESHOLDS_EPILOG, output_flags, output_options
from .request_flags import add_request_flags, adhoc_request, looks_like_url, uses_request_flags
from .tls_flags import add_tls_flags, apply_tls_flags

if TYPE_CHECKING:
    from ..scenario import Scenario

# `run URL` without flags: what a first try at a new URL needs.
RUN_DEFAULTS: dict[str, Any] = {"users": 10, "spawn_rate": 10, "run_time": "30s"}


def register(sub: argparse._SubParsersAction) -> None:
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
        formatter_class=Formatter,
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
        "-u", "-c", "--users", type=positive_int, metavar="N", help="concurrent virtual users"
    )
    run.add_argument(
        "-r", "--spawn-rate", type=positive_float, metavar="R", help="users started per second"
    )
    run.add_argument("-t", "--run-time", metavar="T", help='how long to run: "90s", "5m", "1h30m"')
    run.add_argument(
        "-n", "--requests", type=positive_int, metavar="N", help="stop after N requests in total"
    )
    run.add_argument(
        "--warmup",
        metavar="T",
        help='load for T first ("30s", whole seconds), measured apart: the summary, thresholds,'
        " baselines and compare cover the rest only (T is part of --run-time)",
    )
    run.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        metavar="N",
        help="run the scenario N times (default 1): each run's figures, their spread and an"
        " outlier run in the summary; --save-baseline keeps all N; --compare-to judges"
        " over run-to-run variance from 3 runs on a side (docs/verdicts.md)",
    )
    run.add_argument(
        "--cooldown",
        type=seconds_or_zero,
        default=10.0,
        metavar="T",
        help="with --repeat: pause T between runs so the target settles (default 10s)",
    )
    run.add_argument(
        "--rate",
        type=positive_float,
        metavar="R",
        help="arrival-rate mode: start R requests per second",
    )
    run.add_argument(
        "--max-users",
        type=positive_int,
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
        type=positive_int,
        metavar="N",
        help="worker processes generating load (default 1; one per core at most)",
    )
    run.add_argument(
        "--on-worker-loss",
        choices=WORKER_LOSS,
        help="when a worker, local or on a cluster, is lost (killed, crashed, unreachable, or"
        " no delta for 3 s: a stopped process, a script task that never yields): continue"
        " without its share, marked degraded (default), or stop the run",
    )
    run.add_argument(
        "--out",
        metavar="FILE",
        help="write the JSON report to FILE (- for stdout; the summary then goes to stderr)",
    )
    run.add_argument(
        "--interval",
        type=seconds,
        default=2.0,
        metavar="S",
        help="headless: seconds between progress lines (default 2)",
    )
    run.add_argument(
        "--user-step",
        type=positive_int,
        metavar="N",
        help="dashboard: users added or removed by + and - (default: a tenth of --users)",
    )
    watch = run.add_argument_group("watching the target (series in the report and the dashboard)")
    watch.add_argument(
        "--monitor-pid",
        type=positive_int,
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
    add_export_flags(run)
    add_tag_flags(run)
    debug = run.add_argument_group("seeing the requests")
    debug.add_argument(
        "--http-debug",
        nargs="?",
        const="heads",
        type=_http_debug_mode,
        metavar="full",
        help="copy the first exchanges of each endpoint (requests and responses, heads whole,"
        " bodies cut at 2 KB; =full: whole bodies) to a log file named at the start and the"
        " end; secrets redacted",
    )
    debug.add_argument(
        "--http-debug-limit",
        type=positive_int,
        default=5,
        metavar="N",
        help="with --http-debug: exchanges copied per endpoint (default 5)",
    )
    dry = run.add_argument_group("dry run (as `tui-loadtest check`)")
    dry.add_argument(
        "--dry-run",
        action="store_true",
        help="one user through every flow, request or task; print every exchange; no load",
    )
    add_dry_run_flags(dry, json_flag=False)
    add_request_flags(run)
    add_tls_flags(run)
    add_cluster_flags(run, positive_int)
    run.set_defaults(handler=cmd_run)


def load_scenario(args: argparse.Namespace) -> tuple[Scenario, Any]:
    """The scenario the arguments name, with the flags applied over it, and a
    locustfile's LoadTestShape class (None without one)."""
    from ..locustfile.install import is_locustfile
    from ..locustfile.loader import load_locustfile
    from ..scenario import (
        apply_overrides,
        load_builtin_demo,
        load_scenario,
        script_scenario,
        url_scenario,
    )
    from ..scenario.cluster import with_cluster_flags

    given = [g for g in (args.scenario, args.file, args.example) if g]
    if len(given) > 1:
        raise UserError("give one scenario: SCENARIO, -f FILE, --example NAME or a URL")
    source = args.scenario or args.file
    shape = None
    if looks_like_url(source):
        sc = url_scenario(source, adhoc_request(args), load=RUN_DEFAULTS)
    else:
        if uses_request_flags(args):
            adhoc_request(args)  # `-H http://host` (Locust's host flag) is named first
            raise UserError(
                "-m, -H, -d and --json shape the request of `run URL`; a scenario file"
                " has its own [[requests]]"
            )
        _duration_split_in_two(args.run_time, source)
        if args.example:
            sc = load_scenario(example_path(args.example))
        elif not source:
            sc = load_builtin_demo()
        elif str(source).endswith(".py") and is_locustfile(source):
            sc, loaded = load_locustfile(  # Locust's classes, unchanged
                source, host=args.host, tags=args.tags, exclude_tags=args.exclude_tags
            )
            shape = loaded.shape
            for line in loaded.notes:
                note(line)
        elif str(source).endswith(".py"):
            sc = script_scenario(source)  # a Python user script, run directly
        else:
            sc = load_scenario(source, announce=note)
    if sc.locustfile is None:
        sc = chosen_by_tags(sc, args)
    sc = apply_overrides(
        sc,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=args.run_time,
        requests=args.requests,
        host=args.host,
        rate=args.rate,
        max_users=args.max_users,
        monitor_pids=args.monitor_pid,
        scrape=args.scrape,
        warmup=args.warmup,
    )
    if sc.locustfile is not None and source:  # what its listeners read, as under Locust
        from ..locust.options import run_options

        options = run_options(
            str(source),
            host=sc.locustfile.host or sc.host,
            users=sc.load.users,
            spawn_rate=sc.load.effective_spawn_rate,
            run_time=sc.load.run_time_s,
        )
        sc = replace(sc, locustfile=replace(sc.locustfile, options=tuple(sorted(options.items()))))
    sc = apply_tls_flags(sc, args)
    sc = with_cluster_flags(
        sc, address=args.cluster, workers=args.cluster_workers, on_worker_loss=args.on_worker_loss
    )
    return export_flags(sc, args), shape


def _duration_split_in_two(run_time: str | None, source: str | None) -> None:
    """``-t 5 min`` takes "5" as the run time and "min" as the scenario: say so."""
    from pathlib import Path

    units = {"s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes",
             "h", "hr", "hrs", "hour", "hours", "ms"}  # fmt: skip
    if run_time is None or source is None or source.lower() not in units or Path(source).exists():
        return
    unit = {
        "sec": "s",
        "secs": "s",
        "second": "s",
        "seconds": "s",
        "min": "m",
        "mins": "m",
        "minute": "m",
        "minutes": "m",
        "hr": "h",
        "hrs": "h",
        "hour": "h",
        "hours": "h",
    }
    shown = f"{run_time}{unit.get(source.lower(), source.lower())}"  # fmt: skip
    raise UserError(f"-t {run_time} {source}: a duration is one word, like -t {shown}")


def example_path(name: str) -> str:
    """A packaged example as a real file (inside the installed package)."""
    from .start import named_example

    with as_file(named_example(name).resource) as path:
        return str(path)


def cmd_run(args: argparse.Namespace) -> int:
    scenario, shape_class = load_scenario(args)
    if args.dry_run:
        return run_dry(
            scenario, iterations=args.iterations, show_secrets=args.show_secrets, as_json=False
        )
    if scenario.locustfile is not None and args.exit_code_on_error is None:
        args.exit_code_on_error = 1  # a locustfile run exits as Locust does: 1 on a failure
    scenario, shape = with_shape(scenario, shape_class)
    check_monitor(scenario)
    pool = None
    if scenario.cluster.address is None:
        workers = plan_workers(scenario, args.workers or 1)
    # Fails fast on a missing --compare-to baseline or a taken --save-baseline name.
    if args.repeat > 1 and scenario.cluster.address is not None:
        raise UserError(
            "--repeat: not with a cluster yet (each run would need the cluster's engines"
            " again); repeat the command, then `baselines add-run` each report"
        )
    outputs = prepare_outputs(output_options(args, scenario))
    exporters = open_exporters(scenario, repeat=args.repeat)  # the port bound, before any load
    try:
        if scenario.cluster.address is not None:
            pool, workers = open_pool(scenario, workers_flag=args.workers, note=note)
    except BaseException:
        if exporters is not None:
            exporters.close()
        raise
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
        shape=shape,
        exporters=exporters,
        http_debug=_http_debug(args, scenario),
    )


def _http_debug_mode(value: str) -> str:
    if value not in ("heads", "full"):
        raise argparse.ArgumentTypeError(f'expected nothing or "full", got "{value}"')
    return value


def _http_debug(args: argparse.Namespace, scenario: Scenario) -> tuple[bool, int] | None:
    """--http-debug[=full] and --http-debug-limit as the run takes them (None: off)."""
    if args.http_debug is None:
        return None
    if scenario.http.transport == "httpx":
        raise UserError('--http-debug: needs the "fast" transport (not transport = "httpx")')
    if scenario.locustfile is not None:
        raise UserError("--http-debug: not for locustfiles yet")
    return args.http_debug == "full", args.http_debug_limit


def with_shape(scenario: Scenario, shape_class: Any) -> tuple[Scenario, Any]:
    """A locustfile's LoadTestShape: the users its first tick asks for to start with,
    and the shape itself for the run to tick once a second (None without one)."""
    if shape_class is None:
        return scenario, None
    from types import SimpleNamespace

    from ..engine.shape import first_tick
    from ..locustfile.env import Environment
    from ..scenario import apply_overrides

    spec = scenario.locustfile
    environment = Environment(
        host=scenario.host,
        parsed_options=SimpleNamespace(**dict(spec.options if spec is not None else ())),
        shape_class=shape_class,
    )
    shape = shape_class()
    try:
        first = first_tick(shape, environment)
    except Exception as exc:  # noqa: BLE001 - the file's code: one line
        raise UserError(
            f"{shape_class.__name__}.tick() raised {type(exc).__name__}: {exc}"
        ) from None
    if first is None:
        raise UserError(f"{shape_class.__name__}.tick() returned None at once: nothing to run")
    users, rate, classes = first
    if classes is not None and scenario.locustfile is not None:
        scenario = replace(scenario, locustfile=replace(scenario.locustfile, start_classes=classes))
    return apply_overrides(scenario, users=max(1, users), spawn_rate=rate), shape
