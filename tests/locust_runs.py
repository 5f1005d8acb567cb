"""The corpus run twice per session, by real Locust and by our engine (``tui-loadtest
locust run``), each run against a ``LocustTarget`` of its own, three runs at a time.

Both fixtures are session-scoped (conftest.py imports them): tests/test_locust_parity.py
checks Locust's runs against the server, tests/test_locustfiles.py checks ours against
the server and against Locust's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .locust_corpus import CORPUS_FILES, CorpusFile
from .locust_parity import LocustRun, run_locust, run_ours
from .locust_target import LocustTarget

Runner = Callable[..., LocustRun]


class Runs(dict[str, "LocustRun | BaseException"]):
    """Runs by corpus name; a run that failed to happen raises when a test reads it."""

    def run(self, name: str) -> LocustRun:
        found = self[name]
        if isinstance(found, BaseException):
            raise found
        return found


def _one(runner: Runner, spec: CorpusFile, folder: Path) -> LocustRun | BaseException:
    try:
        with LocustTarget() as target:
            run = runner(
                spec.path,
                target,
                folder,
                users=spec.users,
                seconds=spec.seconds,
                args=spec.args,
                user_classes=spec.user_classes,
            )
            run.args.append(target.url)  # the base URL, for hosts= in compare_rows
            return run
    except BaseException as exc:  # reported by the test that reads this run
        return exc


def _all(runner: Runner, folder: Path, jobs: dict[str, CorpusFile]) -> Runs:
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(_one, runner, spec, folder / name) for name, spec in jobs.items()
        }
        return Runs({name: f.result() for name, f in futures.items()})


@pytest.fixture(scope="session")
def locust_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every corpus file under real Locust (and the custom-client file a second time)."""
    jobs = {**CORPUS_FILES, "kv-again": CORPUS_FILES["kv"]}
    yield _all(run_locust, tmp_path_factory.mktemp("locust-corpus"), jobs)


@pytest.fixture(scope="session")
def our_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every corpus file under ``tui-loadtest locust run``, the same command line."""
    yield _all(run_ours, tmp_path_factory.mktemp("our-corpus"), dict(CORPUS_FILES))


__all__ = ["Runs", "locust_runs", "our_runs"]
