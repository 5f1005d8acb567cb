"""Instructions per request: a hot-path change measured where timings are too noisy.

On a shared machine req/s and CPU time move by several percent from run to run; the
number of instructions a request costs hardly moves. This runs one worker engine in
a process of its own, under ``valgrind --tool=cachegrind``, for N and for 4N requests
of the mixed shape (``bench/scenarios/mixed_nginx.toml``, 64 users) against a private
nginx, and takes the difference over 3N: start-up and import cancel out. With
``--ref REV`` it does the same for revision REV (built as ``bench/run.py --ref``
builds it), alternating, for ``--rounds`` rounds, and prints the medians and their
ratio. Runs of the same code differ by up to ~2 % (how many responses each read
brings depends on the machine's load): compare medians of several rounds.

Usage: ``python bench/instructions.py [--requests 8000] [--rounds 3] [--ref main]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, Nginx, ensure_debian, ensure_ref, log, pick_cores, stop_all  # noqa: E402

ENGINE = """
import asyncio, sys
from dataclasses import replace
import uvloop
from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.scenario import load_scenario

url, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sc = load_scenario(path)
sc = replace(sc, load=replace(sc.load, requests=n, run_time_s=None, users=64))
deltas = []
eng = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
uvloop.install()
asyncio.run(eng.run())
print(sum(c for d in deltas for e in d.endpoints for _, c in e.buckets))
"""
SCENARIO = BENCH_DIR / "scenarios" / "mixed_nginx.toml"


def instructions(python: str, url: str, n: int) -> int:
    """Instructions (cachegrind's I refs) of one engine run of ``n`` requests."""
    proc = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         python, "-c", ENGINE, url, str(n), str(SCENARIO)],
        capture_output=True, text=True, cwd="/tmp", check=True,
    )  # fmt: skip
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if found is None:
        raise SystemExit(f"bench: no instruction count from valgrind:\n{proc.stderr[-2000:]}")
    served = int(proc.stdout.strip().splitlines()[-1])
    if served != n:
        raise SystemExit(f"bench: {n} requests asked, {served} recorded")
    return int(found.group(1).replace(",", ""))


def per_request(python: str, url: str, n: int) -> float:
    return (instructions(python, url, 4 * n) - instructions(python, url, n)) / (3 * n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8_000, help="N (default 8000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--ref", metavar="REV", help="also measure revision REV")
    args = parser.parse_args(argv)
    paths = ensure_debian({"nginx": "nginx", "valgrind": "valgrind"})
    server_core, _, note = pick_cores()
    log(note)
    pythons = {"this tree": sys.executable}
    if args.ref:
        commit, command = ensure_ref(args.ref)
        pythons[f"{args.ref} ({commit[:12]})"] = str(Path(command[0]).parent / "python")
    nginx = Nginx(paths["nginx"], server_core, conns=1024)
    rounds: dict[str, list[float]] = {name: [] for name in pythons}
    try:
        nginx.start()
        for r in range(args.rounds):
            for name, python in pythons.items() if r % 2 == 0 else reversed(pythons.items()):
                log(f"round {r + 1}, {name}: {args.requests:,} and {4 * args.requests:,} requests")
                rounds[name].append(per_request(python, nginx.url, args.requests))
    finally:
        nginx.stop()
        stop_all()
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    for name, values in rounds.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{name:<28} {medians[name]:>10,.0f} instructions per request (rounds: {shown})")
    if len(medians) == 2:
        a, b = medians.values()
        pairs = ", ".join(f"{x / y:.3f}" for x, y in zip(*rounds.values(), strict=True))
        print(f"ratio of the medians: {a / b:.3f} (this tree over the revision; rounds: {pairs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
