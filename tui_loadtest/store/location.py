"""Where the baseline store lives: ``--store``, ``TUI_LOADTEST_STORE``, or a per-user default.

A team can keep one store in its repository by pointing both at the same file
(or folder) there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

ENV_VAR = "TUI_LOADTEST_STORE"
FILE_NAME = "baselines.sqlite3"


def default_store_path() -> Path:
    """The per-user store, e.g. ``~/.local/share/tui-loadtest/baselines.sqlite3`` on Linux."""
    return Path(platformdirs.user_data_dir("tui-loadtest", appauthor=False)) / FILE_NAME


def resolve_store_path(cli_value: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The store to use: the flag wins over the environment, which wins over the default.

    A path naming an existing folder (or ending in a separator) means the
    default file name inside it.
    """
    env = os.environ if env is None else env
    raw = cli_value or env.get(ENV_VAR) or ""
    if not raw.strip():
        return default_store_path()
    path = Path(raw).expanduser()
    if path.is_dir() or raw.endswith(("/", os.sep)):
        return path / FILE_NAME
    return path
