"""Profile the worker process of a mixed-shape run with py-spy and list the hot spots.

py-spy samples the running worker from outside (no instrumentation, so the
profile shows the real hot path); C frames (uvloop, httptools,
libc) are included unless ``--no-native``. The raw samples are summed per frame: *self* is where the
CPU was, *total* is time under a frame including what it called.

Usage: ``python bench/profile_worker.py`` (starts its own nginx) or
``--host URL`` to aim at a running one. Writes ``profile.raw.txt`` (collapsed
stacks, for flame-graph tools or speedscope) into ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    BENCH_DIR,
    Nginx,
    ensure_debian,
    ensure_pyspy,
    ensure_tui_loadtest,
    finish,
    log,
    pick_cores,
    spawn,
    stop_all,
    worker_pids,
)

_LINE = re.compile(r"^(.*) (\d+)$")


def category(leaf: str) -> str:
    """Where a sample's CPU went, coarsely."""
    if re.match(r"epoll_p?wait ", leaf):
        return "waiting in epoll (idle: nothing to read yet)"
    if re.match(r"(write|writev|send|sendmsg) ", leaf):
        return "write syscalls (kernel TCP send, loopback delivery)"
    if re.match(r"(read|recv|recvmsg|readv) ", leaf):
        return "read syscalls"
    if "tui_loadtest/" in leaf:
        return "tui_loadtest Python code"
    if re.search(r"llhttp|parser\.c|http\.c|api\.c", leaf):
        return "httptools / llhttp parsing"
    if re.search(r"loop\.c|uv_|uv__|core\.c|stream\.c|linux\.c", leaf):
        return "uvloop / libuv"
    if re.search(r"\.py:\d+\)$", leaf):
        return "other Python code"
    return "CPython interpreter and other C"


def summarise(raw: str, top: int = 25) -> dict:
    """Shares of the worker's main thread (the event loop) per category, per frame
    (with line) and per function, from py-spy's collapsed stacks. Other threads (an
    idle executor thread) are left out."""
    self_line: Counter[str] = Counter()
    self_func: Counter[str] = Counter()
    total_func: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        stack, n = m.group(1), int(m.group(2))
        if "worker_main" not in stack or "_worker (concurrent" in stack:
            continue
        frames = stack.split(";")
        samples += n
        leaf = frames[-1]
        cats[category(leaf)] += n
        self_line[leaf] += n
        self_func[_func(leaf)] += n
        for func in {_func(f) for f in frames}:
            total_func[func] += n

    def rows(counter: Counter[str]) -> list[dict]:
        return [
            {"frame": frame, "samples": n, "pct": round(100 * n / samples, 1)}
            for frame, n in counter.most_common(top)
        ]

    return {
        "samples": samples,
        "categories": rows(cats),
        "top_self": rows(self_line),
        "top_self_functions": rows(self_func),
        "top_total_functions": rows(total_func),
    }


def _func(frame: str) -> str:
    """``name (file.py:123)`` -> ``name (file.py)``."""
    return re.sub(r":\d+\)$", ")", frame)


def profile(
    host: str,
    duration: int,
    pyspy: str,
    out_dir: Path,
    cpu: int | None,
    native: bool,
    scenario: str,
) -> dict:
    tui = ensure_tui_loadtest()
    report = out_dir / "profile-run.json"
    cmd = [*tui, "run", str(BENCH_DIR / "scenarios" / scenario), "--no-ui", "--host", host]
    cmd += ["-t", f"{duration + 3}s", "--interval", "3600", "--out", str(report)]
    cores = {cpu} if cpu is not None else None
    raw_path = out_dir / "profile.raw.txt"
    with open(out_dir / "profile-run.txt", "wb") as fh:
        proc = spawn(cmd, cores=cores, stdout=fh, stderr=subprocess.STDOUT)
        workers = worker_pids(proc.pid)
        if not workers:
            finish(proc, 0.0)
            raise SystemExit("profile: no worker process found")
        time.sleep(1.5)  # spawned and running
        spy = [pyspy, "record", "--pid", str(workers[0]), "--duration", str(duration)]
        spy += ["--rate", "250", "--format", "raw", "--output", str(raw_path), "--idle"]
        if native:
            spy.append("--native")
        subprocess.run(spy, capture_output=True, check=False)
        finish(proc, duration + 60)
    rps = None
    if report.exists():
        rps = json.loads(report.read_text())["summary"]["rps"]
    result = summarise(raw_path.read_text() if raw_path.exists() else "")
    result["rps_while_profiled"] = rps
    result["raw"] = str(raw_path)
    result["native"] = native
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", help="nginx URL (default: start a private nginx)")
    parser.add_argument("--duration", type=int, default=10, help="seconds sampled (default 10)")
    parser.add_argument("--py-spy", dest="pyspy", help="py-spy executable")
    parser.add_argument("--cpu", type=int, help="CPU to pin the run to")
    parser.add_argument("--out-dir", default=str(BENCH_DIR / "results"), help="output folder")
    parser.add_argument(
        "--no-native", dest="native", action="store_false", help="Python frames only"
    )
    parser.add_argument("--scenario", default="mixed_nginx.toml", help="file in bench/scenarios")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pyspy = args.pyspy or ensure_pyspy(ensure_tui_loadtest()[0])
    nginx = None
    cpu = args.cpu
    try:
        host = args.host
        if host is None:
            server_cpu, gen_cpu, note = pick_cores()
            log(note)
            nginx = Nginx(ensure_debian({"nginx": "nginx"})["nginx"], server_cpu)
            nginx.start()
            host = nginx.url
            if cpu is None and gen_cpu:
                cpu = min(gen_cpu)
        result = profile(host, args.duration, pyspy, out_dir, cpu, args.native, args.scenario)
    finally:
        stop_all()
        if nginx is not None:
            nginx.stop()
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['samples']} samples; {result['rps_while_profiled']} req/s while profiled")
    for title, key in (
        ("where the event loop's time went", "categories"),
        ("self time, by line", "top_self"),
        ("self time, by function", "top_self_functions"),
        ("total time, by function", "top_total_functions"),
    ):
        print(f"\n{title}:")
        for row in result[key]:
            print(f"  {row['pct']:5.1f} %  {row['frame']}")


if __name__ == "__main__":
    main()
