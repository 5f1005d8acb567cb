"""Handing ``[[data]]`` rows to a worker's new users, the same way on every worker.

Rows are split by the worker's place in the run (``worker`` of ``workers``), never
by asking anyone: a run on one machine or on several (issue 13) gets the same
answer for the same share.

- ``circular``: the k-th user a worker starts is user ``worker + workers * k`` of
  the run and takes row ``that % rows``, so users on different workers get
  different rows while there are enough;
- ``random``: a row drawn at random for each user;
- ``queue``: worker w owns rows w, w + W, w + 2W... and hands each to one user only;
  when they are gone a new user gets none (it stays idle) and the worker says so
  once (a note in its next delta).
"""

from __future__ import annotations

import random

from ..scenario.model import DataSpec

__all__ = ["DataRows"]


class DataRows:
    """A worker's source of data rows, one row of every file per new user."""

    def __init__(self, files: tuple[DataSpec, ...], worker: int, workers: int) -> None:
        self.files = files
        self.worker = worker
        self.workers = max(1, workers)
        self.started = 0
        self._queues = {  # the positions of this worker's rows (rows are taken lazily)
            i: range(worker, len(spec.rows), self.workers)
            for i, spec in enumerate(files)
            if spec.mode == "queue"
        }
        self._next = dict.fromkeys(self._queues, 0)
        self._rng = random.Random()
        self.notes: list[str] = []  # drained by the engine into its deltas
        self._said: set[int] = set()

    def take(self) -> list[tuple[DataSpec, tuple[str, ...]]] | None:
        """The rows of a new user, or None when a queue file has none left for it."""
        serial = self.worker + self.workers * self.started
        self.started += 1
        rows = []
        for i, spec in enumerate(self.files):
            if spec.mode == "circular":
                row = spec.rows[serial % len(spec.rows)]
            elif spec.mode == "random":
                row = spec.rows[int(self._rng.random() * len(spec.rows))]
            else:
                queue, at = self._queues[i], self._next[i]
                if at >= len(queue):
                    if i not in self._said:
                        self._said.add(i)
                        self.notes.append(
                            f'data {spec.file}: every row is taken (mode = "queue", '
                            f"{len(spec.rows)} rows); new users get none and stay idle"
                        )
                    return None
                self._next[i] = at + 1
                row = spec.rows[queue[at]]
            rows.append((spec, row))
        return rows
