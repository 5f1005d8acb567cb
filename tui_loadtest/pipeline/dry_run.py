"""The dry run's output: each exchange as text (coloured on a terminal) or as one JSON
object a line, the values captured, each check's result, and the verdict.

Secrets never show unless asked (``--show-secrets``): the scenario's own (``${VAR}``
values, credentials in headers and queries, a data file's secret columns), the
values of sensitive headers (``Authorization``, ``Cookie``, ``Set-Cookie``...), and
captured values whose name says they are one (``token``, ``session``, ``api_key``...),
wherever they appear, bodies included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec

from ..engine.captures import MISSING
from ..engine.dry_run import DryExchange, DryRun
from ..engine.http.wire import body_of, decoded_response, head_block
from ..scenario import REDACTED, Redactor, is_sensitive_header

__all__ = ["BODY_SHOWN", "Painter", "Shown", "exchange_lines", "exchange_record", "summary_lines"]

BODY_SHOWN = 2048  # bytes of a body shown; its size is always given
_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


class Painter:
    """ANSI colours on a terminal; the text as it is otherwise."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, *styles: str) -> str:
        if not self.colour or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


class Shown:
    """What may be shown: scrubs the secrets from any text, hides sensitive headers."""

    def __init__(self, run: DryRun, scenario_secrets: Iterable[str], show_secrets: bool) -> None:
        self.show_secrets = show_secrets
        self.secret_names = run.secret_captures
        captured = {
            value
            for x in run.exchanges
            for name, value in x.captures
            if value is not None and name in run.secret_captures
        }
        self.redact = Redactor(() if show_secrets else [*scenario_secrets, *captured])

    def text(self, text: str) -> str:
        return self.redact(text)

    def header(self, name: str, value: str) -> str:
        if not self.show_secrets and is_sensitive_header(name):
            return REDACTED
        return self.redact(value)

    def captured(self, name: str, value: str | None) -> str:
        if value is None:
            return "nothing"
        if name in self.secret_names and not self.show_secrets:
            return REDACTED
        return self.redact(value)


def _headers(head: bytes) -> list[tuple[str, str]]:
    out = []
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            out.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return out


def _body_text(body: bytes) -> tuple[str, bool]:
    """The body as text (cut at BODY_SHOWN), and whether it was cut."""
    cut = len(body) > BODY_SHOWN
    part = body[:BODY_SHOWN]
    text = part.decode("utf-8", "replace")
    if any(c < " " and c not in "\t\r\n" for c in text):
        return f"({len(body):,} bytes of binary data)", False
    return text, cut


def _response_body(dry: DryExchange) -> tuple[bytes, str]:
    """The response's body as the checks read it (de-chunked, decoded), and a note."""
    raw = dry.exchange.response
    try:
        decoded = decoded_response(raw, 64 * 1024 * 1024)
    except ValueError as exc:
        return body_of(raw), f"not decoded: {exc}"
    if decoded is not None:
        return body_of(decoded), f"decoded from {len(body_of(raw)):,} bytes"
    return body_of(raw), ""


def _found(value: Any) -> str:
    if value is MISSING:
        return "nothing"
    return msgspec.json.encode(value).decode() if not isinstance(value, str) else repr(value)


def exchange_lines(dry: DryExchange, shown: Shown, paint: Painter) -> list[str]:
    """One exchange as text: the request, the response (or why none came), the values
    captured and each check's result."""
    ex = dry.exchange
    where = f"{ex.flow} · {ex.endpoint}" if ex.flow and ex.flow != ex.endpoint else ex.endpoint
    lines = [paint(f"{where}  (iteration {dry.iteration})", "bold")]
    request = ex.request
    end = request.find(b"\r\n\r\n")
    head = request[: end if end >= 0 else len(request)]
    method = head.split(b" ", 1)[0].decode("latin-1")
    lines.append(paint("→ ", "cyan") + shown.text(f"{method} {ex.url}"))
    for name, value in _headers(head):
        lines.append(paint(f"    {name}: {shown.header(name, value)}", "dim"))
    sent = request[end + 4 :] if end >= 0 else b""
    if sent:
        text, cut = _body_text(sent)
        lines.append("    " + shown.text(text) + (f"  … ({len(sent):,} bytes)" if cut else ""))
    if ex.error:
        lines.append(paint(f"← no response after {ex.elapsed_ms:.1f} ms: {ex.error}", "red"))
        return lines
    raw_head = head_block(ex.response)
    status_line = raw_head.split(b"\r\n", 1)[0].decode("latin-1")
    reason = status_line.split(" ", 2)[2] if status_line.count(" ") >= 2 else ""
    body, note = _response_body(dry)
    tone = "red" if dry.status_failed else "green" if ex.status < 400 else "yellow"
    size = f"{len(body):,} bytes" + (f", {note}" if note else "")
    if ex.truncated:
        size += f", {ex.size:,} received (over max_body: a run keeps none of it)"
    lines.append(
        paint("← ", "cyan")
        + paint(f"{ex.status} {reason}".rstrip(), tone, "bold")
        + f" · {ex.elapsed_ms:.1f} ms · {size}"
        + ("  (redirect, followed)" if dry.redirect else "")
    )
    for name, value in _headers(raw_head):
        lines.append(paint(f"    {name}: {shown.header(name, value)}", "dim"))
    if body:
        text, cut = _body_text(body)
        lines += ["    " + line for line in shown.text(text).splitlines()]
        if cut:
            lines.append(paint(f"    … ({BODY_SHOWN:,} of {len(body):,} bytes shown)", "dim"))
    if dry.status_failed:
        lines.append(paint(f"  ✗ status {ex.status} is not a success for this step", "red"))
    for cap, got in dry.captures:
        mark = paint("✗", "red") if got is None else "·"
        lines.append(f"  {mark} capture {cap} = {shown.captured(cap, got)}")
    if dry.capture_error:
        lines.append(paint(f"  ✗ {dry.capture_error}: tried on the body above", "red"))
    for c in dry.checks:
        if c.passed:
            lines.append(paint("  ✓ ", "green") + c.spec.name)
        else:
            mark = paint("  ~ ", "yellow") if c.spec.soft else paint("  ✗ ", "red")
            why = f"found {shown.text(_found(c.found))}" + (f" ({c.why})" if c.why else "")
            soft = " (soft)" if c.spec.soft else ""
            lines.append(mark + f"{c.spec.name}{soft}: " + paint(why, "dim"))
    return lines


def exchange_record(dry: DryExchange, shown: Shown) -> dict[str, Any]:
    """One exchange as a JSON object (``--json``: one a line)."""
    ex = dry.exchange
    request = ex.request
    end = request.find(b"\r\n\r\n")
    head = request[: end if end >= 0 else len(request)]
    sent = request[end + 4 :] if end >= 0 else b""
    record: dict[str, Any] = {
        "flow": ex.flow,
        "endpoint": ex.endpoint,
        "iteration": dry.iteration,
        "request": {
            "method": head.split(b" ", 1)[0].decode("latin-1"),
            "url": shown.text(ex.url),
            "headers": [[n, shown.header(n, v)] for n, v in _headers(head)],
            "body": shown.text(_body_text(sent)[0]) if sent else "",
            "body_size": len(sent),
        },
        "response": None,
        "error": ex.error or None,
        "elapsed_ms": round(ex.elapsed_ms, 3),
        "redirect": dry.redirect,
        "captures": {
            name: None if value is None else shown.captured(name, value)
            for name, value in dry.captures
        },
        "capture_error": dry.capture_error or None,
        "checks": [
            {
                "check": c.spec.text,
                "name": c.spec.name,
                "soft": c.spec.soft,
                "passed": c.passed,
                "found": None if c.found is MISSING else _jsonable(c.found, shown),
            }
            for c in dry.checks
        ],
        "ok": not dry.failed,
    }
    if not ex.error:
        body, _ = _response_body(dry)
        text, cut = _body_text(body)
        record["response"] = {
            "status": ex.status,
            "headers": [[n, shown.header(n, v)] for n, v in _headers(head_block(ex.response))],
            "body": shown.text(text),
            "body_size": len(body),
            "body_cut": cut,
            "wire_size": ex.size,
        }
    return record


def _jsonable(value: Any, shown: Shown) -> Any:
    if isinstance(value, str):
        return shown.text(value)
    return json.loads(shown.text(msgspec.json.encode(value).decode()))


def summary_lines(run: DryRun, paint: Painter) -> list[str]:
    """What the engine counted, and the verdict."""
    lines = [""]
    if run.checks:
        lines.append(paint("Checks", "bold"))
        for endpoint, name, passed, failed, soft in run.checks:
            mark = (
                paint("✓", "green")
                if not failed
                else paint("~", "yellow")
                if soft
                else paint("✗", "red")
            )
            label = f"{endpoint}: {name}" if endpoint else name
            lines.append(
                f"  {mark} {label}{' (soft)' if soft else ''}  ({passed} passed, {failed} failed)"
            )
    if run.errors:
        lines.append(paint("Failures", "bold"))
        for kind, status, endpoint, count, message in run.errors:
            label = f"HTTP {status}" if kind == "http" and status else kind
            lines.append(paint(f"  ✗ {label} on {endpoint} ×{count}: {message}", "red"))
    if run.raised:
        lines.append(paint(f"  ✗ {run.raised}", "red"))
    n = len(run.exchanges)
    if run.passed:
        lines.append(paint(f"OK: {n} exchange{'s' if n != 1 else ''}, nothing failed.", "green"))
    else:
        bad = sum(x.failed for x in run.exchanges)
        what = f"{bad} of {n} exchange{'s' if n != 1 else ''} failed" if bad else "see above"
        lines.append(paint(f"FAILED: {what}.", "red", "bold"))
    return lines
