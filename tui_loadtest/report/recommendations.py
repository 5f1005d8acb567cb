"""Recommendations read from a run's data, for the report's numbered list.

Each rule looks at one aspect of the result (nothing measured, failed
iterations, error rate, kinds of failure,
slow endpoints, the tail against the median, throughput, drift over the run,
sample size) and returns advice only when the data calls for it, naming the
endpoint and the figure that triggered it. The bands are those of
:mod:`tui_loadtest.ratings`, so the advice agrees with the colours users see.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ratings import rate_error_rate, rate_response_ms
from ..stats.histogram import Histogram
from ..stats.result import RunResult
from .formatting import fmt_int, fmt_ms, fmt_pct, fmt_rate
from .throughput import throughput_rating

ALL_CLEAR = "Performance metrics are within acceptable ranges."

# A tail this many times the median, on an endpoint whose p99 is past the
# "excellent" band, means some requests wait for something the others do not.
SPREAD_RATIO = 5.0
SPREAD_MIN_P99_MS = 100.0
# Below this many responses, p99 rests on fewer than ten samples.
MIN_RESPONSES = 1000
# p95 of the last third of the run against the first third.
DRIFT_RATIO = 2.0
DRIFT_MIN_SECONDS = 9
# An error kind is worth its own advice once it reaches this share of requests
# (the edge of the "excellent" error-rate band).
KIND_SHARE = 0.001

_CONNECTION_KINDS = ("refused", "reset", "dns", "protocol")


def recommend(result: RunResult) -> list[str]:
    """Advice for ``result``, most urgent first; one all-clear line when nothing fires."""
    found: list[str] = []
    for rule in RULES:
        found += rule(result)
    return found or [ALL_CLEAR]


def generator_rule(result: RunResult) -> list[str]:
    """Trouble on the load generator's side, which says nothing about the target."""
    lines = []
    local = sum(e.count for e in result.errors if e.kind == "generator")
    if local:
        example = next(e.message for e in result.errors if e.kind == "generator")
        lines.append(
            f"{fmt_int(local)} requests failed on the load generator itself ({example}), not"
            " on the target: raise the open-file limit (ulimit -n), lower the users, or"
            " spread them with --workers."
        )
    loop = result.generator.get("loop") or {}
    if loop.get("stalls"):
        culprit = (loop.get("culprits") or [{}])[0].get("culprit") or "unknown code"
        lines.append(
            f"The load generator's event loop was blocked {loop.get('blocked_s', 0):.2f} s in"
            f" all, mostly by {culprit}: every latency in flight meanwhile includes it. "
            + (
                "Send through self.client and wait with time.sleep, which let the other"
                " users run; a library's own blocking call (requests, a database driver)"
                " stalls them all."
                if result.scenario.get("locustfile")
                else "Replace blocking calls in the script (time.sleep, requests, urllib) with"
                " await asyncio.sleep(...) and await user.get(...)."
            )
        )
    if result.saturated:
        lines.append(
            "The load generator ran out of CPU: latencies and throughput may understate the"
            " target; add --workers, lower the load, or use a bigger machine."
        )
    return lines


def nothing_measured_rule(result: RunResult) -> list[str]:
    """A run that measured no request has nothing to judge: it never gets the all-clear."""
    if result.summary.requests:
        return []
    return [
        "No request was measured, so none of the figures above says anything about the"
        " target: check that the run lasted long enough and that its users sent requests"
        " (the errors and notes above say why they did not)."
    ]


def failed_iterations_rule(result: RunResult) -> list[str]:
    """Iterations of flows or script tasks that failed: a script that raises sends no
    failed request, so the error rate alone would read as all clear."""
    failed = result.failed_iterations
    if not failed:
        return []
    worst = max(result.flows, key=lambda f: f.stats.failed)
    raised = [e for e in result.errors if e.kind == "script" and e.endpoint == worst.name]
    why = (
        f"the task raised {raised[0].message}; the tracebacks are in the run's log file"
        if raised
        else "a step failed or a capture found nothing; see the errors below"
    )
    most = worst.stats.failed
    where = f"all in {worst.name}" if most == failed else f"{fmt_int(most)} in {worst.name}"
    return [
        f"{fmt_int(failed)} of {fmt_int(result.iterations)} iterations failed"
        f" ({fmt_pct(result.iteration_failure_rate)}), {where}: {why}."
    ]


def dead_endpoint_rule(result: RunResult) -> list[str]:
    """An endpoint where every request failed never worked during the run: say so first
    (the overall error rate can look mild when it is one endpoint among many)."""
    if len(result.endpoints) < 1:
        return []
    return [
        f"Every request to {e.name} failed ({fmt_int(e.stats.failures)} of"
        f" {fmt_int(e.stats.requests)}): it never worked during the run; see the errors below."
        for e in result.endpoints
        if e.stats.requests > 0 and e.stats.failures == e.stats.requests
    ]


def error_rate_rule(result: RunResult) -> list[str]:
    s = result.summary
    local = sum(e.count for e in result.errors if e.kind == "generator")
    failures, requests = s.failures - local, s.requests - local  # the target's own
    error_rate = failures / requests if requests > 0 else 0.0
    rating = rate_error_rate(error_rate)
    if requests <= 0 or rating.tone in ("good", "ok"):
        return []
    return [
        f"Error rate {fmt_pct(error_rate)} ({fmt_int(failures)} of {fmt_int(requests)}"
        f" requests) is {rating.label}: check the application logs and the failures below."
    ]


def error_kind_rule(result: RunResult) -> list[str]:
    """One line per kind of failure that reaches a noticeable share of requests."""
    total = result.summary.requests
    if not total:
        return []
    groups: dict[str, list] = {
        "5xx": [],
        "429": [],
        "4xx": [],
        "timeout": [],
        "tls": [],
        "redirects": [],
        "connection": [],
    }
    for err in result.errors:
        if err.kind == "http" and err.status is not None:
            if err.status >= 500:
                groups["5xx"].append(err)
            elif err.status == 429:
                groups["429"].append(err)
            else:
                groups["4xx"].append(err)
        elif err.kind in ("timeout", "tls", "redirects"):
            groups[err.kind].append(err)
        elif err.kind in _CONNECTION_KINDS:
            groups["connection"].append(err)
    advice = {
        "5xx": "server errors (HTTP 5xx) {where}: the target failed under load; check its"
        " logs, database connections and resource use at that concurrency.",
        "429": "rate-limited responses (HTTP 429) {where}: the target's rate limiting"
        " throttled the test; raise the limit for the test or lower the load.",
        "4xx": "client errors (HTTP 4xx) {where}: the requests themselves are rejected;"
        " check paths, payloads and credentials in the scenario.",
        "timeout": "timeouts {where}: responses took longer than the request timeout;"
        " profile the slow path and check connection pools and external calls.",
        "tls": "TLS failures {where}: the target's certificate was refused or the handshake"
        " failed; give the CA that signed it ([http] ca_file, --ca-file), a client"
        " certificate if the server asks for one (--client-cert), the name on the certificate"
        " when testing by IP ([http] server_name), or -k/--insecure for a test server.",
        "redirects": "redirect loops {where}: the target kept redirecting past"
        " [http] max_redirects; check the Location headers it sends.",
        "connection": "connection failures ({kinds}) {where}: check that the target"
        " accepts this many connections (listen backlog, file descriptors, firewall).",
    }
    lines = []
    for group, rows in groups.items():
        count = sum(r.count for r in rows)
        if not rows or count / total < KIND_SHARE:
            continue
        by_endpoint: dict[str, int] = {}
        for r in rows:
            by_endpoint[r.endpoint] = by_endpoint.get(r.endpoint, 0) + r.count
        worst = sorted(by_endpoint.items(), key=lambda kv: -kv[1])[:2]
        where = "on " + ", ".join(name for name, _ in worst)
        kinds = ", ".join(sorted({r.label for r in rows}))
        text = advice[group].format(where=where, kinds=kinds)
        lines.append(f"{fmt_int(count)} {text}")
    return lines


def stalled_share(result: RunResult) -> float:
    """The share of requests in flight across a stall of the generator's event loop: a
    percentile whose tail holds that many is the generator's, not the target's."""
    return float((result.generator.get("loop") or {}).get("stalled_share") or 0.0)


def slow_endpoint_rule(result: RunResult) -> list[str]:
    """Endpoints whose p95 falls outside the "excellent" and "good" response-time bands
    (not when the generator's stalls could make the P95: the generator rule says so)."""
    lines: list[str] = []
    if stalled_share(result) >= 0.05:
        return lines
    for e in sorted(result.endpoints, key=lambda e: -e.stats.latency.p95):
        p95 = e.stats.latency.p95
        if not e.histogram.total and not p95:
            continue
        rating = rate_response_ms(p95)
        if rating.tone == "warn":
            lines.append(
                f"{e.name}: P95 {fmt_ms(p95)} ms is only {rating.label} (500-1000 ms);"
                " profile it before load grows."
            )
        elif rating.tone == "bad":
            lines.append(
                f"{e.name}: P95 {fmt_ms(p95)} ms {rating.label} (over 1000 ms); profile the"
                " endpoint and check database queries and external calls."
            )
    return lines


def spread_rule(result: RunResult) -> list[str]:
    """A long tail: p99 far above p50 on an endpoint whose p99 is no longer excellent
    (not when the generator's stalls could make the P99)."""
    flagged = []
    if stalled_share(result) >= 0.01:
        return []
    for e in result.endpoints:
        lat = e.stats.latency
        if lat.p50 > 0 and lat.p99 >= SPREAD_MIN_P99_MS and lat.p99 / lat.p50 >= SPREAD_RATIO:
            flagged.append((lat.p99 / lat.p50, e))
    flagged.sort(key=lambda pair: -pair[0])
    return [
        f"{e.name}: P99 {fmt_ms(e.stats.latency.p99)} ms is {ratio:.1f}x its P50"
        f" ({fmt_ms(e.stats.latency.p50)} ms); some requests wait on something others do not"
        " (queueing, lock contention, pauses, a slow dependency)."
        for ratio, e in flagged[:3]
    ]


def throughput_rule(result: RunResult) -> list[str]:
    """A low throughput, when the target set it (not the think time: report/throughput)."""
    s = result.summary
    rating, _ = throughput_rating(result)
    if s.requests == 0 or rating.tone != "bad":
        return []
    return [
        f"Throughput {fmt_rate(s.rps)} req/s is in the '{rating.label}' band (under 100"
        " req/s); if production traffic is higher, add capacity or raise the users to find"
        " the limit."
    ]


def drift_rule(result: RunResult) -> list[str]:
    """Latency that grows during the run: saturation, a leak, or a filling queue."""
    seconds = result.per_second
    if len(seconds) < DRIFT_MIN_SECONDS:
        return []
    third = len(seconds) // 3
    first, last = Histogram(), Histogram()
    for pairs in seconds[:third]:
        first.add_sparse(pairs)
    for pairs in seconds[-third:]:
        last.add_sparse(pairs)
    if not first.total or not last.total:
        return []
    before = first.percentile(0.95) / 1000
    after = last.percentile(0.95) / 1000
    if before <= 0 or after < SPREAD_MIN_P99_MS or after / before < DRIFT_RATIO:
        return []
    return [
        f"P95 rose from {fmt_ms(before)} ms in the first third of the run to {fmt_ms(after)} ms"
        " in the last: the target degrades under sustained load (saturation, a leak, a"
        " growing queue); run longer to see where it settles."
    ]


def sample_size_rule(result: RunResult) -> list[str]:
    responses = result.histogram.total
    if responses == 0 or responses >= MIN_RESPONSES:
        return []
    return [
        f"Only {fmt_int(responses)} responses were measured, so P99 rests on fewer than ten"
        " of them; run longer for stable tail figures."
    ]


RULES: tuple[Callable[[RunResult], list[str]], ...] = (
    nothing_measured_rule,
    failed_iterations_rule,
    dead_endpoint_rule,
    generator_rule,
    error_rate_rule,
    error_kind_rule,
    slow_endpoint_rule,
    spread_rule,
    throughput_rule,
    drift_rule,
    sample_size_rule,
)


def numbered(lines: list[str]) -> list[str]:
    """``1. ...``, ``2. ...``: the report's numbered list."""
    return [f"{i}. {line}" for i, line in enumerate(lines, 1)]
