"""Flows compiled once per worker into what a flow user needs on every request.

A step whose request never changes keeps one pre-built bytes object, exactly like a
plain request. A step that uses captured or data values is split, once, into static
byte segments around its placeholders; a small generated function joins them with
the user's values (0.1 µs against 0.45 µs for ``str.format_map`` plus encoding).
Values are stored per user already encoded for the place they go: percent-encoded
in a path, JSON-escaped in a JSON body, as they are in a header or a raw body.

Plain ``[[requests]]`` of a scenario with journeys become one-step flows that keep
their pre-built variants.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from ..scenario.model import PLACEHOLDER, FlowSpec, RequestSpec, Scenario
from .captures import StepCaptures
from .checks import StepChecks
from .plan import (
    CompiledRequest,
    Plan,
    Target,
    build_request_bytes,
    compile_request,
    merged_headers,
    success_table,
    weight_table,
)

__all__ = ["CompiledFlow", "CompiledStep", "Journeys", "ValueSlots", "compile_journeys"]

CONTEXTS = ("path", "header", "json", "body")
_LENGTH = "\x00length\x00"  # stands for Content-Length in a template with a variable body
_SEGMENT = re.compile(rb"\{([A-Za-z_][A-Za-z0-9_]*)\}|\x00length\x00")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Characters left as they are in a path value: RFC 3986 pchar, "/" and "?", and "%" so
# that values already percent-encoded pass through.
_PATH_SAFE = "!$&'()*+,;=:@/?%"


# Values made only of these need no encoding in a path (the common case: ids, tokens).
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def encode_path(value: str) -> bytes | None:
    if not value.strip(_UNRESERVED):  # every character unreserved: nothing to escape
        return value.encode("ascii")
    return quote(value, safe=_PATH_SAFE).encode("ascii")


def encode_header(value: str) -> bytes | None:
    """None for a value that would break the request (a line break or a control)."""
    if value.isascii() and value.isprintable():
        return value.encode("ascii")
    return None if _CONTROL.search(value) else value.encode("utf-8")


def encode_json(value: str) -> bytes | None:
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return value.encode("ascii")
    return json.dumps(value)[1:-1].encode("ascii")


def encode_body(value: str) -> bytes | None:
    return value.encode("utf-8")


ENCODERS: dict[str, Callable[[str], bytes | None]] = {
    "path": encode_path,
    "header": encode_header,
    "json": encode_json,
    "body": encode_body,
}


@dataclass(slots=True)
class ValueSlots:
    """Where each value name goes in a user's ``values`` list, once per context used.

    Each name also has a number (``names``): a user keeps the text it last stored
    under each name (``FlowUser.last``), so a capture that finds the same value again
    encodes and stores nothing, and the requests rendered from it stay valid.
    """

    slots: dict[tuple[str, str], int] = field(default_factory=dict)
    by_name: dict[str, list[tuple[int, Callable[[str], bytes | None]]]] = field(
        default_factory=dict
    )
    names: dict[str, int] = field(default_factory=dict)
    slot_names: list[str] = field(default_factory=list)  # slot -> its value's name
    drawn: set[int] = field(default_factory=set)  # slots a render fills from ``vars``

    def slot(self, name: str, context: str) -> int:
        key = (name, context)
        found = self.slots.get(key)
        if found is None:
            found = self.slots[key] = len(self.slots)
            self.by_name.setdefault(name, []).append((found, ENCODERS[context]))
            self.names.setdefault(name, len(self.names))
            self.slot_names.append(name)
        return found

    def fill(self, values: list[bytes], name: str, value: str) -> bool:
        """Store ``value`` under ``name`` in every context; False if a context refuses it."""
        ok = True
        for slot, encode in self.by_name.get(name, ()):
            encoded = encode(value)
            if encoded is None:
                ok = False
            else:
                values[slot] = encoded
        return ok

    def fresh(self) -> list[bytes]:
        """A new user's values: every slot empty until captured or filled from data."""
        return [b""] * len(self.slots)


@dataclass(slots=True, eq=False)
class CompiledStep:
    """One step, ready to send: its row, success table, bytes or renderer, captures.

    ``no`` numbers the worker's steps: a user caches the bytes ``render`` made for a
    ``cacheable`` step (one whose bytes depend on the user's values only, no ``vars``
    drawn per request) under it, until a value the step uses changes. ``next`` is the
    step after it in its flow (None for the last), so a user walks a flow by reference.
    """

    req: CompiledRequest  # the endpoint row it records into (shared by same-named steps)
    name: str
    ok: bytes
    single: bytes | None  # the request bytes when nothing in them varies
    render: Callable[[list[bytes]], bytes] | None
    captures: StepCaptures | None
    strict: bool
    once: bool
    uses: frozenset[int] = frozenset()  # the value slots its render fills
    cacheable: bool = False
    no: int = 0
    next: CompiledStep | None = None
    ends_once: bool = False  # the last once step of its flow: the flow is then ready
    checks: StepChecks | None = None  # run on each response (engine/checks.py)
    keeps: bool = False  # keep each response: a capture or a check reads its body


@dataclass(slots=True)
class CompiledFlow:
    """A flow's steps; ``first`` is the first step that is not a once step."""

    index: int  # its row in the flow table; -1 for a plain request (no flow row)
    order: int  # its place in Journeys.flows (users track their once steps by it)
    name: str
    steps: tuple[CompiledStep, ...]
    first: int
    think: tuple[float, float] | None  # (low, span) or None: no pause
    own_think: bool  # False: the engine's think time ([load] think_time) applies
    hist: list[int] = field(default_factory=list)  # this second's iterations (see recording)
    svc: list[int] = field(default_factory=list)  # open model: iterations from the first send

    def __post_init__(self) -> None:
        steps = self.steps
        for i, step in enumerate(steps):
            step.next = steps[i + 1] if i + 1 < len(steps) else None
            step.ends_once = i + 1 == self.first


@dataclass(slots=True)
class Journeys:
    """Everything a worker's flow users share."""

    flows: list[CompiledFlow]  # flows with a row, then one-step flows of plain requests
    table: list[CompiledFlow]  # indexed by random(): the weighted pick of an iteration
    values: ValueSlots
    keeps_responses: bool  # some step captures: users keep the raw responses it gets
    max_body: int
    sends_head: bool
    steps: int = 0  # how many steps (CompiledStep.no runs below it)

    @property
    def rows(self) -> list[CompiledFlow]:
        return [f for f in self.flows if f.index >= 0]


def compile_journeys(scenario: Scenario, plan: Plan) -> Journeys:
    """Flows and plain requests as compiled flows; adds the steps' rows to ``plan``."""
    target = plan.target
    slots = ValueSlots()  # a value gets a slot per place it is used in (and none if unused)
    by_name = {r.name: r for r in plan.requests}
    check_rows = {(name, check): i for i, (name, check, _) in enumerate(scenario.check_rows)}
    flows: list[CompiledFlow] = []
    weights: list[float] = []
    for index, flow in enumerate(scenario.flows):
        flows.append(_compile_flow(index, flow, scenario, plan, by_name, slots, check_rows))
        weights.append(flow.weight)
    for r in list(plan.requests[: len(scenario.requests)]):
        step = _compile_step(
            r.spec,
            r,
            scenario,
            target,
            slots,
            captures=None,
            strict=True,
            checks=_checks(r.spec, scenario, check_rows),
        )
        flows.append(CompiledFlow(-1, len(flows), r.name, (step,), 0, None, False))
        weights.append(r.spec.weight)
    table = [flows[i] for i in weight_table(weights)]
    steps = [s for f in flows for s in f.steps]
    # The cached requests a new value makes stale: by name, the cacheable steps using it.
    stale: dict[str, set[int]] = {}
    for no, s in enumerate(steps):
        s.no = no
        s.cacheable = s.cacheable and not (s.uses & slots.drawn)  # vars change per request
        if s.cacheable:
            for slot in s.uses:
                stale.setdefault(slots.slot_names[slot], set()).add(no)
    for s in steps:  # every template is split now: each capture knows its slots
        if s.captures is not None:
            s.captures.bind(
                tuple(
                    (
                        tuple(slots.by_name.get(c.name, ())),
                        slots.names.get(c.name, -1),
                        tuple(sorted(stale.get(c.name, ()))),
                    )
                    for c in s.captures.specs
                )
            )
    return Journeys(
        flows=flows,
        table=table,
        values=slots,
        keeps_responses=any(s.keeps for s in steps),
        max_body=scenario.http.max_body,
        sends_head=any(s.req.is_head for s in steps),
        steps=len(steps),
    )


def _compile_flow(
    index: int,
    flow: FlowSpec,
    scenario: Scenario,
    plan: Plan,
    by_name: dict[str, CompiledRequest],
    slots: ValueSlots,
    check_rows: dict[tuple[str, str], int],
) -> CompiledFlow:
    steps = []
    for spec in flow.steps:
        req = by_name.get(spec.name)
        if req is None:
            req = compile_request(len(plan.requests), spec.request, plan.target, scenario)
            plan.requests.append(req)
            by_name[spec.name] = req
        steps.append(
            _compile_step(
                spec.request,
                req,
                scenario,
                plan.target,
                slots,
                captures=StepCaptures(spec.captures) if spec.captures else None,
                strict=spec.strict,
                once=spec.once,
                checks=_checks(spec.request, scenario, check_rows),
            )
        )
    first = sum(1 for s in flow.steps if s.once)
    think = None
    if flow.think_time is not None:
        lo, hi = flow.think_time
        think = (lo, hi - lo) if hi > 0 else None
    return CompiledFlow(
        index, index, flow.name, tuple(steps), first, think, own_think=flow.think_time is not None
    )


def _compile_step(
    spec: RequestSpec,
    req: CompiledRequest,
    scenario: Scenario,
    target: Target,
    slots: ValueSlots,
    *,
    captures: StepCaptures | None,
    strict: bool,
    once: bool = False,
    checks: StepChecks | None = None,
) -> CompiledStep:
    var_names = {name for name, _ in spec.vars}
    used = set(PLACEHOLDER.findall(spec.path))
    used |= {n for _, v in spec.headers for n in PLACEHOLDER.findall(v)}
    if spec.body is not None:
        used |= set(PLACEHOLDER.findall(spec.body.decode()))
    single: bytes | None = None
    render: Callable[[list[bytes]], bytes] | None = None
    uses: frozenset[int] = frozenset()
    cacheable = False
    header_values = any(PLACEHOLDER.search(v) for _, v in spec.headers)
    if not (used - var_names) and not header_values and _same_request(spec, req.spec):
        # Nothing per user: the pre-built variants of the plain path.
        single = req.single
        if single is None:
            render = _pick(req)
    else:
        render, uses, cacheable = _renderer(spec, scenario, target, slots)
    return CompiledStep(
        req=req,
        name=spec.name,
        ok=success_table(spec),
        single=single,
        render=render,
        captures=captures,
        strict=strict,
        once=once,
        uses=uses,
        cacheable=cacheable,
        checks=checks,
        keeps=captures is not None or (checks is not None and checks.needs_body),
    )


def _checks(
    spec: RequestSpec, scenario: Scenario, rows: dict[tuple[str, str], int]
) -> StepChecks | None:
    """A request's checks, compiled (None without)."""
    if not spec.checks:
        return None
    indexes = tuple(rows[(spec.name, c.name)] for c in spec.checks)
    return StepChecks(spec.checks, indexes, scenario.http.max_body)


def _same_request(a: RequestSpec, b: RequestSpec) -> bool:
    """True when ``b``'s pre-built bytes are ``a``'s (a step sharing a row may differ)."""
    return (a.method, a.path, a.headers, a.body, a.vars, a.content_type) == (
        b.method,
        b.path,
        b.headers,
        b.body,
        b.vars,
        b.content_type,
    )


def _pick(req: CompiledRequest) -> Callable[[list[bytes]], bytes]:
    pick = req.pick

    def render(values: list[bytes]) -> bytes:
        return pick()

    return render


def _renderer(
    spec: RequestSpec, scenario: Scenario, target: Target, slots: ValueSlots
) -> tuple[Callable[[list[bytes]], bytes], frozenset[int], bool]:
    """A function from a user's values to the step's request bytes, the slots it reads,
    and whether its bytes depend on those values only (no ``vars`` drawn per call)."""
    body_context = "json" if spec.json_body else "body"
    path_parts = _split(spec.path.encode(), "path", slots)
    headers = merged_headers(spec, scenario)
    variable_body = spec.body is not None and PLACEHOLDER.search(spec.body.decode()) is not None
    head_headers = list(headers)
    if variable_body:
        head_headers.append(("Content-Length", _LENGTH))
    marker = "\x00path\x00"
    head = build_request_bytes(
        spec.method,
        marker,
        target,
        head_headers,
        None if variable_body else spec.body,
        scenario.http.keepalive,
    )
    before, _, after = head.partition(marker.encode())
    parts: list[bytes | int | None] = []
    parts.extend(_split(before, "header", slots))
    parts.extend(path_parts)
    parts.extend(_split(after, "header", slots))
    body_parts = _split(spec.body, body_context, slots) if variable_body and spec.body else []
    var_slots = [
        (slots.slots[(name, ctx)], tuple(e for v in options if (e := ENCODERS[ctx](v))))
        for name, options in spec.vars
        for ctx in CONTEXTS
        if (name, ctx) in slots.slots
    ]
    slots.drawn.update(slot for slot, _ in var_slots)
    uses = frozenset(p for p in [*parts, *body_parts] if isinstance(p, int))
    return _generate(parts, body_parts, var_slots), uses, not var_slots


def _split(raw: bytes, context: str, slots: ValueSlots) -> list[bytes | int | None]:
    """Static segments and value slots (None: the body's length) of a template."""
    out: list[bytes | int | None] = []
    i = 0
    for m in _SEGMENT.finditer(raw):
        if m.start() > i:
            out.append(raw[i : m.start()])
        out.append(None if m.group(1) is None else slots.slot(m.group(1).decode(), context))
        i = m.end()
    if i < len(raw):
        out.append(raw[i:])
    return out


def _generate(
    head: list[bytes | int | None],
    body: list[bytes | int | None],
    var_slots: list[tuple[int, tuple[bytes, ...]]],
) -> Callable[[list[bytes]], bytes]:
    """Generated code, one ``b"".join`` of constants and ``v[slot]``: measured 2.5x
    cheaper than a loop filling a list (0.10 µs against 0.26 µs per request)."""
    namespace: dict[str, object] = {"random": random.random}

    def expr(parts: list[bytes | int | None]) -> str:
        items = []
        for part in parts:
            if isinstance(part, bytes):
                name = f"S{len(namespace)}"
                namespace[name] = part
                items.append(name)
            elif part is None:
                items.append("str(len(body)).encode()")
            else:
                items.append(f"v[{part}]")
        return 'b"".join((' + ", ".join(items) + ",))" if items else 'b""'

    lines = ["def render(v):"]
    for k, (slot, options) in enumerate(var_slots):
        namespace[f"O{k}"] = options
        lines.append(f"    v[{slot}] = O{k}[int(random() * {len(options)})]")
    if body:
        lines.append(f"    body = {expr(body)}")
        lines.append(f"    return {expr(head)} + body")
    else:
        lines.append(f"    return {expr(head)}")
    exec("\n".join(lines), namespace)  # noqa: S102 - our own constants and slot numbers
    return namespace["render"]  # type: ignore[return-value]
