"""Shared plumbing for the benchmark: installing tools, CPU pinning, nginx, child processes.

Every process the benchmark starts is tracked here by its own PID so that it can
be stopped at the end (also on Ctrl+C) without touching anything else on the
machine: other people's nginx or tmux servers stay alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LOCUST_VENV = BENCH_DIR / ".venv-locust"
TUI_VENV = BENCH_DIR / ".venv-tui"

_children: list[subprocess.Popen] = []


def log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


# -- installing what is missing --------------------------------------------------
def find_binary(name: str) -> str | None:
    """``shutil.which`` plus the sbin folders, which a non-root PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


def ensure_debian(binaries: dict[str, str]) -> dict[str, str]:
    """Paths of the given binaries, ``apt-get install``-ing the packages of missing ones."""
    missing = {b: pkg for b, pkg in binaries.items() if find_binary(b) is None}
    if missing:
        pkgs = sorted(set(missing.values()))
        log(f"installing {', '.join(pkgs)} from Debian (missing: {', '.join(missing)})")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *pkgs], check=True, env=env)
    paths = {}
    for b in binaries:
        path = find_binary(b)
        if path is None:
            raise SystemExit(f"bench: {b} is still missing after installing {binaries[b]}")
        paths[b] = path
    return paths


def ensure_locust() -> Path:
    """The ``locust`` command of Locust's own virtualenv, created on first use."""
    exe = LOCUST_VENV / "bin" / "locust"
    if exe.exists():
        return exe
    log(f"creating {LOCUST_VENV.relative_to(REPO_DIR)} and installing Locust into it")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(LOCUST_VENV)], check=True)
    pip = LOCUST_VENV / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", "locust"], check=True)
    return exe


def ensure_tui_loadtest() -> list[str]:
    """How to start tui-loadtest: with this interpreter when it can import the package
    (the usual case: run from the project's virtualenv), else from bench/.venv-tui,
    created on first use with the repository installed in editable mode."""
    # Installed, not merely importable from the current folder, with its dependencies.
    check = "import importlib.metadata as m; m.version('tui-loadtest'); import tui_loadtest.cli"
    probe = subprocess.run([sys.executable, "-c", check], capture_output=True, cwd="/")
    if probe.returncode == 0:
        return [sys.executable, "-m", "tui_loadtest"]
    python = TUI_VENV / "bin" / "python"
    if not python.exists():
        log(f"tui_loadtest is not importable here: installing it into {TUI_VENV.name}")
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(TUI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO_DIR)], check=True)
    return [str(python), "-m", "tui_loadtest"]


def ensure_ref(rev: str) -> tuple[str, list[str]]:
    """(commit, command) of revision ``rev`` of this repository, built once into its own
    virtualenv, bench/.venv-ref-<commit>, from ``git archive`` (a plain install, so the
    build stays what the revision was while the working tree moves on)."""
    found = subprocess.run(
        ["git", "-C", str(REPO_DIR), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        raise SystemExit(f"bench: --ref {rev}: not a revision of this repository")
    commit = found.stdout.strip()
    venv = BENCH_DIR / f".venv-ref-{commit[:12]}"
    exe = venv / "bin" / "tui-loadtest"  # a script: it never imports the tree it runs in
    if exe.exists():
        return commit, [str(exe)]
    log(f"--ref {rev}: building {commit[:12]} into {venv.relative_to(REPO_DIR)}")
    shutil.rmtree(venv, ignore_errors=True)  # a build that stopped half-way
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    src = venv / "src"
    archive = subprocess.run(
        ["git", "-C", str(REPO_DIR), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(src, filter="data")
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(src)], check=True)
    return commit, [str(exe)]


def ensure_pyspy(python: str = sys.executable) -> str:
    """py-spy beside ``python`` (pip-installed into its environment if missing)."""
    exe = Path(python).parent / "py-spy"
    if exe.exists():
        return str(exe)
    if shutil.which("py-spy"):
        return str(shutil.which("py-spy"))
    log("installing py-spy")
    subprocess.run([python, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(exe)


# -- CPUs and limits ---------------------------------------------------------------
def pick_cores() -> tuple[set[int] | None, set[int] | None, str]:
    """(server core, generator core, note): the first two CPUs this process may use."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, f"only {len(cpus)} CPU available: nothing is pinned, ratios mean less"
    return {cpus[0]}, {cpus[1]}, f"server on CPU {cpus[0]}, generators on CPU {cpus[1]}"


def pinned(cores: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child (and so its own children) to ``cores``."""
    if cores is None:
        return None
    return lambda: os.sched_setaffinity(0, cores)


def raise_nofile() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# -- child processes -------------------------------------------------------------
def spawn(
    cmd: Sequence[str],
    *,
    cores: set[int] | None = None,
    stdout=subprocess.DEVNULL,  # noqa: ANN001
    stderr=subprocess.DEVNULL,  # noqa: ANN001
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start a tracked child in its own session, so Ctrl+C reaches only us and we
    decide how each child stops."""
    proc = subprocess.Popen(
        list(cmd),
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        preexec_fn=pinned(cores),  # noqa: PLW1509 - single-threaded parent
        start_new_session=True,
    )
    _children.append(proc)
    return proc


def finish(proc: subprocess.Popen, timeout: float, sig: int = signal.SIGINT) -> int:
    """Wait for a child; past ``timeout`` send ``sig``, then SIGKILL. Returns its exit code."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    for s, grace in ((sig, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, s)  # its own session: the group holds only what it started
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


def stop_all() -> None:
    """Stop every child still running (their process groups only), newest first."""
    for proc in reversed(_children):
        if proc.poll() is None:
            finish(proc, 0.0, signal.SIGTERM)
    _children.clear()


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return out


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children_of(p))
    return out


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a process tree, and of its root alone. The tree's figure adds each
    live process' own time and that of the children it has already reaped (so a
    worker that exited still counts once)."""
    total = root = 0
    for p in descendants(pid):
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        if p == pid:
            root = int(f[11]) + int(f[12])
    tick = os.sysconf("SC_CLK_TCK")
    return total / tick, root / tick


def cpu_busy(cpus: set[int] | None) -> tuple[float, float]:
    """Seconds the given CPUs spent running processes (user, nice, system) plus
    stolen by the hypervisor, and in interrupts (irq, softirq: loopback TCP work
    partly lands there), from /proc/stat."""
    procs = irq = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if cpus and name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            v = [int(x) for x in fields[:8]]
            procs += v[0] + v[1] + v[2] + v[7]
            irq += v[5] + v[6]
    tick = os.sysconf("SC_CLK_TCK")
    return procs / tick, irq / tick


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(tool_pid: int, timeout: float = 20.0) -> list[int]:
    """The worker processes (multiprocessing spawn children) of a tui-loadtest process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in children_of(tool_pid) if "spawn_main" in cmdline(p)]
        if found:
            return sorted(found)
        time.sleep(0.05)
    return []


def vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g}s")


# -- nginx -----------------------------------------------------------------------
NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;

events {{
    worker_connections {conns};
    multi_accept on;
}}

http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type application/json;

    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /nginx_status {{ stub_status; }}
        location = /api/health {{ return 200 '{{"status":"healthy"}}'; }}
        location = /api/agents {{ return 200 '[{{"id":"a1"}},{{"id":"a2"}}]'; }}
        location / {{ return 200 '{{"ok":true}}'; }}
    }}
}}
"""


class Nginx:
    """A private nginx on a free loopback port: one worker, pinned, no access log,
    keep-alive without limit, and ``stub_status`` to count what it served."""

    def __init__(
        self,
        binary: str,
        cores: set[int] | None,
        conns: int = 30000,
        conf: str = "",
        tls: bool = False,
    ) -> None:
        self.conf = conf or NGINX_CONF  # a template with {dir}, {port}, {conns}, {nofile}
        self.binary = binary
        self.cores = cores
        self.conns = conns
        # tls: the load port speaks TLS 1.3 (a self-signed certificate: generators skip
        # verification), and stub_status moves to a plain port of its own
        self.tls = tls
        self.port = free_port()
        self.status_port = free_port() if tls else self.port
        self.dir = Path(tempfile.mkdtemp(prefix="tui-bench-nginx-"))
        self.proc: subprocess.Popen | None = None
        self.reads = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _with_tls(self, conf: str) -> str:
        """The formatted conf with its server on TLS 1.3 and a plain status server."""
        key, cert = self.dir / "key.pem", self.dir / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        listen = f"listen 127.0.0.1:{self.port} backlog=4096;"
        assert listen in conf, "the conf's server must listen as NGINX_CONF's does"
        tls = (
            f"listen 127.0.0.1:{self.port} ssl backlog=4096;\n"
            f"        ssl_certificate {cert};\n        ssl_certificate_key {key};\n"
            "        ssl_protocols TLSv1.3;\n        ssl_session_cache shared:tls:1m;"
        )
        status = (
            f"    server {{\n        listen 127.0.0.1:{self.status_port};\n"
            "        location = /nginx_status { stub_status; }\n    }\n"
        )
        head, _, tail = conf.rpartition("}")  # the http block's end
        return head.replace(listen, tls) + status + "}" + tail

    def start(self) -> None:
        self.dir.chmod(0o755)  # the worker may run as "nobody"
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = self.conns + 100 if os.geteuid() == 0 else min(self.conns + 100, hard)
        conf = self.dir / "nginx.conf"
        text = self.conf.format(dir=self.dir, port=self.port, conns=self.conns, nofile=nofile)
        conf.write_text(self._with_tls(text) if self.tls else text)
        err = open(self.dir / "stderr.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = spawn(
            [self.binary, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")],
            cores=self.cores,
            stderr=err,
        )
        err.close()
        try:
            wait_port(self.port)
        except RuntimeError:
            log((self.dir / "stderr.log").read_text(errors="replace"))
            raise

    def served(self) -> int:
        """Requests nginx has served, less our own status requests (the counter
        includes the request that reads it)."""
        with self._lock:
            self.reads += 1
            status = f"http://127.0.0.1:{self.status_port}/nginx_status"
            with urllib.request.urlopen(status, timeout=5) as resp:
                lines = resp.read().decode().splitlines()
            return int(lines[2].split()[2]) - self.reads

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            finish(self.proc, 0.0, signal.SIGQUIT)  # graceful: the master stops its worker
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
