"""The command-line reference cannot drift from the parser.

docs/reference/cli.md is filled from ``build_parser()`` by docs/hooks/cli_reference.py when
mkdocs builds the site; here the same function runs alone, without mkdocs: every flag and
argument of every command must be in its command's section.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

from tui_loadtest.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"


def load_hook():
    path = ROOT / "docs" / "hooks" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def sections(markdown: str) -> dict[str, str]:
    """The generated page by command: "tui-loadtest baselines compare" -> its section."""
    parts = re.split(r"^## `([^`]+)`.*$", markdown, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def expected(parser: argparse.ArgumentParser) -> list[str]:
    """What a reader must find for each argument: every option string, or the positional."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [f"[`{name}`]" for name in action.choices]
        elif action.option_strings:
            found += [f"`{option}" for option in action.option_strings]
        else:
            found.append(f"`{action.metavar or action.dest}`")
    return found


def missing_flags(parser: argparse.ArgumentParser, markdown: str) -> list[str]:
    by_command = sections(markdown)
    missing = []
    for path, sub, _ in hook.commands(parser):
        section = by_command.get(" ".join(path), "")
        missing += [f"{' '.join(path)}: {flag}" for flag in expected(sub) if flag not in section]
    return missing


def test_the_cli_page_holds_every_command_and_flag_of_the_parser():
    parser = build_parser()
    markdown = hook.cli_reference(parser)
    commands = [" ".join(path) for path, _, _ in hook.commands(parser)]
    some = {"tui-loadtest run", "tui-loadtest baselines compare", "tui-loadtest locust watch"}
    assert some <= set(commands)
    assert list(sections(markdown)) == commands
    assert missing_flags(parser, markdown) == []


def test_a_flag_missing_from_the_cli_page_is_found():
    """The check can fail: a flag added to the parser after the page was written."""
    parser = build_parser()
    markdown = hook.cli_reference(parser)
    run = next(sub for path, sub, _ in hook.commands(parser) if path[1:] == ("run",))
    run.add_argument("--brand-new-flag", help="not on the page yet")
    assert missing_flags(parser, markdown) == ["tui-loadtest run: `--brand-new-flag"]


def test_the_cli_page_is_filled_by_the_hook():
    page = (REFERENCE / "cli.md").read_text()
    assert hook.MARKER in page and hook.PAGE == "reference/cli.md"

    class Page:
        class file:
            src_uri = "reference/cli.md"

    built = hook.on_page_markdown(page, Page, None, None)
    assert hook.MARKER not in built and "## `tui-loadtest bench`" in built


def test_help_text_cannot_break_the_page():
    text = hook._text("write <time>.json | PREFIX_stats.csv *all* [x]")
    assert "<time>" not in text and "\\|" in text and "\\_" in text and "\\*" in text
