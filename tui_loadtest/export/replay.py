"""``tui-loadtest report FILE.ndjson``: a report rebuilt from a ``--stream`` file.

Each second of the stream becomes one delta again and goes through the same
:class:`~tui_loadtest.stats.aggregate.RunAggregate` a live run uses, so the rebuilt
report's figures are computed exactly as the run's own (the histograms are the
run's buckets, never estimates). A stream cut short (a run killed with SIGKILL)
gives the report of every second it holds; a last line cut in the middle is left
out and said so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..errors import UserError, os_reason
from ..stats.aggregate import (
    EndpointDelta,
    FlowDelta,
    RunAggregate,
    StreamDelta,
    WorkerDelta,
)
from ..stats.measured import measured_figures, users_seen, warmup_figures
from ..stats.result import RunResult
from .stream import STREAM_FORMAT, STREAM_KIND


def is_stream(path: str | Path) -> bool:
    """True when the file's first line is a tui-loadtest stream's header."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20)
        return msgspec.json.decode(first).get("stream") == STREAM_KIND
    except (OSError, msgspec.DecodeError, AttributeError):
        return False


def _lines(path: str | Path, note: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, lines read lazily
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {os_reason(exc)}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                line = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                if not raw.endswith(b"\n"):  # the write a kill cut short
                    note(
                        f"{path}: line {number} is cut short (the run was killed as it was"
                        " written); the report holds the lines before it"
                    )
                    return
                raise UserError(f"{path}: line {number} is not JSON") from None
            if not isinstance(line, dict):
                raise UserError(f"{path}: line {number} is not a JSON object")
            yield line


def replay(path: str | Path, note: Callable[[str], None] = lambda _: None) -> RunResult:
    """The report of the run a stream file holds (see the module docstring)."""
    lines = _lines(path, note)
    header = next(lines, None)
    if header is None or header.get("stream") != STREAM_KIND:
        raise UserError(
            f"{path}: not a tui-loadtest stream (its first line is not a --stream"
            " header); a JSON report is read with `baselines add-run`"
        )
    if not isinstance(header.get("format"), int) or header["format"] > STREAM_FORMAT:
        raise UserError(
            f"{path}: stream format {header.get('format')!r} is newer than this"
            f" tui-loadtest reads ({STREAM_FORMAT}); upgrade tui-loadtest"
        )
    try:
        return _replay(path, header, note)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UserError(
            f"{path}: not a stream this version wrote ({type(exc).__name__}: {exc})"
        ) from None


def _replay(path: str | Path, header: dict[str, Any], note: Callable[[str], None]) -> RunResult:
    keys = [tuple(k) for k in header["endpoints"]]
    groups = [str(g) for g in header.get("endpoint_groups", ())]  # [[scenarios]]
    checks = [tuple(k) for k in header.get("checks", ())]
    check_groups = [str(g) for g in header.get("check_groups", ())]
    for line in _lines(path, lambda _: None):  # first pass: every row a script named
        keys += [tuple(k) for k in line.get("new_endpoints", ())]
        groups += [str(g) for g in line.get("new_endpoint_groups", ())]
        checks += [tuple(k) for k in line.get("new_checks", ())]
        check_groups += [str(g) for g in line.get("new_check_groups", ())]
    agg = RunAggregate(
        [(str(m), str(n)) for m, n in keys],
        workers=1,
        flows=tuple(header["flows"]),
        warmup_s=float(header.get("warmup_s") or 0.0),
        groups=groups if len(groups) == len(keys) else (),
        flow_groups=[str(g) for g in header.get("flow_groups", ())],
        checks=[(str(e), str(n), bool(soft)) for e, n, soft in checks],
        check_groups=check_groups if len(check_groups) == len(checks) else (),
    )
    open_model = header.get("mode") == "arrival-rate"
    end: dict[str, Any] | None = None
    last_t, connections = -1, 0
    for line in _lines(path, note):
        if "end" in line:
            end = line["end"]
            continue
        if "t" not in line:
            continue
        agg.add(_delta(line, open_model))
        last_t, connections = int(line["t"]), int(line.get("connections", connections))
    agg.finish()
    if last_t < 0:
        raise UserError(f"{path}: the stream holds no complete second (the run ended in its first)")
    return _result(header, agg, end, connections, last_t)


def _hist(d: dict[str, Any] | None) -> tuple[list[tuple[int, int]] | None, int]:
    if d is None:
        return None, 0
    return [(int(b), int(c)) for b, c in d["buckets"]], int(d["sum_us"])


def _delta(line: dict[str, Any], open_model: bool) -> WorkerDelta:
    endpoints = []
    for e in line["endpoints"]:
        buckets = [(int(b), int(c)) for b, c in e["buckets"]]
        responses = sum(c for _, c in buckets)
        other = int(e["requests"]) - responses  # requests that got no response
        service, service_sum = _hist(e.get("service"))
        ttfb, ttfb_sum = _hist(e.get("ttfb"))
        endpoints.append(
            EndpointDelta(
                index=int(e["row"]),
                buckets=buckets,
                sum_us=int(e["sum_us"]),
                bytes_received=int(e["bytes_received"]),
                http_failures=int(e["failures"]) - other,
                other_failures=other,
                service_buckets=service,
                service_sum_us=service_sum,
                bytes_sent=int(e["bytes_sent"]),
                statuses=[(int(s), int(c)) for s, c in e["statuses"]],
                redirects=int(e.get("redirects", 0)),
                ttfb_buckets=ttfb,
                ttfb_sum_us=ttfb_sum,
                stream=_stream(e["stream"]) if "stream" in e else None,
            )
        )
    flows = []
    for f in line["flows"]:
        service, service_sum = _hist(f.get("service"))
        flows.append(
            FlowDelta(
                [(int(b), int(c)) for b, c in f["buckets"]],
                int(f["sum_us"]),
                int(f["failed"]),
                service,
                service_sum,
            )
        )
    lag, lag_sum = _hist(line.get("lag"))
    loop, loop_sum = _hist(line.get("loop_lag"))
    return WorkerDelta(
        worker=0,
        tick=int(line["t"]),
        span_s=float(line["span_s"]),
        users=int(line["users"]),
        endpoints=endpoints,
        errors=[(str(k), s, int(r), int(c), str(m)) for k, s, r, c, m in line["error_rows"]],
        paused=bool(line.get("paused", False)),
        target=float(line.get("target_total") or 0.0),
        dropped=int(line.get("dropped_total", 0)),
        lag_buckets=lag if lag is not None else ([] if open_model else None),
        lag_sum_us=lag_sum,
        flows=flows,
        paused_s=float(line.get("paused_s", 0.0)),
        users_peak=int(line.get("users_peak", 0)),
        user_s=float(line.get("user_s", 0.0)),
        loop_lag=loop,
        loop_lag_sum_us=loop_sum,
        checks=[(int(r), int(p), int(f)) for r, p, f in line.get("checks", ())],
        classes={str(k): int(v) for k, v in line["classes"].items()} if "classes" in line else None,
    )


def _stream(d: dict[str, Any]) -> StreamDelta:
    ttft, ttft_sum = _hist(d["ttft"])
    gaps, gap_sum = _hist(d["gaps"])
    return StreamDelta(
        ttft=ttft or [],
        ttft_sum_us=ttft_sum,
        gaps=gaps or [],
        gap_sum_us=gap_sum,
        events=int(d["events"]),
        tokens=int(d["tokens"]),
        gen_tokens=int(d["gen_tokens"]),
        gen_us=int(d["gen_us"]),
        streams=int(d["streams"]),
    )


def _result(
    header: dict[str, Any],
    agg: RunAggregate,
    end: dict[str, Any] | None,
    connections: int,
    last_t: int,
) -> RunResult:
    outcome: dict[str, Any] = {
        "reason": end["reason"] if end else f"the stream ends at {last_t + 1} s (killed?)",
        "interrupted": bool(end["interrupted"]) if end else True,
        "connections": connections,
        "paused_s": float(end["paused_s"]) if end else 0.0,
        "worker_errors": list(end["worker_errors"]) if end else [],
        "workers_lost": list(end["workers_lost"]) if end else [],
        "degraded": end["degraded"] if end else None,
        "users": {
            "planned": int(end["users_planned"]) if end else header["load"].get("users", 0),
            **users_seen(agg),
        },
        "notes": [f"rebuilt from a --stream file (run id {header.get('run_id', '?')})"],
    }
    return RunResult(
        started_at=str(header.get("started_at", "")),
        host=str(header.get("host", "")),
        scenario_name=str(header.get("scenario", "")),
        load=dict(header["load"]),
        scenario=dict(header.get("scenario_report") or {}),
        **measured_figures(agg),
        warmup=warmup_figures(agg, header.get("warmup_s")),
        outcome=outcome,
        environment=dict(header.get("environment") or {}),
    )
