"""Getting a run ready: the target (the embedded demo, or the scenario's host) and a
fast check that it can be reached at all, so a dead host costs one line, not a run.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from ..errors import TargetUnreachable
from ..scenario import Scenario


@contextlib.contextmanager
def target_url(scenario: Scenario, announce: Callable[[str], None] | None = None) -> Iterator[str]:
    """Yield the base URL to load-test; start (and finally stop) the demo target if needed."""
    if scenario.host is not None:
        yield scenario.host
        return
    from ..demo import DemoServer

    server = DemoServer()
    try:
        url = server.start()
        if announce is not None:
            announce(f"embedded demo target listening on {url}")
        yield url
    finally:
        server.stop()


def preflight(url: str, timeout_s: float) -> None:
    """Open (and close) one TCP connection to the target, or raise TargetUnreachable."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetUnreachable(
            f"cannot reach {url}: cannot resolve {host!r} ({exc.strerror})"
        ) from None
    last: OSError | None = None
    for family, kind, proto, _, addr in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout_s)
                sock.connect(addr)
                return
        except OSError as exc:
            last = exc
    if isinstance(last, TimeoutError | socket.timeout):
        why = f"no answer within {timeout_s:g}s"
    elif isinstance(last, ConnectionRefusedError):
        why = "connection refused"
    else:
        why = (last.strerror if last else None) or str(last)
    raise TargetUnreachable(f"cannot reach {url}: {why}")
