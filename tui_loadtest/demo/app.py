"""The demo "AI Agent Connector" API: a plain ASGI app with no framework.

It is the target a new user load-tests without setting up a server, so it must be
realistic (a long-tailed latency, a few 5xx) yet cheap enough that the server never
becomes the bottleneck: static bodies, header lists and ASGI messages are built once
and reused for every request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

AGENT_COUNT = 20
# Built-in accounts for journeys: user1..user50 with passwords pass1..pass50.
DEMO_USERS = {f"user{i}": f"pass{i}" for i in range(1, 51)}
# Tokens and stored queries are bounded, oldest dropped first: a long run must not
# grow the demo server's memory without limit.
MAX_TOKENS = 100_000
MAX_QUERIES = 100_000

# Query latency: lognormal with a 25 ms median and sigma 0.9, i.e. p99 ~ 200 ms.
LATENCY_MEDIAN_S = 0.025
LATENCY_SIGMA = 0.9
LATENCY_CAP_S = 1.5

# Streamed queries (``?stream=true``): server-sent events as OpenAI's chat completions
# stream them. The first token comes after a lognormal "prefill" (median 120 ms, sigma
# 0.5: p99 ~ 400 ms); then one token every ~15 ms (lognormal, sigma 0.3: ~65 tokens a
# second), both capped and both multiplied by the latency scale.
FIRST_TOKEN_MEDIAN_S = 0.12
FIRST_TOKEN_SIGMA = 0.5
TOKEN_GAP_MEDIAN_S = 0.015
TOKEN_GAP_SIGMA = 0.3
TOKEN_GAP_CAP_S = 0.2
STREAM_SENTENCES = 3  # answers' sentences per streamed answer (~25 tokens)

_JSON = b"application/json"
_SSE_START_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
]
_SSE_DONE = b"data: [DONE]\n\n"
_ANSWERS = (
    "Done. I summarised the 3 documents you shared.",
    "The ticket was routed to the billing queue.",
    "I found 12 matching records; the top 3 are attached.",
    "Your meeting is booked for Tuesday at 10:00.",
    "I could not find anything newer than last week's report.",
)
_NAMES = (
    "Research Assistant",
    "Support Triage",
    "Code Reviewer",
    "Calendar Planner",
    "Data Analyst",
    "Translator",
    "Sales Copilot",
    "Incident Responder",
    "Doc Writer",
    "Recruiting Screener",
)
_STATUSES = ("online", "online", "busy", "online", "offline")


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Response:
    """A pre-built response: its two ASGI messages are reused for every request.

    Reuse is safe because uvicorn copies the header list it is given and never
    mutates the messages.
    """

    __slots__ = ("start", "body")

    def __init__(
        self,
        status: int,
        payload: object,
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
        content_type: bytes = _JSON,
    ) -> None:
        body = payload if isinstance(payload, bytes) else _dumps(payload)
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            *extra_headers,
        ]
        self.start = {"type": "http.response.start", "status": status, "headers": headers}
        self.body = {"type": "http.response.body", "body": body}

    async def send(self, send: Send) -> None:
        await send(self.start)
        await send(self.body)


def _agents() -> list[dict[str, str]]:
    return [
        {
            "id": f"a{i}",
            "name": f"{_NAMES[(i - 1) % len(_NAMES)]} {(i - 1) // len(_NAMES) + 1}",
            "status": _STATUSES[(i - 1) % len(_STATUSES)],
        }
        for i in range(1, AGENT_COUNT + 1)
    ]


def _method_not_allowed(allow: bytes) -> _Response:
    return _Response(405, {"error": "method not allowed"}, ((b"allow", allow),))


# Responses that never change, shared by every app instance.
_HEALTH = _Response(200, {"status": "ok"})
_NOT_FOUND = _Response(404, {"error": "not found"})
_UNKNOWN_AGENT = _Response(404, {"error": "unknown agent"})
_RESET_DONE = _Response(200, {"status": "reset"})
_ERRORS = (
    _Response(503, {"error": "agent overloaded, retry later"}, ((b"retry-after", b"1"),)),
    _Response(500, {"error": "internal error"}),
)
_BAD_LOGIN = _Response(401, {"error": "unknown user or wrong password"})
_BAD_TOKEN = _Response(
    401, {"error": "missing or invalid token"}, ((b"www-authenticate", b"Bearer"),)
)
_UNKNOWN_QUERY = _Response(404, {"error": "unknown query"})
_ONLY_GET = _method_not_allowed(b"GET, HEAD")
_ONLY_POST = _method_not_allowed(b"POST")
_GET_METHODS = frozenset(("GET", "HEAD"))
_AGENTS_PREFIX = "/api/agents/"
_QUERY_SUFFIX = "/query"
_QUERIES_PREFIX = "/api/queries/"
_LOGIN = "/api/auth/login"
_BEARER = b"bearer "
_METRICS = "/metrics"
_PROMETHEUS_TEXT = b"text/plain; version=0.0.4; charset=utf-8"


def sample_first_token(rng: random.Random, scale: float = 1.0) -> float:
    """The wait before a streamed answer's first token, in seconds (capped, scaled)."""
    if scale <= 0:
        return 0.0
    base = rng.lognormvariate(math.log(FIRST_TOKEN_MEDIAN_S), FIRST_TOKEN_SIGMA)
    return min(base, LATENCY_CAP_S) * scale


def sample_token_gap(rng: random.Random, scale: float = 1.0) -> float:
    """The wait between two tokens of a streamed answer, in seconds (capped, scaled)."""
    if scale <= 0:
        return 0.0
    base = rng.lognormvariate(math.log(TOKEN_GAP_MEDIAN_S), TOKEN_GAP_SIGMA)
    return min(base, TOKEN_GAP_CAP_S) * scale


def sse_chunk(qid: str, delta: dict[str, str], finish: str | None = None) -> bytes:
    """One server-sent event of a streamed answer: an OpenAI chat.completion.chunk."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": qid, "object": "chat.completion.chunk", "choices": [choice]}
    return b"data: " + _dumps(body) + b"\n\n"


def sample_latency(rng: random.Random, scale: float = 1.0) -> float:
    """One query latency in seconds: long-tailed like a real model call, capped.

    The cap bounds the worst case so a test run's duration stays predictable.
    """
    if scale <= 0:
        return 0.0
    base = rng.lognormvariate(math.log(LATENCY_MEDIAN_S), LATENCY_SIGMA)
    return min(base, LATENCY_CAP_S) * scale


@dataclass(frozen=True)
class DemoSettings:
    """How the demo API behaves; one definition for the app, the background server and
    the foreground command. Checked when made (a ValueError), so a bad value fails in
    the caller's process, before any server starts.

    ``error_rate``: the fraction of queries that fail; ``latency_scale`` multiplies
    the query latency; ``seed`` makes the draws reproducible; every ``stall_every_s``
    seconds the whole API freezes for ``stall_s`` seconds, like a garbage-collection
    pause (the case coordinated omission hides).
    """

    error_rate: float = 0.01
    latency_scale: float = 1.0
    seed: int | None = None
    stall_s: float = 0.0
    stall_every_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {self.error_rate!r}")
        if self.latency_scale < 0:
            raise ValueError(f"latency_scale must be >= 0, got {self.latency_scale!r}")
        if self.stall_s < 0 or (self.stall_s and not 0 < self.stall_s < self.stall_every_s):
            raise ValueError("stall must be >= 0 and shorter than stall_every")

    @classmethod
    def of(cls, settings: DemoSettings | None, changes: dict[str, Any]) -> DemoSettings:
        """``settings`` (else the defaults) with ``changes`` (keyword arguments) applied."""
        return replace(settings or cls(), **changes)


class DemoApp:
    """The ASGI callable; also owns the per-route counters behind ``/__demo/stats``.

    Journeys: ``POST /api/auth/login`` hands out bearer tokens to the built-in
    users, a query returns a ``query_id`` that ``GET /api/queries/{qid}`` reads
    back. That route requires a valid token; every other route still answers
    without one (so plain scenarios keep working) but refuses an invalid one.
    ``authorized`` counts requests that came with a valid token, per route too,
    so a test can check that captured tokens really reached the server.
    """

    def __init__(self, settings: DemoSettings | None = None) -> None:
        self.settings = settings = settings or DemoSettings()
        # Read on every request: kept as plain attributes.
        self.error_rate = settings.error_rate
        self.latency_scale = settings.latency_scale
        self.stall_s = settings.stall_s
        self.stall_every_s = settings.stall_every_s
        self.t0 = time.monotonic()
        self.rng = random.Random(settings.seed)
        self.total = 0
        self.by_route: dict[str, int] = {}
        self.authorized = 0
        self.authorized_by_route: dict[str, int] = {}
        self.logins = 0
        self.logins_by_user: dict[str, int] = {}
        self.tokens: dict[bytes, str] = {}  # token -> user name
        self.queries: dict[str, _Response] = {}  # query id -> its stored answer
        self._query_ids = itertools.count(1)
        self.queries_in_flight = 0  # queries waiting on their simulated model call
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, RSS, open fds
        self.registry.register(_DemoCollector(self))
        agents = _agents()
        self._agents_list = _Response(200, {"agents": agents}, ((b"etag", b'"agents-v1"'),))
        self._agent = {a["id"]: _Response(200, a) for a in agents}

    # -- counters ---------------------------------------------------------------

    def _count(self, key: str) -> None:
        self.total += 1
        self.by_route[key] = self.by_route.get(key, 0) + 1

    def _count_authorized(self, key: str) -> None:
        self.authorized += 1
        self.authorized_by_route[key] = self.authorized_by_route.get(key, 0) + 1

    def stats(self) -> dict[str, Any]:
        """What the server answered so far, to check a load tester's own counts."""
        return {
            "requests": self.total,
            "by_route": dict(sorted(self.by_route.items())),
            "authorized": self.authorized,
            "authorized_by_route": dict(sorted(self.authorized_by_route.items())),
            "logins": self.logins,
            "logins_by_user": dict(sorted(self.logins_by_user.items())),
        }

    def reset(self) -> None:
        self.total = 0
        self.by_route = {}
        self.authorized = 0
        self.authorized_by_route = {}
        self.logins = 0
        self.logins_by_user = {}

    # -- ASGI -------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not part of the demo API
        method: str = scope["method"]
        path: str = scope["path"]
        if self.stall_s and not path.startswith("/__demo/") and path != _METRICS:
            await self._stall()
        if path == "/api/health" and method == "GET":  # the fast path
            self._count("GET /api/health")
            await _HEALTH.send(send)
            return
        if path.startswith("/__demo/"):
            await self._demo_route(method, path, send)
            return
        if path == _METRICS:  # Prometheus's scrapes are not the API's traffic: not counted
            await self._metrics(method, send)
            return
        token = _bearer(scope["headers"])
        if token is not None and token not in self.tokens:
            self._count(f"{method} (invalid token)")
            await _BAD_TOKEN.send(send)
            return
        valid = token is not None
        if path.startswith(_AGENTS_PREFIX):
            query = scope.get("query_string", b"")
            await self._agent_route(method, path, receive, send, valid, query)
        elif path == "/api/agents":
            await self._get_only(method, "/api/agents", self._agents_list, send, valid)
        elif path.startswith(_QUERIES_PREFIX):
            await self._read_query(method, path[len(_QUERIES_PREFIX) :], send, valid)
        elif path == _LOGIN:
            await self._login(method, receive, send)
        elif path == "/api/health":
            await self._get_only(method, "/api/health", _HEALTH, send, valid)
        else:
            self._count(f"{method} (unmatched)")
            await _NOT_FOUND.send(send)

    async def _stall(self) -> None:
        """Hold the request until the current stall window (if any) is over."""
        phase = (time.monotonic() - self.t0) % self.stall_every_s
        start = self.stall_every_s - self.stall_s  # each period ends with its stall
        if phase >= start:
            await asyncio.sleep(self.stall_every_s - phase)

    async def _get_only(
        self, method: str, route: str, response: _Response, send: Send, valid: bool = False
    ) -> None:
        key = f"{method} {route}"
        self._count(key)
        if valid:
            self._count_authorized(key)
        await (response if method in _GET_METHODS else _ONLY_GET).send(send)

    async def _login(self, method: str, receive: Receive, send: Send) -> None:
        """Check a built-in user's password and hand out a fresh bearer token."""
        if method != "POST":
            self._count(f"{method} {_LOGIN}")
            await _ONLY_POST.send(send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        self._count(f"POST {_LOGIN}")
        try:
            creds = json.loads(body)
            user, password = creds["username"], creds["password"]
        except (ValueError, TypeError, KeyError):
            user, password = None, None
        if not isinstance(user, str) or DEMO_USERS.get(user) != password:
            await _BAD_LOGIN.send(send)
            return
        self.logins += 1
        self.logins_by_user[user] = self.logins_by_user.get(user, 0) + 1
        token = "tok_" + secrets.token_urlsafe(18)
        _bounded_put(self.tokens, token.encode(), user, MAX_TOKENS)
        payload = {"access_token": token, "token_type": "bearer", "expires_in": 3600}
        await _Response(200, payload).send(send)

    async def _read_query(self, method: str, qid: str, send: Send, valid: bool) -> None:
        """``GET /api/queries/{qid}``: a stored answer, for holders of a valid token only."""
        key = f"{method} /api/queries/{{qid}}"
        self._count(key)
        if method not in _GET_METHODS:
            await _ONLY_GET.send(send)
        elif not valid:
            await _BAD_TOKEN.send(send)
        else:
            self._count_authorized(key)
            await self.queries.get(qid, _UNKNOWN_QUERY).send(send)

    async def _agent_route(
        self,
        method: str,
        path: str,
        receive: Receive,
        send: Send,
        valid: bool = False,
        scope_query: bytes = b"",
    ) -> None:
        rest = path[len(_AGENTS_PREFIX) :]
        agent_id, sep, tail = rest.partition("/")
        if not sep:
            route, allowed = "/api/agents/{id}", _GET_METHODS
        elif tail == _QUERY_SUFFIX[1:]:
            route, allowed = "/api/agents/{id}/query", frozenset(("POST",))
        else:
            self._count(f"{method} (unmatched)")
            await _NOT_FOUND.send(send)
            return
        key = f"{method} {route}"
        if agent_id not in self._agent:
            self._count(key)
            await _UNKNOWN_AGENT.send(send)
        elif method not in allowed:
            self._count(key)
            await (_ONLY_POST if sep else _ONLY_GET).send(send)
        elif sep and _streams(scope_query):
            await self._stream_query(agent_id, receive, send, valid)
        elif sep:
            await self._query(agent_id, receive, send, valid)
        else:
            self._count(key)
            if valid:
                self._count_authorized(key)
            await self._agent[agent_id].send(send)

    async def _query(self, agent_id: str, receive: Receive, send: Send, valid: bool) -> None:
        """Simulate a model call: drain the body, wait a long-tailed latency, maybe fail."""
        if not await _drain(receive):
            return  # the client went away; nothing was answered, nothing is counted
        rng = self.rng
        roll = rng.random()
        delay = sample_latency(rng, self.latency_scale)
        if delay > 0:
            self.queries_in_flight += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.queries_in_flight -= 1
        self._count("POST /api/agents/{id}/query")
        if valid:
            self._count_authorized("POST /api/agents/{id}/query")
        if roll < self.error_rate:
            # Split the failures between 503 and 500 with the same draw.
            await _ERRORS[roll >= self.error_rate / 2].send(send)
            return
        answer = _ANSWERS[rng.randrange(len(_ANSWERS))]
        qid = f"q{next(self._query_ids)}"
        stored = {"query_id": qid, "agent": agent_id, "status": "done", "answer": answer}
        _bounded_put(self.queries, qid, _Response(200, stored), MAX_QUERIES)
        await _Response(200, {"agent": agent_id, "answer": answer, "query_id": qid}).send(send)

    async def _stream_query(self, agent_id: str, receive: Receive, send: Send, valid: bool) -> None:
        """``POST /api/agents/{id}/query?stream=true``: the answer as server-sent events,
        token by token (OpenAI's chat.completion.chunk), then ``data: [DONE]``. A query
        that fails does so before its first token, with the JSON error of a plain one."""
        if not await _drain(receive):
            return
        rng = self.rng
        roll = rng.random()
        scale = self.latency_scale
        key = "POST /api/agents/{id}/query (stream)"
        self.queries_in_flight += 1
        try:
            first = sample_first_token(rng, scale)
            if first > 0:
                await asyncio.sleep(first)
            self._count(key)
            if valid:
                self._count_authorized(key)
            if roll < self.error_rate:
                await _ERRORS[roll >= self.error_rate / 2].send(send)
                return
            start = rng.randrange(len(_ANSWERS))
            answer = " ".join(
                _ANSWERS[(start + i) % len(_ANSWERS)] for i in range(STREAM_SENTENCES)
            )
            qid = f"q{next(self._query_ids)}"
            await send({"type": "http.response.start", "status": 200,
                        "headers": _SSE_START_HEADERS})  # fmt: skip
            body = {"type": "http.response.body", "more_body": True, "body": b""}
            role = sse_chunk(qid, {"role": "assistant", "content": ""})
            for i, token in enumerate(_tokens(answer)):
                if i:
                    gap = sample_token_gap(rng, scale)
                    if gap > 0:
                        await asyncio.sleep(gap)
                frame = sse_chunk(qid, {"content": token})
                body["body"] = role + frame if i == 0 else frame
                await send(body)
            end = sse_chunk(qid, {}, finish="stop") + _SSE_DONE
            await send({"type": "http.response.body", "body": end})
            stored = {"query_id": qid, "agent": agent_id, "status": "done", "answer": answer}
            _bounded_put(self.queries, qid, _Response(200, stored), MAX_QUERIES)
        finally:
            self.queries_in_flight -= 1

    async def _metrics(self, method: str, send: Send) -> None:
        """``GET /metrics``: the Prometheus text format (what ``--scrape`` reads)."""
        if method not in _GET_METHODS:
            await _ONLY_GET.send(send)
            return
        body = generate_latest(self.registry)
        await _Response(200, body, content_type=_PROMETHEUS_TEXT).send(send)

    async def _demo_route(self, method: str, path: str, send: Send) -> None:
        """Introspection endpoints; deliberately left out of the counters."""
        if path == "/__demo/stats":
            if method in _GET_METHODS:
                await _Response(200, self.stats()).send(send)
            else:
                await _ONLY_GET.send(send)
        elif path == "/__demo/reset":
            if method == "POST":
                self.reset()
                await _RESET_DONE.send(send)
            else:
                await _ONLY_POST.send(send)
        else:
            await _NOT_FOUND.send(send)


class _DemoCollector(Collector):
    """The demo's own figures, read from its counters at scrape time: nothing is done per
    request for Prometheus (the counters exist anyway, for ``/__demo/stats``)."""

    def __init__(self, app: DemoApp) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        yield CounterMetricFamily(
            "demo_requests", "API requests answered (/metrics and /__demo/ left out)", app.total
        )
        by_route = CounterMetricFamily(
            "demo_route_requests", "API requests answered, by route", labels=["route"]
        )
        for route, count in sorted(app.by_route.items()):
            by_route.add_metric([route], count)
        yield by_route
        yield GaugeMetricFamily(
            "demo_queries_in_flight",
            "queries waiting on their simulated model call (the demo's busy pool)",
            app.queries_in_flight,
        )
        yield CounterMetricFamily("demo_logins", "successful logins", app.logins)


def _streams(query: bytes) -> bool:
    """``stream=true`` (or 1) in a query string."""
    return any(p in (b"stream=true", b"stream=1") for p in query.split(b"&"))


def _tokens(text: str) -> list[str]:
    """An answer cut into tokens as a model streams them: each word with the space
    before it."""
    words = text.split(" ")
    return [words[0], *(" " + w for w in words[1:])]


def _bearer(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The bearer token of an ``Authorization`` header, or None without one."""
    for name, value in headers:
        if name == b"authorization":
            if value[:7].lower() == _BEARER:
                return value[7:].strip()
            return b""  # another scheme: never a valid token
    return None


def _bounded_put(store: dict, key: Any, value: Any, limit: int) -> None:
    """Insert, dropping the oldest entries past ``limit`` (dicts keep insertion order)."""
    store[key] = value
    while len(store) > limit:
        del store[next(iter(store))]


async def _read_body(receive: Receive, limit: int = 64 * 1024) -> bytes | None:
    """The request body (cut at ``limit``), or None if the client disconnected first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if size < limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)[:limit]


async def _drain(receive: Receive) -> bool:
    """Read the whole request body; False if the client disconnected first."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        if not message.get("more_body", False):
            return True


def create_app(settings: DemoSettings | None = None, /, **changes: Any) -> DemoApp:
    """Build the demo ASGI app: ``settings``, or the defaults with ``changes``
    (``create_app(seed=5)``); see :class:`DemoSettings`."""
    return DemoApp(DemoSettings.of(settings, changes))
