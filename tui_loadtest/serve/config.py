"""What a ``serve`` process serves, and the rule for where it may listen."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

MAX_BODY_BYTES = 10 * 1024 * 1024  # request bodies above this get 413
MAX_RESULTS_FILE_BYTES = 200 * 1024 * 1024  # a results file read from the results folder
MIN_TOKEN_CHARS = 16
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class ServeConfig:
    """The store, the folder ``test_results_file`` is read from, and the Bearer token.

    With a ``token`` every ``/api/`` request must carry it; without one the
    server only answers reads and saves (``DELETE`` needs a token), and may
    only listen on loopback (:func:`check_bind`).
    """

    store_path: Path
    results_dir: Path
    token: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    max_results_file_bytes: int = MAX_RESULTS_FILE_BYTES
    store_creates_folder: bool = False  # the per-user default store only (BaselineStore)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the usual names for them."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse, as one line, a non-loopback address without a token, or a guessable token."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise UsageError(
            f"--token: use at least {MIN_TOKEN_CHARS} characters"
            " (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    if not is_loopback(host) and not token:
        raise UsageError(
            f"--host {host}: listening beyond loopback needs --token"
            " (or TUI_LOADTEST_SERVE_TOKEN): anyone who can reach the port could"
            " read and write the store"
        )
