"""``test_results_file``: a file inside the results folder, and nowhere else.

The name must be relative, without ``..``, and once every link in it is
resolved the file must still lie inside the folder. It is opened without
following a final link and must be a regular file (a FIFO would block the
server, a device would never end). ``field`` names where the name came from
(the body's ``test_results_file``, or ``compare``'s ``baseline`` and ``run``),
so an error says which one was wrong.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import ApiError, bad_request, not_found


def resolve_results_file(root: Path, name: str, field: str = "test_results_file") -> Path:
    """The file ``name`` names inside ``root`` (already resolved), or an ApiError."""
    if not isinstance(name, str) or not name.strip():
        raise bad_request(f"{field}: expected a file name", "bad_path")
    if "\x00" in name or "\\" in name:
        raise bad_request(f"{field}: NUL and backslashes are not allowed", "bad_path")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith("~"):
        raise bad_request(
            f"{field}: give a name relative to the results folder, not an absolute path",
            "bad_path",
        )
    if ".." in posix.parts:
        raise bad_request(f"{field}: '..' is not allowed", "bad_path")
    try:
        candidate = (root / posix).resolve()
    except (OSError, RuntimeError):  # a link loop
        raise bad_request(f"{field}: {name}: cannot be resolved", "bad_path") from None
    if not candidate.is_relative_to(root):
        raise bad_request(
            f"{field}: {name}: leads outside the results folder (a link?)", "bad_path"
        )
    if not candidate.exists():
        raise not_found(f"{field}: no file {name} in the results folder")
    return candidate


def read_results_file(path: Path, name: str, limit: int, field: str = "test_results_file") -> bytes:
    """The bytes of a regular file, opened without following a final link, up to ``limit``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise not_found(f"{field}: no file {name} in the results folder") from None
    except OSError as exc:
        raise bad_request(
            f"{field}: {name}: cannot be opened ({exc.strerror or exc})", "bad_path"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise bad_request(f"{field}: {name}: not a regular file", "bad_path")
        if info.st_size > limit:
            raise ApiError(413, "too_large", f"{field}: {name} is over {limit} bytes")
        with os.fdopen(fd, "rb") as fh:
            fd = -1  # the file object owns it now
            return fh.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
