"""A local process and its children (uvicorn or gunicorn workers), through psutil.

CPU is the time the processes used since the last sample over the wall time
between the two, in % of one core (as ``top`` shows it: 4 busy workers read
400 %). Memory is the resident set summed over the tree, threads and open file
descriptors likewise. A child that appears between two samples counts from its
start; one that ended takes its last interval with it (psutil cannot read a
process that is gone).
"""

from __future__ import annotations

import time

import psutil

from ..errors import UsageError

# (metric, unit, what a chart calls it)
PID_METRICS = (
    ("cpu_pct", "%", "CPU"),
    ("rss_bytes", "bytes", "memory (RSS)"),
    ("threads", "count", "threads"),
    ("open_fds", "count", "open files"),
)


def check_pid(pid: int) -> str:
    """The process's name, or a UsageError naming the flag (before the run starts)."""
    try:
        proc = psutil.Process(pid)
        return proc.name()
    except psutil.NoSuchProcess:
        raise UsageError(f"--monitor-pid: no process with id {pid}") from None
    except psutil.AccessDenied:
        raise UsageError(
            f"--monitor-pid: process {pid} belongs to another user (run as that user)"
        ) from None


class ProcessWatch:
    """Samples one process tree; ``sample()`` returns None once the process is gone."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.proc = psutil.Process(pid)
        try:
            self.name = self.proc.name()
        except psutil.Error:
            self.name = "?"
        self._cpu: dict[int, float] = {}  # pid -> CPU seconds at the last sample
        self._last: float | None = None  # monotonic time of the last sample
        self.denied: set[str] = set()  # metrics the OS would not tell us

    def sample(self, now: float) -> dict[str, float] | None:
        """The tree's figures; CPU only from the second sample on."""
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        cpu_total, rss, threads, fds = 0.0, 0.0, 0.0, 0.0
        seen: dict[int, float] = {}
        for proc in procs:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    used = times.user + times.system
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
                    fds += self._fds(proc)
                    created = proc.create_time()
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
            except psutil.AccessDenied:
                self.denied.add("cpu_pct")
                continue
            seen[proc.pid] = used
            if proc.pid in self._cpu:
                cpu_total += used - self._cpu[proc.pid]
            elif self._last is not None and created >= _wall(self._last, now):
                cpu_total += used  # started since the last sample: all of it is new
        if not seen:
            return None
        out = {"rss_bytes": rss, "threads": threads}
        if "open_fds" not in self.denied:
            out["open_fds"] = fds
        if self._last is not None and now > self._last:
            out["cpu_pct"] = max(0.0, 100.0 * cpu_total / (now - self._last))
        self._cpu = seen
        self._last = now
        return out

    def _fds(self, proc: psutil.Process) -> float:
        if "open_fds" in self.denied:
            return 0.0
        try:
            return float(proc.num_fds())
        except (AttributeError, psutil.AccessDenied):  # num_fds: POSIX only
            self.denied.add("open_fds")
            return 0.0


def _wall(mono_then: float, mono_now: float) -> float:
    """A monotonic instant on the wall clock (create_time is wall-clock)."""
    return time.time() - (mono_now - mono_then)
