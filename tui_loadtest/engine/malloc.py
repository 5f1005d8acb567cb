"""How a worker's C allocator treats large blocks (glibc only).

uvloop reads TLS records for a plain ``asyncio.Protocol`` with ``SSLObject.read(256 KiB)``:
each read allocates 256 KiB and shrinks it to the bytes read. glibc serves a block that
large with ``mmap`` unless its threshold has grown past it, which depends on what the
process freed before; when it has not, every read costs an ``mmap``, an ``mremap`` and
a ``munmap`` (16 % of a worker's samples over TLS, and a third of the requests per
second: the same run was 26,000 or 78,000 req/s by that alone). Fixed thresholds make
it the fast case always: such blocks come from the heap, which keeps up to 8 MiB free
instead of handing it back after each one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20  # above the 256 KiB reads
TRIM_THRESHOLD = 8 << 20


def tune_malloc() -> bool:
    """Set the thresholds in this process (a worker); False where it cannot (not glibc)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    return False
