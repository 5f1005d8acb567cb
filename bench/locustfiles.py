"""The locustfile benchmark (issue 21, "Speed"): unmodified locustfiles on our engine.

One command, ``python bench/locustfiles.py``, measures side by side in one run, on a
private nginx pinned to one CPU and every generator (its whole process tree) pinned to
the other, 64 users, no wait, alternating order, several rounds:

- ``tui-http`` against ``locust-http``: bench/locustfiles/http_user.py, an ``HttpUser``
  with three weighted tasks (GET, GET, POST with JSON), run by
  ``tui-loadtest locust run`` (one worker process) and by Locust (target: 8x);
- ``tui-fast`` against ``locust-fast``: the same tasks on ``FastHttpUser`` (target: 5x);
- ``tui-toml``, for reference: the same three requests as a plain scenario (mix.toml),
  the engine with no Python per request;
- ``tui-journey-lf`` against ``tui-journey-script``: bench/journeys' 4-step journey as
  a locustfile and as our async script, both run by tui-loadtest (target: 0.75x);
- memory: the worker's RSS with 10,000 idle locustfile users less that with 10, per
  added user (target: at most 20 KB).

Besides each generator's own req/s (from its stats CSV or JSON report), a window
mid-run measures from outside what nginx served and the CPU the generator's process
tree used: req/CPU-s is speed per core. Every run's own request count is checked
against nginx's ``stub_status`` counter. Results go to bench/results/locustfiles.json.
Ratios measured side by side are what to quote: these machines are shared.
``--profile`` adds a py-spy profile of one locustfile worker (where a request's CPU goes).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    BENCH_DIR,
    Nginx,
    ensure_debian,
    ensure_locust,
    ensure_pyspy,
    ensure_ref,
    ensure_tui_loadtest,
    finish,
    log,
    pick_cores,
    raise_nofile,
    spawn,
    stop_all,
    vm_rss_kb,
    worker_pids,
)
from journeys import nginx_conf as journey_conf  # noqa: E402
from measurement import Window, describe_machine  # noqa: E402
from profile_worker import category  # noqa: E402
from samples import USERS, Ctx, Sample  # noqa: E402

FILES = BENCH_DIR / "locustfiles"
JOURNEYS = BENCH_DIR / "journeys"
RESULTS = BENCH_DIR / "results"

# name: (part, what it is)
GENERATORS: dict[str, tuple[str, str]] = {
    "tui-http": ("http", "tui-loadtest locust run, http_user.py (HttpUser)"),
    "locust-http": ("http", "Locust, http_user.py (HttpUser)"),
    "tui-fast": ("fast", "tui-loadtest locust run, fast_http_user.py (FastHttpUser)"),
    "locust-fast": ("fast", "Locust, fast_http_user.py (FastHttpUser)"),
    "tui-toml": ("http", "tui-loadtest run, mix.toml: the same requests as a plain scenario"),
    "tui-journey-lf": ("journey", "tui-loadtest run, journey_locustfile.py (4 steps)"),
    "tui-journey-script": ("journey", "tui-loadtest run, journey_script.py (4 steps)"),
}
PARTS = ("http", "fast", "journey", "memory")
# (label, numerator, denominator, target ratio: at least)
TARGETS = (
    ("HttpUser: tui / Locust", "tui-http", "locust-http", 8.0),
    ("FastHttpUser: tui / Locust", "tui-fast", "locust-fast", 5.0),
    ("journey: locustfile / script", "tui-journey-lf", "tui-journey-script", 0.75),
)
MEMORY_TARGET_KB = 20.0
ITEMS = '[{"id":"i1","name":"widget","price":9.5},{"id":"i2","name":"gadget","price":12}]'
CREATED = '{"id":"i3","name":"widget","price":9.5,"tags":["a","b"]}'


def nginx_conf() -> str:
    """journeys.py's conf (the journey's four routes) plus /api/items: a list on GET, a
    created item (201) on POST."""
    esc = {k: v.replace("{", "{{").replace("}", "}}") for k, v in (("i", ITEMS), ("c", CREATED))}
    route = (
        "        location = /api/items {{\n"
        f"            if ($request_method = POST) {{{{ return 201 '{esc['c']}'; }}}}\n"
        f"            return 200 '{esc['i']}';\n"
        "        }}\n"
    )
    marker = "        location / {{"
    base = journey_conf()
    assert marker in base
    return base.replace(marker, route + marker)


# -- one run of each kind ------------------------------------------------------------
def read_stats_csv(prefix: Path) -> tuple[int, int, float]:
    """(requests, failures, req/s) of the Aggregated row of a Locust-shaped stats CSV."""
    with open(f"{prefix}_stats.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                n, failed = int(row["Request Count"]), int(row["Failure Count"])
                return n, failed, float(row["Requests/s"])
    raise ValueError("no Aggregated row")


def launch(
    ctx: Ctx,
    cmd: list[str],
    tag: str,
    during: Callable[[subprocess.Popen], None] | None = None,
) -> int:
    """A Locust command line (ours or Locust's) for the run's users and duration, pinned;
    its exit code. ``during`` runs while it does (the profiler)."""
    d = ctx.args.duration
    cmd = [*cmd, "--headless", "-u", str(USERS), "-r", str(USERS), "-t", f"{d}s"]
    cmd += ["--host", ctx.nginx.url, "--only-summary", "--loglevel", "WARNING"]
    with open(ctx.logs / f"{tag}.txt", "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT, cwd=FILES)
        ctx.root = proc.pid
        if during is not None:
            during(proc)
        return finish(proc, d + 60)


def run_ours(ctx: Ctx, file: str, tag: str, tui: list[str]) -> Sample:
    """``tui-loadtest locust run -f FILE``, read from its Locust-shaped stats CSV."""
    prefix = ctx.logs / tag
    rc = launch(ctx, [*tui, "locust", "run", "-f", str(FILES / file), "--csv", str(prefix)], tag)
    try:
        n, failures, rps = read_stats_csv(prefix)
    except (OSError, KeyError, ValueError) as exc:
        return Sample(0, 0, 0, 0, False, f"exit {rc}, no stats ({exc}); see {prefix}.txt")
    ok = rc == 0 and failures == 0
    note = "" if ok else f"exit {rc}, {failures} failures; see {prefix}.txt"
    return Sample(rps, n, 0, float(ctx.args.duration), ok, note)


def run_locust(ctx: Ctx, file: str, tag: str) -> Sample:
    """Locust itself, read from its JSON stats (its CSV is written by a periodic writer
    and can miss the last second); req/s as Locust's total: requests over first start to
    last request."""
    prefix = ctx.logs / tag
    cmd = [str(ctx.locust), "-f", str(FILES / file), "--json-file", str(prefix)]
    rc = launch(ctx, cmd, tag)
    try:
        entries = json.loads(Path(f"{prefix}.json").read_text())
        n = sum(e["num_requests"] for e in entries)
        failures = sum(e["num_failures"] for e in entries)
        first = min(e["start_time"] for e in entries)
        span = max(e["last_request_timestamp"] for e in entries) - first
        rps = n / span
    except (OSError, KeyError, ValueError, ZeroDivisionError) as exc:
        return Sample(0, 0, 0, 0, False, f"exit {rc}, no stats ({exc}); see {prefix}.txt")
    ok = rc == 0 and failures == 0
    note = "" if ok else f"exit {rc}, {failures} failures; see {prefix}.txt"
    return Sample(rps, n, 0, span, ok, note)


def run_script(ctx: Ctx, target: Path, tag: str, tui: list[str]) -> Sample:
    """``tui-loadtest run FILE`` (a locustfile, our script or a scenario), read from its
    JSON report."""
    d = ctx.args.duration
    out = ctx.logs / f"{tag}.json"
    cmd = [*tui, "run", str(target), "--host", ctx.nginx.url, "-u", str(USERS)]
    cmd += ["-r", str(USERS), "-t", f"{d}s", "--workers", "1", "--no-ui", "--interval", "3600"]
    cmd += ["--out", str(out)]
    with open(ctx.logs / f"{tag}.txt", "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
        ctx.root = proc.pid
        rc = finish(proc, d + 60)
    try:
        data = json.loads(out.read_text())
        s = data["summary"]
        sample = Sample(float(s["rps"]), int(s["requests"]), 0, float(data["duration_s"]), True)
        failures = int(s["failures"])
    except (OSError, KeyError, ValueError) as exc:
        return Sample(0, 0, 0, 0, False, f"exit {rc}, no report ({exc}); see {tag}.txt")
    if rc != 0 or failures:  # a journey that fails is not the same work
        sample.ok = False
        sample.note = f"exit {rc}, {failures} failures; see {ctx.logs / tag}.txt"
    return sample


def runner(ctx: Ctx, name: str, tag: str) -> Callable[[], Sample]:
    """How to run generator ``name``; ``NAME@REV``: ours as built from revision REV."""
    base, _, rev = name.partition("@")
    tui = ctx.refs[rev] if rev else ctx.tui
    runs: dict[str, Callable[[], Sample]] = {
        "tui-http": lambda: run_ours(ctx, "http_user.py", tag, tui),
        "locust-http": lambda: run_locust(ctx, "http_user.py", tag),
        "tui-fast": lambda: run_ours(ctx, "fast_http_user.py", tag, tui),
        "locust-fast": lambda: run_locust(ctx, "fast_http_user.py", tag),
        "tui-toml": lambda: run_script(ctx, FILES / "mix.toml", tag, tui),
        "tui-journey-lf": lambda: run_script(ctx, JOURNEYS / "journey_locustfile.py", tag, tui),
        "tui-journey-script": lambda: run_script(ctx, JOURNEYS / "journey_script.py", tag, tui),
    }
    return runs[base]


def run_generator(ctx: Ctx, name: str, tag: str) -> Sample:
    """One run, with nginx's count and the CPU window (measurement.Window) around it."""
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
    sample.other_gen_cpu, sample.other_server_cpu = window.other_gen, window.other_server
    sample.irq_gen_cpu, sample.irq_server_cpu = window.irq_gen, window.irq_server
    if sample.ok and abs(sample.count_diff) > USERS:
        sample.ok = False
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
            s = run_generator(ctx, name, f"{name}-r{r + 1}")
            samples[name].append(s)
            per = f", {s.per_cpu_s:,.0f} req/CPU-s" if s.per_cpu_s else ""
            other = (
                f", others took {s.other_gen_cpu:.0%} of its CPU"
                if s.other_gen_cpu is not None
                else ""
            )
            log(
                f"round {r + 1}/{ctx.args.repeat} {name}: {s.rps:,.0f} req/s{per}, "
                f"{s.requests:,} requests, nginx counted {s.nginx_requests:,}{other}"
                + (f"  [{s.note}]" if s.note else "")
            )
            time.sleep(ctx.args.pause)
    return samples


# -- memory --------------------------------------------------------------------------
def idle_rss(ctx: Ctx, file: str, users: int, connects: bool) -> dict:
    """The worker's RSS once ``users`` users of ``file`` are spawned and idle: polled
    until every user's request has reached nginx (when they send one) and the RSS holds
    still for three readings."""
    rate = 2000
    spawn_s = users / rate
    run_s = math.ceil(spawn_s) + 15
    tag = f"memory-{Path(file).stem}-{users}"
    cmd = [*ctx.tui, "locust", "run", "-f", str(FILES / file), "--headless", "-u", str(users)]
    cmd += ["-r", str(rate), "-t", f"{run_s}s", "--host", ctx.nginx.url, "--loglevel", "WARNING"]
    before = ctx.nginx.served()
    with open(ctx.logs / f"{tag}.txt", "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
        workers = worker_pids(proc.pid)
        if not workers:
            finish(proc, 0.0)
            return {"error": "no worker process found"}
        w = workers[0]
        deadline = time.monotonic() + run_s - 1
        time.sleep(spawn_s + 1.0)
        readings: list[int] = []
        while time.monotonic() < deadline:
            readings.append(vm_rss_kb(w))
            reached = not connects or ctx.nginx.served() - before >= users
            last = readings[-3:]
            if reached and len(last) == 3 and max(last) - min(last) <= max(64, max(last) // 200):
                break
            time.sleep(0.5)
        served = ctx.nginx.served() - before
        rc = finish(proc, run_s + 30)
    return {
        "users": users,
        "worker_rss_kb": max(readings[-3:]) if readings else 0,
        "requests_served": served,
        "settled": bool(readings) and (not connects or served >= users),
        "exit_code": rc,
    }


def measure_memory(ctx: Ctx, many: int, few: int) -> dict:
    """KB per added idle user: (RSS with ``many`` - RSS with ``few``) / (many - few), for
    users that sent one request and wait (a connection each, the target's figure) and
    for users asleep in on_start (no request: the user and its greenlet alone)."""
    out: dict = {}
    for kind, file, connects in (
        ("after one request", "idle_user.py", True),
        ("asleep in on_start", "idle_sleeping_user.py", False),
    ):
        lo = idle_rss(ctx, file, few, connects)
        hi = idle_rss(ctx, file, many, connects)
        row: dict = {"file": file, "few": lo, "many": hi}
        if lo.get("settled") and hi.get("settled"):
            added = hi["worker_rss_kb"] - lo["worker_rss_kb"]
            row["kb_per_user"] = round(added / (many - few), 2)
        out[kind] = row
        log(
            f"memory, {kind}: worker RSS {lo.get('worker_rss_kb', 0) / 1024:.1f} MB with {few} "
            f"users, {hi.get('worker_rss_kb', 0) / 1024:.1f} MB with {many}: "
            f"{row.get('kb_per_user', '?')} KB per user"
        )
    return out


# -- profile ---------------------------------------------------------------------------
def profile(ctx: Ctx, file: Path) -> dict:
    """py-spy (native frames) on the worker of one ``locust run`` of ``file``: where the
    event loop's thread spends its time, by category (profile_worker's) and by function,
    self and total. User greenlets' stacks begin at their greenlet, not at worker_main:
    every stack but the worker's idle threads' is kept."""
    pyspy = ensure_pyspy(ctx.tui[0])
    raw = ctx.logs / f"profile-{file.stem}.raw.txt"
    secs = max(2, ctx.args.duration - 4)

    def spy(proc: subprocess.Popen) -> None:
        workers = worker_pids(proc.pid)
        if not workers:
            return
        time.sleep(2.5)  # started, users spawned
        cmd = [pyspy, "record", "--pid", str(workers[0]), "--duration", str(secs), "--native"]
        cmd += ["--rate", "250", "--format", "raw", "--output", str(raw), "--idle"]
        subprocess.run(cmd, capture_output=True, check=False)

    log(f"profile: py-spy on the worker of {file.name} for {secs}s")
    rc = launch(ctx, [*ctx.tui, "locust", "run", "-f", str(file)], "profile", spy)
    self_t: Counter[str] = Counter()
    total: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines() if raw.exists() else []:
        stack, _, n = line.strip().rpartition(" ")
        if not n.isdigit() or "Thread._bootstrap" in stack:
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        samples += int(n)
        cats[category(stack.split(";")[-1])] += int(n)
        self_t[frames[-1]] += int(n)
        for f in set(frames):
            total[f] += int(n)

    def rows(counter: Counter[str], keep: Callable[[str], bool], top: int) -> list[dict]:
        got = [(f, n) for f, n in counter.most_common() if keep(f)][:top]
        return [{"frame": f, "pct": round(100 * n / samples, 1)} for f, n in got]

    ours = re.compile(r"tui_loadtest/|locustfiles/")
    return {
        "file": file.name,
        "exit_code": rc,
        "samples": samples,
        "raw": str(raw),
        "categories": rows(cats, lambda f: True, 10),
        "top_self": rows(self_t, lambda f: True, 20),
        "top_total_ours": rows(total, lambda f: bool(ours.search(f)), 30),
    }


# -- figures -------------------------------------------------------------------------
def median_of(values: list[float | None]) -> float | None:
    got = [v for v in values if v]
    return statistics.median(got) if got else None


def figures(samples: dict[str, list[Sample]]) -> dict[str, dict]:
    rows = {}
    for name, runs in samples.items():
        good = [s for s in runs if s.ok]
        rows[name] = {
            "what": GENERATORS[name.partition("@")[0]][1]
            + (f" (built from {name.partition('@')[2]})" if "@" in name else ""),
            "median_rps": median_of([s.rps for s in good]),
            "best_rps": max((s.rps for s in good), default=None),
            "median_window_rps": median_of([s.window_rps for s in good]),
            "median_cpu_share": median_of([s.cpu_share for s in good]),
            "median_req_per_cpu_s": median_of([s.per_cpu_s for s in good]),
            "runs_ok": [s.ok for s in runs],
            "counts_agree": all(abs(s.count_diff) <= USERS for s in runs if s.requests),
            "runs": [dataclasses.asdict(s) | {"per_cpu_s": s.per_cpu_s} for s in runs],
        }
    return rows


def verdict(value: float | None, target: float, at_least: bool = True) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value >= target if at_least else value <= target) else "FAIL"


def check_targets(rows: dict[str, dict], memory: dict | None) -> list[dict]:
    out = []
    for label, num, den, target in TARGETS:
        if num not in rows or den not in rows:
            continue
        a, b = rows[num], rows[den]
        rps = a["median_rps"] / b["median_rps"] if a["median_rps"] and b["median_rps"] else None
        cpu = a["median_req_per_cpu_s"], b["median_req_per_cpu_s"]
        per_cpu = cpu[0] / cpu[1] if cpu[0] and cpu[1] else None
        out.append({
            "target": f"{label} >= {target:g}x",
            "req_s_ratio": rps,
            "req_s_verdict": verdict(rps, target),
            "per_cpu_ratio": per_cpu,
            "per_cpu_verdict": verdict(per_cpu, target),
        })  # fmt: skip
    if memory:
        kb = memory.get("after one request", {}).get("kb_per_user")
        out.append({
            "target": f"memory: KB per idle locustfile user <= {MEMORY_TARGET_KB:g}",
            "kb_per_user": kb,
            "verdict": verdict(kb, MEMORY_TARGET_KB, at_least=False),
        })  # fmt: skip
    return out


def fmt(x: float | None, spec: str = ",.0f") -> str:
    return "-" if x is None else format(x, spec)


def print_report(res: dict) -> None:
    print(
        f"\nLocustfile benchmark: {res['repeat']} rounds of {res['duration_s']}s, {USERS} users, "
        f"no wait; {res['pinning']}"
    )
    head = ("req/s", "best", "window")
    if res["generators"]:
        print(f"  {'generator':<19} " + " ".join(f"{h:>9}" for h in head) + "   CPU  req/CPU-s")
    for name, row in res["generators"].items():
        cpu = row["median_cpu_share"]
        print(
            f"  {name:<19} {fmt(row['median_rps']):>9} {fmt(row['best_rps']):>9} "
            f"{fmt(row['median_window_rps']):>9} {fmt(cpu * 100 if cpu else None, '.0f'):>4}% "
            f"{fmt(row['median_req_per_cpu_s']):>10}"
            + ("" if row["counts_agree"] else "  (count disagrees with nginx)")
        )
    for t in res["targets"]:
        if "kb_per_user" in t:
            print(f"  {t['target']:<42} {fmt(t['kb_per_user'], '.1f'):>6} KB  {t['verdict']}")
        else:
            print(
                f"  {t['target']:<42} req/s {fmt(t['req_s_ratio'], '.2f')}x {t['req_s_verdict']}"
                f", per CPU-s {fmt(t['per_cpu_ratio'], '.2f')}x {t['per_cpu_verdict']}"
            )
    prof = res.get("profile")
    if prof:
        print(f"\n  profile of the worker running {prof['file']} ({prof['samples']} samples):")
        for title, key, top in (("by category", "categories", 10), ("self", "top_self", 12),
                                ("total, our code", "top_total_ours", 20)):  # fmt: skip
            print(f"   {title}:")
            for r in prof[key][:top]:
                print(f"    {r['pct']:5.1f} %  {r['frame']}")
    print(f"  written to {res['json_path']}")


# -- main ----------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python bench/locustfiles.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    ap.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default {','.join(PARTS)})",
    )
    ap.add_argument("--skip-locust", action="store_true", help="leave Locust's runs out")
    ap.add_argument(
        "--memory-users",
        default="10,10000",
        help="idle users of the memory runs: few,many (default 10,10000)",
    )
    ap.add_argument(
        "--profile",
        metavar="FILE",
        nargs="?",
        const="fast_http_user.py",
        help="also py-spy the worker of one locust run of FILE, in bench/locustfiles or "
        "bench/journeys (default fast_http_user.py)",
    )
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between runs (default 1)")
    ap.add_argument(
        "--ref",
        metavar="REV",
        help="also run our locustfile generators as built from git revision REV, in the"
        " same rounds (NAME@REV): a change's before and after, side by side",
    )
    ap.add_argument(
        "--out", default=str(RESULTS / "locustfiles.json"), help="JSON results (%(default)s)"
    )
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    for p in parts:
        if p not in PARTS:
            ap.error(f"--only: unknown part {p!r} (parts: {', '.join(PARTS)})")
    args.parts = parts
    if args.profile:
        found = [d / args.profile for d in (FILES, JOURNEYS) if (d / args.profile).is_file()]
        if not found:
            ap.error(f"--profile: no file {args.profile} in {FILES} or {JOURNEYS}")
        args.profile = found[0]
    args.names = [
        n
        for n, (part, _) in GENERATORS.items()
        if part in parts and not (args.skip_locust and n.startswith("locust"))
    ]
    if args.ref:
        ours = [n for n in args.names if n in ("tui-http", "tui-fast", "tui-journey-lf")]
        args.names += [f"{n}@{args.ref}" for n in ours]
    try:
        few, many = sorted(int(x) for x in args.memory_users.split(","))
    except ValueError:
        ap.error("--memory-users: expected two numbers, few,many (e.g. 10,10000)")
    if not 0 < few < many:
        ap.error("--memory-users: expected 0 < few < many")
    args.few, args.many = few, many
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl+C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    nofile = raise_nofile()
    if "memory" in args.parts and nofile[0] < args.many + 200:
        raise SystemExit(
            f"bench: {args.many} users need {args.many + 200} open files but the limit is "
            f"{nofile[0]} (hard {nofile[1]}): raise it (ulimit -Hn) or lower --memory-users"
        )
    nginx_bin = ensure_debian({"nginx": "nginx-light"})["nginx"]
    tool = ensure_tui_loadtest()
    locust = ensure_locust() if any(n.startswith("locust") for n in args.names) else None
    server_cpu, gen_cpu, pin_note = pick_cores()
    log(pin_note)
    logs = Path(tempfile.mkdtemp(prefix="tui-bench-locustfiles-"))
    nginx = Nginx(nginx_bin, server_cpu, conf=nginx_conf())
    ctx = Ctx(args, nginx, tool, server_cpu, gen_cpu, logs, locust)
    if args.ref:
        ctx.refs[args.ref] = ensure_ref(args.ref)[1]
    res: dict = {
        "issue": 21,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "pinning": pin_note,
        "duration_s": args.duration,
        "repeat": args.repeat,
        "users": USERS,
        "logs": str(logs),
    }
    memory = None
    try:
        nginx.start()
        log(f"nginx on {nginx.url}; logs in {logs}")
        samples = run_rounds(ctx, args.names) if args.names else {}
        if "memory" in args.parts:
            memory = measure_memory(ctx, args.many, args.few)
        if args.profile:
            res["profile"] = profile(ctx, args.profile)
    except KeyboardInterrupt:
        log("interrupted: stopping everything this benchmark started")
        return 130
    finally:
        nginx.stop()
        stop_all()
    res["generators"] = figures(samples)
    res["memory"] = memory
    res["targets"] = check_targets(res["generators"], memory)
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    res["json_path"] = str(out)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print_report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
