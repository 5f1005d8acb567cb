"""The top two lines: what runs where and in which state, and how far it has got.

Both are plain one-line Texts laid out by hand for the widget's width: they
redraw every second, and a rich Table per redraw cost more than everything
else on the line.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rich.text import Text
from textual import events
from textual.widgets import Static

from ...report.formatting import fmt_clock, fmt_int
from ...stats.model import Snapshot
from ...stats.result import RunResult
from ..style import STATE_COLOURS, fmt_clock_colon


class _Line(Static):
    """A one-line Static redrawn only when its words change (or it is resized)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._key: tuple | None = None
        self._args: tuple | None = None

    def _redraw(self, key: tuple, args: tuple) -> bool:
        key = (*key, self.size.width)
        self._args = args
        if key == self._key:
            return False
        self._key = key
        return True

    def on_resize(self, event: events.Resize) -> None:
        if self._args is not None:
            self.show(*self._args)

    def show(self, *args: object) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _spread(left: Text, right: Text, width: int) -> Text:
    """``left`` then ``right`` flush with the end of the line; ``left`` gives way first."""
    room = max(0, width - right.cell_len - 1)
    if left.cell_len > room:
        left.truncate(max(0, room - 1))
        left.append("…", style="dim")
    line = left.copy()
    line.append(" " * max(1, width - left.cell_len - right.cell_len))
    line.append_text(right)
    line.no_wrap = True
    return line


class RunHeader(_Line):
    """Scenario, host, state badge, elapsed time and workers, on one line.

    On a narrow terminal the line sheds words before figures: the program's
    name goes, the host loses its scheme, the scenario's name is shortened, and
    the host always stays.
    """

    DEFAULT_CSS = """
    RunHeader {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def show(self, snap: Snapshot, state: str, elapsed: float) -> None:  # type: ignore[override]
        saturated = snap.generator_saturated
        lost = sum(r.state == "lost" for r in snap.worker_rows)
        key = (
            lost,
            snap.scenario_name,
            snap.host,
            state,
            int(elapsed),
            snap.workers,
            snap.duration_s,
            saturated,
            snap.repeat,
        )
        if not self._redraw(key, (snap, state, elapsed)):
            return
        width = self.size.width
        colour = STATE_COLOURS.get(state, "white")
        clock = fmt_clock_colon(elapsed)
        if snap.duration_s:
            clock += f" / {fmt_clock_colon(snap.duration_s)}"
        workers = f"{snap.workers} worker" + ("s" if snap.workers != 1 else "")
        # A lost worker (docs/cluster.md): the run goes on degraded, marked in red.
        lost_mark = Text(f" {lost} LOST ", style="bold #1d1f23 on red") if lost else Text("")
        badge = (f" {state.upper():^8} ", f"bold #1d1f23 on {colour}")
        # The generator itself out of CPU (engine/generator.py): its figures may understate.
        gen = Text(" GEN CPU ", style="bold #1d1f23 on red") if saturated else Text("")
        # --repeat N: which run this is.
        runs = (
            Text(f"run {snap.repeat[0]} of {snap.repeat[1]} ", style="bold")
            if snap.repeat
            else Text("")
        )
        right = Text.assemble(
            runs,
            gen,
            badge,
            "  ",
            (f"{clock:>13}", "bold"),
            ("  │  ", "dim"),
            (f"{workers:>9} ", ""),
            lost_mark,
        )
        left = Text.assemble(
            (" tui-loadtest ", "bold"),
            ("│ ", "dim"),
            (snap.scenario_name, "bold"),
            ("  →  ", "dim"),
            snap.host,
        )
        if left.cell_len + right.cell_len + 1 > width:
            short = f"{snap.repeat[0]}/{snap.repeat[1]} " if snap.repeat else ""
            right = Text.assemble((short, "bold"), gen, badge, " ", (clock, "bold"), " ")
            if snap.workers != 1:
                right.append_text(Text.assemble(("│ ", "dim"), f"{snap.workers}w ", lost_mark))
            host = short_host(snap.host)
            room = max(0, width - right.cell_len - 1 - len(host) - 4)
            name = Text(snap.scenario_name, style="bold")
            if name.cell_len > room:
                name.truncate(max(0, room - 1))
                name.append("…", style="dim")
            left = Text.assemble(" ", name, (" → ", "dim"), host)
        self.update(_spread(left, right, width), layout=False)


def short_host(url: str) -> str:
    """``http://127.0.0.1:5000/`` → ``127.0.0.1:5000``; https keeps its scheme (it matters)."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url
    host = parts.netloc + parts.path.rstrip("/")
    return host if parts.scheme == "http" else f"{parts.scheme}://{host}"


class RunProgress(_Line):
    """A bar against the run time (or the request count) and what is left."""

    DEFAULT_CSS = """
    RunProgress {
        height: 1;
        padding: 0 1;
    }
    """

    def show(  # type: ignore[override]
        self,
        snap: Snapshot,
        elapsed: float,
        paused_s: float,
        state: str,
        result: RunResult | None = None,
    ) -> None:
        """The live clock's progress, or once ``result`` exists how far the run got."""
        fraction, detail = (
            _ended(snap, result)
            if result is not None
            else _progress(snap, elapsed, paused_s, state)
        )
        percent = None if fraction is None else int(fraction * 100)
        if not self._redraw((percent, detail, state), (snap, elapsed, paused_s, state, result)):
            return
        width = self.content_region.width or self.size.width
        right = Text(f"  {detail}", style="dim" if state == "done" else "")
        if fraction is None:
            line = _spread(Text("no end set: runs until you press s", style="dim"), right, width)
        else:
            colour = "#4ec97b" if state == "done" else "#56b6f7"
            if state == "paused":
                colour = "#f5c542"
            right = Text.assemble((f" {percent:3d}%", "bold"), right)
            bar = _bar(fraction, max(10, width - right.cell_len - 1), colour)
            line = _spread(bar, right, width)
        self.update(line, layout=False)


def _bar(fraction: float, width: int, colour: str) -> Text:
    done = int(fraction * width)
    bar = Text()  # styled by spans: a base style would leak into what follows the bar
    bar.append("━" * done, style=colour)
    if done < width:
        bar.append("╺" + "━" * (width - done - 1), style="#3a3d45")
    return bar


def _progress(
    snap: Snapshot, elapsed: float, paused_s: float, state: str
) -> tuple[float | None, str]:
    """(fraction done, words) from the live clock, which runs between Snapshots."""
    if state == "done":
        return 1.0, f"done in {fmt_clock(elapsed)}"
    fractions: list[float] = []
    words = ""
    if snap.duration_s:
        active = max(0.0, elapsed - paused_s)
        fractions.append(min(1.0, active / snap.duration_s))
        left = max(0.0, snap.duration_s - active)
        words = f"{fmt_clock(left)} left of {fmt_clock(snap.duration_s)}"
    if snap.requests_planned:
        done = snap.total.requests
        fractions.append(min(1.0, done / snap.requests_planned))
        count = f"{fmt_int(done)} of {fmt_int(snap.requests_planned)} requests"
        if not words:
            # Count-bound only: estimate the time left from the average rate so far.
            active = max(0.0, snap.elapsed_s - paused_s)
            rate = done / active if active > 0 else 0.0
            eta = (snap.requests_planned - done) / rate if rate > 0 else None
            words = f"~{fmt_clock(eta)} left" if eta is not None else "estimating…"
        words = f"{count} · {words}"
    if state == "paused" and words:
        words = "paused · " + words
    if state == "stopping":
        words = "stopping: finishing requests in flight"
    return (max(fractions) if fractions else None), words


def time_under_load(result: RunResult) -> float:
    """The run's time under load, as the summary states it: its Test Duration (pauses
    left out), plus the warm-up it measured apart (part of the run time)."""
    return result.duration_s + float(result.warmup.get("duration_s") or 0.0)


# How a run ends when it did all it was asked (the coordinator's stop reasons).
COMPLETE = ("run time reached", "request budget spent", "finished")


def _ended(snap: Snapshot, result: RunResult) -> tuple[float | None, str]:
    """(fraction of the plan done, words) from the result, as the summary states it: a
    run stopped at 6 s of 12 s is 50 % "stopped by user after 6s of 12s", not 100 %."""
    reason = str(result.outcome.get("reason") or "")
    ran = time_under_load(result)
    planned_s, planned_n = snap.duration_s, snap.requests_planned
    fractions = []
    if planned_s:
        fractions.append(min(1.0, ran / planned_s))
    if planned_n:
        fractions.append(min(1.0, result.summary.requests / planned_n))
    complete = reason in COMPLETE
    if complete:
        words = f"done in {fmt_clock(ran)}"
        if planned_s and ran >= planned_s + 1:  # the requests in flight took that long
            words += f" ({fmt_clock(planned_s)} planned, then requests in flight finished)"
    else:
        words = f"{reason or 'ended'} after {fmt_clock(ran)}"
        if planned_s:
            words += f" of {fmt_clock(planned_s)}"
        if planned_n:
            words += f" · {fmt_int(result.summary.requests)} of {fmt_int(planned_n)} requests"
    # No end set: it ran until it was stopped, which is all it was asked.
    return (1.0 if complete or not fractions else max(fractions)), words
