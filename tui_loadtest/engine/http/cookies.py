"""A cookie jar per virtual user, as RFC 6265 (section 5) has user agents keep one.

Every ``Set-Cookie`` header of a response is read: its domain (host-only unless a
``Domain`` attribute widens it to a domain the host is in), its path (the request's
directory unless ``Path`` says otherwise), its expiry (``Max-Age`` before
``Expires``; zero or past deletes), and ``Secure`` (sent over https only). The
``Cookie`` header of a request holds the matching cookies, longer paths first.

Built for the engine's speed: a response without ``Set-Cookie`` is never parsed
(the user checks its head for the header first), a ``Set-Cookie`` value seen before
is not parsed again (:class:`CookieParser` keeps the parsed form of recent values,
shared by a worker's users), and a value that changes nothing (the same cookie set
again) leaves the jar's ``version`` alone, so the requests a user built with its
cookies stay valid. No public suffix list: a test tool talks to the hosts it is
given, and a cookie for a whole top-level domain is refused.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

# Per RFC 6265 5.3 step 11: a jar keeps at most this many cookies, the oldest go first.
MAX_COOKIES = 300
MAX_PARSED = 4096  # distinct Set-Cookie values a worker keeps parsed


class Cookie:
    """One stored cookie."""

    __slots__ = ("name", "value", "domain", "host_only", "path", "secure", "expires", "order")

    def __init__(
        self,
        name: str,
        value: str,
        domain: str,
        host_only: bool,
        path: str,
        secure: bool,
        expires: float | None,
        order: int = 0,
    ) -> None:
        self.name = name
        self.value = value
        self.domain = domain  # lower case, no leading dot
        self.host_only = host_only
        self.path = path
        self.secure = secure
        self.expires = expires  # time.time() after which it is gone; None: the session's
        self.order = order  # creation order, for the Cookie header's order

    def matches(self, host: str, path: str, secure: bool, now: float) -> bool:
        if self.secure and not secure:
            return False
        if self.expires is not None and self.expires <= now:
            return False
        if self.host_only:
            if host != self.domain:
                return False
        elif not domain_match(host, self.domain):
            return False
        return path_match(path, self.path)

    def __repr__(self) -> str:
        return f"<Cookie {self.name} for {self.domain}{self.path}>"


class ParsedSetCookie:
    """A Set-Cookie value taken apart, before the request's host and path apply."""

    __slots__ = ("name", "value", "domain", "path", "secure", "max_age", "expires")

    def __init__(self) -> None:
        self.name = ""
        self.value = ""
        self.domain: str | None = None
        self.path: str | None = None
        self.secure = False
        self.max_age: int | None = None
        self.expires: float | None = None  # an absolute time from Expires


def parse_set_cookie(text: str) -> ParsedSetCookie | None:
    """One Set-Cookie header value (RFC 6265 5.2), or None when it has no name=value."""
    pair, _, rest = text.partition(";")
    name, eq, value = pair.partition("=")
    if not eq:
        return None
    name = name.strip()
    if not name:
        return None
    found = ParsedSetCookie()
    found.name = name
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] == '"':
        value = value[1:-1]
    found.value = value
    if not rest:
        return found
    for attr in rest.split(";"):
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        val = val.strip()
        if key == "path":
            found.path = val if val.startswith("/") else None
        elif key == "domain":
            val = val.lstrip(".").lower()
            found.domain = val or None
        elif key == "max-age":
            with contextlib.suppress(ValueError):  # ignored, as the RFC says
                found.max_age = int(val)
        elif key == "expires":
            with contextlib.suppress(TypeError, ValueError, OverflowError, IndexError):
                found.expires = parsedate_to_datetime(val).timestamp()
        elif key == "secure":
            found.secure = True
    return found


class CookieParser:
    """Set-Cookie values parsed once per worker (a server sends the same few again and
    again), shared by every user's jar."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, ParsedSetCookie | None] = {}

    def parse(self, text: str) -> ParsedSetCookie | None:
        seen = self._seen
        try:
            return seen[text]
        except KeyError:
            pass
        found = parse_set_cookie(text)
        if len(seen) >= MAX_PARSED:
            seen.clear()
        seen[text] = found
        return found


SHARED_PARSER = CookieParser()


def cookie_value(set_cookies: list[str], name: str) -> str | None:
    """The value the ``Set-Cookie`` headers of one response give cookie ``name`` (the
    last one wins), or None when none names it."""
    found = None
    for text in set_cookies:
        parsed = SHARED_PARSER.parse(text)
        if parsed is not None and parsed.name == name:
            found = parsed.value
    return found


def domain_match(host: str, domain: str) -> bool:
    """RFC 6265 5.1.3: ``host`` is ``domain`` or a name under it (never an IP address
    under a "domain")."""
    if host == domain:
        return True
    return host.endswith(domain) and host[-len(domain) - 1] == "." and not _is_ip(host)


def path_match(path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4: the request path is the cookie's path or under it."""
    if path == cookie_path:
        return True
    if path.startswith(cookie_path):
        return cookie_path.endswith("/") or path[len(cookie_path)] == "/"
    return False


def default_path(path: str) -> str:
    """RFC 6265 5.1.4: the directory of the request path (``/a/b`` -> ``/a``)."""
    path = path.split("?", 1)[0]
    if not path.startswith("/"):
        return "/"
    cut = path.rfind("/")
    return "/" if cut <= 0 else path[:cut]


def _is_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


class CookieJar:
    """One virtual user's cookies. ``version`` changes whenever what would be sent may
    have changed, so users can cache what they built from it."""

    __slots__ = ("_cookies", "version", "_order", "parser")

    def __init__(self, parser: CookieParser = SHARED_PARSER) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}
        self.version = 0
        self._order = 0
        self.parser = parser

    def __len__(self) -> int:
        return len(self._cookies)

    def __bool__(self) -> bool:
        return bool(self._cookies)

    def __iter__(self) -> Iterator[Cookie]:
        return iter(list(self._cookies.values()))

    # -- from responses -----------------------------------------------------------
    def receive(self, values: list[str], host: str, path: str, now: float | None = None) -> None:
        """Store what the Set-Cookie ``values`` of a response from ``host`` for a request
        to ``path`` say (RFC 6265 5.3)."""
        when = time.time() if now is None else now
        for text in values:
            parsed = self.parser.parse(text)
            if parsed is not None:
                self._store(parsed, host, path, when)

    def _store(self, c: ParsedSetCookie, host: str, request_path: str, now: float) -> None:
        host = host.lower()
        if c.domain is None:
            domain, host_only = host, True
        elif c.domain == host:
            domain, host_only = host, _is_ip(host)  # an address has no names under it
        elif domain_match(host, c.domain) and "." in c.domain:
            domain, host_only = c.domain, False
        else:
            return  # for another domain, or a whole top-level domain: ignored
        path = c.path or default_path(request_path)
        if c.max_age is not None:
            expires: float | None = now + c.max_age if c.max_age > 0 else 0.0
        else:
            expires = c.expires
        key = (domain, path, c.name)
        old = self._cookies.get(key)
        if expires is not None and expires <= now:  # Max-Age=0, or a past date: delete
            if old is not None:
                del self._cookies[key]
                self.version += 1
            return
        if (
            old is not None
            and old.value == c.value
            and old.secure == c.secure
            and old.host_only == host_only
        ):
            old.expires = expires  # the same cookie again: nothing to send differently
            return
        order = old.order if old is not None else self._next_order()
        cookie = Cookie(c.name, c.value, domain, host_only, path, c.secure, expires, order)
        self._cookies[key] = cookie
        if len(self._cookies) > MAX_COOKIES:
            oldest = min(self._cookies, key=lambda k: self._cookies[k].order)
            del self._cookies[oldest]
        self.version += 1

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    # -- for requests -------------------------------------------------------------
    def header(self, host: str, path: str, secure: bool, now: float | None = None) -> str:
        """The Cookie header value for a request (empty when nothing matches)."""
        if not self._cookies:
            return ""
        when = time.time() if now is None else now
        path = path.split("?", 1)[0] or "/"
        host = host.lower()
        found = [c for c in self._cookies.values() if c.matches(host, path, secure, when)]
        if not found:
            return ""
        found.sort(key=lambda c: (-len(c.path), c.order))
        return "; ".join(f"{c.name}={c.value}" for c in found)

    def expires_soonest(self) -> float | None:
        """When the next cookie expires (what a user's cached requests depend on)."""
        times = [c.expires for c in self._cookies.values() if c.expires is not None]
        return min(times) if times else None

    # -- what scripts see (requests' jar, in short) ---------------------------------
    def get(self, name: str, default: str | None = None) -> str | None:
        for c in self._cookies.values():
            if c.name == name:
                return c.value
        return default

    def set(self, name: str, value: str, domain: str, path: str = "/") -> None:
        """Set a cookie as if the server had (host-only for ``domain``)."""
        key = (domain.lower(), path, name)
        old = self._cookies.get(key)
        order = old.order if old is not None else self._next_order()
        self._cookies[key] = Cookie(name, value, domain.lower(), True, path, False, None, order)
        self.version += 1

    def delete(self, name: str) -> None:
        keys = [k for k in self._cookies if k[2] == name]
        for k in keys:
            del self._cookies[k]
        if keys:
            self.version += 1

    def clear(self) -> None:
        if self._cookies:
            self._cookies.clear()
            self.version += 1

    def as_dict(self) -> dict[str, str]:
        return {c.name: c.value for c in self._cookies.values()}

    def values(self) -> list[str]:
        """Every stored value (secrets in every artefact)."""
        return [c.value for c in self._cookies.values()]
