"""Reading server-sent events (issue 27): the engine's SSE parse rate, against curl -N.

A private nginx, pinned to one CPU, serves one static answer of 50 server-sent events
(OpenAI-shaped chat.completion.chunk deltas, then ``data: [DONE]``) on loopback. Each
reader then runs on the other CPU, in alternating rounds:

- ``tui sse``: a scenario with ``stream = "sse"`` (one worker, 16 users): every event
  parsed and timed (time to first event, time between events);
- ``tui sse+tokens``: the same with ``tokens = "json:$.choices[0].delta.content"``:
  each event's JSON read too;
- ``tui plain``: the same request without ``stream``: the body counted, not read (what
  reading the events costs, by difference);
- ``curl -N``: curl reading the same answer over and over on one keep-alive
  connection (it reads the bytes and parses nothing).

For each: events per second of wall time, and per CPU-second of the reading process
(the engine's worker, from its report's per-second CPU; curl's own CPU time). The
target: the engine reads at least 200,000 events a second on one core. The machine
is shared on most runs: quote the ratios measured side by side, not the absolutes.

Usage: ``python bench/streams.py [--seconds 8] [--rounds 3] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    NGINX_CONF,
    Nginx,
    ensure_debian,
    log,
    pick_cores,
    pinned,
    stop_all,
)

EVENTS = 50
TARGET_EVENTS_PER_S = 200_000
CURL_REQUESTS = 4000  # per curl run (200,000 events)

SSE_CONF = NGINX_CONF.replace(
    "        location / {{",
    "        location = /sse {{ default_type text/event-stream; alias {dir}/answer.sse; }}\n"
    "        location / {{",
)


def answer() -> bytes:
    """50 events as an OpenAI-compatible API streams them, then [DONE]."""
    out = []
    for i in range(EVENTS):
        delta = {"role": "assistant", "content": ""} if i == 0 else {"content": f" tok{i}"}
        chunk = {"id": "q1", "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
        out.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    return b"".join(out) + b"data: [DONE]\n\n"


SCENARIO = """\
name = "sse bench"
host = "{url}"
[load]
users = 16
[[requests]]
name = "sse"
path = "/sse"
{stream}
"""

VARIANTS = {
    "tui sse": 'stream = "sse"',
    "tui sse+tokens": 'stream = "sse"\ntokens = "json:$.choices[0].delta.content"',
    "tui plain": "",
}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_tui(name: str, url: str, seconds: float, core: set[int] | None, folder: Path) -> dict:
    scenario = folder / f"{name.replace(' ', '_').replace('+', '_')}.toml"
    scenario.write_text(SCENARIO.format(url=url, stream=VARIANTS[name]))
    out = folder / "r.json"
    cpu0, t0 = children_cpu(), time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", str(scenario), "--no-ui",
         "-t", f"{seconds:g}s", "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=pinned(core),  # noqa: PLW1509 - single-threaded parent
    )  # fmt: skip
    tool_cpu, wall = children_cpu() - cpu0, time.monotonic() - t0
    report = json.loads(out.read_text())
    summary = report["summary"]
    stream = summary.get("stream") or {}
    responses = summary["requests"] - summary["failures"]
    events = stream.get("events", responses * EVENTS)  # plain: the events it carried, unread
    worker_cpu = sum(v or 0 for v in report["generator"]["cpu_pct"]["workers"][0]) / 100
    duration = report["duration_s"]
    return {
        "reader": name,
        "events": events,
        "responses": responses,
        "events_per_s": events / duration,
        "events_per_cpu_s": events / worker_cpu if worker_cpu else None,
        "worker_cpu_pct": 100 * worker_cpu / duration,
        "tool_cpu_s": round(tool_cpu, 2),
        "wall_s": round(wall, 2),
        "ttft_p50_ms": (stream.get("ttft_ms") or {}).get("p50"),
        "failures": summary["failures"],
    }


def run_curl(url: str, core: set[int] | None, folder: Path) -> dict:
    config = folder / "curl.cfg"
    config.write_text(f'url = "{url}/sse"\noutput = "/dev/null"\n' * CURL_REQUESTS)
    cpu0, t0 = children_cpu(), time.monotonic()
    subprocess.run(
        ["curl", "-s", "-N", "-K", str(config)],
        check=True,
        preexec_fn=pinned(core),  # noqa: PLW1509 - single-threaded parent
    )
    cpu, wall = children_cpu() - cpu0, time.monotonic() - t0
    events = CURL_REQUESTS * EVENTS
    return {
        "reader": "curl -N",
        "events": events,
        "responses": CURL_REQUESTS,
        "events_per_s": events / wall,
        "events_per_cpu_s": events / cpu if cpu else None,
        "worker_cpu_pct": 100 * cpu / wall,
        "tool_cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "ttft_p50_ms": None,
        "failures": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="each tui run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    paths = ensure_debian({"nginx": "nginx", "curl": "curl"})
    server_core, gen_core, note = pick_cores()
    log(note)
    nginx = Nginx(paths["nginx"], server_core, conns=1024, conf=SSE_CONF)
    (nginx.dir / "answer.sse").write_bytes(answer())
    runs: list[dict] = []
    try:
        nginx.start()
        with tempfile.TemporaryDirectory(prefix="tui-bench-sse-") as tmp:
            folder = Path(tmp)
            for r in range(args.rounds):
                order = [*VARIANTS, "curl -N"]
                if r % 2:
                    order.reverse()
                for name in order:
                    log(f"round {r + 1}: {name}")
                    if name == "curl -N":
                        runs.append(run_curl(nginx.url, gen_core, folder))
                    else:
                        runs.append(run_tui(name, nginx.url, args.seconds, gen_core, folder))
    finally:
        nginx.stop()
        stop_all()
    table = {}
    for name in [*VARIANTS, "curl -N"]:
        mine = [x for x in runs if x["reader"] == name]
        per_cpu = [x["events_per_cpu_s"] for x in mine if x["events_per_cpu_s"]]
        table[name] = {
            "events_per_s": statistics.median(x["events_per_s"] for x in mine),
            "events_per_cpu_s": statistics.median(per_cpu) if per_cpu else None,
            "spread_per_cpu_s": [min(per_cpu), max(per_cpu)] if per_cpu else None,
            "cpu_pct": statistics.median(x["worker_cpu_pct"] for x in mine),
            "failures": sum(x["failures"] for x in mine),
        }
    if args.json:
        print(json.dumps({"note": note, "rounds": runs, "medians": table}, indent=2))
        return 0
    print(f"SSE answers of {EVENTS} events, {args.rounds} rounds; {note}")
    print(f"{'reader':<16} {'events/s':>10} {'events/CPU-s':>13} {'spread':>19} {'CPU %':>6}")
    for name, row in table.items():
        spread = row["spread_per_cpu_s"]
        shown = f"{spread[0]:,.0f}-{spread[1]:,.0f}" if spread else "-"
        per_cpu = row["events_per_cpu_s"]
        print(
            f"{name:<16} {row['events_per_s']:>10,.0f} "
            f"{per_cpu if per_cpu is None else f'{per_cpu:,.0f}':>13} {shown:>19}"
            f" {row['cpu_pct']:>6.0f}"
        )
    sse = table["tui sse"]["events_per_cpu_s"] or 0
    verdict = "met" if sse >= TARGET_EVENTS_PER_S else "NOT met"
    print(f"target: {TARGET_EVENTS_PER_S:,} events per CPU-second of the worker: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
