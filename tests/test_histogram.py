"""The log-linear histogram: accuracy against exact percentiles and exact merging.
(The engine's recording is checked against it in test_recording.py.)"""

from __future__ import annotations

import random

import numpy as np
import pytest

from tui_loadtest.stats.histogram import (
    DENSE_AT,
    LINEAR_LIMIT,
    MAX_VALUE_US,
    NBUCKETS,
    Histogram,
    bucket_bounds,
    bucket_index,
    bucket_value,
)
from tui_loadtest.stats.model import Latency

QS = [0.5, 0.9, 0.95, 0.99, 0.999]


def samples(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "lognormal":
        x = rng.lognormal(mean=np.log(20_000), sigma=1.0, size=n)  # median 20 ms
    elif kind == "uniform":
        x = rng.uniform(50, 2_000_000, size=n)
    elif kind == "exponential":
        x = rng.exponential(5_000, size=n)
    elif kind == "bimodal":
        x = np.concatenate([rng.normal(800, 50, n // 2), rng.normal(90_000, 9_000, n - n // 2)])
    else:  # tiny values, all in the exact linear range
        x = rng.integers(0, LINEAR_LIMIT, size=n)
    return np.clip(np.rint(x), 0, None).astype(np.int64)


@pytest.mark.parametrize("kind", ["lognormal", "uniform", "exponential", "bimodal", "tiny"])
@pytest.mark.parametrize("seed", [1, 2])
def test_percentiles_within_one_percent_of_exact(kind, seed):
    values = samples(kind, 50_000, seed)
    h = Histogram.from_values(values.tolist())
    ours = h.percentiles(QS)
    exact = np.percentile(values, [q * 100 for q in QS], method="inverted_cdf")
    for q, got, want in zip(QS, ours, exact, strict=True):
        if want < LINEAR_LIMIT:
            assert got == want, (q, got, want)
        else:
            assert abs(got - want) / want <= 0.01, (q, got, want)
    assert h.total == len(values)
    assert h.mean() == pytest.approx(values.mean())
    assert abs(h.max() - values.max()) <= values.max() * 0.01
    assert abs(h.min() - values.min()) <= max(1, values.min() * 0.01)


def test_merge_equals_histogram_of_concatenated_samples():
    a = samples("lognormal", 20_000, 3).tolist()
    b = samples("bimodal", 30_000, 4).tolist()
    ha, hb = Histogram.from_values(a), Histogram.from_values(b)
    merged = ha.copy()
    merged.merge(hb)
    whole = Histogram.from_values(a + b)
    assert merged.counts == whole.counts
    assert (merged.total, merged.sum_us) == (whole.total, whole.sum_us)
    assert merged.percentiles(QS) == whole.percentiles(QS)


def test_sparse_round_trip_is_exact():
    h = Histogram.from_values(samples("exponential", 5_000, 5).tolist())
    back = Histogram.from_sparse(h.to_sparse(), h.sum_us)
    assert back.counts == h.counts and back.total == h.total and back.sum_us == h.sum_us


def test_every_value_falls_inside_its_bucket():
    rng = random.Random(7)
    values = [0, 1, 255, 256, 257, 511, 512, 10**6, MAX_VALUE_US]
    values += [rng.randrange(0, MAX_VALUE_US) for _ in range(5_000)]
    for v in values:
        i = bucket_index(v)
        low, width = bucket_bounds(i)
        assert 0 <= i < NBUCKETS
        assert low <= v < low + width
        assert abs(bucket_value(i) - v) <= max(0.5, v / 256)


def test_values_beyond_the_range_are_clamped_into_the_last_bucket():
    assert bucket_index(MAX_VALUE_US * 10) == NBUCKETS - 1


def test_empty_histogram_reads_as_zero():
    h = Histogram()
    assert h.percentiles(QS) == [0.0] * len(QS)
    assert Latency.from_histogram(h) == Latency()


def test_sparse_and_dense_histograms_read_and_merge_alike():
    """A histogram keeps few buckets in a dict and switches to a list past DENSE_AT:
    whichever way each side is held, counts, merges and readings are the same."""
    few = samples("tiny", 200, 8).tolist()  # some dozens of buckets: stays sparse
    many = samples("uniform", 50_000, 9).tolist()  # most buckets: dense
    for a, b in ((few, many), (many, few), (few, few[:50]), (many, many[:1000])):
        ha, hb = Histogram.from_values(a), Histogram.from_values(b)
        merged = ha.copy()
        merged.merge(hb)
        whole = Histogram.from_values(a + b)
        by_record = Histogram()
        for v in a + b:
            by_record.record(v)
        for h in (merged, by_record):
            assert h.counts == whole.counts and h.to_sparse() == whole.to_sparse()
            assert (h.total, h.sum_us) == (whole.total, whole.sum_us) == (len(a + b), sum(a + b))
            assert h.percentiles(QS) == whole.percentiles(QS)
            assert (h.min(), h.max()) == (whole.min(), whole.max())
            assert h.buckets_used == sum(1 for c in whole.counts if c)
    assert Histogram.from_values(few).buckets_used <= DENSE_AT  # the sparse form was tried
    assert Histogram.from_values(many).buckets_used > DENSE_AT  # and the dense one


def test_counts_can_be_replaced_whole():
    h = Histogram.from_values([5, 5, 900])
    h.counts = [0] * NBUCKETS
    assert (h.total, h.to_sparse(), h.max()) == (0, [], 0.0)
    h.counts = Histogram.from_values([7, 300_000]).counts
    assert (h.total, h.to_sparse()) == (2, [[7, 1], [bucket_index(300_000), 1]])
