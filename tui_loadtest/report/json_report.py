"""Writing and reading JSON report files, without ever leaving a half-written one."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from ..errors import UserError
from ..stats.figures import figures_problem
from ..stats.report_format import (
    BaselineBlock,
    ExportedBaseline,
    Report,
    ReportError,
    convert_report,
)
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


def report_json(report: Report) -> str:
    """A report as the indented JSON text of a report file."""
    return msgspec.json.format(msgspec.json.encode(report).decode("utf-8"), indent=2) + "\n"


def write_report(result: RunResult, path: str | Path) -> Path:
    return write_output(path, report_json(result.to_struct()))


def read_report_struct(path: str | Path) -> ExportedBaseline:
    """Load and validate a report file (or an exported baseline): one line naming the
    file and the field for anything unreadable or malformed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such report file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read report: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise UserError(f"{path}: not a JSON report: {msg}{where}") from None
    return parse_report_struct(data, str(path))


def parse_report_struct(data: Any, where: str) -> ExportedBaseline:
    """Report data already decoded from JSON (a file's content, or a body sent to
    ``serve``), validated; ``where`` names it in the one-line error."""
    if not isinstance(data, dict) or "summary" not in data:
        raise UserError(f'{where}: not a tui-loadtest report (no "summary" section)')
    try:
        report = convert_report(data)
    except ReportError as exc:
        raise UserError(f"{where}: {exc}") from None
    assert isinstance(report, ExportedBaseline)
    return report


def parse_report(data: Any, where: str) -> RunResult:
    """Report data already decoded from JSON as a result (one line naming the field)."""
    return _result(parse_report_struct(data, where), where)


def _result(report: ExportedBaseline, where: str) -> RunResult:
    """The report as a result, its figures checked: a file or a body from outside may
    hold counts no run makes (failures above requests, percentiles going down)."""
    try:
        result = RunResult.from_struct(report)
    except ReportError as exc:
        raise UserError(f"{where}: {exc}") from None
    problem = figures_problem(result)
    if problem:
        raise UserError(f"{where}: {problem}")
    return result


def read_exported(path: str | Path) -> tuple[RunResult, BaselineBlock | None]:
    """A report file as a result, and the ``baseline`` block an export adds (None for a
    plain report); one line naming the file and the field for anything wrong."""
    report = read_report_struct(path)
    return _result(report, str(path)), report.baseline


def read_report(path: str | Path) -> RunResult:
    """Load a report file as a result, with a one-line error for anything unreadable."""
    return read_exported(path)[0]
