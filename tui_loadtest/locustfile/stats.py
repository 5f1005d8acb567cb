"""``environment.stats`` for a locustfile's own use (a ``test_stop`` listener that sets
the exit code from the failure ratio): this worker's requests, counted as they are
recorded. The run's statistics are tui-loadtest's own, merged from every worker."""

from __future__ import annotations

from ..stats.histogram import Histogram


class StatsEntry:
    """Counts and response times (milliseconds) of a group of requests."""

    def __init__(self, name: str = "Aggregated", method: str = "") -> None:
        self.name = name
        self.method = method
        self.num_requests = 0
        self.num_failures = 0
        self.total_response_time = 0.0
        self.max_response_time = 0.0
        self.min_response_time: float | None = None
        self.total_content_length = 0
        self._hist = Histogram()

    def log(self, response_time_ms: float, content_length: int, failed: bool) -> None:
        self.num_requests += 1
        if failed:
            self.num_failures += 1
        self.total_response_time += response_time_ms
        self.max_response_time = max(self.max_response_time, response_time_ms)
        if self.min_response_time is None or response_time_ms < self.min_response_time:
            self.min_response_time = response_time_ms
        self.total_content_length += content_length
        self._hist.record(int(response_time_ms * 1000))

    @property
    def fail_ratio(self) -> float:
        return self.num_failures / self.num_requests if self.num_requests else 0.0

    @property
    def avg_response_time(self) -> float:
        return self.total_response_time / self.num_requests if self.num_requests else 0.0

    @property
    def median_response_time(self) -> float:
        return self.get_response_time_percentile(0.5)

    def get_response_time_percentile(self, percent: float) -> float:
        if not self.num_requests:
            return 0.0
        return self._hist.percentile(percent) / 1000


class RequestStats:
    """The worker's requests: ``total`` and ``entries`` by (name, method)."""

    def __init__(self) -> None:
        self.total = StatsEntry()
        self.entries: dict[tuple[str, str], StatsEntry] = {}

    def log(
        self, method: str, name: str, response_time_ms: float, length: int, failed: bool
    ) -> None:
        self.total.log(response_time_ms, length, failed)
        entry = self.entries.get((name, method))
        if entry is None:
            entry = self.entries[(name, method)] = StatsEntry(name, method)
        entry.log(response_time_ms, length, failed)

    def get(self, name: str, method: str) -> StatsEntry:
        entry = self.entries.get((name, method))
        if entry is None:
            entry = self.entries[(name, method)] = StatsEntry(name, method)
        return entry

    @property
    def num_requests(self) -> int:
        return self.total.num_requests

    @property
    def num_failures(self) -> int:
        return self.total.num_failures
