"""Complete seconds, from the merge thread to one consumer running in a thread of its own.

The merge thread only puts the second on a queue (``Run.listen``), so a consumer
that is slow (a disk that stalls, a collector that hangs) delays itself, never the
run: the queue holds what it has not taken yet, and the report keeps every figure
whatever the consumers do.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..stats.aggregate import Second

_END = object()


class Feed:
    """A queue of seconds and the thread that hands them to ``consume``."""

    def __init__(
        self,
        name: str,
        consume: Callable[[Second], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        self._consume = consume
        self._failed = failed  # told once, if ``consume`` raises (a bug): the rest is dropped
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=f"tui-loadtest-{name}", daemon=True)
        self._thread.start()

    def put(self, sec: Second) -> None:
        """The run's listener: never blocks."""
        self._queue.put(sec)

    def close(self, timeout_s: float) -> bool:
        """Take what is queued, then end; False if that took longer than ``timeout_s``."""
        self._queue.put(_END)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _main(self) -> None:
        broken = False
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if broken:
                continue
            try:
                self._consume(item)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - a consumer's bug must not reach the run
                broken = True
                self._failed(exc)
