"""What a run's result takes from its merged seconds (:class:`RunAggregate`).

A live run (``engine/coordinator.py``) and a run rebuilt from a ``--stream`` file
(``export/replay.py``) feed the same aggregate; these read it the same way, so the two
results agree figure for figure.
"""

from __future__ import annotations

from typing import Any

from .aggregate import RunAggregate
from .result import EndpointResult, FlowResult, warmup_section


def measured_figures(agg: RunAggregate) -> dict[str, Any]:
    """The measured part of a :class:`RunResult`'s fields: totals, histograms, rows,
    errors, checks and the timeline past the warm-up (time under load: pauses out)."""
    duration = agg.rate_s
    total = agg.total_span()
    warm = len([p for p in agg.timeline if p.warmup])
    stream = total.stream
    return {
        "duration_s": duration,
        "summary": total.stats(duration, agg.dropped),
        "histogram": total.hist,
        "service_histogram": total.service,
        "ttfb_histogram": total.ttfb,
        "ttft_histogram": stream.ttft if stream is not None else None,
        "gap_histogram": stream.gaps if stream is not None else None,
        "per_second_service": agg.per_second_service_buckets[warm:],
        "lag_histogram": agg.lag if agg.open_model else None,
        "endpoints": [
            EndpointResult(
                method,
                name,
                span.stats(duration),
                span.hist,
                span.service,
                span.ttfb,
                span.stream.ttft if span.stream is not None else None,
                span.stream.gaps if span.stream is not None else None,
                group,
            )
            for (method, name), span, group in zip(
                agg.endpoint_keys, agg.cumulative, agg.endpoint_groups, strict=True
            )
        ],
        "flows": [
            FlowResult(name, span.stats(duration), span.hist, span.service, group)
            for name, span, group in zip(agg.flow_names, agg.flows, agg.flow_groups, strict=True)
        ],
        "errors": agg.error_rows(),
        "checks": agg.check_stats(),
        "timeline": [p for p in agg.timeline if not p.warmup],
        "per_second": agg.per_second_buckets[warm:],
    }


def warmup_figures(agg: RunAggregate, planned_s: float | None) -> dict[str, Any]:
    """The report's ``warmup`` section: the warm-up's own figures ({} without one)."""
    if not agg.warmup_ticks:
        return {}
    d = agg.warmup_active_s
    return warmup_section(
        duration_s=agg.warmup_wall_s,
        planned_s=planned_s,
        summary=agg.total_span(warmup=True).stats(d),
        endpoints=[
            (method, name, span.stats(d))
            for (method, name), span in zip(agg.endpoint_keys, agg.warmup_cumulative, strict=True)
        ],
        errors=agg.error_rows(warmup=True),
        timeline=[p for p in agg.timeline if p.warmup],
    )


def users_seen(agg: RunAggregate) -> dict[str, Any]:
    """The report's ``outcome.users`` but the planned count: the peak, the average and,
    for a locustfile, the most of each class at once."""
    return {
        "peak": agg.users_peak,
        "average": round(agg.users_average, 1),
        **({"by_class": dict(agg.class_peaks)} if agg.class_peaks else {}),
    }
