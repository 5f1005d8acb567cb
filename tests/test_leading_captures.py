"""JSON captures read near the body's start with one regex (``leading_pattern``) find
what a full decode and walk find, and hand everything else to the decode.

The reference is the plain walk over ``json.loads``; the documents are random, written
compact, spaced and indented, with escapes, non-ASCII text, floats and big numbers, so
both the regex and the decode it falls back to are exercised.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tui_loadtest.engine.captures import leading_pattern, value_text, walk
from tui_loadtest.engine.journeys import encode_header
from tui_loadtest.scenario.captures import parse_json_path
from tui_loadtest.scenario.model import PathSegment

from .test_flow_values import caps

KEYS = ["id", "a", "token", "x y", "ü", 'q"k', "n"]
STRINGS = ["a1", "", "tok_9f", "é ü", 'say "hi"', "line\nbreak", "back\\slash", "🙂"]
NOTHING = walk({}, ("x",))  # what the walk returns when it finds nothing
NUMBERS = [0, 7, -12, 2**62, 2**70, 1.5, -0.25, 1e21]


def random_doc(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return {k: random_doc(rng, depth + 1) for k in rng.sample(KEYS, rng.randint(0, 4))}
    if depth < 3 and roll < 0.45:
        return [random_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice([*STRINGS, *NUMBERS, True, False, None])


def random_path(rng: random.Random, doc: Any) -> tuple[PathSegment, ...]:
    """A path into ``doc`` (sometimes one step off it: a missing key or index)."""
    path: list[PathSegment] = []
    v = doc
    while isinstance(v, dict | list) and (not path or rng.random() < 0.8):
        if rng.random() < 0.1:
            path.append(rng.choice(KEYS) if isinstance(v, list) else rng.randint(0, 3))
            break
        if isinstance(v, dict):
            key = rng.choice([*v, rng.choice(KEYS)]) if v else rng.choice(KEYS)
            path.append(key)
            if key not in v:
                break
            v = v[key]
        else:
            i = rng.randint(-1, len(v))
            path.append(i)
            if not -len(v) <= i < len(v):
                break
            v = v[i]
    return tuple(path) or ("id",)


def response(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def capture(path_text: str, raw: bytes) -> tuple[int, bytes]:
    c = caps(path_text)
    values, last = [b""], [None]
    bad = c.apply(raw, 200, values, last, [])
    return bad, values[0]


def path_text(path: tuple[PathSegment, ...]) -> str:
    return "$" + "".join(
        f"[{s}]" if isinstance(s, int) else f"[{json.dumps(s, ensure_ascii=False)}]" for s in path
    )


def test_the_regex_finds_what_the_decode_finds_on_random_documents() -> None:
    rng = random.Random(20261130)
    taken = 0
    cases = 3000
    for _ in range(cases):
        doc = random_doc(rng)
        if not isinstance(doc, dict | list):
            doc = {"id": doc}
        path = random_path(rng, doc)
        style = rng.choice([{"separators": (",", ":")}, {}, {"indent": 2}])
        body = json.dumps(doc, ensure_ascii=rng.random() < 0.5, **style).encode()
        raw = response(body)
        expected = walk(json.loads(body), path)
        bad, stored = capture(path_text(path), raw)
        encoded = None if expected is NOTHING else encode_header(value_text(expected))
        if encoded is None:  # nothing found, or a value a header refuses (a line break)
            assert (bad, stored) == (0, b""), (body, path)
        else:
            assert (bad, stored) == (-1, encoded), (body, path)
        rx = leading_pattern(path)
        m = rx.search(raw) if rx is not None else None
        taken += m is not None and m.lastindex is not None
    assert taken > cases // 10  # the regex really answered a share of them (~17 %)


@pytest.mark.parametrize(
    ("body", "path", "found"),
    [
        # scalars stepped over at each level, spaces anywhere
        (b'{ "n" : 1.5e3 , "q" : "a\\"b" , "id" : "x" }', "$.id", b"x"),
        (b'{"a": [null, true, {"id": 42}]}', "$.a[2].id", b"42"),
        # what the regex leaves to the decode: escapes, fractions, -0, 2**70, a container
        (b'{"id": "a\\u00e9\\n"}', "$.id", b"a\xc3\xa9"),  # the line break is refused
        (b'{"id": 1.50}', "$.id", b"1.5"),
        (b'{"id": -0}', "$.id", b"0"),
        (b'{"id": 1180591620717411303424}', "$.id", b"1180591620717411303424"),
        (b'{"id": {"k": [1, 2]}}', "$.id", b'{"k":[1,2]}'),
        # a container before the key: the decode finds it
        (b'{"a": {"id": "inner"}, "id": "outer"}', "$.id", b"outer"),
        # a blank line inside the body is not taken for the start of the body
        (b'{"a": [1,\r\n\r\n{"id": "inner"}], "id": "outer"}', "$.id", b"outer"),
    ],
)
def test_what_the_regex_takes_and_leaves(body: bytes, path: str, found: bytes) -> None:
    bad, stored = capture(path, response(body))
    if found == b"a\xc3\xa9":  # a header value may not hold a line break: refused
        assert bad == 0
        return
    assert (bad, stored) == (-1, found)


def test_a_body_is_read_only_up_to_its_value() -> None:
    """The documented trade-off (as k6's gjson): what follows the value is not checked;
    a body broken before it fails the capture as not JSON."""
    assert capture("$.id", response(b'{"id": "x", "rest": [1, 2')) == (-1, b"x")
    assert capture("$.id", response(b'{"rest": [1, 2], "id": "x"')) == (0, b"")
    assert capture("$.id", response(b"<html>id</html>")) == (0, b"")


@pytest.mark.parametrize("path", ["$.a[*].id", "$.a[-1]", "$['q\"k']", "$['ü']"])
def test_paths_the_regex_cannot_follow_are_decoded(path: str) -> None:
    assert leading_pattern(parse_json_path(path)) is None
    body = json.dumps({"a": [{"id": "v"}], 'q"k': "v", "ü": "v"}).encode()
    bad, stored = capture(path, response(body))
    assert bad == -1
    assert stored in (b"v", b'{"id":"v"}')
