"""KPI tiles: the few figures an engineer glances at first.

Closed model: req/s now, total requests, active/target users, error rate and
the recent p95. Arrival-rate (open) model: achieved vs target rate, requests in
flight, dropped arrivals and generator lag take the users' place. Once the run
is over every tile shows the whole run's figure, from the result the summary
beside them shows (users: reached of planned), so the end screen never shows
two figures for one thing.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static

from ...report.formatting import fmt_int, fmt_ms, fmt_pct, fmt_rate
from ...stats.model import Snapshot
from ...stats.result import RunResult
from ..style import TONE_COLOURS, error_tone, ms_tone


class KpiTile(Static):
    """One figure, large and right-aligned, with a line of context under it."""

    DEFAULT_CSS = """
    KpiTile {
        height: 4;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        padding: 0 1;
        text-align: right;
    }
    KpiTile.-bad { border: round #ff5f5f; }
    KpiTile.-warn { border: round #f5c542; }
    """

    def __init__(self, title: str, *, id: str) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.border_title = title
        self._last: tuple | None = None

    def show(self, value: str, sub: str = "", tone: str = "", sub_tone: str = "") -> None:
        key = (value, sub, tone, sub_tone)
        if key == self._last:
            return
        self._last = key
        text = Text(justify="right", no_wrap=True, overflow="ellipsis")
        text.append(value, style=f"bold {TONE_COLOURS.get(tone, '')}".strip())
        text.append("\n")
        text.append(sub, style=TONE_COLOURS.get(sub_tone, "") or "dim")
        self.update(text, layout=False)  # fixed height: repaint only
        for t in ("bad", "warn"):
            self.set_class(tone == t, f"-{t}")


def by_class(counts: tuple[tuple[str, int], ...], width: int) -> str:
    """A locustfile's users by class, the most numerous first, as many as fit."""
    shown = ""
    ranked = sorted(counts, key=lambda c: (-c[1], c[0]))
    for i, (name, n) in enumerate(ranked):
        part = f"{fmt_int(n)} {name}"
        candidate = f"{shown} · {part}" if shown else part
        rest = len(ranked) - i - 1
        if len(candidate) + (len(f" +{rest}") if rest else 0) > width:
            return f"{shown} +{len(ranked) - i}" if shown else candidate[: width - 1] + "…"
        shown = candidate
    return shown


class KpiBar(Grid):
    """The row of tiles; arrival-rate tiles are shown only for arrival-rate runs."""

    DEFAULT_CSS = """
    KpiBar {
        height: auto;
        grid-size: 5;
        grid-gutter: 0 1;
        padding: 0 1;
    }
    KpiBar.-open { grid-size: 7; }
    KpiBar .-open-only { display: none; }
    KpiBar.-open .-open-only { display: block; }
    KpiBar.-open .-closed-only { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield KpiTile("Req/s now", id="kpi-rps")
        yield KpiTile("Requests", id="kpi-requests")
        users = KpiTile("Users", id="kpi-users")
        users.add_class("-closed-only")
        yield users
        inflight = KpiTile("In flight", id="kpi-inflight")
        inflight.add_class("-open-only")
        yield inflight
        yield KpiTile("Error rate", id="kpi-errors")
        yield KpiTile("p95 now", id="kpi-p95")
        dropped = KpiTile("Dropped", id="kpi-dropped")
        dropped.add_class("-open-only")
        yield dropped
        lag = KpiTile("Lag p99", id="kpi-lag")
        lag.add_class("-open-only")
        yield lag

    def show(self, snap: Snapshot, state: str, result: RunResult | None = None) -> None:
        """The live figures, or once ``result`` exists (the run is over) the run's."""
        is_open = snap.mode == "arrival-rate"
        self.set_class(is_open, "-open")
        if result is not None:
            self._show_result(result, is_open)
            return
        tile = self.query_one
        total, window = snap.total, snap.window
        w = snap.window_s

        rps = tile("#kpi-rps", KpiTile)
        if is_open and snap.rate_target is not None and state != "done":
            rps.border_title = "Rate / target"
            short = snap.current_rps < snap.rate_target * 0.95 and state == "running"
            rps.show(
                f"{fmt_rate(snap.current_rps)} / {fmt_rate(snap.rate_target)} /s",
                f"avg {fmt_rate(total.rps)}/s",
                tone="warn" if short else "",
            )
        elif state == "done":
            rps.border_title = "Req/s avg"
            rps.show(f"{fmt_rate(total.rps)} req/s", "whole run")
        else:
            rps.border_title = "Req/s now"
            rps.show(f"{fmt_rate(snap.current_rps)} req/s", f"avg {fmt_rate(total.rps)}/s")

        tile("#kpi-requests", KpiTile).show(
            fmt_int(total.requests),
            f"{fmt_int(total.failures)} failed",
            sub_tone="bad" if total.failures else "",
        )

        if state in ("stopping", "done"):
            users_sub = state
        elif state == "paused":
            users_sub = "paused"
        elif snap.users_active < snap.users_target:
            users_sub = f"ramping to {fmt_int(snap.users_target)}"
        elif snap.users_active > snap.users_target:
            users_sub = f"winding down to {fmt_int(snap.users_target)}"
        else:
            users_sub = "all running"
        users = tile("#kpi-users", KpiTile)
        if users_sub == "all running" and len(snap.users_by_class) > 1:
            users_sub = by_class(snap.users_by_class, max(12, users.size.width - 4) or 26)
        users.border_title = "Users"
        users.show(f"{fmt_int(snap.users_active)} / {fmt_int(snap.users_target)}", users_sub)
        if is_open:
            inflight = tile("#kpi-inflight", KpiTile)
            inflight.border_title = "In flight"
            inflight.show(fmt_int(snap.users_active), f"max {fmt_int(snap.users_target)}")

        has_requests = total.requests > 0
        over = state == "done"  # the window's last seconds are no longer "now"
        tile("#kpi-errors", KpiTile).show(
            fmt_pct(total.error_rate),
            "whole run" if over else f"now {fmt_pct(window.error_rate)}",
            tone=error_tone(total.error_rate, has_requests),
            sub_tone="" if over else error_tone(window.error_rate, window.requests > 0),
        )

        lat = total.latency if over else window.latency
        has_lat = not lat.max <= 0  # NaN: the source does not report it (n/a), not "none"
        p95 = tile("#kpi-p95", KpiTile)
        p95.border_title = "p95 whole run" if over else "p95 now"
        p95.show(
            f"{fmt_ms(lat.p95)} ms" if has_lat else "– ms",
            (f"p99 {fmt_ms(lat.p99)} ms" if lat.p99 == lat.p99 else "p99 n/a")
            if has_lat
            else "no responses",
            tone=ms_tone(lat.p95, has_lat),
            sub_tone=ms_tone(lat.p99, has_lat),
        )

        if is_open:
            tile("#kpi-dropped", KpiTile).show(
                fmt_int(total.dropped),
                f"last {w}s {fmt_int(window.dropped)}",
                tone="warn" if window.dropped else "",
            )
            lag_ms = snap.lag.p99 if snap.lag is not None else 0.0
            tile("#kpi-lag", KpiTile).show(
                f"{fmt_ms(lag_ms)} ms", "behind schedule", tone=ms_tone(lag_ms)
            )

    def _show_result(self, result: RunResult, is_open: bool) -> None:
        """The whole run's figures, as the summary states them."""
        tile = self.query_one
        s = result.summary
        rps = tile("#kpi-rps", KpiTile)
        rps.border_title = "Req/s avg"
        rps.show(f"{fmt_rate(s.rps)} req/s", "whole run")
        tile("#kpi-requests", KpiTile).show(
            fmt_int(s.requests),
            f"{fmt_int(s.failures)} failed",
            sub_tone="bad" if s.failures else "",
        )
        users = result.outcome.get("users")
        counted = users if isinstance(users, dict) and "peak" in users else {}
        planned = int(counted.get("planned") or result.load.get("users") or 0)
        peak, average = int(counted.get("peak") or 0), float(counted.get("average") or 0)
        users_tile = tile("#kpi-users", KpiTile)
        users_tile.border_title = "Users reached" if counted else "Users"
        if counted:
            users_tile.show(f"{fmt_int(peak)} of {fmt_int(planned)}", f"avg {average:,.1f}")
        else:  # a result that does not say what it reached
            users_tile.show(fmt_int(planned), "planned")
        inflight = tile("#kpi-inflight", KpiTile)
        inflight.border_title = "In flight max"
        inflight.show(fmt_int(peak), f"avg {average:,.1f}")
        has_requests = s.requests > 0
        errors = tile("#kpi-errors", KpiTile)
        errors.show(fmt_pct(s.error_rate), "whole run", tone=error_tone(s.error_rate, has_requests))
        lat = s.latency
        has_lat = result.histogram.total > 0
        p95 = tile("#kpi-p95", KpiTile)
        p95.border_title = "p95 whole run"
        p95.show(
            f"{fmt_ms(lat.p95)} ms" if has_lat else "– ms",
            f"p99 {fmt_ms(lat.p99)} ms" if has_lat else "no responses",
            tone=ms_tone(lat.p95, has_lat),
            sub_tone=ms_tone(lat.p99, has_lat),
        )
        if is_open:
            tile("#kpi-dropped", KpiTile).show(
                fmt_int(s.dropped), "whole run", tone="warn" if s.dropped else ""
            )
            lag = result.lag
            lag_ms = lag.p99 if lag is not None else 0.0
            lag_tile = tile("#kpi-lag", KpiTile)
            lag_tile.show(f"{fmt_ms(lag_ms)} ms", "whole run", tone=ms_tone(lag_ms))
