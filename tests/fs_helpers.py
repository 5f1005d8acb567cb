"""Real file-system conditions for the output and store tests: a tiny tmpfs (full disk,
read-only mount) and a character device made with mknod. Each needs root; without it
(or where mounting is not permitted) the test is skipped, saying why."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tiny_fs(where: Path, size: str = "64k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (made here), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    where.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount_read_only(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, capture_output=True)


def fill(mount: Path) -> Path:
    """Fill the file system until ENOSPC; returns the filler file."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 4096
    try:
        while True:
            os.write(fd, block)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def null_device(where: Path) -> Path:
    """A character device with /dev/null's numbers, made inside a temp folder."""
    if os.geteuid() != 0:
        pytest.skip("mknod of a character device needs root")
    path = where / "null"
    try:
        os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))  # S_IFCHR
    except PermissionError as exc:
        pytest.skip(f"mknod not permitted here: {exc}")
    return path
