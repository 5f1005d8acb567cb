"""``run --cluster``: the flags that put the engines on a Dask cluster, and opening it.

Only a run that names a cluster imports :mod:`tui_loadtest.cluster` (and so Dask):
``tui-loadtest --help`` and local runs never load it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..errors import UsageError, UserError
from ..scenario import Scenario

DEMO_ON_A_CLUSTER = (
    "the embedded demo API listens on this machine's loopback, which the cluster's workers "
    "cannot reach: serve it on a reachable address with `tui-loadtest demo-server --host "
    "0.0.0.0 --port 5000` and run with --host http://THIS_MACHINE:5000 (or use --cluster local:N)"
)


def add_flags(run: argparse.ArgumentParser, positive_int: Callable[[str], int]) -> None:
    group = run.add_argument_group("cluster (pip install 'tui-loadtest[cluster]'; docs/cluster.md)")
    group.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the engines on a Dask cluster: local:N starts N worker processes here, "
        "tcp://HOST:8786 uses a running scheduler (default: local processes, --workers)",
    )
    group.add_argument(
        "--cluster-workers",
        type=positive_int,
        metavar="N",
        help="use N of the cluster's workers, one engine each (default: all)",
    )


def open_pool(
    scenario: Scenario,
    *,
    workers_flag: int | None,
    note: Callable[[str], None],
    wait_s: float | None = None,
) -> tuple[Any, int]:
    """Connect to the scenario's cluster: ``(pool, engines)``, the pool ready for ``Run``.

    One line (exit 2) when it cannot be used: a cluster with ``--workers``, the embedded
    demo on a scheduler's workers, Dask not installed, a scheduler out of reach.
    """
    spec = scenario.cluster
    if workers_flag is not None:
        raise UsageError(
            "--workers starts local processes; on a cluster use --cluster-workers N "
            "(one engine per Dask worker)"
        )
    if spec.remote and scenario.is_demo:
        raise UsageError(DEMO_ON_A_CLUSTER)
    if any(p.script is not None for p in scenario.parts):
        raise UsageError(
            "--cluster: a [[scenarios]] entry's script is not shipped to a cluster yet "
            "(run it on local workers)"
        )
    try:
        from ..cluster.dask_pool import DaskPool
    except ImportError as exc:
        raise UsageError(
            f"--cluster needs Dask ({exc.name or exc} is not installed): "
            "pip install 'tui-loadtest[cluster]'"
        ) from None
    from ..cluster.shipping import script_files
    from ..engine.pool import PoolError

    if scenario.script is not None:
        try:  # before the cluster is reached: the script's folder may be more than it ships
            script_files(scenario.script)
        except PoolError as exc:
            raise UsageError(f"--cluster: {exc}") from None
    assert spec.address is not None
    pool = (
        DaskPool(spec.address, spec.workers)
        if wait_s is None
        else DaskPool(spec.address, spec.workers, wait_s=wait_s)
    )
    try:
        engines = pool.connect()
    except PoolError as exc:
        raise UserError(str(exc)) from None
    useful = max((p.load.useful_workers for p in scenario.parts), default=0)
    useful = useful or scenario.load.useful_workers
    if engines > useful:
        note(f"--cluster: using {useful} of the cluster's {engines} workers (the load keeps "
             f"{useful} busy: one user, or one request per second, each)")  # fmt: skip
        engines = useful
    note(f"running on {engines} worker(s) of the Dask cluster {spec.address}")
    return pool, engines
