"""Whether a run's throughput says anything about the target, and its rating if so.

The guide's bands (> 1000 req/s excellent … < 100 needs scaling) judge a target
that was pushed. A light run with think time is not: 10 users thinking 1 s between
requests make 10 req/s whatever the target, and "needs scaling" there is noise.
So the throughput is rated only when the load could have produced more:

- users (closed model): when they spent at least half their time waiting for
  responses (:func:`tui_loadtest.ratings.waiting_share`), the target's pace set
  the throughput; below that, think time (or the script's own work) did;
- arrival rate (open model): when arrivals were dropped, the target could not
  keep up with the rate asked for; otherwise the throughput is that rate.

Otherwise the rating reads "set by the load", with the reason.
"""

from __future__ import annotations

from ..ratings import NOT_RATED, WAITING_SHARE, Rating, rate_throughput, waiting_share
from ..stats.result import RunResult


def throughput_rating(result: RunResult) -> tuple[Rating, str]:
    """(the rating, or ``NOT_RATED``; why it was not rated, else "")."""
    s = result.summary
    rated = rate_throughput(s.rps)
    if s.requests == 0:
        return rated, ""
    if result.open_model or result.load.get("mode") == "arrival-rate":
        if s.dropped:
            return rated, ""
        return NOT_RATED, "the arrival rate asked for was sent in full, none dropped"
    users = result.outcome.get("users")
    average = float(users.get("average") or 0) if isinstance(users, dict) else 0.0
    share = waiting_share(s.rps, s.latency.mean, average or float(result.load.get("users") or 0))
    if share >= WAITING_SHARE:
        return rated, ""
    return NOT_RATED, f"users waited for responses {share:.0%} of the time; think time set the pace"
