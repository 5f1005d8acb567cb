"""Number formatting shared by every text view, so figures read the same everywhere."""

from __future__ import annotations


def fmt_ms(ms: float) -> str:
    """Milliseconds with precision that suits the magnitude: 0.42, 4.21, 42.1, 421."""
    if ms < 1:
        return f"{ms:.2f}"
    if ms < 10:
        return f"{ms:.2f}"
    if ms < 100:
        return f"{ms:.1f}"
    return f"{ms:.0f}"


def fmt_rate(rps: float) -> str:
    return f"{rps:,.1f}" if rps < 100 else f"{rps:,.0f}"


def fmt_pct(fraction: float) -> str:
    return f"{fraction * 100:.2f}%"


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def fmt_clock(seconds: float) -> str:
    """1m05s, 45s, 1h02m03s: a compact clock for progress lines."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    if m:
        return f"{m}m{sec:02d}s"
    return f"{sec}s"


def endpoint_label(method: str, name: str) -> str:
    """The Endpoint column: the name without a leading method already shown beside it."""
    prefix = method + " "
    return name[len(prefix) :] if name.startswith(prefix) else name


def fmt_threshold_value(metric: str, value: float) -> str:
    """A measured threshold value in its metric's unit: 118 ms, 0.0231 = 2.31%, 52.0 req/s."""
    if metric in ("error_rate", "iteration_failure_rate", "checks"):
        return f"{value:.4g} = {fmt_pct(value)}"
    if metric == "rps_min":
        return f"{fmt_rate(value)} req/s"
    return f"{fmt_ms(value)} ms"


def threshold_measured(metric: str, value: float | None) -> str:
    """What a threshold line says was seen: ``measured 118 ms`` or ``not measured``."""
    if value is None:
        what = (
            "iterations"
            if metric.startswith("iteration")
            else "checks ran"
            if metric == "checks"
            else "responses"
        )
        return f"not measured: no {what}"
    return f"measured {fmt_threshold_value(metric, value)}"
