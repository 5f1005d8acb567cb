"""Exceptions the command line turns into one clear line and a documented exit code."""

from __future__ import annotations

import errno
import os

# Exit codes (documented in docs/reference/exit-codes.md).
EXIT_OK = 0
# A threshold failed or a significant regression was found; bench: every request failed.
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2  # bad flag, bad scenario file, bad store
EXIT_UNREACHABLE = 3  # the target refused or never answered every request
EXIT_INTERRUPTED = 130  # Ctrl+C; the partial report is still written
# A worker process crashed or was killed: the figures miss its share (EX_SOFTWARE,
# as an internal error: the run is not what was asked, whatever the gates say).
EXIT_WORKER_LOST = 70


class UserError(Exception):
    """An error caused by what the user gave us; printed as one line, no traceback."""

    exit_code = EXIT_USAGE


class ScenarioError(UserError):
    """A scenario file (or a flag overriding it) is invalid.

    The message already names the file, the key and what was expected, e.g.
    ``mixed.toml: load.users: expected a positive integer, got "ten"``.
    """


class UsageError(UserError):
    """A command-line usage error that argparse itself cannot detect."""


class SetupFailed(UserError):
    """The run's setup failed: no load was sent (exit 2, one line saying why)."""


class TargetUnreachable(UserError):
    """The target could not be reached at all."""

    exit_code = EXIT_UNREACHABLE


def os_reason(exc: OSError) -> str:
    """A few words for a failed file operation, the same everywhere ("disk full", not ENOSPC)."""
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or str(exc)


def no_space_left(folder: str | os.PathLike[str]) -> bool:
    """True when the file system holding ``folder`` has no block left for us."""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    return (fs.f_bfree if os.geteuid() == 0 else fs.f_bavail) == 0
