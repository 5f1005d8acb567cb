"""What every command's parser shares: argument types, the store option, the help
formatter, the exit codes' text, and the one way to print a note.

A type here turns the text of one flag into a value or raises
``argparse.ArgumentTypeError`` with what was expected; argparse names the flag.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_CODES_HELP = """\
exit codes:
  0    the run completed
  1    a threshold failed or a significant regression was found; bench: every
       request failed
  N    with --exit-code-on-error N: a request or an iteration (a script task that
       raised) failed and no other code applies
  2    usage error, an invalid scenario file or store, or an output file that
       could not be written (its content went to a fallback file named on stderr)
  3    the target was unreachable for every request
  130  interrupted by Ctrl+C (SIGINT); the partial report is still written
  143  stopped by SIGTERM (what CI sends on a timeout), as Ctrl+C: partial report written
  129  stopped by SIGHUP (the terminal closed), likewise
  70   a worker process crashed or was killed (the report says how many seconds
       of its share are missing), or an internal error (a bug: please report it
       with the log file named)
"""

STORE_HELP = "baseline store file or folder (default: $TUI_LOADTEST_STORE, else per user)"


def note(text: str) -> None:
    """One line for the user on stderr (progress and results go to stdout)."""
    print(f"tui-loadtest: {text}", file=sys.stderr, flush=True)


class Parser(argparse.ArgumentParser):
    """A usage error is one line and a hint, not the usage block: the line says what
    was wrong with which argument, the hint where the command's help is."""

    def error(self, message: str) -> NoReturn:
        one_line = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {one_line} (see: {self.prog} --help)\n")


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks; flags get a wider column."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def user_count(text: str) -> int:
    """A number of users: positive, and no more than one run can have."""
    from ..scenario.checks import USERS_LIMIT
    from ..scenario.model import MAX_USERS

    value = positive_int(text)
    if value > MAX_USERS:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_USERS} {USERS_LIMIT}, got {text!r}"
        )
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A positive duration flag: "2", "0.5", "500ms", "1m"; at most one year."""
    from ..durations import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a duration greater than 0, got {text!r}")
    return value


def seconds_or_zero(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0s") else seconds(text)


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"expected a port number between 0 and 65535 (0 picks a free one), got {text!r}"
        )
    return value


def percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage like 10, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a percentage of 0 or more, got {text!r}")
    return value


def confidence(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a confidence like 95, got {text!r}") from None
    value = value / 100 if value > 1 else value
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a confidence between 50 and 99.99, got {text!r}"
        )
    return value


def exit_code(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an exit code 0-255, got {text!r}") from None
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"expected an exit code 0-255, got {text!r}")
    return value


def store_option(
    parser: argparse._ActionsContainer, *, suppress: bool = True, help_: str = STORE_HELP
) -> None:
    """``--store PATH``. ``suppress``: absent from the Namespace unless given (a parent
    parser shared by a command and its subcommands must not reset it)."""
    parser.add_argument(
        "--store",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help=help_,
    )
