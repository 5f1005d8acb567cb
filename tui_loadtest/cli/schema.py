"""``tui-loadtest schema report``: the JSON Schema of the report file, for other tools."""

from __future__ import annotations

import argparse

from ..errors import EXIT_OK
from .args import Formatter


def register(sub: argparse._SubParsersAction) -> None:
    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of a file tui-loadtest writes",
        description=(
            "Print a JSON Schema (draft 2020-12), for validating files in other tools.\n"
            "  report   the JSON report (--out, bench, baselines export)"
        ),
        formatter_class=Formatter,
    )
    schema.add_argument("what", choices=["report"], metavar="FORMAT", help="report")
    schema.set_defaults(handler=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from ..stats.report_format import report_schema

    print(json.dumps(report_schema(), indent=2))
    return EXIT_OK
