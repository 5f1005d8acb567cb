"""Secrets end to end: planted in every place a scenario can hold one, sent to a real
server, and absent from every file the run writes (reports, CSV, HTML, the baseline
store, worker logs) and from what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# One distinct value per place; none is a substring of another.
SECRETS = {
    "T_HEADER": "hdr-secret-4a1b",  # Authorization header, ${VAR}
    "T_PLAIN_HEADER": "plainhdr-secret-8c2d",  # a header with an ordinary name
    "T_PATH": "path-secret-9e3f",  # a path segment
    "T_QUERY": "query-secret-1a2b",  # a credential-named query parameter
    "T_JSON": "json-secret-3c4d",  # a JSON string value
    "T_BODY": "body-secret-5e6f",  # a text body
    "T_VARS": "vars-secret-7a8b",  # a vars value
    "T_ECHO": "echo-secret-9c0d",  # a path the server echoes into a bad response
}
LITERALS = {
    "lit-query-secret-77",  # a literal credential in a query string
    "lit-header-secret-55",  # a literal value of a sensitive header
}

SCENARIO = """
name = "secrets"
host = "{host}"

[load]
users = 2

[http]
transport = "{transport}"

[http.headers]
Authorization = "Bearer ${{T_HEADER}}"
X-Plain = "${{T_PLAIN_HEADER}}"
X-Api-Key = "lit-header-secret-55"

[[requests]]
path = "/items/${{T_PATH}}?api_key=${{T_QUERY}}&token=lit-query-secret-77&q=ok"

[[requests]]
method = "POST"
path = "/json"
json = {{ user = "${{T_JSON}}", nested = {{ list = ["x", "${{T_JSON}}"] }} }}

[[requests]]
method = "POST"
path = "/body/{{v}}"
body = "secret=${{T_BODY}}&v={{v}}"
vars = {{ v = ["${{T_VARS}}"] }}

[[requests]]
path = "/echo/${{T_ECHO}}"
"""


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 and keeps what it was sent; ``/echo/...`` answers a broken status line
    that repeats the path, so a client's error message quotes it."""

    protocol_version = "HTTP/1.1"
    seen: list[bytes] = []
    lock = threading.Lock()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.lock:
            self.seen.append(self.requestline.encode() + bytes(self.headers) + body)
        if self.path.startswith("/echo/"):
            self.wfile.write(b"HTTP/1.1 2x0 " + self.path.encode() + b"\r\n\r\n")
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[bytes]]]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("transport", ["fast", "httpx"])
def test_no_secret_reaches_any_artefact(
    recorder: tuple[str, list[bytes]], tmp_path: Path, transport: str
) -> None:
    host, seen = recorder
    scenario = tmp_path / "secrets.toml"
    scenario.write_text(SCENARIO.format(host=host, transport=transport), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    logs = tmp_path / "tmp"  # worker logs and crash logs go to TMPDIR
    logs.mkdir()
    env = {**os.environ, **SECRETS, "TMPDIR": str(logs)}
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", str(scenario), "--no-ui", "-n", "200"]
        + ["--out", str(out / "report.json"), "--html", str(out / "report.html")]
        + ["--csv", str(out / "run"), "--save-baseline", "b1", "--store", str(out / "store.db")],
        capture_output=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode()

    # The server saw every value: they were really sent, each where it was planted.
    sent = b"\n".join(seen)
    for value in [*SECRETS.values(), *LITERALS]:
        assert value.encode() in sent, value
    assert b"Bearer hdr-secret-4a1b" in sent
    assert b'"user":"json-secret-3c4d"' in sent
    assert b"secret=body-secret-5e6f&v=vars-secret-7a8b" in sent

    # Nothing written or printed holds one: reports, CSV, HTML, the store, logs.
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p != scenario)
    names = {p.name for p in written}
    assert {"report.json", "report.html", "store.db"} <= names
    assert any(name.startswith("run_") and name.endswith(".csv") for name in names)
    for path in [*written, "stdout", "stderr"]:
        data = getattr(proc, path) if isinstance(path, str) else Path(path).read_bytes()
        for value in [*SECRETS.values(), *LITERALS]:
            assert value.encode() not in data, f"{value} found in {path}"

    # What the artefacts keep instead: the references as written, <redacted> for literals.
    report = json.loads((out / "report.json").read_text())
    text = json.dumps(report)
    assert "${T_PATH}" in text and "${T_JSON}" in text and "${T_VARS}" in text
    assert "token=<redacted>" in text
    echo_errors = [e for e in report["errors"] if "/echo/" in e["endpoint"]]
    assert echo_errors, report["errors"]
