"""Round axis ticks, shared by the HTML report's SVG charts and the dashboard's charts.

Both scale a value axis to a round top (1, 2, 2.5 or 5 × 10^n) so the gridlines
read as whole numbers: 0, 20, 40 … rather than 0, 18.3, 36.6 … .
"""

from __future__ import annotations

import math

ROUND_MANTISSAS = (1.0, 2.0, 2.5, 5.0)


def nice_ceiling(x: float) -> float:
    """The next 1, 2, 2.5 or 5 × 10^n at or above ``x`` (> 0), so the top tick is round."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (*ROUND_MANTISSAS, 10.0) if m * power >= x)


def is_round(step: float) -> bool:
    """True for 1, 2, 2.5 or 5 × 10^n (up to float noise)."""
    return round(step / 10 ** math.floor(math.log10(step)), 6) in ROUND_MANTISSAS


def round_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``, about ``count`` steps: 0, 20, 40, … ."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    step = nice_ceiling(top / count)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def even_ticks(top: float, most: int, rows: int = 0) -> list[float]:
    """0, step, 2·step … ``top`` (itself round): round steps, at most ``most`` of them,
    preferring a count that spaces the ticks evenly over a ``rows``-row plot."""
    counts = [n for n in (10, 5, 4, 2, 1) if n <= max(1, most) and is_round(top / n)] or [1]
    even = [n for n in counts if n >= 3 and rows > 1 and (rows - 1) % n == 0]
    n = (even or counts)[0]
    return [top * i / n for i in range(n + 1)]


def tick_text(v: float) -> str:
    """1,500 or 2.5: whole numbers with separators, others without trailing zeros."""
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")
