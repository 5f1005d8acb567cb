"""Headless runs (``--no-ui``): progress lines while running, the summary at the end."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .engine.coordinator import Run
from .report.text import progress_line
from .stats.result import RunResult


def run_headless(run: Run, interval_s: float = 2.0, out: TextIO | None = None) -> RunResult:
    """Drive a started run to its end, printing a progress line every ``interval_s``.

    The first Ctrl+C stops the run gracefully and marks it interrupted; the
    result (partial) is still returned so the report gets written.
    """
    out = out or sys.stdout
    next_line = time.monotonic() + interval_s
    try:
        while not run.wait(timeout=max(0.0, min(0.25, next_line - time.monotonic()))):
            now = time.monotonic()
            if now >= next_line:
                print(progress_line(run.snapshot, run.elapsed()), file=out, flush=True)
                next_line += interval_s
    except KeyboardInterrupt:
        finish_interrupted(run)
    return run.result()


def finish_interrupted(run: Run, reason: str = "interrupted") -> None:
    """Stop a run the user broke off: requests in flight finish, unless Ctrl+C again."""
    run.stop(reason)
    print(
        "tui-loadtest: interrupted: finishing requests in flight (Ctrl+C again to quit now)",
        file=sys.stderr,
        flush=True,
    )
    try:
        run.wait()
    except KeyboardInterrupt:
        run.close()
