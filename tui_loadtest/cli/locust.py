"""``tui-loadtest locust run|import|watch``: bring Locust files and runs into tui-loadtest
(a locustfile run with Locust's command line, a ``--csv`` run as a baseline, a running
Locust on the dashboard)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, UserError
from .args import note, store_option
from .cluster import open_pool

IMPORT_HELP = """\
Store a Locust --csv run (PREFIX_stats.csv, PREFIX_stats_history.csv and
PREFIX_failures.csv) as baseline NAME. Its percentiles are Locust's own; what
Locust does not record (latency histograms, per-second percentiles, corrected
latency, bytes on the wire) is marked missing, so `baselines compare` shows its
percentiles without judging them and says so.
"""

WATCH_HELP = """\
Show a running Locust (standalone or master) on the dashboard, fed from its web
API (GET URL/stats/requests) once a second: throughput, users, the endpoint
table, errors and workers. What Locust does not report (per-second histograms,
p99.9, corrected latency) reads n/a. b saves what was seen as a baseline;
q quits (Locust keeps running).
"""

RUN_HELP = """\
Run a locustfile with Locust's own command line: replace `locust` with
`tui-loadtest locust run` and keep the flags, e.g.

  tui-loadtest locust run -f locustfile.py --host http://localhost:5000 \\
      --users 1000 --spawn-rate 10 --headless --run-time 5m --html report.html

As in Locust, -H is the host, user class names may follow the flags, and the
flags may also come from LOCUST_* variables and from ~/.locust.conf,
./locust.conf, ./pyproject.toml ([tool.locust]) and --config FILE (the command
line first, then the variables, then --config, pyproject.toml, locust.conf,
~/.locust.conf). A locustfile's own flags (events.init_command_line_parser) are
read too.

"""

RUN_EPILOG = """\
exit codes:
  2    usage error: a flag Locust does not have, a bad value, a flag not
       supported here, a missing locustfile
"""

WATCH_EPILOG = """\
exit codes:
  0    quit
  2    usage error (a bad URL, an unusable store)
  3    the URL is unreachable or is not a Locust web UI
"""


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser(
        "locust",
        help="for Locust users: run a locustfile with Locust's flags, import a --csv run"
        " as a baseline, watch a running Locust",
        description="Bring Locust files and runs into tui-loadtest.",
    )
    lsub = top.add_subparsers(dest="locust_command", metavar="SUBCOMMAND")
    top.set_defaults(handler=lambda args: _usage(top))

    p = lsub.add_parser(
        "import",
        help="store a Locust --csv run as a baseline",
        description=IMPORT_HELP,
        epilog="exit codes:\n  0    stored\n  2    a missing or unreadable CSV file, a bad"
        " or taken name, an unusable store\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prefix", metavar="PREFIX", help="what Locust's --csv was given")
    p.add_argument("--name", metavar="NAME", required=True, help="baseline name")
    p.add_argument("--host", default="", help="the host Locust ran against (not in its CSV)")
    p.add_argument("--scenario", metavar="TEXT", help='scenario name (default "locust PREFIX")')
    p.add_argument("--overwrite", action="store_true", help="replace a baseline of that name")
    store_option(p, suppress=False)
    p.set_defaults(handler=cmd_import)

    from ..locust.flags import flags_help

    # Locust's flags are read by tui_loadtest.locust.options, not by argparse: with "+" as
    # this parser's prefix, every argument (-f, --headless, --help...) is one of them.
    p = lsub.add_parser(
        "run",
        help="run a locustfile with Locust's command line (replace `locust` with this)",
        description=RUN_HELP + flags_help(),
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        prefix_chars="+",
        add_help=False,
    )
    p.add_argument(
        "locust_args",
        nargs=argparse.REMAINDER,
        metavar="LOCUST_ARGS",
        help="Locust's command line as written after `locust`",
    )
    p.set_defaults(handler=lambda args, parser=p: cmd_run(args, parser))

    p = lsub.add_parser(
        "watch",
        help="the dashboard, fed live from a running Locust's web UI",
        description=WATCH_HELP,
        epilog=WATCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", metavar="URL", help="Locust's web UI, e.g. http://127.0.0.1:8089")
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between polls")
    store_option(
        p,
        suppress=False,
        help_="where b saves baselines (default: $TUI_LOADTEST_STORE, else per user)",
    )
    p.set_defaults(handler=cmd_watch)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from ..baselines import make_baseline, open_store
    from ..locust.csv_import import MISSING, read_locust_csv
    from ..store import BaselineExists

    result = read_locust_csv(args.prefix, host=args.host, scenario_name=args.scenario)
    baseline = make_baseline(
        result,
        args.name,
        source="locust",
        metadata={"prefix": str(args.prefix), "missing": list(MISSING)},
    )
    store = open_store(args.store)
    try:
        store.save(baseline, overwrite=args.overwrite)
    except BaselineExists:
        raise UserError(
            f'a baseline named "{args.name}" already exists (pass --overwrite to replace it)'
        ) from None
    s = result.summary
    note(
        f'Locust run "{args.prefix}" stored as baseline "{args.name}" in {store.path}:'
        f" {s.requests} requests, {len(result.endpoints)} endpoint(s);"
        f" not in Locust's CSV: {', '.join(m.replace('_', ' ') for m in MISSING)}"
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .. import __version__
    from ..locust.locustfiles import flags_of_locustfiles, locustfile_option, resolve_locustfiles
    from ..locust.options import parse_locust_args

    argv = list(args.locust_args)
    try:  # the locustfile's own flags, as Locust imports it before it parses
        extra = flags_of_locustfiles(resolve_locustfiles(locustfile_option(argv)))
    except UserError:
        extra = ()  # no such file: said after --help and --version had their chance
    options = parse_locust_args(argv, extra_flags=extra)
    if options.help:
        parser.print_help()
        return EXIT_OK
    if options.version:
        print(f"tui-loadtest {__version__} (Locust's command line)")
        return EXIT_OK
    for line in options.notes:
        note(line)
    files = resolve_locustfiles(options.locustfile)
    return run_locustfile(options, files)


def run_locustfile(options: Any, files: tuple[Path, ...]) -> int:
    """A Locust command line, run: list, ratios, a worker joining its master, or the load
    (standalone, --processes, or --master over Dask), with Locust's outputs and exit codes."""
    from ..locustfile.loader import load_locustfile
    from ..locustfile.ratio import task_ratio_json, task_ratio_text
    from ..pipeline.outputs import OutputOptions, prepare_outputs
    from ..scenario import apply_overrides
    from ..scenario.cluster import with_cluster_flags
    from .execute import execute, plan_workers
    from .run import with_shape

    if options.worker:
        if options.master:
            raise UserError("--worker: not with --master (one or the other)")
        from ..cluster.locust_mode import run_worker

        note(f"joining the master at {options.master_host}:{options.master_port} as a Dask worker")
        return run_worker(options.master_host, options.master_port)
    if len(files) != 1:
        shown = ", ".join(str(f) for f in files) or options.locustfile
        raise UserError(f"-f {shown}: one locustfile at a time here (got {len(files)})")
    file = str(files[0])
    only_looking = options.list_commands or options.show_task_ratio or options.show_task_ratio_json
    scenario, loaded = load_locustfile(
        file,
        class_names=options.user_classes,
        host=options.host,
        tags=options.tags,
        exclude_tags=options.exclude_tags,
        options=vars(options.parsed_options()),
        iterations=options.iterations,
        stop_timeout=float(options.stop_timeout),
        need_host=not only_looking,
    )
    for line in loaded.notes:
        note(line)
    if options.list_commands:
        print("Available Users:")
        for cls in loaded.classes:
            print(f"    {cls.__name__}")
        return EXIT_OK
    if options.show_task_ratio:
        print(task_ratio_text(loaded.classes, options.num_users))
        return EXIT_OK
    if options.show_task_ratio_json:
        print(task_ratio_json(loaded.classes, options.num_users))
        return EXIT_OK
    if scenario.locustfile is not None and not options.stop_timeout:
        # as Locust: at the stop, users are killed where they are, requests in flight too
        spec = replace(scenario.locustfile, abandon_at_stop=True)
        scenario = replace(scenario, locustfile=spec)
    scenario = apply_overrides(
        scenario,
        users=options.num_users or 1,
        spawn_rate=options.spawn_rate or 1,
        run_time=float(options.run_time) if options.run_time else None,
    )
    scenario, shape = with_shape(scenario, loaded.shape)
    outputs = prepare_outputs(
        OutputOptions(
            html=options.html_path(),
            csv=options.csv_prefix,
            scenario_file=file,
            exit_code_on_error=options.exit_code_on_error,
        )
    )
    scheduler = None
    pool = None
    try:
        if options.master:
            from ..cluster.locust_mode import start_scheduler

            address, scheduler = start_scheduler(options.master_bind_host, options.master_bind_port)
            note(
                f"master: a Dask scheduler on {options.master_bind_host}:"
                f"{options.master_bind_port}; waiting for {options.expect_workers} worker(s)"
            )
            scenario = with_cluster_flags(scenario, address=address, workers=options.expect_workers)
            wait = float(options.expect_workers_max_wait or 24 * 3600)
            pool, workers = open_pool(scenario, workers_flag=None, note=note, wait_s=wait)
        else:
            workers = plan_workers(scenario, options.process_count or 1)
        return execute(
            scenario,
            workers=workers,
            out=None,
            no_ui=options.headless,
            interval=2.0,
            outputs=outputs,
            pool=pool,
            shape=shape,
        )
    finally:
        if scheduler is not None:
            from ..cluster.locust_mode import stop_scheduler

            stop_scheduler(scheduler)


def cmd_watch(args: argparse.Namespace) -> int:
    from ..locust.watch import LocustWatch, probe

    if not args.interval > 0:
        raise UserError("--interval: expected a positive number of seconds")
    probe(args.url)  # unreachable or not Locust: one line, exit 3, before the app starts
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError("locust watch shows a dashboard: run it in a terminal")
    if args.store:  # where the dashboard's b saves (its default store reads this)
        from ..store.location import ENV_VAR

        os.environ[ENV_VAR] = args.store
    from ..ui import create_app

    source = LocustWatch(args.url, interval_s=args.interval)
    source.start()
    try:
        create_app(source).run()
    finally:
        source.close()
    return EXIT_OK
