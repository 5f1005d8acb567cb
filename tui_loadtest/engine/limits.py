"""This machine's limits, checked before any load is sent.

Every connection is a file descriptor. A worker that runs out of them fails
requests with "Too many open files", which says nothing about the target; so the
soft limit is raised to the hard one at start, and a run whose users cannot fit
is refused with one line saying what to change.
"""

from __future__ import annotations

import contextlib

# Descriptors a worker uses besides its connections: stdio, its pipe, the event
# loop's own (epoll, signals, wakeup), resolver and TLS files.
FD_RESERVE = 64


class LimitError(RuntimeError):
    """The run cannot fit in this machine's limits (one line, for the user)."""


def raise_fd_limit() -> tuple[int, int]:
    """Raise this process's soft open-file limit to its hard limit; ``(soft, hard)``
    after, with -1 for unlimited (and on systems without the limit)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return -1, -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        # An unlimited hard limit cannot be the soft one on Linux; the kernel's
        # per-process ceiling (nr_open) is at least 2**20.
        want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = getattr(resource, "RLIM_INFINITY", -1)
    return (-1 if soft == inf else soft), (-1 if hard == inf else hard)


def check_fd_capacity(users: int, workers: int = 1) -> None:
    """Raise the limit, then refuse a worker share of ``users`` connections that
    cannot fit in it (``workers``: how many share the run, for the advice)."""
    soft, hard = raise_fd_limit()
    need = users + FD_RESERVE
    if soft < 0 or need <= soft:
        return
    per = "one worker" if workers == 1 else "each of the workers"
    raise LimitError(
        f"{users:,} users (connections) in {per} need about {need:,} open files, but this"
        f" system allows {soft:,} per process (ulimit -n; hard limit {hard:,}): raise the"
        " limit, lower the users, or spread them over more --workers"
    )
