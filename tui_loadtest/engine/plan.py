"""Turn a scenario's requests into what the hot path needs: pre-built request bytes,
a weight table indexed by ``random()``, and success lookups indexed by status.

Everything here runs once per worker, so that sending a request costs a table
lookup and a ``transport.write``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from math import gcd
from urllib.parse import urlsplit

from .. import __version__
from ..scenario import RequestSpec, Scenario
from .http.encoding import accept_encoding
from .http.routes import parse_proxy, proxy_for
from .streams import CompiledStream, compile_stream

USER_AGENT = f"tui-loadtest/{__version__}"
# Pre-build every combination of template values up to this many per request.
MAX_PREBUILT = 4096
# Weight tables longer than this are scaled down (relative error under 0.1 %).
MAX_TABLE = 10_000


@dataclass(frozen=True, slots=True)
class Target:
    """Where requests go: an origin, and how to reach it."""

    scheme: str
    host: str  # name or address, without brackets
    port: int
    host_header: str
    sni: str | None = None  # the TLS server name when it is not ``host`` (http.server_name)
    proxy: tuple[str, int] | None = None  # an HTTP proxy to go through (host, port)
    proxy_auth: str | None = field(default=None, repr=False)  # its Proxy-Authorization

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def prefix(self) -> str:
        """What comes before a path in a request line: the origin, when the request goes
        to an HTTP proxy in the clear (absolute form); nothing otherwise (a tunnel for
        https, or no proxy)."""
        if self.proxy is not None and not self.tls:
            return f"http://{self.host_header}"
        return ""

    @property
    def server_name(self) -> str:
        return self.sni or self.host

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme=scheme, host=host, port=port, host_header=host_header(scheme, host, port))

    def named(self, server_name: str) -> Target:
        """The same origin reached by address but named ``server_name`` (SNI and Host)."""
        header = host_header(self.scheme, server_name, self.port)
        return replace(self, sni=server_name, host_header=header)


def route(target: Target, setting: str | None) -> Target:
    """``target`` with the proxy it goes through (``[http] proxy``, else the
    environment's), if any."""
    url = proxy_for(target.scheme, target.host, setting)
    if url is None:
        return target
    host, port, auth = parse_proxy(url)
    return replace(target, proxy=(host, port), proxy_auth=auth)


def host_header(scheme: str, host: str, port: int) -> str:
    """The Host header's value: the port only when it is not the scheme's own."""
    default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    shown = f"[{host}]" if ":" in host else host
    return shown if default else f"{shown}:{port}"


@dataclass(slots=True)
class CompiledRequest:
    """One ``[[requests]]`` entry, ready to send."""

    index: int
    name: str
    method: str
    spec: RequestSpec
    headers: list[tuple[str, str]]  # scenario + request headers, merged
    variants: list[bytes]  # request bytes, one per template value combination
    parts: list[tuple[str, bytes | None]]  # (path, body) aligned with ``variants``
    ok: bytes  # ok[status] is 1 when the status counts as success
    is_head: bool
    random_parts: Callable[[], tuple[str, bytes | None]] | None = None  # huge templates
    to_bytes: Callable[[str, bytes | None], bytes] | None = None
    single: bytes | None = None  # the request bytes when there is only one variant
    # This second's statistics for this request (see worker_engine.Buffers):
    # bucket counts, then the latency sum and the bytes received in two extra
    # slots. The engine points these at fresh lists every second, so recording
    # is three index operations on one list.
    hist: list[int] = field(default_factory=list)
    svc: list[int] = field(default_factory=list)  # open model: service time
    stream: CompiledStream | None = None  # how its answer streams (None: it does not)
    srec: list[int] = field(default_factory=list)  # streams: this second's stream list

    def __post_init__(self) -> None:
        if len(self.variants) == 1 and self.random_parts is None:
            self.single = self.variants[0]

    def pick(self) -> bytes:
        """Request bytes with template values drawn at random."""
        if self.random_parts is not None and self.to_bytes is not None:
            return self.to_bytes(*self.random_parts())
        v = self.variants
        return v[0] if len(v) == 1 else v[int(random.random() * len(v))]

    def pick_parts(self) -> tuple[str, bytes | None]:
        """``(path, body)`` with template values drawn at random (for the httpx transport)."""
        if self.random_parts is not None:
            return self.random_parts()
        p = self.parts
        return p[0] if len(p) == 1 else p[int(random.random() * len(p))]


def success_table(spec: RequestSpec) -> bytes:
    """A 1000-byte table: entry ``status`` is 1 when that status is a success."""
    return _success_table(spec.expect_status or None)


@lru_cache(maxsize=256)
def _success_table(expect: frozenset[int] | None) -> bytes:
    # Cached: most requests share a table, and building one per request cost
    # about 0.2 ms each, a second for a scenario with 5,000 endpoints.
    if expect:
        return bytes(1 if s in expect else 0 for s in range(1000))
    return bytes(1 if 100 <= s < 400 else 0 for s in range(1000))


def build_request_bytes(
    method: str,
    path: str,
    target: Target,
    headers: list[tuple[str, str]],
    body: bytes | None,
    keepalive: bool,
) -> bytes:
    """Serialise one HTTP/1.1 request. Header names are compared case-insensitively
    so that user headers replace our defaults rather than duplicate them."""
    lines = [f"{method} {target.prefix}{path} HTTP/1.1"]
    given = {name.lower() for name, _ in headers}
    defaults = [
        ("Host", target.host_header),
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
    ]
    for name, value in defaults:
        if name.lower() not in given:
            lines.append(f"{name}: {value}")
    for name, value in headers:
        lines.append(f"{name}: {value}")
    if target.proxy_auth and target.prefix:  # the proxy reads it (a tunnel's is in CONNECT)
        lines.append(f"Proxy-Authorization: {target.proxy_auth}")
    if not keepalive and "connection" not in given:
        lines.append("Connection: close")
    if (body is not None or method in ("POST", "PUT", "PATCH")) and "content-length" not in given:
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def merged_headers(spec: RequestSpec, scenario: Scenario) -> list[tuple[str, str]]:
    """Scenario-wide headers, overridden (case-insensitively) by the request's own."""
    own = {n.lower() for n, _ in spec.headers}
    headers = [(n, v) for n, v in scenario.http.headers if n.lower() not in own]
    headers.extend(spec.headers)
    if spec.content_type and "content-type" not in {n.lower() for n, _ in headers}:
        headers.append(("Content-Type", spec.content_type))
    accept = accept_encoding(scenario.http.compression)
    if accept and "accept-encoding" not in {n.lower() for n, _ in headers}:
        headers.append(("Accept-Encoding", accept))
    return headers


def compile_request(
    index: int, spec: RequestSpec, target: Target, scenario: Scenario
) -> CompiledRequest:
    headers = merged_headers(spec, scenario)
    keepalive = scenario.http.keepalive

    def to_bytes(path: str, body: bytes | None) -> bytes:
        return build_request_bytes(spec.method, path, target, headers, body, keepalive)

    names = [name for name, _ in spec.vars]
    lists = [values for _, values in spec.vars]
    combos = 1
    for values in lists:
        combos *= len(values)
    random_parts = None
    if combos <= MAX_PREBUILT:
        parts = [spec.fill(dict(zip(names, c, strict=True))) for c in itertools.product(*lists)]
    else:
        random_parts = spec.render
        parts = [random_parts()]
    return CompiledRequest(
        index=index,
        name=spec.name,
        method=spec.method,
        spec=spec,
        headers=headers,
        variants=[to_bytes(p, b) for p, b in parts],
        parts=parts,
        ok=success_table(spec),
        is_head=spec.method == "HEAD",
        random_parts=random_parts,
        to_bytes=to_bytes,
        stream=None
        if spec.stream is None
        else compile_stream(spec.stream, spec.tokens, spec.idle_timeout_s, scenario.http.max_body),
    )


def weight_table(weights: list[float]) -> list[int]:
    """Expand weights into a list of indexes, so ``table[int(random() * len(table))]``
    picks index i with probability weights[i] / sum(weights)."""
    if all(float(w).is_integer() for w in weights):
        ints = [int(w) for w in weights]
    else:
        scale = MAX_TABLE / sum(weights)
        ints = [max(1, round(w * scale)) for w in weights]
    g = 0
    for w in ints:
        g = gcd(g, w)
    ints = [w // g for w in ints]
    total = sum(ints)
    if total > MAX_TABLE:
        scale = MAX_TABLE / total
        ints = [max(1, round(w * scale)) for w in ints]
    table: list[int] = []
    for i, w in enumerate(ints):
        table.extend([i] * w)
    return table


@dataclass(slots=True)
class Plan:
    """All compiled requests of a scenario plus the weight table."""

    target: Target
    requests: list[CompiledRequest]
    table: list[int]

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [(r.method, r.name) for r in self.requests]


def compile_plan(scenario: Scenario, host: str) -> Plan:
    target = route(Target.from_url(host), scenario.http.proxy)
    if scenario.http.server_name:
        target = target.named(scenario.http.server_name)
    reqs = [compile_request(i, spec, target, scenario) for i, spec in enumerate(scenario.requests)]
    table = weight_table([r.spec.weight for r in reqs])
    return Plan(target=target, requests=reqs, table=table)
