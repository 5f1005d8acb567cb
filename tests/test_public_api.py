"""The public API is marked: each public module lists its stable names in ``__all__``, a
star import gives exactly those, and the Public API page names every one of them."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reference" / "public-api.md"
PUBLIC = {
    "tui_loadtest.script": {
        "Event", "EventStream", "HTTPError", "Headers", "RequestError", "Response", "User",
        "between", "constant", "on_start", "task", "setup", "teardown",
    },
    "tui_loadtest.baselines": {"Baseline", "BaselineGenerator"},
}  # fmt: skip


@pytest.mark.parametrize("name", PUBLIC)
def test_a_public_module_lists_its_stable_names(name):
    module = importlib.import_module(name)
    assert set(module.__all__) == PUBLIC[name]
    namespace: dict = {}
    exec(f"from {name} import *", namespace)
    assert set(namespace) - {"__builtins__"} == PUBLIC[name]


@pytest.mark.parametrize("name", PUBLIC)
def test_the_public_api_page_names_the_module_and_every_name(name):
    page = PAGE.read_text()
    assert f"### `{name}`" in page
    section = page.split(f"### `{name}`", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    missing = [n for n in PUBLIC[name] if f"`{n}" not in section]
    assert missing == []


def test_the_page_says_everything_else_is_internal():
    page = PAGE.read_text()
    assert "## Internal: everything else" in page
