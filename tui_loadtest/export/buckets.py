"""Prometheus-style histogram buckets cut from our own histogram, exactly.

The merged histograms (``stats/histogram.py``) hold whole microseconds in fixed
log-linear buckets. An exported bucket's upper bound (``le``) is always one of
their edges, so every exported count is exact: the sum of our buckets below that
edge, never an estimate and never a second histogram kept in the workers.

The bounds are the edges nearest below 0.1 ms, 0.25 ms, 0.5 ms, 1 ms, 2.5 ms and
so on up to 60 s. Edges under 1 ms fall on round values; above, an edge is a
multiple of 1/128 of its power of two, so 10 ms is exported as 0.009984 s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..stats.histogram import NBUCKETS, bucket_bounds, bucket_index

# Round bounds (µs) in 1-2.5-5 steps; each is moved down to the edge at or below it.
ROUND_BOUNDS_US = (
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
)


def edge_at_or_below(value_us: int) -> int:
    """The histogram's bucket edge (a bucket's lowest value) at or below ``value_us``."""
    return bucket_bounds(bucket_index(value_us))[0]


EDGES_US: tuple[int, ...] = tuple(edge_at_or_below(v) for v in ROUND_BOUNDS_US)
# What each edge is called: its value in seconds, as Prometheus writes ``le``.
EDGES_S: tuple[float, ...] = tuple(e / 1e6 for e in EDGES_US)


def _slot_of_bucket() -> list[int]:
    """For each of our buckets, the exported bucket it falls in: the first edge above
    all of its values (len(EDGES_US) for the +Inf bucket)."""
    slots = []
    slot = 0
    for index in range(NBUCKETS):
        low, width = bucket_bounds(index)
        top = low + width  # the bucket holds [low, top): below the edge ``top``
        while slot < len(EDGES_US) and EDGES_US[slot] < top:
            slot += 1
        slots.append(slot)
    return slots


SLOT_OF_BUCKET: list[int] = _slot_of_bucket()


def add_buckets(slots: list[int], pairs: Iterable[Sequence[int]]) -> None:
    """Add our ``(bucket, count)`` pairs into ``slots``: one count per exported bucket
    (len(EDGES_US) + 1 of them, the last one +Inf), not yet cumulative."""
    slot_of = SLOT_OF_BUCKET
    for index, count in pairs:
        slots[slot_of[index]] += count


def cumulative(slots: Sequence[int]) -> list[int]:
    """Per-bucket counts to Prometheus' cumulative ones (``le`` includes all below)."""
    out, running = [], 0
    for n in slots:
        running += n
        out.append(running)
    return out
