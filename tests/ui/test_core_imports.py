"""The core never imports Textual: only ``tui_loadtest.ui`` may."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tui_loadtest


def core_modules() -> list[str]:
    """Every module of the package except the UI (and ``__main__``, which would run)."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages(tui_loadtest.__path__, "tui_loadtest.")
        if not info.name.startswith("tui_loadtest.ui") and not info.name.endswith("__main__")
    )


def imports_textual(modules: list[str]) -> subprocess.CompletedProcess:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(leaked[:5])\n"
        "sys.exit(1 if leaked else 0)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_core_modules_do_not_import_textual():
    modules = core_modules()
    for name in (
        "tui_loadtest.scenario",
        "tui_loadtest.engine.coordinator",
        "tui_loadtest.stats.model",
        "tui_loadtest.report.text",
        "tui_loadtest.cli",
        "tui_loadtest.headless",
        "tui_loadtest.launch",
    ):
        assert name in modules
    proc = imports_textual(modules)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_notices_textual_when_it_is_imported():
    proc = imports_textual(["tui_loadtest.ui"])
    assert proc.returncode == 1
    assert "textual" in proc.stdout
