"""The flags ``run`` and ``bench`` share for baselines, gates and extra reports
(``--save-baseline``, ``--compare-to``, ``--fail-on-regression``, ``--junit``,
``--html``, ``--csv``, ``--exit-code-on-error``, ``--store``), as a parent parser,
and their values as the core's plain :class:`~tui_loadtest.pipeline.outputs.OutputOptions`.

What those flags do after the run is :mod:`tui_loadtest.pipeline.outputs`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .args import exit_code, percent, store_option

if TYPE_CHECKING:
    from ..pipeline.outputs import OutputOptions
    from ..scenario import Scenario


THRESHOLDS_EPILOG = (
    "\nthresholds from the scenario's [thresholds] table are checked at the end;"
    "\na failed one exits 1 and is named on one line.\n"
)


def output_flags(*, dashboard: bool) -> argparse.ArgumentParser:
    """The flags ``run`` and ``bench`` share (a parent parser): baselines, gates, reports.
    ``dashboard``: the command can show the comparison live (``run``)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("baselines, gates and reports")
    group.add_argument(
        "--save-baseline", metavar="NAME", help="save the finished run as baseline NAME"
    )
    group.add_argument(
        "--overwrite-baseline",
        action="store_true",
        help="with --save-baseline: replace a baseline of that name",
    )
    group.add_argument(
        "--compare-to",
        metavar="NAME",
        help=(
            "compare with baseline NAME at the end (and live, on run's dashboard);"
            if dashboard
            else "compare with baseline NAME at the end;"
        )
        + " a significant regression exits 1",
    )
    group.add_argument(
        "--fail-on-regression",
        type=percent,
        default=10.0,
        metavar="PCT",
        help="with --compare-to: a change counts from PCT %% (default 10)",
    )
    group.add_argument(
        "--junit",
        metavar="FILE",
        help="write each threshold and regression verdict as a JUnit XML test case"
        " (GitLab, Jenkins and GitHub test reports)",
    )
    group.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    group.add_argument(
        "--csv",
        metavar="PREFIX",
        help="write Locust's four CSV files: PREFIX_stats.csv, PREFIX_stats_history.csv,"
        " PREFIX_failures.csv, PREFIX_exceptions.csv",
    )
    group.add_argument(
        "--exit-code-on-error",
        type=exit_code,
        metavar="N",
        help="exit N when any request or iteration (a script task that raised) failed and"
        " the run would otherwise exit 0 (Locust's flag; default: failures alone do not"
        " change the exit code)",
    )
    store_option(group, suppress=False)
    return parent


def output_options(args: argparse.Namespace, scenario: Scenario) -> OutputOptions:
    """The parsed output flags as the core's plain options."""
    from ..pipeline.outputs import OutputOptions

    return OutputOptions(
        store=args.store,
        save_baseline=args.save_baseline,
        overwrite_baseline=args.overwrite_baseline,
        compare_to=args.compare_to,
        fail_on_regression_pct=args.fail_on_regression,
        html=args.html,
        csv=args.csv,
        junit=args.junit,
        thresholds=tuple(scenario.thresholds),
        out=getattr(args, "out", None),
        scenario_file=getattr(args, "scenario", None),
        exit_code_on_error=args.exit_code_on_error,
        stream=scenario.export.stream,
    )
