"""Python user scripts: journeys written as code, with Locust's names, on asyncio.

A script is a module of ``async`` functions::

    from tui_loadtest.script import task, on_start, between

    wait_time = between(0.5, 1.0)          # pause between tasks (default: none)

    @on_start                              # once per virtual user, before its tasks
    async def login(user):
        r = await user.post("/api/auth/login", json=user.data, name="login")
        user.headers["Authorization"] = "Bearer " + r.json()["access_token"]

    @task(3)                               # picked by weight, like Locust's @task
    async def query(user):
        agents = (await user.get("/api/agents")).json()["agents"]
        ...

Run it with ``tui-loadtest run users.py`` or ``script = "users.py"`` in a scenario.
Requests go over the fast transport (the user's own keep-alive connection) and are
recorded under ``name=`` (default ``METHOD path``). A request that gets no response
raises :class:`RequestError` (already counted: the task just ends); any other
exception in a task counts as an error of kind ``script``, its traceback goes to
the run's log file, and the user carries on with its next task. No gevent: every
request is an ``await``.

This module is imported by user code: it holds only the markers, the wait-time
helpers and the types a script sees, and imports nothing heavy. It is public and
stable: the names in ``__all__`` (docs/reference/public-api.md); the marker attributes
and what the engine hands a ``User`` are internal.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

import msgspec

# msgspec decodes a 1 KB JSON body in ~3.5 µs where json.loads takes ~9 µs; the same
# values come back (dicts, lists, str, int, float, bool, None).
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

__all__ = [
    "Event",
    "EventStream",
    "HTTPError",
    "Headers",
    "RequestError",
    "Response",
    "User",
    "between",
    "constant",
    "on_start",
    "setup",
    "task",
    "teardown",
]

TASK_ATTR = "__tui_task_weight__"
ON_START_ATTR = "__tui_on_start__"
SETUP_ATTR = "__tui_setup__"
TEARDOWN_ATTR = "__tui_teardown__"
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def task(weight: int | float | Callable[..., Any] = 1) -> Any:
    """Mark an ``async def f(user)`` as a task; ``@task(3)`` makes it three times as likely."""
    if callable(weight):
        setattr(weight, TASK_ATTR, 1.0)
        return weight
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        raise ValueError(f"@task weight must be a positive number, got {weight!r}")

    def mark(fn: F) -> F:
        setattr(fn, TASK_ATTR, float(weight))
        return fn

    return mark


def on_start(fn: F) -> F:
    """Mark an ``async def f(user)`` to run once per virtual user, before its first task."""
    setattr(fn, ON_START_ATTR, True)
    return fn


def setup(fn: F) -> F:
    """Mark an ``async def f(user)`` to run once before any load (in the process that
    runs the test, not in a worker): it may return a dict of names to values, which
    every user reads as ``user.setup`` (read-only; the values are kept out of every
    report and log, as secrets are). A setup that raises stops the run before any load."""
    setattr(fn, SETUP_ATTR, True)
    return fn


def teardown(fn: F) -> F:
    """Mark an ``async def f(user)`` to run once after the load, even when the run was
    stopped (a second Ctrl+C skips it); ``user.setup`` holds what the setup returned."""
    setattr(fn, TEARDOWN_ATTR, True)
    return fn


def between(low: float, high: float) -> Callable[[], float]:
    """A wait time drawn uniformly between ``low`` and ``high`` seconds (Locust's)."""
    if low < 0 or high < low:
        raise ValueError(f"between() needs 0 <= low <= high, got {low!r}, {high!r}")
    span = high - low
    return lambda: low + random.random() * span


def constant(seconds: float) -> Callable[[], float]:
    """The same wait time every time (Locust's)."""
    if seconds < 0:
        raise ValueError(f"constant() needs seconds >= 0, got {seconds!r}")
    return lambda: seconds


# A Content-Encoding header in a response's head (the usual response has none, and its
# body is then read without parsing every header).
_ENCODED = re.compile(rb"\r\ncontent-encoding[ \t]*:", re.IGNORECASE)


class RequestError(Exception):
    """A request got no response (timeout, refused, reset...). It is already counted
    under its kind; a task that does not catch it simply ends there."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class HTTPError(Exception):
    """:meth:`Response.raise_for_status` on a 4xx or 5xx response."""

    def __init__(self, message: str, response: Response) -> None:
        super().__init__(message)
        self.response = response


class Headers(Mapping[str, str]):
    """A response's headers: names compared without case; a repeated header's values
    joined by ", " (as ``requests``), every one of them from :meth:`get_all`."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items  # (name, value) as received
        index: dict[str, list[str]] = {}
        for name, value in items:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    @classmethod
    def parse(cls, head: bytes) -> Headers:
        items = []
        for line in head.split(b"\r\n")[1:]:
            name, sep, value = line.partition(b":")
            if sep:
                items.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
        return cls(items)

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._index[name.lower()])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, in order (``set-cookie`` comes one per cookie)."""
        return list(self._index.get(name.lower(), ()))

    def raw_items(self) -> list[tuple[str, str]]:
        """Every header as received: (name, value), in order."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


# What decodes a compressed body: set by the engine (zlib, and brotli when installed);
# a response whose body is compressed and read without it says so.
Decoder = Callable[[bytes, list[str]], bytes]


class Response:
    """A response as a script sees it, named as ``requests`` names things: ``status_code``
    (and ``status``), ``ok``, ``headers``, ``cookies``, ``content`` (decoded when the
    server compressed it), ``text``, ``json()``, ``url``, ``history`` (the redirects
    followed to get here), ``elapsed`` and ``raise_for_status()``."""

    __slots__ = (
        "status",
        "_head",
        "_raw",
        "_content",
        "_headers",
        "truncated",
        "url",
        "history",
        "_elapsed",
        "elapsed_us",
        "_decoder",
    )

    def __init__(
        self,
        status: int,
        head: bytes,
        content: bytes,
        truncated: bool = False,
        *,
        url: str = "",
        history: list[Response] | None = None,
        elapsed: timedelta | None = None,
        decoder: Decoder | None = None,
        elapsed_us: int = 0,
    ) -> None:
        self.status = status
        self._head = head
        self._raw = content  # the body as received (compressed, when it was)
        self._content: bytes | None = None
        self._headers: Headers | None = None
        self.truncated = truncated  # cut at http.max_body
        self.url = url
        self.history = history or []
        # the time to this response, in µs; as a timedelta only when read (most never are)
        self._elapsed = elapsed
        self.elapsed_us = elapsed_us if elapsed is None else elapsed // timedelta(microseconds=1)
        self._decoder = decoder

    @property
    def elapsed(self) -> timedelta:
        """From sending the request to the end of the response (requests' ``elapsed``)."""
        if self._elapsed is None:
            self._elapsed = timedelta(microseconds=self.elapsed_us)
        return self._elapsed

    @elapsed.setter
    def elapsed(self, value: timedelta) -> None:
        self._elapsed = value
        self.elapsed_us = value // timedelta(microseconds=1)

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def ok(self) -> bool:
        """True below 400 (as ``requests``)."""
        return self.status < 400

    @property
    def reason(self) -> str:
        line = self._head.split(b"\r\n", 1)[0]
        return line.split(b" ", 2)[2].decode("latin-1") if line.count(b" ") >= 2 else ""

    @property
    def content(self) -> bytes:
        """The body, decoded when it came compressed (Content-Encoding)."""
        if self._content is None:
            if _ENCODED.search(self._head) is None:  # no Content-Encoding: as it came
                self._content = self._raw
                return self._raw
            codings = [
                c.strip().lower()
                for v in self.headers.get_all("content-encoding")
                for c in v.split(",")
                if c.strip() and c.strip().lower() != "identity"
            ]
            if not codings or not self._raw:
                self._content = self._raw
            elif self._decoder is None:
                raise ValueError("compressed body could not be decoded (no decoder)")
            else:
                self._content = self._decoder(self._raw, codings)
        return self._content

    @property
    def raw_content(self) -> bytes:
        """The body as it came over the wire."""
        return self._raw

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", "replace")

    @property
    def encoding(self) -> str | None:
        """The charset of Content-Type, if it names one."""
        kind = self.headers.get("content-type", "")
        for part in kind.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip("\"'")
        return None

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` if it is not JSON)."""
        if self.truncated:
            raise ValueError("the response body was over http.max_body and was cut")
        return _decode(self.content)

    @property
    def headers(self) -> Headers:
        """Response headers (names without case; ``get_all`` for a repeated one)."""
        if self._headers is None:
            self._headers = Headers.parse(self._head)
        return self._headers

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this response set (``Set-Cookie``), by name."""
        found = {}
        for text in self.headers.get_all("set-cookie"):
            pair = text.split(";", 1)[0]
            name, eq, value = pair.partition("=")
            if eq and name.strip():
                found[name.strip()] = value.strip().strip('"')
        return found

    def raise_for_status(self) -> None:
        """Raise :class:`HTTPError` for a 4xx or 5xx status (as ``requests``)."""
        if 400 <= self.status < 600:
            kind = "Client" if self.status < 500 else "Server"
            raise HTTPError(f"{self.status} {kind} Error: {self.reason} for url: {self.url}", self)

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"


class Event:
    """One event of a streamed answer (``async for event in user.stream(...)``): its
    data (an SSE event's ``data``, an NDJSON line, or a chunk) and when it arrived."""

    __slots__ = ("data", "elapsed", "at")

    def __init__(self, data: bytes, elapsed: float, at: float) -> None:
        self.data = data  # bytes, as received
        self.elapsed = elapsed  # seconds from the request's start to its arrival
        self.at = at  # its arrival on time.perf_counter()'s clock

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def json(self) -> Any:
        """The data decoded as JSON (raises ``ValueError`` when it is not)."""
        try:
            return _decode(self.data)
        except msgspec.DecodeError as exc:
            raise ValueError(f"event is not JSON: {exc}") from None

    def __repr__(self) -> str:
        return f"<Event {self.elapsed * 1000:.1f} ms {self.data[:40]!r}>"


class EventStream(Protocol):
    """What ``user.stream(...)`` returns: an async iterator of :class:`Event`. Once it
    is exhausted, ``response`` holds the status and headers (not the body) and
    ``events`` how many came. A stream cut before its end raises :class:`RequestError`
    (kind ``stream``, counted already) from the loop."""

    response: Response | None
    events: int

    def __aiter__(self) -> EventStream: ...

    async def __anext__(self) -> Event: ...


class CookieView(Protocol):
    """The user's cookie jar as a script sees it (``user.cookies``)."""

    def get(self, name: str, default: str | None = None) -> str | None: ...

    def set(self, name: str, value: str, domain: str | None = None, path: str = "/") -> None: ...

    def delete(self, name: str) -> None: ...

    def clear(self) -> None: ...

    def as_dict(self) -> dict[str, str]: ...


class _Sender(Protocol):
    """What the engine gives a script user: one request on its own connection."""

    def request(self, method: str, url: str, options: dict[str, Any]) -> Awaitable[Response]: ...

    def stream(
        self,
        method: str,
        url: str,
        how: tuple[str, str | None, float | None],
        options: dict[str, Any],
    ) -> EventStream: ...

    def fail_response(self, reason: str) -> None: ...

    def check(self, name: str, passed: bool, soft: bool) -> None: ...

    @property
    def cookies(self) -> CookieView: ...


_OPTIONS = frozenset(
    (
        "name",
        "params",
        "data",
        "json",
        "headers",
        "cookies",
        "auth",
        "timeout",
        "allow_redirects",
        "files",
        "verify",
        "cert",
        "stream",
        "proxies",
        "hooks",
    )
)


class User:
    """The ``user`` a task receives: requests as ``requests.Session`` takes them, its own
    state, its data row, its cookies."""

    __slots__ = ("_sender", "id", "data", "state", "headers", "setup")

    def __init__(
        self,
        sender: _Sender,
        user_id: int,
        data: dict[str, str],
        setup: Mapping[str, str] | None = None,
    ) -> None:
        self._sender = sender
        self.id = user_id  # this virtual user's number in the run
        self.data = data  # its row of the scenario's [[data]] files ({} without)
        self.state: dict[str, Any] = {}  # anything the script wants to keep per user
        self.headers: dict[str, str] = {}  # sent with every request of this user
        # what the @setup function returned (or [setup] captured), read-only
        self.setup: Mapping[str, str] = MappingProxyType(dict(setup or {}))

    @property
    def cookies(self) -> CookieView:
        """This user's cookies: ``get(name)``, ``set(name, value)``, ``delete``, ``clear``,
        ``as_dict()``. Responses' Set-Cookie headers fill it; requests send what matches."""
        return self._sender.cookies

    def request(self, method: str, url: str, **options: Any) -> Awaitable[Response]:
        """Send one request and wait for its response (``await user.request(...)``).

        ``url``: a path (on the run's target) or an absolute URL (any host). Options, as
        ``requests`` takes them: ``params``, ``data`` (a dict is sent as a form; a str,
        bytes or an open file as is), ``json``, ``headers``, ``cookies``,
        ``auth=(user, password)``, ``timeout`` (seconds, or ``(connect, read)``),
        ``allow_redirects`` (default True), and ``name`` (the row it is counted under;
        default ``METHOD path`` without the query)."""
        unknown = set(options) - _OPTIONS
        if unknown:
            raise TypeError(f"request() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        return self._sender.request(method, url, options)

    def stream(
        self,
        method: str,
        url: str,
        *,
        mode: str = "sse",
        tokens: str | None = None,
        idle_timeout: float | None = None,
        **options: Any,
    ) -> EventStream:
        """Send one request and read its answer as it streams::

            async for event in user.stream("POST", "/v1/chat", json={...}, name="chat"):
                text += event.json()["choices"][0]["delta"].get("content", "")

        ``mode``: ``"sse"`` (server-sent events; ``data: [DONE]`` ends the stream),
        ``"lines"`` (NDJSON) or ``"chunks"``; ``tokens``: ``"json:$.path"`` or
        ``"regex:PATTERN"``, the tokens in each event; ``idle_timeout``: the longest
        wait for the next event, in seconds (default: the scenario's timeout). The other
        options are :meth:`request`'s. The time to first event, between events, events
        and tokens are recorded under the request's name, as for ``stream = ...`` in a
        scenario; leaving the loop early lets the rest of the answer be read (and
        recorded) in the background: the user's next request waits for its end."""
        unknown = set(options) - _OPTIONS
        if unknown:
            raise TypeError(f"stream() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        return self._sender.stream(method, url, (mode, tokens, idle_timeout), options)

    def get(self, url: str, **options: Any) -> Awaitable[Response]:
        return self.request("GET", url, **options)

    def post(
        self, url: str, data: Any = None, json: Any = None, **options: Any
    ) -> Awaitable[Response]:
        return self.request("POST", url, data=data, json=json, **options)

    def put(self, url: str, data: Any = None, **options: Any) -> Awaitable[Response]:
        return self.request("PUT", url, data=data, **options)

    def patch(self, url: str, data: Any = None, **options: Any) -> Awaitable[Response]:
        return self.request("PATCH", url, data=data, **options)

    def delete(self, url: str, **options: Any) -> Awaitable[Response]:
        return self.request("DELETE", url, **options)

    def head(self, url: str, **options: Any) -> Awaitable[Response]:
        options.setdefault("allow_redirects", False)  # as requests
        return self.request("HEAD", url, **options)

    def options(self, url: str, **options: Any) -> Awaitable[Response]:
        return self.request("OPTIONS", url, **options)

    def fail(self, reason: str) -> None:
        """Count the last response as failed (kind ``check``), with ``reason`` as message
        (a response already failed by its status is not counted twice)."""
        self._sender.fail_response(str(reason))

    def check(self, name: str, condition: object, *, soft: bool = False) -> bool:
        """Count a check named ``name`` as passed or failed (``bool(condition)``), as the
        scenario's ``checks`` are counted: its pass rate is in every report, and
        ``[thresholds] checks`` gate on it. A failed check fails the last response (kind
        ``check``, ``name`` as message) and the task's iteration, unless ``soft``: then it
        is only counted. Returns whether it passed, so a task can stop::

            r = await user.get("/api/cart")
            if not user.check("cart has items", r.json()["items"]):
                return

        Name checks after what they test, never after a value (each name is a row)."""
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"check(): name must be a non-empty string, got {name!r}")
        passed = bool(condition)
        self._sender.check(name, passed, bool(soft))
        return passed
