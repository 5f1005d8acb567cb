"""Compressed bodies: what a user sends in ``Accept-Encoding``, and decoding a body only
when something reads it (a capture, a check, a script's ``.json()``).

Decoding never makes more than ``limit`` bytes: a body that would is refused with
:class:`BodyTooLarge`, so a "zip bomb" (a small gzip body that inflates to gigabytes)
costs at most ``http.max_body`` of memory. ``br`` is offered and decoded only when a
brotli package is installed.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any


def _optional_brotli() -> Any:
    """brotli (Google's bindings) or brotlicffi, the same API; None without either."""
    for name in ("brotli", "brotlicffi"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


_brotli = _optional_brotli()
HAS_BROTLI = _brotli is not None
DEFAULT_ACCEPT = "gzip, deflate"
KNOWN = ("gzip", "deflate", "br")
_CHUNK = 64 * 1024


class DecodeError(ValueError):
    """A compressed body that could not be decoded."""


class BodyTooLarge(ValueError):
    """A body larger than the limit once decoded."""


def accept_encoding(setting: str) -> str:
    """The ``Accept-Encoding`` header for ``[http] compression`` ("" sends none): ``br``
    only with brotli installed."""
    names = [n.strip().lower() for n in setting.split(",") if n.strip()]
    if names == ["none"]:
        return ""
    return ", ".join(n for n in names if n != "br" or HAS_BROTLI)


def content_codings(value: str) -> list[str]:
    """The codings of a ``Content-Encoding`` value, in the order they were applied."""
    return [c.strip().lower() for c in value.split(",") if c.strip() and c.strip() != "identity"]


def decode(body: bytes, codings: list[str], limit: int) -> bytes:
    """``body`` with its content codings undone (last applied, first undone). Raises
    :class:`DecodeError` ("compressed body could not be decoded (...)") or
    :class:`BodyTooLarge`."""
    try:
        return _decode(body, codings, limit)
    except DecodeError as exc:
        raise DecodeError(f"compressed body could not be decoded ({exc})") from None


def _decode(body: bytes, codings: list[str], limit: int) -> bytes:
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, zlib.decompressobj(wbits=47), limit, members=True)
        elif coding == "deflate":
            try:  # the RFC's deflate is zlib-wrapped; some servers send it raw
                body = _inflate(body, zlib.decompressobj(wbits=15), limit)
            except DecodeError:
                body = _inflate(body, zlib.decompressobj(wbits=-15), limit)
        elif coding == "br" and _brotli is not None:
            body = _unbrotli(body, limit)
        else:
            raise DecodeError(f"Content-Encoding {coding!r} is not supported")
    return body


def _inflate(body: bytes, d: Any, limit: int, members: bool = False) -> bytes:
    """Inflate ``body`` with ``d`` within ``limit``; ``members``: gzip, whose body may be
    several members one after the other."""
    out = []
    size = 0
    data = body
    try:
        while True:
            while data:
                # max_length bounds each step's output: memory stays under limit + a step
                chunk = d.decompress(data, min(_CHUNK, limit - size + 1))
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the body is over {limit} bytes once decoded")
                out.append(chunk)
                data = d.unconsumed_tail
                if d.eof or (not chunk and data):
                    break
            if not d.eof:
                tail = d.flush()
                size += len(tail)
                if size > limit:
                    raise BodyTooLarge(f"the body is over {limit} bytes once decoded")
                out.append(tail)
                if not d.eof:
                    raise DecodeError("the compressed body ends early")
            rest = d.unused_data
            if not (members and rest[:2] == b"\x1f\x8b"):
                break
            data, d = rest, zlib.decompressobj(wbits=47)  # gzip allows several members
    except zlib.error as exc:
        raise DecodeError(str(exc).replace("Error -3 while decompressing data: ", "")) from None
    return b"".join(out)


def _unbrotli(body: bytes, limit: int) -> bytes:
    assert _brotli is not None
    d = _brotli.Decompressor()
    out = []
    size = 0
    try:
        if hasattr(d, "can_accept_more_data"):  # brotli >= 1.2 bounds each step's output
            chunk = d.process(body, output_buffer_limit=_CHUNK)
            while True:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the body is over {limit} bytes once decoded")
                out.append(chunk)
                if d.can_accept_more_data():
                    break
                chunk = d.process(b"", output_buffer_limit=_CHUNK)
        else:  # older: small input steps (br inflates about 1000x at most per step)
            for i in range(0, len(body), 256):
                chunk = d.process(body[i : i + 256])
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the body is over {limit} bytes once decoded")
                out.append(chunk)
        if not d.is_finished():
            raise DecodeError("the compressed body ends early")
    except _brotli.error as exc:
        raise DecodeError(str(exc)) from None
    return b"".join(out)
