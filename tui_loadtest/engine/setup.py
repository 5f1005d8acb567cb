"""Setup and teardown: ``[setup]``/``[teardown]`` steps, or a script's ``@setup`` and
``@teardown``, run once, by one user, before the load and after it.

They run in the coordinator's process, on the engine's own user classes (the dry run's
driver, engine/dry_run.py), not in a worker:

- the setup's values must reach every worker before any of them starts: run here, they
  go into the scenario the workers are started with, with no round trip and the same
  way for local processes and a Dask cluster;
- a setup that fails stops the run before a single worker exists, so no load is sent;
- the teardown runs after every worker has ended (or was lost, or killed), so it never
  overlaps the load, and it still runs when no worker is left.

What a setup captures is a secret of the run: the coordinator adds it to the values its
Redactor scrubs from every message, log and file, and the report's scenario never holds
it. Setup and teardown requests are not measured: the report says how they went
(``outcome.setup``, ``outcome.teardown``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..scenario import Scenario
from ..scenario.model import FlowSpec
from .dry_run import DryExchange, DryRun, dry_run

__all__ = ["Outcome", "dry_run_with_setup", "run_setup", "run_teardown", "with_setup_values"]


@dataclass
class Outcome:
    """How a setup or a teardown went: its values (a setup's), its requests and failure."""

    what: str  # "setup" or "teardown"
    values: dict[str, str]
    requests: int
    failure: str  # "" when it passed
    duration_s: float
    run: DryRun  # every exchange, for the dry run to show

    def report(self) -> dict[str, Any]:
        """What the report's ``outcome`` keeps of it (never a value)."""
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "passed": not self.failure,
            "failure": self.failure or None,
        }


async def run_setup(scenario: Scenario, host: str) -> Outcome:
    """The scenario's setup, stopped at its first failure."""
    return await _steps(scenario, host, "setup")


async def run_teardown(scenario: Scenario, host: str) -> Outcome:
    """The scenario's teardown (with the setup's values): every step is tried."""
    return await _steps(scenario, host, "teardown")


async def dry_run_with_setup(
    scenario: Scenario, host: str, iterations: int = 1
) -> tuple[DryRun, frozenset[str]]:
    """The dry run with the scenario's setup before it and its teardown after (a setup
    that fails ends it there), and the secrets to keep out of what is shown."""
    total = DryRun([], [], [])
    if scenario.has_setup:
        setup = await run_setup(scenario, host)
        total.extend(setup.run)
        if setup.failure:
            total.raised = total.raised or f"setup failed: {setup.failure}"
            return total, scenario.secrets | frozenset(setup.values.values())
        scenario = with_setup_values(scenario, setup.values)
    if scenario.parts:  # [[scenarios]]: each one's requests, flows or tasks in turn
        for view in scenario.part_views:
            part = await dry_run(view, host, iterations=iterations)
            for dry in part.exchanges:
                ex = dry.exchange
                ex.flow = f"{view.name} · {ex.flow}" if ex.flow else view.name
            total.extend(part)
    else:
        total.extend(await dry_run(scenario, host, iterations=iterations))
    if scenario.has_teardown:
        teardown = await run_teardown(scenario, host)
        total.extend(teardown.run)
        if teardown.failure:
            total.raised = total.raised or f"teardown failed: {teardown.failure}"
    return total, scenario.secrets


def with_setup_values(scenario: Scenario, values: Mapping[str, str]) -> Scenario:
    """The scenario its workers run: the setup's values in it, and among its secrets."""
    secret = frozenset(v for v in values.values() if v)
    return replace(
        scenario,
        setup_values=tuple(values.items()),
        secrets=scenario.secrets | secret,
    )


async def _steps(scenario: Scenario, host: str, what: str) -> Outcome:
    t0 = time.monotonic()
    script = scenario.script
    if script is not None and getattr(script, what) is not None:
        saved = list(sys.path)  # the worker's import puts the script's folder first
        try:
            found = await dry_run(scenario, host, call=getattr(script, what))
        finally:
            sys.path[:] = saved
        values, failure = _returned(found, what)
    else:
        steps = scenario.setup if what == "setup" else scenario.teardown
        alone = replace(
            scenario,
            requests=(),
            flows=(FlowSpec(name=what, steps=steps),),
            data=(),
            thresholds=(),
            script=None,
            setup=(),
            teardown=(),
            tags=(),
        )
        found = await dry_run(alone, host, stop_on_failure=what == "setup")
        values = {
            name: value for x in found.exchanges for name, value in x.captures if value is not None
        }
        failure = _first_failure(found)
    return Outcome(
        what=what,
        values=values if what == "setup" else {},
        requests=len(found.exchanges),
        failure=failure,
        duration_s=time.monotonic() - t0,
        run=found,
    )


def _returned(found: DryRun, what: str) -> tuple[dict[str, str], str]:
    """A script's @setup: the dict it returned, as text; or why it failed."""
    if found.raised:
        return {}, f"@{what} raised {found.raised}"
    failure = _first_failure(found)
    if failure:
        return {}, failure
    value = found.returned
    if value is None or what != "setup":
        return {}, ""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        return {}, f"@setup must return a dict of names to values, got {type(value).__name__}"
    out = {}
    for name, v in value.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            return {}, (
                f"@setup returned {name!r} as a {type(v).__name__}: values are texts or"
                " numbers (every user reads them as text)"
            )
        out[name] = str(v)
    return out, ""


def _first_failure(found: DryRun) -> str:
    """The first thing that failed, in a line (no value in it)."""
    for x in found.exchanges:
        if x.failed:
            return _why(x)
    for kind, status, endpoint, _, message in found.errors:
        label = f"HTTP {status}" if kind == "http" and status else kind
        return f"{endpoint}: {label}: {message}"
    return ""


def _why(x: DryExchange) -> str:
    ex = x.exchange
    where = f"step {ex.endpoint}"
    if ex.error:
        return f"{where}: no response ({ex.error})"
    if x.status_failed:
        return f"{where}: HTTP {ex.status}"
    if x.capture_error:
        return x.capture_error
    failed = next((c for c in x.checks if not c.passed and not c.spec.soft), None)
    if failed is not None:
        return f"{where}: check {failed.spec.text} failed"
    return f"{where}: failed"
