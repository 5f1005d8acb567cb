"""``run``'s metrics-out flags (``--prometheus``, ``--otlp``, ``--stream``...), and opening
the exporters before any load (``tui_loadtest.export``, docs/metrics-out.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .args import note

if TYPE_CHECKING:
    from ..export import Exporters
    from ..scenario import Scenario


def add_export_flags(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("metrics out while the run goes (docs: Metrics out)")
    group.add_argument(
        "--prometheus",
        metavar="ADDR",
        help="serve the run's figures on http://ADDR/metrics for Prometheus to scrape"
        " (HOST:PORT, :PORT or PORT; loopback unless --prometheus-allow-remote; 9646 is ours)",
    )
    group.add_argument(
        "--prometheus-allow-remote",
        action="store_true",
        help="let --prometheus listen on an address other than loopback (0.0.0.0: every"
        " interface; the figures carry your endpoints' names)",
    )
    group.add_argument(
        "--otlp",
        metavar="URL",
        help="send the figures to an OpenTelemetry collector over OTLP/HTTP"
        " (http://HOST:4318; pip install 'tui-loadtest[otel]')",
    )
    group.add_argument(
        "--otlp-interval",
        metavar="T",
        help='with --otlp: how often to send ("5s" by default)',
    )
    group.add_argument(
        "--stream",
        metavar="FILE",
        help="write one JSON line per complete second to FILE as it completes (NDJSON);"
        " `tui-loadtest report FILE` rebuilds the report from it, even after a crash",
    )
    group.add_argument(
        "--run-id",
        metavar="ID",
        help="the run_id label of the exported figures (default: the start time, and 4 hex digits)",
    )


def export_flags(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """The scenario's ``[export]`` with the flags over it."""
    from ..scenario.export_table import with_export_flags

    return with_export_flags(
        scenario,
        prometheus=args.prometheus,
        allow_remote=args.prometheus_allow_remote,
        otlp=args.otlp,
        otlp_interval=args.otlp_interval,
        stream=args.stream,
        run_id=args.run_id,
    )


def open_exporters(scenario: Scenario, *, repeat: int) -> Exporters | None:
    """The exporters the scenario asks for, open (the port bound, the file created), or
    None; one line and exit 2 when one cannot be. Only then is ``tui_loadtest.export``
    imported."""
    if not scenario.export.active:
        return None
    from ..export import Exporters

    return Exporters.open(scenario.export, note, repeat=repeat)
