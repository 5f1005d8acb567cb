"""Live metrics out: a Prometheus endpoint, OpenTelemetry over OTLP/HTTP, and a
per-second NDJSON stream on disk (``--prometheus``, ``--otlp``, ``--stream``,
``[export]``; docs/metrics-out.md).

Nothing here runs in the workers, nor in the merge thread: the coordinator hands
each complete second to :class:`~tui_loadtest.export.feed.Feed` queues
(``Run.listen``), and threads of ours fold them into running totals (read by the
``/metrics`` scrapes and the OTLP exporter) or write them to the stream. A slow or
dead collector is a warning event, never a slower run nor a figure lost from the
report. Everything is opened before any load: a taken port, an unwritable stream
file or a missing ``otel`` extra is one line and exit 2.

Only :mod:`~tui_loadtest.export.otlp` imports OpenTelemetry, and only a run with
``--otlp`` imports it (the ``opentelemetry`` contract in pyproject.toml).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.coordinator import Run
    from ..scenario.model import ExportSpec
    from .feed import Feed
    from .otlp import OtlpExporter
    from .prometheus import PrometheusEndpoint
    from .stream import StreamWriter
    from .totals import RunTotals

__all__ = ["Exporters", "new_run_id"]

DRAIN_S = 5.0  # how long the end of a run waits for an exporter's queue to empty


def new_run_id() -> str:
    """A run id that sorts by time: ``20261208-153012-a3f9`` (UTC)."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class Exporters:
    """The exporters one command asked for: opened before any load, attached to each
    run it makes (every run of a ``--repeat``), closed after the report is written."""

    def __init__(self, spec: ExportSpec, note: Callable[[str], None], repeat: int = 1) -> None:
        self.spec = spec
        self._note = note
        self._repeat = repeat
        self.base_id = spec.run_id or new_run_id()
        self.prometheus: PrometheusEndpoint | None = None
        self.otlp: OtlpExporter | None = None
        self.stream: StreamWriter | None = None
        self.runs = 0
        self.run_id = self.base_id
        self._run: Run | None = None
        self._totals: RunTotals | None = None
        self._feeds: list[Feed] = []

    @classmethod
    def open(
        cls, spec: ExportSpec, note: Callable[[str], None], repeat: int = 1
    ) -> Exporters | None:
        """Everything the spec asks for, ready before any load (None: nothing asked).
        Raises UserError (one line, exit 2) when something cannot be opened."""
        if not spec.active:
            return None
        from ..errors import UserError

        if spec.stream and repeat > 1:
            raise UserError("--stream: not with --repeat yet (one stream file holds one run)")
        ex = cls(spec, note, repeat)
        try:
            if spec.otlp:
                try:
                    from .otlp import OtlpExporter
                except ImportError:
                    raise UserError(
                        "--otlp needs the OpenTelemetry SDK and its OTLP exporter:"
                        " pip install 'tui-loadtest[otel]'"
                    ) from None
                ex.otlp = OtlpExporter(spec.otlp, spec.otlp_interval_s)
            if spec.stream:
                from .stream import StreamWriter

                ex.stream = StreamWriter(spec.stream)
            if spec.prometheus is not None:
                from .prometheus import PrometheusEndpoint, parse_address

                host, port = parse_address(
                    spec.prometheus, allow_remote=spec.prometheus_allow_remote
                )
                ex.prometheus = PrometheusEndpoint(host, port)
        except BaseException:
            ex.close()
            raise
        for line in ex.where():
            note(line)
        return ex

    def where(self) -> list[str]:
        """Where the figures go, one line each (said before the run starts)."""
        lines = []
        if self.prometheus is not None:
            lines.append(f"metrics on {self.prometheus.url} (run_id {self.base_id})")
        if self.otlp is not None:
            lines.append(
                f"metrics to {self.otlp.url} every {self.otlp.interval_s:g} s"
                f" (run_id {self.base_id})"
            )
        if self.stream is not None:
            lines.append(f"each second to {self.stream.path} as it completes")
        return lines

    def attach(self, run: Run) -> None:
        """Export ``run`` from its first second on (call before it goes); the previous
        run of a ``--repeat`` is finished first."""
        from .feed import Feed
        from .totals import RunTotals

        self._end_run()
        self.runs += 1
        self.run_id = f"{self.base_id}-{self.runs}" if self._repeat > 1 else self.base_id
        self._run = run
        if self.prometheus is not None or self.otlp is not None:
            totals = self._totals = RunTotals(run, self.run_id)
            self._listen(run, Feed("export", totals.fold, self._broken(run, "the exporters")))
            if self.prometheus is not None:
                self.prometheus.attach(totals)
            if self.otlp is not None:
                self.otlp.attach(totals, run.warn)
        if self.stream is not None:
            self.stream.attach(run, self.run_id)
            self._listen(run, Feed("stream", self.stream.second, self._broken(run, "--stream")))

    def _listen(self, run: Run, feed: Feed) -> None:
        self._feeds.append(feed)
        run.listen(feed.put)

    def _broken(self, run: Run, what: str) -> Callable[[BaseException], None]:
        def failed(exc: BaseException) -> None:
            run.warn(f"{what} stopped: {type(exc).__name__}: {exc} (the report keeps every figure)")

        return failed

    def _end_run(self) -> None:
        """The run is over: let the queues empty, then send and write its end."""
        run, self._run = self._run, None
        if run is None:
            return
        late = [f for f in self._feeds if not f.close(DRAIN_S)]
        self._feeds = []
        if late:
            self._note(
                f"the exporters had not caught up {DRAIN_S:g} s after the run"
                " (a stalled disk?): the last seconds may be missing from them"
            )
        if self._totals is not None:
            self._totals.finish()
        if self.otlp is not None:
            self.otlp.finish_run(self._note)
        if self.stream is not None and not late:
            self.stream.finish(run)

    def close(self) -> None:
        """After the report: finish the last run, then let go of the port and the file."""
        try:
            self._end_run()
        finally:
            if self.prometheus is not None:
                self.prometheus.close(self._note)
            if self.stream is not None:
                self.stream.close()
                if self.stream.seconds:
                    self._note(f"{self.stream.seconds} s streamed to {self.stream.path}")
            if self.otlp is not None:
                self.otlp.close()
