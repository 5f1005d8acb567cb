"""The resources panel: a small chart per watched series (``--monitor-pid``,
``--scrape``, ``[monitor]``), each titled with its latest value.

Drawn with the same braille renderer as the throughput and latency charts;
a series' samples land on the run's seconds. Charts are added as series first
appear and redrawn only when a series gained a point.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...report.resources import fmt_resource
from ...stats.model import TimelinePoint
from ...stats.resources import ResourceSeries
from .charts import MIN_SPAN_S, render_chart

CHART_COLOUR = "#88c0d0"
MIB = 1024.0 * 1024.0


class SeriesChart(Widget, can_focus=False):
    """One series over time."""

    DEFAULT_CSS = """
    SeriesChart {
        height: 9;
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1 0 0;
    }
    """

    def __init__(self, series: ResourceSeries, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.series = series
        self._axis_s: float = MIN_SPAN_S

    def show(self, series: ResourceSeries, planned_s: float | None, done: bool) -> None:
        if series == self.series and self.border_title:
            return
        self.series = series
        rate = " per second" if series.kind == "rate" else ""
        scale = " (MiB)" if series.unit == "bytes" else ""
        self.border_title = (
            f"{series.label}{rate}{scale}  [b]{fmt_resource(series.last, series.unit)}[/]"
        )
        self.border_subtitle = series.source
        last = series.points[-1][0] if series.points else 0.0
        if done:
            self._axis_s = max(1.0, last)
        else:
            self._axis_s = max(last, planned_s or MIN_SPAN_S)
        self.refresh()

    def render(self) -> Text:
        size = self.content_size
        points = [_point(t) for t, _ in self.series.points]
        scale = MIB if self.series.unit == "bytes" else 1.0
        values = [(v / scale,) for _, v in self.series.points]
        return render_chart(
            points,
            values,
            [False] * len(points),
            [CHART_COLOUR],
            size.width,
            size.height,
            self._axis_s,
        )


def _point(t: float) -> TimelinePoint:
    """The chart renderer places points by their second; a sample's own time is kept."""
    return TimelinePoint(
        t=round(t), requests=0, failures=0, users=0, p50_ms=0.0, p95_ms=0.0, p99_ms=0.0
    )


class ResourcesView(VerticalScroll):
    """Every watched series, a chart each, in the order they first appeared."""

    DEFAULT_CSS = """
    ResourcesView {
        border: round #88c0d0;
        border-title-color: $text;
        border-title-style: bold;
        height: 1fr;
        layout: grid;
        grid-size: 2;
        grid-rows: 9;
    }
    ResourcesView.-one-column { grid-size: 1; }
    ResourcesView > #resources-empty { color: $text-muted; padding: 1 2; column-span: 2; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Resources"
        self.border_subtitle = "r: back to the live panels"
        self._charts: dict[str, SeriesChart] = {}

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(
            "Nothing watched: --monitor-pid PID, --scrape URL or a [monitor] table add series.",
            id="resources-empty",
        )

    def show(self, series: tuple[ResourceSeries, ...], planned_s: float | None, done: bool) -> None:
        self.set_class(self.size.width < 120, "-one-column")
        new = [s for s in series if s.key not in self._charts]
        if new:
            self.query_one("#resources-empty").display = False
            charts = [SeriesChart(s) for s in new]
            for s, chart in zip(new, charts, strict=True):
                self._charts[s.key] = chart
            self.mount_all(charts)
        for s in series:
            self._charts[s.key].show(s, planned_s, done)
