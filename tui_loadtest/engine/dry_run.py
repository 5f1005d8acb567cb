"""The dry run (``tui-loadtest check``, ``run --dry-run``): one user goes through every
flow, request or script task once (or ``iterations`` times), in order, on the real
engine, and every exchange is kept with what the scenario made of it: its captures,
its checks, why it failed.

It runs the engine's own user classes, observed (engine/observe.py): the requests are
the ones a run sends (cookies, redirects, compression, TLS and proxies alike), and the
failures are the ones a run counts, from the engine's own per-second buffers. Think
times are left out: the point is to see the requests, not to wait between them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

from ..scenario import Scenario
from ..scenario.model import CheckSpec
from ..stats.aggregate import WorkerDelta
from .http.wire import REDIRECTS, decoded_response, header_value
from .journeys import CompiledStep
from .observe import Exchange, Observer
from .shares import WorkerShare
from .users.flow import HEAD_ALLOWANCE, FlowUser
from .users.script import ScriptRuntime
from .worker_engine import WorkerEngine, looks_secret

__all__ = ["CheckOutcome", "DryExchange", "DryRun", "dry_run", "looks_secret"]


@dataclass(slots=True)
class CheckOutcome:
    """One check on one response: passed or not, and the value it read (MISSING: none)."""

    spec: CheckSpec
    passed: bool
    found: Any
    why: str = ""  # why nothing could be read (a body over max_body, a bad gzip)


@dataclass(slots=True)
class DryExchange:
    """An exchange of the dry run, with what the scenario made of it."""

    exchange: Exchange
    iteration: int  # 1-based
    redirect: bool = False  # a redirect the user followed (the next exchange goes on)
    captures: list[tuple[str, str | None]] = field(default_factory=list)  # name, value
    capture_error: str = ""  # the first failed capture's message
    checks: list[CheckOutcome] = field(default_factory=list)
    status_failed: bool = False  # its status is not a success for the step

    @property
    def failed(self) -> bool:
        """Did this exchange fail the run? (A soft check only counts.)"""
        ex = self.exchange
        if ex.error or self.status_failed or self.capture_error:
            return True
        return any(not c.passed and not c.spec.soft for c in self.checks)


@dataclass(slots=True)
class DryRun:
    """Every exchange, and what the engine counted: errors as ``(kind, status, endpoint,
    count, last message)``, checks as ``(endpoint, name, passed, failed)``."""

    exchanges: list[DryExchange]
    errors: list[tuple[str, int | None, str, int, str]]
    checks: list[tuple[str, str, int, int, bool]]  # and soft
    secret_captures: frozenset[str] = frozenset()  # names whose values are secrets
    returned: Any = None  # what the script function called returned (``call``)
    raised: str = ""  # what it raised, in a line (``call``)

    def extend(self, other: DryRun) -> None:
        """``other``'s exchanges and counts after these (setup, the run, teardown)."""
        self.exchanges += other.exchanges
        self.errors += other.errors
        self.checks += other.checks
        self.secret_captures |= other.secret_captures
        self.raised = self.raised or other.raised

    @property
    def passed(self) -> bool:
        return not self.raised and not self.errors and not any(x.failed for x in self.exchanges)


async def dry_run(
    scenario: Scenario,
    host: str,
    *,
    iterations: int = 1,
    label: str = "",
    stop_on_failure: bool = False,
    call: str | None = None,
) -> DryRun:
    """One user through every flow (or request, or script task) ``iterations`` times.
    ``stop_on_failure``: a failed step ends its flow there (a setup's way); ``call``:
    only the script's function of that name, once, what it returns kept."""
    observed: list[Exchange] = []
    tagged: list[tuple[Exchange, int]] = []
    deltas: list[WorkerDelta] = []
    iteration = [1]

    stored: dict[int, dict[str, str]] = {}  # exchange -> the values its user stored

    def keep(ex: Exchange) -> None:
        observed.append(ex)
        tagged.append((ex, iteration[0]))
        if isinstance(ex.step, CompiledStep) and ex.step.captures is not None:
            # The user reads this response after the connection's copy was taken: what it
            # stored (a [*] capture picks at random) is there once this callback is over.
            asyncio.get_running_loop().call_soon(remember, len(tagged) - 1, ex)

    def remember(i: int, ex: Exchange) -> None:
        j = eng.journeys
        caps = ex.step.captures if isinstance(ex.step, CompiledStep) else None
        if j is None or caps is None or not isinstance(ex.user, FlowUser):
            return
        found: dict[str, str] = {}
        for spec in caps.specs:
            k = j.values.names.get(spec.name, -1)
            value = ex.user.last[k] if k >= 0 else None
            if value is not None:
                found[spec.name] = value
        stored[i] = found

    observer = Observer(keep, scenario.http.max_body + HEAD_ALLOWANCE)
    observer.label = label
    share = WorkerShare(worker=0, workers=1, users=1, spawn_rate=1.0)
    eng = WorkerEngine(scenario, host, share, deltas.append, observer=observer, journeys=True)
    eng.think = None
    if eng.journeys is not None:
        for f in eng.journeys.flows:
            f.think = None
            f.own_think = False

    async def flows() -> None:
        assert eng.journeys is not None
        base = eng.user_class
        done = asyncio.Event()

        class DryUser(base):  # type: ignore[misc, valid-type]
            def end_iteration(self, t1: int) -> None:
                super().end_iteration(t1)
                eng.pause()  # held at its next admit, until the next flow is set
                done.set()

            def send_step(self, intended: int) -> None:
                if stop_on_failure and self.step is not None and self.it_failed:
                    self.end_iteration(perf_counter_ns())  # a setup stops at its first failure
                    return
                super().send_step(intended)

        user: Any = DryUser(eng)
        eng.add_user(user)
        order = list(eng.journeys.flows)
        for n in range(1, iterations + 1):
            iteration[0] = n
            for flow in order:
                if user.idle:  # a queue data file without a row for it
                    return
                user.fonly = flow
                done.clear()
                if eng.paused:
                    eng.resume()
                else:
                    user.start_request()
                await done.wait()

    outcome: dict[str, Any] = {}

    async def tasks() -> None:
        rt = eng.script
        assert isinstance(rt, ScriptRuntime)
        user: Any = eng.user_class(eng)
        eng.add_user(user)
        if call is not None:
            observer.label = call
            try:
                outcome["returned"] = await rt.function(call)(user.api)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - user code: said in a line
                text = str(exc).splitlines()[0] if str(exc) else ""
                outcome["raised"] = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            return
        for n in range(1, iterations + 1):
            iteration[0] = n
            if n == 1 and rt.on_start is not None:
                observer.label = rt.on_start.name
                await user.run(rt.on_start)
            for flow in rt.flows:
                if flow is rt.on_start:
                    continue
                observer.label = flow.name
                await user.run(flow)

    if scenario.locustfile is not None:
        raise ValueError("the dry run runs scenarios and scripts, not locustfiles")
    await eng.drive(tasks if scenario.script is not None else flows)
    found = _judged(scenario, eng, tagged, deltas, stored)
    found.returned = outcome.get("returned")
    found.raised = outcome.get("raised", "")
    return found


def _judged(
    scenario: Scenario,
    eng: WorkerEngine,
    tagged: list[tuple[Exchange, int]],
    deltas: list[WorkerDelta],
    stored: dict[int, dict[str, str]],
) -> DryRun:
    """Each exchange with its captures, checks and status judged; the engine's counts."""
    follows = scenario.http.max_redirects > 0
    out = []
    for i, (ex, n) in enumerate(tagged):
        dry = DryExchange(ex, n)
        step = ex.step if isinstance(ex.step, CompiledStep) else None
        raw = ex.response
        if not ex.error and follows and REDIRECTS[ex.status] and header_value(raw, b"location"):
            dry.redirect = True
        elif not ex.error and step is not None:
            _judge_step(dry, step, raw, eng.max_body)
            kept = stored.get(i, {})
            dry.captures = [(name, kept.get(name, value)) for name, value in dry.captures]
        out.append(dry)
    errors: dict[tuple[str, int | None, int], list[Any]] = {}
    checks = [0] * len(eng.buf.checks)
    for d in deltas:
        for kind, status, index, count, message in d.errors:
            row = errors.setdefault((kind, status, index), [0, message])
            row[0] += count
            row[1] = message
        for i, passed, failed in d.checks:
            checks[2 * i] += passed
            checks[2 * i + 1] += failed
    names = [r.name for r in eng.plan.requests]
    flow_names = scenario.flow_names
    error_rows = [
        (kind, status, names[i] if i >= 0 else flow_names[-1 - i], count, message)
        for (kind, status, i), (count, message) in errors.items()
    ]
    check_keys: list[tuple[str, str, bool]] = list(scenario.check_rows)
    if isinstance(eng.script, ScriptRuntime):
        check_keys = list(eng.script.check_keys)
    check_rows = [
        (endpoint, name, checks[2 * i], checks[2 * i + 1], soft)
        for i, (endpoint, name, soft) in enumerate(check_keys)
    ]
    secret = frozenset(
        c.name for f in scenario.flows for s in f.steps for c in s.captures if looks_secret(c.name)
    )
    return DryRun(out, error_rows, check_rows, secret)


def _judge_step(dry: DryExchange, step: CompiledStep, raw: bytes, limit: int) -> None:
    status = dry.exchange.status
    dry.status_failed = not step.ok[status]
    if step.checks is not None:
        us = int(dry.exchange.elapsed_ms * 1000)
        dry.checks = [
            CheckOutcome(spec, passed, found, why)
            for spec, passed, found, why in step.checks.explain(status, us, raw)
        ]
    caps = step.captures
    if caps is None or dry.status_failed:
        return
    try:
        readable = decoded_response(raw, limit) or raw
    except ValueError as exc:
        dry.capture_error = f"{exc} (step {step.name})"
        return
    out: list[str | None] = [None] * len(caps.specs)
    if dry.exchange.truncated:  # over max_body: a run keeps nothing to capture from
        dry.capture_error = caps.failure(0, None, step.name)
        return
    bad = caps.extract(readable, status, out)
    dry.captures = [(spec.name, value) for spec, value in zip(caps.specs, out, strict=True)]
    if bad >= 0:
        dry.capture_error = caps.failure(bad, readable, step.name)
