"""The "Performance Baseline Report": the guide's layout, filled from a stored baseline.

Header (baseline ID, generated, test duration, total requests, concurrent
users), the overall summary with its rating, the endpoint table, and the
numbered recommendations. The summary lines and the endpoint table are the
ones the end-of-run summary prints, so both read the same.
"""

from __future__ import annotations

from ..ratings import rate_error_rate, rate_response_ms
from ..stats.result import RunResult
from ..store.records import Baseline
from .fit import PIPED_WIDTH, fit_lines, rule
from .formatting import fmt_int
from .recommendations import numbered, recommend
from .text import endpoint_table, figures_text, overall_lines, stream_table, users_line
from .throughput import throughput_rating


def rating_line(result: RunResult) -> str:
    """The guide's three bands in one line: response time (P95), error rate, throughput."""
    s = result.summary
    throughput, why = throughput_rating(result)
    return (
        f"Rating: response time {rate_response_ms(s.latency.p95).label}"
        f", error rate {rate_error_rate(s.error_rate).label}"
        f", throughput {throughput.label}" + (f" ({why})" if why else "")
    )


def baseline_report(baseline: Baseline, width: int | None = None) -> str:
    """The report in the guide's layout, or fitted to ``width`` columns (a terminal's)."""
    result = baseline.result
    s = result.summary
    fits = width or PIPED_WIDTH
    heavy, thin = rule("=", fits), rule("-", fits)
    lines = [
        heavy,
        "Performance Baseline Report",
        heavy,
        f"Baseline ID: {baseline.name}",
        f"Generated: {baseline.created_at}",
        f"Test Duration: {result.duration_s:.2f} seconds",
        f"Total Requests: {fmt_int(s.requests)}",
        f"Concurrent Users: {users_line(result)}",  # planned, and reached
        "",
        "Overall Summary",
        thin,
        *overall_lines(result),
        *([f"Time to First Byte: {figures_text(s.ttfb)}"] if s.ttfb is not None else []),
        rating_line(result),
        "",
        "Endpoint Performance",
        thin,
        *endpoint_table(result, fits),
        "",
        *(["Streams", thin, *streams, ""] if (streams := stream_table(result, fits)) else []),
        "Recommendations",
        thin,
        *numbered(recommend(result)),
    ]
    return "\n".join(lines if width is None else fit_lines(lines, width))
