"""Which locustfiles a Locust command line names, found as Locust finds them.

Locust reads ``-f`` first, on its own (``parse_locustfile_option`` in
``locust/argument_parser.py``), imports the files, and only then parses the whole
command line, since a locustfile may add flags. :func:`locustfile_option` is that
first read (the command line, ``LOCUST_LOCUSTFILE``, the configuration files; any
other flag is passed over), :func:`resolve_locustfiles` turns its value into files,
and :func:`flags_of_locustfiles` finds the flags those files add
(:mod:`.custom_flags`), for :func:`.options.parse_locust_args`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

from ..errors import UsageError
from .config_files import read_config_file
from .custom_flags import custom_flags
from .flags import BY_DEST, Flag

DEFAULT_LOCUSTFILE = "locustfile.py"
_LOCUSTFILE = BY_DEST["locustfile"]
_CONFIG = BY_DEST["config"]


def _flag_value(argv: Sequence[str], flag: Flag) -> str | None:
    """The last value ``argv`` gives ``flag`` (``-f x``, ``-fx``, ``--locustfile=x``,
    a unique prefix of the long name), ignoring every other argument."""
    short = next((n for n in flag.names if not n.startswith("--")), None)
    found: str | None = None
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            break
        name, eq, attached = token.partition("=")
        if name.startswith("--") and len(name) > 3 and flag.long.startswith(name):
            if eq:
                found = attached
            elif i < len(argv):
                found, i = argv[i], i + 1
        elif short and token.startswith(short):
            rest = token[len(short) :]
            if rest:
                found = rest[1:] if rest.startswith("=") else rest
            elif i < len(argv):
                found, i = argv[i], i + 1
    return found


def locustfile_option(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    home: Path | str | None = None,
) -> str:
    """The ``-f`` value, with the precedence of the whole command line."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else Path(cwd)
    home = Path(os.path.expanduser("~")) if home is None else Path(home)
    given = _flag_value(argv, _LOCUSTFILE)
    if given is not None:
        return given
    if _LOCUSTFILE.env and env.get(_LOCUSTFILE.env):
        return env[_LOCUSTFILE.env]
    files = [(name, home / name[2:]) for name in ("~/.locust.conf",)]
    files += [(name, cwd / name) for name in ("locust.conf", "pyproject.toml")]
    config = _flag_value(argv, _CONFIG)
    if config is not None:
        path = Path(os.path.expanduser(config))
        files.append((config, path if path.is_absolute() else cwd / path))
    for label, path in reversed(files):
        if not path.is_file():
            continue
        settings = read_config_file(path, label)
        for key in _LOCUSTFILE.config_keys:
            value = settings.get(key)
            if isinstance(value, str):
                return value
    return DEFAULT_LOCUSTFILE


def resolve_locustfiles(locustfile: str, cwd: Path | str | None = None) -> tuple[Path, ...]:
    """``-f`` as files: comma-separated paths, a folder standing for every ``.py`` file
    under it (not those starting with ``_``, as Locust skips them)."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    found: list[Path] = []
    for part in (p.strip() for p in locustfile.split(",")):
        if not part:
            continue
        if part == "-":
            raise UsageError(
                "-f -: fetching the locustfile from the master is not supported; give the file"
            )
        parsed = urlparse(part)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            raise UsageError(f"-f {part}: a locustfile URL is not supported; download it first")
        path = Path(os.path.expanduser(part))
        path = path if path.is_absolute() else cwd / path
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*.py") if p.is_file() and not p.name.startswith("_")
            )
            if not inside:
                raise UsageError(f"-f {part}: no locustfiles (.py files) in this folder")
            found += inside
        elif path.is_file() and path.suffix == ".py":
            found.append(path)
        else:
            raise UsageError(f"-f {part}: no such locustfile (a .py file, or a folder of them)")
    if not found:
        raise UsageError("-f: no locustfile given")
    return tuple(found)


def flags_of_locustfiles(paths: Sequence[Path]) -> tuple[Flag, ...]:
    """The flags the files add for themselves; a file that does not parse adds none
    here (its syntax error is reported when it is loaded)."""
    flags: list[Flag] = []
    seen: set[str] = set()
    for path in paths:
        try:
            source = path.read_text(encoding="utf-8")
            found = custom_flags(source)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        for flag in found:
            if flag.long not in seen:  # two files may add the same flag (one imports the other)
                seen.add(flag.long)
                flags.append(flag)
    return tuple(flags)


__all__ = [
    "DEFAULT_LOCUSTFILE",
    "flags_of_locustfiles",
    "locustfile_option",
    "resolve_locustfiles",
]
