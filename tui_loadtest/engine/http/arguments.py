"""A request from ``requests``-style arguments, for scripts and locustfiles alike.

``params=``, ``data=`` (a form dict, str, bytes, or an open file), ``json=``,
``files=`` (a multipart upload, with ``data=``'s fields), ``headers=``, ``cookies=``,
``auth=(user, password)`` and an absolute URL to any host become one request: its
target, its path with the query, its headers and its body.
A wrong argument is a ``TypeError`` (or ``ValueError``) that says what was expected,
raised in the task that passed it.

:class:`RequestBuilder` turns those into bytes for the fast transport. It keeps the
header block of each distinct set of headers (a user's headers rarely change between
requests), so a request costs a few joins.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import msgspec

from ..plan import USER_AGENT, Target

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
_PATH_SAFE = "/?&=%:@!$'()*+,;~#[]"
_encode_json = msgspec.json.Encoder().encode
MAX_BLOCKS = 4096


class Parts:
    """What one call asks for, before it becomes bytes."""

    __slots__ = ("method", "target", "path", "headers", "body", "content_type")

    def __init__(
        self,
        method: str,
        target: Target | None,
        path: str,
        headers: list[tuple[str, str | None]],
        body: bytes | None,
        content_type: str | None,
    ) -> None:
        self.method = method
        self.target = target  # None: the user's own target
        self.path = path  # with its query
        self.headers = headers
        self.body = body
        self.content_type = content_type


def request_parts(
    method: str,
    url: str,
    *,
    params: Any = None,
    data: Any = None,
    json: Any = None,
    headers: Mapping[str, Any] | None = None,
    cookies: Mapping[str, str] | None = None,
    auth: Any = None,
    files: Any = None,
) -> Parts:
    """The request that ``requests``-style arguments describe (checked)."""
    return parts_of(method, url, params, data, json, headers, cookies, auth, files)


def options_parts(method: str, url: str, options: Mapping[str, Any]) -> Parts:
    """:func:`request_parts` from a call's options: the keys that shape the request
    itself (the others, such as ``timeout``, shape how it is sent)."""
    get = options.get
    return parts_of(
        method,
        url,
        get("params"),
        get("data"),
        get("json"),
        get("headers"),
        get("cookies"),
        get("auth"),
        get("files"),
    )


def parts_of(
    method: str,
    url: str,
    params: Any,
    data: Any,
    json: Any,
    headers: Mapping[str, Any] | None,
    cookies: Mapping[str, str] | None,
    auth: Any,
    files: Any,
) -> Parts:
    """:func:`request_parts`, its arguments by position."""
    if not isinstance(method, str) or not method.strip():
        raise TypeError(f"method: expected a string like 'GET', got {method!r}")
    if isinstance(url, bytes):
        url = url.decode("latin-1")
    if not isinstance(url, str):
        raise TypeError(f"url: expected a path like '/items' or a URL, got {url!r}")
    target: Target | None = None
    if url.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError(f"url: no host in {url!r}")
        target = Target.from_url(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
    elif url.startswith("/"):
        path = url
    else:
        raise ValueError(f"url: expected a path starting with / or an http(s) URL, got {url!r}")
    if not path.isascii() or " " in path:
        path = quote(path, safe=_PATH_SAFE)
    if params is not None:
        query = _query(params)
        if query:
            path += ("&" if "?" in path else "?") + query
    out_headers = _headers(headers) if headers else []
    body, content_type = _multipart(data, files) if files else _body(data, json)
    if cookies:
        out_headers.append(("Cookie", _cookie_header(cookies)))
    if auth is not None:
        out_headers.append(("Authorization", basic_auth(auth)))
    return Parts(method.upper(), target, path, out_headers, body, content_type)


def _query(params: Any) -> str:
    if isinstance(params, str):
        return params.lstrip("?")
    if isinstance(params, bytes):
        return params.decode("latin-1").lstrip("?")
    if isinstance(params, Mapping):
        items: Iterable[Any] = params.items()
    elif isinstance(params, list | tuple):
        items = params
    else:
        raise TypeError(f"params: expected a dict, a list of pairs or a string, got {params!r}")
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise TypeError(f"params: expected (name, value) pairs, got {item!r}")
        name, value = item
        if value is None:
            continue  # as requests: a None value is left out
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), _text(v)) for v in values)
    return urlencode(pairs)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _headers(headers: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The call's headers; a None value (as in requests) takes that header out of the
    ones the user sends with every request."""
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers: expected a dict of names to values, got {headers!r}")
    out: list[tuple[str, str | None]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not name or any(c in name for c in ":\r\n "):
            raise ValueError(f"headers: {name!r} is not a header name")
        if value is None:
            out.append((name, None))
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        elif not isinstance(value, str):
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            else:
                raise TypeError(f"headers: the value of {name!r} must be a string, got {value!r}")
        if "\r" in value or "\n" in value:
            raise ValueError(f"headers: the value of {name!r} holds a line break")
        out.append((name, value))
    return out


def _body(data: Any, json: Any) -> tuple[bytes | None, str | None]:
    if data is not None:
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data), None
        if isinstance(data, str):
            return data.encode("utf-8"), None
        if isinstance(data, Mapping):
            return _form(data.items()), FORM
        if isinstance(data, list | tuple):
            return _form(data), FORM
        read = getattr(data, "read", None)
        if callable(read):
            content = read()
            return (content.encode("utf-8") if isinstance(content, str) else bytes(content)), None
        raise TypeError(
            "data: expected a dict (sent as a form), a string, bytes or an open file,"
            f" got {type(data).__name__}"
        )
    if json is not None:
        try:
            return _encode_json(json), JSON
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"json: cannot be encoded as JSON ({exc})") from None
    return None, None


def _multipart(data: Any, files: Any) -> tuple[bytes, str]:
    """``files=`` as requests sends it: ``data=``'s fields first, then each file, in one
    multipart/form-data body. A file is an open file, bytes or a string, or a tuple
    ``(filename, content[, content_type[, headers]])``; without a filename, the open
    file's own name, or else the field's."""
    boundary = uuid.uuid4().hex
    out: list[bytes] = []

    def part(name: str, content: bytes, filename: str | None, extra: list[tuple[str, str]]) -> None:
        disposition = f'form-data; name="{_quoted(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quoted(filename)}"'
        head = [("Content-Disposition", disposition), *extra]
        out.append(f"--{boundary}\r\n".encode())
        out.extend(f"{k}: {v}\r\n".encode() for k, v in head)
        out.append(b"\r\n" + content + b"\r\n")

    if data is not None and not isinstance(data, str | bytes):
        if not isinstance(data, Mapping | list | tuple):
            raise TypeError(f"data: with files=, expected a dict of fields, got {data!r}")
        fields = data.items() if isinstance(data, Mapping) else data
        for item in fields:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise TypeError(f"data: expected (name, value) pairs, got {item!r}")
            name, value = item
            for v in value if isinstance(value, list | tuple) else [value]:
                if v is not None:
                    part(_text(name), _content(v, "data"), None, [])
    elif data:
        raise TypeError("data: with files=, expected a dict of fields, not a body")
    if isinstance(files, Mapping):
        entries: Iterable[Any] = files.items()
    elif isinstance(files, list | tuple):
        entries = files
    else:
        raise TypeError(f"files: expected a dict of field names to files, got {files!r}")
    for entry in entries:
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise TypeError(f"files: expected (field, file) pairs, got {entry!r}")
        name, value = entry
        extra: list[tuple[str, str]] = []
        if isinstance(value, tuple | list):
            if not 2 <= len(value) <= 4:
                raise TypeError(
                    f"files: {name!r}: expected (filename, file[, content_type[, headers]])"
                )
            filename, content = value[0], value[1]
            if len(value) > 2 and value[2]:
                extra.append(("Content-Type", str(value[2])))
            if len(value) > 3 and value[3]:
                extra.extend((str(k), str(v)) for k, v in dict(value[3]).items())
        else:
            filename, content = _file_name(value) or str(name), value
        part(str(name), _content(content, f"files: {name!r}"), filename, extra)
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def _content(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    read = getattr(value, "read", None)
    if callable(read):
        got = read()
        return got.encode("utf-8") if isinstance(got, str) else bytes(got)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value).encode()
    raise TypeError(f"{what}: expected bytes, a string or an open file, got {type(value).__name__}")


def _file_name(value: Any) -> str | None:
    name = getattr(value, "name", None)
    if isinstance(name, str) and name and not (name.startswith("<") and name.endswith(">")):
        return os.path.basename(name)
    return None


def _quoted(text: str) -> str:
    """A name in a Content-Disposition header, escaped as urllib3 (so requests) does."""
    return "".join(_QUOTE.get(c, c) for c in text)


_QUOTE = {chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B} | {'"': "%22"}


def _form(items: Iterable[Any]) -> bytes:
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise TypeError(f"data: expected (name, value) pairs, got {item!r}")
        name, value = item
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((_text(name), _text(v)) for v in values if v is not None)
    return urlencode(pairs).encode("ascii")


def _cookie_header(cookies: Mapping[str, str]) -> str:
    if not isinstance(cookies, Mapping):
        raise TypeError(f"cookies: expected a dict of names to values, got {cookies!r}")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def basic_auth(auth: Any) -> str:
    """The Authorization header of ``auth=(user, password)``."""
    if not (isinstance(auth, tuple | list) and len(auth) == 2):
        raise TypeError(f"auth: expected a (user, password) pair, got {type(auth).__name__}")
    user, password = (_text(x) if isinstance(x, bytes | str) else str(x) for x in auth)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class RequestBuilder:
    """Request bytes for one worker's script or locustfile users: the defaults every
    request carries, each distinct header set's block kept once built."""

    def __init__(
        self, defaults: list[tuple[str, str]], keepalive: bool, accept_encoding: str
    ) -> None:
        base = [("User-Agent", USER_AGENT), ("Accept", "*/*")]
        if accept_encoding:
            base.append(("Accept-Encoding", accept_encoding))
        self.defaults = base + list(defaults)
        self.closing = b"" if keepalive else b"Connection: close\r\n"
        self._blocks: dict[tuple[tuple[str, str], ...], tuple[bytes, bool, bool]] = {}
        self._plain = (_header_block(self.defaults), False, False)

    def build(self, parts: Parts, target: Target, headers: Mapping[str, str] | None) -> bytes:
        """The bytes of ``parts`` sent to ``target``, with the user's ``headers``."""
        extra = parts.headers
        if headers or extra:
            merged: dict[str, str | None] = {**headers} if headers else {}
            for name, value in extra:
                lowered = name.lower()
                for old in [k for k in merged if k.lower() == lowered]:
                    del merged[old]  # the call's header replaces the user's, whatever case
                merged[name] = value
            items = tuple((k, v) for k, v in merged.items() if v is not None)
            block, has_type, has_host = self.block(items)
        else:
            block, has_type, has_host = self._plain
        method = parts.method
        line = f"{method} {target.prefix}{parts.path} HTTP/1.1\r\n"
        if not has_host:  # a Host header of the user's own wins (testing by address)
            line += f"Host: {target.host_header}\r\n"
        out = [line.encode("latin-1"), block]
        if target.proxy_auth and target.prefix:
            out.append(f"Proxy-Authorization: {target.proxy_auth}\r\n".encode("latin-1"))
        body = parts.body
        if parts.content_type is not None and not has_type:
            out.append(b"Content-Type: " + parts.content_type.encode("latin-1") + b"\r\n")
        if body is not None or method in _BODY_METHODS:
            out.append(b"Content-Length: %d\r\n" % len(body or b""))
        out.append(self.closing)
        out.append(b"\r\n")
        if body:
            out.append(body)
        return b"".join(out)

    def block(self, headers: tuple[tuple[str, str], ...]) -> tuple[bytes, bool, bool]:
        """The header lines for ``headers`` with the defaults they leave, and whether they
        set Content-Type and Host."""
        found = self._blocks.get(headers)
        if found is None:
            given = {name.lower() for name, _ in headers}
            defaults = [(n, v) for n, v in self.defaults if n.lower() not in given]
            block = _header_block(defaults) + _header_block(headers)
            found = (block, "content-type" in given, "host" in given)
            if len(self._blocks) >= MAX_BLOCKS:
                self._blocks.clear()
            self._blocks[headers] = found
        return found


def _header_block(headers: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r}: a line break or a colon is not allowed")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("utf-8")
