"""Headless runs (``--no-ui``): progress lines while running, the summary at the end; and how
every run (headless or dashboard) ends on a signal.

Ctrl+C (SIGINT), SIGTERM (what CI sends on a timeout) and SIGHUP (a closed terminal)
all end a run the same way: the first stops it gracefully (requests in flight finish),
the partial report and the summary are still written, and the exit code is 128 + the
signal (130, 143, 129). The second quits at once, still writing the partial report.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import TextIO

from ..engine.coordinator import Run
from ..engine.repeated import RepeatedRun
from ..report.fit import fit_text, is_terminal, output_width
from ..report.formatting import fmt_clock, fmt_int
from ..report.text import progress_line
from ..stats.model import Snapshot
from ..stats.result import RunResult

INTERRUPTING: tuple[int, ...] = tuple(
    int(s) for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s
)


def signal_name(signum: int) -> str:
    return "Ctrl+C" if signum == signal.SIGINT else signal.Signals(signum).name


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to end; handled everywhere Ctrl+C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


class Signals:
    """While a command runs: SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in the
    main thread (as Ctrl+C raises KeyboardInterrupt), or go to ``redirect`` while the
    dashboard runs (it quits from its own loop and restores the terminal).

    After :meth:`defer` (the run is over, its report being written) a signal is only
    noted: nothing measured is lost to a signal arriving mid-write. From the third signal
    on nothing is raised either: the run is already being torn down as fast as it can.
    """

    def __init__(self) -> None:
        self.first: int | None = None
        self.count = 0
        self.redirect: Callable[[int], None] | None = None
        self._deferred = False
        self._hung_up = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in INTERRUPTING:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        self._old.clear()

    def defer(self) -> None:
        """From now on signals are noted, never raised."""
        self._deferred = True

    @property
    def hung_up(self) -> bool:
        return self._hung_up

    def forget_dead_terminal(self, *, keep_stdout: bool = False) -> None:
        """After a SIGHUP, standard output and error may be a terminal that is gone, where
        every write fails (EIO): point them at /dev/null so the summary cannot cost the
        run its report. ``keep_stdout``: stdout carries the report (``--out -``), whose
        own failure must show (it then goes to a fallback file)."""
        if not self._hung_up:
            return
        for name in ("stderr",) if keep_stdout else ("stdout", "stderr"):
            stream = getattr(sys, name)
            try:
                stream.flush()
                os.write(stream.fileno(), b"")
            except (OSError, ValueError):
                setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self._hung_up |= signum == getattr(signal, "SIGHUP", None)
        if self.first is None:
            self.first = signum
        if self.redirect is not None:
            self.redirect(signum)
            return
        if self._deferred or self.count > 2:
            return
        raise Interrupted(signum)

    @property
    def exit_code(self) -> int | None:
        """128 + the first signal received, if any."""
        return 128 + self.first if self.first is not None else None


def run_headless(
    run: Run | RepeatedRun,
    interval_s: float = 2.0,
    out: TextIO | None = None,
    signals: Signals | None = None,
) -> RunResult:
    """Drive a started run to its end, printing a progress line every ``interval_s``.

    The first Ctrl+C (or SIGTERM, SIGHUP) stops the run gracefully and marks it
    interrupted; the result (partial) is still returned so the report gets written.
    """
    out = out or sys.stdout
    # A terminal narrower than a progress line gets it broken between words; a file or
    # a pipe keeps one line per report, for grep.
    width = output_width(out) if is_terminal(out) else None
    _say(fit_text(plan_line(run.snapshot, getattr(run, "users_planned", 0)), width), out)
    next_line = time.monotonic() + interval_s
    alerted = 0
    try:
        while not run.wait(timeout=max(0.0, min(0.25, next_line - time.monotonic()))):
            alerted = _alert(run, alerted)
            now = time.monotonic()
            if now >= next_line:
                _say(fit_text(progress_line(run.snapshot, run.elapsed()), width), out)
                next_line += interval_s
    except KeyboardInterrupt as exc:
        finish_interrupted(run, signum=getattr(exc, "signum", signal.SIGINT), signals=signals)
    _alert(run, alerted)
    return run.result()


def _alert(run: Run | RepeatedRun, shown: int) -> int:
    """The run's new warnings (a clock off, a lost worker) on stderr, as they come, in
    the dashboard's place; returns how many are shown now."""
    alerts = list(run.alerts)  # the merge thread may add one meanwhile
    for line in alerts[shown:]:
        _say(f"tui-loadtest: warning: {line}", sys.stderr)
    return max(shown, len(alerts))


def plan_line(snap: Snapshot, peak: int = 0) -> str:
    """The first line of a headless run: how long it will take, before it takes it
    (``peak``: the most users planned, for stages that start from none)."""
    if snap.scenarios:  # [[scenarios]]: each has its load (the start event says which)
        load = f"{len(snap.scenarios)} scenarios ({', '.join(p.name for p in snap.scenarios)})"
    elif snap.mode == "arrival-rate":
        rate = snap.rate_target
        load = f"{rate:g} requests/s" if rate else "an arrival-rate ramp"
    elif snap.users_target == 0 and peak > 0:  # stages: a ramp that starts from none
        load = f"a ramp of up to {fmt_int(peak)} user" + ("s" if peak != 1 else "")
    else:
        load = f"{fmt_int(snap.users_target)} user" + ("s" if snap.users_target != 1 else "")
    if snap.duration_s and snap.requests_planned:
        length = (
            f"for at most {fmt_clock(snap.duration_s)} or {fmt_int(snap.requests_planned)} requests"
        )
    elif snap.duration_s:
        length = f"for {fmt_clock(snap.duration_s)}"
    elif snap.requests_planned:
        length = f"until {fmt_int(snap.requests_planned)} requests are done"
    else:
        return f"running {load} until stopped (Ctrl+C stops it; the report is still written)"
    if snap.warmup_s:
        length += f", the first {fmt_clock(snap.warmup_s)} a warm-up measured apart"
    if snap.repeat:
        length += f", {snap.repeat[1]} times"
    return f"running {load} {length} (Ctrl+C stops early; the report is still written)"


def finish_interrupted(
    run: Run | RepeatedRun,
    reason: str = "interrupted",
    *,
    signum: int | None = None,
    signals: Signals | None = None,
) -> None:
    """Stop a run the user broke off: requests in flight finish, unless a second signal
    (or Ctrl+C) comes, which quits at once. Either way the run's result is complete
    for the report."""
    try:
        run.stop(reason)
        if signals is not None and signals.count >= 2:  # the second came as the dashboard closed
            quit_now(run)
            return
        if signum is None and signals is not None:
            signum = signals.first
        how = f" ({signal_name(signum)})" if signum is not None else ""
        again = "Ctrl+C" if signum in (None, signal.SIGINT) else f"{signal_name(signum)} or Ctrl+C"
        _say(
            f"tui-loadtest: interrupted{how}: finishing requests in flight"
            f" ({again} again to quit now)",
            sys.stderr,
        )
        run.wait()
    except KeyboardInterrupt:
        quit_now(run)


def quit_now(run: Run | RepeatedRun) -> None:
    """End the engines without waiting for requests in flight: ``Run.close()`` kills them
    at once, counts none as failed, and keeps what they had sent for the report."""
    run.close()


def _say(text: str, stream: TextIO) -> None:
    """A line for the user; a terminal that hung up (SIGHUP) must not cost the report."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=stream, flush=True)
