"""What the dashboard needs from a run, as a Protocol.

:class:`tui_loadtest.engine.coordinator.Run` satisfies it; tests inject a fake
with seeded Snapshots so every screen is deterministic. The dashboard polls
``snapshot`` and ``elapsed()`` from a timer: nothing is ever pushed to it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..stats.model import Snapshot
from ..stats.result import RunResult


@runtime_checkable
class RunSource(Protocol):
    """A run as the UI sees it: a latest Snapshot to read and a few controls."""

    @property
    def snapshot(self) -> Snapshot:
        """The latest immutable Snapshot (republished every second and on state changes)."""
        ...

    @property
    def done(self) -> bool: ...

    @property
    def paused(self) -> bool: ...

    @property
    def users_target(self) -> int: ...

    @property
    def observe_only(self) -> bool:
        """True when the run is driven elsewhere (a watched Locust): the dashboard then
        hides pause, users, rate and stop, and quitting leaves the run going."""
        ...

    def elapsed(self) -> float:
        """Seconds since the run started, live (the clock between Snapshots)."""
        ...

    def paused_time(self) -> float:
        """Seconds spent paused so far (they do not count against the run time)."""
        ...

    def go(self) -> None:
        """Start the load if it was prepared without starting (idempotent)."""
        ...

    def toggle_pause(self) -> None: ...

    def set_users(self, users: int) -> None: ...

    def set_rate(self, rate: float) -> None:
        """Arrival-rate runs: a new constant rate (req/s) from now on."""
        ...

    def stop(self, reason: str = "stopped") -> None: ...

    def result(self) -> RunResult: ...

    def close(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@runtime_checkable
class ScenarioControls(Protocol):
    """A run with ``[[scenarios]]`` (``Run``): pause and +/- on one scenario at a time.
    The dashboard uses them when its snapshots list scenarios."""

    def part_target(self, name: str) -> float:
        """What the scenario was last asked for: users, or req/s in the open model."""
        ...

    def part_is_paused(self, name: str) -> bool: ...

    def set_part_users(self, name: str, users: int) -> None: ...

    def set_part_rate(self, name: str, rate: float) -> None: ...

    def toggle_part_pause(self, name: str) -> None: ...
