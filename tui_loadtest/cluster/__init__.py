"""Engines on a Dask cluster: a second :class:`~tui_loadtest.engine.pool.WorkerPool`.

Only a run with ``--cluster`` (or ``[cluster] address``) imports this package, and
only its :mod:`.dask_pool` imports Dask itself, so ``tui-loadtest --help`` and local
runs never load it. See docs/cluster.md.

- :mod:`.dask_pool` (the coordinator's side): connects to (or starts) the cluster,
  checks versions and clocks, places one engine per Dask worker, relays control
  messages and deltas, tells a lost worker within seconds;
- :mod:`.engine_host` (on each Dask worker): the actor that starts our unchanged
  engine in its own OS process and relays its messages;
- :mod:`.engine_proc`: that process's entry point;
- :mod:`.shipping`: a user script and the modules it imports from its folder, as
  the files each engine gets (bounded);
- :mod:`.handshake`: version and clock checks, pure functions.
"""
