"""Shared fixtures: a real demo target on loopback, and the async backend for Pilot tests."""

from __future__ import annotations

import pytest

from tui_loadtest.demo import DemoServer

# A real Dask LocalCluster (issue 13), once per module that uses it, and a server that
# counts per connection.
from .cluster_support import conn_server, dask_cluster  # noqa: F401

# A real Locust for the interop tests (issue 15): one headless --csv run per session.
from .locust_support import locust_csv_run  # noqa: F401


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def demo_server():
    """One embedded demo API for the session, with no injected errors (exact counts)."""
    server = DemoServer(error_rate=0.0, seed=1)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo_url(demo_server) -> str:
    demo_server.reset()
    return demo_server.url
