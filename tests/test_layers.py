"""The layers hold: the import-linter contracts in pyproject.toml pass, and each one can fail.

The contracts are the written form of docs/architecture.md's "Layers" section. A contract
that could never break would prove nothing, so each is also run against a copy of the
package with one forbidden import added, and must then report itself broken.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tui_loadtest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(tui_loadtest.__file__).resolve().parent


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run `lint-imports` on the package found from `cwd` (it puts `cwd` first on sys.path)."""
    args = [f"--contract={c}" for c in contracts]
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    config = str(ROOT / "pyproject.toml")
    return subprocess.run(
        [sys.executable, "-c", code, "--no-logo", "--no-cache", *args, config],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def contract_ids() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_is_kept():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_every_top_level_module_has_a_layer():
    """A new module must be placed: a module outside the contracts is checked by none."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    placed = {
        name.strip().strip("()")
        for layer in layers["layers"]
        for name in layer.replace("|", ":").split(":")
    }
    apart = {"tui_loadtest.demo", "tui_loadtest.__main__"}  # the demo has its own contract
    modules = set()
    for m in pkgutil.iter_modules(tui_loadtest.__path__):
        name = f"tui_loadtest.{m.name}"
        if m.ispkg and name not in placed | apart:  # a package placed module by module
            package = importlib.import_module(name)
            modules |= {f"{name}.{s.name}" for s in pkgutil.iter_modules(package.__path__)}
        else:
            modules.add(name)
    assert modules - apart <= placed, sorted(modules - apart - placed)


# One import each contract forbids: (module to edit, line to add).
VIOLATIONS = {
    "layers": ("stats/histogram.py", "from tui_loadtest.engine import coordinator"),
    "textual": ("report/text.py", "import textual"),
    "starlette": ("store/db.py", "from starlette.requests import Request"),
    "dask": ("engine/coordinator.py", "import distributed"),
    "opentelemetry": ("export/totals.py", "import opentelemetry.sdk.metrics"),
    "demo": ("demo/app.py", "from tui_loadtest.stats import histogram"),
    "httpx": ("engine/users/plain.py", "import httpx"),
    "argparse": ("stats/model.py", "import argparse"),
}


def test_every_contract_has_a_violation_to_prove_it():
    assert sorted(VIOLATIONS) == sorted(contract_ids())


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_the_contract_breaks_on_a_forbidden_import(contract, tmp_path):
    copy = tmp_path / "tui_loadtest"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.svg", "*.png"))
    module, line = VIOLATIONS[contract]
    target = copy / module
    target.write_text(target.read_text() + f"\n{line}  # added by test_layers\n")
    proc = lint_imports(tmp_path, contract)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    importer = "tui_loadtest." + module.removesuffix(".py").replace("/", ".")
    assert "BROKEN" in proc.stdout and f"{importer} -> " in proc.stdout, proc.stdout


# Importing is not the same as depending: the contracts read the code, these check what a
# process loads. Headless runs must not pay for Textual's import (~0.3 s of CPU), and the
# process that runs the coordinator (and draws the dashboard) has no use for httpx.


def core_modules() -> list[str]:
    """Every module of the package except the UI (and ``__main__``, which would run)."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages(tui_loadtest.__path__, "tui_loadtest.")
        if not info.name.startswith("tui_loadtest.ui") and not info.name.endswith("__main__")
    )


def loads(modules: list[str], packages: list[str]) -> subprocess.CompletedProcess[str]:
    """Import ``modules`` in a fresh interpreter; exit 1 if any of ``packages`` got loaded."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"leaked = sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})\n"
        "print(leaked[:5])\n"
        "sys.exit(1 if leaked else 0)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_importing_the_core_does_not_load_textual():
    modules = core_modules()
    for name in (
        "tui_loadtest.scenario",
        "tui_loadtest.engine.coordinator",
        "tui_loadtest.stats.model",
        "tui_loadtest.report.text",
        "tui_loadtest.cli",
        "tui_loadtest.pipeline.headless",
        "tui_loadtest.pipeline.launch",
    ):
        assert name in modules
    proc = loads(modules, ["textual"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_coordinators_process_does_not_load_httpx():
    # What that process imports: the commands, the dashboard, the coordinator and the
    # module the local pool hands to each worker process it spawns.
    modules = [
        "tui_loadtest.cli",
        "tui_loadtest.pipeline.headless",
        "tui_loadtest.ui.app",
        "tui_loadtest.engine.coordinator",
        "tui_loadtest.engine.worker",
    ]
    proc = loads(modules, ["httpx", "httpcore"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_a_run_on_a_cluster_loads_dask():
    """Dask's import costs ~1 s of CPU and ~70 MB: every module outside the cluster
    backend (the commands, the dashboard, local runs) leaves it unloaded."""
    modules = [
        info.name
        for info in pkgutil.walk_packages(tui_loadtest.__path__, "tui_loadtest.")
        if not info.name.startswith("tui_loadtest.cluster") and not info.name.endswith("__main__")
    ]
    assert "tui_loadtest.cli.cluster" in modules and "tui_loadtest.ui.app" in modules
    proc = loads(modules, ["dask", "distributed"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_an_otlp_run_loads_opentelemetry():
    """The otel extra is for --otlp alone: every other module (the commands, the
    dashboard, the coordinator, the Prometheus endpoint and the stream) leaves it unloaded,
    so `tui-loadtest --help` and plain runs never pay for it."""
    modules = [
        info.name
        for info in pkgutil.walk_packages(tui_loadtest.__path__, "tui_loadtest.")
        if info.name != "tui_loadtest.export.otlp" and not info.name.endswith("__main__")
    ]
    assert "tui_loadtest.export.prometheus" in modules and "tui_loadtest.cli.export" in modules
    proc = loads(modules, ["opentelemetry"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("module", "package"),
    [
        ("tui_loadtest.ui", "textual"),
        ("tui_loadtest.engine.users.httpx_user", "httpx"),
        ("tui_loadtest.cluster.dask_pool", "distributed"),
        ("tui_loadtest.export.otlp", "opentelemetry"),
    ],
)
def test_the_load_check_notices_a_package_when_it_is_loaded(module, package):
    proc = loads([module], [package])
    assert proc.returncode == 1
    assert package in proc.stdout
