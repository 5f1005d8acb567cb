"""``LoadTestShape`` (``locust.shape``): a class whose ``tick()``, called once a second,
says how many users there should be and how fast to get there; ``None`` ends the run.
tui-loadtest calls it in the coordinator and steers the workers as its stages do."""

from __future__ import annotations

import time
from typing import Any, ClassVar


class LoadTestShapeMeta(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        namespace.setdefault("abstract", False)
        return super().__new__(mcs, name, bases, namespace)


class LoadTestShape(metaclass=LoadTestShapeMeta):
    """Subclass it and write ``tick()``."""

    runner: Any = None
    abstract: ClassVar[bool] = True
    use_common_options: ClassVar[bool] = False

    def __init__(self) -> None:
        self.start_time = time.perf_counter()

    def reset_time(self) -> None:
        self.start_time = time.perf_counter()

    def get_run_time(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.start_time

    def get_current_user_count(self) -> int:
        return int(self.runner.user_count) if self.runner is not None else 0

    def tick(self) -> tuple[int, float] | tuple[int, float, list[type] | None] | None:
        """(users, spawn rate[, user classes]) for now; None to end the run."""
        raise NotImplementedError


__all__ = ["LoadTestShape"]
