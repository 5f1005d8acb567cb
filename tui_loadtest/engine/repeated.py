"""``--repeat N``: one scenario run N times in one command, as one source for the
dashboard and the headless driver.

Each run is a complete :class:`~tui_loadtest.engine.coordinator.Run` (its own
workers, warm-up and figures) against the same target; between two runs the
load stops for ``cooldown_s`` so that the target settles (connections closed,
queues drained) before the next one starts. A driver thread starts the next
run when one ends; the snapshot is the current run's, marked "run i of N".
Stopping (q, Ctrl+C, a signal) stops the current run and starts no other:
the runs done so far, and the stopped one, are all kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..stats.model import Event, Snapshot
from ..stats.repeats import combine
from ..stats.result import RunResult
from .coordinator import Run


class RepeatedRun:
    """N runs one after the other, seen as one run (see the module docstring)."""

    observe_only = False  # the dashboard's controls drive the current run

    def __init__(
        self,
        make_run: Callable[[], Run],
        count: int,
        cooldown_s: float,
        on_run_end: Callable[[int, int, RunResult], None] | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self.count = count
        self.cooldown_s = cooldown_s
        self.index = 1  # the run going on (1-based)
        self.results: list[RunResult] = []
        self.worker_errors: list[str] = []
        self.lost: list[dict[str, Any]] = []  # workers lost, each with its run
        self._degraded: list[str] = []
        self._past_alerts: list[str] = []  # the finished runs' warnings, each with its run
        self._make_run = make_run
        self._on_run_end = on_run_end
        self.current = make_run()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._done = threading.Event()
        self._cooling: Snapshot | None = None  # the last run's snapshot, during a cooldown
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop_reason = ""

    # -- driving ------------------------------------------------------------
    def start(self, go: bool = True) -> None:
        self.current.start(go=go)
        self._thread = threading.Thread(target=self._drive, name="repeat-driver", daemon=True)
        self._thread.start()

    def go(self) -> None:
        self.current.go()

    def _drive(self) -> None:
        try:
            while True:
                run = self.current
                run.wait()
                result = run.result()
                self.worker_errors += [f"run {self.index}: {e}" for e in run.worker_errors]
                self.lost += [{**lost, "run": self.index} for lost in run.lost]
                if run.degraded:
                    self._degraded.append(f"run {self.index}: {run.degraded}")
                last = self.index >= self.count
                ending = last or self._stopped.is_set() or result.interrupted or result.unreachable
                cooling = None
                if not ending:  # said before anyone hears the run ended
                    snap = run.snapshot
                    text = f"run {self.index} of {self.count} done; run {self.index + 1} starts in"
                    event = Event(snap.elapsed_s, f"{text} {self.cooldown_s:g} s")
                    cooling = replace(snap, state="starting", events=(*snap.events, event))
                alerts = [f"run {self.index}: {a}" for a in list(run.alerts)]
                with self._lock:  # one step: the run's result and warnings move together
                    self.results.append(result)
                    self._past_alerts += alerts
                    self._cooling = cooling
                if self._on_run_end is not None:
                    self._on_run_end(self.index, self.count, result)
                if ending:
                    return
                run.close()
                if self._stopped.wait(self.cooldown_s):
                    return
                new = self._make_run()
                with self._lock:
                    self.current, self.index = new, self.index + 1
                    self._cooling = None
                new.start(go=True)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc
        finally:
            self._done.set()

    # -- reading ------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            snap = self._cooling or self.current.snapshot
            index = self.index
        if self._done.is_set():
            snap = self.current.snapshot
        return replace(snap, repeat=(index, self.count))

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        done = self._done.wait(timeout)
        if done and self._error is not None:
            error, self._error = self._error, None
            raise error
        return done

    @property
    def alerts(self) -> list[str]:
        """Warnings so far (a clock off, a lost worker), oldest first, each with its run;
        only ever appended to, as the headless driver expects."""
        with self._lock:
            past, run, index = list(self._past_alerts), self.current, self.index
            if len(self.results) >= index:  # this run's are in the past ones already
                return past
        return past + [f"run {index}: {a}" for a in list(run.alerts)]

    @property
    def degraded(self) -> str | None:
        """The runs that went on without some of their workers, if any."""
        return "; ".join(self._degraded) or None

    @property
    def paused(self) -> bool:
        return self.current.paused

    @property
    def users_target(self) -> int:
        return self.current.users_target

    @property
    def log_path(self) -> str | None:
        return self.current.log_path

    def elapsed(self) -> float:
        return self.current.elapsed()

    def paused_time(self) -> float:
        return self.current.paused_time()

    # -- controls (the current run's) ---------------------------------------
    def toggle_pause(self) -> None:
        self.current.toggle_pause()

    def set_users(self, users: int) -> None:
        self.current.set_users(users)

    def set_rate(self, rate: float) -> None:
        self.current.set_rate(rate)

    def stop(self, reason: str = "stopped") -> None:
        """Stop the current run; no other starts."""
        self._stop_reason = reason
        self._stopped.set()
        self.current.stop(reason)

    def close(self) -> None:
        self._stopped.set()
        self.current.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def result(self) -> RunResult:
        """Every run so far (the current one too, if it has not ended) in one result."""
        with self._lock:
            results = list(self.results)
            current = self.current
        if len(results) < self.index:
            results.append(current.result())
        combined = combine(results, self.cooldown_s)
        if self._stop_reason == "interrupted" and not combined.interrupted:
            # broken off during a cooldown: the runs asked for were not all made
            outcome = {**combined.outcome, "interrupted": True, "reason": "interrupted"}
            combined = replace(combined, outcome=outcome)
        return combined
