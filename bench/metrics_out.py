"""Metrics out (issue 26): what each exporter costs.

1. **req/s, side by side.** ``tui-loadtest run URL -c 32 -t Ts --no-ui`` against a
   private nginx (pinned to one CPU, the generator to the other), in alternating
   rounds: plain, ``--prometheus`` scraped every second, ``--otlp`` to a receiver in
   this process every second, ``--stream``, and all three. Each run's req/s is its
   report's; the table gives the median and the ratio to plain.
2. **The coordinator at 1,000 endpoints**, ``/metrics`` scraped every second: a
   scenario of 1,000 ``[[requests]]`` at a fixed arrival rate, with and without
   ``--prometheus``; the coordinator's CPU (the report's own per-second series,
   ``generator.cpu_pct.coordinator``), a scrape's time and size.

Usage: ``python bench/metrics_out.py [--rounds 3] [--seconds 8] [--json]``. Like
every benchmark it wants a quiet machine; quote the ratios, which hold better than
the absolute figures on a shared one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Nginx, ensure_debian, free_port, pick_cores, pinned  # noqa: E402


class Receiver:
    """An OTLP/HTTP endpoint that takes every export and answers 200."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Scraper:
    """GET /metrics every second while the run goes; keeps each scrape's time and size."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.times: list[float] = []
        self.sizes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        while not self._stop.wait(1.0):
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    size = len(r.read())
            except OSError:
                continue
            self.times.append(time.perf_counter() - t)
            self.sizes.append(size)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def run(tool: list[str], args: list[str], cores: set[int] | None, scrape_port: int | None,
        ) -> tuple[dict, Scraper | None]:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [*tool, *args, "--no-ui", "--out", str(out)]
        cmd = [a.replace("{tmp}", tmp) for a in cmd]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, preexec_fn=pinned(cores))  # fmt: skip
        scraper = Scraper(scrape_port) if scrape_port else None
        _, err = proc.communicate(timeout=600)
        if scraper is not None:
            scraper.stop()
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd}: exit {proc.returncode}: {err}")
        return json.loads(out.read_text()), scraper


def coordinator_cpu(report: dict) -> float:
    series = [v for v in report["generator"]["cpu_pct"]["coordinator"] if v is not None]
    return statistics.mean(series[1:]) if len(series) > 1 else float("nan")


def side_by_side(tool: list[str], nginx_url: str, cores: set[int] | None, rounds: int,
                 seconds: int) -> dict:  # fmt: skip
    receiver = Receiver()
    base = ["run", f"{nginx_url}/api/health", "-c", "32", "-t", f"{seconds}s"]
    configs: dict[str, tuple[list[str], bool]] = {
        "plain": ([], False),
        "prometheus": (["--prometheus", "PORT"], True),
        "otlp": (["--otlp", receiver.url, "--otlp-interval", "1s"], False),
        "stream": (["--stream", "{tmp}/s.ndjson"], False),
        "all three": (
            [
                "--prometheus",
                "PORT",
                "--otlp",
                receiver.url,
                "--otlp-interval",
                "1s",
                "--stream",
                "{tmp}/s.ndjson",
            ],
            True,
        ),  # fmt: skip
    }
    rps: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(rounds):
        for name, (extra, scraped) in configs.items():
            port = free_port()
            args = [a.replace("PORT", f"127.0.0.1:{port}") for a in extra]
            report, _ = run(tool, base + args, cores, port if scraped else None)
            rps[name].append(report["summary"]["rps"])
            print(f"  {name:<10} {rps[name][-1]:>10,.0f} req/s", flush=True)
    plain = statistics.median(rps["plain"])
    return {name: {"median_rps": statistics.median(v), "ratio": statistics.median(v) / plain,
                   "runs": v} for name, v in rps.items()}  # fmt: skip


def thousand_endpoints(tool: list[str], nginx_url: str, cores: set[int] | None,
                       seconds: int) -> dict:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "thousand.toml"
        lines = [f'host = "{nginx_url}"', "[load]", 'mode = "arrival-rate"', "rate = 2000",
                 "max_users = 64", f'run_time = "{seconds}s"']  # fmt: skip
        for i in range(1000):
            lines += ["[[requests]]", f'name = "endpoint {i:04d}"', f'path = "/e/{i}"']
        scenario.write_text("\n".join(lines) + "\n")
        out: dict = {}
        for name, scraped in (("plain", False), ("prometheus, scraped every second", True)):
            port = free_port()
            args = ["run", str(scenario)] + (
                ["--prometheus", f"127.0.0.1:{port}"] if scraped else []
            )
            report, scraper = run(tool, args, cores, port if scraped else None)
            entry = {"coordinator_cpu_pct": round(coordinator_cpu(report), 1),
                     "rps": round(report["summary"]["rps"])}  # fmt: skip
            if scraper is not None and scraper.times:
                entry["scrape_ms_median"] = round(statistics.median(scraper.times) * 1000, 1)
                entry["scrape_kb"] = round(statistics.median(scraper.sizes) / 1024)
                entry["scrapes"] = len(scraper.times)
            out[name] = entry
            print(f"  {name:<34} {entry}", flush=True)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tool = [sys.executable, "-m", "tui_loadtest"]
    server_cores, tool_cores, how = pick_cores()
    nginx = Nginx(ensure_debian({"nginx": "nginx"})["nginx"], server_cores)
    nginx.start()
    try:
        print(f"metrics out: {how}", flush=True)
        results = {
            "side_by_side": side_by_side(tool, nginx.url, tool_cores, args.rounds, args.seconds),
            "thousand_endpoints": thousand_endpoints(tool, nginx.url, tool_cores, 20),
        }
    finally:
        nginx.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("\nreq/s side by side (median of the rounds, ratio to plain):")
    for name, r in results["side_by_side"].items():
        print(f"  {name:<10} {r['median_rps']:>10,.0f}   {r['ratio']:.3f}")
    print("\n1,000 endpoints, 2,000 req/s:")
    for name, r in results["thousand_endpoints"].items():
        print(f"  {name:<34} {r}")


if __name__ == "__main__":
    main()
