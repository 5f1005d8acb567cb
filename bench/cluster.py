"""The cluster benchmark (issue 13): what running the engines on Dask costs.

``python bench/cluster.py`` measures, in one run:

- **req/s**: ``--cluster local:2`` against ``--workers 2``, side by side (alternating
  order, several rounds) on a private nginx pinned to one CPU, both generators pinned
  to the other, each run's count checked against nginx's (target: at least 0.95x);
- **the relay's CPU per worker**: the Dask worker processes' own CPU (their engines
  excluded) during those runs, in % of one core;
- **a control message's latency**: ``pool.send(("pause",))`` until every actor has
  handed it to its engine, against the local pool's pipe;
- **bytes per worker per second**: the pickled deltas the relay carries, at two
  request rates hundreds of times apart and with 1 and 20 endpoints, plus Dask's framing of one
  drain answer;
- **the coordinator's merge cost with 50 simulated workers**: the real ``Run`` merge
  thread fed 50 deltas per second by a simulated pool, for 1, 10 and 100 endpoints
  and for 10^3 and 10^5 requests per delta: CPU ms per second of run.

Figures go to stdout and bench/results/cluster.json with the load average beside
them. Keep runs short on a shared machine (``--duration``, ``--rounds``); the final
side-by-side belongs on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    BENCH_DIR,
    REPO_DIR,
    Nginx,
    children_of,
    cmdline,
    ensure_debian,
    finish,
    log,
    pick_cores,
    raise_nofile,
    spawn,
    stop_all,
)

sys.path.insert(0, str(REPO_DIR))

RESULTS = BENCH_DIR / "results"
USERS = 64
SCENARIO = """\
name = "cluster-bench"
host = "{url}"

[load]
users = {users}
spawn_rate = {users}
run_time = "{secs}s"

[[requests]]
path = "/api/health"
"""


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- req/s and the relay's CPU -----------------------------------------------------
def own_cpu_s(pid: int) -> float:
    """A process's own CPU seconds (its children's not included)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def dask_workers(root: int) -> list[int]:
    """The Dask worker processes below a ``--cluster local:N`` run (spawned by its nannies)."""
    out = []
    for p in children_of(root):
        if "spawn_main" in cmdline(p) and any(
            "tui_loadtest.cluster.engine_proc" in cmdline(c) for c in children_of(p)
        ):
            out.append(p)
    return out


def run_tool(mode: str, url: str, secs: int, cpu: set[int] | None, logs: Path, tag: str) -> dict:
    scenario = logs / f"{tag}.toml"
    scenario.write_text(SCENARIO.format(url=url, users=USERS, secs=secs))
    out = logs / f"{tag}.json"
    cmd = [sys.executable, "-m", "tui_loadtest", "run", str(scenario), "--no-ui"]
    cmd += ["--interval", "3600", "--out", str(out)]
    cmd += ["--cluster", "local:2"] if mode == "cluster" else ["--workers", "2"]
    relay: dict[str, float] = {}
    with open(logs / f"{tag}.txt", "wb") as fh:
        proc = spawn(cmd, cores=cpu, stdout=fh, stderr=subprocess.STDOUT)
        if mode == "cluster":
            relay = measure_relay(proc, secs)
        rc = finish(proc, secs + 90)
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        return {"ok": False, "note": f"exit {rc}, see {logs / tag}.txt"}
    s = data["summary"]
    return {"ok": rc == 0 and s["failures"] == 0, "rps": s["rps"], "requests": s["requests"],
            **relay}  # fmt: skip


def measure_relay(proc: subprocess.Popen, secs: int) -> dict[str, float]:
    """The Dask workers' own CPU over the middle of the run (the engines excluded)."""
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = dask_workers(proc.pid)
        time.sleep(0.1)
    if len(workers) < 2:
        return {}
    time.sleep(2.0)  # the load is on; the handshake and the engines' start are behind
    span = max(1.0, secs - 4.0)
    before = [own_cpu_s(p) for p in workers]
    coord_before = own_cpu_s(proc.pid)
    began = time.monotonic()
    time.sleep(span)
    wall = time.monotonic() - began
    used = [own_cpu_s(p) - b for p, b in zip(workers, before, strict=True)]
    return {
        "relay_cpu_pct_per_worker": round(100 * statistics.mean(used) / wall, 2),
        "coordinator_cpu_pct": round(100 * (own_cpu_s(proc.pid) - coord_before) / wall, 2),
    }


def side_by_side(args: argparse.Namespace) -> dict[str, Any]:
    raise_nofile()
    nginx_bin = ensure_debian({"nginx": "nginx-light"})["nginx"]
    server_cpu, gen_cpu, pin_note = pick_cores()
    log(pin_note)
    logs = Path(tempfile.mkdtemp(prefix="tui-bench-cluster-"))
    nginx = Nginx(nginx_bin, server_cpu)
    nginx.start()
    samples: dict[str, list[dict]] = {"workers": [], "cluster": []}
    try:
        for r in range(args.rounds):
            order = ["workers", "cluster"] if r % 2 == 0 else ["cluster", "workers"]
            for mode in order:
                before = nginx.served()
                load = load_average()
                sample = run_tool(mode, nginx.url, args.duration, gen_cpu, logs, f"{mode}-{r}")
                sample["nginx_requests"] = nginx.served() - before
                sample["load_average"] = load
                sample["ok"] = sample.get("ok") and sample["nginx_requests"] == sample["requests"]
                samples[mode].append(sample)
                log(f"round {r + 1} {mode}: {sample.get('rps', 0):,.0f} req/s, nginx counted "
                    f"{sample['nginx_requests']:,}, tool {sample.get('requests', 0):,}"
                    + (f", relay CPU {sample['relay_cpu_pct_per_worker']} % per worker"
                       if "relay_cpu_pct_per_worker" in sample else "")
                    + f" (load {load})")  # fmt: skip
    finally:
        nginx.stop()
        stop_all()
    med = {m: statistics.median([s["rps"] for s in v if s.get("ok")] or [0.0])
           for m, v in samples.items()}  # fmt: skip
    relay = [
        s["relay_cpu_pct_per_worker"] for s in samples["cluster"] if "relay_cpu_pct_per_worker" in s
    ]
    ratio = round(med["cluster"] / med["workers"], 3) if med["workers"] else 0.0
    return {
        "pinning": pin_note,
        "samples": samples,
        "median_rps": med,
        "ratio_cluster_over_workers": ratio,
        "relay_cpu_pct_per_worker_median": statistics.median(relay) if relay else None,
        "logs": str(logs),
    }  # fmt: skip


# -- control latency and bytes per second (in-process, a real LocalCluster) -------------
class Counting:
    """A loopback server answering every request at once (its own thread and loop)."""

    def __init__(self, latency_spread: bool) -> None:
        import asyncio

        self.asyncio = asyncio
        self.spread = latency_spread
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._main, daemon=True).start()
        self.ready.wait(10)

    def _main(self) -> None:
        asyncio = self.asyncio
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: Any, writer: Any) -> None:
        rng = random.Random()
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                if self.spread:  # latencies spread over two decades: many buckets
                    await self.asyncio.sleep(rng.lognormvariate(-6.0, 1.0))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (self.asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def relay_figures(secs: int) -> dict[str, Any]:
    from distributed.protocol import dumps, to_serialize

    from tui_loadtest.cluster.dask_pool import DaskPool
    from tui_loadtest.engine.coordinator import Run
    from tui_loadtest.engine.pool import LocalProcessPool
    from tui_loadtest.scenario import parse_scenario

    def scenario(endpoints: int, users: int, think: str) -> Any:
        return parse_scenario(
            {"name": "relay", "host": "http://127.0.0.1:1",
             "load": {"users": users, "spawn_rate": 1000, "run_time": "1h", "think_time": think},
             "requests": [{"path": f"/e{i}"} for i in range(endpoints)]},
            "relay.toml",
        )  # fmt: skip

    import distributed

    out: dict[str, Any] = {"load_average": load_average()}
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)  # fmt: skip
    try:
        # bytes per worker per second: 1 and 20 endpoints, rates 50x apart, spread latencies
        bytes_rows = []
        server = Counting(latency_spread=True)
        cases = [(1, 2, "0.1s"), (1, 64, "0s"), (20, 2, "0.1s"), (20, 64, "0s")]
        for endpoints, users, think in cases:
            pool = DaskPool(cluster.scheduler_address)
            pool.connect()
            run = Run(scenario(endpoints, users, think), server.url, workers=2, pool=pool)
            run.start()
            time.sleep(1.5)
            bytes0, req0 = list(pool.relayed_bytes), run.snapshot.total.requests
            began = time.monotonic()
            time.sleep(secs)
            wall = time.monotonic() - began
            per_worker = [(b - a) / wall for a, b in zip(bytes0, pool.relayed_bytes, strict=True)]
            rps = (run.snapshot.total.requests - req0) / wall
            if endpoints == 20 and users == 64:
                out["control_latency_ms"] = control_latency(pool)
            run.stop("measured")
            run.wait(30)
            pool.close()
            bytes_rows.append({"endpoints": endpoints, "users": users, "think_time": think,
                               "req_per_s": round(rps), "bytes_per_worker_per_s":
                               round(statistics.mean(per_worker))})  # fmt: skip
            log(f"relay: {endpoints} endpoint(s), {rps:,.0f} req/s: "
                f"{statistics.mean(per_worker):,.0f} bytes per worker per second")  # fmt: skip
        out["bytes"] = bytes_rows
        empty = dumps({"status": "OK", "result": to_serialize(([], None))})
        out["drain_answer_framing_bytes"] = sum(len(f) for f in empty)
    finally:
        cluster.close()
    # the local pool's pipe (a write, the engine reads it on its loop), for comparison
    local = LocalProcessPool()
    server = Counting(latency_spread=False)
    run = Run(scenario(1, 2, "0.1s"), server.url, workers=2, pool=local)
    run.start()
    out["local_control_latency_ms"] = control_latency(local)
    run.stop("measured")
    run.wait(30)
    run.close()
    return out


def control_latency(pool: Any, n: int = 40) -> dict[str, float]:
    """``send`` of pause and resume, alternately, until every engine has it: ms."""
    times = []
    for k in range(n):
        began = time.perf_counter()
        pool.send(("pause",) if k % 2 == 0 else ("resume",))
        times.append(1000 * (time.perf_counter() - began))
        time.sleep(0.02)
    times.sort()
    return {"median": round(statistics.median(times), 2), "p95": round(times[int(0.95 * n) - 1], 2)}


# -- merge cost with 50 simulated workers -----------------------------------------------
class SimPool:
    """A WorkerPool that hands the coordinator ``workers`` deltas per simulated second, as
    pickled bytes decoded on receive (as both pools do), as fast as the merge takes them."""

    lead_s = 0.0
    where = "simulated"

    def __init__(self, workers: int, payloads: list[bytes], seconds: int) -> None:
        self.workers = workers
        self.payloads = payloads  # one pickled delta per worker (tick 0)
        self.seconds = seconds
        self.tick = 0
        self.cpu: list[float] = []  # the merge thread's CPU time at each receive

    def start(self, scenario: Any, host: str, shares: Any) -> None: ...
    def go(self, at: float) -> None: ...
    def send(self, msg: Any, worker: int | None = None) -> None: ...
    def kill(self, grace_s: float = 0.0) -> None: ...

    def info(self) -> list[Any]:
        from tui_loadtest.engine.pool import WorkerInfo

        return [WorkerInfo(w, "sim", None, "running") for w in range(self.workers)]

    def running(self) -> bool:
        return self.tick <= self.seconds

    def receive(self, timeout: float) -> list[Any]:
        from tui_loadtest.engine.pool import Delta, Ended, decode

        self.cpu.append(time.thread_time())
        if self.tick == self.seconds:
            self.tick += 1
            return [Ended(w, "done", self.seconds - 1) for w in range(self.workers)]
        out = []
        for w, data in enumerate(self.payloads):
            delta = decode(data)
            delta.tick = self.tick
            out.append(Delta(w, delta))
        self.tick += 1
        return out


def make_delta(worker: int, endpoints: int, requests: int, rng: random.Random) -> Any:
    """A worker's second: ``requests`` responses per endpoint, lognormal latencies."""
    from tui_loadtest.stats.aggregate import EndpointDelta, WorkerDelta
    from tui_loadtest.stats.histogram import bucket_index

    eps = []
    for index in range(endpoints):
        counts: dict[int, int] = {}
        total = 0
        for _ in range(min(requests, 4000)):  # the shape; scaled to the count below
            us = int(rng.lognormvariate(8.0, 1.0))
            b = bucket_index(us)
            counts[b] = counts.get(b, 0) + 1
        scale = requests / sum(counts.values())
        buckets = sorted((b, max(1, round(c * scale))) for b, c in counts.items())
        total = sum(c for _, c in buckets)
        eps.append(EndpointDelta(index=index, buckets=buckets, sum_us=3000 * total,
                                 bytes_received=2 * total, statuses=[(200, total)],
                                 bytes_sent=40 * total))  # fmt: skip
    return WorkerDelta(worker=worker, tick=0, span_s=1.0, users=10, endpoints=eps, cpu_s=0.5)


def merge_cost(seconds: int = 20, workers: int = 50) -> list[dict[str, Any]]:
    from tui_loadtest.engine.coordinator import Run
    from tui_loadtest.scenario import parse_scenario

    rows = []
    for endpoints in (1, 10, 100):
        for requests in (1_000, 100_000):
            rng = random.Random(endpoints * 7 + requests)
            payloads = [
                pickle.dumps(make_delta(w, endpoints, requests, rng)) for w in range(workers)
            ]
            sc = parse_scenario(
                {"name": "merge", "host": "http://127.0.0.1:1",
                 "load": {"users": workers * 10, "run_time": "1h"},
                 "requests": [{"path": f"/e{i}"} for i in range(endpoints)]},
                "merge.toml",
            )  # fmt: skip
            pool = SimPool(workers, payloads, seconds)
            run = Run(sc, "http://127.0.0.1:1", workers=workers, pool=pool)
            run.start()
            assert run.wait(600)
            run.close()
            cpu = pool.cpu[-1] - pool.cpu[0]
            sent = sum(
                sum(c for _, c in ep.buckets) for p in payloads for ep in pickle.loads(p).endpoints
            )
            assert run.result().summary.requests == sent * seconds  # every delta merged once
            size = statistics.mean(len(p) for p in payloads)
            rows.append({"workers": workers, "endpoints": endpoints, "requests_per_delta":
                         requests * endpoints, "delta_bytes": round(size),
                         "merge_cpu_ms_per_s": round(1000 * cpu / seconds, 2),
                         "us_per_delta": round(1e6 * cpu / seconds / workers, 1)})  # fmt: skip
            log(f"merge: {workers} workers x {endpoints} endpoint(s), "
                f"{requests * endpoints:,} requests per delta ({size:,.0f} bytes): "
                f"{1000 * cpu / seconds:.1f} ms of CPU per second")  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=8, help="seconds per req/s run (default 8)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the req/s runs (default 2)")
    ap.add_argument("--only", choices=("rps", "relay", "merge"), help="one part only")
    args = ap.parse_args()
    started = load_average()
    results: dict[str, Any] = {"load_average_start": started,
                               "cpus": len(os.sched_getaffinity(0))}  # fmt: skip
    if args.only in (None, "merge"):
        results["merge"] = merge_cost()
    if args.only in (None, "relay"):
        results["relay"] = relay_figures(secs=4)
    if args.only in (None, "rps"):
        results["rps"] = side_by_side(args)
    results["load_average_end"] = load_average()
    print(json.dumps(results, indent=2, default=str))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "cluster.json"
    if args.only:  # one part: the other parts' latest figures stay in the file
        try:
            kept = json.loads(path.read_text())
        except (OSError, ValueError):
            kept = {}
        results = {**kept, **{k: v for k, v in results.items() if k != "load_average_start"}}
        results[f"load_average_start_{args.only}"] = started
    path.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
