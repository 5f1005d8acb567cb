"""The engine's own OS process on a Dask worker: ``python -m tui_loadtest.cluster.engine_proc FD``.

Dask workers are daemonic processes, and multiprocessing refuses to start children
from those; the actor (:mod:`.engine_host`) starts this one with ``subprocess`` and
passes it one end of a socket pair as ``FD``. Over it runs the local pool's message
protocol (engine/worker.py), after one first message: ``("start", scenario, host,
share)``. From there on this is exactly a local worker process.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from ..engine.worker import worker_main


def main(argv: list[str]) -> None:
    conn = Connection(int(argv[1]))
    try:
        msg = conn.recv()
    except (EOFError, OSError):
        return  # the actor is gone before it said anything
    if msg[0] == "start":
        worker_main(conn, *msg[1:])


if __name__ == "__main__":
    main(sys.argv)
