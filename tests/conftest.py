"""Shared fixtures: a real demo target on loopback, and the async backend for Pilot tests."""

from __future__ import annotations

import pytest

from tui_loadtest.demo import DemoServer

# A real Dask LocalCluster (issue 13), once per module that uses it, and a server that
# counts per connection.
from .cluster_support import conn_server, dask_cluster  # noqa: F401

# A real Locust for the interop tests (issue 15): one headless --csv run per session.
from .locust_support import locust_csv_run  # noqa: F401


@pytest.fixture(autouse=True)
def no_terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output widths follow COLUMNS when it is set: no test inherits one from where the
    suite runs (a terminal, a CI runner, an xdist worker), whatever ran before it."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


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


# Every report a test writes under its tmp_path is checked against the published
# JSON Schema (``tui-loadtest schema report``) when the session ends, with the
# jsonschema package, so the schema and the writer cannot drift apart. Files a
# test writes broken on purpose are named ``malformed*.json`` and skipped.
@pytest.fixture(scope="session", autouse=True)
def reports_match_the_schema(tmp_path_factory):  # noqa: ANN001, ANN201
    yield
    from tests.report_schema import invalid_reports

    problems = invalid_reports(tmp_path_factory.getbasetemp())
    assert not problems, "reports that do not match the schema:\n" + "\n".join(problems)
