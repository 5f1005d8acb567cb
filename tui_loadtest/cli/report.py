"""``tui-loadtest report FILE.ndjson``: the report of a run rebuilt from its ``--stream``
file (a run killed mid-way included): the summary, and the JSON, HTML or CSV files
a run writes."""

from __future__ import annotations

import argparse
import sys

from ..errors import EXIT_OK, UserError
from .args import Formatter, note


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report",
        help="rebuild a run's report from its --stream file (even after a crash)",
        description=(
            "Rebuild the report of a run from the file `run --stream FILE` wrote, one line per\n"
            "complete second: the summary, and --out/--html/--csv as a run writes them. A run\n"
            "that was killed gives the report of every second it completed.\n\n"
            "  tui-loadtest report run.ndjson --out run.json"
        ),
        formatter_class=Formatter,
    )
    report.add_argument("stream", metavar="FILE", help="the NDJSON file of run --stream")
    report.add_argument(
        "--out", metavar="FILE", help="write the JSON report to FILE (- for stdout)"
    )
    report.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    report.add_argument(
        "--csv", metavar="PREFIX", help="write Locust's four CSV files (PREFIX_stats.csv, ...)"
    )
    report.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    import contextlib

    from ..export.replay import replay
    from ..pipeline.outputs import check_files, output_failed, write_extra_formats
    from ..report.fit import output_width
    from ..report.json_report import report_json
    from ..report.output_files import STDOUT, OutputError, same_file, save_output
    from ..report.text import run_summary

    check_files(out=args.out, html=args.html, csv_prefix=args.csv, out_allows_stdout=True)
    for flag, path in (("--out", args.out), ("--html", args.html)):
        if path is not None and path != STDOUT and same_file(path, args.stream):
            raise UserError(f"{flag}: {path} is the stream file; give another name")
    result = replay(args.stream, note)
    written = True
    if args.out is not None:
        try:
            text = report_json(result.to_struct())
            path = save_output(args.out, text, what="the report", flag="--out", allow_stdout=True)
            if args.out != STDOUT:
                note(f"report written to {path}")
        except OutputError as exc:
            note(f"error: {exc}")
            written = False
    human = sys.stderr if args.out == STDOUT else sys.stdout
    with contextlib.redirect_stdout(human):
        print(run_summary(result, output_width(sys.stdout)), flush=True)
        written &= write_extra_formats(result, args.html, args.csv, keep=True)
    return EXIT_OK if written else output_failed(EXIT_OK)
