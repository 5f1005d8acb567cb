"""Charts over time: throughput and latency percentiles, one point per second.

Built on textual-plot. Paused seconds are shaded. On long runs the charts show
the last ``SPAN_S`` seconds. They redraw only when a new second arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor, log10

from textual_plot import HiResMode, PlotWidget
from textual_plot.axis_formatter import AxisFormatter, NumericAxisFormatter

from ...report.formatting import fmt_clock
from ...stats.model import TimelinePoint
from ..style import CHART_COLOURS

SPAN_S = 300  # the last 5 minutes on long runs
MIN_SPAN_S = 30  # short runs start on a 30 s axis that then grows
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


class ClockFormatter(AxisFormatter):
    """Ticks at whole seconds or minutes, labelled 30s, 1m, 1m30s."""

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        span = max(1.0, max_ - min_)
        step = next((s for s in _STEPS if span / s <= min(max_ticks, 6)), _STEPS[-1])
        first = ceil(min_ / step) * step
        return [float(t) for t in range(int(first), int(max_) + 1, step)]

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        return [_clock_label(t) for t in ticks]


class CompactFormatter(NumericAxisFormatter):
    """Numeric ticks that fit a narrow margin: 1500 → 1.5k, 20000 → 20k."""

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        labels = super().get_labels_for_ticks(ticks)
        if ticks and max(abs(t) for t in ticks) >= 10_000:
            return [f"{t / 1000:g}k" for t in ticks]
        return labels


def _clock_label(t: float) -> str:
    s = int(t)
    if s and s % 60 == 0:
        return f"{s // 60}m"
    return fmt_clock(s)


class TimeChart(PlotWidget, can_focus=False):
    """A per-second chart of some series taken from the timeline."""

    DEFAULT_CSS = """
    TimeChart {
        height: 1fr;
        min-height: 9;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0;
        & > .plot--axis { color: $panel-lighten-3; }
        & > .plot--tick { color: $text-muted; text-style: none; }
        & > .plot--label { color: $text-muted; text-style: italic; }
    }
    """

    SERIES: tuple[tuple[str, str], ...] = ()  # (label, colour key)
    TITLE = ""
    Y_LABEL = ""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(allow_pan_and_zoom=False, **kwargs)
        self._key: tuple | None = None
        self.border_title = self._title()

    def on_mount(self) -> None:
        self.margin_top = 1
        self.margin_left = 7
        self.margin_bottom = 3
        self.set_x_formatter(ClockFormatter())
        self.set_y_formatter(CompactFormatter())
        self.set_xlabel("elapsed")
        self.set_ylabel(self.Y_LABEL)

    def _title(self) -> str:
        legend = "  ".join(f"[{CHART_COLOURS[c]}]━━[/] {label}" for label, c in self.SERIES)
        return f"{self.TITLE}  {legend}  [{CHART_COLOURS['paused']}]▀▀[/] paused"

    def values(self, point: TimelinePoint) -> tuple[float, ...]:
        raise NotImplementedError

    def segments(
        self, points: list[TimelinePoint], xs: list[int], ys: Sequence[float]
    ) -> list[tuple[list[int], list[float]]]:
        """The line pieces to draw; one unbroken line unless a subclass splits it."""
        return [(xs, list(ys))]

    def show(self, timeline: Sequence[TimelinePoint]) -> None:
        last = timeline[-1] if timeline else None
        key = (len(timeline), last)
        if key == self._key:
            return
        self._key = key
        points = list(timeline)
        if points and points[-1].t - points[0].t > SPAN_S:
            cutoff = points[-1].t - SPAN_S
            points = [p for p in points if p.t >= cutoff]
        x0 = points[0].t if points else 0
        x1 = max(x0 + MIN_SPAN_S, points[-1].t if points else 0)
        xs = [p.t for p in points]
        columns = list(zip(*(self.values(p) for p in points), strict=True)) if points else []
        y_max = max((max(c) for c in columns), default=0.0)
        y_max = _nice_ceiling(y_max * 1.1) if y_max > 0 else 1.0
        self.clear()
        self.set_xlimits(x0, x1)
        self.set_ylimits(0.0, y_max)
        for (_, colour), ys in zip(self.SERIES, columns, strict=False):
            for seg_x, seg_y in self.segments(points, xs, ys):
                self.plot(
                    seg_x, seg_y, line_style=CHART_COLOURS[colour], hires_mode=HiResMode.BRAILLE
                )
        # Paused spans: a strip along the top, clear of the data lines.
        for start, end in _spans([p.t for p in points if p.paused]):
            self.plot(
                [start, end + 1],
                [y_max, y_max],
                line_style=CHART_COLOURS["paused"],
                hires_mode=HiResMode.HALFBLOCK,
            )


class RpsChart(TimeChart):
    SERIES = (("requests/s", "rps"), ("errors/s", "errors"))
    TITLE = "Throughput"
    Y_LABEL = "req/s"

    def values(self, point: TimelinePoint) -> tuple[float, ...]:
        return (point.rps, float(point.failures))


class LatencyChart(TimeChart):
    SERIES = (("p50", "p50"), ("p95", "p95"), ("p99", "p99"))
    TITLE = "Latency"
    Y_LABEL = "ms"

    def values(self, point: TimelinePoint) -> tuple[float, ...]:
        return (point.p50_ms, point.p95_ms, point.p99_ms)

    def segments(
        self, points: list[TimelinePoint], xs: list[int], ys: Sequence[float]
    ) -> list[tuple[list[int], list[float]]]:
        """Break the lines over seconds without a response: no latency is not zero latency."""
        pieces: list[tuple[list[int], list[float]]] = []
        current: tuple[list[int], list[float]] | None = None
        for point, x, y in zip(points, xs, ys, strict=True):
            if point.p99_ms <= 0:  # no response in this second
                current = None
                continue
            if current is None:
                current = ([], [])
                pieces.append(current)
            current[0].append(x)
            current[1].append(y)
        return pieces


def _spans(ticks: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive seconds: [3, 4, 5, 9] → [(3, 5), (9, 9)]."""
    spans: list[tuple[int, int]] = []
    for t in ticks:
        if spans and t == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return spans


def _nice_ceiling(x: float) -> float:
    """The next 1, 2, 2.5 or 5 × 10^n at or above x, so the top tick is round."""
    power = 10.0 ** floor(log10(x))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= x)
