"""Comparing two runs: verdicts (:mod:`.verdicts`) over a noise model (:mod:`.noise`).

``from tui_loadtest.compare import compare`` is the public entry point; the
result is numbers and verdicts, formatted by :mod:`tui_loadtest.report.compare_format`.
"""

from ..stats.histogram import bucket_index, bucket_value
from .noise import MIN_BLOCKS, MIN_TAIL, QUANTILES, RunNoise, rank_log_se
from .verdicts import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_THRESHOLD,
    FLOOR_MS,
    HIGHER_IS_BETTER,
    IMPROVED,
    INCONCLUSIVE,
    LABELS,
    METRICS,
    NO_CHANGE,
    OVERALL,
    REGRESSED,
    SEED,
    Comparison,
    Row,
    UnjudgeableRun,
    compare,
    floor_for,
    scenario_differences,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DEFAULT_THRESHOLD",
    "HIGHER_IS_BETTER",
    "FLOOR_MS",
    "IMPROVED",
    "INCONCLUSIVE",
    "LABELS",
    "METRICS",
    "MIN_BLOCKS",
    "MIN_TAIL",
    "NO_CHANGE",
    "OVERALL",
    "QUANTILES",
    "REGRESSED",
    "SEED",
    "Comparison",
    "Row",
    "UnjudgeableRun",
    "RunNoise",
    "bucket_index",
    "bucket_value",
    "compare",
    "floor_for",
    "scenario_differences",
    "rank_log_se",
]
