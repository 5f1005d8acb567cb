"""A locustfile's ``LoadTestShape`` steering a run, from the coordinator.

Locust calls ``tick()`` about once a second and moves the users to what it returns;
``None`` ends the test. Here a thread of the coordinator's process does the same with
:meth:`~tui_loadtest.engine.coordinator.Run.set_users` (the workers reach the count at
the spawn rate it names), and stops the run on ``None``. The dashboard and the events
show each change of target.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

TICK_S = 1.0


class Steerable(Protocol):
    """What the driver uses of a run."""

    start_mono: float | None
    users_target: int

    @property
    def done(self) -> bool: ...

    def set_users(
        self,
        users: int,
        spawn_rate: float | None = None,
        classes: tuple[str, ...] | None = None,
    ) -> None: ...

    def stop(self, reason: str = "stopped") -> None: ...

    def note(self, text: str) -> None: ...

    def active_users(self) -> int: ...


class RunnerView:
    """``shape.runner``, from the first tick on: the run's environment as the shape
    reads it (``parsed_options``, ``host``), and its users as the run last reported them
    (none before it starts)."""

    def __init__(self, environment: Any = None, run: Steerable | None = None) -> None:
        self.environment = environment
        self._run = run

    @property
    def stats(self) -> Any:
        return getattr(self.environment, "stats", None)

    @property
    def state(self) -> str:
        if self._run is None:
            return "ready"
        return "stopped" if self._run.done else "running"

    @property
    def user_count(self) -> int:
        return self._run.active_users() if self._run is not None else 0

    @property
    def target_user_count(self) -> int:
        return self._run.users_target if self._run is not None else 0


def tick_classes(found: Any) -> tuple[str, ...] | None:
    """The user classes a tick names (its third item), by name; None: every class."""
    if len(found) > 2 and found[2]:
        return tuple(getattr(c, "__name__", str(c)) for c in found[2])
    return None


def first_tick(
    shape: Any, environment: Any = None
) -> tuple[int, float, tuple[str, ...] | None] | None:
    """The shape's first answer, read before the run starts: the users to start with
    (and the classes, if it names them). ``shape.runner`` is there already, as in
    Locust, with ``environment``."""
    shape.runner = RunnerView(environment)
    found = shape.tick()
    if found is None:
        return None
    return int(found[0]), float(found[1]), tick_classes(found)


class ShapeDriver:
    """Calls ``tick()`` once a second while the run goes, and does what it says."""

    def __init__(self, run: Steerable, shape: Any, all_classes: tuple[str, ...] = ()) -> None:
        self.run = run
        self.shape = shape
        self.all_classes = all_classes  # after a tick that named some, one that names none
        shape.runner = RunnerView(getattr(shape.runner, "environment", None), run)
        self._thread = threading.Thread(target=self._loop, name="tui-loadtest-shape", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        run = self.run
        while run.start_mono is None and not run.done:  # the dashboard says go once drawn
            time.sleep(0.05)
        if run.done:
            return
        self.shape.reset_time()
        last: tuple[int, float, tuple[str, ...] | None] | None = None
        next_at = time.monotonic() + TICK_S
        while not run.done:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += TICK_S
            if run.done:
                return
            try:
                found = self.shape.tick()
            except Exception as exc:  # noqa: BLE001 - the file's code: the run stops, said why
                run.stop(f"the load shape raised {type(exc).__name__}: {exc}")
                return
            if found is None:
                run.stop("the load shape ended the test")
                return
            users, rate = int(found[0]), float(found[1])
            classes = tick_classes(found)
            if (users, rate, classes) != last:
                named = classes
                if classes is None and last is not None and last[2] is not None:
                    named = self.all_classes or None  # back to every class of the run
                last = (users, rate, classes)
                run.set_users(users, spawn_rate=rate, classes=named)
