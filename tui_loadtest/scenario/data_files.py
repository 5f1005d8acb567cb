"""``[[data]]``: CSV files whose rows the virtual users take (logins, ids, search terms).

Files are read once, at load, so that a missing file, an empty one or a
placeholder naming a column the file lacks stops the run before it starts, and
so that the rows can travel to the workers with the scenario (a worker on
another machine needs no copy of the file). Error messages name lines and
columns, never a value: data files often hold credentials.

Only the values of secret columns are scrubbed from error messages and logs:
columns named like a credential (``password``, ``api_key``, ``access_token``,
as query parameters are judged) and those ``secret_columns`` lists. Scrubbing
every value made a 1M-row file 2M "secrets", and an id or a search term such as
"HTTP" blanked out ordinary messages ("<redacted> 404").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .checks import Context, choice
from .messages import join, show
from .model import DATA_MODES, DataSpec
from .packed_rows import PackedRows
from .redact import MIN_SCRUBBED, is_secret_param

__all__ = ["ANNOUNCE_BYTES", "columns_hint", "parse_data"]

_DATA_KEYS = ("file", "mode", "secret_columns")
ANNOUNCE_BYTES = 1_000_000  # a file this large takes long enough to say it is being read


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
        secret = _secret_columns(ctx, f"{key}.secret_columns", item.get("secret_columns"), spec)
        for column in spec.columns:
            if column in owner:
                raise ctx.fail(
                    f"{key}.file",
                    f"column {show(column)} is also in {owner[column]} "
                    "(a placeholder must name one column)",
                )
            owner[column] = f"{key} ({spec.file})"
        found.append(DataSpec(spec.file, spec.path, mode, spec.columns, spec.rows, secret))
        # Kept out of every message and log too (belt and braces: no artefact holds
        # them by construction); short values would blank out ordinary text.
        assert isinstance(spec.rows, PackedRows)  # as _read made it
        for column in secret:
            values = spec.rows.column(spec.columns.index(column))
            ctx.secrets.update(v for v in values if len(v) >= MIN_SCRUBBED)
    return tuple(found)


def _secret_columns(ctx: Context, key: str, raw: Any, spec: DataSpec) -> tuple[str, ...]:
    """The credential-named columns and those ``secret_columns`` lists, in file order."""
    listed: set[str] = set()
    if raw is not None:
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            raise ctx.expected(key, f"a list of column names of {spec.file}", raw)
        for column in raw:
            if column not in spec.columns:
                raise ctx.fail(
                    key,
                    f"{show(column)} is not a column of {spec.file} ({', '.join(spec.columns)})",
                )
        listed = set(raw)
    return tuple(c for c in spec.columns if c in listed or is_secret_param(c))


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
        size = path.stat().st_size
        if size >= ANNOUNCE_BYTES:
            ctx.announce(f"{key.removesuffix('.file')}: reading {value} ({size / 1e6:.1f} MB)")
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = "" if str(path) == value else f" ({path})"
        raise ctx.fail(key, f"cannot read {show(value)}{where}: {reason}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ctx.fail(key, f"{show(value)} is not UTF-8 text (byte {exc.start + 1})") from None
    del raw  # a large file: the text is enough
    reader = csv.reader(io.StringIO(text, newline=""))
    # Each record with the file's line it ends on (blank lines skipped but counted, a
    # quoted newline counted): the line an editor shows, for the messages below.
    rows = ((reader.line_num, row) for row in reader if row)
    try:
        first = next(rows, None)
        if first is None:
            raise ctx.fail(
                key, f"{show(value)} is empty (expected a header row naming the fields, then rows)"
            )
        header = [name.strip() for name in first[1]]
        for number, name in enumerate(header, start=1):
            if not name:
                raise ctx.fail(key, f"{show(value)}: column {number} of the header row has no name")
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise ctx.fail(
                    key, f"{show(value)}: column {show(name)} appears twice in the header"
                )
            seen.add(name)
        width = len(header)
        packed = PackedRows.build(width, _checked(ctx, key, value, width, rows))
    except csv.Error as exc:  # a field over csv's size limit, a NUL
        raise ctx.fail(key, f"{show(value)}: not CSV this can read ({exc})") from None
    if not packed:
        raise ctx.fail(key, f"{show(value)} has a header row but no data rows")
    return DataSpec(
        file=value,
        path=str(path),
        mode="circular",
        columns=tuple(header),
        rows=packed,
    )


def _checked(
    ctx: Context, key: str, value: str, width: int, rows: Iterator[tuple[int, list[str]]]
) -> Iterator[list[str]]:
    """The rows after the header, each checked to have the header's width (a wrong one
    named by the file's line)."""
    for line, row in rows:
        if len(row) != width:
            raise ctx.fail(
                key,
                f"{show(value)} line {line}: expected {width} fields (as in the header), "
                f"got {len(row)}",
            )
        yield row
