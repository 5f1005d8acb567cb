"""Flow requests follow the values their users capture: cached requests, chunked and
split responses, and the typed JSON decoder's array shapes.

The server is a real one on loopback that hands out a new token every other login
and records what each request carried; the engine is the real one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tui_loadtest.engine.captures import StepCaptures
from tui_loadtest.engine.journeys import encode_header
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.scenario.captures import parse_json_path
from tui_loadtest.scenario.model import CaptureSpec

from .engine_harness import run_engine
from .servers import LoopbackServer


class TokenServer(LoopbackServer):
    """``POST /login`` answers ``{"access_token": "tok<k>", ...}`` where k grows every
    second login (so a value is sometimes new, sometimes the same as before);
    ``/items/<x>`` answers ``{"id": ...}``. Every request is recorded as (method, path,
    Authorization, body). With ``chunked``, answers come chunked, in several writes."""

    def __init__(self, chunked: bool = False) -> None:
        self.chunked = chunked
        self.logins = 0
        self.seen: list[tuple[str, str, str, bytes]] = []
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ")
                fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                length = int(fields.get("Content-Length", "0"))
                body = await reader.readexactly(length) if length else b""
                self.seen.append((method, path, fields.get("Authorization", ""), body))
                if path == "/big":  # past max_body + the head allowance when max_body is 1
                    doc: Any = {"id": "b1", "pad": "x" * 100_000}
                elif path == "/login":
                    self.logins += 1
                    doc = {
                        "access_token": f"tok{(self.logins + 1) // 2}",
                        "user": {"bio": "x" * 300, "roles": ["a", "b"]},
                    }
                else:
                    doc = {"items": [{"id": f"i{n}", "n": n} for n in range(5)], "ok": True}
                await self._answer(writer, json.dumps(doc).encode())
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # the client went away (at the server's stop: left to the loop)

    async def _answer(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not self.chunked:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
            return
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await writer.drain()
        for i in range(0, len(data), 100):
            part = data[i : i + 100]
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")


@pytest.fixture(params=[False, True], ids=["content-length", "chunked"])
def token_server(request):  # noqa: ANN001, ANN201
    server = TokenServer(chunked=request.param)
    url = server.start()
    yield server, url
    server.stop()


def flow_scenario(requests: int) -> Any:
    data = {
        "name": "values",
        "load": {"users": 1, "spawn_rate": 100, "requests": requests},
        "flows": [
            {
                "name": "follow the token",
                "steps": [
                    {
                        "name": "login",
                        "method": "POST",
                        "path": "/login",
                        "json": {"user": "u"},
                        "capture": {"token": "json:$.access_token"},
                    },
                    {
                        "name": "read",
                        "path": "/items/{token}",
                        "headers": {"Authorization": "Bearer {token}"},
                        "capture": {"item": "json:$.items[2].id"},
                    },
                    {
                        "name": "write",
                        "method": "POST",
                        "path": "/items/{item}",
                        "headers": {"Authorization": "Bearer {token}"},
                        "json": {"token": "{token}", "item": "{item}"},
                    },
                ],
            }
        ],
    }
    return parse_scenario(data, "values.toml", env={})


def test_each_request_carries_the_latest_captured_value(token_server) -> None:  # noqa: ANN001
    server, url = token_server
    agg = asyncio.run(run_engine(flow_scenario(60), url))
    assert not agg.error_rows()
    seen = server.seen
    assert len(seen) == 60 and server.logins == 20
    # One user on one connection: each request follows the login before it. Tokens
    # change every second login, so some requests reuse a cached rendering and the
    # others must be rendered anew: both have to carry the token just handed out.
    logins = 0
    carried = set()
    for method, path, auth, body in seen:
        if path == "/login":
            logins += 1
            continue
        token = f"tok{(logins + 1) // 2}"
        assert auth == f"Bearer {token}", (logins, method, path)
        if method == "GET":
            assert path == f"/items/{token}"
        else:
            assert path == "/items/i2"
            assert json.loads(body) == {"token": token, "item": "i2"}
            carried.add(token)
    assert len(carried) == 10  # ten different tokens, each reached the POST's body


@pytest.mark.parametrize(("max_body", "failures"), [(1, 5), (None, 0)])
def test_a_response_over_max_body_fails_its_capture(token_server, max_body, failures) -> None:  # noqa: ANN001
    server, url = token_server
    steps = [
        {"name": "big", "path": "/big", "capture": {"id": "json:$.id"}},
        {"name": "use", "path": "/items/{id}"},
    ]
    data: dict[str, Any] = {
        "load": {"users": 1, "spawn_rate": 100, "requests": 5 if failures else 10},
        "flows": [{"name": "big body", "steps": steps}],
    }
    if max_body is not None:
        data["http"] = {"max_body": max_body}
    agg = asyncio.run(run_engine(parse_scenario(data, "big.toml", env={}), url))
    errors = agg.error_rows()
    if not failures:
        assert not errors
        assert [p for _, p, _, _ in server.seen] == ["/big", "/items/b1"] * 5
        return
    (err,) = errors
    assert (err.kind, err.count) == ("capture", failures)
    assert err.message == (
        "capture id = json:$.id: the response was over max_body (not kept) (step big)"
    )
    assert [p for _, p, _, _ in server.seen] == ["/big"] * 5  # strict: the flow stops


def caps(*exprs: str) -> StepCaptures:
    specs = tuple(
        CaptureSpec(f"v{i}", "json", f"json:{e}", path=parse_json_path(e))
        for i, e in enumerate(exprs)
    )
    c = StepCaptures(specs)
    # Each value goes to one slot of its own, as a header value.
    c.bind(tuple((((i, encode_header),), i, ()) for i in range(len(specs))))
    return c


def response(doc: Any) -> bytes:
    body = json.dumps(doc).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def run(c: StepCaptures, doc: Any) -> tuple[int, list[bytes]]:
    values = [b""] * len(c.specs)
    last: list[Any] = [None] * len(c.specs)
    bad = c.apply(response(doc), 200, values, last, [])
    return bad, values


@pytest.mark.parametrize(
    ("exprs", "doc", "found"),
    [
        # leading indexes: an array-like Struct (elements past the last one skipped)
        (("$.a[2].id",), {"a": [{"id": 1}, {"id": 2}, {"id": "x"}, {"id": 4}]}, [b"x"]),
        (("$.a[0].id", "$.a[1].id"), {"a": [{"id": "p"}, {"id": "q"}]}, [b"p", b"q"]),
        (("$.a[1]",), {"a": [[1], {"k": [2, 3]}, 7]}, [b'{"k":[2,3]}']),
        (("$[1].id",), [{"id": 1}, {"id": "r"}], [b"r"]),
        (("$.a[0][1]",), {"a": [[5, "z"], []]}, [b"z"]),
        # from the end: the whole array is kept
        (("$.a[0].id", "$.a[-1].id"), {"a": [{"id": "f"}, {"id": "l"}]}, [b"f", b"l"]),
        # an element of another shape than the path says: the walk finds the rest
        (("$.a[1].id",), {"a": ["text", {"id": "w"}]}, [b"w"]),
    ],
)
def test_typed_captures_find_what_the_walk_finds(exprs, doc, found) -> None:  # noqa: ANN001
    bad, values = run(caps(*exprs), doc)
    assert bad == -1
    assert values == found


@pytest.mark.parametrize(
    "doc",
    [
        {"a": [{"id": 1}]},  # too short
        {"a": ["x", "y", "z"]},  # no object where the path goes on
        {"a": [{"id": 1}, {"id": 2}, {"id": None}]},  # null counts as nothing
        {"a": {"2": {"id": 1}}},  # an object, not an array
        {"b": 1},
    ],
)
def test_typed_captures_fail_where_nothing_is_found(doc) -> None:  # noqa: ANN001
    bad, values = run(caps("$.a[2].id"), doc)
    assert bad == 0 and values == [b""]


def test_a_value_found_again_is_not_stored_again() -> None:
    c = caps("$.t")
    values = [b""]
    last: list[Any] = [None]
    cache: list[Any] = [b"old request"]
    c.bind(((((0, encode_header),), 0, (0,)),))  # its value makes cached request 0 stale
    assert c.apply(response({"t": "a"}), 200, values, last, cache) == -1
    assert values == [b"a"] and last == ["a"] and cache == [None]  # new: cache cleared
    cache[0] = b"rendered with a"
    assert c.apply(response({"t": "a"}), 200, values, last, cache) == -1
    assert cache == [b"rendered with a"]  # the same value: the rendering stays
    assert c.apply(response({"t": "b"}), 200, values, last, cache) == -1
    assert values == [b"b"] and cache == [None]
