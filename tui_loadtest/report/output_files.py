"""Writing the files a user asked for (reports, HTML, CSV, exports) without harming anything else.

The rules, for every output the tool writes (docs/output-files.md says the same for users):

- **A regular file, or a name that does not exist yet:** written to a temp file
  beside it, then renamed into place, so a reader never sees half a file. A
  replaced file keeps its mode (and owner, when we run as root); a new one gets
  0666 minus the umask, like any other tool's output. An existing file we may
  not write (mode 0444) is refused, as ``cp`` would.
- **A symbolic link stays a link:** its final target is written as above, the
  temp file beside the *target*. A dangling link creates its target.
- **A device or FIFO** (``/dev/null``, ``/dev/stdout``, a named pipe): opened
  and written directly, never renamed over. Sockets are refused.
- **``-``** is standard output where the flag allows it (``--out``,
  ``baselines export``); elsewhere it is refused. A file really named ``-`` is
  ``./-``.
- **A missing folder** is one line; no folder is ever created.
- **An empty name** is one line.

:func:`check_output` applies the same rules before a run starts, so a typo
costs one line, not a run. :func:`save_output` is for what a run measured: if
the file cannot be written, the content goes to a fallback file in the temp
folder and the error names it, so nothing measured is lost.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import UserError, no_space_left, os_reason

STDOUT = "-"
STDOUT_LABEL = "standard output"


class OutputError(UserError):
    """An output could not be written where asked; ``fallback`` holds its content, if anywhere."""

    def __init__(self, message: str, fallback: Path | None = None) -> None:
        super().__init__(message)
        self.fallback = fallback


@dataclass(frozen=True)
class _Target:
    named: Path  # what the user gave
    real: Path  # where the bytes go (a link's final target)
    kind: str  # "new", "regular" or "special"
    st: os.stat_result | None


def _label(flag: str | None, path: object) -> str:
    return f"{flag}: {path}" if flag else str(path)


def _inspect(path: str | os.PathLike[str], flag: str | None) -> _Target:
    text = os.fspath(path)
    if not text.strip():
        raise UserError(f"{flag or 'output'}: expected a file name, got an empty one")
    named = Path(text)
    where = _label(flag, named)
    try:
        st: os.stat_result | None = os.stat(named)  # follows links, /dev/stdout's too
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UserError(f"{where}: cannot write: {os_reason(exc)}") from None
    linked = named.is_symlink()
    real = Path(os.path.realpath(named)) if linked else named
    if linked and _through_proc(named):
        # /dev/stdout, /dev/fd/N: "this open file", which may be a pipe with no path
        # (or a redirected file the shell still holds): write it in place, never rename.
        if st is None:
            raise UserError(f"{where}: cannot write: the link leads nowhere")
        return _Target(named, named, "special", st)
    if st is None:
        parent = real.parent
        if not parent.is_dir():
            what = "is not a folder" if parent.exists() else "does not exist (create it first)"
            raise UserError(f"{where}: the folder {parent} {what}")
        return _Target(named, real, "new", None)
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{where}: is a folder; give a file name")
    if stat.S_ISREG(st.st_mode):
        return _Target(named, real, "regular", st)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return _Target(named, named, "special", st)
    raise UserError(f"{where}: is a socket or other special file that cannot be written")


def _through_proc(link: Path) -> bool:
    """True when following ``link`` goes through /proc (the /dev/fd and /dev/stdout kind)."""
    seen = 0
    current = Path(os.path.abspath(link))
    if str(current).startswith("/proc/"):
        return True
    while current.is_symlink() and seen < 40:
        seen += 1
        nxt = Path(os.readlink(current))
        current = nxt if nxt.is_absolute() else current.parent / nxt
        if str(current).startswith("/proc/"):
            return True
    return False


def _stdout_refused(flag: str | None) -> UserError:
    return UserError(
        f"{flag or 'output'}: '-' (standard output) is not supported here;"
        " give a file name (./- for a file named -)"
    )


def check_output(
    path: str | os.PathLike[str] | None, flag: str, *, allow_stdout: bool = False
) -> None:
    """Fail now, with one line, if ``path`` could not be written at the end of a run.

    Nothing is left behind: the probe file made beside a regular file is removed.
    """
    if path is None:
        return
    if os.fspath(path) == STDOUT:
        if not allow_stdout:
            raise _stdout_refused(flag)
        return
    target = _inspect(path, flag)
    where = _label(flag, target.named)
    if target.kind == "special":
        if not os.access(target.real, os.W_OK):
            raise UserError(f"{where}: cannot write: permission denied")
        return
    if target.kind == "regular" and not os.access(target.real, os.W_OK):
        raise UserError(f"{where}: the file is read-only; not replacing it")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.real.name}.", suffix=".tmp",
                                     dir=target.real.parent)  # fmt: skip
    except OSError as exc:
        folder = target.real.parent
        raise UserError(f"{where}: cannot write in {folder}: {os_reason(exc)}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    if no_space_left(target.real.parent):
        raise UserError(f"{where}: cannot write: disk full")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two output names would write the same file (links followed)."""
    if STDOUT in (os.fspath(a), os.fspath(b)):
        return False
    return os.path.realpath(a) == os.path.realpath(b)


def write_output(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    newline: str | None = None,
    flag: str | None = None,
    allow_stdout: bool = False,
    stdout: TextIO | None = None,
) -> Path:
    """Write ``data`` to ``path`` by the rules above; a failure is one :class:`UserError` line.

    Returns the path written (``Path("-")`` for standard output).
    """
    if os.fspath(path) == STDOUT:
        if not allow_stdout:
            raise _stdout_refused(flag)
        stream = stdout or sys.stdout
        try:
            if isinstance(data, bytes):
                stream.flush()
                stream.buffer.write(data)
                stream.buffer.flush()
            else:
                stream.write(data)
                stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe, a terminal that hung up
            why = os_reason(exc) if isinstance(exc, OSError) else "closed"
            raise UserError(f"{_label(flag, STDOUT_LABEL)}: cannot write: {why}") from None
        return Path(STDOUT)
    target = _inspect(path, flag)
    where = _label(flag, target.named)
    try:
        if target.kind == "special":
            _write_direct(target.real, data, newline)
        else:
            _write_replacing(target, data, newline)
    except OSError as exc:
        raise UserError(f"{where}: cannot write: {os_reason(exc)}") from None
    return target.named


def _encode(data: str | bytes, newline: str | None) -> bytes:
    if isinstance(data, bytes):
        return data
    if newline is None:
        newline = os.linesep
    if newline not in ("", "\n"):
        data = data.replace("\n", newline)
    return data.encode("utf-8")


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _write_direct(real: Path, data: str | bytes, newline: str | None) -> None:
    """A device or FIFO: open it (no O_CREAT, no O_TRUNC, no rename) and write.

    A FIFO waits for its reader; O_APPEND makes /dev/stdout redirected to a file
    add to it rather than overwrite what the shell already wrote there.
    """
    fd = os.open(real, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0))
    try:
        _write_all(fd, _encode(data, newline))
    finally:
        os.close(fd)


def _write_replacing(target: _Target, data: str | bytes, newline: str | None) -> None:
    real = target.real
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        try:
            _write_all(fd, _encode(data, newline))
            if target.st is not None:
                os.fchmod(fd, stat.S_IMODE(target.st.st_mode) & 0o777)
                if os.geteuid() == 0:  # a root run keeps the user's file theirs
                    with contextlib.suppress(OSError):
                        os.fchown(fd, target.st.st_uid, target.st.st_gid)
            else:
                os.fchmod(fd, 0o666 & ~current_umask())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def current_umask() -> int:
    """The process umask, read without changing it when /proc allows (threads are running)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str, *, newline: str | None = None) -> Path:
    """Kept for callers of the old name: :func:`write_output` for text."""
    return write_output(path, text, newline=newline)


def save_output(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    what: str,
    newline: str | None = None,
    flag: str | None = None,
    allow_stdout: bool = False,
    stdout: TextIO | None = None,
) -> Path:
    """:func:`write_output` for what a run measured: never lose it.

    When ``path`` cannot be written, the content goes to a new file in the temp
    folder (else the current folder) and :class:`OutputError` names both.
    """
    try:
        return write_output(
            path, data, newline=newline, flag=flag, allow_stdout=allow_stdout, stdout=stdout
        )
    except UserError as exc:
        suffix = "".join(Path(os.fspath(path)).suffixes[-1:]) or ".txt"
        fallback, why = fallback_file(data, suffix=suffix, newline=newline)
        if fallback is not None:
            raise OutputError(f"{exc}; {what} was saved to {fallback} instead", fallback) from None
        raise OutputError(f"{exc}; {what} could not be saved elsewhere either ({why})") from None


def fallback_file(
    data: str | bytes, *, suffix: str, newline: str | None = None
) -> tuple[Path | None, str]:
    """Write ``data`` to a new private file in the temp folder, else here: (path, why not)."""
    why = ""
    for folder in (tempfile.gettempdir(), os.getcwd()):
        try:
            fd, name = tempfile.mkstemp(prefix="tui-loadtest-", suffix=suffix, dir=folder)
        except OSError as exc:
            why = os_reason(exc)
            continue
        try:
            _write_all(fd, _encode(data, newline))
            os.fsync(fd)
        except OSError as exc:
            why = os_reason(exc)
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(name)
            continue
        os.close(fd)
        return Path(name), ""
    return None, why
