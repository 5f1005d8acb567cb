"""Baselines in Python, mirroring the guide's generator API.

    from tui_loadtest.baselines import BaselineGenerator

    generator = BaselineGenerator()                      # the default store (or store=PATH)
    results = generator.load_test_results("performance_report_20240101_120000.json")
    baseline = generator.generate_baseline(results, "production_baseline_v1")
    generator.save_report(baseline)   # writes performance_baseline_production_baseline_v1.txt

``generate_baseline`` also saves the baseline in the store, so it shows in
``tui-loadtest baselines`` at once (``save=False`` only builds it).

Public and stable: the names in ``__all__`` (docs/reference/public-api.md). The rest of
this module (``open_store``, ``make_baseline``, ``export_data``, the list helpers) is
internal: the command line, the app and ``serve`` share it, and it may change.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from .report.json_report import read_report
from .stats.report_format import BaselineBlock, ExportedBaseline
from .stats.result import RunResult, now_iso
from .store import Baseline, BaselineStore, check_name, default_store_path, resolve_store_path
from .store.records import TONE_ORDER

SORT_KEYS = ("date", "name", "scenario", "host", "rps", "p95", "errors", "rating")

# The public API (docs/reference/public-api.md); nothing else here is kept stable.
__all__ = ["Baseline", "BaselineGenerator"]


def open_store(path: str | Path | None = None) -> BaselineStore:
    """The store at ``path``, else ``TUI_LOADTEST_STORE``, else the per-user default.

    Only the per-user default may create its folder; a store the user named must be
    in a folder that exists.
    """
    resolved = resolve_store_path(str(path) if path else None)
    return BaselineStore(resolved, create_folder=resolved == default_store_path())


def make_baseline(
    result: RunResult,
    name: str,
    *,
    source: str,
    ran_here: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Baseline:
    """Name a result. ``ran_here``: the run happened in this process, so the machine is known."""
    meta: dict[str, Any] = {"source": source}
    if ran_here:
        meta["machine"] = platform.node()
    meta.update(metadata or {})
    return Baseline(check_name(name), now_iso(), result, meta)


def report_file_name(name: str) -> str:
    """performance_baseline_<name>.txt, with anything unsafe in a file name replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "baseline"
    return f"performance_baseline_{safe}.txt"


def export_file_name(name: str) -> str:
    """baseline_<name>.json: the default file of ``baselines export``."""
    return "baseline_" + report_file_name(name).removeprefix("performance_baseline_")[:-4] + ".json"


def export_data(baseline: Baseline) -> dict[str, Any]:
    """A JSON report with the baseline's name, date and metadata beside it
    (``baselines import`` reads it back; any tool reading reports ignores the extra key)."""
    report = baseline.result.to_struct()
    block = BaselineBlock(
        name=baseline.name, created_at=baseline.created_at, metadata=baseline.metadata
    )
    exported = ExportedBaseline(**msgspec.structs.asdict(report), baseline=block)
    return msgspec.to_builtins(exported)


def sort_infos(infos: list, key: str, reverse: bool = False) -> list:
    """Baseline list entries sorted by one of SORT_KEYS: the newest first by date (what one
    looks for), the highest first by rps, the rest ascending; ``reverse`` flips it."""
    keys: dict[str, Callable[[Any], Any]] = {
        "date": lambda i: i.created_at,
        "name": lambda i: i.name.lower(),
        "scenario": lambda i: i.scenario_name.lower(),
        "host": lambda i: i.host,
        "rps": lambda i: -i.rps,
        "p95": lambda i: i.p95_ms,
        "errors": lambda i: i.error_rate,
        "rating": lambda i: TONE_ORDER.index(i.rating.tone),
    }
    newest_first = key == "date"
    return sorted(infos, key=keys[key], reverse=reverse != newest_first)


def filter_infos(infos: list, text: str | None) -> list:
    if not text:
        return infos
    needle = text.lower()
    return [
        i
        for i in infos
        if needle in i.name.lower() or needle in i.scenario_name.lower() or needle in i.host.lower()
    ]


class BaselineGenerator:
    """Make baselines from report files and write their text reports (the guide's API)."""

    def __init__(self, store: BaselineStore | str | Path | None = None) -> None:
        self.store = store if isinstance(store, BaselineStore) else open_store(store)

    def load_test_results(self, path: str | Path) -> RunResult:
        """Read a JSON report (``--out`` of a run, or ``bench``'s performance_report_*.json)."""
        return read_report(path)

    def generate_baseline(
        self,
        results: RunResult,
        name: str,
        *,
        save: bool = True,
        overwrite: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Baseline:
        """Name ``results`` and (by default) save them; an existing name needs ``overwrite``."""
        baseline = make_baseline(results, name, source="python", metadata=metadata)
        if save:
            self.store.save(baseline, overwrite=overwrite)
        return baseline

    def load_baseline(self, name: str) -> Baseline:
        return self.store.load(name)

    def report(self, baseline: Baseline) -> str:
        """The "Performance Baseline Report" text."""
        from .report.baseline_text import baseline_report

        return baseline_report(baseline)

    def save_report(self, baseline: Baseline, path: str | Path | None = None) -> Path:
        """Write the text report; by default ``performance_baseline_<name>.txt`` here."""
        from .report.output_files import write_output

        target = path if path is not None else Path.cwd() / report_file_name(baseline.name)
        return write_output(target, self.report(baseline) + "\n")
