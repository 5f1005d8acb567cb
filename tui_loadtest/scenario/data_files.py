"""``[[data]]``: CSV files whose rows the virtual users take (logins, ids, search terms).

Files are read once, at load, so that a missing file, an empty one or a
placeholder naming a column the file lacks stops the run before it starts, and
so that the rows can travel to the workers with the scenario (a worker on
another machine needs no copy of the file). Error messages name lines and
columns, never a value: data files often hold credentials.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from .checks import Context, choice
from .messages import join, show
from .model import DATA_MODES, DataSpec

__all__ = ["columns_hint", "parse_data"]

_DATA_KEYS = ("file", "mode")


def parse_data(ctx: Context, raw: Any) -> tuple[DataSpec, ...]:
    """Every ``[[data]]`` table, read and checked; column names are unique across files."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ctx.expected("data", '[[data]] tables, like file = "users.csv"', raw)
    found: list[DataSpec] = []
    owner: dict[str, str] = {}
    for index, item in enumerate(raw, start=1):
        key = join("data", index)
        ctx.check_keys(key, item, _DATA_KEYS)
        if "file" not in item:
            raise ctx.fail(key, 'missing key "file" (a CSV file, like file = "users.csv")')
        spec = _read(ctx, f"{key}.file", item["file"])
        mode = choice(ctx, f"{key}.mode", item.get("mode", "circular"), DATA_MODES)
        for column in spec.columns:
            if column in owner:
                raise ctx.fail(
                    f"{key}.file",
                    f"column {show(column)} is also in {owner[column]} "
                    "(a placeholder must name one column)",
                )
            owner[column] = f"{key} ({spec.file})"
        found.append(DataSpec(spec.file, spec.path, mode, spec.columns, spec.rows))
        # Kept out of every message and log too (belt and braces: no artefact holds
        # them by construction); short values would blank out ordinary text.
        ctx.secrets.update(v for row in spec.rows for v in row if len(v) >= 4)
    return tuple(found)


def columns_hint(files: tuple[DataSpec, ...]) -> str:
    """``, not a column of users.csv (username, password)`` for unknown-placeholder errors."""
    return "".join(f", not a column of {d.file} ({', '.join(d.columns)})" for d in files)


def _read(ctx: Context, key: str, value: Any) -> DataSpec:
    if not isinstance(value, str) or not value.strip():
        raise ctx.expected(key, 'a CSV file name, like "users.csv"', value)
    base = Path(ctx.source).parent
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base / path
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = "" if str(path) == value else f" ({path})"
        raise ctx.fail(key, f"cannot read {show(value)}{where}: {reason}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ctx.fail(key, f"{show(value)} is not UTF-8 text (byte {exc.start + 1})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    # Each record with the file's line it ends on (blank lines skipped but counted, a
    # quoted newline counted): the line an editor shows, for the messages below.
    lines = [(reader.line_num, row) for row in reader if row]
    rows = [row for _, row in lines]
    if not rows:
        raise ctx.fail(
            key, f"{show(value)} is empty (expected a header row naming the fields, then rows)"
        )
    header = [name.strip() for name in rows[0]]
    for number, name in enumerate(header, start=1):
        if not name:
            raise ctx.fail(key, f"{show(value)}: column {number} of the header row has no name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ctx.fail(key, f"{show(value)}: column {show(name)} appears twice in the header")
        seen.add(name)
    body = rows[1:]
    if not body:
        raise ctx.fail(key, f"{show(value)} has a header row but no data rows")
    width = len(header)
    for line, row in lines[1:]:
        if len(row) != width:
            raise ctx.fail(
                key,
                f"{show(value)} line {line}: expected {width} fields (as in the header), "
                f"got {len(row)}",
            )
    return DataSpec(
        file=value,
        path=str(path),
        mode="circular",
        columns=tuple(header),
        rows=tuple(tuple(row) for row in body),
    )
