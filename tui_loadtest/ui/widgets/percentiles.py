"""Latency percentiles for the recent window and the whole run, side by side.

Each figure is coloured by the guide's response-time bands. On arrival-rate
runs the panel shows either the corrected latency (from each request's intended
start, the default) or the service time (from when it was sent); ``c`` toggles.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ...report.formatting import fmt_int, fmt_ms
from ...stats.model import Latency, Snapshot
from ..style import NOT_AVAILABLE, TONE_COLOURS, ms_tone

ROWS = (
    ("p50", "p50"),
    ("p90", "p90"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("p99.9", "p999"),
    ("max", "max"),
)
VALUE_WIDTH = 11  # "12345.0 ms" plus a space: digits may grow without moving anything
LABEL_WIDTH = 6


class PercentilePanel(Static):
    """p50 … max for the last few seconds and for the whole run."""

    DEFAULT_CSS = """
    PercentilePanel {
        height: auto;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.view = "corrected"  # or "service" (open model only)
        self._snap: Snapshot | None = None
        self._last: tuple | None = None
        self._laid_out = False
        self.border_title = "Latency"

    def on_resize(self) -> None:
        if self._snap is not None:
            self.show(self._snap)

    @property
    def has_service(self) -> bool:
        return self._snap is not None and self._snap.total.service is not None

    def toggle_view(self) -> bool:
        """Switch corrected/service time; False when the run has no service figures."""
        if not self.has_service:
            return False
        self.view = "service" if self.view == "corrected" else "corrected"
        if self._snap is not None:
            self.show(self._snap)
        return True

    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        service = self.has_service and self.view == "service"
        window = (snap.window.service if service else None) or snap.window.latency
        total = (snap.total.service if service else None) or snap.total.latency
        if snap.total.service is None:
            title = "Latency"
        elif service:
            title = "Latency · service time"  # from when each request was sent
        else:
            title = "Latency · corrected"  # from each request's intended start
        col = max(VALUE_WIDTH, (self.content_region.width - LABEL_WIDTH) // 2)
        key = (title, window, total, snap.window_s, snap.window.requests, snap.total.requests, col)
        if key == self._last:
            return
        self._last = key
        self.border_title = title
        if snap.total.service is None:
            self.border_subtitle = ""
        else:
            self.border_subtitle = "c: corrected" if service else "c: service time"
        # Always the same rows: repaint only, no layout pass over the whole screen.
        self.update(_table(window, total, snap, col), layout=not self._laid_out)
        self._laid_out = True


def _table(window: Latency, total: Latency, snap: Snapshot, w: int) -> Text:
    """Fixed-width columns laid out by hand (cheaper than a rich Table every second)."""
    text = Text(no_wrap=True)
    text.append(
        f"{'':<{LABEL_WIDTH}}{f'last {snap.window_s} s':>{w}}{'whole run':>{w}}", "bold dim"
    )
    # NaN (a figure the source does not report) counts as data: it reads n/a, not "–".
    w_has, t_has = not window.max <= 0, not total.max <= 0
    for label, attr in ROWS:
        text.append("\n")
        text.append(f"{label:<{LABEL_WIDTH}}", "bold")
        text.append_text(_value(getattr(window, attr), w_has, w))
        text.append_text(_value(getattr(total, attr), t_has, w))
    text.append("\n")
    counts = f"{fmt_int(snap.window.requests):>{w}}{fmt_int(snap.total.requests):>{w}}"
    text.append(f"{'count':<{LABEL_WIDTH}}{counts}", "dim")
    return text


def _value(ms: float, has_data: bool, width: int) -> Text:
    if not has_data:
        return Text(f"{'– ms':>{width}}", style=TONE_COLOURS["none"])
    if math.isnan(ms):
        return Text(f"{NOT_AVAILABLE:>{width}}", style=TONE_COLOURS["none"])
    return Text(f"{fmt_ms(ms) + ' ms':>{width}}", style=TONE_COLOURS[ms_tone(ms)])
