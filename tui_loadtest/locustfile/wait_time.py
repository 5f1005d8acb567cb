"""Locust's wait times (``locust.user.wait_time``): functions of the user (or task set)
that say how long to wait between tasks, in seconds."""

from __future__ import annotations

import random
from collections.abc import Callable
from time import perf_counter
from typing import Any

WaitTime = Callable[[Any], float]


def between(min_wait: float, max_wait: float) -> WaitTime:
    """A wait drawn uniformly from ``min_wait`` to ``max_wait`` seconds."""
    span = max_wait - min_wait
    return lambda _: min_wait + random.random() * span


def constant(wait_time: float) -> WaitTime:
    """The same wait every time."""
    return lambda _: wait_time


def constant_pacing(wait_time: float) -> WaitTime:
    """Whatever wait makes each task start ``wait_time`` seconds after the last one
    started (0 when the task took longer)."""

    def pace(holder: Any) -> float:
        now = perf_counter()
        last_run = getattr(holder, "_cp_last_run", now)
        last_wait = getattr(holder, "_cp_last_wait_time", 0.0)
        took = now - last_run - last_wait
        wait = max(0.0, wait_time - took)
        holder._cp_last_wait_time = wait
        holder._cp_last_run = now
        return wait

    return pace


def constant_throughput(task_runs_per_second: float) -> WaitTime:
    """The pacing that makes each user run ``task_runs_per_second`` tasks a second."""
    if task_runs_per_second <= 0:
        raise ValueError(f"constant_throughput() needs a positive rate, got {task_runs_per_second}")
    return constant_pacing(1 / task_runs_per_second)


def poisson(rate: float) -> WaitTime:
    """Exponential waits with mean ``1 / rate``: task starts as a Poisson process."""
    if rate <= 0:
        raise ValueError(f"poisson() needs a positive rate, got {rate}")
    return lambda _: random.expovariate(rate)


__all__ = ["between", "constant", "constant_pacing", "constant_throughput", "poisson"]
