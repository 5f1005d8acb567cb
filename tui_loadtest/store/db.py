"""The baseline store: one SQLite file, written in short transactions.

Why it is safe:

- Every change runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` with SQLite's
  rollback journal, so a crash, a SIGKILL or Ctrl+C leaves either the old
  store or the new baseline complete, never half of it. The next process to
  open the file rolls an interrupted transaction back.
- ``BEGIN IMMEDIATE`` takes the write lock up front and a busy timeout makes
  a second writer wait for it, so two processes saving at once both succeed.
- The file is identified by ``PRAGMA application_id`` and versioned by
  ``PRAGMA user_version``; migrations run in order inside one transaction.
  A file that is not a database, is damaged, belongs to another program or
  was written by a newer schema raises a :class:`StoreError` naming the file,
  and is never written to.

Each baseline keeps its complete JSON report (zlib-compressed), so its
histograms, timeline and errors come back exactly, plus indexed columns for
the list. A baseline of several runs (``--repeat N``, ``baselines add-run``)
keeps every run's complete report inside that one (its ``repeats`` section);
its list figures are its representative run's (the median P95), and ``runs``
counts them (schema 2). A schema 1 store is read as it is (each baseline one
run) and migrated by the first write.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import difflib
import json
import math
import os
import sqlite3
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..errors import UserError, no_space_left, os_reason
from ..stats.repeats import combine
from ..stats.result import RunResult
from .records import Baseline, BaselineInfo, redact_scenario

APPLICATION_ID = 0x544C5442  # "TLTB": tui-loadtest baselines
SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0
MAX_NAME = 100

# MIGRATIONS[v] takes a store from schema v-1 to v. Append, never edit.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE baselines (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            created_at    TEXT NOT NULL,
            scenario_name TEXT NOT NULL,
            host          TEXT NOT NULL,
            started_at    TEXT NOT NULL,
            duration_s    REAL NOT NULL,
            requests      INTEGER NOT NULL,
            failures      INTEGER NOT NULL,
            error_rate    REAL NOT NULL,
            rps           REAL NOT NULL,
            p50_ms        REAL NOT NULL,
            p95_ms        REAL NOT NULL,
            p99_ms        REAL NOT NULL,
            users         INTEGER NOT NULL,
            workers       INTEGER NOT NULL,
            tool_version  TEXT NOT NULL,
            python        TEXT NOT NULL,
            metadata      TEXT NOT NULL,  -- JSON object
            report        BLOB NOT NULL   -- zlib-compressed JSON report
        )
        """,
        "CREATE INDEX baselines_created ON baselines (created_at)",
    ),
    # Repeated runs: how many runs a baseline holds (their reports are in its own).
    2: ("ALTER TABLE baselines ADD COLUMN runs INTEGER NOT NULL DEFAULT 1",),
}

# The list's columns: BaselineInfo's fields, by their Python names (metadata is a JSON
# column of its own). A field added there needs a migration adding its column here.
_INFO_FIELDS = tuple(f for f in msgspec.structs.fields(BaselineInfo) if f.name != "metadata")
_INFO_COLUMNS = tuple(f.name for f in _INFO_FIELDS)


class StoreError(UserError):
    """The store cannot be used (one line, exit code 2)."""


class StoreCorrupt(StoreError):
    """The file is not a usable store; it is left exactly as it is."""


class StoreTooNew(StoreError):
    """The file was written by a newer schema than this version understands."""


class BaselineExists(StoreError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f'a baseline named "{name}" already exists (choose another name or overwrite it)'
        )
        self.name = name


class BaselineNotFound(StoreError):
    def __init__(self, name: str, path: Path, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        if not known:
            hint = " (the store is empty)"
        super().__init__(f'no baseline named "{name}" in {path}{hint}')
        self.name = name


def check_name(name: str) -> str:
    """A baseline name: 1-100 printable characters, no slashes, no surrounding spaces,
    not ``.`` or ``..`` (in a URL path, ``/baselines/..`` names another resource)."""
    if not isinstance(name, str) or not name.strip():
        raise StoreError("a baseline name cannot be empty")
    if name != name.strip():
        raise StoreError(f'baseline name "{name}": no leading or trailing spaces, please')
    if len(name) > MAX_NAME:
        raise StoreError(f"baseline name is {len(name)} characters long (at most {MAX_NAME})")
    if any(not ch.isprintable() or ch in "/\\" for ch in name):
        raise StoreError(f"baseline name {name!r}: use printable characters other than / and \\")
    if name in (".", ".."):
        raise StoreError(f'baseline name "{name}": a name of dots alone is not allowed')
    return name


@dataclasses.dataclass(frozen=True)
class SkippedRow:
    """A list row whose indexed figures cannot be read (the baseline itself may still load)."""

    name: str
    reason: str


def describe_skipped(skipped: list[SkippedRow]) -> str:
    """One line for the list rows that :meth:`BaselineStore.scan` left out."""
    shown = ", ".join(f'"{r.name}" ({r.reason})' for r in skipped[:3])
    more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return (
        f"{len(skipped)} baseline(s) left out of the list, a figure in the store's index"
        f" is damaged: {shown}{more}"
    )


class BaselineStore:
    """Baselines in one SQLite file. Every call opens, uses and closes its own connection.

    ``create_folder``: the first save may create the file's folder (the per-user
    default store); a store the user named must be in a folder that exists.
    """

    # Test seam: called inside the save transaction, after the row is written
    # and before COMMIT (the crash-safety test kills the process there).
    _in_transaction_hook: Callable[[], None] | None = None

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        create_folder: bool = False,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.create_folder = create_folder

    def __repr__(self) -> str:
        return f"BaselineStore({str(self.path)!r})"

    # -- reading ----------------------------------------------------------------
    def list(self) -> list[BaselineInfo]:
        """Every readable baseline's list entry, oldest first (see :meth:`scan`)."""
        return self.scan()[0]

    def scan(self) -> tuple[builtins.list[BaselineInfo], builtins.list[SkippedRow]]:
        """The list entries, oldest first, and the rows left out because a figure in them
        is not what its column holds (``p95_ms = 'abc'``): one bad row never hides the rest."""
        with self._reading() as conn:
            if conn is None:
                return [], []
            columns = ", ".join(_INFO_COLUMNS if _version(conn) >= 2 else _INFO_COLUMNS_1)
            rows = conn.execute(
                f"SELECT {columns}, metadata FROM baselines ORDER BY created_at, id"
            ).fetchall()
        infos: builtins.list[BaselineInfo] = []
        skipped: builtins.list[SkippedRow] = []
        for row in rows:
            try:
                infos.append(self._info(row))
            except ValueError as exc:
                skipped.append(SkippedRow(str(row[0]), str(exc)))
        return infos, skipped

    def names(self) -> builtins.list[str]:  # `list` here is the method above
        with self._reading() as conn:
            if conn is None:
                return []
            return [r[0] for r in conn.execute("SELECT name FROM baselines ORDER BY name")]

    def exists(self, name: str) -> bool:
        with self._reading() as conn:
            if conn is None:
                return False
            return (
                conn.execute("SELECT 1 FROM baselines WHERE name = ?", (name,)).fetchone()
                is not None
            )

    def load(self, name: str) -> Baseline:
        """The complete baseline; percentiles are recomputed from its stored histograms."""
        with self._reading() as conn:
            row = None
            if conn is not None:
                row = conn.execute(
                    "SELECT name, created_at, metadata, report FROM baselines WHERE name = ?",
                    (name,),
                ).fetchone()
                known = [] if row else [r[0] for r in conn.execute("SELECT name FROM baselines")]
        if row is None:
            raise BaselineNotFound(name, self.path, known if conn is not None else [])
        return self._baseline(row)

    def _baseline(self, row: Any) -> Baseline:
        """A baseline from its row (name, created_at, metadata, report)."""
        try:
            report = json.loads(zlib.decompress(row[3]))
            result = RunResult.from_report(report)
            metadata = json.loads(row[2])
        except (zlib.error, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StoreCorrupt(
                f'{self.path}: baseline "{row[0]}" cannot be read ({exc});'
                " the file was left untouched"
            ) from None
        return Baseline(row[0], row[1], result, metadata)

    # -- writing ----------------------------------------------------------------
    def save(self, baseline: Baseline, *, overwrite: bool = False) -> None:
        """Store ``baseline`` under its name; an existing name needs ``overwrite=True``."""
        name = check_name(baseline.name)
        with self._writing() as conn:
            exists = conn.execute("SELECT 1 FROM baselines WHERE name = ?", (name,)).fetchone()
            if exists and not overwrite:
                raise BaselineExists(name)
            if exists:
                conn.execute("DELETE FROM baselines WHERE name = ?", (name,))
            self._insert(conn, baseline)
            if self._in_transaction_hook is not None:
                self._in_transaction_hook()

    @staticmethod
    def _insert(conn: sqlite3.Connection, baseline: Baseline) -> None:
        info = BaselineInfo.of(baseline)
        report = baseline.result.to_report()
        for r in [report, *((report.get("repeats") or {}).get("reports") or [])]:
            r["scenario"] = redact_scenario(r.get("scenario") or {})
        blob = zlib.compress(json.dumps(report, separators=(",", ":")).encode("utf-8"), 6)
        values = [getattr(info, c) for c in _INFO_COLUMNS]
        columns = ", ".join(_INFO_COLUMNS)
        marks = ", ".join("?" for _ in range(len(_INFO_COLUMNS) + 2))
        conn.execute(
            f"INSERT INTO baselines ({columns}, metadata, report) VALUES ({marks})",
            (*values, json.dumps(baseline.metadata, sort_keys=True), blob),
        )

    def add_runs(self, name: str, results: builtins.list[RunResult]) -> Baseline:
        """Add runs to baseline ``name`` in one transaction (no other writer can slip in
        between reading its runs and writing them back). Returns the baseline as saved:
        its figures are then its representative run's (stats/repeats.py)."""
        check_name(name)
        with self._writing() as conn:
            row = conn.execute(
                "SELECT name, created_at, metadata, report FROM baselines WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                known = [r[0] for r in conn.execute("SELECT name FROM baselines")]
                raise BaselineNotFound(name, self.path, known)
            old = self._baseline(row)
            runs = [*old.runs, *results]
            cooldown = float(old.result.repeats.get("cooldown_s") or 0.0)
            baseline = Baseline(old.name, old.created_at, combine(runs, cooldown), old.metadata)
            conn.execute("DELETE FROM baselines WHERE name = ?", (name,))
            self._insert(conn, baseline)
        return baseline

    def delete(self, name: str) -> None:
        with self._writing() as conn:
            if conn.execute("DELETE FROM baselines WHERE name = ?", (name,)).rowcount == 0:
                known = [r[0] for r in conn.execute("SELECT name FROM baselines")]
                raise BaselineNotFound(name, self.path, known)

    def rename(self, old: str, new: str, *, overwrite: bool = False) -> None:
        check_name(new)
        with self._writing() as conn:
            if not conn.execute("SELECT 1 FROM baselines WHERE name = ?", (old,)).fetchone():
                known = [r[0] for r in conn.execute("SELECT name FROM baselines")]
                raise BaselineNotFound(old, self.path, known)
            if old == new:
                return
            if conn.execute("SELECT 1 FROM baselines WHERE name = ?", (new,)).fetchone():
                if not overwrite:
                    raise BaselineExists(new)
                conn.execute("DELETE FROM baselines WHERE name = ?", (new,))
            conn.execute("UPDATE baselines SET name = ? WHERE name = ?", (new, old))

    # -- connections ------------------------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """A connection for reading, or None when there is no store file yet."""
        if not self.path.exists():
            yield None
            return
        with self._errors():
            conn = self._connect()
            try:
                fresh = self._prepare(conn)
                yield None if fresh else conn
            finally:
                conn.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back otherwise."""
        with self._errors():
            if not self.path.exists():
                self._make_folder()
            conn = self._connect()
            try:
                self._prepare(conn, create=True)
                # Damage that reads did not touch must still stop a write.
                verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(_damage(verdict))
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()

    def _make_folder(self) -> None:
        folder = self.path.parent
        if folder.is_dir():
            return
        if not self.create_folder:
            what = "is not a folder" if folder.exists() else "does not exist (create it first)"
            raise StoreError(f"{self.path}: the folder {folder} {what}")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create the store folder: {os_reason(exc)}"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            mode = stat.S_IFREG
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the store: {os_reason(exc)}") from None
        if stat.S_ISDIR(mode):
            raise StoreError(f"{self.path}: is a folder, not a store file")
        if not stat.S_ISREG(mode):
            raise StoreError(f"{self.path}: is a device, FIFO or socket, not a store file")
        return sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)

    # -- checking ---------------------------------------------------------------
    def check_writable(self) -> None:
        """Fail now, with one line, where a save would fail later: a newer, damaged or
        foreign file, a read-only file or folder, a missing folder. Changes nothing, and
        creates nothing: ``--save-baseline`` calls it before the run starts."""
        with self._errors():
            if not self.path.exists():
                folder = self.path.parent
                if not folder.is_dir():
                    if not self.create_folder:
                        self._make_folder()  # raises the one-line "does not exist"
                    while not folder.is_dir() and folder != folder.parent:
                        folder = folder.parent  # where the default store's folder will go
                self._probe(folder)
                return
            conn = self._connect()
            try:
                app_id, version, tables = _identify(conn)
                self._check(app_id, version, tables)
                verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(_damage(verdict))
            finally:
                conn.close()
            if not os.access(self.path, os.W_OK):
                raise StoreError(f"{self.path}: the store is read-only here")
            self._probe(self.path.parent)  # SQLite writes its journal beside the file

    def _probe(self, folder: Path) -> None:
        try:
            fd, name = tempfile.mkstemp(prefix=".tui-loadtest-probe-", dir=folder)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write in {folder}: {os_reason(exc)}") from None
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        if no_space_left(folder):
            raise StoreError(f"{self.path}: disk full; a baseline cannot be saved there")

    def _prepare(self, conn: sqlite3.Connection, *, create: bool = False) -> bool:
        """Check the file is ours and current, then create or migrate it.

        Returns True when the file has no schema yet (and ``create`` is false).
        """
        app_id, version, tables = _identify(conn)
        self._check(app_id, version, tables)
        if version == SCHEMA_VERSION:
            return False
        if version == 0 and not create:
            return True  # an empty file: nothing stored yet, and reading must not create
        if not create:
            return False  # an older schema is read as it is (a read-only file stays readable)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created or migrated it while we waited.
            app_id, version, tables = _identify(conn)
            self._check(app_id, version, tables)
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return False

    def _check(self, app_id: int, version: int, tables: int) -> None:
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and (version or tables)):
            raise StoreCorrupt(
                f"{self.path}: an SQLite file of another program, not a tui-loadtest store;"
                " the file was left untouched"
            )
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                f"{self.path}: store schema {version} was written by a newer tui-loadtest"
                f" (this one reads up to {SCHEMA_VERSION}); upgrade, or use another --store"
            )

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLite's exceptions into one line that names the file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None

    @staticmethod
    def _info(row: Any) -> BaselineInfo:
        """A list entry; ValueError names the first column whose value is not its type."""
        if len(row) == len(_INFO_COLUMNS_1) + 1:  # a schema 1 store: one run each
            row = (*row[: len(_INFO_COLUMNS_1)], 1, row[-1])
        values = dict(zip(_INFO_COLUMNS, row[: len(_INFO_COLUMNS)], strict=True))
        for column, value in values.items():
            values[column] = _typed(column, value)
        try:
            metadata = json.loads(row[len(_INFO_COLUMNS)])
        except (ValueError, TypeError):
            metadata = {}
        return BaselineInfo(**values, metadata=metadata if isinstance(metadata, dict) else {})


_INFO_COLUMNS_1 = _INFO_COLUMNS[:-1]  # schema 1 had no runs column


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


_COLUMN_TYPES = {f.name: getattr(f.type, "__name__", str(f.type)) for f in _INFO_FIELDS}


def _typed(column: str, value: Any) -> Any:
    kind = _COLUMN_TYPES[column]
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if kind == "float" and isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    expected = {"str": "text", "int": "a whole number", "float": "a number"}[kind]
    raise ValueError(f"{column} is {value!r}, not {expected}")


def _identify(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """The file's id, schema version and table count, read from one snapshot: read one by
    one, another process creating the store between two reads made it look foreign
    (no id yet, but tables already)."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        if own:
            conn.execute("COMMIT")
    return app_id, version, tables


def _damage(verdict: str) -> str:
    """quick_check's first finding, without its banner."""
    return "damaged: " + verdict.replace("*** in database main ***", "").strip()


def _one_line(text: str, limit: int = 160) -> str:
    """SQLite's messages can quote a damaged schema, newlines and all."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _store_error(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    text = _one_line(str(exc))
    lowered = text.lower()
    if lowered.startswith("malformed database schema"):
        text = "its schema is damaged"  # SQLite quotes the damaged bytes: noise
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or "database or disk is full" in lowered:
        return StoreError(f"{path}: disk full; nothing was changed in the store")
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"{path}: the store stayed locked by another process for {BUSY_TIMEOUT_S:g}s; try again"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(f"{path}: the store is read-only here ({text})")
    if "unable to open" in lowered:
        return StoreError(f"{path}: cannot open the store ({text})")
    if isinstance(exc, sqlite3.OperationalError) and "disk i/o" in lowered:
        return StoreError(f"{path}: cannot read or write the store ({text})")
    return StoreCorrupt(
        f"{path}: not a usable baseline store ({text}); the file was left untouched"
    )
