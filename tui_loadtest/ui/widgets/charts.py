"""Charts over time: throughput and latency percentiles, one point per second.

Drawn with braille dots (2×4 per cell) straight into a Text: a y axis with
round ticks, a time axis labelled 30s, 1m, 1m30s, and paused seconds shaded.
A plotting library redrew its canvases in about half of the dashboard's CPU
time; this costs a millisecond or two per chart per second, which matters
because the dashboard shares the machine with the load generator.

The time axis fits the run: a run with a set length is drawn on that length
(a 20 s run on 20 s), a count-bound run on at least 30 s that grows, and a
finished run on exactly the seconds it took. On long runs the charts show the
last ``span_s`` seconds (5 minutes by default). They redraw only when a new
second arrives or the widget is resized.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from math import ceil
from typing import Any

from rich.text import Text
from textual.widget import Widget

from ...report.axis import even_ticks, nice_ceiling
from ...report.formatting import fmt_clock
from ...stats.model import TimelinePoint
from ..style import CHART_COLOURS

SPAN_S = 300  # the last 5 minutes on long runs
MIN_SPAN_S = 30  # runs of unknown length start on a 30 s axis that then grows
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
PAUSED_BG = "#3b3418"
WARMUP_BG = "#1f3140"  # the warm-up's seconds: loaded, measured apart
AXIS = "#5c6370"
# Braille dot bits by (column, row) inside a cell.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


class TimeChart(Widget, can_focus=False):
    """A per-second line chart of a few series taken from the timeline."""

    DEFAULT_CSS = """
    TimeChart {
        height: 1fr;
        min-height: 7;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1 0 0;
    }
    """

    SERIES: tuple[tuple[str, str], ...] = ()  # (label, colour key), drawn in this order
    TITLE = ""
    UNIT = ""

    def __init__(self, *, span_s: int | None = SPAN_S, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.span_s = span_s
        self._points: list[TimelinePoint] = []
        self._axis_s: float = MIN_SPAN_S
        self._key: tuple | None = None
        self.border_title = self._title()

    def _title(self, warmup: bool = False) -> str:
        legend = "  ".join(f"[{CHART_COLOURS[c]}]━━[/] {label}" for label, c in self.SERIES)
        warm = f"  [on {WARMUP_BG}]  [/] warm-up" if warmup else ""
        return f"{self.TITLE} ({self.UNIT})  {legend}  [on {PAUSED_BG}]  [/] paused{warm}"

    def values(self, point: TimelinePoint) -> tuple[float, ...]:
        raise NotImplementedError

    def breaks(self, point: TimelinePoint) -> bool:
        """True where a line should stop (a subclass decides what "no data" means)."""
        return False

    def show(
        self,
        timeline: Sequence[TimelinePoint],
        planned_s: float | None = None,
        done: bool = False,
    ) -> None:
        """Draw ``timeline``; ``planned_s`` is the run's set length, ``done`` once it ended."""
        last = timeline[-1] if timeline else None
        key = (len(timeline), last, planned_s, done)
        if key == self._key:
            return
        self._key = key
        points = list(timeline)
        if self.span_s is not None and points and points[-1].t - points[0].t > self.span_s:
            cutoff = points[-1].t - self.span_s
            points = [p for p in points if p.t >= cutoff]
        self._points = points
        if timeline and timeline[0].warmup:
            self.border_title = self._title(warmup=True)
        self._axis_s = axis_seconds(points, planned_s, done, self.span_s)
        self.refresh()

    def render(self) -> Text:
        size = self.content_size
        return render_chart(
            self._points,
            [self.values(p) for p in self._points],
            [self.breaks(p) for p in self._points],
            [CHART_COLOURS[c] for _, c in self.SERIES],
            size.width,
            size.height,
            self._axis_s,
        )


class RpsChart(TimeChart):
    SERIES = (("requests/s", "rps"), ("errors/s", "errors"))
    TITLE = "Throughput"
    UNIT = "req/s"

    def values(self, point: TimelinePoint) -> tuple[float, ...]:
        return (point.rps, float(point.failures))


class LatencyChart(TimeChart):
    SERIES = (("p50", "p50"), ("p95", "p95"), ("p99", "p99"))
    TITLE = "Latency"
    UNIT = "ms"

    def values(self, point: TimelinePoint) -> tuple[float, ...]:
        return (point.p50_ms, point.p95_ms, point.p99_ms)

    def breaks(self, point: TimelinePoint) -> bool:
        # No response that second: no latency is not zero latency. (NaN: a figure the
        # source does not report, e.g. Locust's recent p99; that series alone is skipped.)
        return not any(v > 0 for v in (point.p50_ms, point.p95_ms, point.p99_ms))


def axis_seconds(
    points: Sequence[TimelinePoint], planned_s: float | None, done: bool, span_s: int | None
) -> float:
    """How many seconds the time axis spans (it still grows to the last point).

    A finished run: exactly its seconds. A run with a set length: that length
    (the window on long runs). Otherwise 30 s to start with.
    """
    if done and points:
        return float(points[-1].t + 1 - points[0].t)  # the last point covers [t, t + 1)
    if planned_s:
        return max(1.0, min(float(planned_s), float(span_s or planned_s)))
    return float(MIN_SPAN_S)


# --------------------------------------------------------------------------- drawing
def render_chart(
    points: Sequence[TimelinePoint],
    values: Sequence[tuple[float, ...]],
    breaks: Sequence[bool],
    colours: Sequence[str],
    width: int,
    height: int,
    axis_s: float = MIN_SPAN_S,
) -> Text:
    """The whole chart as ``height`` lines of ``width`` cells, ``axis_s`` seconds wide."""
    if width < 12 or height < 4:
        return Text("")
    x0 = points[0].t if points else 0
    x1 = max(x0 + axis_s, points[-1].t if points else 0)
    y_top = max((x for v in values for x in v if not math.isnan(x)), default=0.0)
    y_top = nice_ceiling(y_top * 1.1) if y_top > 0 else 1.0
    y_ticks = even_ticks(y_top, max(1, (height - 2) // 2), height - 2)
    labels = [_fmt_value(v) for v in y_ticks]
    margin = max(len(s) for s in labels) + 1
    pw, ph = width - margin - 1, height - 2  # plot cells
    if pw < 4 or ph < 2:
        return Text("")
    px_w, px_h = pw * 2, ph * 4

    def px(t: float) -> int:
        return round((t - x0) / (x1 - x0) * (px_w - 1))

    def py(v: float) -> int:
        return min(px_h - 1, max(0, round(v / y_top * (px_h - 1))))

    # Dots per cell and series; the later series wins a shared cell's colour.
    masks = [[0] * pw for _ in range(ph)]
    owner = [[-1] * pw for _ in range(ph)]
    for s in range(len(colours)):
        prev: tuple[int, int] | None = None
        for point, vals, brk in zip(points, values, breaks, strict=True):
            if brk or math.isnan(vals[s]):  # NaN: not reported by the source
                prev = None
                continue
            here = (px(point.t), py(vals[s]))
            for x, y in _segment(prev, here):
                row, col = ph - 1 - y // 4, x // 2
                masks[row][col] |= _DOTS[x % 2][3 - y % 4]
                owner[row][col] = s
            prev = here

    paused: list[str | None] = [None] * pw  # a column's shade: paused, or the warm-up
    for point in points:
        if point.paused or point.warmup:
            for col in range(px(point.t) // 2, min(pw, px(point.t + 1) // 2 + 1)):
                paused[col] = PAUSED_BG if point.paused else WARMUP_BG

    tick_rows = {ph - 1 - py(v) // 4: label for v, label in zip(y_ticks, labels, strict=True)}
    text = Text(no_wrap=True, overflow="crop")
    for row in range(ph):
        label = tick_rows.get(row)
        text.append(f"{label:>{margin - 1}}┤" if label else " " * (margin - 1) + "│", AXIS)
        _append_cells(text, masks[row], owner[row], paused, colours)
        text.append("\n")

    t_ticks = _time_ticks(x0, x1, max(2, pw // 10))
    axis = ["─"] * pw
    under = [" "] * (pw + margin + 8)
    for t in t_ticks:
        col = px(t) // 2
        axis[col] = "┬"
        label = _clock_label(t)
        start = min(max(0, margin + col - len(label) // 2), margin + pw - len(label))
        if all(c == " " for c in under[max(0, start - 1) : start + len(label) + 1]):
            under[start : start + len(label)] = label
    text.append(" " * (margin - 1) + "└" + "".join(axis), AXIS)
    text.append("\n")
    text.append("".join(under[:width]).rstrip(), "dim")
    return text


def _append_cells(
    text: Text,
    masks: list[int],
    owner: list[int],
    paused: list[str | None],
    colours: Sequence[str],
) -> None:
    """One plot row, appended in runs of equal style so the Text keeps few spans."""
    run: list[str] = []
    run_style: str | None = None
    for mask, who, shaded in zip(masks, owner, paused, strict=True):
        style = (colours[who] if mask else "") + (f" on {shaded}" if shaded else "")
        if style != run_style and run:
            text.append("".join(run), run_style or "")
            run = []
        run_style = style
        run.append(chr(0x2800 + mask) if mask else " ")
    if run:
        text.append("".join(run), run_style or "")


def _segment(a: tuple[int, int] | None, b: tuple[int, int]) -> list[tuple[int, int]]:
    """Pixels from a to b (Bresenham), or just b when there is no previous point."""
    if a is None:
        return [b]
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err, out = dx + dy, []
    while True:
        out.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return out
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def _spans(ticks: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive seconds: [3, 4, 5, 9] → [(3, 5), (9, 9)]."""
    spans: list[tuple[int, int]] = []
    for t in ticks:
        if spans and t == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return spans


def _time_ticks(x0: float, x1: float, most: int) -> list[float]:
    """Whole seconds or minutes, at most ``most`` of them."""
    span = max(1.0, x1 - x0)
    step = next((s for s in _TIME_STEPS if span / s <= most), _TIME_STEPS[-1])
    return [float(t) for t in range(int(ceil(x0 / step) * step), int(x1) + 1, step)]


def _fmt_value(v: float) -> str:
    if v >= 10_000:
        return f"{v / 1000:g}k"
    if v >= 10 or v == 0:
        return f"{v:g}"
    return f"{v:.2g}" if v < 1 else f"{v:g}"


def _clock_label(t: float) -> str:
    s = int(t)
    if s and s % 60 == 0:
        return f"{s // 60}m"
    return fmt_clock(s)
