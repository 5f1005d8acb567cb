"""Text that fits where it is printed: the width to fit, and long lines wrapped
between words with a hanging indent, never in the middle of a word (a terminal
wraps a line too long for it wherever its edge falls).

On a terminal the width is its own (``shutil.get_terminal_size``, so ``COLUMNS``
wins); elsewhere (a file, a pipe, a CI log) it is :data:`PIPED_WIDTH`, at which
every table keeps the guide's layout.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Iterable
from typing import TextIO

# Not a terminal: wide enough for every table at its full width (the guide's endpoint
# table is 102 columns, the errors table 119), narrow enough to read prose in a log.
PIPED_WIDTH = 120
MIN_WIDTH = 40  # narrower than this, tables cannot keep a column for each figure
# What a wrapped line's next lines are indented by: past a list's number or a
# threshold's mark; two spaces otherwise.
_LEAD = re.compile(r"\d+\. |[✓✗] |\s+")


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


def output_width(stream: TextIO) -> int:
    """The columns to fit text printed to ``stream`` to (see the module's docstring)."""
    if not is_terminal(stream) and not os.environ.get("COLUMNS"):
        return PIPED_WIDTH
    return max(MIN_WIDTH, shutil.get_terminal_size((PIPED_WIDTH, 24)).columns)


def wrap_line(line: str, width: int) -> list[str]:
    """``line`` as lines of at most ``width`` columns, broken between words; a word
    longer than a whole line (a URL) is the only thing ever cut."""
    if len(line) <= width:
        return [line]
    lead = _LEAD.match(line)
    indent = " " * len(lead.group(0)) if lead else "  "
    return textwrap.wrap(
        line,
        width=width,
        subsequent_indent=indent[: width // 2],
        break_on_hyphens=False,
        replace_whitespace=False,
    ) or [line]


def fit_text(line: str, width: int | None) -> str:
    """``line`` broken between words to ``width`` columns (None: as it is)."""
    return line if width is None else "\n".join(wrap_line(line, width))


def fit_lines(lines: Iterable[str], width: int) -> list[str]:
    """Every line of ``lines`` wrapped to ``width`` (tables are laid out to fit first)."""
    return [part for line in lines for part in wrap_line(line, width)]


def rule(char: str, width: int) -> str:
    """A rule as the guide draws it (80 columns), or the terminal's width if narrower."""
    return char * min(80, width)


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns: cut with an ellipsis when longer."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
