"""Runs on a real Dask LocalCluster (two worker processes): the same accounting as local
processes, live control on every worker, version checks, the demo on a remote cluster.

Each test connects to the module's cluster by its scheduler address, as a user would
with ``--cluster tcp://HOST:8786``; ``--cluster local:N`` has its own test (it starts
its own cluster) in test_cluster_cli.py.
"""

from __future__ import annotations

import time

import pytest

import tui_loadtest
from tui_loadtest.cli import main
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.engine.pool import PoolError

from .cluster_support import (  # noqa: F401 - fixtures
    RecordingPool,
    dask_cluster,
    responses,
    server,
    wait_until,
)
from .engine_harness import scenario

pytestmark = pytest.mark.timeout(180)


def run_on(pool, sc, url, workers=2) -> Run:  # noqa: ANN001
    pool.connect()
    return Run(sc, url, workers=workers, pool=pool)


def test_exact_totals_and_the_same_accounting_as_local_processes(dask_cluster, server):
    """A request budget on two Dask workers: every request the server answered is
    counted once, and the report's figures are those of a --workers 2 local run."""
    srv, url = server
    sc = scenario([{"path": "/a"}, {"path": "/b", "weight": 2}], load={"users": 6, "requests": 600})
    results = []
    for pool in (RecordingPool(dask_cluster.scheduler_address), None):
        before = srv.requests
        run = Run(sc, url, workers=2, pool=pool) if pool is None else run_on(pool, sc, url)
        try:
            run.start()
            assert run.wait(60)
        finally:
            run.close()
            if pool is not None:
                pool.close()
        results.append((run.result(), srv.requests - before))
    (dask, dask_seen), (local, local_seen) = results
    assert dask_seen == local_seen == 600
    assert dask.summary.requests == local.summary.requests == 600
    assert dask.summary.failures == local.summary.failures == 0
    assert sum(e.stats.requests for e in dask.endpoints) == 600
    assert all(e.histogram.total == e.stats.requests > 0 for e in dask.endpoints)
    assert dask.histogram.total == local.histogram.total == 600
    assert dask.summary.statuses == local.summary.statuses == ((200, 600),)
    assert dask.summary.bytes_received == local.summary.bytes_received > 0
    assert dask.summary.bytes_sent == local.summary.bytes_sent > 0
    assert sum(p.requests for p in dask.timeline) <= 600  # the last, partial second aside
    shares = [e["share"] for e in dask.environment["engines"]]
    assert shares == [e["share"] for e in local.environment["engines"]]
    assert [s["requests"] for s in shares] == [300, 300]
    engines = dask.environment["engines"]
    assert [e["address"].startswith("tcp://127.0.0.1:") for e in engines] == [True, True]
    assert all(e["rtt_ms"] is not None and e["rtt_ms"] > 0 for e in engines)
    assert dask.environment["backend"].startswith("Dask cluster tcp://")


def test_pause_resume_and_users_reach_both_workers(dask_cluster, server):
    srv, url = server
    sc = scenario(
        [{"path": "/"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "2m", "think_time": "0.02s"},
    )
    pool = RecordingPool(dask_cluster.scheduler_address)
    run = run_on(pool, sc, url)
    try:
        run.start()

        def last(worker: int):  # noqa: ANN202
            deltas = pool.deltas(worker)
            return deltas[-1] if deltas else None

        def all_(check) -> bool:  # noqa: ANN001
            return all((d := last(w)) is not None and check(d) for w in (0, 1))

        pool.wait_for(lambda: all_(lambda d: d.users == 2 and responses(d) > 0))
        run.pause()
        pool.wait_for(lambda: all_(lambda d: d.paused and responses(d) == 0))
        paused_at = srv.requests
        # a whole second more, still paused on both: nothing reached the server
        ticks = [last(0).tick, last(1).tick]
        pool.wait_for(lambda: last(0).tick > ticks[0] + 1 and last(1).tick > ticks[1] + 1)
        assert srv.requests == paused_at
        run.resume()
        pool.wait_for(lambda: all_(lambda d: not d.paused and responses(d) > 0))
        run.set_users(8)
        pool.wait_for(lambda: all_(lambda d: d.users == 4))
        run.set_users(2)
        pool.wait_for(lambda: all_(lambda d: d.users == 1))
        run.stop("test over")
        assert run.wait(30)
    finally:
        run.close()
        pool.close()
    result = run.result()
    assert result.summary.requests == srv.requests


def test_a_version_mismatch_is_a_clear_error_before_any_load(dask_cluster, server):
    """One worker reports another tool version in the handshake: no engine starts."""
    import distributed

    srv, url = server
    client = distributed.Client(dask_cluster.scheduler_address, set_as_default=False)
    addr = sorted(client.scheduler_info(n_workers=-1)["workers"])[1]
    ours = tui_loadtest.__version__
    client.run(setattr, tui_loadtest, "__version__", "0.0.0-other", workers=[addr])
    sc = scenario([{"path": "/"}], load={"users": 2, "run_time": "5s"})
    pool = RecordingPool(dask_cluster.scheduler_address)
    try:
        run = run_on(pool, sc, url)
        with pytest.raises(PoolError) as err:
            run.start()
    finally:
        client.run(setattr, tui_loadtest, "__version__", ours, workers=[addr])
        client.close()
        pool.close()
    text = str(err.value)
    assert "\n" not in text
    assert f"{addr}" in text and f"runs tui-loadtest 0.0.0-other, this machine {ours}" in text
    assert "no load was sent" in text
    assert all(w.pid is None for w in pool.info())  # no engine was started
    assert srv.requests == 0


def test_the_embedded_demo_on_a_remote_cluster_is_a_clear_error(capsys):
    code = main(["run", "--no-ui", "--cluster", "tcp://127.0.0.1:1", "-t", "1s"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("tui-loadtest: error: ")
    assert "tui-loadtest demo-server --host 0.0.0.0 --port 5000" in err
    assert "--host http://THIS_MACHINE:5000" in err


def test_a_cluster_flag_is_checked_before_anything_connects(capsys):
    assert main(["run", "--no-ui", "--cluster", "tcp//nope", "--host", "http://127.0.0.1:1"]) == 2
    assert "--cluster: expected" in capsys.readouterr().err
    code = main(
        ["run", "--no-ui", "--cluster", "local:2", "--workers", "2", "--host", "http://x:1"]
    )
    assert code == 2 and "--cluster-workers" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line(capsys, monkeypatch):
    from tui_loadtest.cluster import dask_pool

    monkeypatch.setattr(dask_pool, "CONNECT_TIMEOUT_S", 2.0)
    began = time.monotonic()
    code = main(["run", "--no-ui", "--cluster", "tcp://127.0.0.1:9", "--host", "http://x:1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert time.monotonic() - began < 60
