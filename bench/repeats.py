"""Do verdicts over repeated runs hold? 5-run baselines on both sides (issue 14).

    .venv/bin/python bench/repeats.py               # 40 + 20 runs of 10 s, 20 + 20 comparisons
    .venv/bin/python bench/repeats.py --plain 20 --slow 10 --seconds 3 --keep /tmp/r
    .venv/bin/python bench/repeats.py --reuse /tmp/r        # judge saved reports again

What it does: the built-in demo scenario (100 users, as bench/verdicts.py explains)
runs against two demo servers on loopback, one as shipped and one started with
``--latency-scale 1.2`` (its queries 20 % slower, which moves the run's P95: it
lies among the queries). Runs alternate between the two servers, so slow phases
of a shared machine hit both alike. Then, with ``compare_runs`` (Mann-Whitney U
over per-run values, α = 0.05, and the pooled runs' sampling noise, the 10 %
threshold and the floors):

- **unchanged**: 5 plain runs against 5 other plain runs, 20 times: *flagged* when
  any row reads regressed or improved (false regressions are counted apart: the
  target names them). Target: 0 of 20.
- **slower**: 5 plain runs against 5 slow runs, 20 times: *caught* when a row the
  slowdown moves (a query latency row, or the overall P95 or P99) regressed.
  Target: at least 19 of 20.

The 5-run sides are drawn (seeded) from the pools of runs made, two disjoint sets
per comparison, so comparisons share runs when the pools are small: 20 fully
independent comparisons need 200 plain and 100 slow runs (``--plain 200 --slow
100``). ``--rates N`` also judges N comparisons drawn the same way, for rates
steadier than 20 can give. Runs last 10 s like bench/verdicts.py's (3 s runs hold
too few queries: a 20 % change is then within sampling noise). The machine's load
average is printed beside every run and in the summary (about 11 minutes in all).
``--neighbour`` makes the runs beside a CPU-bound process pinned to the last CPU (see
bench/verdicts.py): on such a machine each side is as disturbed as its median run, and
a row the generator's loop lag could account for reads inconclusive.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from verdicts import generator_line, load_average, moved_by_it, neighbour, run_once  # noqa: E402

from tui_loadtest.compare import IMPROVED, REGRESSED  # noqa: E402
from tui_loadtest.compare.repeated import compare_runs  # noqa: E402
from tui_loadtest.demo import DemoServer  # noqa: E402
from tui_loadtest.report.compare_format import describe  # noqa: E402
from tui_loadtest.report.json_report import read_report  # noqa: E402

SIDE = 5


def make_runs(folder: Path, plain: int, slow: int, seconds: float, users: int,
              slowdown: float, busy: bool = False) -> list[float]:  # fmt: skip
    """Alternate plain and slow runs until both pools are full (``busy``: beside a
    CPU-bound neighbour); the load after each."""
    loads: list[float] = []
    servers = {"plain": DemoServer(), "slow": DemoServer(latency_scale=slowdown)}
    for s in servers.values():
        s.start()
    try:
        with neighbour(busy):
            _fill(folder, servers, {"plain": plain, "slow": slow}, seconds, users, loads)
    finally:
        for s in servers.values():
            s.stop()
    return loads


def _fill(folder: Path, servers: dict, want: dict, seconds: float, users: int,
          loads: list[float]) -> None:  # fmt: skip
    """Alternate plain and slow runs until each pool holds what is wanted."""
    made = {"plain": 0, "slow": 0}
    while made != want:
        for kind in ("plain", "slow", "plain"):
            if made[kind] >= want[kind]:
                continue
            t0 = time.monotonic()
            run_once(servers[kind].url, seconds, users, folder / f"{kind}-{made[kind]}.json")
            made[kind] += 1
            loads.append(load_average())
            name = f"{kind}-{made[kind] - 1}"
            print(f"  {name}: {time.monotonic() - t0:.1f} s, load average {loads[-1]:.1f};"
                  f" {generator_line(folder / f'{name}.json')}",
                  file=sys.stderr, flush=True)  # fmt: skip


def judge(folder: Path, comparisons: int, threshold: float, seed: int) -> dict:
    plain = [read_report(p) for p in sorted(folder.glob("plain-*.json"))]
    slow = [read_report(p) for p in sorted(folder.glob("slow-*.json"))]
    if len(plain) < 2 * SIDE or len(slow) < SIDE:
        raise SystemExit(f"need at least {2 * SIDE} plain and {SIDE} slow runs")
    rng = random.Random(seed)
    flagged = caught = regressed = 0
    lines = []
    for k in range(comparisons):
        picked = rng.sample(range(len(plain)), 2 * SIDE)
        a = [plain[i] for i in picked[:SIDE]]
        b = [plain[i] for i in picked[SIDE:]]
        s = [slow[i] for i in rng.sample(range(len(slow)), SIDE)]
        same = compare_runs(a, b, threshold=threshold)
        moved = [r for r in same.rows if r.verdict in (REGRESSED, IMPROVED)]
        flagged += bool(moved)
        regressed += bool(same.regressions)
        slower = compare_runs(a, s, threshold=threshold)
        hit = any(moved_by_it(r) for r in slower.regressions)
        caught += hit
        p95 = next(r for r in slower.overall if r.metric == "p95_ms")
        lines.append(
            f"comparison {k:2d}: unchanged -> {same.verdict:<21}"
            + (f" ({'; '.join(describe(r) for r in moved)})" if moved else "")
            + (f" [disturbed: {same.disturbed}]" if same.disturbed else "")
            + f" | slower -> {slower.verdict:<21} overall P95 x{(p95.b or 0) / (p95.a or 1):.2f}"
            f" p={p95.p_value:.3f}"
        )
    return {"flagged": flagged, "regressed": regressed, "caught": caught,
            "comparisons": comparisons, "lines": lines,
            "pools": (len(plain), len(slow))}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--plain", type=int, default=40, help="plain runs to make (default 40)")
    ap.add_argument("--slow", type=int, default=20, help="slow runs to make (default 20)")
    ap.add_argument("--seconds", type=float, default=10.0, help="each run's length (default 10)")
    ap.add_argument("--rates", type=int, default=0, metavar="N",
                    help="also judge N more comparisons drawn the same way (rates)")  # fmt: skip
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--slowdown", type=float, default=1.2, help="the slow server's latency scale")
    ap.add_argument("--comparisons", type=int, default=20)
    ap.add_argument("--threshold", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--neighbour", action="store_true",
                    help="beside a CPU-bound process pinned to the last CPU")  # fmt: skip
    ap.add_argument("--keep", type=Path, help="keep the reports in this folder")
    ap.add_argument("--reuse", type=Path, help="judge the reports in this folder (no runs)")
    args = ap.parse_args()
    loads: list[float] = []
    if args.reuse:
        folder = args.reuse
    else:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="tui-loadtest-repeats-"))
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{args.plain} plain + {args.slow} slow runs of {args.seconds:g} s,"
              f" {args.users} users, slowdown x{args.slowdown:g}", file=sys.stderr)  # fmt: skip
        loads = make_runs(folder, args.plain, args.slow, args.seconds, args.users, args.slowdown,
                          busy=args.neighbour)  # fmt: skip
    out = judge(folder, args.comparisons, args.threshold, args.seed)
    print("\n".join(out["lines"]))
    n = out["comparisons"]
    print(f"\npools: {out['pools'][0]} plain, {out['pools'][1]} slow runs; {SIDE} runs a side")
    print(f"unchanged: {out['flagged']} of {n} comparisons flagged (target 0),"
          f" {out['regressed']} of them regressed")  # fmt: skip
    print(f"slower x{args.slowdown:g}: {out['caught']} of {n} caught (target >= {n - 1})")
    if args.rates:
        more = judge(folder, args.rates, args.threshold, args.seed + 1)
        print(f"rates over {args.rates} more comparisons: flagged {more['flagged']}"
              f" ({more['regressed']} regressed), caught {more['caught']}")  # fmt: skip
    if loads:
        print(
            f"load average during the runs: min {min(loads):.1f}, max {max(loads):.1f},"
            f" mean {sum(loads) / len(loads):.1f} (2 cores, shared)"
        )
    if not args.keep and not args.reuse:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
