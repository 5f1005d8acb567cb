"""Many endpoints: what a scenario with 1, 1,000 or 5,000 ``[[requests]]`` costs.

For each endpoint count, runs ``tui-loadtest run SCENARIO --no-ui`` twice (10
requests, then 10 s with a few users) against a loopback server started here, and
reports:

- ``first_s``: wall time from launching the command to the first request the
  server saw (the scenario load, the workers' start and the plan compile);
- ``total_s``: wall time of the whole command;
- ``coord_mb`` / ``worker_mb``: the highest RSS of the coordinator process and of
  its largest worker, sampled every 50 ms (psutil);
- ``served``: the requests the server counted.

The target (issue 11): 5,000 endpoints start within 2 s and the coordinator stays
under 150 MB. Run it on a quiet machine; under load the times grow.

Usage: ``python bench/many_endpoints.py [--counts 1,1000,5000] [--workers 2] [--json]``;
``--serve PORT`` is the server's own entry (used internally).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


# -- the server: answers every request with 200 "ok", counts them ------------------
async def _serve(port: int) -> None:
    served = 0
    first: float | None = None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served, first
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /__count"):
                    body = json.dumps({"served": served, "first": first}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    served = 0
                    first = None
                    continue
                if first is None:
                    first = time.time()
                served += 1
                writer.write(RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def _count(port: int) -> dict:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/__count")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


# -- the scenario --------------------------------------------------------------
def scenario_text(n: int, users: int) -> str:
    lines = [
        'name = "many endpoints"',
        "[load]",
        f"users = {users}",
        f"spawn_rate = {users}",
        "",
    ]
    for i in range(n):
        lines += ["[[requests]]", f'name = "endpoint {i}"', f'path = "/e/{i}"', ""]
    return "\n".join(lines)


def run_one(path: str, port: int, workers: int, extra: list[str], limit_s: float) -> dict:
    cmd = [
        sys.executable, "-m", "tui_loadtest", "run", path, "--no-ui",
        "--host", f"http://127.0.0.1:{port}", "--workers", str(workers),
        "--interval", "60", *extra,
    ]  # fmt: skip
    t0 = time.time()
    # a pipe would fill up: the summary lists every endpoint
    out_file = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    err_file = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file)
    ps = psutil.Process(proc.pid)
    coord = worker = 0
    killed = False
    while proc.poll() is None:
        if time.time() - t0 > limit_s:
            for child in ps.children(recursive=True):
                child.kill()
            proc.kill()
            killed = True
        try:
            coord = max(coord, ps.memory_info().rss)
            for child in ps.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    worker = max(worker, child.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    total = time.time() - t0
    proc.wait()
    err_file.seek(0)
    err = err_file.read()
    out_file.close()
    err_file.close()
    counted = _count(port)
    first = counted["first"] - t0 if counted["first"] else None
    return {
        "rc": "killed" if killed else proc.returncode,
        "first_s": round(first, 2) if first is not None else None,
        "total_s": round(total, 2),
        "coord_mb": round(coord / 2**20),
        "worker_mb": round(worker / 2**20),
        "served": counted["served"],
        "stderr": err.decode(errors="replace").strip().splitlines()[-1:] if proc.returncode else [],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="1,1000,5000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--runs", default="requests,duration", help="which runs: requests, duration")
    ap.add_argument("--limit", type=float, default=120.0, help="kill a run after this many s")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return 0
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True
    )
    rows = []
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(c) for c in args.counts.split(",")):
                path = os.path.join(tmp, f"many_{n}.toml")
                Path(path).write_text(scenario_text(n, args.users))
                runs = {"requests": ("10 requests", ["-n", "10"]),
                        "duration": (args.duration, ["-t", args.duration])}  # fmt: skip
                for label, extra in (runs[r] for r in args.runs.split(",")):
                    row = {
                        "endpoints": n,
                        "run": label,
                        **run_one(path, port, args.workers, extra, args.limit),
                    }
                    rows.append(row)
                    if not args.json:
                        print(
                            f"{n:>6} endpoints  {label:<12} rc={row['rc']} first={row['first_s']}s"
                            f" total={row['total_s']}s coordinator={row['coord_mb']} MB"
                            f" worker={row['worker_mb']} MB served={row['served']}"
                            + (f"  {row['stderr']}" if row["stderr"] else ""),
                            flush=True,
                        )
    finally:
        server.terminate()
        server.wait(5)
    if args.json:
        print(json.dumps({"load": os.getloadavg(), "rows": rows}, indent=1))
    else:
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
