"""The loopback target the locustfile corpus (tests/locustfiles/) runs against.

A plain ASGI app under uvicorn, in a thread of its own with its own event loop, on two
loopback ports: ``url`` (the main one) and ``other_url`` (a second host for absolute
redirects and absolute URLs). It counts every request it receives per ``(method, path)``
(the path without its query), per port, when the request arrives, so a test compares a
run's rows with what the server itself saw, exactly.

Routes (any route answers any method unless said otherwise; unknown paths: 404):

- ``/``: a small HTML page. ``/text``: UTF-8 text with non-ASCII characters.
- ``/api/items``: GET a JSON list of 10 items; POST a JSON object with a ``name``: 201
  with the item and an ``id`` (400 otherwise). ``/api/items/{id}``: GET the item (404 for
  an id that is not 1-1000), PUT/PATCH echo the JSON body, DELETE 204 with no body.
- ``/api/...`` (anything else under /api/): 200, JSON ``{"method", "path", "query"}``.
- ``/login`` (POST, a form or JSON ``username``/``password``; the password is
  ``secret``): 200 and two cookies, ``session`` and ``csrftoken`` (401 otherwise).
  ``/account``: 200 with both cookies of one login, 401 otherwise. ``/logout``: 200 and
  both cookies expired.
- ``/redirect/{301|302|303|307|308}?to=URL``: that redirect to ``to`` (relative or
  absolute; default ``/api/landed``). ``/redirect/chain/{n}``: n hops of 302 down to
  ``/redirect/chain/0``, which answers 200. ``/redirect/other-port``: 302 to the other
  port's ``/api/landed``, absolute. ``/redirect/loop``: 302 to itself, for ever.
- ``/gzip``, ``/deflate``: a JSON body always compressed that way (as httpbin does),
  with ``Content-Encoding``.
- ``/status/{code}``: that status, every time (deterministic failures).
- ``/basic-auth/{user}/{password}``: 200 with matching Basic credentials, else 401 and
  ``WWW-Authenticate``.
- ``/tenant``: 200 with an ``X-Tenant`` header, 400 without.
- ``/echo``: the request as JSON: method, path, query (lists), headers (lower-case
  names), cookies, content type, the body as text, ``form`` (urlencoded bodies) and
  ``json`` (JSON bodies).
- ``/form`` (POST): the urlencoded form as JSON, 400 for another body. ``/json`` (POST):
  the JSON body echoed, 400 if it is not JSON.
- ``/slow?ms=N``: answers after N ms (at most 5000).
- ``/bytes/{n}``: n deterministic bytes (at most 1 MiB).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import secrets
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Key = tuple[str, str]  # (method, path)

PASSWORD = "secret"
REDIRECT_CODES = (301, 302, 303, 307, 308)
ITEMS = [{"id": i, "name": f"item {i}", "price": round(i * 1.25, 2)} for i in range(1, 11)]
MAX_SLOW_MS = 5000
MAX_BYTES = 1 << 20


class Reply:
    """One answer: status, headers, body."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []


def json_reply(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(value, separators=(",", ":")).encode()
    return Reply(status, body, [("content-type", "application/json"), *(headers or [])])


class Request:
    """What a route reads: the scope's parts, decoded once, and the whole body."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query_string: str = scope["query_string"].decode("latin-1")
        self.query = parse_qs(self.query_string, keep_blank_values=True)
        self.headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }
        self.body = body
        self.port: int = scope["server"][1]
        cookie = SimpleCookie()
        with contextlib.suppress(Exception):
            cookie.load(self.headers.get("cookie", ""))
        self.cookies = {name: morsel.value for name, morsel in cookie.items()}

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def form(self) -> dict[str, list[str]] | None:
        if self.content_type != "application/x-www-form-urlencoded":
            return None
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def json(self) -> Any:
        """The JSON body, or ``ValueError`` when there is none."""
        if not self.body:
            raise ValueError("no body")
        return json.loads(self.body)


class TargetApp:
    """The ASGI app; every request is counted before it is answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[int, Counter[Key]] = {}
        self.targets: dict[int, Counter[Key]] = {}  # (method, path?query) as sent
        self.last_headers: dict[tuple[int, str, str], dict[str, str]] = {}
        self.sessions: dict[str, tuple[str, str]] = {}  # session token -> (user, csrftoken)
        self.ports: dict[str, int] = {}  # "main" / "other" -> port

    # ----------------------------------------------------------------- counting

    def _count(self, req: Request) -> None:
        key = (req.method, req.path)
        target = f"{req.path}?{req.query_string}" if req.query_string else req.path
        with self.lock:
            self.counts.setdefault(req.port, Counter())[key] += 1
            self.targets.setdefault(req.port, Counter())[(req.method, target)] += 1
            self.last_headers[(req.port, req.method, req.path)] = req.headers

    # ---------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        req = Request(scope, b"".join(chunks))
        self._count(req)
        reply = await self.route(req)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        if reply.status not in (204, 304):
            headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if reply.status == 204 else reply.body}
        )

    # ------------------------------------------------------------------- routes

    async def route(self, req: Request) -> Reply:
        path = req.path
        parts = path.strip("/").split("/")
        head = parts[0]
        if path == "/":
            return Reply(200, b"<html><body><h1>corpus target</h1></body></html>", _html())
        if head == "api":
            return self.api(req, parts[1:])
        if path == "/login":
            return self.login(req)
        if path == "/account":
            return self.account(req)
        if path == "/logout":
            return self.logout()
        if head == "redirect":
            return self.redirect(req, parts[1:])
        if path == "/gzip":
            return _compressed(req, "gzip", gzip.compress)
        if path == "/deflate":
            return _compressed(req, "deflate", zlib.compress)
        if head == "status" and len(parts) == 2 and parts[1].isdigit():
            code = int(parts[1])
            if 200 <= code <= 599:
                return Reply(code, f"status {code}".encode(), _text())
        if head == "basic-auth" and len(parts) == 3:
            return _basic_auth(req, parts[1], parts[2])
        if path == "/tenant":
            tenant = req.headers.get("x-tenant")
            if tenant:
                return json_reply(200, {"tenant": tenant})
            return json_reply(400, {"error": "X-Tenant header required"})
        if path == "/echo":
            return _echo(req)
        if path == "/form" and req.method == "POST":
            form = req.form()
            if form is None:
                return json_reply(400, {"error": "expected a urlencoded form"})
            return json_reply(200, form)
        if path == "/json" and req.method == "POST":
            try:
                return json_reply(200, req.json())
            except ValueError:
                return json_reply(400, {"error": "expected a JSON body"})
        if path == "/slow":
            ms = _int(req.query.get("ms", ["0"])[0], 0)
            await asyncio.sleep(min(max(ms, 0), MAX_SLOW_MS) / 1000)
            return json_reply(200, {"slept_ms": ms})
        if head == "bytes" and len(parts) == 2 and parts[1].isdigit():
            n = min(int(parts[1]), MAX_BYTES)
            return Reply(
                200,
                bytes(i % 251 for i in range(n)),
                [("content-type", "application/octet-stream")],
            )
        if path == "/text":
            return Reply(200, "café au lait, naïve résumé\n".encode(), _text())
        return json_reply(404, {"error": "not found", "path": path})

    def api(self, req: Request, rest: list[str]) -> Reply:
        if rest == ["items"]:
            if req.method == "POST":
                try:
                    item = req.json()
                except ValueError:
                    item = None
                if not isinstance(item, dict) or "name" not in item:
                    return json_reply(400, {"error": "a JSON object with a name is required"})
                return json_reply(201, {**item, "id": 11})
            return json_reply(200, ITEMS)
        if len(rest) == 2 and rest[0] == "items":
            item_id = _int(rest[1], -1)
            if not 1 <= item_id <= 1000:
                return json_reply(404, {"error": "no such item"})
            if req.method == "DELETE":
                return Reply(204)
            if req.method in ("PUT", "PATCH"):
                try:
                    body = req.json()
                except ValueError:
                    return json_reply(400, {"error": "expected a JSON body"})
                return json_reply(200, {"id": item_id, **(body if isinstance(body, dict) else {})})
            return json_reply(200, {"id": item_id, "name": f"item {item_id}", "price": 1.25})
        return json_reply(200, {"method": req.method, "path": req.path, "query": req.query})

    def login(self, req: Request) -> Reply:
        if req.method != "POST":
            return json_reply(405, {"error": "POST credentials"}, [("allow", "POST")])
        form = req.form()
        if form is not None:
            creds = {k: v[0] for k, v in form.items()}
        else:
            try:
                creds = req.json()
            except ValueError:
                creds = {}
        if not isinstance(creds, dict) or creds.get("password") != PASSWORD:
            return json_reply(401, {"error": "bad credentials"})
        user = str(creds.get("username", ""))
        session, csrf = secrets.token_hex(8), secrets.token_hex(8)
        with self.lock:
            self.sessions[session] = (user, csrf)
        return json_reply(
            200,
            {"user": user},
            [
                ("set-cookie", f"session={session}; Path=/; HttpOnly"),
                ("set-cookie", f"csrftoken={csrf}; Path=/"),
            ],
        )

    def account(self, req: Request) -> Reply:
        with self.lock:
            known = self.sessions.get(req.cookies.get("session", ""))
        if known is None or req.cookies.get("csrftoken") != known[1]:
            return json_reply(401, {"error": "login required"})
        return json_reply(200, {"user": known[0]})

    def logout(self) -> Reply:
        expired = "=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        return json_reply(
            200,
            {"logged_out": True},
            [("set-cookie", f"session{expired}"), ("set-cookie", f"csrftoken{expired}")],
        )

    def redirect(self, req: Request, rest: list[str]) -> Reply:
        if len(rest) == 1 and rest[0].isdigit() and int(rest[0]) in REDIRECT_CODES:
            return _location(int(rest[0]), req.query.get("to", ["/api/landed"])[0])
        if len(rest) == 2 and rest[0] == "chain" and rest[1].isdigit():
            n = int(rest[1])
            if n == 0:
                return json_reply(200, {"chain": "end"})
            return _location(302, f"/redirect/chain/{n - 1}")
        if rest == ["other-port"]:
            return _location(302, f"http://127.0.0.1:{self.ports['other']}/api/landed")
        if rest == ["loop"]:
            return _location(302, "/redirect/loop")
        return json_reply(404, {"error": "not found", "path": req.path})


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _text() -> list[tuple[str, str]]:
    return [("content-type", "text/plain; charset=utf-8")]


def _html() -> list[tuple[str, str]]:
    return [("content-type", "text/html; charset=utf-8")]


def _location(status: int, to: str) -> Reply:
    return Reply(status, b"", [("location", to)])


def _compressed(req: Request, encoding: str, compress: Callable[[bytes], bytes]) -> Reply:
    payload = {encoding: True, "method": req.method, "items": ITEMS}
    body = compress(json.dumps(payload).encode())
    return Reply(
        200,
        body,
        [("content-type", "application/json"), ("content-encoding", encoding)],
    )


def _basic_auth(req: Request, user: str, password: str) -> Reply:
    expected = base64.b64encode(f"{user}:{password}".encode()).decode()
    if req.headers.get("authorization", "") == f"Basic {expected}":
        return json_reply(200, {"authenticated": True, "user": user})
    return json_reply(401, {"authenticated": False}, [("www-authenticate", 'Basic realm="corpus"')])


def _echo(req: Request) -> Reply:
    try:
        parsed: Any = req.json() if req.content_type == "application/json" else None
    except ValueError:
        parsed = None
    return json_reply(
        200,
        {
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "headers": req.headers,
            "cookies": req.cookies,
            "content_type": req.content_type,
            "body": req.body.decode("utf-8", "replace"),
            "form": req.form(),
            "json": parsed,
        },
    )


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


class LocustTarget:
    """The corpus's target on two loopback ports, in a thread:
    ``with LocustTarget() as target: ... target.counts()``."""

    def __init__(self) -> None:
        self.app = TargetApp()
        self._socks = [_bind(), _bind()]
        self.port = self._socks[0].getsockname()[1]
        self.other_port = self._socks[1].getsockname()[1]
        self.app.ports = {"main": self.port, "other": self.other_port}
        self.url = f"http://127.0.0.1:{self.port}"
        self.other_url = f"http://127.0.0.1:{self.other_port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                lifespan="off",
                access_log=False,
                log_level="warning",
                server_header=False,
                date_header=False,
                timeout_graceful_shutdown=2,
                backlog=1024,
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": self._socks}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the corpus target did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> LocustTarget:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------- counts

    def counts(self, other: bool = False) -> Counter[Key]:
        """Requests received per ``(method, path)`` on the main port (or the other)."""
        with self.app.lock:
            return Counter(self.app.counts.get(self.other_port if other else self.port, {}))

    def targets(self, other: bool = False) -> Counter[Key]:
        """Requests received per ``(method, path?query)``, the target as sent."""
        with self.app.lock:
            return Counter(self.app.targets.get(self.other_port if other else self.port, {}))

    def count(self, method: str, path: str, other: bool = False) -> int:
        return self.counts(other)[(method, path)]

    def total(self) -> int:
        """Every request either port received."""
        with self.app.lock:
            return sum(sum(c.values()) for c in self.app.counts.values())

    def last_headers(self, method: str, path: str, other: bool = False) -> dict[str, str]:
        """The headers (lower-case names) of the last such request, {} if none came."""
        port = self.other_port if other else self.port
        with self.app.lock:
            return dict(self.app.last_headers.get((port, method, path), {}))

    def reset(self) -> None:
        with self.app.lock:
            self.app.counts.clear()
            self.app.targets.clear()
            self.app.last_headers.clear()


__all__ = ["PASSWORD", "LocustTarget", "REDIRECT_CODES"]
