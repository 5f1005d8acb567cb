"""What is measured around and beside the generators: the CPU window mid-run and
nginx's counter, the rounds, memory per idle user, latency accuracy against a server
with known delays, the recording micro-benchmark, the profile and the machine."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import (
    BENCH_DIR,
    cpu_busy,
    ensure_pyspy,
    finish,
    free_port,
    log,
    spawn,
    tree_cpu,
    vm_rss_kb,
    wait_port,
    worker_pids,
)
from runners import runner
from samples import SCENARIOS, USERS, Ctx, Sample


class Window(threading.Thread):
    """Measures, from outside and mid-run, what nginx served per second and how much
    CPU the generator's process tree used: start-up and shutdown are left out, and a
    generator held back by nginx shows it as CPU below one core."""

    def __init__(self, ctx: Ctx) -> None:
        super().__init__(daemon=True)
        self.ctx = ctx
        d = ctx.args.duration
        self.begin = 3.0 if d >= 6 else d / 2
        self.end = d - 0.3
        self.rps: float | None = None
        self.cpu: float | None = None
        self.root_cpu: float | None = None
        self.terminal_cpu: float | None = None
        self.other_gen: float | None = None
        self.other_server: float | None = None
        self.irq_gen: float | None = None
        self.irq_server: float | None = None

    def run(self) -> None:
        ctx, t0 = self.ctx, time.monotonic()
        time.sleep(self.begin)
        root = ctx.root
        if root is None or self.end <= self.begin:
            return
        term = ctx.terminal
        ngx = ctx.nginx.proc.pid if ctx.nginx.proc else None

        def probe() -> tuple:
            return (
                tree_cpu(term)[1] if term else 0.0,
                tree_cpu(ngx)[0] if ngx else 0.0,
                cpu_busy(ctx.gen_cpu),
                cpu_busy(ctx.server_cpu),
            )

        term_a, ngx_a, gen_a, srv_a = probe()
        (c_a, r_a), n_a, t_a = tree_cpu(root), ctx.nginx.served(), time.monotonic()
        time.sleep(max(0.0, t0 + self.end - t_a))
        (c_b, r_b), n_b, t_b = tree_cpu(root), ctx.nginx.served(), time.monotonic()
        term_b, ngx_b, gen_b, srv_b = probe()
        if c_b >= c_a and t_b > t_a:
            self.rps = (n_b - n_a) / (t_b - t_a)
            self.cpu = (c_b - c_a) / (t_b - t_a)
            self.root_cpu = (r_b - r_a) / (t_b - t_a)
            self.terminal_cpu = (term_b - term_a) / (t_b - t_a) if term else None
            if ctx.gen_cpu and ctx.server_cpu:
                span = t_b - t_a
                # A generator on both CPUs (--workers 2) blurs this split; it stays indicative.
                ours = (c_b - c_a) + (term_b - term_a)
                self.other_gen = max(0.0, (gen_b[0] - gen_a[0] - ours) / span)
                self.other_server = max(0.0, (srv_b[0] - srv_a[0] - (ngx_b - ngx_a)) / span)
                self.irq_gen = (gen_b[1] - gen_a[1]) / span
                self.irq_server = (srv_b[1] - srv_a[1]) / span


def run_generator(ctx: Ctx, name: str, tag: str) -> Sample:
    """One run of one generator, with nginx's count and the CPU window around it."""
    start = runner(ctx, name, tag)
    ctx.root = ctx.terminal = None
    window = Window(ctx)
    window.start()
    before = ctx.nginx.served()
    sample = start()
    sample.nginx_requests = ctx.nginx.served() - before
    window.join()
    sample.window_rps, sample.cpu_share = window.rps, window.cpu
    sample.root_cpu_share = window.root_cpu
    sample.terminal_cpu_share = window.terminal_cpu
    sample.other_gen_cpu, sample.other_server_cpu = window.other_gen, window.other_server
    sample.irq_gen_cpu, sample.irq_server_cpu = window.irq_gen, window.irq_server
    if sample.ok and abs(sample.count_diff) > USERS:
        sample.note = (
            f"count disagrees with nginx: {sample.requests} vs {sample.nginx_requests} "
            f"(more than the {USERS} requests that can be in flight)"
        )
    return sample


def run_rounds(ctx: Ctx, names: list[str]) -> dict[str, list[Sample]]:
    """Every generator once per round; odd rounds run in reverse order."""
    samples: dict[str, list[Sample]] = {n: [] for n in names}
    for r in range(ctx.args.repeat):
        order = names if r % 2 == 0 else list(reversed(names))
        for name in order:
            log(f"round {r + 1}/{ctx.args.repeat}: {name} ({ctx.args.duration}s)")
            s = run_generator(ctx, name, f"{name}-r{r + 1}")
            samples[name].append(s)
            extra = f"  [{s.note}]" if s.note else ""
            if s.other_gen_cpu is not None and s.other_server_cpu is not None:
                extra += (
                    f"  (other load: {s.other_gen_cpu:.0%} of the generator CPU, "
                    f"{s.other_server_cpu:.0%} of nginx's)"
                )
            log(
                f"  {s.rps:,.0f} req/s, {s.requests:,} requests, nginx counted "
                f"{s.nginx_requests:,}{extra}"
            )
            time.sleep(ctx.args.pause)
    return samples


# -- memory -------------------------------------------------------------------------
def measure_memory(ctx: Ctx, counts: list[int], nofile: tuple[int, int]) -> dict:
    """RSS of the one worker process while it holds N idle users (think time 10 s)."""
    rate = 2000
    out: dict = {"users": {}, "rlimit_nofile": list(nofile)}
    for users in counts:
        need = users + 200
        if nofile[0] < need:
            line = (
                f"memory: {users} users need {need} open files but RLIMIT_NOFILE is "
                f"{nofile[0]} (hard limit {nofile[1]}); skipped - raise the hard limit "
                "(ulimit -Hn, /etc/security/limits.conf)"
            )
            print(line, flush=True)
            out.setdefault("skipped", []).append(line)
            continue
        spawn_s = users / rate
        run_s = math.ceil(spawn_s) + 9
        report = ctx.logs / f"memory-{users}.json"
        cmd = [*ctx.tui, "run", str(SCENARIOS / "idle_nginx.toml"), "--no-ui", "--host"]
        cmd += [ctx.nginx.url, "-u", str(users), "-r", str(rate), "-t", f"{run_s}s"]
        cmd += ["--interval", "3600", "--out", str(report)]
        log(f"memory: {users} idle users")
        with open(ctx.logs / f"memory-{users}.txt", "wb") as fh:
            proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
            workers = worker_pids(proc.pid)
            if not workers:
                finish(proc, 0.0)
                out["users"][str(users)] = {"error": "no worker process found"}
                continue
            w = workers[0]
            time.sleep(spawn_s + 4.0)  # startup, spawning, every first request answered
            readings = []
            for _ in range(5):
                readings.append(vm_rss_kb(w))
                time.sleep(0.4)
            fds = len(os.listdir(f"/proc/{w}/fd"))
            rc = finish(proc, run_s + 30)
        rss = max(readings)
        out["users"][str(users)] = {
            "worker_rss_kb": rss,
            "open_fds": fds,
            "kb_per_user_overall": round(rss / users, 2),
            "exit_code": rc,
        }
        log(f"  worker RSS {rss / 1024:.1f} MB with {fds} open fds")
    got = out["users"]
    lo, hi = (str(c) for c in (min(counts), max(counts)))
    if lo in got and hi in got and "worker_rss_kb" in got[lo] and "worker_rss_kb" in got[hi]:
        delta = got[hi]["worker_rss_kb"] - got[lo]["worker_rss_kb"]
        out["kb_per_user_marginal"] = round(delta / (int(hi) - int(lo)), 2)
    return out


# -- accuracy -----------------------------------------------------------------------
def http_get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return resp.read()


def start_probe(
    ctx: Ctx, port: int, n: int
) -> tuple[subprocess.Popen, tempfile._TemporaryFileWrapper]:
    """A plain blocking client on the generator's CPU, running beside the tool and
    pausing between requests like its users: what the machine adds to a round trip."""
    cmd = [sys.executable, str(BENCH_DIR / "accuracy_server.py"), "--probe", str(port), str(n)]
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - read and closed by the caller
    return spawn(cmd, cores=ctx.gen_cpu, stdout=fh), fh


def convolved_quantile(holds: list[int], rtts: list[int], q: float) -> float:
    """Quantile (nearest rank) of hold + round trip over every pairing of the two."""
    sums = sorted(h + r for h in holds for r in rtts)
    return sums[max(0, math.ceil(q * len(sums)) - 1)]


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure_accuracy(ctx: Ctx) -> dict:
    """Reported p50/p99 per endpoint against the server's own hold times plus the RTT."""
    port = free_port()
    srv = spawn(
        [sys.executable, str(BENCH_DIR / "accuracy_server.py"), str(port)], cores=ctx.server_cpu
    )
    run_s = ctx.args.accuracy_time
    try:
        wait_port(port)
        http_get(port, "/__stats")  # reset
        report = ctx.logs / "accuracy.json"
        cmd = [*ctx.tui, "run", str(SCENARIOS / "accuracy.toml"), "--no-ui"]
        cmd += ["--host", f"http://127.0.0.1:{port}", "-t", f"{run_s}s"]
        cmd += ["--interval", "3600", "--out", str(report)]
        log(f"accuracy: {run_s}s against delays of 0, 20 and 80 ms")
        probe, probe_out = start_probe(ctx, port, int((run_s + 1) / 0.042))
        with open(ctx.logs / "accuracy.txt", "wb") as fh:
            proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
            rc = finish(proc, run_s + 60)
        finish(probe, 60)
        probe_out.seek(0)
        totals = json.loads(probe_out.read() or b"[]")
        probe_out.close()
        holds = json.loads(http_get(port, "/__stats"))
    finally:
        finish(srv, 0.0, signal.SIGTERM)
    rtts = [t - h for t, h in zip(totals, holds.get("/probe", []), strict=False)]
    if not rtts:
        return {"error": "the round-trip probe got no answers", "exit_code": rc}
    rtt_us = statistics.median(rtts)
    data = json.loads(report.read_text())
    rows = []
    for ep in data["endpoints"]:
        path = ep["name"].split(" ", 1)[1]
        server = holds.get(path, [])
        row = {
            "endpoint": ep["name"],
            "delay_ms": float(path.rsplit("/", 1)[1]),
            "requests_reported": ep["requests"],
            "requests_served": len(server),
        }
        for q, key in ((0.5, "p50"), (0.99, "p99")):
            rep = float(ep["latency_ms"][key])
            true = convolved_quantile(server, rtts, q) / 1000 if server else float("nan")
            row[f"{key}_reported_ms"] = rep
            row[f"{key}_truth_ms"] = round(true, 3)
            row[f"{key}_error_ms"] = round(rep - true, 3)
        row["within_1ms"] = abs(row["p50_error_ms"]) <= 1 and abs(row["p99_error_ms"]) <= 1
        rows.append(row)
    return {
        "rtt_us_median": rtt_us,
        "rtt_us_p99": nearest_rank(rtts, 0.99),
        "probe_requests": len(rtts),
        "exit_code": rc,
        "endpoints": rows,
        "truth": "server hold time of each request (kernel receive timestamp to response "
        "sent) plus the round trip a plain blocking client measured on the generator CPU "
        "at the same time (distribution of hold + round trip over all pairings)",
    }


# -- micro-benchmark and profile -----------------------------------------------------
def run_micro(ctx: Ctx) -> dict:
    log("micro-benchmark: ns per recorded sample")
    cmd = [ctx.tui[0], str(BENCH_DIR / "micro_record.py"), "--json"]
    with tempfile.TemporaryFile() as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh)
        finish(proc, 300)
        fh.seek(0)
        return json.loads(fh.read() or b"{}")


def run_profile(ctx: Ctx) -> dict:
    log("profile: py-spy on the worker of a mixed run")
    pyspy = ensure_pyspy(ctx.tui[0])
    cmd = [ctx.tui[0], str(BENCH_DIR / "profile_worker.py"), "--host", ctx.nginx.url]
    cmd += ["--duration", str(ctx.args.duration), "--py-spy", pyspy, "--json"]
    cmd += ["--out-dir", str(ctx.logs)]
    if ctx.gen_cpu:
        cmd += ["--cpu", str(min(ctx.gen_cpu))]
    with tempfile.TemporaryFile() as fh:
        proc = spawn(cmd, stdout=fh)
        finish(proc, ctx.args.duration + 120)
        fh.seek(0)
        return json.loads(fh.read() or b"{}")


# -- machine and output -------------------------------------------------------------
def describe_machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr) else "?"

    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
