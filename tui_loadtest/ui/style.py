"""Colours and cell formatting shared by every panel, so a figure reads the same everywhere.

Tones come from :mod:`tui_loadtest.ratings` (the guide's bands); each maps to one
colour. Numbers are right-aligned and padded to a fixed width by the widgets that
show them, so nothing jumps around as digits change.
"""

from __future__ import annotations

import math

from rich.console import JustifyMethod
from rich.text import Text

from ..ratings import rate_error_rate, rate_response_ms
from ..report.formatting import fmt_int, fmt_ms, fmt_pct, fmt_rate

TONE_COLOURS = {
    "good": "#4ec97b",  # excellent
    "ok": "#a6d96a",  # good
    "warn": "#f5c542",  # acceptable
    "bad": "#ff5f5f",  # needs attention
    "none": "#8a8f98",  # no data yet
}

STATE_COLOURS = {
    "starting": "#8a8f98",
    "ramping": "#56b6f7",
    "warming up": "#e5c07b",
    "running": "#4ec97b",
    "paused": "#f5c542",
    "stopping": "#ff9e4a",
    "done": "#b48ead",
}

CHART_COLOURS = {
    "rps": "#56b6f7",
    "errors": "#ff5f5f",
    "p50": "#4ec97b",
    "p95": "#f5c542",
    "p99": "#ff7a7a",
    "paused": "#f5c542",
}


def ms_tone(ms: float, has_data: bool = True) -> str:
    """The tone of a response time: < 100 ms good ... > 1000 ms bad."""
    return rate_response_ms(ms).tone if has_data else "none"


def error_tone(fraction: float, has_data: bool = True) -> str:
    """The tone of an error rate: < 0.1 % good ... > 5 % bad."""
    return rate_error_rate(fraction).tone if has_data else "none"


def toned(text: str, tone: str, *, bold: bool = False, justify: JustifyMethod = "right") -> Text:
    style = TONE_COLOURS.get(tone, "")
    if bold:
        style = f"bold {style}"
    return Text(text, style=style, justify=justify)


class Cell(Text):
    """A right-aligned table cell that remembers the number it shows, for sorting."""

    def __init__(
        self, text: str, value: float | str, style: str = "", justify: JustifyMethod = "right"
    ) -> None:
        super().__init__(text, style=style, justify=justify, no_wrap=True, overflow="ellipsis")
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Cell)
            and self.plain == other.plain
            and self.value == other.value
            and str(self.style) == str(other.style)
        )

    __hash__ = None  # type: ignore[assignment]


NOT_AVAILABLE = "n/a"  # a figure the source does not report (NaN in a Snapshot)


def ms_cell(ms: float, has_data: bool = True, unit: bool = False) -> Cell:
    if has_data and math.isnan(ms):  # not reported by the source (e.g. Locust): never made up
        return Cell(NOT_AVAILABLE, -1.0, TONE_COLOURS["none"])
    text = (fmt_ms(ms) + (" ms" if unit else "")) if has_data else "–"
    return Cell(text, ms if has_data else -1.0, TONE_COLOURS[ms_tone(ms, has_data)])


def int_cell(n: int, style: str = "") -> Cell:
    return Cell(fmt_int(n), n, style)


def rate_cell(rps: float) -> Cell:
    return Cell(fmt_rate(rps), rps)


def pct_cell(fraction: float, has_data: bool = True) -> Cell:
    return Cell(fmt_pct(fraction), fraction, TONE_COLOURS[error_tone(fraction, has_data)])


def fmt_clock_colon(seconds: float) -> str:
    """A steady-width clock: 0:07, 1:05, 1:02:03."""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def svg_for_rsvg(svg: str) -> str:
    """Make a Textual SVG screenshot render faithfully with librsvg.

    Textual pads text with no-break spaces, which librsvg draws with no width
    (right-aligned figures then look left-aligned); plain spaces with
    ``xml:space="preserve"`` keep every column where the terminal had it.
    """
    svg = svg.replace("&#160;", " ")
    return svg.replace(
        '<svg class="rich-terminal"', '<svg xml:space="preserve" class="rich-terminal"', 1
    )
