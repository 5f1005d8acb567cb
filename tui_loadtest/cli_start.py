"""Getting started: ``tui-loadtest init`` writes a commented starter scenario, and
``tui-loadtest examples`` lists and copies the example scenarios shipped in the package.

Neither replaces a file the user has without ``--force``; both write through
:mod:`tui_loadtest.report.output_files`, the rules every output follows.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib.resources import files
from pathlib import Path

from .errors import EXIT_OK, UserError
from .examples import Example, example, examples
from .report.output_files import STDOUT, write_output

DEFAULT_SCENARIO = "scenario.toml"
JOURNEYS_MISSING = (
    "--journey: journeys (ordered steps with values captured from responses) are not in "
    "this version yet; `tui-loadtest init` writes a scenario of independent requests"
)


def register(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser(
        "init",
        help="write a commented starter scenario to edit",
        description=(
            "Write a starter scenario: every common key, commented, set to run against\n"
            "the built-in demo API until you change `host`. Never replaces a file\n"
            "without --force."
        ),
        epilog=(
            "examples:\n"
            "  tui-loadtest init                  # writes scenario.toml\n"
            "  tui-loadtest init checkout         # writes checkout.toml\n"
            "  tui-loadtest init - > my.toml      # to standard output\n"
            "then:\n"
            "  tui-loadtest run scenario.toml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument(
        "name",
        nargs="?",
        default=DEFAULT_SCENARIO,
        metavar="NAME",
        help=f'file to write (".toml" added if missing; default {DEFAULT_SCENARIO}; "-": stdout)',
    )
    init.add_argument(
        "--journey",
        action="store_true",
        help="a multi-step journey with captured values (once journeys are supported)",
    )
    init.add_argument("--force", action="store_true", help="replace NAME if it exists")
    init.set_defaults(handler=cmd_init)

    ex = sub.add_parser(
        "examples",
        help="list the example scenarios, or copy them here to edit",
        description=(
            "Without NAME: list the example scenarios that ship with tui-loadtest.\n"
            "With NAMEs (or --all): copy them into --dir (default: the current folder).\n"
            "Run one without copying it: tui-loadtest run --example NAME."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.add_argument("names", nargs="*", metavar="NAME", help="examples to copy, e.g. mixed")
    ex.add_argument("--all", action="store_true", help="copy every example")
    ex.add_argument("--dir", default=".", metavar="DIR", help="where to copy (default: here)")
    ex.add_argument("--force", action="store_true", help="replace files that exist")
    ex.set_defaults(handler=cmd_examples)


def starter_text(name: str, filename: str) -> str:
    """The starter scenario, titled ``name``, telling how to run ``filename``."""
    template = files("tui_loadtest.examples").joinpath("starter", "requests.toml")
    text = template.read_text(encoding="utf-8")
    title = name.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("__NAME__", title).replace("__FILE__", filename)


def scenario_path(name: str) -> str:
    """``checkout`` → ``checkout.toml``; a name with a suffix, or ``-``, is kept."""
    if name == STDOUT or Path(name).suffix:
        return name
    return name + ".toml"


def title_for(path: str) -> str:
    """``checkout-api.toml`` → ``Checkout api``: the scenario's starting name."""
    stem = Path(path).stem if path != STDOUT else "my api"
    words = re.sub(r"[-_.]+", " ", stem).strip() or "my api"
    return words[0].upper() + words[1:]


def cmd_init(args: argparse.Namespace) -> int:
    if args.journey:
        raise UserError(JOURNEYS_MISSING)
    path = scenario_path(args.name)
    shown = "scenario.toml" if path == STDOUT else path
    _refuse_existing(path, args.force, "init")
    text = starter_text(title_for(path), shown)
    written = write_output(path, text, flag="init", allow_stdout=True)
    if path != STDOUT:
        print(f"wrote {written}: edit it, then run it with", file=sys.stderr)
        print(f"  tui-loadtest run {_quoted(path)}", file=sys.stderr)
    return EXIT_OK


def cmd_examples(args: argparse.Namespace) -> int:
    found = examples()
    if not args.names and not args.all:
        width = max(len(e.name) for e in found)
        for e in found:
            print(f"{e.name:<{width}}  {e.summary}")
        print(
            "\ncopy one to edit it:  tui-loadtest examples NAME"
            "      run one:  tui-loadtest run --example NAME",
            file=sys.stderr,
        )
        return EXIT_OK
    chosen = found if args.all else [_named(n) for n in args.names]
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UserError(f"--dir: {folder}: no such folder")
    for e in chosen:  # check them all before writing any
        _refuse_existing(str(folder / e.filename), args.force, "examples")
    for e in chosen:
        written = write_output(folder / e.filename, e.text(), flag="examples")
        print(f"wrote {written}", file=sys.stderr)
    return EXIT_OK


def _named(name: str) -> Example:
    found = example(name)
    if found is None:
        names = ", ".join(e.name for e in examples())
        raise UserError(f"examples: no example named {name!r} (there are: {names})")
    return found


def _refuse_existing(path: str, force: bool, flag: str) -> None:
    if path == STDOUT or not os.path.lexists(path):
        return
    if not force:
        raise UserError(f"{flag}: {path} exists; not replacing it (--force replaces it)")
    if os.path.isdir(path):
        raise UserError(f"{flag}: {path} is a folder")


def _quoted(path: str) -> str:
    return path if re.fullmatch(r"[\w./-]+", path) else repr(path)
