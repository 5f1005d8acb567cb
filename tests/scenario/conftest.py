"""Fixtures for the scenario tests: load a TOML text from a file named as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import Scenario, load_scenario

from .helpers import ErrorText, LoadText


@pytest.fixture
def load_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadText:
    """Write TOML to ``x.toml`` in a temp cwd and load it, so messages say "x.toml"."""
    monkeypatch.chdir(tmp_path)

    def load(text: str, env: dict[str, str] | None = None, name: str = "x.toml") -> Scenario:
        Path(name).write_text(text, encoding="utf-8")
        return load_scenario(name, env=env or {})

    return load


@pytest.fixture
def error_text(load_text: LoadText) -> ErrorText:
    """The one-line ScenarioError message for a TOML text."""

    def error(text: str, env: dict[str, str] | None = None, name: str = "x.toml") -> str:
        with pytest.raises(ScenarioError) as info:
            load_text(text, env=env, name=name)
        message = str(info.value)
        assert "\n" not in message
        return message

    return error
