"""Captures compiled once per worker: from a kept response to the values a user keeps.

A step's JSON captures share one typed msgspec decoder built from their paths: a
Struct holding only the fields the paths name (every other field is skipped
without building Python objects) and ``list[Raw]`` for arrays, whose chosen
element alone is decoded. That costs ~1.3 µs on a 1 KB body where decoding the
whole document costs ~3.5 µs (msgspec or orjson) and ``json.loads`` ~9 µs; JSONPath
libraries cost 4-100 µs per match (see docs/journeys.md). When the typed decode
meets a body of another shape it falls back to a plain decode and a walk, so a
path that exists is always found. Before any decode, a value that comes before
every nested container on its way is read with one regex from the body's start
(``leading_pattern``, ~0.35 µs, the body not read past the value). Header captures
read the raw head block with one regex; regex captures search the body text.

Nothing here keeps a captured value: :meth:`StepCaptures.extract` returns them to
the user that owns them. Messages name the step and the expression, never a value.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import msgspec

from ..scenario.model import CaptureSpec, PathSegment
from .http.cookies import cookie_value
from .http.wire import body_of, head_of, header_values

__all__ = [
    "MISSING",
    "JsonPaths",
    "scalar",
    "StepCaptures",
    "body_of",
    "head_of",
    "json_getter",
    "leading_pattern",
    "value_text",
]

_MISSING = object()
MISSING = _MISSING  # what a path that finds nothing (or null) gives
_generic = msgspec.json.Decoder()
_encode = msgspec.json.encode

# -- values near the start of a body: one regex instead of a decode ----------------
# JSON's whitespace, a string of any content, and a scalar of any kind: what may be
# stepped over on the way to a value (a container may not: that takes the decode).
# Possessive and atomic throughout: a token read is never read again shorter, so a
# body where the way fails gives up in a few steps (2.4 -> 0.9 µs on a 1.2 KB body
# failing inside its first element).
_WS = rb"[ \t\n\r]*+"
_ANY_STRING = rb'"(?:[^"\\\x00-\x1f]++|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+"'
_SCALAR = (
    rb"(?>" + _ANY_STRING + rb"|-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?"
    rb"|true|false|null)"
)
# The value taken: a string without escapes (group 1, its text is the value), or a
# whole number that fits 64 bits, true or false (group 2, written as msgspec writes
# it); then whatever may follow a value. Anything else (escapes, fractions, null, a
# container) does not match, and the step decodes.
_TAKEN = rb'(?:"([^"\\\x00-\x1f]*+)"|(0|-?[1-9][0-9]{0,17}+|true|false))(?=' + _WS + rb"[,}\]])"
_PLAIN_KEY = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but " and \


def leading_pattern(path: tuple[PathSegment, ...]) -> re.Pattern[bytes] | None:
    """A regex finding, in a kept response, the value at ``path`` when only scalars
    come before it at every level (a key among an object's first scalar members, an
    element after scalar elements), or None for a path it cannot follow (a random or
    from-the-end element, a key with quotes, escapes or non-ASCII). It reads the
    body only up to the value.

    Searched for in the whole response, it starts at the blank line that ends the
    head, and always matches at the first one (the way to the value is optional): a
    blank line inside the body is never taken for the body's start. No value in its
    groups means "not found here"; the caller decodes then.
    """
    pattern = _WS
    for seg in path:
        if isinstance(seg, str):
            if not _PLAIN_KEY.fullmatch(seg):
                return None
            key = b'"' + re.escape(seg.encode()) + b'"'
            member = _ANY_STRING + _WS + b":" + _WS + _SCALAR + _WS + b"," + _WS
            pattern += rb"\{" + _WS + b"(?:(?>" + member + b"))*?" + key + _WS + b":" + _WS
        elif seg is None or seg < 0:
            return None
        else:
            pattern += rb"\[" + _WS + (b"(?>" + _SCALAR + _WS + b"," + _WS + b"){%d}" % seg)
    return re.compile(rb"\r\n\r\n(?:" + pattern + _TAKEN + rb")?")


class _Fallback(Exception):
    """The paths of a step disagree on a shape (a key both object and array): walk instead."""


class _Node:
    """One level of the typed tree: an object's fields, an array's elements, or a leaf."""

    __slots__ = ("kind", "fields", "elem", "end", "indexes", "whole")

    def __init__(self) -> None:
        self.kind = "leaf"  # "obj", "arr" or "leaf"
        self.fields: dict[str, _Node] = {}
        self.elem: _Node | None = None
        self.end = False  # a capture's path ends here
        self.indexes: set[int] = set()  # an array's elements the paths pick, from the start
        self.whole = False  # an array some path reads from its end or at random


# Keys msgspec cannot name a Struct field by (a path holding one is walked instead).
_UNNAMEABLE = re.compile(r'["\\\x00-\x1f]')


def _insert(node: _Node, path: tuple[PathSegment, ...]) -> None:
    for seg in path:
        if isinstance(seg, str) and _UNNAMEABLE.search(seg):
            raise _Fallback
        want = "obj" if isinstance(seg, str) else "arr"
        if node.kind == "leaf" and not node.end:
            node.kind = want
        elif node.kind != want:
            raise _Fallback  # one path ends where another goes deeper, or shapes differ
        if isinstance(seg, str):
            node = node.fields.setdefault(seg, _Node())
        else:
            if seg is not None and seg >= 0:
                node.indexes.add(seg)
            else:
                node.whole = True
            if node.elem is None:
                node.elem = _Node()
            node = node.elem
    if node.kind != "leaf":
        raise _Fallback
    node.end = True


class _Types:
    """msgspec types and element decoders for a typed tree."""

    def __init__(self) -> None:
        self.count = 0
        self.elem_decoders: dict[int, Any] = {}  # id(array node) -> element decoder

    def type_of(self, node: _Node) -> Any:
        if node.kind == "leaf":
            return Any
        if node.kind == "arr":
            assert node.elem is not None
            if not node.whole:
                # Only elements counted from the start: an array-like Struct whose fields
                # are the first elements, up to the last one picked (the rest is skipped
                # without building objects; 0.85 µs against 1.33 µs for the list of Raw
                # and one element's decode on a 20-object array).
                elem = self.type_of(node.elem)
                self.count += 1
                fields = [
                    (f"f{i}", elem if i in node.indexes else msgspec.Raw, None)
                    for i in range(max(node.indexes) + 1)
                ]
                return msgspec.defstruct(f"Capture{self.count}", fields, gc=False, array_like=True)
            self.elem_decoders[id(node)] = msgspec.json.Decoder(self.type_of(node.elem))
            return list[msgspec.Raw]
        self.count += 1
        fields = [
            (f"f{i}", self.type_of(child), msgspec.field(default=None, name=key))
            for i, (key, child) in enumerate(node.fields.items())
        ]
        return msgspec.defstruct(f"Capture{self.count}", fields, gc=False)


def _path_ops(root: _Node, types: _Types, path: tuple[PathSegment, ...]) -> list[tuple]:
    """``path`` as steps on the typed document: (0, field) (an object's member or an
    array-like Struct's element), or (1, index) / (2, None: a random element) with the
    element decoder of that array."""
    ops: list[tuple[int, Any, Any]] = []  # (op, argument, element decoder)
    node = root
    for seg in path:
        if isinstance(seg, str):
            ops.append((0, f"f{list(node.fields).index(seg)}", None))
            node = node.fields[seg]
        elif not node.whole:
            assert seg is not None and node.elem is not None
            ops.append((0, f"f{seg}", None))
            node = node.elem
        else:
            decoder = types.elem_decoders[id(node)].decode
            ops.append((1 if seg is not None else 2, seg, decoder))
            assert node.elem is not None
            node = node.elem
    return ops


def _typed_getter(root: _Node, types: _Types, path: tuple[PathSegment, ...]) -> Any:
    """A function from the typed document to the value at ``path`` (_MISSING if absent)."""
    # Generated code, one statement per segment (0.09 µs where a loop over the
    # segments costs 0.27 µs: measured with the body's decode at ~1.2 µs).
    namespace: dict[str, Any] = {"M": _MISSING, "random": random.random}
    lines = ["def get(v):"]
    for k, (op, arg, dec) in enumerate(_path_ops(root, types, path)):
        if op == 0:
            lines += [f"    v = v.{arg}", "    if v is None: return M"]
            continue
        namespace[f"D{k}"] = dec
        pick = f"v[{arg}]" if op == 1 else "v[int(random() * len(v))]"
        lines += [
            "    if not v: return M",
            "    try:",
            f"        v = D{k}({pick})",
            "    except IndexError:",
            "        return M",
        ]
    lines.append("    return M if v is None else v")
    exec("\n".join(lines), namespace)  # noqa: S102 - field names and indexes we made
    return namespace["get"]


def walk(doc: Any, path: tuple[PathSegment, ...]) -> Any:
    """The value at ``path`` in a plainly decoded document (``_MISSING`` if absent)."""
    v = doc
    for seg in path:
        if isinstance(seg, str):
            if type(v) is not dict or seg not in v:
                return _MISSING
            v = v[seg]
        elif seg is None:
            items = list(v.values()) if type(v) is dict else v if type(v) is list else None
            if not items:
                return _MISSING
            v = items[int(random.random() * len(items))]
        else:
            if type(v) is not list:
                return _MISSING
            try:
                v = v[seg]
            except IndexError:
                return _MISSING
    return _MISSING if v is None else v


MISSING = _MISSING  # what json_getter returns for a value it did not find


def json_getter(path: tuple[PathSegment, ...]) -> Callable[[bytes], Any]:
    """A function from a JSON document to the value at ``path``, or :data:`MISSING` (not
    there, null, or not JSON): the typed decode a step's captures use (only the fields the
    path names are built), and a plain decode and a walk when the document has another
    shape. A stream's ``tokens`` reads each event with one."""
    typed: Any = None
    get: Any = None
    try:
        root = _Node()
        _insert(root, path)
        if root.kind == "leaf":
            raise _Fallback
        types = _Types()
        typed = msgspec.json.Decoder(types.type_of(root)).decode
        get = _typed_getter(root, types, path)
    except _Fallback:
        typed = None

    def value(doc: bytes) -> Any:
        if typed is not None:
            try:
                return get(typed(doc))  # found, or missing in a document of this shape
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass  # another shape (or not JSON): decode plainly and walk
        try:
            plain = _generic.decode(doc)
        except msgspec.DecodeError:
            return _MISSING
        return walk(plain, path)

    return value


def value_text(v: Any) -> str:
    """A captured JSON value as text: strings as they are, the rest as compact JSON."""
    if type(v) is str:
        return v
    return _encode(v).decode()


def scalar(raw: bytes) -> Any:
    """A number, true or false as ``leading_pattern``'s second group holds it (TypeError
    for None: no value there)."""
    if raw == b"true":
        return True
    if raw == b"false":
        return False
    return int(raw)


class JsonPaths:
    """The values at several JSONPaths of a kept response, typed as JSON has them (the
    checks' reader; captures want text and store it, :class:`StepCaptures`).

    The same ways as captures, cheapest first: each value read near the body's start
    (``leading_pattern``) when every path can be, else one typed decode of what the
    paths name, else a plain decode and a walk. A path that finds nothing, or null,
    gives :data:`MISSING`.
    """

    __slots__ = ("paths", "leading", "_typed", "_getters")

    def __init__(self, paths: tuple[tuple[PathSegment, ...], ...]) -> None:
        self.paths = paths
        leading = [leading_pattern(p) for p in paths]
        # Each path's pattern's match (at the head's end), when every path has one.
        self.leading = tuple(p.match for p in leading if p is not None)
        if len(self.leading) != len(paths):
            self.leading = ()
        self._typed: Any = None
        self._getters: tuple[Any, ...] = ()
        try:
            root = _Node()
            for path in paths:
                _insert(root, path)
            if root.kind == "leaf":
                raise _Fallback
            types = _Types()
            self._typed = msgspec.json.Decoder(types.type_of(root)).decode
            self._getters = tuple(_typed_getter(root, types, p) for p in paths)
        except _Fallback:
            self._typed = None

    def values(self, raw: bytes) -> list[Any]:
        """Each path's value in the response ``raw`` (head and body), or MISSING."""
        if self.leading:
            out: list[Any] = []
            end = raw.find(b"\r\n\r\n")  # each pattern starts at the head's end
            for match in self.leading:
                m = match(raw, end)
                if m is None:
                    break
                if m[1] is not None:
                    try:
                        out.append(m[1].decode())
                    except UnicodeDecodeError:
                        break
                elif m[2] is not None:
                    out.append(scalar(m[2]))
                else:
                    break
            else:
                return out
        body = body_of(raw)
        if self._typed is not None:
            try:
                doc = self._typed(body)
                found = [get(doc) for get in self._getters]
                if _MISSING not in found:
                    return found
            except (msgspec.DecodeError, msgspec.ValidationError, IndexError):
                pass
        try:
            doc = _generic.decode(body)
        except msgspec.DecodeError:
            return [_MISSING] * len(self.paths)
        return [walk(doc, p) for p in self.paths]


class StepCaptures:
    """Every capture of one step, compiled: ``apply`` stores what it finds in a user's
    values; ``extract`` only reads.

    ``apply(raw, status, values, last, cache)`` captures from the kept response
    ``raw`` into a user's ``values`` and returns -1, or the index of the first capture
    that found nothing (or a value its place refuses); captures that succeed are stored
    even when another one fails (strict = false). ``last[name]`` is the text the user
    last stored under a value's name: the same value found again is neither encoded
    nor stored, and the user's cached requests (``cache[step]``) stay valid; a new one
    clears the cached requests that use it. For a step whose captures are all typed
    JSON, ``apply`` is generated code (decode, the paths' steps, compare) in one call,
    and when every path can be read near the body's start, generated code that tries
    the leading regexes first and calls that one when they do not all match.
    """

    __slots__ = (
        "specs",
        "needs_body",
        "needs_head",
        "apply",
        "_typed",
        "_getters",
        "_json_index",
        "_headers",
        "_cookies",
        "_regexes",
        "_status",
        "_single",
        "_setters",
        "_names",
        "_stale",
        "_out",
        "_ops",
        "_leading",
    )

    def __init__(self, specs: tuple[CaptureSpec, ...]) -> None:
        self.specs = specs
        json_specs = [(i, c) for i, c in enumerate(specs) if c.source == "json"]
        self.needs_body = any(c.source in ("json", "regex") for c in specs)
        self.needs_head = any(c.source in ("header", "cookie") for c in specs)
        self._json_index = tuple(i for i, _ in json_specs)
        self._typed: Any = None
        self._getters: tuple[Any, ...] = ()
        self._ops: list[list[tuple]] = []
        if json_specs:
            try:
                root = _Node()
                for _, c in json_specs:
                    _insert(root, c.path)
                if root.kind == "leaf":
                    raise _Fallback
                types = _Types()
                self._typed = msgspec.json.Decoder(types.type_of(root)).decode
                self._getters = tuple(_typed_getter(root, types, c.path) for _, c in json_specs)
                self._ops = [_path_ops(root, types, c.path) for _, c in json_specs]
            except _Fallback:
                self._typed = None
        self._single = self._getters[0] if len(specs) == 1 and self._typed is not None else None
        leading = [leading_pattern(c.path) for _, c in json_specs]
        self._leading = tuple(p for p in leading if p is not None)
        if len(self._leading) != len(leading):
            self._leading = ()
        # Where each capture's value goes in a user's values: (slot, encoder) pairs
        # (see engine/journeys.py ValueSlots), the number of its name, and the steps
        # whose cached requests it makes stale; set by bind() once the flows are compiled.
        self._setters: tuple[tuple[tuple[int, Any], ...], ...] = tuple(() for _ in specs)
        self._names: tuple[int, ...] = tuple(-1 for _ in specs)
        self._stale: tuple[tuple[int, ...], ...] = tuple(() for _ in specs)
        self._out: list[str | None] = [None] * len(specs)

        self._headers = tuple(
            (
                i,
                re.compile(
                    rb"\r\n" + re.escape(c.header.encode()) + rb"[ \t]*:[ \t]*([^\r\n]*)",
                    re.IGNORECASE,
                ),
            )
            for i, c in enumerate(specs)
            if c.source == "header"
        )
        self._cookies = tuple((i, c.header) for i, c in enumerate(specs) if c.source == "cookie")
        self._regexes = tuple(
            (i, re.compile(c.pattern)) for i, c in enumerate(specs) if c.source == "regex"
        )
        self._status = tuple(i for i, c in enumerate(specs) if c.source == "status")
        self.apply: Any = self.apply_any

    def bind(
        self, binding: tuple[tuple[tuple[tuple[int, Any], ...], int, tuple[int, ...]], ...]
    ) -> None:
        """Where each capture stores: its (slot, encoder) pairs, its name's number (-1:
        no placeholder uses it) and the steps whose cached requests it makes stale."""
        self._setters = tuple(b[0] for b in binding)
        self._names = tuple(b[1] for b in binding)
        self._stale = tuple(b[2] for b in binding)
        all_json = len(self._json_index) == len(self.specs)
        if not (all_json and self._typed is not None):
            self.apply = self.apply_any
        elif self._leading:
            self.apply = self._generate_leading(self._generate())
        else:
            self.apply = self._generate()

    def _store(
        self, i: int, text: str, values: list[bytes], last: list[Any], cache: list[Any]
    ) -> bool:
        """Store capture ``i``'s ``text`` in every place it goes (False: one refused it)."""
        k = self._names[i]
        if k < 0 or last[k] == text:
            return True  # used nowhere, or the same value: nothing to encode or store
        for step in self._stale[i]:
            cache[step] = None
        ok = True
        for slot, encode in self._setters[i]:
            encoded = encode(text)
            if encoded is None:
                ok = False
            else:
                values[slot] = encoded
        last[k] = text if ok else None  # a refused value is tried again next time
        return ok

    def apply_any(
        self, raw: bytes, status: int, values: list[bytes], last: list[Any], cache: list[Any]
    ) -> int:
        """``apply`` for any mix of sources, and any body (chunked too): the fallback of
        the generated one."""
        out = self._out
        for i in range(len(out)):
            out[i] = None
        self.extract(raw, status, out)
        failed = -1
        for i, found in enumerate(out):
            if found is None or not self._store(i, found, values, last, cache):
                failed = i if failed < 0 else failed
        return failed

    def _generate(self) -> Any:
        """``apply`` as one generated function for a step whose captures are all typed
        JSON: slice the body, decode it once, walk each path, compare with what the user
        holds. Anything unusual goes to ``apply_any``, which de-chunks, decodes again and
        walks, so results are the same: no blank line, a miss, another shape, or a
        chunked body (not looked for: its first chunk's size line comes before the JSON,
        so it never decodes as the typed document)."""
        namespace: dict[str, Any] = {
            "typed": self._typed,
            "slow": self.apply_any,
            "text": value_text,
            "random": random.random,
            "E": (msgspec.DecodeError, msgspec.ValidationError, IndexError),
        }
        slow = "return slow(raw, status, values, last, cache)"
        lines = [
            "def apply(raw, status, values, last, cache):",
            '    end = raw.find(b"\\r\\n\\r\\n")',
            "    if end < 0:",
            f"        {slow}",
            "    try:",
            "        doc = typed(raw[end + 4:])",
        ]
        for j, ops in enumerate(self._ops):
            v = "doc"  # the first step reads the document itself
            for k, (op, arg, dec) in enumerate(ops):
                if op == 0:
                    lines += [f"        v = {v}.{arg}", f"        if v is None: {slow}"]
                    v = "v"
                    continue
                namespace[f"D{j}_{k}"] = dec
                pick = f"{v}[{arg}]" if op == 1 else f"{v}[int(random() * len({v}))]"
                lines += [f"        if not {v}: {slow}", f"        v = D{j}_{k}({pick})"]
                v = "v"
            lines += [
                f"        if v is None: {slow}",
                f"        t{j} = v if type(v) is str else text(v)",
            ]
        lines += ["    except E:", f"        {slow}"]
        return self._stored(lines, namespace)

    def _generate_leading(self, typed: Any) -> Any:
        """``apply`` reading each value where it lies near the body's start (one regex
        match per capture, see ``leading_pattern``), or ``typed`` (the generated decode)
        when one of them does not match there. The same values as the decode, except
        that a body is read only up to its values: what follows them is not checked
        (as k6's gjson does), and of a key written twice the first counts."""
        namespace: dict[str, Any] = {"typed": typed}
        slow = "return typed(raw, status, values, last, cache)"
        lines = ["def apply(raw, status, values, last, cache):"]
        for j, rx in enumerate(self._leading):
            namespace[f"R{j}"] = rx.search
            lines += [
                f"    m = R{j}(raw)",  # None: no head end at all
                "    if m is None:",
                f"        {slow}",
                f"    b{j} = m[1]",
                f"    if b{j} is None:",
                f"        b{j} = m[2]",
                f"        if b{j} is None:",
                f"            {slow}",
            ]
        lines.append("    try:")
        for j in range(len(self._leading)):
            lines.append(f"        t{j} = b{j}.decode()")
        lines += ["    except UnicodeDecodeError:", f"        {slow}"]
        return self._stored(lines, namespace)

    def _stored(self, lines: list[str], namespace: dict[str, Any]) -> Any:
        """The end of a generated ``apply`` (its values found as ``t0``, ``t1``...): store
        each value a placeholder uses unless the user holds it already, and return the
        first capture whose place refused its value (-1: none). Compiled here."""
        lines.append("    bad = -1")
        for j, i in enumerate(self._json_index):
            k = self._names[i]
            if k < 0:
                continue  # no placeholder uses this value
            lines += [
                f"    if t{j} != last[{k}] and not store({i}, t{j}, values, last, cache):",
                f"        bad = {i} if bad < 0 else bad",
            ]
        lines.append("    return bad")
        namespace["store"] = self._store
        exec("\n".join(lines), namespace)  # noqa: S102 - only our own names and numbers
        return namespace["apply"]

    def extract(self, raw: bytes, status: int, out: list[str | None]) -> int:
        """Fill ``out[i]`` with capture i's value (or None); return the first failed
        capture's index, or -1 when all succeeded. ``raw`` is the kept response."""
        if self._single is not None:  # the common case: one JSON capture, typed
            try:
                v = self._single(self._typed(body_of(raw)))
            except (msgspec.DecodeError, msgspec.ValidationError):
                v = _MISSING
            if v is not _MISSING:
                out[0] = v if type(v) is str else value_text(v)
                return -1
        failed = -1
        if self._json_index:
            body = body_of(raw)
            self._json(body, out)
        for i, hx in self._headers:
            h = hx.search(head_of(raw))
            out[i] = h.group(1).rstrip().decode("latin-1") if h else None
        if self._cookies:
            set_cookies = header_values(raw, b"set-cookie")
            for i, name in self._cookies:
                out[i] = cookie_value(set_cookies, name)
        if self._regexes:
            text = body_of(raw).decode("utf-8", "replace")
            for i, rx in self._regexes:
                m = rx.search(text)
                out[i] = None if m is None else m.group(1) if rx.groups else m.group(0)
        for i in self._status:
            out[i] = str(status)
        for i in range(len(self.specs)):
            if out[i] is None:
                failed = i
                break
        return failed

    def _json(self, body: bytes, out: list[str | None]) -> None:
        index = self._json_index
        if self._typed is not None:
            try:
                doc = self._typed(body)
                values = [get(doc) for get in self._getters]
                if _MISSING not in values:
                    for i, v in zip(index, values, strict=True):
                        out[i] = value_text(v)
                    return
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass
        # Another shape than the paths suggested (or a real miss): decode plainly and walk.
        try:
            doc = _generic.decode(body)
        except msgspec.DecodeError:
            for i in index:
                out[i] = None
            return
        for i in index:
            v = walk(doc, self.specs[i].path)
            out[i] = None if v is _MISSING else value_text(v)

    def failure(self, index: int, raw: bytes | None, step: str) -> str:
        """The message of a failed capture: the step and the expression, never a value."""
        spec = self.specs[index]
        if raw is None:
            why = "the response was over max_body (not kept)"
        elif spec.source == "json":
            body = body_of(raw)
            try:
                _generic.decode(body)
                why = "found nothing"
            except msgspec.DecodeError:
                why = "the body is not JSON" if body.strip() else "the body is empty"
        else:
            why = "found nothing"
        return f"capture {spec.name} = {spec.text}: {why} (step {step})"
