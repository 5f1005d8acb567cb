"""Checks compiled once per worker: from a response to pass and fail counts.

A step's checks (``scenario/response_checks.py`` parsed them) become one
:class:`StepChecks`: a test per check, and the slots of the worker's per-second
check counts they add to (``Buffers.checks``: a pass and a fail counter per check).
Status and duration checks read two numbers the user already holds; header checks
read the response's head; only body and JSON checks read the body, and their step
keeps its responses for them as a capturing step does. A compressed body is decoded
first (Content-Encoding), within ``http.max_body``.

Nothing here keeps a value found: a failed check's message is its text, never the
value (which may be a token). The dry run asks for the values (``explain``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from ..scenario.model import CheckSpec
from .captures import MISSING, JsonPaths, scalar
from .http.wire import body_of, decoded_response, header_values

__all__ = ["ResponseView", "StepChecks", "check_value", "compare"]

_CONTENT_ENCODING = re.compile(rb"\r\ncontent-encoding[ \t]*:", re.IGNORECASE)
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class ResponseView:
    """One response as checks read it: its head, its body (decoded when compressed, read
    once) and the JSON values the step's checks name (decoded once). ``raw`` is the
    response kept (head and body), or its head only when no check reads the body;
    None when it was over ``http.max_body`` (not kept): body checks fail then."""

    __slots__ = ("raw", "limit", "json", "_decoded", "_values", "why")

    def __init__(self, raw: bytes | None, limit: int, json: JsonPaths | None = None) -> None:
        self.raw = raw
        self.limit = limit
        self.json = json
        self._decoded: bytes | None = None
        self._values: list[Any] | None = None
        self.why = ""  # why the body could not be read (for the dry run)

    def header(self, name: bytes) -> str | None:
        """The header's values joined by ", " (as ``requests``), or None."""
        if self.raw is None:
            return None
        values = header_values(self.raw, name)
        return ", ".join(values) if values else None

    def response(self) -> bytes | None:
        """The response with its body decoded when it came compressed (None: not kept,
        or not decodable)."""
        if self._decoded is None:
            raw = self.raw
            if raw is None:
                self.why = "the response was over max_body (not kept)"
                return None
            end = raw.find(b"\r\n\r\n")
            if end >= 0 and _CONTENT_ENCODING.search(raw, 0, end + 2):
                try:
                    raw = decoded_response(raw, self.limit) or raw
                except ValueError as exc:  # DecodeError, BodyTooLarge
                    self.why = str(exc)
                    return None
            self._decoded = raw
        return self._decoded

    def body(self) -> str | None:
        raw = self.response()
        return None if raw is None else body_of(raw).decode("utf-8", "replace")

    def value(self, k: int) -> Any:
        """The value of the step's k-th JSONPath (MISSING when absent)."""
        if self._values is None:
            raw = self.response()
            assert self.json is not None
            self._values = (
                [MISSING] * len(self.json.paths) if raw is None else self.json.values(raw)
            )
        return self._values[k]


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, "200" is not 200; 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return v
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def compare(spec: CheckSpec, found: Any) -> bool:
    """Does ``found`` (a status, µs, a header's text, the body's text, a JSON value, or
    MISSING) pass ``spec``? Headers are text: compared with a number, as a number."""
    op, want = spec.op, spec.value
    if op == "exists":
        if spec.source == "body":
            return bool(found)
        return found is not MISSING and found is not None
    if found is MISSING or found is None:
        return False
    text = spec.source in ("header", "body") and isinstance(found, str)
    if op in _ORDER:
        if text:
            number = _number(found)
        elif isinstance(found, bool) or not isinstance(found, int | float):
            number = None  # a JSON text, list or object is not a number
        else:
            number = found
        return number is not None and _ORDER[op](number, want)
    if op in ("==", "!=", "in"):
        options = want if op == "in" else (want,)
        assert isinstance(options, tuple)
        if text:
            hit = any(
                found == o if isinstance(o, str) else _number(found) == _number(o) for o in options
            )
        else:
            hit = any(_same(found, o) for o in options)
        return hit if op != "!=" else not hit
    if op == "contains":
        if isinstance(found, str):
            return isinstance(want, str) and want in found
        if isinstance(found, list):
            return any(_same(item, want) for item in found)
        return False
    if op == "matches":
        subject = found if isinstance(found, str) else None
        if subject is None:
            return False
        return re.search(str(want), subject) is not None
    return False


def check_value(spec: CheckSpec, status: int, us: int, view: ResponseView | None, k: int) -> Any:
    """What ``spec`` reads of a response (``k``: its place among the step's JSONPaths)."""
    source = spec.source
    if source == "status":
        return status
    if source == "duration":
        return us
    assert view is not None
    if source == "header":
        found = view.header(spec.header.lower().encode("latin-1"))
        return MISSING if found is None else found
    if source == "body":
        body = view.body()
        return MISSING if body is None else body
    return view.value(k)


# A compiled check: (status, µs, the response kept or its head, the JSON values) -> passed.
Test = Callable[[int, int, "bytes | None", "list[Any] | None"], bool]
_NUMBERS = (int, float)


def _test(spec: CheckSpec, k: int, limit: int) -> Test:
    """A function for one check, the common cases written out (status and duration
    compared as numbers, a JSON value with a text, a number or true/false), the rest
    through :func:`compare`."""
    op, want = spec.op, spec.value
    source = spec.source
    if source in ("status", "duration") and op in _ORDER:
        compare_to = _ORDER[op]
        if source == "status":
            return lambda status, us, raw, values: compare_to(status, want)
        return lambda status, us, raw, values: compare_to(us, want)
    if source == "status" and op in ("==", "!=", "in"):
        codes = frozenset(want if isinstance(want, tuple) else (want,))
        if op == "!=":
            return lambda status, us, raw, values: status not in codes
        return lambda status, us, raw, values: status in codes
    if source == "json":
        return _json_test(spec, k)
    if source == "header":
        read = header_reader(spec.header)

        def header_test(status: int, us: int, raw: bytes | None, values: Any) -> bool:
            found = read(raw)
            return compare(spec, MISSING if found is None else found)

        return header_test

    def body_test(status: int, us: int, raw: bytes | None, values: Any) -> bool:
        body = ResponseView(raw, limit).body()
        return compare(spec, MISSING if body is None else body)

    return body_test


def header_reader(name: str) -> Callable[[bytes | None], str | None]:
    """A function from a kept response (or its head) to the header's values joined by
    ", ", or None: one regex over the head, as header captures read theirs."""
    find = re.compile(
        rb"\r\n" + re.escape(name.encode("latin-1")) + rb"[ \t]*:[ \t]*([^\r\n]*)",
        re.IGNORECASE,
    ).findall

    def read(raw: bytes | None) -> str | None:
        if raw is None:
            return None
        end = raw.find(b"\r\n\r\n")
        found = find(raw, 0, end if end >= 0 else len(raw))
        if not found:
            return None
        if len(found) == 1:
            return found[0].rstrip().decode("latin-1")
        return b", ".join(v.rstrip() for v in found).decode("latin-1")

    return read


def _json_test(spec: CheckSpec, k: int) -> Test:
    op, want = spec.op, spec.value
    if op == "exists":
        return lambda status, us, raw, values: values[k] is not MISSING  # type: ignore[index]
    if op in _ORDER and isinstance(want, int | float):
        compare_to = _ORDER[op]

        def ordered(status: int, us: int, raw: bytes | None, values: Any) -> bool:
            v = values[k]
            return type(v) in _NUMBERS and compare_to(v, want)

        return ordered
    options = want if isinstance(want, tuple) else (want,)
    if op in ("==", "!=", "in"):
        for kind in (str, bool):
            if all(type(o) is kind for o in options):
                hit = frozenset(options)
                if op == "!=":
                    return lambda status, us, raw, values: (
                        not (
                            type(values[k]) is kind and values[k] in hit  # type: ignore[index]
                        )
                    )
                return lambda status, us, raw, values: (
                    type(values[k]) is kind and values[k] in hit  # type: ignore[index]
                )
        if all(type(o) in _NUMBERS for o in options):
            numbers = frozenset(options)
            if op == "!=":
                return lambda status, us, raw, values: (
                    not (
                        type(values[k]) in _NUMBERS and values[k] in numbers  # type: ignore[index]
                    )
                )
            return lambda status, us, raw, values: (
                type(values[k]) in _NUMBERS and values[k] in numbers  # type: ignore[index]
            )
    return lambda status, us, raw, values: compare(spec, values[k])  # type: ignore[index]


def _expression(spec: CheckSpec, k: int, i: int, namespace: dict[str, Any]) -> str:
    """The test of check ``i`` as a Python expression over ``status``, ``us``, ``raw``
    and ``values`` (its constants put in ``namespace``): the common cases written out,
    the others a call of its compiled test ``T{i}``."""
    op, want = spec.op, spec.value
    source = spec.source
    options = want if isinstance(want, tuple) else (want,)
    if source in ("status", "duration") and op in _ORDER:
        namespace[f"W{i}"] = want
        return f"{'status' if source == 'status' else 'us'} {op} W{i}"
    if source == "status" and (op in ("==", "!=") or (op == "in" and len(options) == 1)):
        namespace[f"W{i}"] = options[0]
        return f"status {'!=' if op == '!=' else '=='} W{i}"
    if source == "status" and op == "in":
        namespace[f"W{i}"] = frozenset(options)
        return f"status in W{i}"
    if (
        source == "header"
        and op in ("contains", "==", "!=", "exists")
        and isinstance(want, str | type(None))
    ):
        namespace[f"H{i}"] = header_reader(spec.header)
        namespace[f"W{i}"] = want
        if op == "exists":
            return f"H{i}(raw) is not None"
        if op == "contains":
            return f"(h := H{i}(raw)) is not None and W{i} in h"
        return f"(h := H{i}(raw)) is not None and h {op} W{i}"  # a missing header fails
    if source == "body" and op == "contains":
        # the text's UTF-8 bytes in the body's: no decoding, no copy of the body for it
        namespace[f"W{i}"] = str(want).encode()
        return f"S.body_has(raw, W{i})"
    if source == "json" and op == "exists":
        return f"values[{k}] is not M"
    if source == "json" and op in _ORDER:
        namespace[f"W{i}"] = want
        return f"type(v := values[{k}]) in N and v {op} W{i}"
    if source == "json" and op in ("==", "!=", "in"):
        one = len(options) == 1  # == (or an in of one): no set to hash into
        namespace[f"W{i}"] = options[0] if one else frozenset(options)
        among = "==" if one else "in"
        for kind, test in ((str, "is str"), (bool, "is bool")):
            if all(type(o) is kind for o in options):
                hit = f"(type(v := values[{k}]) {test} and v {among} W{i})"
                return f"not {hit}" if op == "!=" else hit
        if all(type(o) in _NUMBERS for o in options):
            hit = f"(type(v := values[{k}]) in N and v {among} W{i})"
            return f"not {hit}" if op == "!=" else hit
    return f"T{i}(status, us, raw, values)"


class StepChecks:
    """Every check of one step, compiled. ``run`` counts each check's outcome in the
    worker's per-second counts and returns the text of the first hard check that
    failed (the request's failure), or None."""

    __slots__ = (
        "specs",
        "tests",
        "needs_body",
        "needs_head",
        "json",
        "json_index",
        "counts",
        "limit",
        "missing",
        "run",
    )

    def __init__(self, specs: tuple[CheckSpec, ...], rows: tuple[int, ...], limit: int) -> None:
        """``rows``: each check's row among the run's checks (its counts are at ``2 * row``
        and ``2 * row + 1``)."""
        self.specs = specs
        paths = tuple(s.path for s in specs if s.source == "json")
        self.json = JsonPaths(paths) if paths else None
        self.missing = [MISSING] * len(paths)
        index: list[int] = []
        k = 0
        for s in specs:
            index.append(k)
            k += s.source == "json"
        self.json_index = tuple(index)
        # (test, the slot of its pass count, its text when it fails the request, or None)
        self.tests = tuple(
            (_test(s, k, limit), 2 * row, None if s.soft else s.text)
            for s, k, row in zip(specs, index, rows, strict=True)
        )
        self.needs_body = any(s.needs_body for s in specs)
        self.needs_head = any(s.source == "header" for s in specs)
        self.counts: list[int] = []  # the worker's per-second counts (Buffers.checks)
        self.limit = limit
        self.run = self._generate()

    def _reading(self, namespace: dict[str, Any]) -> list[str]:
        """The generated ``run``'s first lines: ``values``, the JSON values its checks
        name. When every path can be read near the body's start (``leading_pattern``),
        each is matched there, written out (a value that is a text or a number, in an
        uncompressed body: the common case); anything else goes to :meth:`values`."""
        if self.json is None:
            return ["    values = None"]
        matchers = self.json.leading
        if not matchers:
            return ["    values = S.values(raw)"]
        namespace["scalar"] = scalar
        lines = [
            "    values = None",
            "    if raw is not None:",
            '        end = raw.find(b"\\r\\n\\r\\n")',
            # Content-Encoding (any case but all capitals, which the slow way reads: a
            # compressed body never matches a pattern, which wants JSON at its start)
            '        if end >= 0 and raw.find(b"ncoding", 0, end) < 0:',
            "            try:",
        ]
        for j, match in enumerate(matchers):
            namespace[f"L{j}"] = match
            lines += [
                f"                m = L{j}(raw, end)",
                f"                v{j} = m[1].decode() if m[1] is not None else scalar(m[2])",
            ]
        lines += [
            f"                values = [{', '.join(f'v{j}' for j in range(len(matchers)))}]",
            "            except (TypeError, UnicodeDecodeError):",  # no match, or no value
            "                pass",
            "    if values is None:",
            "        values = S.values(raw)",
        ]
        return lines

    def body_has(self, raw: bytes | None, want: bytes) -> bool:
        """Does the body of a kept response hold ``want`` (searched in place when it
        came whole and plain)?"""
        if raw is None:
            return False
        end = raw.find(b"\r\n\r\n")
        if end >= 0 and raw.find(b"ncoding", 0, end) < 0 and raw.find(b"NCODING", 0, end) < 0:
            return raw.find(want, end + 4) >= 0
        body = self.body_bytes(raw)
        return body is not None and want in body

    def body_bytes(self, raw: bytes | None) -> bytes | None:
        """A kept response's body as bytes: as it came when it came whole and plain, else
        de-chunked and decoded (None: not kept, or not decodable)."""
        if raw is None:
            return None
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            return b""
        if raw.find(b"ncoding", 0, end) < 0 and raw.find(b"NCODING", 0, end) < 0:
            return raw[end + 4 :]  # neither chunked nor compressed: the bytes that came
        try:
            return body_of(decoded_response(raw, self.limit) or raw)
        except ValueError:  # DecodeError, BodyTooLarge
            return None

    def values(self, raw: bytes | None) -> list[Any]:
        """The JSON values the checks name in a kept response (its body decoded when it
        came compressed); MISSING for each when it was not kept or does not decode."""
        assert self.json is not None
        if raw is None:
            return self.missing
        end = raw.find(b"\r\n\r\n")
        if (
            end >= 0
            and (raw.find(b"ncoding", 0, end) >= 0 or raw.find(b"NCODING", 0, end) >= 0)
            and _CONTENT_ENCODING.search(raw, 0, end + 2)
        ):
            try:
                raw = decoded_response(raw, self.limit) or raw
            except ValueError:  # DecodeError, BodyTooLarge: nothing to read
                return self.missing
        return self.json.values(raw)

    def _generate(self) -> Callable[[int, int, bytes | None], str | None]:
        """``run`` as one generated function (the tests of the common cases written out,
        the others called; measured 0.6 µs cheaper a step with two checks than a loop
        over their functions): count every check on a response (``raw``: the response
        kept, or its head when no check reads the body); return the first failed hard
        check's text, or None."""
        namespace: dict[str, Any] = {"S": self, "M": MISSING, "N": _NUMBERS}
        lines = ["def run(status, us, raw):", "    c = S.counts", "    failed = None"]
        lines += self._reading(namespace)
        for i, ((test, slot, text), spec, k) in enumerate(
            zip(self.tests, self.specs, self.json_index, strict=True)
        ):
            namespace[f"T{i}"] = test
            namespace[f"F{i}"] = text
            lines += [
                f"    if {_expression(spec, k, i, namespace)}:",
                f"        c[{slot}] += 1",
                "    else:",
                f"        c[{slot + 1}] += 1",
            ]
            if text is not None:
                lines += ["        if failed is None:", f"            failed = F{i}"]
        lines.append("    return failed")
        exec("\n".join(lines), namespace)  # noqa: S102 - our own names, numbers and values
        return namespace["run"]

    def explain(
        self, status: int, us: int, raw: bytes | None
    ) -> list[tuple[CheckSpec, bool, Any, str]]:
        """Each check, whether it passed, the value it read (MISSING: nothing) and why
        nothing could be read (the dry run's view; nothing is counted)."""
        view = ResponseView(raw, self.limit, self.json)
        out = []
        for spec, k in zip(self.specs, self.json_index, strict=True):
            found = check_value(spec, status, us, view, k)
            out.append((spec, compare(spec, found), found, view.why))
        return out
