"""What the metrics-out tests share: a target that can be frozen mid-run, an OTLP
receiver built on the opentelemetry-proto messages, and a real Prometheus server."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.servers import LoopbackServer

PROMETHEUS = shutil.which("prometheus")


def cli(*args: str, timeout: float = 90, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui_loadtest", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Any, timeout_s: float = 30.0, what: str = "it") -> Any:
    """Poll ``check`` (a file, a server) until it gives a true value; fail after timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s} s for {what}")
        time.sleep(0.05)


class FreezableServer(LoopbackServer):
    """Answers at once and counts the responses it wrote, until ``frozen``: then it
    reads requests and never answers them (those are never counted). Every
    ``fail_every``-th response is a 500."""

    def __init__(self, fail_every: int = 0) -> None:
        self.frozen = False
        self.fail_every = fail_every
        self.received = 0
        self.sent = 0
        self.failed = 0
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.received += 1
                if self.frozen:
                    await asyncio.Event().wait()  # held until the connection goes
                fail = self.fail_every and (self.received % self.fail_every == 0)
                status = b"500 Oops" if fail else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
                self.sent += 1
                self.failed += bool(fail)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class OtlpReceiver:
    """An OTLP/HTTP metrics receiver: each POST to /v1/metrics is parsed as an
    ``ExportMetricsServiceRequest`` and kept. ``mode``: "ok", "error" (503 every
    time) or "hang" (reads the request, never answers until stopped)."""

    def __init__(self, mode: str = "ok") -> None:
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as pb

        self.mode = mode
        self.requests: list[Any] = []
        self.attempts = 0
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.attempts += 1
                if receiver.mode == "hang":
                    receiver._release.wait(60)
                    return
                if receiver.mode == "error":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.requests.append(pb.ExportMetricsServiceRequest.FromString(body))
                answer = pb.ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def last_metrics(self) -> dict[str, Any]:
        """The last request's metrics by name (each a protobuf Metric)."""
        last = self.requests[-1]
        return {m.name: m for rm in last.resource_metrics for sm in rm.scope_metrics
                for m in sm.metrics}  # fmt: skip


def attrs(point: Any) -> dict[str, Any]:
    out = {}
    for kv in point.attributes:
        v = kv.value
        out[kv.key] = v.string_value if v.HasField("string_value") else v.int_value
    return out


class Prometheus:
    """A real Prometheus (Debian's package) scraping ``targets`` every second."""

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        assert PROMETHEUS is not None
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: tui\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n"
        )
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(tmp / "prometheus.log", "w"),  # noqa: SIM115
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self._ready, 60, "Prometheus to be ready")
        # Its discovery hands targets over every 5 s: wait until it scrapes (and fails)
        # each one, so that the run's first figures are scraped as they come.
        wait_for(self._scraping, 60, "Prometheus to scrape its targets")

    def _scraping(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as r:
            targets = json.load(r)["data"]["activeTargets"]
        return bool(targets) and all(not t["lastScrape"].startswith("0001") for t in targets)

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            answer = json.load(r)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, promql: str, at: float | None = None) -> float:
        result = self.query(promql, at)
        assert len(result) == 1, (promql, result)
        return float(result[0]["value"][1])

    def stop(self) -> None:
        """Stop the process we started, by its PID."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
