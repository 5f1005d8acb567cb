"""Shared constants and fixture types for the scenario tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tui_loadtest.scenario import Scenario

REPO = Path(__file__).resolve().parent.parent.parent
CONFIGS = sorted((REPO / "configs").glob("*.toml"))
HEALTH = '\n[[requests]]\npath = "/api/health"\n'
SECRET = "s3cr3t-value-that-must-not-leak"

LoadText = Callable[..., Scenario]
ErrorText = Callable[..., str]
