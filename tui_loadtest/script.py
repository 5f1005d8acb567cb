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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import msgspec

# msgspec decodes a 1 KB JSON body in ~3.5 µs where json.loads takes ~9 µs; the same
# values come back (dicts, lists, str, int, float, bool, None).
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

__all__ = [
    "RequestError",
    "Response",
    "User",
    "between",
    "constant",
    "on_start",
    "task",
]

TASK_ATTR = "__tui_task_weight__"
ON_START_ATTR = "__tui_on_start__"
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


class RequestError(Exception):
    """A request got no response (timeout, refused, reset...). It is already counted
    under its kind; a task that does not catch it simply ends there."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class Response:
    """A response as a script sees it. ``headers`` are parsed on first use."""

    __slots__ = ("status", "content", "_head", "_headers", "truncated")

    def __init__(self, status: int, head: bytes, content: bytes, truncated: bool = False) -> None:
        self.status = status
        self.content = content  # the body (cut at http.max_body when ``truncated``)
        self._head = head
        self._headers: dict[str, str] | None = None
        self.truncated = truncated

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` if it is not JSON)."""
        if self.truncated:
            raise ValueError("the response body was over http.max_body and was cut")
        return _decode(self.content)

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers, with lower-case names (a repeated header: the last one)."""
        if self._headers is None:
            found: dict[str, str] = {}
            for line in self._head.split(b"\r\n")[1:]:
                name, sep, value = line.partition(b":")
                if sep:
                    found[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            self._headers = found
        return self._headers

    def __repr__(self) -> str:
        return f"<Response {self.status}, {len(self.content)} bytes>"


class _Sender(Protocol):
    """What the engine gives a script user: one request on its own connection."""

    def request(
        self,
        method: str,
        path: str,
        name: str | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> Awaitable[Response]: ...

    def fail_response(self, reason: str) -> None: ...


class User:
    """The ``user`` a task receives: requests, its own state, its data row."""

    __slots__ = ("_sender", "id", "data", "state", "headers")

    def __init__(self, sender: _Sender, user_id: int, data: dict[str, str]) -> None:
        self._sender = sender
        self.id = user_id  # this virtual user's number in the run
        self.data = data  # its row of the scenario's [[data]] files ({} without)
        self.state: dict[str, Any] = {}  # anything the script wants to keep per user
        self.headers: dict[str, str] = {}  # sent with every request of this user

    def request(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
    ) -> Awaitable[Response]:
        """Send one request and wait for its response (``await user.request(...)``)."""
        body: bytes | None = None
        content_type = None
        if json is not None:
            body = _encode(json)
            content_type = "application/json"
        elif data is not None:
            body = data.encode() if isinstance(data, str) else bytes(data)
        merged = {**self.headers, **headers} if headers else self.headers
        return self._sender.request(method.upper(), path, name, merged, body, content_type)

    def get(self, path: str, **kwargs: Any) -> Awaitable[Response]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Awaitable[Response]:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Awaitable[Response]:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Awaitable[Response]:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Awaitable[Response]:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Awaitable[Response]:
        return self.request("HEAD", path, **kwargs)

    def fail(self, reason: str) -> None:
        """Count the last response as failed (kind ``check``), with ``reason`` as message."""
        self._sender.fail_response(str(reason))
