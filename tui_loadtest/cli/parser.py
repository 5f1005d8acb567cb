"""The whole command line's parser: the top level, and each command's part from its
own module (``run``, ``check``, ``bench``, ``baselines``, ``serve``, ``locust``, ``demo-server``,
``init``/``examples``, ``schema``, ``completion``).

The docs' CLI reference is generated from :func:`build_parser`, so it cannot drift.
"""

from __future__ import annotations

import argparse

from .. import __version__
from . import baselines, bench, check, completion, demo, locust, report, run, schema, serve, start
from .args import EXIT_CODES_HELP, Formatter, Parser

# In the order ``--help`` lists them.
COMMANDS = (run, check, bench, report, demo, schema, baselines, serve, completion, start, locust)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tui-loadtest",
        description=(
            "Load-test HTTP APIs from the terminal: a live dashboard, a headless mode for CI,\n"
            "JSON reports, and baselines to compare runs against.\n\n"
            "Start with:  tui-loadtest run        (the dashboard against a built-in demo API)"
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser
