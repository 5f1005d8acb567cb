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


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` integers that differ by at most one."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def make_shares(scenario: Scenario, workers: int) -> list[WorkerShare]:
    """Each worker's share of the scenario's users (or slots and rate) and budget."""
    load = scenario.load
    budgets = split_evenly(load.requests, workers) if load.requests is not None else None
    if load.is_open:
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
    return [
        WorkerShare(
            worker=i,
            workers=workers,
            users=users[i],
            spawn_rate=max(rate * users[i] / max(1, load.users), 1e-9),
            requests=budgets[i] if budgets is not None else None,
            fraction=users[i] / max(1, load.users) if not load.stages else 1 / workers,
        )
        for i in range(workers)
    ]
