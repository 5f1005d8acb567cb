"""What a web page must not make a browser do to ``serve``, as ASGI middleware.

A page on any site can send a "simple" cross-site request without a preflight,
and a page on a name the attacker controls can be rebound to 127.0.0.1 (DNS
rebinding), so loopback alone protects nothing. Before any route runs:

- the ``Host`` header must name this server (:func:`.config.host_allowed`): a
  rebound page sends its own name;
- an ``Origin`` header, when there is one, must be this server's own: browsers
  send it on every cross-origin POST and every ``fetch``, while curl and
  scripts send none.

The third rule, JSON bodies only on writes (a simple request cannot carry
``application/json``), is checked where the body is read (``app._json_body``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from .config import ServeConfig, host_allowed, host_name
from .errors import ApiError

Scope = dict[str, Any]
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class RequestGuard:
    """Refuse, with 403 and one line, a foreign ``Host`` or a cross-origin ``Origin``."""

    def __init__(self, app: Any, config: ServeConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            refusal = self.check(_headers(scope))
            if refusal is not None:
                await _answer(send, refusal)
                return
        await self.app(scope, receive, send)

    def check(self, headers: dict[bytes, list[bytes]]) -> ApiError | None:
        hosts = headers.get(b"host", [])
        host = hosts[0].decode("latin-1") if len(hosts) == 1 else ""
        if not host_allowed(host, self.config):
            shown = host_name(host) or "(none)"
            return ApiError(
                403,
                "bad_host",
                f"Host {shown} is not a name this server answers to (loopback names, the"
                " address it listens on, and the names given with --allowed-host)",
            )
        for origin in (o.decode("latin-1") for o in headers.get(b"origin", [])):
            if not same_origin(origin, host):
                return ApiError(
                    403,
                    "cross_origin",
                    f"Origin {origin} is another site: this API answers clients"
                    " (curl, scripts), not web pages",
                )
        return None


def same_origin(origin: str, host: str) -> bool:
    """Whether ``Origin`` names the server the request's ``Host`` names (``null``: never)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return False
    if port == DEFAULT_PORTS[parts.scheme]:
        port = None
    try:
        host_port = urlsplit(f"//{host.strip()}").port
    except ValueError:
        return False
    if host_port in (80, 443):
        host_port = None
    return (parts.hostname.rstrip("."), port) == (host_name(host), host_port)


def _headers(scope: Scope) -> dict[bytes, list[bytes]]:
    """Every value of each header: two ``Host`` headers name no server, and every
    ``Origin`` must be this one."""
    found: dict[bytes, list[bytes]] = {}
    for key, value in scope.get("headers") or []:
        found.setdefault(key.lower(), []).append(value)
    return found


async def _answer(send: Any, error: ApiError) -> None:
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
