"""Target URLs: the ``host`` of a scenario and the URL of ``tui-loadtest bench``.

Only absolute http(s) URLs are accepted. Errors are ``ValueError("expected ...")``
so the caller can put the file and key (or the flag) in front of them.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# Spaces and control characters must be percent-encoded in a URL or a path.
SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_BRACKETED = re.compile(r"\[[^\[\]]+\](:[0-9]*)?")
_IPV6_HINT = 'expected an IPv6 address between [ and ], like "http://[::1]:5000"'


def normalize_host(text: str | None) -> str | None:
    """Return ``scheme://host[:port]`` without a trailing slash, or None for the demo.

    "demo", "" and None select the embedded demo target. Paths belong in
    ``[[requests]]`` and credentials in headers, so a host holding either is
    rejected rather than half-used. Raises ``ValueError("expected ...")``.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError('expected "demo" or a URL like "http://127.0.0.1:5000"')
    stripped = text.strip()
    if stripped == "" or stripped.lower() == "demo":
        return None
    return split_url(stripped, allow_path=False)[0]


def split_url(text: str, *, allow_path: bool) -> tuple[str, str]:
    """Split an absolute http(s) URL into ``(origin, path_and_query)``."""
    example = "http://127.0.0.1:5000/api/health" if allow_path else "http://127.0.0.1:5000"
    if "://" not in text:
        raise ValueError(f'expected a URL starting with http:// or https:// (like "http://{text}")')
    if SPACE_OR_CONTROL.search(text):
        raise ValueError(f'expected a URL without spaces (percent-encode them), like "{example}"')
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # urllib's own words ("Invalid IPv6 URL") name no fix
        if "[" in text or "]" in text or "IPv6" in str(exc):
            raise ValueError(_IPV6_HINT) from None
        raise ValueError(f'expected a URL like "{example}"') from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f'expected a URL starting with http:// or https://, like "{example}"')
    if "@" in parts.netloc:
        raise ValueError("expected a URL without user:password@ (send credentials in a header)")
    bracketed = "[" in parts.netloc
    if not bracketed and parts.netloc.count(":") > 1:
        raise ValueError(_IPV6_HINT)
    if not parts.hostname:
        raise ValueError(f'expected a URL with a host name, like "{example}"')
    if bracketed:
        try:
            if not _BRACKETED.fullmatch(parts.netloc):
                raise ValueError
            ipaddress.IPv6Address(parts.hostname.partition("%")[0])
        except ValueError:
            raise ValueError(_IPV6_HINT) from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f'expected a port number between 1 and 65535, like "{example}"')
    if parts.netloc.endswith(":"):
        raise ValueError(f'expected a port number after ":", like "{example}"')
    origin = f"{scheme}://{parts.netloc}"
    if not allow_path:
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                'expected a URL without a path, like "http://127.0.0.1:5000" '
                "(put paths in [[requests]])"
            )
        return origin, ""
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return origin, path
