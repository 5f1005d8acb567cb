"""How a run's load is split between workers, deterministically.

Kept apart from the engine so that the coordinator (which lives in the process
drawing the dashboard) plans shares without importing the engine and its HTTP
clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario import Scenario


@dataclass(frozen=True, slots=True)
class WorkerShare:
    """What one worker is asked to do: its part of the users, spawn rate and budget.

    In arrival-rate mode ``users`` is the worker's part of ``max_users`` and
    ``fraction`` its part of the rate; ``offset`` staggers workers' arrivals so
    the merged stream stays evenly spaced.
    """

    worker: int
    workers: int
    users: int
    spawn_rate: float
    requests: int | None = None  # this worker's part of the request budget
    fraction: float = 1.0  # this worker's part of stage targets and of the rate
    offset: float = 0.0
    # --http-debug: (whole bodies?, exchanges of each endpoint to copy); None: off
    http_debug: tuple[bool, int] | None = None
    # Closed model: this worker's part of the iterations its users share (``iterations``
    # of a [[scenarios]] entry; an arrival-rate one's are its arrival budget, ``requests``)
    iterations: int | None = None
    # [[scenarios]]: this worker's share of each scenario, in order (``users``: their sum)
    parts: tuple[WorkerShare, ...] = ()


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` integers that differ by at most one."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def make_shares(scenario: Scenario, workers: int) -> list[WorkerShare]:
    """Each worker's share of the scenario's users (or slots and rate) and budget; with
    ``[[scenarios]]``, of each scenario's (every worker runs a part of every one)."""
    if scenario.parts:
        per_part = [make_shares(view, workers) for view in scenario.part_views]
        return [
            WorkerShare(
                worker=i,
                workers=workers,
                users=sum(shares[i].users for shares in per_part),
                spawn_rate=0.0,
                parts=tuple(shares[i] for shares in per_part),
            )
            for i in range(workers)
        ]
    load = scenario.load
    budgets = split_evenly(load.requests, workers) if load.requests is not None else None
    if load.is_open:
        if load.iterations is not None:  # an arrival is an iteration: its budget
            budgets = split_evenly(load.iterations, workers)
        slots = split_evenly(load.max_users, workers)
        return [
            WorkerShare(
                worker=i,
                workers=workers,
                users=slots[i],
                spawn_rate=0.0,
                requests=budgets[i] if budgets is not None else None,
                fraction=1 / workers,
                offset=i / workers,
            )
            for i in range(workers)
        ]
    users = split_evenly(load.users, workers)
    rate = load.effective_spawn_rate
    iterations = _by_users(load.iterations, users) if load.iterations is not None else None
    return [
        WorkerShare(
            worker=i,
            workers=workers,
            users=users[i],
            spawn_rate=max(rate * users[i] / max(1, load.users), 1e-9),
            requests=budgets[i] if budgets is not None else None,
            fraction=users[i] / max(1, load.users) if not load.stages else 1 / workers,
            iterations=iterations[i] if iterations is not None else None,
        )
        for i in range(workers)
    ]


def _by_users(total: int, users: list[int]) -> list[int]:
    """``total`` iterations split as the users are (a worker without users gets none,
    else its users would owe iterations nobody runs); evenly under stages (no users yet)."""
    if not any(users):
        return split_evenly(total, len(users))
    whole = sum(users)
    shares = [total * n // whole for n in users]
    for i in sorted(range(len(users)), key=lambda i: -users[i])[: total - sum(shares)]:
        shares[i] += 1
    return shares
