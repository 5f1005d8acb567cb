"""How late a worker's event loop runs, and what blocked it: a heartbeat and a watchdog.

A worker runs every user of its share on one event loop. A blocking call in a
script (``time.sleep(2)``, ``urllib.request.urlopen``, a CPU-bound loop) stops that
loop: no response is read and no request sent until it returns, so the time lands
in every latency in flight and reads as the server's. Nothing on the per-request
path can see that, and nothing there should pay for looking, so:

- a **heartbeat** timer on the loop (every :data:`PERIOD_S`) notes how late it ran
  against when it was due. That lateness, recorded as a histogram, is the delay an
  event arriving at a random moment waited for the loop (a beat that ran late by L
  stands for the beats it missed too: L - period, L - 2 periods ...). It costs one
  timer callback per period, whatever the request rate;
- a **watchdog thread** sleeps until the next beat is :data:`STALL_S` overdue. If the
  loop has not beaten by then, it reads the loop thread's stack
  (``sys._current_frames()``) and names the code running: the innermost frame of user
  code (not this package, not the standard library or installed packages), with the
  script task it runs in, as ``task browse (shop.py:42)``; and it counts the requests
  in flight (nothing is sent during a stall, so each of them has the stall in its
  latency). Awake about ten times a second, it never touches the loop's state but
  to read it while the loop stands still.

When the loop comes back after a stall, the beat records it (its length, what the
watchdog named and counted) and, the first time a task or function is named, a note
for the run's events. The engine takes what was recorded once a second, into its
:class:`WorkerDelta`. (Counting at the beat would be too late: libuv runs due timers
after the I/O callbacks, which have completed those requests by then.)
"""

from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import perf_counter_ns
from types import CodeType, FrameType

from ..stats.histogram import Histogram

PERIOD_S = 0.025  # heartbeat period
STALL_S = 0.1  # a beat this late is a stall: named, counted, reported
MAX_NOTES = 3  # culprits a worker names in events; later stalls are counted only
_NS = 1_000_000_000
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class LoopSecond:
    """What the watch recorded since it was last taken."""

    lag: list[tuple[int, int]]  # non-zero (bucket, count) pairs of lateness (µs)
    lag_sum_us: int
    stalls: list[tuple[str, float, int]]  # (culprit, seconds blocked, requests in flight)
    notes: list[str] = field(default_factory=list)


class LoopWatch:
    """The heartbeat (on ``loop``) and the watchdog thread of one worker's event loop.

    ``names`` maps a script task's code object to its name (its frames are named after
    the task); ``in_flight()`` counts the requests in flight: the watchdog calls it from
    its thread, once per stall, while the loop stands still.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        worker: int = 0,
        names: Mapping[CodeType, str] | None = None,
        in_flight: Callable[[], int] | None = None,
        period_s: float = PERIOD_S,
        stall_s: float = STALL_S,
        advice: str = "",
    ) -> None:
        self.loop = loop
        self.advice = advice or SCRIPT_ADVICE
        self.worker = worker
        self.names = dict(names or {})
        self.in_flight = in_flight
        self.period_s = period_s
        self.period_ns = int(period_s * _NS)
        self.stall_ns = int(stall_s * _NS)
        self._hist = Histogram()
        self._stalls: list[tuple[str, float, int]] = []
        self._notes: list[str] = []
        self._named: set[str] = set()
        self._due = 0
        self._last = 0  # perf_counter_ns of the last beat: the watchdog reads it
        # (the beat it followed, the code the watchdog saw running, requests in flight)
        self._seen: tuple[int, str, int] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop_thread = 0
        self._skip = library_dirs()

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        """Start beating on the running loop (call from its thread) and watching it."""
        self._loop_thread = threading.get_ident()
        now = perf_counter_ns()
        self._last = now
        self._due = now + self.period_ns
        self._handle = self.loop.call_later(self.period_s, self._beat)
        self._thread = threading.Thread(target=self._watch, name="tui-loadtest-loop-watch",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None

    def take(self) -> LoopSecond:
        """Everything recorded since the last call (the engine's once-a-second delta)."""
        hist, self._hist = self._hist, Histogram()
        stalls, self._stalls = self._stalls, []
        notes, self._notes = self._notes, []
        return LoopSecond(hist.items(), hist.sum_us, stalls, notes)

    # -- the heartbeat (on the loop) -----------------------------------------
    def _beat(self) -> None:
        now = perf_counter_ns()
        late = max(0, now - self._due)
        before, self._last = self._last, now
        hist = self._hist
        hist.record(late // 1000)
        missed = late - self.period_ns  # the beats a late one stands for, time-weighted
        while missed > 0:
            hist.record(missed // 1000)
            missed -= self.period_ns
        if late >= self.stall_ns:
            self._stalled(late, before)
        self._due = now + self.period_ns
        self._handle = self.loop.call_later(self.period_s, self._beat)

    def _stalled(self, late_ns: int, before: int) -> None:
        seen = self._seen
        culprit, in_flight = UNSEEN, 0
        if seen is not None and seen[0] == before:
            culprit, in_flight = seen[1], seen[2]
        blocked = late_ns / _NS
        self._stalls.append((culprit, blocked, in_flight))
        key = culprit_key(culprit)  # a task is named once, whatever line it was on
        if key in self._named or len(self._named) > MAX_NOTES:
            return
        self._named.add(key)
        if len(self._named) > MAX_NOTES:
            self._notes.append(
                f"worker {self.worker}: more event-loop stalls by other code; the report's"
                " generator section counts them all"
            )
            return
        self._notes.append(stall_note(self.worker, blocked, culprit, self.advice))

    # -- the watchdog (its own thread) -----------------------------------------
    def _watch(self) -> None:
        overdue = self.period_ns + self.stall_ns
        named = -1  # the beat whose stall is already named
        while not self._stop.is_set():
            last = self._last
            wait = last + overdue - perf_counter_ns()
            if wait > 0:
                self._stop.wait(wait / _NS)
                continue
            if last == named:  # still the same stall: wait for the loop to come back
                self._stop.wait(self.period_s)
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if self._last != last:  # it beat meanwhile: no stall after all
                continue
            self._seen = (last, culprit_of(frame, self.names, self._skip), self._count())
            named = last
            del frame

    def _count(self) -> int:
        """The requests in flight, read from this thread while the loop is stalled (should
        it come back meanwhile and change what is read, the count is left out)."""
        if self.in_flight is None:
            return 0
        try:
            return self.in_flight()
        except Exception:  # noqa: BLE001 - a count for the report, never a failure
            return 0


UNSEEN = "code the watchdog did not see"


# What to do about a stall, said to a script's author and to a locustfile's
SCRIPT_ADVICE = "use await user.get(...) and await asyncio.sleep(...), never a blocking call"
LOCUST_ADVICE = (
    "self.client and time.sleep let the other users run; a library's own blocking call"
    " (requests, a database driver) does not"
)


def stall_note(worker: int, blocked_s: float, culprit: str, advice: str = SCRIPT_ADVICE) -> str:
    """The event a worker's first stall by ``culprit`` raises."""
    return (
        f"worker {worker}: the event loop was blocked {blocked_s * 1000:,.0f} ms by {culprit};"
        f" every user of the worker waited and the time counts in their latencies ({advice})"
    )


def culprit_key(culprit: str) -> str:
    """What a culprit is counted under: the task or function, not the line."""
    return culprit.partition(" (")[0]


def library_dirs() -> tuple[str, ...]:
    """Folders whose code is not the user's: this package, the standard library and
    installed packages."""
    paths = sysconfig.get_paths()
    found = {_PACKAGE}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            found.add(os.path.abspath(paths[key]))
    return tuple(sorted(f + os.sep for f in found))


def culprit_of(
    frame: FrameType | None, names: Mapping[CodeType, str], skip: tuple[str, ...]
) -> str:
    """Name the code a stack runs: the innermost frame of user code as ``file:line``,
    with the script task around it (``task browse (shop.py:42)``, ``task browse
    (util.py:7, in parse)`` when the line is in a helper); without user code, the
    innermost function (``json.loads (decoder.py:353)``)."""
    if frame is None:
        return UNSEEN
    innermost = frame
    user: FrameType | None = None
    task: str | None = None
    f: FrameType | None = frame
    while f is not None:
        code = f.f_code
        if task is None and code in names:
            task = names[code]
        if user is None and _is_user(code.co_filename, skip):
            user = f
        f = f.f_back
    shown = user or innermost
    code = shown.f_code
    where = f"{os.path.basename(code.co_filename)}:{shown.f_lineno}"
    if task is not None:
        inside = "" if names.get(code) == task else f", in {code.co_name}"
        return f"task {task} ({where}{inside})"
    return f"{code.co_name} ({where})"


def _is_user(filename: str, skip: tuple[str, ...]) -> bool:
    if not filename or filename.startswith("<"):
        return False
    return not os.path.abspath(filename).startswith(skip)
