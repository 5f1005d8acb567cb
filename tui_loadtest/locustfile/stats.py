"""``environment.stats`` for a locustfile's own use (a ``test_stop`` listener that sets
the exit code from the failure ratio): this worker's requests, counted as they are
recorded, with the names Locust's ``StatsEntry`` and ``RequestStats`` give them. The
run's statistics are tui-loadtest's own, merged from every worker.

Locust's settings (``CSV_STATS_INTERVAL_SEC``, ``PERCENTILES_TO_REPORT``...) are here
so that a locustfile that sets or reads them runs; tui-loadtest's reports do not
follow them (its CSV keeps Locust's default percentile columns).
"""

from __future__ import annotations

import time
from typing import Any

from ..stats.histogram import Histogram

# Locust's settings, at Locust's defaults (a locustfile may change them; see above).
STATS_NAME_WIDTH = 40
STATS_TYPE_WIDTH = 8
STATS_AUTORESIZE = True
CONSOLE_STATS_INTERVAL_SEC = 2
HISTORY_STATS_INTERVAL_SEC = 5
CSV_STATS_INTERVAL_SEC = 1
CSV_STATS_FLUSH_INTERVAL_SEC = 5
CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW = 10
PERCENTILES_TO_REPORT = [0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0]
PERCENTILES_TO_STATISTICS = [0.95, 0.99]
PERCENTILES_TO_CHART = [0.5, 0.95]
MODERN_UI_PERCENTILES_TO_CHART = [0.5, 0.95, 0.99]

# Locust's current_rps: the seconds from 12 to 2 before the last request
_CURRENT_FROM_S, _CURRENT_TO_S = 12, 2


class StatsEntry:
    """Counts and response times (milliseconds) of a group of requests."""

    def __init__(
        self, stats: Any, name: str, method: str, use_response_times_cache: bool = False
    ) -> None:
        self.name = name
        self.method = method
        self.stats = stats
        self.reset()

    def reset(self) -> None:
        self.start_time = time.time()
        self.last_request_timestamp: float | None = None
        self.num_requests = 0
        self.num_none_requests = 0
        self.num_failures = 0
        self.total_response_time = 0.0
        self.max_response_time = 0.0
        self.min_response_time: float | None = None
        self.total_content_length = 0
        self.num_reqs_per_sec: dict[int, int] = {}
        self.num_fail_per_sec: dict[int, int] = {}
        self._hist = Histogram()

    def log(self, response_time_ms: float, content_length: int, failed: bool) -> None:
        now = time.time()
        second = int(now)
        self.last_request_timestamp = now
        self.num_requests += 1
        self.num_reqs_per_sec[second] = self.num_reqs_per_sec.get(second, 0) + 1
        if failed:
            self.num_failures += 1
            self.num_fail_per_sec[second] = self.num_fail_per_sec.get(second, 0) + 1
        self.total_response_time += response_time_ms
        self.max_response_time = max(self.max_response_time, response_time_ms)
        if self.min_response_time is None or response_time_ms < self.min_response_time:
            self.min_response_time = response_time_ms
        self.total_content_length += content_length
        self._hist.record(int(response_time_ms * 1000))

    # -- Locust's figures ------------------------------------------------------------
    @property
    def fail_ratio(self) -> float:
        if not self.num_requests:
            return 1.0 if self.num_failures else 0.0
        return self.num_failures / self.num_requests

    @property
    def avg_response_time(self) -> float:
        return self.total_response_time / self.num_requests if self.num_requests else 0.0

    @property
    def median_response_time(self) -> float:
        return self.get_response_time_percentile(0.5)

    @property
    def avg_content_length(self) -> float:
        return self.total_content_length / self.num_requests if self.num_requests else 0.0

    def _span(self) -> float:
        """Seconds from the start to the last request (Locust's total_rps divides by it)."""
        start, last = self._timestamps()
        return last - start if last is not None else 0.0

    def _timestamps(self) -> tuple[float, float | None]:
        holder = self.stats if self.stats is not None else self
        return holder.start_time, holder.last_request_timestamp

    @property
    def total_rps(self) -> float:
        span = self._span()
        return self.num_requests / span if span > 0 else 0.0

    @property
    def total_fail_per_sec(self) -> float:
        span = self._span()
        return self.num_failures / span if span > 0 else 0.0

    def _current(self, per_sec: dict[int, int]) -> float:
        start, last = self._timestamps()
        if last is None:
            return 0.0
        first = max(int(last) - _CURRENT_FROM_S, int(start))
        seconds = range(first, int(last) - _CURRENT_TO_S)
        return sum(per_sec.get(s, 0) for s in seconds) / len(seconds) if seconds else 0.0

    @property
    def current_rps(self) -> float:
        return self._current(self.num_reqs_per_sec)

    @property
    def current_fail_per_sec(self) -> float:
        return self._current(self.num_fail_per_sec)

    def get_response_time_percentile(self, percent: float) -> float:
        if not self.num_requests:
            return 0.0
        return self._hist.percentile(percent) / 1000

    def get_current_response_time_percentile(self, percent: float) -> float:
        """Locust's is over the last 10 s; here over the whole run (as the worker kept it)."""
        return self.get_response_time_percentile(percent)

    def to_dict(self, escape_string_values: bool = False) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "last_request_timestamp": self.last_request_timestamp,
            "start_time": self.start_time,
            "num_requests": self.num_requests,
            "num_none_requests": self.num_none_requests,
            "num_failures": self.num_failures,
            "total_response_time": self.total_response_time,
            "max_response_time": self.max_response_time,
            "min_response_time": self.min_response_time,
            "total_content_length": self.total_content_length,
            "num_reqs_per_sec": dict(self.num_reqs_per_sec),
            "num_fail_per_sec": dict(self.num_fail_per_sec),
        }

    def __repr__(self) -> str:
        return f"<StatsEntry {self.method} {self.name}: {self.num_requests} requests>"


class RequestStats:
    """The worker's requests: ``total`` and ``entries`` by (name, method)."""

    def __init__(self, use_response_times_cache: bool = True) -> None:
        self.entries: dict[tuple[str, str], StatsEntry] = {}
        self.history: list[dict[str, Any]] = []
        self.total = StatsEntry(self, "Aggregated", "")

    @property
    def start_time(self) -> float:
        return self.total.start_time

    @property
    def last_request_timestamp(self) -> float | None:
        return self.total.last_request_timestamp

    def log(
        self, method: str, name: str, response_time_ms: float, length: int, failed: bool
    ) -> None:
        self.total.log(response_time_ms, length, failed)
        self.get(name, method).log(response_time_ms, length, failed)

    def get(self, name: str, method: str) -> StatsEntry:
        entry = self.entries.get((name, method))
        if entry is None:
            entry = self.entries[(name, method)] = StatsEntry(self, name, method)
        return entry

    def reset_all(self) -> None:
        self.total.reset()
        for entry in self.entries.values():
            entry.reset()

    def clear_all(self) -> None:
        self.total = StatsEntry(self, "Aggregated", "")
        self.entries = {}
        self.history = []

    def serialize_stats(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entries.values() if e.num_requests or e.num_failures]

    @property
    def num_requests(self) -> int:
        return self.total.num_requests

    @property
    def num_none_requests(self) -> int:
        return self.total.num_none_requests

    @property
    def num_failures(self) -> int:
        return self.total.num_failures
