"""How often a worker's cyclic garbage collector runs.

CPython collects its youngest generation every 700 container allocations. A worker
running Python per request (scripts, locustfiles) allocates a few dozen objects a
request, most freed at once by reference counting, so the collector ran every few
dozen requests to walk objects that were never garbage: 6 % of the CPU of the
journey benchmark (bench/journeys, as a script and as a locustfile). A larger first
threshold keeps its cost out of the hot path; what is imported before the load
starts is frozen out of every collection.
"""

from __future__ import annotations

import gc

FIRST_THRESHOLD = 10_000  # container allocations between young collections (CPython: 700)


def tune_gc() -> None:
    """In a worker, before its load starts."""
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_THRESHOLD, second, third)
