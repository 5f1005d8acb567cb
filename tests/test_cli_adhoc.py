"""Ad-hoc runs from flags, as curl, hey and oha users type them: `run URL`, `bench URL`
with -m, -H, -d, --json, -n, -c, -z; `run -f FILE` and `run --example NAME`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tui_loadtest.cli import main


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    lock = threading.Lock()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.lock:
            self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder():
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args], capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_run_url_sends_the_request_the_flags_describe(recorder, tmp_path):
    _, url = recorder
    out = tmp_path / "r.json"
    done = cli("run", f"{url}/items?x=1", "--headless", "-n", "30", "-c", "3",
               "-H", "Authorization: Bearer t0k", "-H", "X-Trace: abc",
               "--json", '{"name": "widget"}', "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(Recorder.seen) == 30
    for method, path, headers, body in Recorder.seen:
        assert (method, path) == ("POST", "/items?x=1")  # --json makes it a POST
        assert headers["Authorization"] == "Bearer t0k" and headers["X-Trace"] == "abc"
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"name": "widget"}
    report = json.loads(out.read_text())
    assert report["summary"]["requests"] == 30 and report["load"]["users"] == 3
    assert report["summary"]["status_codes"] == {"201": 30}
    assert "t0k" not in out.read_text()  # the credential stays out of the report


def test_data_is_a_form_body_unless_told_and_reads_files(recorder, tmp_path):
    _, url = recorder
    payload = tmp_path / "body.txt"
    payload.write_text("a=1&b=2")
    done = cli("bench", f"{url}/form", "-n", "4", "-c", "1", "-d", f"@{payload}", "-m", "put")
    assert done.returncode == 0, done.stderr
    assert {(m, p, b) for m, p, _, b in Recorder.seen} == {("PUT", "/form", b"a=1&b=2")}
    assert Recorder.seen[0][2]["Content-Type"] == "application/x-www-form-urlencoded"


def test_bench_takes_n_and_c_like_hey(recorder):
    _, url = recorder
    done = cli("bench", f"{url}/x", "-n", "25", "-c", "5", "--out", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["requests"] == 25 == len(Recorder.seen)
    assert report["load"]["users"] == 5


def test_bench_z_sends_for_a_duration(recorder):
    _, url = recorder
    done = cli("bench", f"{url}/z", "-z", "1s", "-c", "2", "--out", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["requests"] == len(Recorder.seen) > 0
    assert 0.9 <= report["duration_s"] < 5  # a second of sending, not a count


def test_bench_help_shows_the_curl_style_flags():
    done = cli("bench", "--help")
    for flag in ("-m METHOD", "-H", "-d DATA", "--json JSON", "-n N", "-c C", "-z T"):
        assert flag in done.stdout
    assert "--host" in done.stdout or "Locust" in done.stdout  # -H is a header, said so


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-H", "no colon"], '-H/--header: expected "Name: value"'),
        (["--json", "{nope"], "--json: not JSON"),
        (["-d", "@/nonexistent/body"], "-d/--data: cannot read /nonexistent/body"),
    ],
)
def test_bad_request_flags_are_one_line(args, message, capsys):
    assert main(["run", "http://127.0.0.1:1/x", "--headless", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_request_flags_with_a_scenario_file_are_refused(capsys, tmp_path):
    assert main(["run", "configs/health.toml", "-H", "X: 1"]) == 2
    assert "shape the request of `run URL`" in capsys.readouterr().err
    assert main(["run", "configs/health.toml", "-f", "configs/mixed.toml"]) == 2
    assert "give one scenario" in capsys.readouterr().err


def test_run_f_and_example_load_the_scenario(tmp_path):
    for args in (["-f", "configs/health.toml"], ["--example", "health"]):
        done = cli("run", *args, "--headless", "-t", "1s", "-c", "2")
        assert done.returncode in (0, 1), done.stderr  # 1: the example's gates, if judged
        assert "Run Summary: Health check" in done.stdout
    done = cli("run", "--example", "nope", "--headless")
    assert done.returncode == 2 and "no example named 'nope'" in done.stderr


def test_help_says_what_bench_and_export_really_do(tmp_path, monkeypatch):
    bench = cli("bench", "--help").stdout
    assert "dashboard" not in bench  # bench is headless
    assert "dashboard" in cli("run", "--help").stdout
    export = cli("baselines", "export", "--help").stdout
    assert "baseline_NAME.json" in export
    from tui_loadtest.baselines import export_file_name

    assert export_file_name("NAME") == "baseline_NAME.json"  # the help's name is the real one
