"""Reading response heads and rewriting request bytes, off the hot path.

The fast users send pre-built request bytes and never parse a response's headers on
the way. When a response needs more (its ``Set-Cookie`` headers, the ``Location`` of
a redirect, its ``Content-Encoding``), these functions read the raw head, and
rewrite the request bytes for what comes next (a ``Cookie`` header added, the next
hop of a redirect).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from ..plan import Target
from .encoding import content_codings, decode

# Statuses a redirect is followed on (the others in 3xx are answers: 300, 304...).
HEAD_END = b"\r\n\r\n"  # where a message's head ends
REDIRECTS = bytes(1 if s in (301, 302, 303, 307, 308) else 0 for s in range(1000))
NO_REDIRECTS = bytes(1000)


def head_block(raw: bytes) -> bytes:
    """The status line and headers of a raw response (without the blank line)."""
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[:end]


def head_of(raw: bytes) -> bytes:
    """The status line and headers of a kept response (up to the blank line)."""
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 2]


def body_of(raw: bytes) -> bytes:
    """The body of a kept response, de-chunked when it came chunked."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return b""
    if raw.find(b"chunked", 0, end) >= 0 and _CHUNKED.search(raw, 0, end):
        return _dechunk(raw[end + 4 :])
    return raw[end + 4 :]


_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    i = 0
    while True:
        eol = data.find(b"\r\n", i)
        if eol < 0:
            break
        size_text = data[i:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            break
        if size == 0:
            break
        out.append(data[eol + 2 : eol + 2 + size])
        i = eol + 2 + size + 2
    return b"".join(out)


def decoded_response(raw: bytes, limit: int) -> bytes | None:
    """``raw`` with its body decoded, when its head says Content-Encoding (None when it
    does not): the head without Content-Encoding, Content-Length and Transfer-Encoding,
    the blank line, the decoded body. Raises ``DecodeError`` or ``BodyTooLarge``."""
    codings = [c for v in header_values(raw, b"content-encoding") for c in content_codings(v)]
    if not codings:
        return None
    body = decode(body_of(raw), codings, limit)
    head = [
        line
        for line in head_block(raw).split(b"\r\n")
        if line.partition(b":")[0].strip().lower() not in _BODY_FRAMING
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_BODY_FRAMING = (b"content-encoding", b"content-length", b"transfer-encoding")


def header_values(raw: bytes, name: bytes) -> list[str]:
    """Every value of header ``name`` (lower case) in a raw response's head."""
    found = []
    for line in head_block(raw).split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            found.append(value.strip().decode("latin-1"))
    return found


def header_value(raw: bytes, name: bytes) -> str | None:
    """The last value of header ``name`` (lower case), or None."""
    values = header_values(raw, name)
    return values[-1] if values else None


def has_set_cookie(raw: bytes) -> bool:
    """Does the head hold a Set-Cookie header? (The hot path's cheap test, ``b"ookie:" in
    head``, also matches a body; this is the exact one.)"""
    return any(line[:11].lower() == b"set-cookie:" for line in head_block(raw).split(b"\r\n"))


def request_target(data: bytes) -> tuple[str, str]:
    """(method, path) of raw request bytes (the path as sent, with its query)."""
    line = data[: data.find(b"\r\n")].decode("latin-1")
    method, _, rest = line.partition(" ")
    path = rest.rpartition(" ")[0]
    return method, path


def with_cookie(data: bytes, cookie: str) -> bytes:
    """Request bytes with ``cookie`` (a Cookie header's value) added: appended to the
    request's own Cookie header if it has one, else as a header of its own."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return data
    head = data[: end + 2]
    lowered = head.lower()
    at = lowered.find(b"\r\ncookie:")
    value = cookie.encode("latin-1")
    if at >= 0:
        eol = head.find(b"\r\n", at + 2)
        own = head[at + 9 : eol].strip()
        joined = own + b"; " + value if own else value
        return head[: at + 2] + b"Cookie: " + joined + head[eol:] + data[end + 2 :]
    return head + b"Cookie: " + value + b"\r\n" + data[end + 2 :]


def resolve(origin: Target, path: str, location: str) -> tuple[Target, str] | None:
    """Where a redirect's ``Location`` points from ``origin`` + ``path``: (target, path
    with query), or None when it is not an http(s) URL."""
    base = f"{origin.scheme}://{origin.host_header}{path}"
    url = urljoin(base, location.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    target = Target.from_url(url)
    new_path = parts.path or "/"
    if parts.query:
        new_path += "?" + parts.query
    return target, new_path


def redirected_method(method: str, status: int) -> tuple[str, bool]:
    """The next hop's method and whether the body goes with it, as browsers and
    ``requests`` do: 303 makes every method but HEAD a GET; 301 and 302 make a POST a
    GET; 307 and 308 keep both."""
    if status == 303 and method != "HEAD":
        return "GET", False
    if status in (301, 302) and method == "POST":
        return "GET", False
    return method, status in (307, 308)


_DROP_WITH_BODY = (b"content-length", b"content-type", b"transfer-encoding")


def next_hop(
    data: bytes, status: int, origin: Target, target: Target, path: str
) -> tuple[str, bytes]:
    """The request bytes of a redirect's next hop from the bytes sent (``data``): the
    method and body by :func:`redirected_method`, the new path and Host, the
    request's own headers (its Authorization only on the same origin; the Cookie
    header is left to the jar). Returns (method, bytes)."""
    end = data.find(b"\r\n\r\n")
    method, _ = request_target(data)
    new_method, keep_body = redirected_method(method, status)
    same_origin = target == origin
    lines = [f"{new_method} {target.prefix}{path} HTTP/1.1".encode("latin-1")]
    for line in data[:end].split(b"\r\n")[1:]:
        name = line.partition(b":")[0].strip().lower()
        if name == b"host":
            line = b"Host: " + target.host_header.encode("latin-1")
        elif name in (b"cookie", b"proxy-authorization"):
            continue  # the jar sends what the new URL may have; the proxy's is added below
        elif name == b"authorization" and not same_origin:
            continue  # credentials stay with their origin, as requests does
        elif name in _DROP_WITH_BODY and not keep_body:
            continue
        lines.append(line)
    if target.proxy_auth and target.prefix:
        lines.append(b"Proxy-Authorization: " + target.proxy_auth.encode("latin-1"))
    body = data[end + 4 :] if keep_body else b""
    return new_method, b"\r\n".join(lines) + b"\r\n\r\n" + body
