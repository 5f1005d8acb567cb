"""The cookie jar's rules (RFC 6265 section 5), and decoding compressed bodies within a
limit: pure functions, no network."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from tui_loadtest.engine.http.cookies import CookieJar, default_path, domain_match, path_match
from tui_loadtest.engine.http.encoding import BodyTooLarge, DecodeError, decode
from tui_loadtest.engine.http.wire import next_hop, resolve, with_cookie
from tui_loadtest.engine.plan import Target

NOW = 1_800_000_000.0


def jar_with(*values: str, host: str = "api.example.test", path: str = "/a/b") -> CookieJar:
    jar = CookieJar()
    jar.receive(list(values), host, path, now=NOW)
    return jar


def test_host_only_and_domain_cookies() -> None:
    jar = jar_with("a=1", "b=2; Domain=example.test", "c=3; Domain=other.test", "d=4; Domain=test")
    assert jar.header("api.example.test", "/a/x", False, now=NOW) == "a=1; b=2"
    assert jar.header("www.example.test", "/a/x", False, now=NOW) == "b=2"  # a is host-only
    assert jar.header("example.test", "/a/x", False, now=NOW) == "b=2"
    assert "c" not in jar.as_dict() and "d" not in jar.as_dict()  # another domain, a TLD


def test_paths_default_to_the_requests_directory_and_longer_ones_come_first() -> None:
    jar = jar_with("dir=1", "root=2; Path=/", "deep=3; Path=/a/b/c")
    assert jar.header("api.example.test", "/a/b/c/d", False, now=NOW) == "deep=3; dir=1; root=2"
    assert jar.header("api.example.test", "/a/x", False, now=NOW) == "dir=1; root=2"
    assert jar.header("api.example.test", "/ab", False, now=NOW) == "root=2"
    assert default_path("/a/b?q=1") == "/a" and default_path("/x") == "/"
    assert path_match("/a/b", "/a") and not path_match("/ab", "/a") and path_match("/a/", "/a/")


def test_expiry_deletion_and_secure() -> None:
    jar = jar_with("s=1; Max-Age=60", "t=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT", "u=3; Secure")
    assert jar.as_dict() == {"s": "1", "u": "3"}  # t expired long ago
    assert jar.header("api.example.test", "/a/x", False, now=NOW) == "s=1"  # u over https only
    assert jar.header("api.example.test", "/a/x", True, now=NOW) == "s=1; u=3"
    assert jar.header("api.example.test", "/a/x", True, now=NOW + 61) == "u=3"  # s is gone
    version = jar.version
    jar.receive(["u=3; Secure"], "api.example.test", "/a/b", now=NOW)
    assert jar.version == version  # the same cookie again changes nothing sent
    jar.receive(["u=gone; Max-Age=0; Secure"], "api.example.test", "/a/b", now=NOW)
    assert "u" not in jar.as_dict() and jar.version > version


def test_domain_match_never_matches_an_address_by_suffix() -> None:
    assert domain_match("a.example.test", "example.test")
    assert not domain_match("badexample.test", "example.test")
    assert not domain_match("10.0.0.1", "0.0.1")


def test_a_cookie_header_is_added_or_joined() -> None:
    plain = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    assert with_cookie(plain, "a=1") == b"GET /x HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\n\r\n"
    own = b"POST /x HTTP/1.1\r\ncookie: mine=0\r\nContent-Length: 2\r\n\r\nhi"
    assert with_cookie(own, "a=1") == (
        b"POST /x HTTP/1.1\r\nCookie: mine=0; a=1\r\nContent-Length: 2\r\n\r\nhi"
    )


def test_redirect_targets_and_methods() -> None:
    origin = Target.from_url("http://127.0.0.1:8000")
    assert resolve(origin, "/a/b", "c?x=1") == (origin, "/a/c?x=1")
    other, path = resolve(origin, "/a", "https://example.test/z")  # type: ignore[misc]
    assert (other.scheme, other.host, other.port, path) == ("https", "example.test", 443, "/z")
    assert resolve(origin, "/a", "ftp://example.test/") is None
    post = (
        b"POST /a HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer t\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    method, data = next_hop(post, 303, origin, origin, "/b")
    assert method == "GET" and data.startswith(b"GET /b HTTP/1.1") and b"Content-Length" not in data
    assert b"Authorization" in data  # the same origin keeps it
    method, data = next_hop(post, 307, origin, other, "/z")
    assert method == "POST" and data.endswith(b"\r\n\r\n{}") and b"Host: example.test" in data
    assert b"Authorization" not in data  # credentials stay with their origin


def gzip_bomb(size: int) -> bytes:
    """``size`` bytes of zeros as gzip members of 1 MB each (each ~1 KB: quick to make)."""
    member = gzip.compress(bytes(1 << 20), 9)
    return member * (size >> 20)


def deflate_bomb(size: int) -> bytes:
    make = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    return b"".join(make.compress(zeros) for _ in range(size >> 20)) + make.flush()


@pytest.mark.parametrize(("coding", "bomb"), [("gzip", 1 << 30), ("deflate", 128 << 20)])
def test_a_zip_bomb_is_refused_within_the_limit(coding: str, bomb: int) -> None:
    """1 GB of zeros as gzip (128 MB as one deflate stream), about a megabyte on the wire,
    against a 4 MB limit (what is received is kept only up to the limit too): refused, and
    decoding it never holds much more than the limit."""
    body = gzip_bomb(bomb) if coding == "gzip" else deflate_bomb(bomb)
    limit = 4 << 20
    assert len(body) < limit
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            decode(body, [coding], limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * limit, peak


def test_decoding_what_the_server_says() -> None:
    body = b'{"a": 1}'
    assert decode(gzip.compress(body), ["gzip"], 100) == body
    assert decode(zlib.compress(body), ["deflate"], 100) == body
    raw = zlib.compressobj(wbits=-15)
    assert decode(raw.compress(body) + raw.flush(), ["deflate"], 100) == body  # raw deflate
    assert decode(gzip.compress(gzip.compress(body)), ["gzip", "gzip"], 100) == body
    assert decode(gzip.compress(body) * 2, ["gzip"], 100) == body * 2  # two members
    with pytest.raises(DecodeError, match="^compressed body could not be decoded"):
        decode(b"plain text", ["gzip"], 100)
    with pytest.raises(DecodeError, match="ends early"):
        decode(gzip.compress(body * 50)[:30], ["gzip"], 10_000)
