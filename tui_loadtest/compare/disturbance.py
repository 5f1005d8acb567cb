"""Was a change the target's, or the load generator's? The disturbed-generator rule.

A latency is measured by the generator's event loop: when the loop runs late (the
machine's other work took its core, a hypervisor stole it, a script blocked it), every
response waits in its socket that long before it is read, and the wait counts as the
target's. Each run's report says how late its loops ran (``generator.loop``: the
heartbeat's lateness, time-weighted, and the stalls past 100 ms with the requests in
flight across them), and how busy the machine was (``generator.machine``).

**The rule.** A row that would read regressed or improved reads *inconclusive: the load
generator was disturbed* when, on either side, the generator's own delay is on the scale
of the change, meaning at least half of it:

- a percentile row (P50, P95, P99): the loop lag at the same percentile is at least half
  the change (a loop late by 1 ms at the 95th percentile of the time can move a P95 by
  about that much); for a target on the generator's own machine (a loopback address),
  the lag one step further out (P50: the lag's P90, P95: P99, P99: P99.9), since the
  target waits for the CPU as the generator does, and longer when it is the busier
  process; or the requests in flight across a stall are at least half the tail beyond
  the percentile (2.5 % for a P95) and the longest stall is at least half the change;
- req/s: the share of the run the loop lost (time blocked in stalls, and the mean lag
  against the mean latency, which is what it costs each request of a closed loop) is at
  least half the relative change;
- the error rate: a stall was longer than the request timeout (the generator can then
  time requests out itself).

A change larger than twice the disturbance still decides: on a busy machine a 30 %
slower query endpoint (tens of ms) is still regressed while its sub-millisecond
neighbours, which the machine moves by a millisecond or two, read inconclusive.
Runs whose reports predate these measurements are never called disturbed. The load
average, CPU steal and saturation are named in the reason as the likely cause; the lag
is what the rule weighs, since it is how much of those the generator felt, in the
latency's own unit. docs/verdicts.md ("A disturbed generator") has the measurements.
"""

from __future__ import annotations

import ipaddress
import statistics
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .noise import QUANTILES

if TYPE_CHECKING:
    from ..stats.result import RunResult
    from .verdicts import Row

SCALE = 0.5  # a disturbance counts when it is at least this share of the change
LOAD_SHOWN = 1.0  # load average per CPU above which the reason names it
STEAL_SHOWN_PCT = 5.0
_LAG_KEYS = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99"}
# A target on the generator's machine: each percentile against the lag one step out.
_LOCAL_LAG_KEYS = {"p50_ms": "p90", "p95_ms": "p99", "p99_ms": "p999"}
_LAG_LABELS = {"p50": "P50", "p90": "P90", "p95": "P95", "p99": "P99", "p999": "P99.9"}


@dataclass(frozen=True)
class Disturbance:
    """One side's generator, as its report measured it (several runs: each figure's
    median over them, so a side is as disturbed as its typical run)."""

    measured: bool = False  # the report holds loop measurements
    lag_ms: tuple[tuple[str, float], ...] = ()  # ("p50", ms), ("p95", ms), ("mean", ms) ...
    stalls: int = 0
    stalled_share: float = 0.0  # of the requests: in flight across a stall
    max_stall_ms: float = 0.0
    blocked_share: float = 0.0  # of the run's time: in stalls
    culprit: str = ""
    latency_mean_ms: float = 0.0
    closed_model: bool = True
    timeout_ms: float | None = None
    load: float | None = None  # mean 1-minute load average over the run
    cpus: int | None = None
    steal_pct: float | None = None
    saturated: bool = False
    local_target: bool = False  # the target listens on the generator's machine (loopback)

    @classmethod
    def of(cls, result: RunResult) -> Disturbance:
        gen = result.generator or {}
        loop = gen.get("loop") or {}
        machine = gen.get("machine") or {}
        lag = loop.get("lag_ms") or {}
        culprits = loop.get("culprits") or []
        http = result.scenario.get("http") if isinstance(result.scenario, dict) else None
        timeout = http.get("timeout_s") if isinstance(http, dict) else None
        duration = result.duration_s
        return cls(
            measured=bool(loop),
            lag_ms=tuple((k, float(lag[k])) for k in _LAG_READ if k in lag),
            stalls=int(loop.get("stalls") or 0),
            stalled_share=float(loop.get("stalled_share") or 0.0),
            max_stall_ms=float(loop.get("max_stall_ms") or 0.0),
            blocked_share=float(loop.get("blocked_s") or 0.0) / duration if duration > 0 else 0.0,
            culprit=str(culprits[0].get("culprit") or "") if culprits else "",
            latency_mean_ms=result.summary.latency.mean,
            closed_model=not result.open_model,
            timeout_ms=float(timeout) * 1000 if isinstance(timeout, int | float) else None,
            load=(machine.get("load_average") or {}).get("mean"),
            cpus=machine.get("cpus"),
            steal_pct=(machine.get("steal_pct") or {}).get("mean"),
            saturated=bool(gen.get("saturated")),
            local_target=is_loopback(result.host),
        )

    @classmethod
    def median(cls, results: list[RunResult]) -> Disturbance:
        """A side of several runs: the median of each figure over its runs."""
        sides = [cls.of(r) for r in results]
        measured = [d for d in sides if d.measured]
        if len(sides) == 1 or not measured:
            return sides[0]

        def mid(values: list[float]) -> float:
            return statistics.median(values) if values else 0.0

        def mid_or_none(values: list[float | None]) -> float | None:
            seen = [v for v in values if v is not None]
            return statistics.median(seen) if seen else None

        keys = [k for k, _ in measured[0].lag_ms]
        culprits = [d.culprit for d in measured if d.culprit]
        timeouts = [d.timeout_ms for d in measured if d.timeout_ms is not None]
        cpus = [d.cpus for d in measured if d.cpus]
        return cls(
            measured=True,
            lag_ms=tuple((k, mid([d.lag(k) for d in measured])) for k in keys),
            stalls=round(mid([float(d.stalls) for d in measured])),
            stalled_share=mid([d.stalled_share for d in measured]),
            max_stall_ms=mid([d.max_stall_ms for d in measured]),
            blocked_share=mid([d.blocked_share for d in measured]),
            culprit=culprits[0] if culprits else "",
            latency_mean_ms=mid([d.latency_mean_ms for d in measured]),
            closed_model=measured[0].closed_model,
            timeout_ms=min(timeouts) if timeouts else None,
            load=mid_or_none([d.load for d in measured]),
            cpus=max(cpus) if cpus else None,
            steal_pct=mid_or_none([d.steal_pct for d in measured]),
            saturated=sum(d.saturated for d in measured) * 2 > len(measured),
            local_target=measured[0].local_target,
        )

    def lag(self, key: str) -> float:
        return dict(self.lag_ms).get(key, 0.0)

    # -- the rule ---------------------------------------------------------------
    def explains(self, row: Row) -> str | None:
        """Why this side's generator could account for ``row``'s change (None: it cannot)."""
        if not self.measured or row.delta is None or row.a is None:
            return None
        change = abs(row.delta)
        metric = row.metric
        if metric in QUANTILES:
            key = (_LOCAL_LAG_KEYS if self.local_target else _LAG_KEYS)[metric]
            lag = self.lag(key)
            if lag > 0 and lag >= SCALE * change:
                return f"loop lag {_LAG_LABELS[key]} {_ms(lag)} ms"
            tail = 1 - QUANTILES[metric]
            if self.stalled_share >= SCALE * tail and self.max_stall_ms >= SCALE * change:
                return (
                    f"{self.stalled_share * 100:.1f} % of requests in flight across loop"
                    f" stalls of up to {_ms(self.max_stall_ms)} ms"
                )
            return None
        if metric == "rps" and row.a > 0:
            lost = self.blocked_share
            if self.closed_model and self.latency_mean_ms > 0:
                lost += self.lag("mean") / self.latency_mean_ms
            if lost > 0 and lost >= SCALE * change / row.a:
                return f"the loop lost {lost * 100:.1f} % of the run's time"
            return None
        if metric == "error_rate" and self.timeout_ms and self.max_stall_ms >= self.timeout_ms:
            return f"a loop stall of {_ms(self.max_stall_ms)} ms, past the request timeout"
        return None

    def causes(self) -> list[str]:
        """What disturbed the generator, as far as the report says: the stalls' code,
        a busy machine, stolen time, saturation."""
        out = []
        if self.stalls and self.culprit:
            out.append(f"its loop blocked by {self.culprit}")
        if self.load is not None and self.cpus and self.load > LOAD_SHOWN * self.cpus:
            out.append(f"load average {self.load:.1f} on {self.cpus} CPUs")
        if self.steal_pct is not None and self.steal_pct >= STEAL_SHOWN_PCT:
            out.append(f"{self.steal_pct:.0f} % CPU stolen")
        if self.saturated:
            out.append("its CPU saturated")
        return out

    def summary(self) -> dict[str, Any]:
        """The figures the rule read, for the comparison's JSON."""
        return {
            "measured": self.measured,
            "lag_ms": {k: round(v, 3) for k, v in self.lag_ms},
            "stalls": self.stalls,
            "stalled_share": round(self.stalled_share, 6),
            "max_stall_ms": round(self.max_stall_ms, 1),
            "blocked_share": round(self.blocked_share, 6),
            "load_average": self.load,
            "cpus": self.cpus,
            "steal_pct": self.steal_pct,
            "saturated": self.saturated,
        }


def apply(rows: list[Row], baseline: Disturbance, current: Disturbance) -> tuple[list[Row], str]:
    """Rows with every regressed or improved one that either side's generator could
    account for turned inconclusive (its ``disturbed`` says why), and the reason for the
    headline ("" when no row was)."""
    from .verdicts import IMPROVED, INCONCLUSIVE, REGRESSED

    out = []
    seen: dict[str, list[str]] = {}
    for row in rows:
        if row.verdict not in (REGRESSED, IMPROVED):
            out.append(row)
            continue
        why = []
        for side, d in (("baseline", baseline), ("current run", current)):
            found = d.explains(row)
            if found is not None:
                why.append(f"{side}: {found}")
                seen.setdefault(side, [])
                if found not in seen[side]:
                    seen[side].append(found)
        if not why:
            out.append(row)
            continue
        out.append(replace(row, verdict=INCONCLUSIVE, disturbed="; ".join(why)))
    if not seen:
        return out, ""
    parts = []
    for side, d in (("baseline", baseline), ("current run", current)):
        if side in seen:
            worst = seen[side][0]
            parts.append(f"{side}: {', '.join([worst, *d.causes()])}")
    return out, "; ".join(parts)


_LAG_READ = ("p50", "p90", "p95", "p99", "p999", "mean")


def is_loopback(url: str) -> bool:
    """Does ``url`` name this machine's loopback (127.0.0.0/8, ::1, localhost)?"""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ms(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"
