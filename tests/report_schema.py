"""Validating report files against the published JSON Schema, independently of msgspec."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tui_loadtest.stats.report_format import report_schema


@cache
def validator() -> jsonschema.protocols.Validator:
    schema = report_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def looks_like_report(data: Any) -> bool:
    return isinstance(data, dict) and data.get("tool") == "tui-loadtest" and "summary" in data


def problems_in(data: Any) -> list[str]:
    """Every schema violation in one report's data, as ``path: message``."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:200]}"
        for e in validator().iter_errors(data)
    ]


def invalid_reports(root: Path) -> list[str]:
    """Report files under ``root`` that fail the schema (skipping ``malformed*.json``)."""
    out = []
    for path in sorted(root.rglob("*.json")):
        if path.name.startswith("malformed") or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if looks_like_report(data):
            out += [f"{path}: {p}" for p in problems_in(data)[:3]]
    return out


def report_files(root: Path) -> list[Path]:
    return [
        p
        for p in sorted(root.rglob("*.json"))
        if not p.name.startswith("malformed") and looks_like_report(json.loads(p.read_text()))
    ]
