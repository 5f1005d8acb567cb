"""The script API takes requests' arguments and answers like requests (issue 22): each
call is checked against what the loopback server echoed back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_loadtest.scenario import parse_scenario

from .engine_harness import run_engine, totals
from .locust_target import LocustTarget

SCRIPT = """
import io
from tui_loadtest.script import task, HTTPError

@task
async def calls(user):
    if user.state.get("done"):
        return
    user.state["done"] = True
    echo = lambda r: r.json()

    r = await user.get("/echo", params={"q": "a b", "n": [1, 2], "skip": None}, name="params")
    assert echo(r)["query"] == {"q": ["a b"], "n": ["1", "2"]}, r.text

    r = await user.post("/echo", data={"a": "1", "b": "é"}, name="form")
    assert echo(r)["form"] == {"a": ["1"], "b": ["é"]}
    assert echo(r)["content_type"] == "application/x-www-form-urlencoded"

    for body, sent in (("text", "text"), (b"bytes", "bytes"), (io.BytesIO(b"file"), "file")):
        r = await user.put("/echo", data=body, name="raw")
        assert echo(r)["body"] == sent

    r = await user.patch("/echo", json={"x": [1, None]}, name="json")
    assert echo(r)["json"] == {"x": [1, None]}

    files = {"photo": ("a.txt", b"hello", "text/plain"), "raw": io.BytesIO(b"x")}
    r = await user.post("/echo", data={"kind": "pet"}, files=files, name="upload")
    body = echo(r)["body"]
    assert 'name="kind"' in body and 'name="photo"; filename="a.txt"' in body, body
    assert "Content-Type: text/plain" in body and 'name="raw"; filename="raw"' in body

    user.headers["X-Session"] = "s"
    call = {"X-Call": "c", "X-Session": None}
    r = await user.get("/echo", headers=call, cookies={"k": "v"}, name="headers")
    got = echo(r)
    assert got["headers"]["x-call"] == "c" and "x-session" not in got["headers"]
    assert got["cookies"] == {"k": "v"} and "gzip" in got["headers"]["accept-encoding"]

    r = await user.get("/basic-auth/me/pw", auth=("me", "pw"), name="auth")
    assert r.ok and r.status_code == 200

    r = await user.get("/redirect/302?to=/echo", allow_redirects=False, name="no follow")
    assert r.status_code == 302 and r.headers["location"] == "/echo" and r.history == []

    r = await user.get("/redirect/chain/2", name="chain")
    assert [h.status_code for h in r.history] == [302, 302] and r.url.endswith("/redirect/chain/0")

    r = await user.get(OTHER + "/api/elsewhere", name="absolute")
    assert r.json()["path"] == "/api/elsewhere" and r.url == OTHER + "/api/elsewhere"

    r = await user.get("/status/404", name="404")
    try:
        r.raise_for_status()
        raise AssertionError("no HTTPError")
    except HTTPError as exc:
        assert exc.response.status_code == 404 and "404 Client Error" in str(exc)
    assert r.elapsed.total_seconds() > 0

    for bad, expected in (
        ({"data": object()}, "data: expected a dict"),
        ({"auth": "me:pw"}, "auth: expected a (user, password) pair"),
        ({"params": 5}, "params: expected a dict"),
        ({"timeout": -1}, "timeout: expected a positive number"),
        ({"allow_redirects": "yes"}, "allow_redirects: expected True or False"),
        ({"verfy": False}, "unexpected keyword argument 'verfy'"),
    ):
        try:
            await user.get("/echo", **bad)
            raise AssertionError(f"{bad} was accepted")
        except TypeError as exc:
            assert expected in str(exc), (bad, str(exc))

    r = await user.get("/slow?ms=300", timeout=0.05, name="slow")
"""


def errors(agg):  # noqa: ANN001, ANN201
    return [(e.kind, e.message) for e in agg.error_rows()]


@pytest.fixture(scope="module")
def target() -> Iterator[LocustTarget]:
    with LocustTarget() as t:
        yield t


@pytest.mark.anyio
async def test_requests_arguments_and_responses(target: LocustTarget, tmp_path: Path) -> None:
    target.reset()
    script = SCRIPT.replace("OTHER", repr(target.other_url))
    (tmp_path / "users.py").write_text(script, encoding="utf-8")
    data = {"host": target.url, "load": {"users": 1}, "script": "users.py"}
    sc = parse_scenario(data, str(tmp_path / "s.toml"))
    agg = await run_engine(
        sc, target.url, stop_when=lambda: target.count("GET", "/slow") > 0, timeout=5
    )
    _, _, kinds = totals(agg)
    # the one failure meant: the slow call's own timeout; the script's asserts all held
    assert kinds == {"timeout": 1, "HTTP 404": 1}, [(e.kind, e.message) for e in agg.error_rows()]
    assert target.count("GET", "/api/elsewhere", other=True) == 1
    assert target.count("GET", "/redirect/302") == 1 and target.count("GET", "/echo") == 2


UPLOADS = [
    ({"f": ("report.csv", b"a,b\n1,2\n", "text/csv")}, {"kind": "daily", "tags": ["x", "y"]}),
    ({"f": b"raw bytes", "g": "text"}, None),
    ([("f", ("one.bin", b"1")), ("f", ("two.bin", b"2", None, {"X-Part": "2"}))], [("a", "1")]),
    ({"f": ('we"ird\\name.txt', b"q")}, {}),
]


@pytest.mark.parametrize(("files", "data"), UPLOADS)
def test_files_make_the_body_requests_makes(files: object, data: object) -> None:
    """``files=`` (with ``data=``'s fields) is the multipart body requests sends, byte for
    byte but for the random boundary."""
    import copy

    import requests

    from tui_loadtest.engine.http.arguments import request_parts

    ours = request_parts("POST", "/up", data=copy.deepcopy(data), files=copy.deepcopy(files))
    theirs = requests.Request(
        "POST", "http://h/up", data=copy.deepcopy(data), files=copy.deepcopy(files)
    ).prepare()
    assert ours.content_type is not None and isinstance(theirs.body, bytes)
    our_boundary = ours.content_type.split("boundary=")[1]
    their_boundary = theirs.headers["Content-Type"].split("boundary=")[1]
    assert ours.content_type.replace(our_boundary, "B") == theirs.headers["Content-Type"].replace(
        their_boundary, "B"
    )
    assert ours.body is not None
    assert ours.body.replace(our_boundary.encode(), b"B") == theirs.body.replace(
        their_boundary.encode(), b"B"
    )


def test_a_responses_body_is_decoded_only_when_its_head_names_an_encoding() -> None:
    """The body is read as it came unless Content-Encoding (any case) names a coding."""
    import gzip
    from functools import partial

    from tui_loadtest.engine.http.encoding import decode
    from tui_loadtest.script import Response

    body = b'{"ok": true}'
    packed = gzip.compress(body)
    decoder = partial(decode, limit=1 << 20)
    plain = Response(200, b"HTTP/1.1 200 OK\r\nContent-Type: application/json", body,
                     decoder=decoder)  # fmt: skip
    assert plain.json() == {"ok": True}
    for name in (b"Content-Encoding", b"content-encoding", b"CONTENT-ENCODING  "):
        head = b"HTTP/1.1 200 OK\r\n" + name + b": gzip\r\nContent-Length: 9"
        r = Response(200, head, packed, decoder=decoder)
        assert r.content == body and r.raw_content == packed, name
    identity = Response(200, b"HTTP/1.1 200 OK\r\ncontent-encoding: identity", body)
    assert identity.content == body
    no_decoder = Response(200, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip", packed)
    with pytest.raises(ValueError, match="could not be decoded"):
        _ = no_decoder.content
