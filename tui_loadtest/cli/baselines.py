"""``tui-loadtest baselines ...``: browse, list, show, compare, add runs to, export,
import, rename, report and delete the saved runs in the store.

Heavy imports stay inside the handlers, so ``tui-loadtest --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_GATE_FAILED, EXIT_OK, UserError
from .args import confidence, note, percent, store_option

if TYPE_CHECKING:
    from ..stats.result import RunResult
    from ..store import Baseline, BaselineStore


# --------------------------------------------------------------------- registration


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``baselines ...`` (called by ``cli.parser.build_parser``)."""
    from ..baselines import SORT_KEYS

    common = argparse.ArgumentParser(add_help=False)
    store_option(common)
    top = sub.add_parser(
        "baselines",
        parents=[common],
        help="saved runs: browse, compare, report (the app without a subcommand)",
        description=(
            "Baselines are saved runs kept in a local SQLite store. Without a subcommand,\n"
            "the app opens on the baseline list."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.set_defaults(handler=cmd_browse)
    bsub = top.add_subparsers(dest="baselines_command", metavar="SUBCOMMAND")

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p = bsub.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    p = add("list", cmd_list, "list the stored baselines")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--sort",
        choices=SORT_KEYS,
        default="date",
        help="sort key (default date: newest first; rps: highest first; others ascending)",
    )
    p.add_argument("--reverse", action="store_true", help="reverse the order")
    p.add_argument(
        "--wide",
        action="store_true",
        help="never shorten the scenario and host to fit the terminal (names never are)",
    )
    p.add_argument("--filter", metavar="TEXT", help="keep names, scenarios or hosts with TEXT")

    p = add(
        "add-run",
        cmd_add_run,
        "add a run to baseline NAME from its JSON report (every run of a --repeat report);"
        " with 3 runs or more on a side, compare judges over run-to-run variance",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("report", metavar="REPORT", help="a JSON report (--out) of the same scenario")

    p = add("show", cmd_show, "show one baseline: figures, endpoints, errors, environment")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the stored report as JSON")

    p = add(
        "compare", cmd_compare, "compare baseline A (before) with B (after); exit 1 if B regressed"
    )
    p.add_argument("a", metavar="A", help="baseline name (or a JSON report file)")
    p.add_argument("b", metavar="B", help="baseline name (or a JSON report file)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--threshold",
        type=percent,
        default=10.0,
        metavar="PCT",
        help="smallest change that counts, in %% (default 10)",
    )
    p.add_argument(
        "--confidence",
        type=confidence,
        default=0.95,
        metavar="C",
        help="confidence over the whole table (default 95)",
    )

    p = add("delete", cmd_delete, "delete a baseline")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    p = add("export", cmd_export, "write a baseline as a JSON report (FILE, or - for stdout)")
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "file", metavar="FILE", nargs="?", help="default baseline_NAME.json in the current folder"
    )

    p = add("import", cmd_import, "store a JSON report or an exported baseline")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", metavar="NAME", help="name to store it under")
    p.add_argument("--overwrite", action="store_true", help="replace a baseline of that name")

    p = add("rename", cmd_rename, "rename baseline A to B")
    p.add_argument("old", metavar="A")
    p.add_argument("new", metavar="B")
    p.add_argument("--overwrite", action="store_true", help="replace a baseline named B")

    p = add("report", cmd_report, 'print the "Performance Baseline Report"')
    p.add_argument("name", metavar="NAME")
    p.add_argument("--out", metavar="FILE", help="also write the text to FILE")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--csv", metavar="PREFIX", help="write Locust-style CSV files")

    p = add("create", cmd_create, "make a baseline from a JSON report file")
    p.add_argument("--from", dest="source", metavar="FILE", required=True, help="report file")
    p.add_argument("--name", metavar="NAME", required=True, help="baseline name")
    p.add_argument("--overwrite", action="store_true", help="replace a baseline of that name")


def _store(args: argparse.Namespace) -> BaselineStore:
    from ..baselines import open_store
    from ..pipeline.outputs import not_empty

    not_empty(getattr(args, "store", None), "--store", "a store file or folder")
    return open_store(getattr(args, "store", None))


# ------------------------------------------------------------------- the commands


def cmd_browse(args: argparse.Namespace) -> int:
    """``tui-loadtest baselines``: the app on the list screen, or the list when not a terminal."""
    store = _store(args)
    store.list()  # a damaged or newer store fails here, as one line, before the app starts
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        note("not a terminal: printing the list (as with `baselines list`)")
        return cmd_list(argparse.Namespace(store=str(store.path), json=False, sort="date",
                                           reverse=False, filter=None, wide=False))  # fmt: skip
    from ..ui.baselines_app import run_baselines_app

    run_baselines_app(store)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from ..baselines import filter_infos, sort_infos
    from ..store import describe_skipped

    store = _store(args)
    found, skipped = store.scan()
    if skipped:
        note("warning: " + describe_skipped(skipped))
    infos = sort_infos(filter_infos(found, args.filter), args.sort, args.reverse)
    if args.json:
        print(json.dumps({"store": str(store.path), "baselines": [i.to_dict() for i in infos],
                          "skipped": [{"name": r.name, "reason": r.reason} for r in skipped]},
                         indent=2))  # fmt: skip
        return EXIT_OK
    if not infos:
        print(f"No baselines in {store.path}" + (" match." if args.filter else "."))
        return EXIT_OK
    width = None if args.wide else shutil.get_terminal_size().columns
    print("\n".join(list_lines(infos, width)))
    print(f"\n{len(infos)} baseline(s) in {store.path}")
    return EXIT_OK


MIN_CUT = 12  # scenario and host are shortened to no less than this (names never)


def list_lines(infos: list, width: int | None) -> list[str]:
    """The list as a table. Names are printed whole (they are typed into ``show`` and
    ``compare``), however long; the scenario and host share what is left of ``width``
    columns (None: no limit, as ``--wide``), each cut to no less than MIN_CUT."""
    from ..report.formatting import fmt_ms, fmt_pct, fmt_rate

    name_w = max(len("Name"), *(len(i.name) for i in infos))
    scen_w = max(len("Scenario"), *(len(i.scenario_name) for i in infos))
    host_w = max(len("Host"), *(len(i.host) for i in infos))
    rating_w = max(len("Rating"), *(len(i.rating.label) for i in infos))
    fixed = name_w + 1 + 19 + 1 + 1 + 9 + 1 + 8 + 1 + 7 + 2 + rating_w  # all but those two
    hosts = [i.host for i in infos]
    if width is not None and fixed + 1 + scen_w + host_w > width:
        hosts = [h.split("://", 1)[-1] for h in hosts]  # the scheme goes before anything else
        host_w = max(len("Host"), *(len(h) for h in hosts))
        room = max(2 * MIN_CUT, width - fixed - 1)
        # The shorter keeps its width when it fits in half; the longer takes the rest.
        if scen_w <= host_w:
            scen_w = max(MIN_CUT, min(scen_w, room // 2))
            host_w = max(MIN_CUT, room - scen_w)
        else:
            host_w = max(MIN_CUT, min(host_w, room // 2))
            scen_w = max(MIN_CUT, room - host_w)
    head = (
        f"{'Name':<{name_w}} {'Created':<19} {'Scenario':<{scen_w}} {'Host':<{host_w}} "
        f"{'Req/s':>9} {'P95 ms':>8} {'Errors':>7}  Rating"
    )
    lines = [head, "-" * (len(head) - len("Rating") + rating_w)]
    for i, host in zip(infos, hosts, strict=True):
        lines.append(
            f"{i.name:<{name_w}} {i.created_at[:19]:<19} {_cut(i.scenario_name, scen_w):<{scen_w}} "
            f"{_cut(host, host_w):<{host_w}} {fmt_rate(i.rps):>9} {fmt_ms(i.p95_ms):>8} "
            f"{fmt_pct(i.error_rate):>7}  {i.rating.label}"
        )
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(baseline: Baseline) -> list[str]:
    """Who, when and where: the lines ``show`` prints above the figures."""
    r = baseline.result
    env = r.environment
    meta = baseline.metadata
    lines = [
        f"Baseline: {baseline.name}",
        f"Created: {baseline.created_at}",
        f"Scenario: {r.scenario_name}",
        f"Host: {r.host}",
        f"Environment: tui-loadtest {env.get('tool_version') or r.version or '?'}, Python"
        f" {env.get('python') or '?'}, {env.get('workers') or r.load.get('workers') or 1}"
        f" worker(s)" + (f", on {meta['machine']}" if meta.get("machine") else ""),
        f"Source: {meta.get('source', 'unknown')}"
        + (f" ({meta['file']})" if meta.get("file") else ""),
    ]
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    from ..baselines import export_data
    from ..report.fit import output_width
    from ..report.text import run_summary

    baseline = _store(args).load(args.name)
    if args.json:
        print(json.dumps(export_data(baseline), indent=2))
        return EXIT_OK
    print("\n".join(describe(baseline)))
    print()
    print(run_summary(baseline.result, output_width(sys.stdout)))
    return EXIT_OK


def _resolve(store: BaselineStore, ref: str) -> tuple[str, RunResult, str]:
    """A baseline by name, else a report file by path: (label, result, description)."""
    from ..report.json_report import read_report
    from ..store import BaselineNotFound

    try:
        b = store.load(ref)
        return b.name, b.result, f"{b.created_at}, {b.result.scenario_name}, {b.result.host}"
    except BaselineNotFound:
        path = Path(ref)
        if path.suffix.lower() == ".json" and path.is_file():
            r = read_report(path)
            return path.name, r, f"{r.started_at}, {r.scenario_name}, {r.host}"
        raise


def cmd_compare(args: argparse.Namespace) -> int:
    from ..compare.repeated import compare_results
    from ..report.compare_text import comparison_text, differences_line

    store = _store(args)
    name_a, a, desc_a = _resolve(store, args.a)
    name_b, b, desc_b = _resolve(store, args.b)
    c = compare_results(
        a,
        b,
        threshold=args.threshold / 100,
        confidence=args.confidence,
        baseline_name=name_a,
        current_name=name_b,
    )
    if args.json:
        print(json.dumps(c.to_dict(), indent=2))
    else:
        print(comparison_text(c, desc_a, desc_b))
    if c.differences:
        note(differences_line(c))
    return EXIT_GATE_FAILED if c.regressions else EXIT_OK


def cmd_add_run(args: argparse.Namespace) -> int:
    """Add a report's run (all of them, for a --repeat report) to a stored baseline."""
    from ..compare import scenario_differences
    from ..report.json_report import read_report

    store = _store(args)
    result = read_report(args.report)
    new = result.runs or [result]
    if any(r.interrupted or r.unreachable or not r.summary.requests for r in new):
        raise UserError(f"{args.report}: a run that did not complete cannot join a baseline")
    base = store.load(args.name)  # a missing name: one line, with a suggestion
    differ = scenario_differences(base.result, result)
    if differ:
        raise UserError(
            f'{args.report}: another scenario than baseline "{args.name}" ({"; ".join(differ)});'
            " a baseline's runs must all be of one scenario"
        )
    saved = store.add_runs(args.name, new)
    note(f'baseline "{args.name}" now holds {len(saved.runs)} runs ({store.path})')
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store(args)
    if not store.exists(args.name):
        store.load(args.name)  # raises the "no baseline named ..." error with suggestions
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(f'delete "{args.name}": confirm with --yes when not at a terminal')
        answer = input(f'Delete baseline "{args.name}" from {store.path}? [y/N] ')
        if answer.strip().lower() not in ("y", "yes"):
            print("Not deleted.")
            return EXIT_OK
    store.delete(args.name)
    print(f'Deleted baseline "{args.name}".')
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from ..baselines import export_data, export_file_name
    from ..report.json_report import json_text
    from ..report.output_files import STDOUT, check_output, write_output

    target = args.file
    check_output(target, "FILE", allow_stdout=True)
    baseline = _store(args).load(args.name)
    data = export_data(baseline)
    if target == STDOUT:
        write_output(target, json_text(data), allow_stdout=True)
        return EXIT_OK
    path = write_output(target or export_file_name(baseline.name), json_text(data), flag="FILE")
    note(f'baseline "{baseline.name}" written to {path}')
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from ..baselines import make_baseline
    from ..report.json_report import read_exported

    result, block = read_exported(args.file)
    name = args.name or (block.name if block else None)
    if not name:
        raise UserError(f"{args.file}: a plain report has no baseline name; pass --name NAME")
    meta = dict(block.metadata) if block else {}
    meta.setdefault("source", "import")
    meta["file"] = str(args.file)
    baseline = make_baseline(result, name, source=meta["source"], metadata=meta)
    if block and block.created_at:
        baseline.created_at = block.created_at
    store = _store(args)
    _save_or_explain(store, baseline, args.overwrite)
    note(f'imported "{baseline.name}" into {store.path}')
    return EXIT_OK


def cmd_rename(args: argparse.Namespace) -> int:
    _store(args).rename(args.old, args.new, overwrite=args.overwrite)
    print(f'Renamed "{args.old}" to "{args.new}".')
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ..pipeline.outputs import check_files, write_extra_formats
    from ..report.baseline_text import baseline_report
    from ..report.fit import PIPED_WIDTH, output_width
    from ..report.output_files import write_output

    check_files(out=args.out, html=args.html, csv_prefix=args.csv)
    baseline = _store(args).load(args.name)
    text = baseline_report(baseline, PIPED_WIDTH)  # a file: as piped output
    print(baseline_report(baseline, output_width(sys.stdout)))
    if args.out is not None:
        note(f"report written to {write_output(args.out, text + chr(10), flag='--out')}")
    write_extra_formats(baseline.result, args.html, args.csv, title=f"Baseline: {baseline.name}")
    return EXIT_OK


def cmd_create(args: argparse.Namespace) -> int:
    from ..baselines import make_baseline
    from ..report.json_report import read_report

    result = read_report(args.source)
    baseline = make_baseline(result, args.name, source="report", metadata={"file": args.source})
    store = _store(args)
    _save_or_explain(store, baseline, args.overwrite)
    note(f'baseline "{baseline.name}" created in {store.path}')
    return EXIT_OK


def _save_or_explain(store: BaselineStore, baseline: Baseline, overwrite: bool) -> None:
    from ..store import BaselineExists

    try:
        store.save(baseline, overwrite=overwrite)
    except BaselineExists:
        raise UserError(
            f'a baseline named "{baseline.name}" already exists (pass --overwrite to replace it)'
        ) from None
