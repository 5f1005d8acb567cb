"""``[cluster]`` and ``--cluster``: where the engines run, checked like the rest of a scenario.

The address is checked here, before anything connects, so a typo costs one line:
``local:N`` (a Dask cluster of N worker processes started on this machine), or a
running scheduler's ``tcp://HOST:PORT`` (``tls://`` with Dask's TLS settings; a
bare ``HOST:PORT`` means ``tcp://``). Connecting is the cluster backend's job
(``tui_loadtest.cluster``), which only a run on a cluster imports.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..errors import ScenarioError
from .checks import Context, choice, positive_int
from .messages import show
from .model import MAX_CLUSTER_WORKERS, WORKER_LOSS, ClusterSpec, Scenario

__all__ = ["CLUSTER_KEYS", "cluster_address", "parse_cluster", "with_cluster_flags"]

CLUSTER_KEYS = ("address", "workers", "on_worker_loss")
ADDRESS_HELP = '"local:N" or a scheduler\'s "tcp://HOST:8786"'
_LOCAL = re.compile(r"local:(\d+)")
_REMOTE = re.compile(r"(?:(tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")


def cluster_address(text: str) -> str:
    """The address in its one spelling (``HOST:PORT`` gains ``tcp://``), or ValueError."""
    value = text.strip()
    if m := _LOCAL.fullmatch(value):
        n = int(m.group(1))
        if not 1 <= n <= MAX_CLUSTER_WORKERS:
            raise ValueError(f"local:N with N from 1 to {MAX_CLUSTER_WORKERS}")
        return f"local:{n}"
    m = _REMOTE.fullmatch(value)
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise ValueError(ADDRESS_HELP)
    return f"{m.group(1) or 'tcp'}://{m.group(2)}:{int(m.group(3))}"


def parse_cluster(ctx: Context, raw: Any) -> ClusterSpec:
    """The ``[cluster]`` table (absent: local worker processes)."""
    table = ctx.table("cluster", raw, "a table ([cluster])")
    ctx.check_keys("cluster", table, CLUSTER_KEYS)
    address = None
    if "address" in table:
        value = table["address"]
        if not isinstance(value, str):
            raise ctx.expected("cluster.address", ADDRESS_HELP, value)
        try:
            address = cluster_address(value)
        except ValueError as exc:
            raise ctx.expected("cluster.address", str(exc), value) from None
    workers = None
    if "workers" in table:
        workers = positive_int(ctx, "cluster.workers", table["workers"])
        if workers > MAX_CLUSTER_WORKERS:
            raise ctx.expected("cluster.workers", f"at most {MAX_CLUSTER_WORKERS}", workers)
        if address is None:
            raise ctx.fail("cluster.workers", "needs cluster.address (the cluster to use)")
    loss = table.get("on_worker_loss", "continue")
    loss = choice(ctx, "cluster.on_worker_loss", loss, WORKER_LOSS)
    return ClusterSpec(address=address, workers=workers, on_worker_loss=loss)


def with_cluster_flags(
    scenario: Scenario,
    *,
    address: str | None = None,
    workers: int | None = None,
    on_worker_loss: str | None = None,
) -> Scenario:
    """The scenario's ``[cluster]`` with ``--cluster``, ``--cluster-workers`` and
    ``--on-worker-loss`` applied (flags win)."""
    spec = scenario.cluster
    if address is not None:
        try:
            spec = replace(spec, address=cluster_address(address))
        except ValueError as exc:
            raise ScenarioError(f"--cluster: expected {exc}, got {show(address)}") from None
    if workers is not None:
        if workers > MAX_CLUSTER_WORKERS:
            raise ScenarioError(
                f"--cluster-workers: expected at most {MAX_CLUSTER_WORKERS}, got {workers}"
            )
        if spec.address is None:
            raise ScenarioError("--cluster-workers: needs --cluster (or [cluster] address)")
        spec = replace(spec, workers=workers)
    if on_worker_loss is not None:
        spec = replace(spec, on_worker_loss=on_worker_loss)
    return replace(scenario, cluster=spec)
