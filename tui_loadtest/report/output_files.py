"""Writing text outputs (reports, HTML, CSV) atomically, with one-line errors."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import UserError


def write_text_atomic(path: str | Path, text: str, *, newline: str | None = None) -> Path:
    """Write beside ``path`` and rename into place, so readers never see half a file."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise
    return path
