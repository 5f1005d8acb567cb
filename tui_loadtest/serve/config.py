"""What a ``serve`` process serves, the rule for where it may listen, and the ``Host``
names it answers to."""

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
    """The store, the folder ``test_results_file`` is read from, the Bearer token, and
    the names it answers to.

    With a ``token`` every ``/api/`` request must carry it; without one the
    server only answers reads and saves (``DELETE`` needs a token), and may
    only listen on loopback (:func:`check_bind`). ``bind_host`` and
    ``allowed_hosts`` say which ``Host`` headers are answered (:func:`host_allowed`).
    """

    store_path: Path
    results_dir: Path
    token: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    max_results_file_bytes: int = MAX_RESULTS_FILE_BYTES
    store_creates_folder: bool = False  # the per-user default store only (BaselineStore)
    bind_host: str = "127.0.0.1"  # the address it listens on (--host)
    allowed_hosts: frozenset[str] = frozenset()  # more names to answer to (--allowed-host)


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
    if token is not None and token and not token.strip():
        raise UsageError("--token: a token made only of whitespace can be guessed; give a real one")
    if token is not None and len(token.strip()) < MIN_TOKEN_CHARS:
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


def check_allowed_host(name: str) -> str:
    """An ``--allowed-host`` value: a bare host name or address (no scheme, port or path)."""
    clean = name.strip().lower().rstrip(".")
    if (
        not clean
        or any(ch.isspace() or ch in "/@?#" for ch in clean)
        or (":" in clean and not _ip(clean.strip("[]")))
    ):
        raise UsageError(
            f"--allowed-host {name!r}: give a host name or address as clients write it"
            " (e.g. loadtest.internal), without a scheme, port or path"
        )
    return clean.strip("[]")


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port, lower case, without a final dot."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:5000
        return value[1 : value.find("]")] if "]" in value else ""
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def host_allowed(header: str, config: ServeConfig) -> bool:
    """Whether a request's ``Host`` names this server.

    Loopback names and addresses always do, and so do the address it listens on
    and the ``--allowed-host`` names. Listening on every address (0.0.0.0, ::),
    any IP address does too: an address in ``Host`` cannot come from DNS
    rebinding, which needs a name the attacker controls.
    """
    name = host_name(header)
    if not name:
        return False
    if is_loopback(name) or name in config.allowed_hosts:
        return True
    bound = config.bind_host.strip().strip("[]").lower().rstrip(".")
    if name == bound:
        return True
    ip = _ip(bound)
    return ip is not None and ip.is_unspecified and _ip(name) is not None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
