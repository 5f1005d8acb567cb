"""Command-line flags over a scenario.

Flag errors name the flag (``--users: expected a positive integer, got "x"``)
rather than a file key, since the flag is what the user typed.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..durations import parse_duration
from ..errors import ScenarioError
from .checks import RATE_LIMIT, SPAWN_LIMIT, USERS_LIMIT, is_number, warmup_problem
from .messages import flag_error, number_text
from .model import (
    MAX_RATE,
    MAX_USERS,
    MAX_WORKERS,
    LoadSpec,
    MonitorSpec,
    Scenario,
)
from .monitor_table import check_scrape_url
from .redact import (
    load_dict,
    monitor_dict,
    redact_query,
    secret_query_values,
)
from .urls import normalize_host

__all__ = ["apply_overrides", "cpu_cores", "plan_workers", "with_tls_flags"]


def _flag_int(flag: str, value: Any, maximum: int | None = None, what: str = "") -> int:
    number: Any = value
    if isinstance(value, str):
        text = value.strip()
        # isdigit() alone takes "²"; int() refuses more than 4300 digits.
        ok = text.isascii() and text.isdigit() and len(text) <= 4000
        number = int(text) if ok else None
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise flag_error(flag, "a positive integer", value)
    if maximum is not None and number > maximum:
        raise flag_error(flag, f"at most {maximum} {what}".rstrip(), value)
    return number


def _flag_number(flag: str, value: Any, what: str = "a positive number") -> float:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise flag_error(flag, what, value) from None
    if not is_number(number) or number <= 0:
        raise flag_error(flag, what, value)
    return float(number)


def _flag_spawn_rate(flag: str, value: Any) -> float:
    rate = _flag_number(flag, value)
    if rate > MAX_USERS:
        raise flag_error(flag, f"at most {MAX_USERS} {SPAWN_LIMIT}", value)
    return rate


def _flag_rate(flag: str, value: Any) -> float:
    rate = _flag_number(flag, value, "a positive number of requests per second")
    if rate > MAX_RATE:
        raise flag_error(flag, f"at most {MAX_RATE:.0f} {RATE_LIMIT}", value)
    return rate


def _flag_duration(flag: str, value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise flag_error(flag, str(exc).removeprefix("expected "), value) from None
    if seconds <= 0:
        raise flag_error(flag, "a duration greater than 0", value)
    return seconds


def apply_overrides(
    sc: Scenario,
    *,
    users: int | str | None = None,
    spawn_rate: float | str | None = None,
    run_time: str | float | None = None,
    requests: int | str | None = None,
    host: str | None = None,
    rate: float | str | None = None,
    max_users: int | str | None = None,
    monitor_pids: Sequence[int] = (),
    scrape: Sequence[str] = (),
    warmup: str | float | None = None,
) -> Scenario:
    """Return ``sc`` with command-line flags applied (None means "keep the file's value").

    - ``rate`` switches to arrival-rate mode with that constant rate.
    - ``users`` (or ``rate``) replaces the file's stages with a constant load;
      if the file had no run_time, the stages' total becomes the run time so
      the run still ends when the file said it would.
    - ``requests`` and ``run_time`` combine: the run stops at whichever comes
      first, so ``-n`` on a file with a run_time keeps that run_time.
    - Flags that do nothing in the resulting mode are errors (``--users`` with
      arrival-rate, ``--max-users`` with users mode), naming the flag.
    - ``monitor_pids`` (``--monitor-pid``) and ``scrape`` (``--scrape``) add to ``[monitor]``.
    - ``warmup`` (``--warmup``): the first part of the run, measured apart.
    """
    new_users = _flag_int("--users", users, MAX_USERS, USERS_LIMIT) if users is not None else None
    new_spawn = _flag_spawn_rate("--spawn-rate", spawn_rate) if spawn_rate is not None else None
    new_run_time = _flag_duration("--run-time", run_time) if run_time is not None else None
    new_requests = _flag_int("--requests", requests) if requests is not None else None
    new_rate = _flag_rate("--rate", rate) if rate is not None else None
    new_max = (
        _flag_int("--max-users", max_users, MAX_USERS, USERS_LIMIT)
        if max_users is not None
        else None
    )
    new_host = sc.host
    if host is not None:
        try:
            new_host = normalize_host(host)
        except ValueError as exc:
            shown = redact_query(host) if isinstance(host, str) else host
            raise flag_error("--host", str(exc).removeprefix("expected "), shown) from None

    load = sc.load
    if sc.parts:  # each [[scenarios]] has its own load: only the run's length may change
        for flag, given in (
            ("--users", new_users),
            ("--spawn-rate", new_spawn),
            ("--rate", new_rate),
            ("--max-users", new_max),
            ("--requests", new_requests),
        ):
            if given is not None:
                raise ScenarioError(
                    f"{flag}: not for a file with [[scenarios]] (each has its own load: set "
                    "it there; -t and --warmup apply to the whole run)"
                )
    if new_rate is not None:
        for flag, given in (("--users", new_users), ("--spawn-rate", new_spawn)):
            if given is not None:
                raise ScenarioError(
                    f"{flag}: not used with --rate (arrival-rate mode; cap connections "
                    "with --max-users)"
                )
        load = replace(
            _without_stages(load),
            mode="arrival-rate",
            rate=new_rate,
            spawn_rate=None,
            think_time=(0.0, 0.0),
        )
    if new_users is not None:
        if load.is_open:
            raise ScenarioError(
                '--users: only used in "users" mode; this scenario has mode = "arrival-rate" '
                "(use --rate and --max-users)"
            )
        load = replace(_without_stages(load), users=new_users)
    if new_spawn is not None:
        if load.is_open:
            raise ScenarioError(
                '--spawn-rate: only used in "users" mode; this scenario has mode = "arrival-rate"'
            )
        if load.stages:
            raise ScenarioError(
                "--spawn-rate: not used with the scenario's [[load.stages]] "
                "(add --users to replace them with a constant load)"
            )
        load = replace(load, spawn_rate=new_spawn)
    if new_max is not None:
        if not load.is_open:
            raise ScenarioError(
                '--max-users: needs mode = "arrival-rate" (set load.mode or pass --rate); '
                "use --users in users mode"
            )
        load = replace(load, max_users=new_max)
    if new_run_time is not None:
        load = replace(load, run_time_s=new_run_time)
    if new_requests is not None:
        load = replace(load, requests=new_requests)
    if warmup is not None:
        load = replace(load, warmup_s=_flag_duration("--warmup", warmup))
    problem = warmup_problem(load.warmup_s, load.duration_s)
    if problem:
        # The scenario's warmup key was checked at load: only a flag can break the rule now.
        flag = "--warmup" if warmup is not None else "--run-time"
        raise ScenarioError(f"{flag}: {problem}")
    if load.warmup_s and load.duration_s is not None and load.warmup_s >= load.duration_s:
        raise ScenarioError(
            f"--warmup: expected less than the run's {number_text(load.duration_s)} s"
            " (the warm-up is the first part of --run-time)"
        )

    monitor = _monitor(sc.monitor, monitor_pids, scrape)
    result = replace(sc, load=load, host=new_host, monitor=monitor)
    redacted = copy.deepcopy(sc.redacted)
    if monitor.active:
        redacted["monitor"] = monitor_dict(monitor)
    secrets = set(sc.secrets)
    for url in monitor.scrape:
        secrets |= secret_query_values(url)
    redacted["load"] = load_dict(load)
    redacted["host"] = new_host
    flags = {
        "users": new_users,
        "spawn_rate": new_spawn,
        "run_time_s": new_run_time,
        "requests": new_requests,
        "host": None if host is None else (new_host or "demo"),
        "rate": new_rate,
        "max_users": new_max,
        "warmup_s": load.warmup_s if warmup is not None else None,
    }
    applied = {k: v for k, v in flags.items() if v is not None}
    if applied:
        redacted["overrides"] = {**redacted.get("overrides", {}), **applied}
    return replace(result, redacted=redacted, secrets=frozenset(secrets))


def with_tls_flags(
    sc: Scenario,
    *,
    insecure: bool = False,
    ca_file: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
) -> Scenario:
    """``sc`` with ``-k/--insecure``, ``--ca-file``, ``--client-cert`` and ``--client-key``
    applied over its ``[http]`` (files checked now: one line naming the flag)."""
    changes: dict[str, Any] = {}
    if insecure:
        changes["verify_tls"] = False
    for flag, field, value in (
        ("--ca-file", "ca_file", ca_file),
        ("--client-cert", "client_cert", client_cert),
        ("--client-key", "client_key", client_key),
    ):
        if value is not None:
            path = os.path.expanduser(value)
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise ScenarioError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from None
            changes[field] = path
    if not changes:
        return sc
    http = replace(sc.http, **changes)
    if http.client_key and not http.client_cert:
        raise ScenarioError("--client-key: needs --client-cert (the certificate it goes with)")
    redacted = copy.deepcopy(sc.redacted)
    section = redacted.setdefault("http", {})
    section.update({k: v for k, v in changes.items()})
    return replace(sc, http=http, redacted=redacted)


def _monitor(monitor: MonitorSpec, pids: Sequence[int], scrape: Sequence[str]) -> MonitorSpec:
    if not pids and not scrape:
        return monitor
    new_pids = []
    for pid in pids:
        new_pids.append(_flag_int("--monitor-pid", pid))
    urls = list(monitor.scrape)
    for url in scrape:
        try:
            urls.append(check_scrape_url(url))
        except ValueError as exc:
            shown = redact_query(url) if isinstance(url, str) else url
            raise flag_error("--scrape", str(exc).removeprefix("expected "), shown) from None
    return replace(
        monitor,
        scrape=tuple(dict.fromkeys(urls)),
        pids=tuple(dict.fromkeys((*monitor.pids, *new_pids))),
    )


def _without_stages(load: LoadSpec) -> LoadSpec:
    if not load.stages:
        return load
    run_time = load.run_time_s if load.run_time_s is not None else load.total_stage_time
    return replace(load, stages=(), run_time_s=run_time)


def plan_workers(
    load: LoadSpec, requested: int, cores: int, parts: Sequence[LoadSpec] = ()
) -> tuple[int, list[str]]:
    """How many workers to start for ``--workers requested``, and the notes to print.

    Never more than the load keeps busy (a worker per user, or per request per
    second and connection), so a small run on a big ``--workers`` does not pay
    for idle processes. More workers than cores is allowed with a warning: they
    compete for the CPU, which shows as latency in the results.
    """
    if requested > MAX_WORKERS:
        raise flag_error("--workers", f"at most {MAX_WORKERS}", requested)
    notes = []
    if parts:  # [[scenarios]]: as many as the busiest scenario keeps busy
        load = max(parts, key=lambda p: p.useful_workers)
    workers = min(requested, load.useful_workers)
    if workers < requested:
        if load.is_open:
            need = (
                f"one request per second and one connection each (this run peaks at "
                f"{number_text(load.peak_level)} req/s, {load.max_users} in flight)"
            )
        else:
            need = f"one user each (this run has at most {int(load.peak_level)})"
        notes.append(f"--workers: starting {workers}, not {requested}: workers need {need}")
    if workers > cores:
        notes.append(
            f"--workers: warning: {workers} workers on {cores} cores compete for the CPU, "
            "which shows as latency in the results (one per core at most is best)"
        )
    return workers, notes


def cpu_cores() -> int:
    """Cores this process may run on (its affinity), not merely the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
