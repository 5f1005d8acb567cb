"""Packaging: a built wheel has the example configs, the dashboard's files and the
metadata a package index shows; the version is written in one place."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version as installed_version
from importlib.resources import as_file
from pathlib import Path

import pytest

from tui_loadtest import __version__
from tui_loadtest.examples import example, examples
from tui_loadtest.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from a copy of the sources, as pip and pipx build it (isolated)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tui_loadtest", src / "tui_loadtest", ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )
    (built,) = out.glob("tui_loadtest-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_every_example_config(wheel):
    shipped = {Path(n).name for n in wheel.namelist() if n.startswith("tui_loadtest/examples/")}
    in_repo = {p.name for p in (ROOT / "configs").glob("*.toml")}
    assert len(in_repo) >= 6 and {"health.toml", "query.toml", "mixed.toml"} <= in_repo
    assert in_repo <= shipped
    assert {"users.csv", "journey_users.py"} <= shipped  # what journey.toml and its script use
    assert {e.filename for e in examples()} == in_repo


def test_the_wheel_ships_the_demo_scenario_the_starter_and_the_dashboard_styles(wheel):
    names = set(wheel.namelist())
    assert "tui_loadtest/demo/scenarios/demo.toml" in names
    assert "tui_loadtest/examples/starter/requests.toml" in names  # tui-loadtest init
    assert "tui_loadtest/ui/screens/dashboard.tcss" in names


def test_the_wheel_metadata_is_ready_for_a_package_index(wheel):
    (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.message_from_bytes(wheel.read(meta_name))
    assert meta["Version"] == __version__
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "# tui-loadtest" in meta.get_payload()  # the README is the long description
    classifiers = meta.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert any(c.startswith("License :: ") for c in classifiers)
    assert meta["Requires-Python"] == ">=3.11"
    (entry_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "tui-loadtest = tui_loadtest.cli:main" in wheel.read(entry_name).decode()


def test_the_version_is_written_in_one_place():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "tui_loadtest.__version__"
    assert installed_version("tui-loadtest") == __version__
    out = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "--version"], capture_output=True, text=True
    )
    assert out.stdout.strip() == f"tui-loadtest {__version__}"


def test_the_changelog_has_the_current_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog and "## [Unreleased]" in changelog


def test_configs_is_the_packaged_folder_not_a_copy():
    assert (ROOT / "configs").resolve() == (ROOT / "tui_loadtest" / "examples").resolve()


@pytest.mark.parametrize("name", [e.name for e in examples()])
def test_every_packaged_example_is_a_valid_scenario(name):
    found = example(name)
    assert found is not None and found.summary and not found.summary.startswith("#")
    with as_file(found.resource) as path:
        scenario = load_scenario(path, env={})
    assert scenario.requests


def test_an_unknown_example_is_none():
    assert example("nope") is None
    assert example("mixed.toml") == example("mixed")
