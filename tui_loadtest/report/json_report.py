"""Writing and reading JSON report files, without ever leaving a half-written one."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..stats.result import RunResult
from .output_files import write_output


def default_report_name(now: datetime | None = None) -> str:
    """performance_report_YYYYMMDD_HHMMSS.json, the name the guide's scripts used."""
    now = now or datetime.now()
    return f"performance_report_{now:%Y%m%d_%H%M%S}.json"


def json_text(data: Any) -> str:
    """The JSON of every file we write: indented, one trailing newline."""
    return json.dumps(data, indent=2) + "\n"


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write JSON by the output-file rules: never half a report, never over a device."""
    return write_output(path, json_text(data))


def write_report(result: RunResult, path: str | Path) -> Path:
    return write_json_atomic(path, result.to_report())


def read_report(path: str | Path) -> RunResult:
    """Load a report file, with a one-line error for anything unreadable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such report file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read report: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not a JSON report: {exc.msg} at line {exc.lineno}") from None
    return parse_report(data, str(path))


def parse_report(data: Any, where: str) -> RunResult:
    """A report already decoded from JSON (a file's content, or a body sent to ``serve``);
    ``where`` names it in the one-line error."""
    if not isinstance(data, dict) or "summary" not in data:
        raise UserError(f'{where}: not a tui-loadtest report (no "summary" section)')
    try:
        return RunResult.from_report(data)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        raise UserError(f"{where}: malformed report: {exc}") from None
