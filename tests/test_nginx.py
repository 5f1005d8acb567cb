"""The fast transport against a real nginx (issue 22): TLS 1.3 with a CA file, gzip that
nginx chooses to send, a redirect that sets a session cookie, and a client certificate
nginx insists on. Every count is checked against nginx's own access log.

Skipped where no nginx binary is installed (`.ci/run` installs Debian's nginx-light).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

trustme = pytest.importorskip("trustme")

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
pytestmark = pytest.mark.skipif(NGINX is None, reason="needs nginx (apt-get install nginx-light)")

# A body nginx compresses (gzip_min_length is below it), the same JSON every time.
BODY = json.dumps({"status": "ok", "items": [{"id": i, "name": f"item {i}"} for i in range(40)]})

CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format t '$request_method $uri $status $ssl_protocol '
                 '"$sent_http_content_encoding" $ssl_client_verify "$http_cookie"';
    access_log {d}/access.log t;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type application/json;
    ssl_protocols TLSv1.3;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    gzip on;
    gzip_types application/json;
    gzip_min_length 100;
    server {{
        listen 127.0.0.1:{port} ssl;
        location = /login {{
            add_header Set-Cookie "sid=s3cr3t; Path=/; HttpOnly";
            return 302 /home;
        }}
        location = /home {{
            if ($cookie_sid != "s3cr3t") {{ return 401 '{{"error":"no session"}}'; }}
            return 200 '{{"home":true}}';
        }}
        location = /items {{ return 200 '{body}'; }}
        location = /big-login {{
            add_header Set-Cookie "big=yes; Path=/";
            gzip off;
            return 200 '{body}';
        }}
        location = /needs-big {{
            if ($cookie_big != "yes") {{ return 401 '{{"error":"no cookie"}}'; }}
            return 200 '{{"ok":true}}';
        }}
    }}
    server {{
        listen 127.0.0.1:{mtls_port} ssl;
        ssl_client_certificate {d}/ca.pem;
        ssl_verify_client on;
        location / {{ return 200 '{{"ok":true}}'; }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Nginx:
    dir: Path
    url: str
    mtls_url: str

    def log(self) -> list[list[str]]:
        """The access log so far, one split line per request (nginx writes each line as
        it ends the request)."""
        path = self.dir / "access.log"
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    def wait_for_lines(self, n: int, timeout: float = 10.0) -> list[list[str]]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log()
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    d = tmp_path_factory.mktemp("nginx")
    d.chmod(0o755)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(d / "server.pem"))
    server.private_key_pem.write_to_path(str(d / "server.key"))
    client = ca.issue_cert("loadtester@example.com")
    client.cert_chain_pems[0].write_to_path(str(d / "client.pem"))
    client.private_key_pem.write_to_path(str(d / "client.key"))
    port, mtls_port = _free_port(), _free_port()
    (d / "nginx.conf").write_text(CONF.format(d=d, port=port, mtls_port=mtls_port, body=BODY))
    assert NGINX is not None
    proc = subprocess.Popen(
        [NGINX, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield Nginx(d, f"https://127.0.0.1:{port}", f"https://127.0.0.1:{mtls_port}")
    finally:
        proc.send_signal(signal.SIGQUIT)  # ours, by its PID: graceful stop
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def tui(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


SESSION = """\
name = "nginx session"
host = "{url}"
[load]
users = 3
requests = {n}
[http]
ca_file = "{ca}"
[[flows]]
name = "session"
[[flows.steps]]
name = "login"
path = "/login"
[[flows.steps]]
name = "home"
path = "/home"
checks = ["json:$.home == true"]
[[flows.steps]]
name = "items"
path = "/items"
checks = ["json:$.status == 'ok'", "header:Content-Encoding == 'gzip'"]
"""


def test_a_session_over_tls13_with_gzip_a_redirect_and_a_cookie(nginx: Nginx, tmp_path: Path):
    """A flow logs in (302 with Set-Cookie, followed), reads its home page with the cookie
    and a JSON body nginx gzips: every request succeeds, over TLS 1.3 with the CA file,
    and the report's counts are nginx's log lines."""
    before = len(nginx.log())
    scenario = tmp_path / "s.toml"
    scenario.write_text(SESSION.format(url=nginx.url, ca=nginx.dir / "ca.pem", n=90))
    out = tmp_path / "r.json"
    proc = tui("run", str(scenario), "--no-ui", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    report = json.loads(out.read_text())
    rows = {e["name"]: e for e in report["endpoints"]}
    sent = sum(e["requests"] for e in report["endpoints"])
    hops = sum(e.get("redirects", 0) for e in report["endpoints"])
    lines = nginx.wait_for_lines(before + sent + hops)[before:]
    assert len(lines) == sent + hops == 90 + rows["login"]["requests"]
    seen = Counter((method, uri, status) for method, uri, status, *_ in lines)
    assert seen == {
        ("GET", "/login", "302"): rows["login"]["requests"],
        ("GET", "/home", "200"): rows["login"]["requests"] + rows["home"]["requests"],
        ("GET", "/items", "200"): rows["items"]["requests"],
    }
    assert report["summary"]["failures"] == 0
    assert {line[3] for line in lines} == {"TLSv1.3"}
    # nginx gzipped every /items answer, and the checks read the decoded body
    assert {line[4] for line in lines if line[1] == "/items"} == {'"gzip"'}
    assert all(c["failed"] == 0 and c["passed"] > 0 for c in report["checks"])
    # the cookie came back on every request after the login that set it
    assert {line[6] for line in lines if line[1] == "/home"} == {'"sid=s3cr3t"'}
    # the compressed bytes are what crossed the wire: far below the JSON's own size
    items_bytes = rows["items"]["bytes_received"] / rows["items"]["requests"]
    assert items_bytes < len(BODY) / 2


def test_a_client_certificate_nginx_requires(nginx: Nginx, tmp_path: Path):
    """With --client-cert/--client-key nginx verifies the client (SUCCESS in its log);
    without them it answers 400 to every request, counted as HTTP failures."""
    ca = str(nginx.dir / "ca.pem")
    before = len(nginx.log())
    out = tmp_path / "with.json"
    proc = tui(
        "run", f"{nginx.mtls_url}/x", "-c", "2", "-n", "40", "--no-ui", "--ca-file", ca,
        "--client-cert", str(nginx.dir / "client.pem"),
        "--client-key", str(nginx.dir / "client.key"), "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-1500:]
    summary = json.loads(out.read_text())["summary"]
    lines = nginx.wait_for_lines(before + 40)[before:]
    assert summary["requests"] == len(lines) == 40 and summary["failures"] == 0
    assert {(line[2], line[5]) for line in lines} == {("200", "SUCCESS")}

    before = len(nginx.log())
    out = tmp_path / "without.json"
    proc = tui(
        "run", f"{nginx.mtls_url}/x", "-c", "2", "-n", "20", "--no-ui", "--ca-file", ca,
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0  # failed requests alone: thresholds decide (exit codes)
    summary = json.loads(out.read_text())["summary"]
    lines = nginx.wait_for_lines(before + 20)[before:]
    assert summary["requests"] == summary["failures"] == len(lines) == 20
    assert summary["status_codes"] == {"400": 20}
    assert {(line[2], line[5]) for line in lines} == {("400", "NONE")}


LOCUSTFILE = """\
from locust import HttpUser, constant, task


class Shopper(HttpUser):
    wait_time = constant(0.01)

    def on_start(self):
        self.client.verify = {ca!r}  # requests' way: a CA bundle
        self.client.get("/login", name="login")  # 302, Set-Cookie, then /home

    @task
    def browse(self):
        r = self.client.get("/items")
        assert r.json()["status"] == "ok"
        assert r.headers["Content-Encoding"] == "gzip"
        self.client.get("/home")
"""


def test_a_locustfile_keeps_its_session_against_nginx(nginx: Nginx, tmp_path: Path):
    """An HttpUser, as requests runs it: cookies from a redirect, gzip decoded, a CA
    bundle set on the client; the Locust CSV's counts are nginx's log lines."""
    from .locust_parity import read_csv_rows

    (tmp_path / "locustfile.py").write_text(LOCUSTFILE.format(ca=str(nginx.dir / "ca.pem")))
    before = len(nginx.log())
    proc = tui(
        "locust", "run", "-f", "locustfile.py", "-H", nginx.url, "--headless", "-u", "2",
        "-t", "2s", "--stop-timeout", "5", "--csv", "o", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv_rows(tmp_path / "o")
    assert rows.total.failures == 0
    logins = rows.requests(("GET", "login"))
    items, home = rows.requests(("GET", "/items")), rows.requests(("GET", "/home"))
    assert logins == 2 and items > 10 and home == items
    lines = nginx.wait_for_lines(before + 2 * logins + items + home)[before:]
    seen = Counter((uri, status) for _, uri, status, *_ in lines)
    assert seen == {("/login", "302"): logins, ("/home", "200"): logins + home,
                    ("/items", "200"): items}  # fmt: skip
    assert {line[6] for line in lines if line[1] == "/home"} == {'"sid=s3cr3t"'}


def test_a_cookie_set_by_a_large_response_is_kept(nginx: Nginx, tmp_path: Path):
    """A Set-Cookie on a response of more than 512 bytes (where only the head is searched
    for it) is taken like any other: the next request carries it."""
    before = len(nginx.log())
    scenario = tmp_path / "big.toml"
    scenario.write_text(
        f'name = "big"\nhost = "{nginx.url}"\n[load]\nusers = 1\nrequests = 10\n'
        f'[http]\nca_file = "{nginx.dir / "ca.pem"}"\n'
        '[[flows]]\nname = "f"\n[[flows.steps]]\npath = "/big-login"\n'
        '[[flows.steps]]\npath = "/needs-big"\n'
    )
    out = tmp_path / "r.json"
    proc = tui("run", str(scenario), "--no-ui", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert json.loads(out.read_text())["summary"]["failures"] == 0
    lines = nginx.wait_for_lines(before + 10)[before:]
    assert Counter((uri, status) for _, uri, status, *_ in lines) == {
        ("/big-login", "200"): 5,
        ("/needs-big", "200"): 5,
    }
    assert len(BODY) > 512
