"""The corpus run twice per session, by real Locust and by our engine (``tui-loadtest
locust run``), each run against a ``LocustTarget`` of its own, three runs at a time.

tests/test_corpus_runs.py makes both sets once, as module fixtures, and holds every test
that reads them (so that a parallel test run makes each set once).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .locust_corpus import CorpusFile
from .locust_parity import LocustRun
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


def corpus_runs(runner: Runner, folder: Path, jobs: dict[str, CorpusFile]) -> Runs:
    """Every job (a corpus file, by name) run by ``runner``, three at a time."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(_one, runner, spec, folder / name) for name, spec in jobs.items()
        }
        return Runs({name: f.result() for name, f in futures.items()})


__all__ = ["Runs", "corpus_runs"]
