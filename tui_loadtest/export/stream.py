"""``--stream FILE.ndjson``: one JSON line per complete second, written as it completes.

The first line describes the run (``"stream": "tui-loadtest"``); each next one is a
complete second: the report's timeline point first, under the same names (``t``,
``rps``, ``users``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``errors``...), for ``jq``
and live tools, and beside them
everything the second held (each endpoint's histogram buckets, statuses, bytes,
errors, flows), so that ``tui-loadtest report FILE.ndjson`` rebuilds the report
from it (:mod:`~tui_loadtest.export.replay`). The last line, when the run ended
rather than died, says how it ended (``"end"``).

Each line is written, flushed and synced to disk from a thread of its own, as its
second completes: a run killed with SIGKILL, or a machine that dies, leaves every
second written so far. A file that cannot be written (a full disk) stops the stream
with a warning; the run and its report go on.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import UserError, os_reason
from ..report.output_files import check_output
from ..stats.report_format import load_report
from ..stats.result import environment, timeline_row

if TYPE_CHECKING:
    from ..engine.coordinator import Run
    from ..stats.aggregate import Second, StreamSpan
    from ..stats.histogram import Histogram

STREAM_KIND = "tui-loadtest"
STREAM_FORMAT = 1  # the line layout's version: readers refuse a newer one


def _hist(h: Histogram | None) -> dict[str, Any] | None:
    return None if h is None else {"buckets": h.to_sparse(), "sum_us": h.sum_us}


def _stream(st: StreamSpan) -> dict[str, Any]:
    """A streamed endpoint's second: its events' histograms and counts."""
    return {
        "ttft": _hist(st.ttft),
        "gaps": _hist(st.gaps),
        "events": st.events,
        "tokens": st.tokens,
        "gen_tokens": st.gen_tokens,
        "gen_us": st.gen_us,
        "streams": st.streams,
    }


class StreamWriter:
    """The stream file of one run (opened before any load: a bad name is one line)."""

    def __init__(self, path: str) -> None:
        check_output(path, "--stream")
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise UserError(f"--stream: {path}: cannot write: {os_reason(exc)}") from None
        self._sync = stat.S_ISREG(os.fstat(self._fd).st_mode)  # not a FIFO, not /dev/null
        self._run: Run | None = None
        self._run_id = ""
        self._rows = 0  # endpoint rows the stream has named so far
        self._checks = 0  # likewise, check rows
        self.failed: str | None = None  # why the stream stopped, if it did
        self.seconds = 0

    def attach(self, run: Run, run_id: str) -> None:
        self._run, self._run_id = run, run_id

    def _header(self, run: Run) -> dict[str, Any]:
        agg = run.aggregate
        self._rows = len(agg.endpoint_keys)
        self._checks = len(agg.check_keys)
        return {
            "stream": STREAM_KIND,
            "format": STREAM_FORMAT,
            "run_id": self._run_id,
            "scenario": run.scenario.name,
            "host": run.host,
            "started_at": run.started_at.isoformat(timespec="seconds") if run.started_at else "",
            "workers": run.workers,
            "mode": run.load.mode,
            "warmup_s": run.load.warmup_s,
            "endpoints": [list(k) for k in agg.endpoint_keys[: self._rows]],
            "flows": list(agg.flow_names),
            "checks": [list(k) for k in agg.check_keys[: self._checks]],
            # [[scenarios]]: each endpoint's, flow's and check's scenario (files with them)
            **(
                {
                    "endpoint_groups": agg.endpoint_groups[: self._rows],
                    "flow_groups": list(agg.flow_groups),
                    "check_groups": agg.check_groups[: self._checks],
                }
                if agg.parts
                else {}
            ),
            "load": msgspec.to_builtins(
                load_report(run.load, users=run.users_planned, workers=run.workers)
            ),
            "scenario_report": run.scenario.redacted,
            "environment": environment(run.workers),
        }

    def second(self, sec: Second) -> None:
        """Write one complete second (in the stream's own thread)."""
        run = self._run
        if run is None or self.failed is not None:
            return
        lines = []
        if self.seconds == 0:
            lines.append(self._header(run))
        lines.append(self._line(run, sec))
        payload = b"".join(msgspec.json.encode(line) + b"\n" for line in lines)
        try:
            _write_all(self._fd, payload)
            if self._sync:
                os.fsync(self._fd)
        except OSError as exc:
            self.failed = os_reason(exc)
            run.warn(
                f"--stream: cannot write {self.path}: {self.failed}; the stream stops at"
                f" {self.seconds} s (the report keeps every figure)"
            )
            return
        self.seconds += 1

    def _line(self, run: Run, sec: Second) -> dict[str, Any]:
        total = sec.total
        assert total is not None
        point = sec.point
        # The report's timeline point first (as the report writes it), then the details.
        line: dict[str, Any]
        if point is not None:
            line = timeline_row(point)
        else:  # the run's last, partial second: in the totals, off the timeline
            line = {"t": sec.tick, "rps": total.requests, "users": sec.users,
                    "errors": total.failures, "last": True}  # fmt: skip
        line["span_s"] = sec.span_s or 1.0
        keys = run.aggregate.endpoint_keys
        if len(keys) > self._rows:  # a script named new requests
            line["new_endpoints"] = [list(k) for k in keys[self._rows :]]
            if run.aggregate.parts:
                line["new_endpoint_groups"] = run.aggregate.endpoint_groups[self._rows :]
            self._rows = len(keys)
        checks = run.aggregate.check_keys
        if len(checks) > self._checks:  # a script named new checks
            line["new_checks"] = [list(k) for k in checks[self._checks :]]
            if run.aggregate.parts:
                line["new_check_groups"] = run.aggregate.check_groups[self._checks :]
            self._checks = len(checks)
        if sec.checks:
            line["checks"] = [[row, p, f] for row, (p, f) in sorted(sec.checks.items())]
        if sec.classes:
            line["classes"] = dict(sec.classes)
        line.update(
            paused_s=sec.paused_s,
            users_peak=sec.users_peak,
            user_s=sec.user_s,
            target_total=sec.target,
            dropped_total=sec.dropped,
            cpu_pct={str(w): round(v, 1) for w, v in sorted(sec.cpu.items())},
            connections=run.aggregate.connects,
            endpoints=[
                {
                    "row": row,
                    "buckets": span.hist.to_sparse(),
                    "sum_us": span.hist.sum_us,
                    "requests": span.requests,
                    "failures": span.failures,
                    "bytes_received": span.bytes_received,
                    "bytes_sent": span.bytes_sent,
                    "statuses": sorted(span.statuses.items()),
                    "redirects": span.redirects,
                    **({"service": _hist(span.service)} if span.service is not None else {}),
                    **({"ttfb": _hist(span.ttfb)} if span.ttfb is not None else {}),
                    **({"stream": _stream(span.stream)} if span.stream is not None else {}),
                }
                for row, span in sorted(sec.endpoints.items())
            ],
            error_rows=[
                [kind, status, row, count, message]
                for (kind, status, row), (count, message) in sec.errors.items()
            ],
            flows=[
                {
                    "buckets": f.hist.to_sparse(),
                    "sum_us": f.hist.sum_us,
                    "failed": f.failed,
                    **({"service": _hist(f.service)} if f.service is not None else {}),
                }
                for f in sec.flows
            ],
        )
        if sec.lag is not None:
            line["lag"] = _hist(sec.lag)
        if sec.loop_lag is not None:
            line["loop_lag"] = _hist(sec.loop_lag)
        return line

    def finish(self, run: Run) -> None:
        """The last line: how the run ended (absent when it was killed)."""
        if self.failed is None and self.seconds:
            end = {
                "end": {
                    "reason": run.stop_reason,
                    "interrupted": run.interrupted or run.stop_reason == "interrupted",
                    "paused_s": round(run.paused_s, 3),
                    "users_planned": run.users_planned,
                    "worker_errors": list(run.worker_errors),
                    "workers_lost": [dict(lost) for lost in run.lost],
                    "degraded": run.degraded,
                }
            }
            with contextlib.suppress(OSError):
                _write_all(self._fd, msgspec.json.encode(end) + b"\n")
                if self._sync:
                    os.fsync(self._fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
