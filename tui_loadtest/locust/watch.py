"""A running Locust as a run source for the dashboard (``tui-loadtest locust watch URL``).

:class:`LocustWatch` polls Locust's web API (``GET URL/stats/requests``, on a
standalone Locust or a master) from a thread and turns each answer into a
:class:`~tui_loadtest.stats.model.Snapshot`, so the dashboard reads it like a run
of our own (it satisfies ``tui_loadtest.ui.source.RunSource``).

Only what Locust reports is shown. Locust gives each endpoint's whole-run
median, 95th and 99th percentiles, min, mean and max, and for the whole run its
"current" (about 10 s) median and 95th percentile and rates. Everything else a
Snapshot can hold (p90, p99.9, any recent percentile of an endpoint, the recent
p99, corrected latency, histograms) is NaN: "not available", which the dashboard
prints as n/a. The recent window's counts are differences of Locust's own
running totals, polled about 10 s apart. Locust caches ``/stats/requests`` for
about 2 s, so polling faster than that shows nothing new.

The controls of a run (pause, users, rate) do nothing here: Locust is driven from
its own UI. ``stop`` stops watching, never Locust.

An answer is checked against :class:`_Answer` before it is used: one that is not
Locust's shape (``"user_count": "abc"``, ``"stats": 5``) is an event, the last
figures stay, and polling goes on. (One such answer used to end the poll thread,
and the dashboard went on showing RUNNING with frozen figures.)
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Annotated, Any

import httpx
import msgspec

from ..errors import TargetUnreachable, UsageError
from ..stats.histogram import Histogram
from ..stats.model import (
    EndpointSnapshot,
    ErrorRow,
    Event,
    Latency,
    RunState,
    Snapshot,
    Stats,
    TimelinePoint,
)
from ..stats.result import EndpointResult, RunResult, now_iso

NA = math.nan  # not reported by Locust: shown as n/a, never made up
WINDOW_S = 10  # Locust's "current" window
REQUIRED_KEYS = ("stats", "errors", "state", "user_count")
STATES: dict[str, RunState] = {  # Locust's runner states -> the dashboard's
    "ready": "starting",
    "missing": "starting",
    "spawning": "ramping",
    "running": "running",
    "cleanup": "stopping",
    "stopping": "stopping",
    "stopped": "done",
}
MISSING = (
    "histograms",
    "per_second_percentiles",
    "p90",
    "p99.9",
    "recent_p99",
    "corrected_latency",
)
_HTTP_STATUS = re.compile(r"\b([1-5]\d\d) (?:Client|Server) Error\b")


Count = Annotated[int, msgspec.Meta(ge=0)]


class _Entry(msgspec.Struct):
    """What is read of one ``stats`` entry as typed (the other figures are read leniently)."""

    name: str | None = None
    method: str | None = None
    num_requests: Count = 0
    num_failures: Count = 0


class _Answer(msgspec.Struct):
    """The shape of ``GET /stats/requests`` this reads; unknown keys are ignored."""

    stats: list[_Entry]
    errors: list[dict[str, Any]]
    state: str
    user_count: Count
    worker_count: Count | None = None
    workers: list[Any] | None = None
    current_response_time_percentiles: dict[str, Any] | None = None


def answer_problem(data: Any) -> str | None:
    """Why ``data`` is not an answer this can show (msgspec's words and path), or None."""
    try:
        msgspec.convert(data, _Answer, strict=False)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


def stats_url(url: str) -> str:
    return url.rstrip("/") + "/stats/requests"


def probe(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """One ``GET /stats/requests``: its JSON, or TargetUnreachable (exit 3) as one line."""
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(f"{url}: expected Locust's web UI URL, e.g. http://127.0.0.1:8089")
    try:
        response = httpx.get(stats_url(url), timeout=timeout_s, trust_env=False)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise TargetUnreachable(f"{url}: unreachable ({reason})") from None
    try:
        data = response.json() if response.status_code == 200 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or any(k not in data for k in REQUIRED_KEYS):
        raise TargetUnreachable(
            f"{url}: not a Locust web UI (GET /stats/requests answered"
            f" {response.status_code} without Locust's stats)"
        )
    return data


@dataclass
class _Seen:
    """The latest answer, kept for result(): the raw entries and when they came."""

    data: dict[str, Any]
    at: float


class LocustWatch:
    """Polls a Locust web UI and publishes Snapshots (a ``RunSource``)."""

    observe_only = True  # Locust is driven from its own UI: the dashboard only shows it

    def __init__(self, url: str, *, interval_s: float = 1.0, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.started_at = now_iso()
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self._timeline: list[TimelinePoint] = []
        self._events: list[Event] = []
        self._seen: _Seen | None = None
        # (when, {endpoint or "": (requests, failures)}): Locust's running totals as polled,
        # so the recent window's counts are differences of Locust's own counts.
        self._totals: deque[tuple[float, dict[str, tuple[int, int]]]] = deque()
        self._state: RunState = "starting"
        self._current: dict[str, Any] = {}
        self.polls = 0  # answers turned into Snapshots
        self.last_error: str | None = None
        self._snapshot = self._build({"stats": [], "errors": [], "state": "ready",
                                      "user_count": 0}, 0.0)  # fmt: skip

    # -- the RunSource protocol ---------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def done(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return False

    @property
    def users_target(self) -> int:
        return self._snapshot.users_target

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def paused_time(self) -> float:
        return 0.0

    def go(self) -> None:
        """Polling starts with :meth:`start`; Locust's load is started from Locust."""

    def toggle_pause(self) -> None:
        """Locust is driven from its own UI."""

    def set_users(self, users: int) -> None:
        """Locust is driven from its own UI."""

    def set_rate(self, rate: float) -> None:
        """Locust is driven from its own UI."""

    def stop(self, reason: str = "stopped") -> None:
        """Stop watching (Locust keeps running)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.timeout_s + 1)
        if self._client is not None:
            self._client.close()

    def result(self) -> RunResult:
        """What was seen, as a result to save as a baseline (``b``); NaN figures become 0
        and are named in ``scenario["missing"]``."""
        seen = self._seen
        data = seen.data if seen else {"stats": [], "errors": []}
        entries = [e for e in data.get("stats") or [] if e.get("name") != "Aggregated"]
        total: dict[str, Any] = next(
            (e for e in data.get("stats") or [] if e.get("name") == "Aggregated"), {}
        )
        duration = seen.at if seen else self.elapsed()
        name = f"locust watch {self.url}"
        return RunResult(
            started_at=self.started_at,
            duration_s=duration,
            host=self.url,
            scenario_name=name,
            load={
                "model": "closed",
                "mode": "users",
                "users": int(data.get("user_count") or 0),
                "workers": int(data.get("worker_count") or 1),
            },  # fmt: skip
            scenario={"name": name, "source": "locust web API", "missing": list(MISSING)},
            summary=_known(_total_stats(total)),
            histogram=Histogram(),
            endpoints=[
                EndpointResult(
                    e.get("method") or "", _name(e), _known(_total_stats(e)), Histogram()
                )
                for e in entries
            ],
            errors=_errors(data),
            timeline=[_known_point(p) for p in self._timeline],
            outcome={
                "reason": "watched a Locust run",
                "interrupted": False,
                "connections": 1
                if _int(total, "num_requests") > _int(total, "num_failures")
                else 0,
                "worker_errors": [],
            },
            environment={
                "tool_version": "locust",
                "python": "",
                "workers": int(data.get("worker_count") or 1),
            },  # fmt: skip
            tool="locust",
            version="",
        )

    # -- polling ---------------------------------------------------------------------
    def start(self) -> None:
        """Poll in a daemon thread until :meth:`stop` or :meth:`close`."""
        if self._thread is None:
            self._client = httpx.Client(timeout=self.timeout_s, trust_env=False)
            self._thread = threading.Thread(target=self._run, name="locust-watch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # a bug of ours: said, and the watch goes on
                self._warn(f"could not show Locust's answer ({type(exc).__name__}: {exc})")
            self._stop.wait(self.interval_s)

    def _warn(self, text: str) -> None:
        """A warning event, once for a run of the same one."""
        if text != self.last_error:
            self._events.append(Event(self.elapsed(), text, "warning"))
            self._snapshot = replace(self._snapshot, events=tuple(self._events[-200:]))
        self.last_error = text

    def poll_once(self) -> Snapshot:
        """One request to Locust; a failure is an event (and the last figures stay)."""
        client = self._client or httpx.Client(timeout=self.timeout_s, trust_env=False)
        self._client = client
        try:
            response = client.get(stats_url(self.url))
        except httpx.HTTPError as exc:
            self._warn(f"Locust did not answer: {exc or type(exc).__name__}")
            return self._snapshot
        try:
            data = response.json()
        except ValueError:
            data = None
        if data is None or response.status_code != 200:
            problem: str | None = f"HTTP {response.status_code}, not Locust's JSON stats"
        else:
            problem = answer_problem(data)
        if problem:
            self._warn(f"Locust sent an answer this cannot read ({problem}); watching on")
            return self._snapshot
        self.last_error = None
        at = self.elapsed()
        self._seen = _Seen(data, at)
        self._snapshot = self._build(data, at)
        self.polls += 1
        return self._snapshot

    def _build(self, data: dict[str, Any], at: float) -> Snapshot:
        entries = [e for e in data.get("stats") or [] if isinstance(e, dict)]
        total_entry = next((e for e in entries if e.get("name") == "Aggregated"), {})
        recent = self._recent_counts(entries, total_entry, at)
        endpoints = tuple(
            EndpointSnapshot(
                _name(e), e.get("method") or "", _total_stats(e), _window_stats(e, recent)
            )
            for e in entries
            if e is not total_entry
        )
        current = data.get("current_response_time_percentiles") or {}
        p50 = _float(current, "response_time_percentile_0.5")
        p95 = _float(current, "response_time_percentile_0.95")
        has_recent = p50 > 0 or p95 > 0
        window = _window_stats(total_entry, recent)
        window = Stats(
            requests=window.requests,
            failures=window.failures,
            rps=window.rps,
            latency=Latency(NA, NA, p50, NA, p95, NA, NA, NA) if has_recent else Latency(),
        )
        self._current = total_entry
        state = STATES.get(str(data.get("state")), "running")
        if state != self._state:
            self._events.append(Event(at, f"Locust: {data.get('state')}"))
            self._state = state
        users = int(data.get("user_count") or 0)
        workers = data.get("workers")
        if at > 0:
            self._add_point(at, window, users)
        return Snapshot(
            scenario_name="Locust",
            host=self.url,
            state=state,
            elapsed_s=at,
            duration_s=None,
            requests_planned=None,
            workers=int(data.get("worker_count") or (len(workers) if workers else 1)),
            users_active=users,
            users_target=users,
            total=_total_stats(total_entry),
            window=window,
            current_rps=_float(data, "current_rps"),
            window_s=WINDOW_S,
            endpoints=endpoints,
            errors=tuple(_errors(data)),
            timeline=tuple(self._timeline[-600:]),
            events=tuple(self._events[-200:]),
        )

    def _recent_counts(
        self, entries: list[dict[str, Any]], total: dict[str, Any], at: float
    ) -> dict[str, tuple[int, int]]:
        """Requests and failures over the last ~WINDOW_S seconds, per endpoint ("" for all):
        Locust's running totals now minus those of the oldest poll within the window."""
        now = {_key(e, total): (_int(e, "num_requests"), _int(e, "num_failures")) for e in entries}
        self._totals.append((at, now))
        while len(self._totals) > 1 and at - self._totals[1][0] >= WINDOW_S:
            self._totals.popleft()
        then = self._totals[0][1]  # shorter than the window until it has been watched that long
        return {
            k: (max(0, r - then.get(k, (0, 0))[0]), max(0, f - then.get(k, (0, 0))[1]))
            for k, (r, f) in now.items()
        }

    def _add_point(self, at: float, window: Stats, users: int) -> None:
        """One point per second seen: Locust's current rates and percentiles then."""
        t = int(at)
        point = TimelinePoint(
            t=t,
            requests=round(window.rps),  # Locust's current rate
            failures=round(_float(self._current, "current_fail_per_sec")),
            users=users,
            p50_ms=window.latency.p50,
            p95_ms=window.latency.p95,
            p99_ms=NA,  # Locust reports no recent p99
        )
        if self._timeline and self._timeline[-1].t == t:
            self._timeline[-1] = point
        else:
            self._timeline.append(point)


# ------------------------------------------------------------------------ helpers


def _name(entry: dict[str, Any]) -> str:
    method, name = entry.get("method") or "", str(entry.get("name") or "")
    return name if not method or name.startswith(f"{method} ") else f"{method} {name}"


def _float(d: dict[str, Any], key: str) -> float:
    value = d.get(key)
    try:
        number = float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _int(d: dict[str, Any], key: str) -> int:
    return int(_float(d, key))


def _total_stats(e: dict[str, Any]) -> Stats:
    requests = _int(e, "num_requests")
    has = requests > _int(e, "num_failures") or _float(e, "max_response_time") > 0
    latency = (
        Latency(
            min=_float(e, "min_response_time"),
            mean=_float(e, "avg_response_time"),
            p50=_float(e, "median_response_time"),
            p90=NA,
            p95=_float(e, "response_time_percentile_0.95"),
            p99=_float(e, "response_time_percentile_0.99"),
            p999=NA,
            max=_float(e, "max_response_time"),
        )
        if has
        else Latency()
    )
    return Stats(
        requests=requests,
        failures=_int(e, "num_failures"),
        rps=_float(e, "total_rps"),
        bytes_received=round(_float(e, "avg_content_length") * requests),
        latency=latency,
    )


def _key(entry: dict[str, Any], total: dict[str, Any]) -> str:
    return "" if entry is total else _name(entry)


def _window_stats(e: dict[str, Any], recent: dict[str, tuple[int, int]]) -> Stats:
    """Locust's current rate; counts from its running totals; no recent percentiles."""
    requests, failures = recent.get(_name(e) if e.get("name") != "Aggregated" else "", (0, 0))
    return Stats(
        requests=requests,
        failures=failures,
        rps=_float(e, "current_rps"),
        latency=Latency(*([NA] * 8)) if requests else Latency(),
    )


def _errors(data: dict[str, Any]) -> list[ErrorRow]:
    rows = []
    for err in data.get("errors") or []:
        if not isinstance(err, dict):
            continue
        text = str(err.get("error") or "")
        match = _HTTP_STATUS.search(text)
        status = int(match.group(1)) if match else None
        rows.append(
            ErrorRow(
                kind="http" if status else "other",
                status=status,
                endpoint=_name(err),
                method=str(err.get("method") or ""),
                count=_int(err, "occurrences"),
                message=text,
            )
        )
    rows.sort(key=lambda r: -r.count)
    return rows


def _nan_free(lat: Latency) -> Latency:
    return Latency(*(0.0 if math.isnan(v) else v for v in (
        lat.min, lat.mean, lat.p50, lat.p90, lat.p95, lat.p99, lat.p999, lat.max)))  # fmt: skip


def _known(s: Stats) -> Stats:
    return Stats(s.requests, s.failures, s.rps, s.bytes_received, _nan_free(s.latency))


def _known_point(p: TimelinePoint) -> TimelinePoint:
    def known(v: float) -> float:
        return 0.0 if math.isnan(v) else v

    return TimelinePoint(
        p.t, p.requests, p.failures, p.users, known(p.p50_ms), known(p.p95_ms), known(p.p99_ms)
    )
