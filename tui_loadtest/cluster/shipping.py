"""A user script and the modules it imports from its own folder, as files for a
cluster's engines (a remote machine has neither at the coordinator's path).

What travels is what the script imported from its folder when the scenario loaded
(``ScriptSpec.modules``), bounded: more than :data:`MAX_FILES` files or
:data:`MAX_BYTES` in all is refused with one line naming them, before any load.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..engine.pool import PoolError
from ..scenario.model import LocustfileSpec, ScriptSpec

MAX_FILES = 64  # the script included
MAX_BYTES = 4 * 1024 * 1024  # sent to every engine at its start
SHOWN = 8  # files named in the refusal; the rest are counted

__all__ = ["MAX_BYTES", "MAX_FILES", "safe_relative", "script_files"]


def script_files(spec: ScriptSpec | LocustfileSpec) -> dict[str, bytes]:
    """``{path relative to the script's folder: content}``: the script (or locustfile)
    first, then its folder's modules. Raises :class:`PoolError` (one line) when one
    cannot be read or they are more than a cluster run ships."""
    folder = Path(spec.path).parent
    names = [Path(spec.path).name, *spec.modules]
    files: dict[str, bytes] = {}
    for name in names:
        try:
            files[name] = (folder / name).read_bytes()
        except OSError as exc:
            what = "the script" if name == names[0] else f"{name}, which the script imports,"
            raise PoolError(f"cannot read {what} ({exc.strerror or exc})") from None
    size = sum(len(data) for data in files.values())
    if len(files) > MAX_FILES or size > MAX_BYTES:
        shown = ", ".join(spec.modules[:SHOWN])
        if len(spec.modules) > SHOWN:
            shown += f" and {len(spec.modules) - SHOWN} more"
        raise PoolError(
            f"{spec.file} imports {len(spec.modules)} modules from its folder"
            f" ({size / 1024 / 1024:.1f} MiB with the script), more than a cluster run ships"
            f" ({MAX_FILES} files, {MAX_BYTES // 1024 // 1024} MiB): {shown}; install them on"
            " every worker as a package instead"
        )
    return files


def safe_relative(name: str) -> PurePosixPath:
    """A shipped file's relative path, checked: nothing absolute and no ``..`` (a file
    is written inside the engine's own folder, never elsewhere)."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise ValueError(f"not a relative path inside the script's folder: {name!r}")
    return path
