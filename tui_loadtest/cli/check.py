"""``tui-loadtest check SCENARIO`` (and ``run --dry-run``): one user through every flow,
request or script task once, every request and response printed, then the verdict.

Exit codes: 0 when every status, capture and check passed; 1 when one failed (or a
request got no response); 2 for a scenario that cannot be read, as everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING

from ..errors import EXIT_GATE_FAILED, EXIT_OK, UserError
from .args import EXIT_CODES_HELP, Formatter, note, positive_int
from .tls_flags import add_tls_flags, apply_tls_flags

if TYPE_CHECKING:
    from ..scenario import Scenario

CHECK_EPILOG = """\
exit codes of check:
  0  every request got a response whose status, captures and checks passed
  1  a status, a capture or a (hard) check failed, or a request got no response
  2  the scenario cannot be read (one line says where)
"""


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check",
        help="dry run: one user through every flow, request or task, each exchange printed",
        description=(
            "Run a scenario once, as one user, and print every request and response:\n"
            "method, URL, status, time, headers and body (cut to 2 KB, its size given), the\n"
            "values captured and each check's result. Secrets show as <redacted>. Setup\n"
            "and teardown run around it. Nothing is measured: see what a run will send\n"
            "before a ten-minute one.\n\n"
            "  tui-loadtest check configs/journey.toml\n"
            "  tui-loadtest check shop.toml --iterations 3 --json | jq .response.status"
        ),
        epilog=CHECK_EPILOG + "\n" + EXIT_CODES_HELP,
        formatter_class=Formatter,
    )
    check.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="scenario TOML file or .py user script"
    )
    check.add_argument("-f", "--file", metavar="FILE", help="scenario file (as Locust's -f)")
    check.add_argument(
        "--host",
        metavar="URL",
        help='target base URL, e.g. http://127.0.0.1:8080 ("demo" for the built-in API)',
    )
    add_dry_run_flags(check, json_flag=True)
    add_tag_flags(check)
    add_tls_flags(check)
    check.set_defaults(handler=cmd_check)


def add_dry_run_flags(parser: argparse.ArgumentParser, *, json_flag: bool) -> None:
    """The flags ``check`` and ``run --dry-run`` share."""
    parser.add_argument(
        "--iterations",
        type=positive_int,
        default=1,
        metavar="N",
        help="dry run: go through every flow, request or task N times (default 1)",
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="dry run: show secrets (credentials, tokens, sensitive headers) as they are",
    )
    if json_flag:
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="one JSON object per exchange, a line each (no colours, no summary)",
        )


def add_tag_flags(parser: argparse.ArgumentParser) -> None:
    """``--tags`` and ``--exclude-tags`` (Locust's): what runs, by the scenario's tags."""
    parser.add_argument(
        "--tags",
        nargs="+",
        metavar="TAG",
        help="run only the requests, flows and steps with one of these tags (a locustfile's"
        " tasks too)",
    )
    parser.add_argument(
        "--exclude-tags",
        nargs="+",
        metavar="TAG",
        help="leave out the requests, flows and steps with one of these tags",
    )


def chosen_by_tags(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """The scenario with what ``--tags``/``--exclude-tags`` choose (each threshold they
    leave nothing to measure is said once and left out)."""
    from ..scenario.tags import select_tags

    chosen, notes = select_tags(scenario, args.tags, args.exclude_tags)
    for line in notes:
        note(line)
    return chosen


def cmd_check(args: argparse.Namespace) -> int:
    from ..scenario import apply_overrides, load_builtin_demo, load_scenario, script_scenario

    given = [g for g in (args.scenario, args.file) if g]
    if len(given) > 1:
        raise UserError("give one scenario: SCENARIO or -f FILE")
    source = given[0] if given else None
    if source is None:
        sc = load_builtin_demo()
    elif str(source).endswith(".py"):
        from ..locustfile.install import is_locustfile

        if is_locustfile(source):
            raise UserError(
                f"{source}: check runs scenarios and tui-loadtest scripts, not locustfiles"
                " (Locust's run_single_user does that for a locustfile)"
            )
        sc = script_scenario(source)
    else:
        sc = load_scenario(source, announce=note)
    sc = chosen_by_tags(sc, args)
    sc = apply_overrides(sc, host=args.host)
    sc = apply_tls_flags(sc, args)
    return run_dry(
        sc, iterations=args.iterations, show_secrets=args.show_secrets, as_json=args.as_json
    )


def run_dry(scenario: Scenario, *, iterations: int, show_secrets: bool, as_json: bool) -> int:
    """The dry run of ``scenario`` against its target, printed; the exit code."""
    from ..engine.setup import dry_run_with_setup
    from ..pipeline.dry_run import Painter, Shown, exchange_lines, exchange_record, summary_lines
    from ..pipeline.launch import target_url

    if scenario.http.transport == "httpx":
        raise UserError('the dry run uses the "fast" transport (remove transport = "httpx")')
    if scenario.locustfile is not None:
        raise UserError("check runs scenarios and tui-loadtest scripts, not locustfiles")
    with target_url(scenario, announce=note) as url:
        result, secrets = asyncio.run(dry_run_with_setup(scenario, url, iterations))
    shown = Shown(result, secrets, show_secrets)
    out = sys.stdout
    if as_json:
        for dry in result.exchanges:
            print(json.dumps(exchange_record(dry, shown), ensure_ascii=False), file=out)
    else:
        paint = Painter(out.isatty() and "NO_COLOR" not in os.environ)
        for i, dry in enumerate(result.exchanges):
            if i:
                print(file=out)
            print("\n".join(exchange_lines(dry, shown, paint)), file=out)
        print("\n".join(summary_lines(result, paint)), file=out)
    out.flush()
    return EXIT_OK if result.passed else EXIT_GATE_FAILED
