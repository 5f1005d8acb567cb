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

from ..errors import EXIT_OK, UserError
from ..examples import Example, example, examples
from ..report.output_files import STDOUT, write_output

DEFAULT_SCENARIO = "scenario.toml"


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
            "  tui-loadtest init --journey login  # a journey: login once, captured values\n"
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
        help="a journey instead: ordered steps, a login once, values captured from responses",
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


def starter_text(name: str, filename: str, journey: bool = False) -> str:
    """The starter scenario (or journey), titled ``name``, telling how to run ``filename``."""
    kind = "journey.toml" if journey else "requests.toml"
    template = files("tui_loadtest.examples").joinpath("starter", kind)
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
    path = scenario_path(args.name)
    shown = "scenario.toml" if path == STDOUT else path
    _refuse_existing(path, args.force, "init")
    text = starter_text(title_for(path), shown, journey=args.journey)
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
    chosen = found if args.all else [named_example(n) for n in args.names]
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UserError(f"--dir: {folder}: no such folder")
    copies = {e.filename: e.text() for e in chosen}
    for e in chosen:  # the data files an example reads ([[data]] file = ...) go with it
        for name in _data_files(e):
            copies.setdefault(name, files("tui_loadtest.examples").joinpath(name).read_text())
    for name in copies:  # check them all before writing any
        _refuse_existing(str(folder / name), args.force, "examples")
    for name, text in copies.items():
        written = write_output(folder / name, text, flag="examples")
        print(f"wrote {written}", file=sys.stderr)
    return EXIT_OK


def _data_files(e: Example) -> list[str]:
    import tomllib

    data = tomllib.loads(e.text()).get("data") or []
    return [d["file"] for d in data if isinstance(d, dict) and isinstance(d.get("file"), str)]


def named_example(name: str) -> Example:
    """The packaged example ``name``, or one line listing the ones there are."""
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
