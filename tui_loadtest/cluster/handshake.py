"""What a worker says first, and what the coordinator makes of it: versions and clocks.

Before any load is sent, every Dask worker that will run an engine answers a few
``hello`` calls. Its versions must match ours (the engine, the scenario and the
deltas travel pickled, and two versions of the tool may count differently), and
its clock is measured against ours the way NTP does: the worker's reading against
the midpoint of the round trip, keeping the sample with the shortest round trip
(its error is at most half that round trip).
"""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Sequence
from typing import Any

import tui_loadtest

CLOCK_SAMPLES = 5  # hello calls per worker; the one with the shortest round trip counts


def hello() -> dict[str, Any]:
    """This process's versions, host and clock (``time.time()`` read last)."""
    return {
        "tool": tui_loadtest.__version__,  # read now: what this process really runs
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "time": time.time(),
    }


def python_line(version: str) -> str:
    """``3.11.9`` -> ``3.11``: what must match (a patch release changes no format)."""
    return ".".join(version.split(".")[:2])


def mismatch(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """Why a worker cannot run our engines (None when it can), in a few words."""
    if theirs.get("tool") != ours["tool"]:
        return f"runs tui-loadtest {theirs.get('tool')}, this machine {ours['tool']}"
    if python_line(str(theirs.get("python"))) != python_line(ours["python"]):
        return f"runs Python {theirs.get('python')}, this machine {ours['python']}"
    return None


def clock_offset(samples: Sequence[tuple[float, float, float]]) -> tuple[float, float]:
    """``(offset_s, rtt_s)`` from ``(sent, remote_time, received)`` samples: the worker's
    clock minus ours, from the sample with the shortest round trip."""
    sent, remote, received = min(samples, key=lambda s: s[2] - s[0])
    return remote - (sent + received) / 2, received - sent
