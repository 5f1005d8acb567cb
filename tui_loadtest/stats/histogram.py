"""A fixed log-linear latency histogram, cheap to record into and exact to merge.

Values are whole microseconds. Below 256 µs every value has its own bucket; above,
each power of two is split into 128 equal buckets, so a bucket is never wider than
1/128 of its lower bound. Reporting a bucket's midpoint bounds the relative error
of any percentile at 1/256 (0.4 %), inside the 1 % we promise.

Two histograms merge by adding their bucket counts, which is what lets workers,
seconds and endpoints be combined without ever averaging percentiles.

The engine records with its own cheaper equivalent of :func:`bucket_index`
(``engine/recording.py``, whose constants derive from the ones below, and two
marked inline copies, in ``engine/users/plain.py`` and ``engine/users/flow.py``);
``tests/test_recording.py`` checks that they agree.
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


# A histogram keeps its non-zero buckets in a dict until a dense list of every bucket
# is the smaller of the two (a dict entry with its key costs about five list slots):
# a run with thousands of endpoints, most of them with a few dozen buckets, then
# costs kilobytes per endpoint instead of 26 KB, and merging costs the non-zero
# buckets only. Busy histograms (a long run's totals) switch to the dense list.
DENSE_AT = NBUCKETS // 5
_KEYS = list(range(NBUCKETS))  # shared bucket numbers: dict keys cost no int object each


class Histogram:
    """Bucket counts plus an exact count and sum (for the mean).

    Not used on the hot path: workers record into plain lists and ship the
    non-zero buckets; this class merges and reads them. Sparse (a dict of the
    non-zero buckets) until :data:`DENSE_AT` buckets are used, then dense; both
    read and merge the same way.
    """

    __slots__ = ("_sparse", "_dense", "total", "sum_us")

    def __init__(self) -> None:
        self._sparse: dict[int, int] = {}  # bucket -> count (> 0), while _dense is None
        self._dense: list[int] | None = None
        self.total = 0
        self.sum_us = 0

    # -- building ---------------------------------------------------------
    def record(self, value_us: int, count: int = 1) -> None:
        if not count:
            return
        index = bucket_index(value_us)
        dense = self._dense
        if dense is not None:
            dense[index] += count
        else:
            sparse = self._sparse
            sparse[_KEYS[index]] = sparse.get(index, 0) + count
            if len(sparse) > DENSE_AT:
                self._densify()
        self.total += count
        self.sum_us += value_us * count

    def add_sparse(self, pairs: Iterable[Sequence[int]], sum_us: int = 0) -> int:
        """Add ``(bucket, count)`` pairs, as shipped by workers and stored in reports;
        return how many values they held (the merge needs it and need not count twice)."""
        n = 0
        dense = self._dense
        if dense is not None:
            for index, count in pairs:
                dense[index] += count
                n += count
        else:
            sparse = self._sparse
            get = sparse.get
            for index, count in pairs:
                if count:
                    sparse[_KEYS[index]] = get(index, 0) + count
                    n += count
            if len(sparse) > DENSE_AT:
                self._densify()
        self.total += n
        self.sum_us += sum_us
        return n

    def add_dense(self, counts: Sequence[int], sum_us: int) -> None:
        """Add a full list of bucket counts (index = bucket)."""
        self.add_sparse([(i, counts[i]) for i in compress(_INDEXES, counts)], sum_us)

    def merge(self, other: Histogram) -> None:
        other_dense = other._dense
        if other_dense is None:
            self.add_sparse(other._sparse.items(), other.sum_us)
            return
        if self._dense is None:
            self._densify()
        mine = self._dense
        assert mine is not None
        # compress() skips the empty buckets in C: merging costs the non-zero ones only
        for index in compress(_INDEXES, other_dense):
            mine[index] += other_dense[index]
        self.total += other.total
        self.sum_us += other.sum_us

    def _densify(self) -> None:
        dense = [0] * NBUCKETS
        for index, count in self._sparse.items():
            dense[index] = count
        self._dense = dense
        self._sparse = {}

    def copy(self) -> Histogram:
        h = Histogram()
        h._sparse = self._sparse.copy()
        h._dense = self._dense.copy() if self._dense is not None else None
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
    def items(self) -> list[tuple[int, int]]:
        """The non-zero ``(bucket, count)`` pairs, by bucket."""
        dense = self._dense
        if dense is not None:
            return [(i, dense[i]) for i in compress(_INDEXES, dense)]
        return sorted(self._sparse.items())

    @property
    def buckets_used(self) -> int:
        """How many buckets are non-zero."""
        if self._dense is not None:
            return NBUCKETS - self._dense.count(0)
        return len(self._sparse)

    @property
    def counts(self) -> list[int]:
        """Every bucket's count, as a new list (index = bucket)."""
        if self._dense is not None:
            return self._dense.copy()
        dense = [0] * NBUCKETS
        for index, count in self._sparse.items():
            dense[index] = count
        return dense

    @counts.setter
    def counts(self, counts: Sequence[int]) -> None:
        """Replace every bucket's count (``total`` follows; ``sum_us`` is left as it is)."""
        self._sparse, self._dense = {}, None
        self.total = 0
        self.add_dense(counts, 0)

    def to_sparse(self) -> list[list[int]]:
        return [[i, c] for i, c in self.items()]

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
        for index, count in self.items():
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
        dense = self._dense
        if dense is not None:
            for index in compress(_INDEXES, dense):
                return bucket_value(index)
            return 0.0
        return bucket_value(min(self._sparse)) if self._sparse else 0.0

    def max(self) -> float:
        dense = self._dense
        if dense is not None:
            for index in range(NBUCKETS - 1, -1, -1):
                if dense[index]:
                    return bucket_value(index)
            return 0.0
        return bucket_value(max(self._sparse)) if self._sparse else 0.0

    def mean(self) -> float:
        return self.sum_us / self.total if self.total else 0.0


def _ceil(x: float) -> int:
    i = int(x)
    return i if i == x else i + 1
