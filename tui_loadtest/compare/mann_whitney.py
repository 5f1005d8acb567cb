"""The Mann-Whitney U test (Wilcoxon rank-sum), exact, for a few runs a side.

Why this test: per-run figures (a run's P95, its req/s) are few (3 to 10 a
side), skewed and sometimes tied (percentiles come from histogram buckets), so
a test that assumes normal data (Welch's t) is out, and benchstat, which
compares repeated Go benchmark runs, uses this one too. It asks whether values
from one side tend to be larger than from the other, using ranks only.

Exact: the p-value counts, over every way of splitting the pooled values into
groups of the two sizes, how many give a rank sum at least as far from its
mean as the one observed; ties get mid-ranks and the count is conditional on
them (the permutation distribution). Counting is a small dynamic programme
over rank sums (in half-ranks, so mid-ranks stay integers): for 10 runs a
side, about 10^5 steps. Larger samples use the normal approximation with the
tie correction. Without ties, 5 + 5 runs give the classic table values
(p = 0.0079 for complete separation). scipy would give the same numbers but
weighs about 100 MB for these thirty lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

EXACT_MAX = 40  # pooled runs up to which the distribution is counted exactly


@dataclass(frozen=True)
class MannWhitney:
    """The test's outcome: ``u`` for the first sample, the two-sided ``p``, and
    ``min_p``, the smallest p the sizes allow (with 3 + 3 runs, 0.1: no change
    can be significant at 0.05)."""

    u: float
    p: float
    min_p: float
    n_a: int
    n_b: int
    exact: bool


def mann_whitney(a: list[float], b: list[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test of ``a`` against ``b`` (each at least one value)."""
    n_a, n_b = len(a), len(b)
    if not n_a or not n_b:
        raise ValueError("each side needs at least one value")
    half_ranks = _half_ranks([*a, *b])  # 2 x mid-rank: integers
    w = sum(half_ranks[:n_a])  # twice a's rank sum
    n = n_a + n_b
    mean = n_a * (n + 1)  # twice the rank sum's mean
    u = w / 2 - n_a * (n_a + 1) / 2
    if n <= EXACT_MAX:
        counts = _sum_counts(tuple(sorted(half_ranks)), n_a)
        total = math.comb(n, n_a)
        far = abs(w - mean)
        p = sum(c for s, c in counts.items() if abs(s - mean) >= far) / total
        extreme = sum(sorted(half_ranks)[:n_a])
        min_p = sum(c for s, c in counts.items() if abs(s - mean) >= abs(extreme - mean)) / total
        return MannWhitney(u, min(1.0, p), min(1.0, min_p), n_a, n_b, True)
    # Normal approximation with the tie correction (and a continuity correction).
    ties = _tie_term([*a, *b])
    var = n_a * n_b / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return MannWhitney(u, 1.0, 1.0, n_a, n_b, False)
    z = max(0.0, abs(u - n_a * n_b / 2) - 0.5) / math.sqrt(var)
    p = 2 * (1 - NormalDist().cdf(z))
    z_min = max(0.0, n_a * n_b / 2 - 0.5) / math.sqrt(var)
    return MannWhitney(u, min(1.0, p), 2 * (1 - NormalDist().cdf(z_min)), n_a, n_b, False)


def _half_ranks(values: list[float]) -> list[int]:
    """Each value's mid-rank (1-based), doubled so that it is an integer."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + 1) + (j + 1)  # twice the mean of ranks i+1 .. j+1
        i = j + 1
    return out


@lru_cache(maxsize=64)
def _sum_counts(half_ranks: tuple[int, ...], k: int) -> dict[int, int]:
    """How many k-subsets of ``half_ranks`` have each sum (the exact null distribution).
    Cached: without ties it depends on the sizes only, and a table tests many rows."""
    ways: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(k)]
    for r in half_ranks:
        for j in range(k, 0, -1):
            into = ways[j]
            for s, c in ways[j - 1].items():
                into[s + r] = into.get(s + r, 0) + c
    return ways[k]


def _tie_term(values: list[float]) -> float:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return float(sum(t**3 - t for t in counts.values()))
