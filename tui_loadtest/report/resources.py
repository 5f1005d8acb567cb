"""The watched resources as text: one row per series (min, mean, max), and how each
source went. Listed, never judged: a threshold naming a series is what judges it."""

from __future__ import annotations

from ..stats.resources import ResourceSeries
from ..stats.result import RunResult
from .formatting import fmt_bytes


def fmt_resource(value: float | None, unit: str) -> str:
    """A series' value with its unit: 1.2 GiB, 37.5 %, 1,204/s, 12."""
    if value is None:
        return "n/a"
    if unit == "bytes":
        return fmt_bytes(value)
    if unit == "%":
        return f"{value:.1f} %"
    text = f"{value:,.1f}" if abs(value) < 1000 and value != int(value) else f"{value:,.0f}"
    if abs(value) < 10 and value != int(value):
        text = f"{value:.3g}"
    return text + ("/s" if unit == "/s" else "")


def resource_rows(series: list[ResourceSeries]) -> list[tuple[str, str, str, str]]:
    """(label, min, mean, max) per series."""
    return [
        (
            s.label + (" (per s)" if s.kind == "rate" else ""),
            fmt_resource(s.min, s.unit),
            fmt_resource(s.mean, s.unit),
            fmt_resource(s.max, s.unit),
        )
        for s in series
    ]


def source_notes(result: RunResult) -> list[str]:
    """A line per source that did not go well: failed scrapes, a process that exited."""
    notes = []
    for source in result.monitor.get("sources", []):
        if source.get("kind") == "scrape" and source.get("failures"):
            notes.append(
                f"scrape {source.get('url')}: {source['failures']} of {source.get('scrapes')} "
                "scrapes failed (events, not failed requests)"
            )
        elif source.get("kind") == "pid" and source.get("exited"):
            notes.append(
                f"process {source.get('pid')} ({source.get('name')}) exited during the run"
            )
    return notes


def resource_lines(result: RunResult) -> list[str]:
    """The text summary's "Resources" section (empty when nothing was watched)."""
    if not result.resources and not result.monitor:
        return []
    rows = resource_rows(result.resources)
    width = max([len(r[0]) for r in rows] + [8])
    lines = [f"{'Series':<{width}}  {'Min':>12} {'Mean':>12} {'Max':>12}"]
    lines += [f"{label:<{width}}  {lo:>12} {mean:>12} {hi:>12}" for label, lo, mean, hi in rows]
    if not rows:
        lines = ["No series recorded."]
    return lines + source_notes(result)
