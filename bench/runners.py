"""One runner per generator: start it pinned, wait for it, read its own figures.

A runner returns a ``Sample`` with what the generator itself reported; what nginx
counted and the CPU window are added around it by ``measurement.run_generator``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from common import BENCH_DIR, REPO_DIR, cmdline, finish, pinned, spawn
from samples import SCENARIOS, UI_MISSING_NOTE, USERS, Ctx, Sample


def run_wrk(ctx: Ctx, tag: str) -> Sample:
    d = ctx.args.duration
    cmd = ["wrk", "-t1", f"-c{USERS}", f"-d{d}s", f"{ctx.nginx.url}/api/health"]
    out = ctx.logs / f"{tag}.txt"
    with open(out, "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
        ctx.root = proc.pid
        finish(proc, d + 30)
    text = out.read_text()
    m_rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    m_n = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if not (m_rps and m_n):
        return Sample(0, 0, 0, 0, False, f"wrk output not understood (see {out})")
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0}.get(m_n.group(3), 1.0)
    return Sample(float(m_rps.group(1)), int(m_n.group(1)), 0, float(m_n.group(2)) * scale, True)


def run_locust(ctx: Ctx, tag: str) -> Sample:
    d = ctx.args.duration
    prefix = ctx.logs / tag
    cmd = [
        str(ctx.locust),
        "-f",
        str(BENCH_DIR / "locustfile.py"),
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "-t",
        f"{d}s",
        "-H",
        ctx.nginx.url,
        "--json-file",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(f"{prefix}.txt", "wb") as fh:
        proc = spawn(cmd, cores=ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT, cwd=BENCH_DIR)
        ctx.root = proc.pid
        finish(proc, d + 60)
    try:
        entries = json.loads(Path(f"{prefix}.json").read_text())
        n = sum(e["num_requests"] for e in entries)
        # Locust's own total req/s: requests over first start to last request.
        span = max(e["last_request_timestamp"] for e in entries) - min(
            e["start_time"] for e in entries
        )
        rps = n / span
    except (OSError, KeyError, ValueError, ZeroDivisionError) as exc:
        return Sample(0, 0, 0, 0, False, f"no Locust stats ({exc}; see {prefix}.txt)")
    return Sample(rps, n, 0, span, True)


def tui_command(
    ctx: Ctx,
    scenario: str,
    out: Path,
    *,
    workers: int = 1,
    ui: bool = False,
    tool: list[str] | None = None,
) -> list[str]:
    cmd = [*(tool or ctx.tui), "run", str(SCENARIOS / scenario), "--host", ctx.nginx.url]
    cmd += ["-u", str(USERS), "-t", f"{ctx.args.duration}s", "--workers", str(workers)]
    cmd += ["--out", str(out)]
    if ctx.nginx.tls:  # nginx's certificate is self-signed
        cmd += ["-k"]
    if not ui:
        cmd += ["--no-ui", "--interval", "3600"]
    return cmd


def read_report(out: Path, note: str) -> Sample:
    try:
        data = json.loads(out.read_text())
        s = data["summary"]
        return Sample(float(s["rps"]), int(s["requests"]), 0, float(data["duration_s"]), True)
    except (OSError, KeyError, ValueError) as exc:
        return Sample(0, 0, 0, 0, False, f"no report ({exc}); {note}")


def run_tui(
    ctx: Ctx,
    tag: str,
    scenario: str,
    workers: int = 1,
    cpus: set[int] | None = None,
    tool: list[str] | None = None,
) -> Sample:
    out = ctx.logs / f"{tag}.json"
    log_path = ctx.logs / f"{tag}.txt"
    cmd = tui_command(ctx, scenario, out, workers=workers, tool=tool)
    with open(log_path, "wb") as fh:
        proc = spawn(cmd, cores=cpus or ctx.gen_cpu, stdout=fh, stderr=subprocess.STDOUT)
        ctx.root = proc.pid
        rc = finish(proc, ctx.args.duration + 60)
    sample = read_report(out, f"exit code {rc}, see {log_path}")
    if rc != 0:
        sample.ok = False
        sample.note = f"exit code {rc}, see {log_path}"
    return sample


def tmux(ctx: Ctx, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Our own tmux server (its own socket). The first call starts the server, which
    inherits this call's CPU pinning: the terminal's work stays on the generator CPU
    and is charged to the dashboard, instead of taking nginx's CPU."""
    return subprocess.run(
        [ctx.tmux or "tmux", "-L", ctx.tmux_socket, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=check,
        preexec_fn=pinned(ctx.gen_cpu),  # noqa: PLW1509 - single-threaded here
    )


def run_tui_ui(ctx: Ctx, tag: str) -> Sample:
    """The mixed run with the dashboard drawn in a 160x48 tmux pane, pinned like the others."""
    d = ctx.args.duration
    out = ctx.logs / f"{tag}.json"
    rc_file = ctx.logs / f"{tag}.rc"
    cmd = tui_command(ctx, "mixed_nginx.toml", out, ui=True)
    taskset = shutil.which("taskset")
    if ctx.gen_cpu is not None and taskset:
        cmd = [taskset, "-c", ",".join(map(str, sorted(ctx.gen_cpu))), *cmd]
    shell = f"cd {shlex.quote(str(REPO_DIR))} && {shlex.join(cmd)}; echo $? > {rc_file}"
    tmux(ctx, "kill-session", "-t", tag)
    tmux(ctx, "new-session", "-d", "-s", tag, "-x", "160", "-y", "48", shell, check=True)
    server = tmux(ctx, "display-message", "-p", "#{pid}").stdout.strip()
    ctx.terminal = int(server) if server.isdigit() else None
    start = time.monotonic()
    seen = None
    pressed: list[str] = []
    while not rc_file.exists():
        elapsed = time.monotonic() - start
        if ctx.root is None:
            ctx.root = find_process(str(out))
        if seen is None and elapsed > d / 2 + 1:
            seen = tmux(ctx, "capture-pane", "-p", "-t", tag).stdout
            (ctx.logs / f"{tag}.pane.txt").write_text(seen)
        # The dashboard stays open after the run to show the end: ask it to quit.
        if elapsed > d + 6 and not pressed:
            pressed.append("q")
            tmux(ctx, "send-keys", "-t", tag, "q")
        elif elapsed > d + 20 and len(pressed) == 1:
            pressed.append("C-c")
            tmux(ctx, "send-keys", "-t", tag, "C-c")
        elif elapsed > d + 40:
            tmux(ctx, "kill-session", "-t", tag)
            break
        time.sleep(0.2)
    ctx.ui_seen = seen or ""
    rc = rc_file.read_text().strip() if rc_file.exists() else "none (killed)"
    sample = read_report(out, f"exit code {rc}")
    if len(pressed) > 1:
        sample.note = f"did not quit on q: sent {'+'.join(pressed)}"
    elif sample.ok and sample.duration_s < d - 0.5:
        sample.note = f"q ended the run early ({sample.duration_s:.1f}s)"
    if UI_MISSING_NOTE in (seen or ""):
        sample.note = "no dashboard yet: ran headless"
    return sample


def find_process(marker: str) -> int | None:
    """The Python process whose arguments include ``marker`` (not a shell around it)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            argv = cmdline(int(entry)).split(" ")
            if "python" in Path(argv[0]).name and marker in argv:
                return int(entry)
    return None


def runner(ctx: Ctx, name: str, tag: str) -> Callable[[], Sample]:
    """The run of generator ``name``, ready to start (``NAME@REV``: revision REV's build)."""
    base, _, rev = name.partition("@")
    if rev:
        scenario = {"tui-mixed": "mixed_nginx.toml", "tui-single": "single_nginx.toml"}[base]
        return lambda: run_tui(ctx, tag, scenario, tool=ctx.refs[rev])
    both = (ctx.server_cpu or set()) | (ctx.gen_cpu or set()) or None
    runners = {
        "wrk": lambda: run_wrk(ctx, tag),
        "locust": lambda: run_locust(ctx, tag),
        "tui-mixed": lambda: run_tui(ctx, tag, "mixed_nginx.toml"),
        "tui-single": lambda: run_tui(ctx, tag, "single_nginx.toml"),
        "tui-mixed-ui": lambda: run_tui_ui(ctx, tag),
        "tui-mixed-w2": lambda: run_tui(ctx, tag, "mixed_nginx.toml", 2, both),
        "tui-mixed-w2-1cpu": lambda: run_tui(ctx, tag, "mixed_nginx.toml", 2),
    }
    return runners[name]
