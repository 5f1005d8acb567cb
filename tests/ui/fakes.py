"""A seeded, deterministic stand-in for a Run: Snapshots built by the real
RunAggregate from per-second worker deltas drawn with ``random.Random(seed)``.

Nothing here reads a clock: ``elapsed`` is whatever the test says, so screens
built on it are the same on every machine.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

from tui_loadtest.stats.aggregate import EndpointDelta, RunAggregate, StreamDelta, WorkerDelta
from tui_loadtest.stats.histogram import Histogram
from tui_loadtest.stats.model import Event, Latency, Snapshot, Stats
from tui_loadtest.stats.result import EndpointResult, RunResult


@dataclass
class Ep:
    """One endpoint's load: lognormal latency (median ms, sigma) and requests/s."""

    method: str
    name: str
    median_ms: float
    sigma: float
    rps: float
    fail_500: float = 0.0  # fraction answered HTTP 500
    ttfb_share: float = 0.0  # > 0: the head came after this share of the latency (TTFB)
    events: int = 0  # > 0: a stream of this many events, the first at twice the TTFB


DEMO = (
    Ep("GET", "GET /api/health", 0.4, 0.4, 120),
    Ep("GET", "GET /api/agents", 0.5, 0.5, 55),
    Ep("GET", "GET /api/agents/{id}", 0.45, 0.5, 35),
    Ep("POST", "POST /api/agents/{id}/query", 30.0, 0.8, 32, fail_500=0.02),
)


@dataclass
class SeededRun:
    """Feeds a RunAggregate second by second; every figure follows from the seed."""

    seed: int = 7
    endpoints: tuple[Ep, ...] = DEMO
    users: int = 50
    duration_s: float | None = 60.0
    requests_planned: int | None = None
    scenario_name: str = "Demo: AI Agent Connector API"
    host: str = "http://127.0.0.1:5000"
    rng: random.Random = field(init=False)
    agg: RunAggregate = field(init=False)
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.agg = RunAggregate([(e.method, e.name) for e in self.endpoints], workers=1)
        self.events.append(Event(0.0, f"spawning {self.users} users at 25/s on 1 worker(s)"))

    def advance(
        self,
        seconds: int,
        *,
        users: int | None = None,
        paused: bool = False,
        refused: float = 0.0,
        slowdown: float = 1.0,
    ) -> None:
        """Add ``seconds`` seconds of load; ``refused`` is the share of connections refused."""
        for _ in range(seconds):
            tick = self.agg.next_tick
            eps = []
            errors = []
            for i, ep in enumerate(self.endpoints):
                n = 0 if paused else _poisson(self.rng, ep.rps * (1 - refused))
                lost = 0 if paused else _poisson(self.rng, ep.rps * refused)
                h = Histogram()
                first = Histogram()
                ttft, gaps = Histogram(), Histogram()
                mu = math.log(ep.median_ms * 1000 * slowdown)
                fails = 0
                for _ in range(n):
                    v = max(1, int(self.rng.lognormvariate(mu, ep.sigma)))
                    h.record(v)
                    if ep.ttfb_share:
                        first.record(int(v * ep.ttfb_share))
                    if ep.events:
                        ttft.record(int(v * ep.ttfb_share * 2))
                        gap = int(v * (1 - ep.ttfb_share * 2) / ep.events)
                        gaps.record(gap, ep.events - 1)
                    if self.rng.random() < ep.fail_500:
                        fails += 1
                if fails:
                    errors.append(("http", 500, i, fails, "HTTP 500 Internal Server Error"))
                if lost:
                    errors.append(("refused", None, i, lost, "connection refused"))
                eps.append(
                    EndpointDelta(
                        index=i,
                        buckets=h.to_sparse(),
                        sum_us=h.sum_us,
                        bytes_received=n * 180,
                        http_failures=fails,
                        other_failures=lost,
                        ttfb_buckets=first.to_sparse() if ep.ttfb_share else None,
                        ttfb_sum_us=first.sum_us,
                        stream=None
                        if not ep.events
                        else StreamDelta(
                            ttft=ttft.to_sparse(),
                            ttft_sum_us=ttft.sum_us,
                            gaps=gaps.to_sparse(),
                            gap_sum_us=gaps.sum_us,
                            events=n * ep.events,
                            streams=n,
                        ),
                    )
                )
            self.agg.add(
                WorkerDelta(
                    worker=0,
                    tick=tick,
                    span_s=1.0,
                    users=users if users is not None else self.users,
                    users_peak=users if users is not None else self.users,
                    user_s=float(users if users is not None else self.users),
                    endpoints=eps,
                    errors=errors,
                    paused=paused,
                    connects=0 if paused else 5,
                )
            )

    def snapshot(self, state: str = "running", users_target: int | None = None) -> Snapshot:
        return self.agg.snapshot(
            scenario_name=self.scenario_name,
            host=self.host,
            state=state,
            elapsed_s=float(self.agg.next_tick),
            duration_s=self.duration_s,
            requests_planned=self.requests_planned,
            workers=1,
            users_target=users_target if users_target is not None else self.users,
            extra_events=self.events,
        )

    def result(self, reason: str = "run time reached") -> RunResult:
        """The result as ``Run.result()`` builds it: rates over the time under load,
        the users planned, reached and on average, the time paused."""
        agg = self.agg
        duration = agg.rate_s
        total = agg.total_span()
        return RunResult(
            started_at="2024-01-01T12:00:00+00:00",
            duration_s=duration,
            host=self.host,
            scenario_name=self.scenario_name,
            load={"model": "closed", "mode": "users", "users": self.users, "workers": 1},
            scenario={"name": self.scenario_name},
            summary=total.stats(duration),
            histogram=total.hist,
            endpoints=[
                EndpointResult(m, n, span.stats(duration), span.hist)
                for (m, n), span in zip(agg.endpoint_keys, agg.cumulative, strict=True)
            ],
            errors=agg.error_rows(),
            timeline=list(agg.timeline),
            per_second=agg.per_second_buckets,
            outcome={
                "reason": reason,
                "interrupted": reason == "interrupted",
                "connections": 5,
                "paused_s": round(agg.duration_s - agg.rate_s, 3),
                "users": {
                    "planned": self.users,
                    "peak": agg.users_peak,
                    "average": round(agg.users_average, 1),
                },
            },
        )


def with_open_model(snap: Snapshot, rate: float = 400.0) -> Snapshot:
    """The same Snapshot as an arrival-rate run would publish it (service time, lag, drops)."""

    def slower(lat: Latency, f: float) -> Latency:
        return Latency(*(getattr(lat, k) * f for k in Latency.__slots__))

    def open_stats(s: Stats, dropped: int) -> Stats:
        return replace(s, service=s.latency, latency=slower(s.latency, 1.6), dropped=dropped)

    return replace(
        snap,
        mode="arrival-rate",
        rate_target=rate,
        lag=Latency(min=0.1, mean=0.8, p50=0.5, p90=1.5, p95=2.5, p99=12.0, p999=30.0, max=41.0),
        total=open_stats(snap.total, 37),
        window=open_stats(snap.window, 4),
    )


class FakeSource:
    """A RunSource whose Snapshot, clock and end the test controls; it records every control."""

    def __init__(
        self,
        run: SeededRun,
        *,
        state: str = "running",
        elapsed: float | None = None,
        observe_only: bool = False,
    ):
        self.run = run
        self.observe_only = observe_only
        self.state = state
        self._snapshot = run.snapshot(state)
        self._elapsed = elapsed
        self.users_target = run.users
        self.paused = False
        self.done = False
        self.stopped: list[str] = []
        self.calls: list[tuple] = []
        self.closed = False

    # -- what the dashboard reads ----------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def elapsed(self) -> float:
        return self._elapsed if self._elapsed is not None else self._snapshot.elapsed_s

    def paused_time(self) -> float:
        return float(sum(1 for p in self._snapshot.timeline if p.paused))

    def result(self) -> RunResult:
        reason = self.stopped[0] if self.stopped else "run time reached"
        return self.run.result(reason)

    # -- controls -------------------------------------------------------------
    def go(self) -> None:
        self.calls.append(("go",))

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.calls.append(("pause", self.paused))

    def set_users(self, users: int) -> None:
        self.users_target = users
        self.calls.append(("users", users))
        self.publish()

    def set_rate(self, rate: float) -> None:
        self.calls.append(("rate", rate))
        self.publish(replace(self._snapshot, rate_target=rate))

    def stop(self, reason: str = "stopped") -> None:
        self.calls.append(("stop", reason))
        if self.done or self.state in ("stopping", "done"):
            return
        self.stopped.append(reason)
        self.state = "stopping"
        self.publish()

    def close(self) -> None:
        self.closed = True

    def wait(self, timeout: float | None = None) -> bool:
        return self.done

    # -- what the test drives ---------------------------------------------------
    def publish(self, snapshot: Snapshot | None = None) -> None:
        self._snapshot = snapshot or self.run.snapshot(self.state, self.users_target)

    def finish(self) -> None:
        """End the run as the coordinator would: a final Snapshot in state "done"."""
        self.state = "done"
        reason = self.stopped[0] if self.stopped else "run time reached"
        self.run.events.append(Event(float(self.run.agg.next_tick), f"run finished ({reason})"))
        self.publish()
        self.done = True


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def demo_source(seconds: int = 24, *, seed: int = 7, **kw) -> FakeSource:
    """A run 24 s into 60 s: a 2 s ramp, a 3 s pause, one error kind."""
    run = SeededRun(seed=seed)
    run.advance(1, users=25)
    run.events.append(Event(2.0, "all 50 users running"))
    run.advance(9)
    run.advance(3, paused=True)
    run.advance(max(0, seconds - 13))
    return FakeSource(run, **kw)
