"""The command-line reference, generated from the argparse parser when the site is built.

``docs/reference/cli.md`` holds the marker line below; this mkdocs hook replaces it with
every command and subcommand of ``tui_loadtest.cli.build_parser()``, each argument and
flag with its help, so the page says what ``--help`` says and cannot drift from it.
``cli_reference()`` needs argparse only: ``tests/test_cli_reference.py`` calls it without
mkdocs and fails when a flag of the parser is missing from what it writes.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from typing import Any

MARKER = "<!-- cli-reference -->"
PAGE = "reference/cli.md"
PROG = "tui-loadtest"


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (PROG,)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """Every parser under ``parser``, depth first: (command words, parser, one-line help)."""
    yield path, parser, ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                for sub_path, sub_parser, sub_help in commands(sub, (*path, name)):
                    yield sub_path, sub_parser, sub_help or helps.get(name, "")


def anchor(path: tuple[str, ...]) -> str:
    """The heading id of a command: ``run``, ``baselines-compare``; the program is ``usage``."""
    return "-".join(path[1:]) or "usage"


def cli_reference(parser: argparse.ArgumentParser) -> str:
    """Markdown for every command of ``parser``: usage, description, arguments, epilog."""
    shared = _paragraphs(parser.epilog or "")
    parts = []
    for path, sub, help_ in commands(parser):
        parts.append(_command(path, sub, help_, shared if len(path) > 1 else []))
    return "\n".join(parts)


def _command(
    path: tuple[str, ...], parser: argparse.ArgumentParser, help_: str, shared: list[str]
) -> str:
    title = " ".join(path)
    out = [f"## `{title}` {{ #{anchor(path)} }}", ""]
    if help_:
        out += [_text(help_[:1].upper() + help_[1:]) + ".", ""]
    formatter = parser._get_formatter()
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, "")
    usage = formatter.format_help().strip()
    out += ["```text", usage, "```", ""]
    description = parser.description or ""
    if description.strip().rstrip(".").lower() != help_.strip().rstrip(".").lower():
        out += _prose_and_code(description)  # (many subcommands repeat their help line)
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in subcommands:
        out += ["| command | does |", "|---|---|"]
        for choice in action._choices_actions:
            link = anchor((*path, choice.dest))
            out.append(f"| [`{choice.dest}`](#{link}) | {_text(choice.help or '')} |")
        out.append("")
    for group in parser._action_groups:
        rows = [a for a in group._group_actions if not isinstance(a, argparse._SubParsersAction)]
        rows = [a for a in rows if a.help is not argparse.SUPPRESS]
        if not rows:
            continue
        out += [f"**{_text(group.title or 'arguments')}**", ""]
        out += ["| argument | meaning |", "|---|---|"]
        for action in rows:
            invocation = formatter._format_action_invocation(action)
            names = ", ".join(f"`{part}`" for part in invocation.split(", "))
            meaning = formatter._expand_help(action) if action.help else ""
            if action.required and action.option_strings:
                meaning = "required; " + meaning
            out.append(f"| {names} | {_text(meaning)} |")
        out.append("")
    epilog = [p for p in _paragraphs(parser.epilog or "") if p not in shared]
    if shared and len(epilog) < len(_paragraphs(parser.epilog or "")):
        out += ["Exit codes: as for every command ([Exit codes](exit-codes.md)).", ""]
    for paragraph in epilog:
        out += _prose_and_code(paragraph)
    return "\n".join(out)


def _paragraphs(text: str) -> list[str]:
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]


def _prose_and_code(text: str) -> list[str]:
    """Help text as argparse prints it: indented lines (examples, lists) stay as written."""
    out: list[str] = []
    for paragraph in _paragraphs(text):
        lines = paragraph.split("\n")
        i = 0
        while i < len(lines):
            indented = lines[i].startswith(" ")
            j = i
            while j < len(lines) and lines[j].startswith(" ") == indented:
                j += 1
            block = lines[i:j]
            if indented:
                out += ["```text", *(line[2:] if line.startswith("  ") else line for line in block)]
                out += ["```", ""]
            else:
                out += [_text(" ".join(line.strip() for line in block)), ""]
            i = j
    return out


_ESCAPE = re.compile(r"([\\`*_\[\]|#])")


def _text(text: str) -> str:
    """Plain help text, safe in a Markdown paragraph or table cell."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _ESCAPE.sub(r"\\\1", text)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs hook: fill the CLI page from the parser."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"{PAGE}: the marker {MARKER} is missing")
    from tui_loadtest.cli import build_parser

    return markdown.replace(MARKER, cli_reference(build_parser()))
