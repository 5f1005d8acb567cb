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
count is checked against nginx's ``stub_status`` counter. ``--ref REV`` adds
tui-mixed@REV and tui-single@REV, built from an earlier revision, to the same
rounds: a change's before and after, measured side by side.

Modules: samples (what runs, what a run yields), runners (one per generator),
measurement (CPU window, nginx counter, rounds, memory, accuracy, micro, profile),
report (figures, tables, targets), common (installing, pinning, nginx, processes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    Nginx,
    ensure_debian,
    ensure_locust,
    ensure_ref,
    ensure_tui_loadtest,
    log,
    pick_cores,
    raise_nofile,
    stop_all,
)
from measurement import (  # noqa: E402
    describe_machine,
    measure_accuracy,
    measure_memory,
    run_micro,
    run_profile,
    run_rounds,
)
from report import (  # noqa: E402
    check_targets,
    generator_rows,
    print_report,
    ref_pairs,
    scaling,
    ui_overhead,
)
from runners import tmux  # noqa: E402
from samples import GENERATORS, GROUPS, REF_BASES, RESULTS, Ctx  # noqa: E402


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
        "--tls",
        action="store_true",
        help="nginx serves the load over TLS 1.3 (a self-signed certificate; tui-loadtest "
        "runs with -k, wrk does not verify); for wrk and the tui generators",
    )
    parser.add_argument(
        "--out", default=str(RESULTS / "latest.json"), help="JSON results (default %(default)s)"
    )
    parser.add_argument(
        "--ref",
        metavar="REV",
        help="also run tui-mixed and tui-single as built from git revision REV (into "
        "bench/.venv-ref-<commit>, once), in the same rounds, alternating with this tree: "
        "before and after, side by side",
    )
    args = parser.parse_args(argv)
    names: list[str] = []
    for part in filter(None, (p.strip() for p in args.only.split(","))):
        for name in GROUPS.get(part, [part]):
            if name not in GENERATORS:
                parser.error(f"--only: unknown generator or group {part!r}")
            if name not in names:
                names.append(name)
    if args.ref:
        with_ref = [n for n in names if n in REF_BASES]
        if not with_ref:
            parser.error(f"--ref: needs one of {', '.join(REF_BASES)} among the generators")
        for base in with_ref:
            names.insert(names.index(base) + 1, f"{base}@{args.ref}")
    if args.tls:
        plain_only = [n for n in names if n == "locust" or n.startswith("tui-mixed-ui")]
        if plain_only:
            parser.error(f"--tls: not for {', '.join(plain_only)} (wrk and tui-* headless)")
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
    ref = ensure_ref(args.ref) if args.ref else None
    server_cpu, gen_cpu, pin_note = pick_cores()
    log(pin_note)
    log(f"open files: soft {nofile[0]}, hard {nofile[1]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    nginx = Nginx(bins["nginx"], server_cpu, tls=args.tls)
    ctx = Ctx(args, nginx, tui, server_cpu, gen_cpu, logs, locust, bins.get("tmux"))
    res: dict = {
        "issue": 5,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "pinning": pin_note,
        "duration_s": args.duration,
        "repeat": args.repeat,
        "tls": args.tls,
        "generators": {},
    }
    if ref is not None:
        ctx.refs[args.ref] = ref[1]
        res["ref"] = {"rev": args.ref, "commit": ref[0]}
    try:
        nginx.start()
        log(f"nginx on {nginx.url}")
        samples = run_rounds(ctx, args.names) if args.names else {}
        res["generators"] = generator_rows(samples)
        if ref is not None:
            res["ref"]["pairs"] = ref_pairs(samples, args.ref)
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
