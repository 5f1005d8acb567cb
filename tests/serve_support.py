"""A real ``serve`` API for the tests: uvicorn on a free loopback port in a thread, over a
fresh SQLite store and a results folder holding a report from a real ``bench`` run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.serve import ServeConfig
from tui_loadtest.serve.server import BackgroundServer
from tui_loadtest.store import BaselineStore

REPORT = "performance_report_20240101_120000.json"  # the guide's example name


@dataclass
class Api:
    url: str
    store: BaselineStore
    results: Path
    token: str | None = None

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def make_results(folder: Path, demo_url: str) -> Path:
    """A results folder with one report from a real bench run against the demo API."""
    folder.mkdir(parents=True, exist_ok=True)
    code = main(["bench", f"{demo_url}/api/health", "300", "5", "--out", str(folder / REPORT)])
    assert code == 0
    return folder


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory, demo_server) -> Path:  # noqa: ANN001
    return make_results(tmp_path_factory.mktemp("results"), demo_server.url)


def running_api(tmp: Path, results: Path, token: str | None = None) -> Iterator[Api]:
    store = BaselineStore(tmp / "store.sqlite3")
    config = ServeConfig(store_path=store.path, results_dir=results, token=token)
    with BackgroundServer(config) as url:
        yield Api(url, store, results.resolve(), token)
