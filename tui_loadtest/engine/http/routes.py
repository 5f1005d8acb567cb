"""Which proxy a request goes through: ``[http] proxy``, else the environment's
``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` (as curl and requests read them).

A plain-http request goes to the proxy in absolute form (``GET http://host/path``);
an https one through a ``CONNECT`` tunnel, TLS to the target inside it. Only proxies
spoken to in the clear (``http://proxy:port``) are supported.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import unquote, urlsplit


class ProxyError(ValueError):
    """A proxy setting that cannot be used."""


def proxy_for(scheme: str, host: str, setting: str | None) -> str | None:
    """The proxy URL for a request to ``scheme://host``: the scenario's ``setting``
    ("" for none), else the environment's (None: go direct)."""
    if setting is not None:
        return setting or None
    env = urllib.request.getproxies_environment()
    url = env.get(scheme)
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not url or bypass(host, env):
        return None
    return url


def parse_proxy(url: str) -> tuple[str, int, str | None]:
    """(host, port, Proxy-Authorization value or None) of a proxy URL."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http":
        raise ProxyError(
            f"proxy {parts.scheme}://{parts.hostname}: only proxies spoken to over plain http "
            "(http://HOST:PORT) are supported"
        )
    if not parts.hostname:
        raise ProxyError(f"proxy {url!r}: expected http://HOST:PORT")
    auth = None
    if parts.username is not None:
        import base64

        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode()
    return parts.hostname, parts.port or 80, auth
