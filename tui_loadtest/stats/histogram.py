"""A fixed log-linear latency histogram, cheap to record into and exact to merge.

Values are whole microseconds. Below 256 µs every value has its own bucket; above,
each power of two is split into 128 equal buckets, so a bucket is never wider than
1/128 of its lower bound. Reporting a bucket's midpoint bounds the relative error
of any percentile at 1/256 (0.4 %), inside the 1 % we promise.

Two histograms merge by adding their bucket counts, which is what lets workers,
seconds and endpoints be combined without ever averaging percentiles.

The engine records with its own cheaper equivalent of :func:`bucket_index`
(``engine/recording.py``, whose constants derive from the ones below, and one
marked inline copy in ``engine/vuser.py``); ``tests/test_recording.py`` checks
that they agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import compress

SUB_BITS = 7  # 128 sub-buckets per power of two
SUB_COUNT = 1 << SUB_BITS
LINEAR_LIMIT = SUB_COUNT << 1  # values below this (256 µs) are exact
MAX_SHIFT = 32 - (SUB_BITS + 1)  # largest tracked value ~2**32 µs (71 minutes)
NBUCKETS = (MAX_SHIFT << SUB_BITS) + LINEAR_LIMIT  # 3328
MAX_VALUE_US = (1 << 32) - 1
_INDEXES = range(NBUCKETS)


def bucket_index(value_us: int) -> int:
    """The bucket holding ``value_us`` (clamped to the tracked range)."""
    if value_us < LINEAR_LIMIT:
        return value_us if value_us > 0 else 0
    if value_us > MAX_VALUE_US:
        value_us = MAX_VALUE_US
    shift = value_us.bit_length() - (SUB_BITS + 1)
    return (shift << SUB_BITS) + (value_us >> shift)


# The hot path reads the bucket of small values (under 65 ms) from a table
# instead of computing it: a list index is cheaper than bit_length and shifts.
LUT_SIZE = 1 << 16
_shared: dict[int, int] = {}
BUCKET_LUT: list[int] = [_shared.setdefault(b, b) for b in map(bucket_index, range(LUT_SIZE))]
del _shared


def bucket_bounds(index: int) -> tuple[int, int]:
    """The lowest value of bucket ``index`` and its width, both in µs."""
    if index < LINEAR_LIMIT:
        return index, 1
    shift = (index >> SUB_BITS) - 1
    top = index - (shift << SUB_BITS)
    return top << shift, 1 << shift


def bucket_value(index: int) -> float:
    """The value a bucket reports: its midpoint, in µs (exact for single-value buckets)."""
    low, width = bucket_bounds(index)
    return float(low) if width == 1 else low + (width - 1) / 2


class Histogram:
    """Dense bucket counts plus an exact count and sum (for the mean).

    Not used on the hot path: workers record into plain lists and ship the
    non-zero buckets; this class merges and reads them.
    """

    __slots__ = ("counts", "total", "sum_us")

    def __init__(self) -> None:
        self.counts: list[int] = [0] * NBUCKETS
        self.total = 0
        self.sum_us = 0

    # -- building ---------------------------------------------------------
    def record(self, value_us: int, count: int = 1) -> None:
        self.counts[bucket_index(value_us)] += count
        self.total += count
        self.sum_us += value_us * count

    def add_sparse(self, pairs: Iterable[Sequence[int]], sum_us: int = 0) -> int:
        """Add ``(bucket, count)`` pairs, as shipped by workers and stored in reports;
        return how many values they held (the merge needs it and need not count twice)."""
        counts = self.counts
        n = 0
        for index, count in pairs:
            counts[index] += count
            n += count
        self.total += n
        self.sum_us += sum_us
        return n

    def add_dense(self, counts: Sequence[int], sum_us: int) -> None:
        mine = self.counts
        # compress() skips the empty buckets in C: merging costs the non-zero ones only
        for index in compress(_INDEXES, counts):
            mine[index] += counts[index]
        self.total += sum(counts)
        self.sum_us += sum_us

    def merge(self, other: Histogram) -> None:
        self.add_dense(other.counts, other.sum_us)

    def copy(self) -> Histogram:
        h = Histogram()
        h.counts = self.counts.copy()
        h.total = self.total
        h.sum_us = self.sum_us
        return h

    @classmethod
    def from_sparse(cls, pairs: Iterable[Sequence[int]], sum_us: int = 0) -> Histogram:
        h = cls()
        h.add_sparse(pairs, sum_us)
        return h

    @classmethod
    def from_values(cls, values_us: Iterable[int]) -> Histogram:
        h = cls()
        for v in values_us:
            h.record(int(v))
        return h

    # -- reading ----------------------------------------------------------
    def to_sparse(self) -> list[list[int]]:
        counts = self.counts
        return [[i, counts[i]] for i in compress(_INDEXES, counts)]

    def percentiles(self, quantiles: Sequence[float]) -> list[float]:
        """Values (µs) at each quantile in ``quantiles`` (sorted ascending), in one pass.

        The value at quantile q is the smallest bucket whose cumulative count
        reaches ceil(q * total) (nearest-rank), reported at its midpoint.
        """
        total = self.total
        if total == 0:
            return [0.0] * len(quantiles)
        ranks = [max(1, min(total, _ceil(q * total))) for q in quantiles]
        out: list[float] = []
        k = 0
        seen = 0
        counts = self.counts
        for index in compress(_INDEXES, counts):
            count = counts[index]
            seen += count
            while k < len(ranks) and seen >= ranks[k]:
                out.append(bucket_value(index))
                k += 1
            if k == len(ranks):
                break
        return out

    def percentile(self, q: float) -> float:
        return self.percentiles([q])[0]

    def min(self) -> float:
        for index, count in enumerate(self.counts):
            if count:
                return bucket_value(index)
        return 0.0

    def max(self) -> float:
        counts = self.counts
        for index in range(len(counts) - 1, -1, -1):
            if counts[index]:
                return bucket_value(index)
        return 0.0

    def mean(self) -> float:
        return self.sum_us / self.total if self.total else 0.0


def _ceil(x: float) -> int:
    i = int(x)
    return i if i == x else i + 1
