"""``tui-loadtest bench URL [TOTAL_REQUESTS [CONCURRENT_USERS]]``: exactly N requests to
one URL from C users, ab/hey-style (the guide's ``performance_test.py URL total
concurrent``), headless, with a report file by default."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..pipeline.outputs import prepare_outputs
from .args import EXIT_CODES_HELP, Formatter, positive_int, seconds, user_count
from .execute import execute, plan_workers
from .outputs import output_flags, output_options
from .request_flags import add_request_flags, adhoc_request
from .tls_flags import add_tls_flags, apply_tls_flags


def register(sub: argparse._SubParsersAction) -> None:
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
        formatter_class=Formatter,
    )
    bench.add_argument("url", metavar="URL")
    bench.add_argument(
        "total",
        nargs="?",
        type=positive_int,
        default=1000,
        metavar="TOTAL_REQUESTS",
        help="default 1000",
    )
    bench.add_argument(
        "users",
        nargs="?",
        type=user_count,
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
        "--workers", type=positive_int, default=1, metavar="N", help="worker processes (default 1)"
    )
    bench.add_argument(
        "--timeout",
        type=seconds,
        default=10.0,
        metavar="S",
        help="per-request timeout in seconds (default 10)",
    )
    bench.add_argument(
        "-n", "--requests", dest="total_flag", type=positive_int, metavar="N",
        help="total requests (as TOTAL_REQUESTS; with -z: stop at N or the duration)",
    )  # fmt: skip
    bench.add_argument(
        "-c", "--concurrency", dest="users_flag", type=user_count, metavar="C",
        help="concurrent users (as CONCURRENT_USERS)",
    )  # fmt: skip
    bench.add_argument(
        "-z", "--duration", metavar="T", help='send for T ("30s", "5m") instead of a count'
    )
    add_request_flags(bench)
    add_tls_flags(bench)
    bench.set_defaults(handler=cmd_bench)


def bench_load(total: int, users: int, duration: str | None, count_given: bool) -> dict[str, Any]:
    """The ``[load]`` of a bench: every user from the start, sharing the requests (or
    sending for the duration, and at most the requests when a count was given too)."""
    from ..scenario import AT_ONCE  # the spawn rate that starts every user at once

    load: dict[str, Any] = {"users": users, "spawn_rate": AT_ONCE}
    if duration:
        load["run_time"] = duration
    if not duration or count_given:
        load["requests"] = total
    return load


def cmd_bench(args: argparse.Namespace) -> int:
    from ..report.json_report import default_report_name
    from ..scenario import url_scenario

    load = bench_load(
        args.total_flag or args.total,
        args.users_flag or args.users,
        args.duration,
        args.total_flag is not None,
    )
    http = {"timeout": args.timeout}  # seconds, already checked by its type
    scenario = apply_tls_flags(
        url_scenario(args.url, adhoc_request(args), load=load, http=http), args
    )
    out = args.out if args.out is not None else str(Path.cwd() / default_report_name())
    args.out = out  # output_options checks --out (or the default) too
    # Every request failed: exit 1 (a dead path is no benchmark); run keeps k6's rule.
    outputs = prepare_outputs(replace(output_options(args, scenario), fail_when_all_failed=True))
    return execute(
        scenario,
        workers=plan_workers(scenario, args.workers),
        out=out,
        no_ui=True,
        interval=2.0,
        outputs=outputs,
    )
