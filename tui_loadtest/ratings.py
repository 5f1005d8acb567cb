"""The rating bands users read results by (from the guide the project grew from).

Each band is (upper limit, label, tone). ``tone`` is what colour-coded views use:
"good", "ok", "warn" or "bad".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rating:
    label: str
    tone: str  # "good", "ok", "warn", "bad"


EXCELLENT = Rating("excellent", "good")

_RESPONSE_MS = (
    (100.0, Rating("excellent", "good")),
    (500.0, Rating("good", "ok")),
    (1000.0, Rating("acceptable", "warn")),
)
_RESPONSE_WORST = Rating("needs optimization", "bad")

_ERROR_RATE = (
    (0.001, Rating("excellent", "good")),
    (0.01, Rating("good", "ok")),
    (0.05, Rating("acceptable", "warn")),
)
_ERROR_WORST = Rating("needs investigation", "bad")

# Every label a run's overall rating (the worse of its P95's and its error rate's) can have.
OVERALL_LABELS = tuple(
    dict.fromkeys(
        r.label
        for r in (*(r for _, r in _RESPONSE_MS), _RESPONSE_WORST,
                  *(r for _, r in _ERROR_RATE), _ERROR_WORST)
    )
)  # fmt: skip


def rate_response_ms(ms: float) -> Rating:
    """< 100 ms excellent, 100-500 good, 500-1000 acceptable, > 1000 needs optimization."""
    for limit, rating in _RESPONSE_MS:
        if ms < limit:
            return rating
    return rating if ms == 1000.0 else _RESPONSE_WORST


def rate_error_rate(fraction: float) -> Rating:
    """< 0.1 % excellent, 0.1-1 % good, 1-5 % acceptable, > 5 % needs investigation."""
    for limit, rating in _ERROR_RATE:
        if fraction < limit:
            return rating
    return rating if fraction == 0.05 else _ERROR_WORST


def rate_throughput(rps: float) -> Rating:
    """> 1000 req/s excellent, 500-1000 good, 100-500 acceptable, < 100 needs scaling."""
    if rps > 1000:
        return Rating("excellent", "good")
    if rps >= 500:
        return Rating("good", "ok")
    if rps >= 100:
        return Rating("acceptable", "warn")
    return Rating("needs scaling", "bad")


# Throughput is rated only when the target set its pace: when the users spent at least
# this share of their time waiting for responses (docs: "How throughput is rated").
WAITING_SHARE = 0.5
NOT_RATED = Rating("set by the load", "none")


def waiting_share(rps: float, mean_response_ms: float, users: float) -> float:
    """The share of the users' time spent waiting for responses, by Little's law (the
    requests in flight, on average, are the throughput times the mean response time);
    the rest went to think time or a script's own work. 1 when no users are known."""
    if users <= 0 or mean_response_ms != mean_response_ms:  # NaN: not recorded
        return 1.0
    return min(1.0, rps * mean_response_ms / 1000 / users)


def bands() -> dict[str, list[dict[str, object]]]:
    """The three scales as data (``serve``'s /info): each band's label, tone and upper
    limit (response time in ms, error rate as a fraction); throughput bands are lower
    limits in req/s."""
    return {
        "response_time_ms": [
            *({"below": limit, "label": r.label, "tone": r.tone} for limit, r in _RESPONSE_MS),
            {"below": None, "label": _RESPONSE_WORST.label, "tone": _RESPONSE_WORST.tone},
        ],
        "error_rate": [
            *({"below": limit, "label": r.label, "tone": r.tone} for limit, r in _ERROR_RATE),
            {"below": None, "label": _ERROR_WORST.label, "tone": _ERROR_WORST.tone},
        ],
        "throughput_rps": [
            {"from": 1000, "label": "excellent", "tone": "good"},
            {"from": 500, "label": "good", "tone": "ok"},
            {"from": 100, "label": "acceptable", "tone": "warn"},
            {"from": 0, "label": "needs scaling", "tone": "bad"},
        ],
    }
