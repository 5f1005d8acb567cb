"""What the benchmark runs and what one run yields: the generator table, ``Sample``, ``Ctx``."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from common import BENCH_DIR, Nginx

SCENARIOS = BENCH_DIR / "scenarios"
RESULTS = BENCH_DIR / "results"
USERS = 64
NOISY = 0.10  # a run is marked noisy when others used more than this share of a CPU

# What each generator is, in the order of the table.
GENERATORS: dict[str, str] = {
    "wrk": "wrk -t1 -c64, one GET",
    "locust": "Locust FastHttpUser, 64 users, constant(0), one GET",
    "tui-mixed": "tui-loadtest --no-ui --workers 1, 64 users, mixed shape",
    "tui-single": "tui-loadtest --no-ui --workers 1, 64 users, one GET",
    "tui-mixed-ui": "tui-loadtest with the dashboard (tmux 160x48), mixed shape",
    "tui-mixed-w2": "tui-loadtest --workers 2 on both CPUs (nginx keeps its own), mixed",
    "tui-mixed-w2-1cpu": "tui-loadtest --workers 2 on the generator CPU only, mixed",
}
CORE = ["wrk", "locust", "tui-mixed", "tui-single"]
GROUPS = {
    "core": CORE,
    "ui": ["tui-mixed-ui"],
    "scaling": ["tui-mixed-w2", "tui-mixed-w2-1cpu"],
}
UI_MISSING_NOTE = "dashboard is not available yet"
# Generators that --ref REV runs a second time as NAME@REV, from a build of revision REV,
# in the same rounds: "before and after" measured side by side in one run.
REF_BASES = ("tui-mixed", "tui-single")


def describe(name: str) -> str:
    """What a generator is, ``NAME@REV`` included."""
    base, _, rev = name.partition("@")
    return GENERATORS[base] + (f"; tui-loadtest at {rev}" if rev else "")


@dataclass
class Sample:
    """One generator run: its own figures and what nginx counted meanwhile."""

    rps: float
    requests: int
    nginx_requests: int
    duration_s: float
    ok: bool
    note: str = ""
    # Measured from outside in a steady window mid-run (start-up and end left out):
    window_rps: float | None = None  # what nginx served per second
    cpu_share: float | None = None  # CPU of the generator's process tree, 1.0 = one CPU
    root_cpu_share: float | None = None  # of its first process (tui-loadtest: the coordinator)
    terminal_cpu_share: float | None = None  # the tmux server drawing the dashboard
    # Share of each CPU that ran other processes (or was stolen by the hypervisor) than
    # the generator (on its CPU) or nginx (on its own): high values mean a noisy run.
    other_gen_cpu: float | None = None
    other_server_cpu: float | None = None
    irq_gen_cpu: float | None = None  # share of each CPU in interrupts (part of the TCP work)
    irq_server_cpu: float | None = None

    @property
    def count_diff(self) -> int:
        return self.requests - self.nginx_requests

    @property
    def noisy(self) -> bool:
        return max(self.other_gen_cpu or 0.0, self.other_server_cpu or 0.0) > NOISY

    @property
    def per_cpu_s(self) -> float | None:
        """Requests per CPU-second of the generator: speed per core, whatever nginx could take."""
        if self.window_rps is None or not self.cpu_share:
            return None
        return self.window_rps / self.cpu_share


@dataclass
class Ctx:
    """Everything a generator run needs."""

    args: argparse.Namespace
    nginx: Nginx
    tui: list[str]
    server_cpu: set[int] | None
    gen_cpu: set[int] | None
    logs: Path
    locust: Path | None = None
    tmux: str | None = None
    tmux_socket: str = field(default_factory=lambda: f"tui-bench-{os.getpid()}")
    ui_seen: str | None = None  # what the dashboard pane showed mid-run
    root: int | None = None  # PID of the generator running now (for the CPU window)
    terminal: int | None = None  # PID of our tmux server while the dashboard runs
    refs: dict[str, list[str]] = field(default_factory=dict)  # --ref REV: how to start it
