"""Runs on a real Dask LocalCluster (two worker processes): the same accounting as local
processes, live control on every worker, version checks, the demo on a remote cluster.

Each test connects to the module's cluster by its scheduler address, as a user would
with ``--cluster tcp://HOST:8786``; ``--cluster local:N`` has its own test (it starts
its own cluster) in test_cluster_cli.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tui_loadtest
from tui_loadtest.cli import main
from tui_loadtest.engine.coordinator import Run
from tui_loadtest.engine.pool import PoolError
from tui_loadtest.report.text import run_summary
from tui_loadtest.stats.result import RunResult

from .cluster_support import (
    recording_pool,
    responses,
    run_on_worker,
    shift_worker_clock,
    wait_until,
)
from .engine_harness import scenario

pytestmark = pytest.mark.timeout(180)


def run_on(pool, sc, url, workers=2) -> Run:  # noqa: ANN001
    pool.connect()
    return Run(sc, url, workers=workers, pool=pool)


def run_to_end(address: str, sc, url: str, workers: int | None = None) -> RunResult:  # noqa: ANN001
    """Run ``sc`` on the cluster (``workers`` engines; None: the pool's two) until it
    ends by itself; its result."""
    pool = recording_pool(address, workers=workers)
    run = run_on(pool, sc, url, workers=workers or 2)
    try:
        run.start()
        assert run.wait(60)
    finally:
        run.close()
        pool.close()
    return run.result()


def test_exact_totals_and_the_same_accounting_as_local_processes(dask_cluster, conn_server):
    """A request budget on two Dask workers: every request the server answered is
    counted once, and the report's figures are those of a --workers 2 local run."""
    srv, url = conn_server
    sc = scenario([{"path": "/a"}, {"path": "/b", "weight": 2}], load={"users": 6, "requests": 600})
    results = []
    for pool in (recording_pool(dask_cluster.scheduler_address), None):
        before = srv.requests
        run = Run(sc, url, workers=2, pool=pool) if pool is None else run_on(pool, sc, url)
        try:
            run.start()
            assert run.wait(60)
        finally:
            run.close()
            if pool is not None:
                pool.close()
        results.append((run.result(), srv.requests - before, run.snapshot.worker_rows))
    (dask, dask_seen, rows), (local, local_seen, local_rows) = results
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
    # the workers view: each engine's own count, where it ran, its CPU
    assert [r.requests for r in rows] == [300, 300] == [r.requests for r in local_rows]
    assert [r.address for r in rows] == [e["address"] for e in engines]
    assert all(r.state == "done" and r.cpu_pct is not None for r in rows)


def test_pause_resume_and_users_reach_both_workers(dask_cluster, conn_server):
    srv, url = conn_server
    sc = scenario(
        [{"path": "/"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "2m", "think_time": "0.02s"},
    )
    pool = recording_pool(dask_cluster.scheduler_address)
    run = run_on(pool, sc, url)
    try:
        run.start()

        def last(worker: int):  # noqa: ANN202
            deltas = pool.recorder.deltas(worker)
            return deltas[-1] if deltas else None

        def all_(check) -> bool:  # noqa: ANN001
            return all((d := last(w)) is not None and check(d) for w in (0, 1))

        pool.recorder.wait_for(lambda: all_(lambda d: d.users == 2 and responses(d) > 0))
        run.pause()
        pool.recorder.wait_for(lambda: all_(lambda d: d.paused and responses(d) == 0))
        paused_at = srv.requests
        # a whole second more, still paused on both: nothing reached the server
        ticks = [last(0).tick, last(1).tick]
        pool.recorder.wait_for(lambda: last(0).tick > ticks[0] and last(1).tick > ticks[1])
        assert last(0).paused and last(1).paused and srv.requests == paused_at
        run.resume()
        pool.recorder.wait_for(lambda: all_(lambda d: not d.paused and responses(d) > 0))
        run.set_users(8)
        pool.recorder.wait_for(lambda: all_(lambda d: d.users == 4))
        run.stop("test over")
        assert run.wait(30)
    finally:
        run.close()
        pool.close()
    result = run.result()
    assert result.summary.requests == srv.requests


def test_a_version_mismatch_is_a_clear_error_before_any_load(dask_cluster, conn_server):
    """One worker reports another tool version in the handshake: no engine starts."""
    import distributed

    srv, url = conn_server
    client = distributed.Client(dask_cluster.scheduler_address, set_as_default=False)
    addr = sorted(client.scheduler_info(n_workers=-1)["workers"])[1]
    ours = tui_loadtest.__version__
    client.run(setattr, tui_loadtest, "__version__", "0.0.0-other", workers=[addr])
    sc = scenario([{"path": "/"}], load={"users": 2, "run_time": "5s"})
    pool = recording_pool(dask_cluster.scheduler_address)
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


def test_a_killed_engine_is_lost_within_3_s_and_the_run_goes_on_degraded(dask_cluster, conn_server):
    """SIGKILL worker 1's engine (its pid from WorkerInfo). The server tells the two
    sides apart: the dead engine's connections close when it dies, the survivor's only
    after the run's stop. The totals are the survivor's (all of it, as the server saw
    it) plus what the dead engine had sent in its deltas."""
    srv, url = conn_server
    sc = scenario(
        [{"path": "/"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "2m", "think_time": "0.01s"},
    )
    pool = recording_pool(dask_cluster.scheduler_address)
    run = run_on(pool, sc, url)
    try:
        run.start()
        rec = pool.recorder
        rec.wait_for(lambda: all(len(rec.deltas(w)) >= 1 for w in (0, 1)))
        dead_pid = run.worker_info()[1].pid
        killed_at = time.monotonic()
        os.kill(dead_pid, signal.SIGKILL)
        wait_until(lambda: run.lost, run)
        assert time.monotonic() - killed_at < 3.0
        (alert,) = run.alerts  # what a headless run prints at once, in the dashboard's place
        assert alert.startswith("worker 1 lost at ") and "SIGKILL" in alert
        # the run goes on: the survivor reports another second
        last = rec.deltas(0)[-1].tick
        rec.wait_for(lambda: rec.deltas(0)[-1].tick > last)
        assert run.state in ("running", "ramping")
        # two seconds paused: they are no part of the lost worker's missing share
        run.pause()
        rec.wait_for(lambda: rec.deltas(0)[-1].paused and responses(rec.deltas(0)[-1]) == 0)
        paused_tick = rec.deltas(0)[-1].tick
        rec.wait_for(lambda: rec.deltas(0)[-1].tick >= paused_tick + 2)
        run.resume()
        rec.wait_for(lambda: responses(rec.deltas(0)[-1]) > 0)
        stopped_at = time.monotonic()
        run.stop("test over")
        assert run.wait(30)
    finally:
        run.close()
        pool.close()
    result = run.result()
    (lost,) = result.outcome["workers_lost"]
    assert lost["worker"] == 1 and "SIGKILL" in lost["reason"] and lost["missing_s"] > 0
    assert result.outcome["paused_s"] >= 1.5
    # the seconds under load (result.duration_s: pauses excluded) since it was lost
    assert abs(lost["missing_s"] - (result.duration_s - lost["at_s"])) <= 0.8
    assert result.outcome["degraded"] == f"1 of 2 workers lost at 0:{lost['at_s']:02d}"
    assert "Degraded: worker 1 of 2 lost" in run_summary(result)
    assert [w.state for w in pool.info()] == ["done", "lost"]
    assert [r.state for r in run.snapshot.worker_rows] == ["done", "lost"]
    assert run.snapshot.worker_rows[1].requests == dead_sent_in(rec)
    dead_seen = sum(n for c, n in srv.counts.items() if srv.closed_at[c] < stopped_at)
    survivor_seen = srv.requests - dead_seen
    dead_sent = dead_sent_in(rec)
    assert 0 < dead_sent <= dead_seen
    assert result.summary.requests == survivor_seen + dead_sent


def dead_sent_in(rec) -> int:  # noqa: ANN001
    return sum(responses(d) for d in rec.deltas(1))


def test_a_silent_worker_is_lost_after_3_s_and_can_stop_the_run(dask_cluster, conn_server):
    """An engine frozen by SIGSTOP sends nothing: lost after 3 s without a delta; with
    on_worker_loss = "stop" the run stops, and the frozen engine is killed, not left."""
    srv, url = conn_server
    sc = scenario(
        [{"path": "/"}],
        load={"users": 2, "spawn_rate": 1000, "run_time": "2m", "think_time": "0.05s"},
        cluster={"on_worker_loss": "stop"},
    )
    pool = recording_pool(dask_cluster.scheduler_address)
    run = run_on(pool, sc, url)
    frozen = None
    try:
        run.start()
        rec = pool.recorder
        rec.wait_for(lambda: all(len(rec.deltas(w)) >= 1 for w in (0, 1)))
        frozen = run.worker_info()[0].pid
        os.kill(frozen, signal.SIGSTOP)
        assert run.wait(30)
    finally:
        run.close()
        pool.close()
    result = run.result()
    assert result.outcome["reason"] == "worker lost"
    (lost,) = result.outcome["workers_lost"]
    assert lost["worker"] == 0 and "no delta" in lost["reason"] and "for 3 s" in lost["reason"]
    assert result.summary.requests <= srv.requests

    def gone() -> bool:
        try:
            os.kill(frozen, 0)
        except ProcessLookupError:
            return True
        return False

    deadline = time.monotonic() + 20
    while not gone():
        assert time.monotonic() < deadline, "the frozen engine was left running"
        time.sleep(0.05)


def test_a_user_script_travels_to_the_workers_as_text(dask_cluster, conn_server, tmp_path):
    """The workers import the script from a copy of their own (a remote machine has no
    file at the coordinator's path): each request names the folder it ran from."""
    from tui_loadtest.scenario import apply_overrides, script_scenario

    srv, url = conn_server
    script = tmp_path / "where_users.py"
    script.write_text(
        "from pathlib import Path\n"
        "from tui_loadtest.script import task\n\n"
        "@task\n"
        "async def where(user):\n"
        "    await user.get('/' + Path(__file__).parent.name, name='where')\n"
    )
    sc = apply_overrides(script_scenario(str(script)), host=url, users=2, requests=40)
    assert run_to_end(dask_cluster.scheduler_address, sc, url).summary.requests == srv.requests
    assert srv.requests == 40
    assert srv.paths and all(p.startswith("/tui-loadtest-script-") for p in srv.paths)
    copies = {Path(tempfile.gettempdir()) / p.strip("/") for p in srv.paths}
    deadline = time.monotonic() + 20
    while any(c.exists() for c in copies):  # removed once each engine has exited
        assert time.monotonic() < deadline, copies
        time.sleep(0.05)


def test_a_clock_off_by_80_ms_is_measured_corrected_and_warned_about(
    dask_cluster, conn_server, tmp_path, capsys
):
    """Worker 1 answers the handshake with a clock 80 ms ahead (as a machine out of NTP
    sync would). ``run --cluster ADDRESS --no-ui``: a warning before any load, the
    report records each worker's offset and round trip (worker 0's near 0, worker 1's
    near +80 ms, each within half its round trip), the summary repeats the warning, and
    every request is still counted once."""
    srv, url = conn_server
    address = dask_cluster.scheduler_address
    addr = run_on_worker(address, 1, shift_worker_clock, 0.08)
    out = tmp_path / "report.json"
    try:
        # 100 requests: the built-in scenario's thresholds name every endpoint, and with
        # 40 its rarest one went unmeasured now and then (a failed threshold, exit 1)
        code = main(["run", "--no-ui", "--cluster", address, "--host", url, "-u", "2", "-n", "100",
                     "--out", str(out)])  # fmt: skip
    finally:
        run_on_worker(address, 1, shift_worker_clock, 0.0)
    std = capsys.readouterr()
    assert code == 0, std.err
    report = json.loads(out.read_text())
    assert report["summary"]["requests"] == srv.requests == 100
    e0, e1 = report["environment"]["engines"]
    assert e1["address"] == addr
    assert abs(e0["clock_offset_ms"]) <= e0["rtt_ms"] / 2 + 1.0
    assert abs(e1["clock_offset_ms"] - 80.0) <= e1["rtt_ms"] / 2 + 1.0
    off = f"{e1['clock_offset_ms']:+.0f} ms"
    # one clock warning (a busy machine may add others of its own, such as a lost beat)
    (warning,) = [ln for ln in std.err.splitlines() if "warning" in ln and "clock" in ln]
    assert warning.startswith("tui-loadtest: warning: worker 1 (")
    assert f"its clock is {off} off this machine's" in warning and "NTP" in warning
    assert f"Clock: worker 1 ({e1['host']}) was {off} off this machine's" in std.out
    assert "Clock: worker 0" not in std.out


def test_data_rows_travel_with_the_scenario_split_by_queue(dask_cluster, conn_server, tmp_path):
    """A [[data]] file is read here and travels with the scenario (the workers have no
    such file): in queue mode the two engines hand out disjoint rows, each to one user."""
    from tui_loadtest.scenario import load_scenario

    srv, url = conn_server
    (tmp_path / "users.csv").write_text("name\nr0\nr1\nr2\nr3\n")
    (tmp_path / "rows.toml").write_text(
        f'name = "rows"\nhost = "{url}"\n\n'
        '[load]\nusers = 4\nspawn_rate = 1000\nrequests = 40\nthink_time = "0.05s"\n\n'
        '[[requests]]\npath = "/u/{name}"\n\n[[data]]\nfile = "users.csv"\nmode = "queue"\n'
    )
    sc = load_scenario(str(tmp_path / "rows.toml"))
    (tmp_path / "users.csv").unlink()  # nothing reads it from now on
    assert run_to_end(dask_cluster.scheduler_address, sc, url).summary.requests == srv.requests
    assert srv.requests == 40
    assert sorted(srv.paths) == ["/u/r0", "/u/r1", "/u/r2", "/u/r3"]  # one connection per user


def test_cluster_workers_takes_part_of_the_cluster(dask_cluster, conn_server, monkeypatch):
    """--cluster-workers 1 runs one engine on the two-worker cluster; asking for 3 is one
    line naming what the scheduler has."""
    from tui_loadtest.cluster import dask_pool

    srv, url = conn_server
    sc = scenario([{"path": "/"}], load={"users": 4, "requests": 20})
    result = run_to_end(dask_cluster.scheduler_address, sc, url, workers=1)
    assert result.summary.requests == srv.requests == 20
    assert len(result.environment["engines"]) == 1
    monkeypatch.setattr(dask_pool, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(PoolError) as err:
        dask_pool.DaskPool(dask_cluster.scheduler_address, 3).connect()
    assert "has 2 worker(s), not the 3 asked for" in str(err.value)


def test_a_scripts_own_modules_travel_with_it(dask_cluster, conn_server, tmp_path):
    """A script that imports a module and a package from its own folder runs on the
    cluster: they travel with it (the workers have no file at the coordinator's path)."""
    from tui_loadtest.scenario import apply_overrides, script_scenario

    srv, url = conn_server
    folder = tmp_path / "load"
    (folder / "lib").mkdir(parents=True)
    (folder / "helpers.py").write_text("PATH = '/from-helpers'\n")
    (folder / "lib" / "__init__.py").write_text("")
    (folder / "lib" / "names.py").write_text("NAME = 'helped'\n")
    (folder / "users.py").write_text(
        "from helpers import PATH\n"
        "from lib.names import NAME\n"
        "from tui_loadtest.script import task\n\n"
        "@task\n"
        "async def ping(user):\n"
        "    await user.get(PATH, name=NAME)\n"
    )
    sc = apply_overrides(script_scenario(str(folder / "users.py")), host=url, users=2, requests=40)
    assert sc.script is not None and sc.script.modules == (
        "helpers.py",
        "lib/__init__.py",
        "lib/names.py",
    )
    result = run_to_end(dask_cluster.scheduler_address, sc, url)
    assert [(e.name, e.stats.requests) for e in result.endpoints] == [("helped", 40)]
    assert srv.requests == 40 and set(srv.paths) == {"/from-helpers"}
    assert not result.errors


def test_a_script_importing_more_than_a_cluster_ships_is_refused_in_one_line(tmp_path):
    """Before any cluster is reached (nothing listens at the address): one line naming
    the modules, exit 2."""
    from tui_loadtest.cluster.shipping import MAX_FILES

    imports = []
    for i in range(MAX_FILES):
        (tmp_path / f"mod{i:02d}.py").write_text(f"X = {i}\n")
        imports.append(f"import mod{i:02d}\n")
    (tmp_path / "users.py").write_text(
        "".join(imports) + "from tui_loadtest.script import task\n\n"
        "@task\nasync def ping(user):\n    await user.get('/')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "users.py", "--no-ui", "-t", "1s",
         "--host", "http://127.0.0.1:9", "--cluster", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(
        f"tui-loadtest: error: --cluster: users.py imports {MAX_FILES} modules from its folder"
    ), line
    assert "mod00.py, mod01.py" in line and f"and {MAX_FILES - 8} more" in line
    assert "install them on every worker" in line


@pytest.fixture
def own_scheduler(tmp_path) -> Iterator[tuple[subprocess.Popen, str]]:  # noqa: ANN001
    """A scheduler in a process of its own (the test kills it) and two workers on it
    (``dask worker --nworkers 2``), all on loopback: ``(scheduler process, address)``."""
    info = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not (info.exists() and info.read_text().strip().endswith("}")):
            assert scheduler.poll() is None and time.monotonic() < deadline, "no scheduler"
            time.sleep(0.05)
        address = json.loads(info.read_text())["address"]
        workers = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2",
             "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        yield scheduler, address
    finally:
        for proc in (workers, scheduler):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def test_killing_the_scheduler_ends_the_run_as_all_workers_lost(own_scheduler, conn_server):
    """SIGKILL the scheduler mid-run: its workers close, and with them go the engines,
    within seconds (they used to load the target for ~10 s after the command exited).
    The run ends as "all workers lost", not "finished", degraded, each worker's share
    missing from its last second to the planned end (it used to say 0 s)."""
    from .test_signals import assert_all_gone

    scheduler, address = own_scheduler
    srv, url = conn_server
    sc = scenario(
        [{"path": "/"}],
        load={"users": 4, "spawn_rate": 1000, "run_time": "1m", "think_time": "0.01s"},
    )
    pool = recording_pool(address, workers=2)  # both, once they joined
    run = run_on(pool, sc, url)
    try:
        run.start()
        rec = pool.recorder
        rec.wait_for(lambda: all(len(rec.deltas(w)) >= 1 for w in (0, 1)))
        engines = {w.pid for w in run.worker_info()}
        assert None not in engines
        scheduler.kill()
        assert run.wait(30)  # the run ends by itself, long before its minute
        assert_all_gone(engines, timeout=10.0)  # type: ignore[arg-type]
    finally:
        run.close()
        pool.close()
    assert srv.closed_at.keys() == srv.counts.keys()  # the target sees no load any more
    result = run.result()
    assert result.outcome["reason"] == "all workers lost"
    lost = result.outcome["workers_lost"]
    assert sorted(w["worker"] for w in lost) == [0, 1]
    for w in lost:
        assert w["missing_s"] >= 60 - w["at_s"] - 0.5  # due until the planned end
    assert result.outcome["degraded"].startswith("2 of 2 workers lost at ")
    summary = run_summary(result)
    assert "Run ended: all workers lost." in summary and "Degraded: worker 0 of 2 lost" in summary
    assert 0 < result.summary.requests <= srv.requests


def test_engines_end_when_their_coordinator_is_killed(dask_cluster, conn_server):
    """SIGKILL the coordinator (``run --cluster ADDRESS`` in a process of its own) while
    the cluster lives on: nobody drains the engines any more, and each is killed
    ORPHAN_S later (it used to be stopped after 10 s, and killed 5 s after that). The
    target sees every connection close."""
    from .test_signals import assert_all_gone, descendants

    srv, url = conn_server
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", "--no-ui", "--interval", "0.2",
         "--cluster", dask_cluster.scheduler_address, "--host", url, "-u", "2", "-t", "60s"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    engines: set[int] = set()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the load is on once a progress line is out
            if line.startswith("["):
                break
        deadline = time.monotonic() + 30
        while len(engines) < 2:  # the engines run under this process's LocalCluster
            assert time.monotonic() < deadline, engines
            engines = {
                p
                for p in descendants(os.getpid())
                if b"tui_loadtest.cluster.engine_proc" in Path(f"/proc/{p}/cmdline").read_bytes()
            }
            time.sleep(0.05)
        while srv.requests == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.kill()
        proc.wait(30)
        assert_all_gone(engines, timeout=8.0)  # ORPHAN_S (3 s), and time to spare
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        for pid in engines:  # left by a failure: still our engine? then end it
            with contextlib.suppress(OSError):
                if b"engine_proc" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while srv.closed_at.keys() != srv.counts.keys():  # every connection closed
        assert time.monotonic() < deadline, "the target still sees connections"
        time.sleep(0.02)


def test_a_locustfile_and_its_modules_travel_to_the_workers(dask_cluster, conn_server, tmp_path):
    """A locustfile runs on the cluster from a copy of its own, the modules it imports
    from its folder with it: each request names the folder it ran from."""
    from tui_loadtest.locustfile.loader import load_locustfile
    from tui_loadtest.scenario import apply_overrides

    srv, url = conn_server
    folder = tmp_path / "load"
    folder.mkdir()
    (folder / "paths.py").write_text("NAME = 'where'\n")
    (folder / "locustfile.py").write_text(
        "from pathlib import Path\n"
        "from locust import HttpUser, constant, task\n"
        "from paths import NAME\n\n"
        "class Visitor(HttpUser):\n"
        "    wait_time = constant(0.01)\n\n"
        "    @task\n"
        "    def where(self):\n"
        "        self.client.get('/' + Path(__file__).parent.name, name=NAME)\n"
    )
    sc, _ = load_locustfile(str(folder / "locustfile.py"), host=url)
    assert sc.locustfile is not None and sc.locustfile.modules == ("paths.py",)
    sc = apply_overrides(sc, users=2, run_time=1.0)
    result = run_to_end(dask_cluster.scheduler_address, sc, url)
    assert [e.name for e in result.endpoints] == ["where"]
    assert result.summary.requests == srv.requests > 0
    assert srv.paths and all(p.startswith("/tui-loadtest-script-") for p in srv.paths)
