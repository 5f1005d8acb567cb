"""The benchmark of GitHub issue 5: tui-loadtest against wrk and Locust, one core each.

One command (``python bench/run.py``) installs what is missing (nginx, wrk and
tmux from Debian, Locust in bench/.venv-locust), starts a private nginx on
loopback pinned to one CPU, and runs every generator pinned to another CPU for
the same duration, in alternating order, several rounds. It prints the median
req/s and the ratios to wrk and to Locust, then memory per idle user, the
dashboard's overhead, what a second worker brings, latency accuracy against a
server with known delays, and the cost of recording one sample. The same
figures go to bench/results/latest.json.

Ratios measured side by side are what to quote: the machines are shared and
noisy, absolute figures move from run to run. Every generator's own request
count is checked against nginx's ``stub_status`` counter.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    BENCH_DIR,
    REPO_DIR,
    Nginx,
    cmdline,
    cpu_busy,
    ensure_debian,
    ensure_locust,
    ensure_pyspy,
    ensure_tui_loadtest,
    finish,
    free_port,
    log,
    pick_cores,
    pinned,
    raise_nofile,
    spawn,
    stop_all,
    tree_cpu,
    vm_rss_kb,
    wait_port,
    worker_pids,
)

SCENARIOS = BENCH_DIR / "scenarios"
RESULTS = BENCH_DIR / "results"
USERS = 64
NOISY = 0.10  # a run is marked noisy when others used more than this share of a CPU

# What each generator is, in the order of the table.
GENERATORS: dict[str, str] = {
    "wrk": "wrk -t1 -c64, one GET",
    "locust": "Locust FastHttpUser, 64 users, constant(0), one GET",
    "tui-mixed": "tui-loadtest --no-ui --workers 1, 64 users, mixed shape",
    "tui-single": "tui-loadtest --no-ui --workers 1, 64 users, one GET",
    "tui-mixed-ui": "tui-loadtest with the dashboard (tmux 160x48), mixed shape",
    "tui-mixed-w2": "tui-loadtest --workers 2 on both CPUs (nginx keeps its own), mixed",
    "tui-mixed-w2-1cpu": "tui-loadtest --workers 2 on the generator CPU only, mixed",
}
CORE = ["wrk", "locust", "tui-mixed", "tui-single"]
GROUPS = {
    "core": CORE,
    "ui": ["tui-mixed-ui"],
    "scaling": ["tui-mixed-w2", "tui-mixed-w2-1cpu"],
}
UI_MISSING_NOTE = "dashboard is not available yet"


@dataclass
class Sample:
    """One generator run: its own figures and what nginx counted meanwhile."""

    rps: float
    requests: int
    nginx_requests: int
    duration_s: float
    ok: bool
    note: str = ""
    # Measured from outside in a steady window mid-run (start-up and end left out):
    window_rps: float | None = None  # what nginx served per second
    cpu_share: float | None = None  # CPU of the generator's process tree, 1.0 = one CPU
    root_cpu_share: float | None = None  # of its first process (tui-loadtest: the coordinator)
    terminal_cpu_share: float | None = None  # the tmux server drawing the dashboard
    # Share of each CPU that ran other processes (or was stolen by the hypervisor) than
    # the generator (on its CPU) or nginx (on its own): high values mean a noisy run.
    other_gen_cpu: float | None = None
    other_server_cpu: float | None = None
    irq_gen_cpu: float | None = None  # share of each CPU in interrupts (part of the TCP work)
    irq_server_cpu: float | None = None

    @property
    def count_diff(self) -> int:
        return self.requests - self.nginx_requests

    @property
    def noisy(self) -> bool:
        return max(self.other_gen_cpu or 0.0, self.other_server_cpu or 0.0) > NOISY

    @property
    def per_cpu_s(self) -> float | None:
        """Requests per CPU-second of the generator: speed per core, whatever nginx could take."""
        if self.window_rps is None or not self.cpu_share:
            return None
        return self.window_rps / self.cpu_share


@dataclass
class Ctx:
    """Everything a generator run needs."""

    args: argparse.Namespace
    nginx: Nginx
    tui: list[str]
    server_cpu: set[int] | None
    gen_cpu: set[int] | None
    logs: Path
    locust: Path | None = None
    tmux: str | None = None
    tmux_socket: str = field(default_factory=lambda: f"tui-bench-{os.getpid()}")
    ui_seen: str | None = None  # what the dashboard pane showed mid-run
    root: int | None = None  # PID of the generator running now (for the CPU window)
    terminal: int | None = None  # PID of our tmux server while the dashboard runs


# -- generators -------------------------------------------------------------------
def run_wrk(ctx: Ctx, tag: str) -> Sample:
    d = ctx.args.duration
    cmd = ["wrk", "-t1", f"-c{USERS}", f"-d{d}s", f"{ctx.nginx.url}/api/health"]
    out = ctx.logs / f"{tag}.txt"
    with open(out, "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
        ctx.root = proc.pid
        finish(proc, d + 30)
    text = out.read_text()
    m_rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    m_n = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if not (m_rps and m_n):
        return Sample(0, 0, 0, 0, False, f"wrk output not understood (see {out})")
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0}.get(m_n.group(3), 1.0)
    return Sample(float(m_rps.group(1)), int(m_n.group(1)), 0, float(m_n.group(2)) * scale, True)


def run_locust(ctx: Ctx, tag: str) -> Sample:
    d = ctx.args.duration
    prefix = ctx.logs / tag
    cmd = [
        str(ctx.locust),
        "-f",
        str(BENCH_DIR / "locustfile.py"),
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "-t",
        f"{d}s",
        "-H",
        ctx.nginx.url,
        "--json-file",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(f"{prefix}.txt", "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT, cwd=BENCH_DIR)
        ctx.root = proc.pid
        finish(proc, d + 60)
    try:
        entries = json.loads(Path(f"{prefix}.json").read_text())
        n = sum(e["num_requests"] for e in entries)
        # Locust's own total req/s: requests over first start to last request.
        span = max(e["last_request_timestamp"] for e in entries) - min(
            e["start_time"] for e in entries
        )
        rps = n / span
    except (OSError, KeyError, ValueError, ZeroDivisionError) as exc:
        return Sample(0, 0, 0, 0, False, f"no Locust stats ({exc}; see {prefix}.txt)")
    return Sample(rps, n, 0, span, True)


def tui_command(ctx: Ctx, scenario: str, out: Path, *, workers: int = 1, ui: bool = False):  # noqa: ANN201
    cmd = [*ctx.tui, "run", str(SCENARIOS / scenario), "--host", ctx.nginx.url]
    cmd += ["-u", str(USERS), "-t", f"{ctx.args.duration}s", "--workers", str(workers)]
    cmd += ["--out", str(out)]
    if not ui:
        cmd += ["--no-ui", "--interval", "3600"]
    return cmd


def read_report(out: Path, note: str) -> Sample:
    try:
        data = json.loads(out.read_text())
        s = data["summary"]
        return Sample(float(s["rps"]), int(s["requests"]), 0, float(data["duration_s"]), True)
    except (OSError, KeyError, ValueError) as exc:
        return Sample(0, 0, 0, 0, False, f"no report ({exc}); {note}")


def run_tui(
    ctx: Ctx, tag: str, scenario: str, workers: int = 1, cpus: set[int] | None = None
) -> Sample:
    out = ctx.logs / f"{tag}.json"
    log_path = ctx.logs / f"{tag}.txt"
    cmd = tui_command(ctx, scenario, out, workers=workers)
    with open(log_path, "wb") as fh:
        proc = spawn(cmd, cores=cpus or ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
        ctx.root = proc.pid
        rc = finish(proc, ctx.args.duration + 60)
    sample = read_report(out, f"exit code {rc}, see {log_path}")
    if rc != 0:
        sample.ok = False
        sample.note = f"exit code {rc}, see {log_path}"
    return sample


def tmux(ctx: Ctx, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Our own tmux server (its own socket). The first call starts the server, which
    inherits this call's CPU pinning: the terminal's work stays on the generator CPU
    and is charged to the dashboard, instead of taking nginx's CPU."""
    return subprocess.run(
        [ctx.tmux or "tmux", "-L", ctx.tmux_socket, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=check,
        preexec_fn=pinned(ctx.gen_cpu),  # noqa: PLW1509 - single-threaded here
    )


def run_tui_ui(ctx: Ctx, tag: str) -> Sample:
    """The mixed run with the dashboard drawn in a 160x48 tmux pane, pinned like the others."""
    d = ctx.args.duration
    out = ctx.logs / f"{tag}.json"
    rc_file = ctx.logs / f"{tag}.rc"
    cmd = tui_command(ctx, "mixed_nginx.toml", out, ui=True)
    taskset = shutil.which("taskset")
    if ctx.gen_cpu is not None and taskset:
        cmd = [taskset, "-c", ",".join(map(str, sorted(ctx.gen_cpu))), *cmd]
    shell = f"cd {shlex.quote(str(REPO_DIR))} && {shlex.join(cmd)}; echo $? > {rc_file}"
    tmux(ctx, "kill-session", "-t", tag)
    tmux(ctx, "new-session", "-d", "-s", tag, "-x", "160", "-y", "48", shell, check=True)
    server = tmux(ctx, "display-message", "-p", "#{pid}").stdout.strip()
    ctx.terminal = int(server) if server.isdigit() else None
    start = time.monotonic()
    seen = None
    pressed: list[str] = []
    while not rc_file.exists():
        elapsed = time.monotonic() - start
        if ctx.root is None:
            ctx.root = find_process(str(out))
        if seen is None and elapsed > d / 2 + 1:
            seen = tmux(ctx, "capture-pane", "-p", "-t", tag).stdout
            (ctx.logs / f"{tag}.pane.txt").write_text(seen)
        # The dashboard stays open after the run to show the end: ask it to quit.
        if elapsed > d + 6 and not pressed:
            pressed.append("q")
            tmux(ctx, "send-keys", "-t", tag, "q")
        elif elapsed > d + 20 and len(pressed) == 1:
            pressed.append("C-c")
            tmux(ctx, "send-keys", "-t", tag, "C-c")
        elif elapsed > d + 40:
            tmux(ctx, "kill-session", "-t", tag)
            break
        time.sleep(0.2)
    ctx.ui_seen = seen or ""
    rc = rc_file.read_text().strip() if rc_file.exists() else "none (killed)"
    sample = read_report(out, f"exit code {rc}")
    if len(pressed) > 1:
        sample.note = f"did not quit on q: sent {'+'.join(pressed)}"
    elif sample.ok and sample.duration_s < d - 0.5:
        sample.note = f"q ended the run early ({sample.duration_s:.1f}s)"
    if UI_MISSING_NOTE in (seen or ""):
        sample.note = "no dashboard yet: ran headless"
    return sample


def find_process(marker: str) -> int | None:
    """The Python process whose arguments include ``marker`` (not a shell around it)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            argv = cmdline(int(entry)).split(" ")
            if "python" in Path(argv[0]).name and marker in argv:
                return int(entry)
    return None


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
    both = (ctx.server_cpu or set()) | (ctx.gen_cpu or set()) or None
    runners = {
        "wrk": lambda: run_wrk(ctx, tag),
        "locust": lambda: run_locust(ctx, tag),
        "tui-mixed": lambda: run_tui(ctx, tag, "mixed_nginx.toml"),
        "tui-single": lambda: run_tui(ctx, tag, "single_nginx.toml"),
        "tui-mixed-ui": lambda: run_tui_ui(ctx, tag),
        "tui-mixed-w2": lambda: run_tui(ctx, tag, "mixed_nginx.toml", 2, both),
        "tui-mixed-w2-1cpu": lambda: run_tui(ctx, tag, "mixed_nginx.toml", 2),
    }
    ctx.root = ctx.terminal = None
    window = Window(ctx)
    window.start()
    before = ctx.nginx.served()
    sample = runners[name]()
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


def median_of(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def rnd(x: float | None, digits: int = 0) -> float | None:
    return None if x is None else round(x, digits) if digits else round(x)


def best_rps(samples: list[Sample]) -> float:
    """The least disturbed run: on a shared machine, others only ever slow a run down."""
    good = [s.rps for s in samples if s.ok and s.rps > 0]
    return max(good) if good else 0.0


def median_rps(samples: list[Sample]) -> float:
    good = [s.rps for s in samples if s.ok and s.rps > 0]
    return statistics.median(good) if good else 0.0


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


# -- UI overhead and scaling ---------------------------------------------------------
def ui_overhead(samples: dict[str, list[Sample]], ctx: Ctx) -> dict | None:
    if "tui-mixed-ui" not in samples or "tui-mixed" not in samples:
        return None
    ui, head = median_rps(samples["tui-mixed-ui"]), median_rps(samples["tui-mixed"])
    ui_best, head_best = best_rps(samples["tui-mixed-ui"]), best_rps(samples["tui-mixed"])
    ui_cpu = median_of([s.per_cpu_s for s in samples["tui-mixed-ui"]])
    ui_coord = median_of([s.root_cpu_share for s in samples["tui-mixed-ui"]])
    head_coord = median_of([s.root_cpu_share for s in samples["tui-mixed"]])
    term = median_of([s.terminal_cpu_share for s in samples["tui-mixed-ui"]])
    head_cpu = median_of([s.per_cpu_s for s in samples["tui-mixed"]])
    seen = ctx.ui_seen or ""
    drawn = bool(seen.strip()) and UI_MISSING_NOTE not in seen
    return {
        "headless_rps": round(head),
        "dashboard_rps": round(ui),
        "overhead": round(1 - ui / head, 4) if head and ui else None,
        "headless_best_rps": round(head_best),
        "dashboard_best_rps": round(ui_best),
        "overhead_best": round(1 - ui_best / head_best, 4) if head_best and ui_best else None,
        "headless_req_per_cpu_s": rnd(head_cpu),
        "dashboard_req_per_cpu_s": rnd(ui_cpu),
        "cpu_overhead": round(1 - ui_cpu / head_cpu, 4) if ui_cpu and head_cpu else None,
        "coordinator_cpu_share_headless": rnd(head_coord, 3),
        "coordinator_cpu_share_dashboard": rnd(ui_coord, 3),
        "terminal_cpu_share": rnd(term, 3),
        # What drawing costs the generator CPU, robust to noise: the coordinator's
        # extra CPU with the dashboard plus the terminal's.
        "cpu_taken": (
            round(ui_coord - head_coord + (term or 0.0), 4)
            if ui_coord is not None and head_coord is not None
            else None
        ),
        "dashboard_drawn": drawn,
        "note": (
            "the dashboard was drawn in a 160x48 tmux pane on the generator CPU"
            if drawn
            else "tui-loadtest has no dashboard yet: without --no-ui it ran headless, so "
            "this only measures the tmux/terminal path, not a dashboard"
        ),
    }


def scaling(samples: dict[str, list[Sample]]) -> dict | None:
    if "tui-mixed" not in samples:
        return None
    one = median_rps(samples["tui-mixed"])
    out: dict = {"workers_1_rps": round(one)}
    for name, key in (("tui-mixed-w2", "both_cpus"), ("tui-mixed-w2-1cpu", "generator_cpu")):
        if name in samples:
            two = median_rps(samples[name])
            out[f"workers_2_{key}_rps"] = round(two)
            out[f"workers_2_{key}_ratio"] = round(two / one, 3) if one else None
    if "wrk" in samples:
        out["wrk_rps"] = round(median_rps(samples["wrk"]))
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


def fmt_ratio(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}x"


def print_report(res: dict) -> None:
    p = print
    m = res["machine"]
    p()
    p(f"Machine: {m['nproc']} CPUs, {m['cpu_model']}, Linux {m['kernel']}, Python {m['python']}")
    p(f"Pinning: {res['pinning']}; {res['duration_s']} s per run, {res['repeat']} rounds")
    rows = res["generators"]
    if rows:
        p()
        hdr = (
            f"{'generator':18} {'median':>8} {'x wrk':>6} {'x Locust':>8} {'best':>8} "
            f"{'x wrk':>6} {'x Locust':>8} {'CPU':>5} {'req/CPU-s':>9} {'x Locust':>8}"
        )
        p(f"{'':18} {'--- req/s, median of rounds ---':>24} {'--- best round ---':>24}")
        p(hdr)
        p("-" * len(hdr))
        for name, row in rows.items():
            share = row["median_cpu_share"]
            cpu = f"{share * 100:4.0f}%" if share is not None else "-"
            per = row["median_req_per_cpu_s"]
            p(
                f"{name:18} {row['median_rps']:>8,.0f} {fmt_ratio(row['vs_wrk']):>6} "
                f"{fmt_ratio(row['vs_locust'], 1):>8} {row['best_rps']:>8,.0f} "
                f"{fmt_ratio(row['best_vs_wrk']):>6} {fmt_ratio(row['best_vs_locust'], 1):>8} "
                f"{cpu:>5} {'-' if per is None else format(per, ',.0f'):>9} "
                f"{fmt_ratio(row['per_cpu_vs_locust'], 1):>8}"
                + ("" if row["counts_agree"] else "  COUNT MISMATCH")
            )
        p()
        p("Rounds (req/s; * = noisy: other processes took over 10 % of a CPU during the run):")
        for name, row in rows.items():
            runs = ", ".join(
                f"{r:,.0f}{'*' if noisy else ''}"
                for r, noisy in zip(row["runs_rps"], row["runs_noisy"], strict=True)
            )
            p(f"  {name:18} {runs}")
        p("req/s: each generator's own figure; ratios of the medians and of the best rounds.")
        worst = max((abs(d) for r in rows.values() for d in r["count_diff_vs_nginx"]), default=0)
        p(
            f"Counts: every run's own count was checked against nginx's stub_status: largest "
            f"difference {worst} (at most {USERS} can be in flight at the end)."
        )
        gen_other = [
            x for r in rows.values() for x in r["runs_other_load_generator_cpu"] if x is not None
        ]
        srv_other = [
            x for r in rows.values() for x in r["runs_other_load_server_cpu"] if x is not None
        ]
        if gen_other and srv_other:
            p(
                f"Other processes during the runs, median: "
                f"{statistics.median(gen_other):.0%} of the generator CPU, "
                f"{statistics.median(srv_other):.0%} of nginx's CPU (max "
                f"{max(gen_other):.0%} / {max(srv_other):.0%})."
            )
        p("CPU, req/CPU-s: measured from outside in a window mid-run (start-up left out):")
        p("  CPU used by the generator's processes (100% = one CPU; below, it waited for")
        p("  nginx or lost the CPU to others) and what nginx served per second of it.")
    if res.get("memory"):
        mem = res["memory"]
        p()
        p("Memory (one worker, idle users, think time 10 s):")
        for users, row in mem["users"].items():
            if "worker_rss_kb" in row:
                p(
                    f"  {int(users):>6,} users: RSS {row['worker_rss_kb'] / 1024:6.1f} MB, "
                    f"{row['kb_per_user_overall']:.1f} KB/user overall, {row['open_fds']} fds"
                )
            else:
                p(f"  {int(users):>6,} users: {row.get('error')}")
        for line in mem.get("skipped", []):
            p(f"  {line}")
        if "kb_per_user_marginal" in mem:
            p(f"  marginal cost: {mem['kb_per_user_marginal']:.2f} KB per user (10k - 1k) / 9k")
    if res.get("ui"):
        ui = res["ui"]
        p()
        p("Dashboard overhead (mixed shape, same CPU, side by side):")
        p(f"  --no-ui {ui['headless_rps']:,} req/s, dashboard {ui['dashboard_rps']:,} req/s")
        if ui["overhead"] is not None:
            p(f"  overhead {ui['overhead'] * 100:.1f} % in req/s  ({ui['note']})")
        if ui.get("overhead_best") is not None:
            p(
                f"  best rounds: --no-ui {ui['headless_best_rps']:,} req/s, dashboard "
                f"{ui['dashboard_best_rps']:,} req/s: {ui['overhead_best'] * 100:.1f} % overhead"
            )
        if ui["cpu_overhead"] is not None:
            p(
                f"  per CPU-second: --no-ui {ui['headless_req_per_cpu_s']:,.0f}, dashboard "
                f"{ui['dashboard_req_per_cpu_s']:,.0f}: "
                f"{ui['cpu_overhead'] * 100:.1f} % fewer requests per CPU-second"
            )
        hc, uc = ui["coordinator_cpu_share_headless"], ui["coordinator_cpu_share_dashboard"]
        if hc is not None and uc is not None:
            p(
                f"  the coordinator process (where the dashboard draws) used {uc * 100:.0f} % "
                f"of the CPU, against {hc * 100:.0f} % headless"
            )
        if ui.get("terminal_cpu_share") is not None:
            p(f"  the terminal (tmux, same CPU) used {ui['terminal_cpu_share'] * 100:.0f} %")
        if ui.get("cpu_taken") is not None:
            p(
                f"  so drawing takes {ui['cpu_taken'] * 100:.1f} % of the generator CPU (the "
                "req/s comparison is only as good as the rounds were quiet)"
            )
    if res.get("scaling"):
        sc = res["scaling"]
        p()
        p("Scaling (mixed shape; nginx stays pinned to its CPU):")
        p(f"  --workers 1 on the generator CPU:       {sc['workers_1_rps']:>9,} req/s")
        if "workers_2_both_cpus_rps" in sc:
            p(
                f"  --workers 2 on both CPUs (with nginx):  {sc['workers_2_both_cpus_rps']:>9,}"
                f" req/s  ({fmt_ratio(sc['workers_2_both_cpus_ratio'])})"
            )
        if "workers_2_generator_cpu_rps" in sc:
            p(
                f"  --workers 2 on the generator CPU:       "
                f"{sc['workers_2_generator_cpu_rps']:>9,} req/s  "
                f"({fmt_ratio(sc['workers_2_generator_cpu_ratio'])})"
            )
        if "wrk_rps" in sc:
            p(f"  (wrk, the most this nginx served here:  {sc['wrk_rps']:>9,} req/s)")
        p("  With nginx pinned to one of two CPUs there is no free core for a second worker:")
        p("  on both CPUs it takes CPU from nginx; on the generator CPU it only adds a process.")
        p("  Either way the ceiling is what nginx can serve (about wrk's figure), so any gain")
        p("  shows how far one worker was from that ceiling, not how workers scale.")
    if res.get("accuracy"):
        acc = res["accuracy"]
        p()
        p(
            "Accuracy (8 users, think time 20-60 ms; truth = the server's hold time of each "
            "request plus"
        )
        med, p99 = acc.get("rtt_us_median", 0), acc.get("rtt_us_p99", 0)
        p(f"  the round trip a plain client saw beside it: median {med:.0f} µs, p99 {p99:.0f} µs):")
        if "error" in acc:
            p(f"  {acc['error']}")
        p(
            f"  {'endpoint':16} {'p50 rep':>8} {'p50 true':>9} {'p99 rep':>8} {'p99 true':>9}"
            f"  {'within 1 ms':>11}  requests"
        )
        for r in acc.get("endpoints", []):
            p(
                f"  {r['endpoint']:16} {r['p50_reported_ms']:8.3f} {r['p50_truth_ms']:9.3f} "
                f"{r['p99_reported_ms']:8.3f} {r['p99_truth_ms']:9.3f}  "
                f"{'yes' if r['within_1ms'] else 'NO':>11}  {r['requests_reported']}"
                + ("  (reference: no delay)" if r["delay_ms"] == 0 else "")
            )
    if res.get("micro"):
        p()
        p("Recording one sample (ns; net = minus the empty-call harness):")
        for name, row in res["micro"].items():
            p(f"  {name:44} {row['best_ns']:7.1f}  net {row['net_ns']:7.1f}")
    prof = res.get("profile") or {}
    if prof.get("categories"):
        p()
        p(
            f"Profile of the worker's event loop (py-spy --native, {prof['samples']} samples, "
            f"{prof.get('rps_while_profiled') or 0:,.0f} req/s while sampled):"
        )
        for row in prof["categories"]:
            p(f"  {row['pct']:5.1f} %  {row['frame']}")
        p("  hottest Python lines (self):")
        lines = [r for r in prof["top_self"] if "tui_loadtest/" in r["frame"]]
        for row in lines[:8]:
            p(f"  {row['pct']:5.1f} %  {row['frame']}")
    if res.get("targets"):
        p()
        p("Targets:")
        for t in res["targets"]:
            mark = {True: "met", False: "NOT met", None: "n/a"}.get(t["met"], t["met"])
            p(f"  [{mark}] {t['target']}: {t['measured']}")
    p()
    p(f"Took {res['elapsed_s']:.0f} s. JSON: {res['json_path']}")


def check_targets(res: dict) -> list[dict]:
    out = []
    g = res["generators"]
    mixed = g.get("tui-mixed", {})
    for key, best_key, goal, text, digits in (
        ("vs_locust", "best_vs_locust", 15, "mixed shape >= 15x Locust FastHttpUser", 1),
        ("vs_wrk", "best_vs_wrk", 0.5, "mixed shape >= 0.5x wrk (stretch 0.6x)", 2),
    ):
        if mixed.get(key) is None:
            continue
        med, best = mixed[key], mixed[best_key]
        out.append(
            {
                "target": text,
                "measured": f"median {med:.{digits}f}x, best round {best:.{digits}f}x",
                "met": True if med >= goal else ("best round only" if best >= goal else False),
            }
        )
    mem = res.get("memory") or {}
    ten = mem.get("users", {}).get("10000", {})
    if "kb_per_user_marginal" in mem and "worker_rss_kb" in ten:
        out.append(
            {
                "target": "<= 10 KB per idle user, 10,000 users < 150 MB RSS",
                "measured": f"{mem['kb_per_user_marginal']:.1f} KB/user, "
                f"{ten['worker_rss_kb'] / 1024:.0f} MB",
                "met": mem["kb_per_user_marginal"] <= 10 and ten["worker_rss_kb"] < 150 * 1024,
            }
        )
    ui = res.get("ui")
    if ui and ui["overhead"] is not None:
        taken, per_cpu = ui.get("cpu_taken"), ui.get("cpu_overhead")
        parts = []
        if taken is not None:
            parts.append(f"the dashboard process takes {taken * 100:.1f} % of the generator CPU")
        if per_cpu is not None:
            parts.append(f"{per_cpu * 100:.1f} % fewer requests per CPU-second")
        parts.append(f"req/s {ui['overhead'] * 100:.1f} % lower (median; noise-prone)")
        if ui.get("overhead_best") is not None:
            parts.append(f"best rounds {ui['overhead_best'] * 100:.1f} %")
        if not ui["dashboard_drawn"]:
            met = None
        elif taken is None:
            met = ui["overhead"] < 0.10
        elif taken < 0.10 and (per_cpu is None or per_cpu < 0.10):
            met = True
        else:
            met = "by CPU taken only" if taken < 0.10 else False
        out.append(
            {"target": "dashboard overhead < 10 %", "measured": "; ".join(parts), "met": met}
        )
    acc = res.get("accuracy")
    if acc and acc.get("endpoints"):
        # The target names endpoints with a known delay; /delay/0 is shown for reference
        # (its p99 is the machine's scheduling noise more than anything).
        delayed = [r for r in acc["endpoints"] if r["delay_ms"] > 0]
        worst = max(max(abs(r["p50_error_ms"]), abs(r["p99_error_ms"])) for r in delayed)
        out.append(
            {
                "target": "p50/p99 within 1 ms of the truth at low load (20 and 80 ms endpoints)",
                "measured": f"worst error {worst:.3f} ms",
                "met": all(r["within_1ms"] for r in delayed),
            }
        )
    micro = res.get("micro")
    if micro:
        eng = micro["inline record (engine statements)"]["net_ns"]
        plain = micro["plain log-linear function"]["net_ns"]
        out.append(
            {
                "target": "recording a sample <= a plain log-linear histogram (~150 ns)",
                "measured": f"engine {eng:.0f} ns vs plain {plain:.0f} ns (net)",
                "met": eng <= max(plain, 150.0),
            }
        )
    return out


# -- main -----------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "generators (for --only): "
            + "; ".join(f"{k}: {v}" for k, v in GENERATORS.items())
            + ". Groups: core (the first four), ui, scaling."
        ),
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--only",
        default="core,ui,scaling",
        help="comma-separated generators or groups to run (default: core,ui,scaling)",
    )
    parser.add_argument("--skip-memory", action="store_true", help="no idle-user memory runs")
    parser.add_argument("--skip-accuracy", action="store_true", help="no latency accuracy run")
    parser.add_argument("--skip-micro", action="store_true", help="no recording micro-benchmark")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the worker with py-spy"
    )
    parser.add_argument(
        "--memory-users",
        default="1000,10000",
        help="idle user counts for the memory runs (default 1000,10000)",
    )
    parser.add_argument(
        "--accuracy-time", type=int, default=30, help="seconds of the accuracy run (default 30)"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=1.0,
        help="seconds between runs (default 1; lets TIME_WAIT sockets and CPU caches settle)",
    )
    parser.add_argument(
        "--out", default=str(RESULTS / "latest.json"), help="JSON results (default %(default)s)"
    )
    args = parser.parse_args(argv)
    names: list[str] = []
    for part in filter(None, (p.strip() for p in args.only.split(","))):
        for name in GROUPS.get(part, [part]):
            if name not in GENERATORS:
                parser.error(f"--only: unknown generator or group {part!r}")
            if name not in names:
                names.append(name)
    args.names = names
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl+C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    nofile = raise_nofile()
    need = {"nginx": "nginx"}
    if "wrk" in args.names:
        need["wrk"] = "wrk"
    if "tui-mixed-ui" in args.names:
        need["tmux"] = "tmux"
    bins = ensure_debian(need)
    locust = ensure_locust() if "locust" in args.names else None
    tui = ensure_tui_loadtest()
    server_cpu, gen_cpu, pin_note = pick_cores()
    log(pin_note)
    log(f"open files: soft {nofile[0]}, hard {nofile[1]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    nginx = Nginx(bins["nginx"], server_cpu)
    ctx = Ctx(args, nginx, tui, server_cpu, gen_cpu, logs, locust, bins.get("tmux"))
    res: dict = {
        "issue": 5,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "pinning": pin_note,
        "duration_s": args.duration,
        "repeat": args.repeat,
        "generators": {},
    }
    try:
        nginx.start()
        log(f"nginx on {nginx.url}")
        samples = run_rounds(ctx, args.names) if args.names else {}
        wrk = median_rps(samples["wrk"]) if "wrk" in samples else None
        loc = median_rps(samples["locust"]) if "locust" in samples else None
        loc_cpu = median_of([s.per_cpu_s for s in samples.get("locust", [])])
        wrk_best = best_rps(samples["wrk"]) if "wrk" in samples else None
        loc_best = best_rps(samples["locust"]) if "locust" in samples else None
        for name, runs in samples.items():
            med = median_rps(runs)
            best = best_rps(runs)
            per_cpu = median_of([s.per_cpu_s for s in runs])
            res["generators"][name] = {
                "what": GENERATORS[name],
                "median_rps": round(med),
                "vs_wrk": round(med / wrk, 3) if wrk else None,
                "vs_locust": round(med / loc, 1) if loc else None,
                "best_rps": round(best),
                "best_vs_wrk": round(best / wrk_best, 3) if wrk_best else None,
                "best_vs_locust": round(best / loc_best, 1) if loc_best else None,
                "runs_noisy": [s.noisy for s in runs],
                "runs_rps": [round(s.rps) for s in runs],
                "runs_requests": [s.requests for s in runs],
                "nginx_requests": [s.nginx_requests for s in runs],
                "count_diff_vs_nginx": [s.count_diff for s in runs],
                "runs_window_rps": [rnd(s.window_rps) for s in runs],
                "runs_cpu_share": [rnd(s.cpu_share, 3) for s in runs],
                "median_cpu_share": rnd(median_of([s.cpu_share for s in runs]), 3),
                "median_first_process_cpu_share": rnd(
                    median_of([s.root_cpu_share for s in runs]), 3
                ),
                "median_req_per_cpu_s": rnd(per_cpu),
                "runs_other_load_generator_cpu": [rnd(s.other_gen_cpu, 3) for s in runs],
                "runs_other_load_server_cpu": [rnd(s.other_server_cpu, 3) for s in runs],
                "runs_irq_generator_cpu": [rnd(s.irq_gen_cpu, 3) for s in runs],
                "runs_irq_server_cpu": [rnd(s.irq_server_cpu, 3) for s in runs],
                "per_cpu_vs_locust": round(per_cpu / loc_cpu, 1) if per_cpu and loc_cpu else None,
                "counts_agree": all(abs(s.count_diff) <= USERS for s in runs if s.ok),
                "notes": sorted({s.note for s in runs if s.note}),
            }
        res["ui"] = ui_overhead(samples, ctx)
        res["scaling"] = scaling(samples) if len(samples) > 1 else None
        if not args.skip_memory:
            counts = sorted(int(x) for x in args.memory_users.split(","))
            res["memory"] = measure_memory(ctx, counts, nofile)
        if not args.skip_accuracy:
            res["accuracy"] = measure_accuracy(ctx)
        if not args.skip_micro:
            res["micro"] = run_micro(ctx)
        if args.profile:
            res["profile"] = run_profile(ctx)
    except KeyboardInterrupt:
        log("interrupted: stopping everything this benchmark started")
        return 130
    finally:
        if ctx.tmux:
            tmux(ctx, "kill-server")
        stop_all()
        nginx.stop()
    res["targets"] = check_targets(res)
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    res["json_path"] = str(out)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print_report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
