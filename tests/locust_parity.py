"""Parity with real Locust: run a corpus locustfile under Locust, read its rows, compare.

``run_locust`` runs ``python -m locust`` headless with ``--csv`` against a
``LocustTarget`` (tests/locust_target.py) and returns Locust's rows (read back from its
CSV files) with what the server counted. ``compare_rows`` checks that two runs of one
locustfile (ours and Locust's) agree as issue 21 asks: the same (method, name) rows,
the same split between them within a tolerance, the same failures per row where a row
fails deterministically, and the same CSV columns.

How the CSV is made final: Locust rewrites its CSV files about once a second, not at
exit, so the rows it leaves can miss the last second. The run is given a small second
locustfile (``-f corpus.py,_parity_final_csv.py``, Locust merges them) that keeps the
``StatsCSVFileWriter`` Locust creates and, on ``events.quitting`` (fired after the
users stopped and before the files are closed), has that writer write its rows once
more, with Locust's own code, from Locust's final totals. ``--stop-timeout`` lets every
user finish the task it is in when the run time is up, so each request the server
counted is in Locust's rows and the counts agree exactly.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .locust_target import LocustTarget

CORPUS = Path(__file__).parent / "locustfiles"

RowKey = tuple[str, str]  # (method or request type, name)

AGGREGATED = "Aggregated"
CSV_SUFFIXES = ("stats", "failures", "exceptions", "stats_history")

FINAL_CSV_PLUGIN = '''"""tests/locust_parity.py: Locust's CSV rows, written once more at the end."""

from locust import events, stats

_WRITERS = []
_init = stats.StatsCSVFileWriter.__init__


def _remember(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    _WRITERS.append(self)


stats.StatsCSVFileWriter.__init__ = _remember


def _rewrite(handle, writer, columns, write_rows):
    handle.seek(0)
    handle.truncate()
    writer.writerow(columns)
    write_rows(writer)
    handle.flush()


@events.quitting.add_listener
def _final_rows(environment, **kwargs):
    for w in _WRITERS:
        _rewrite(w.requests_csv_filehandle, w.requests_csv_writer, w.requests_csv_columns,
                 w._requests_data_rows)
        _rewrite(w.failures_csv_filehandle, w.failures_csv_writer, w.failures_columns,
                 w._failures_data_rows)
        _rewrite(w.exceptions_csv_filehandle, w.exceptions_csv_writer, w.exceptions_columns,
                 w._exceptions_data_rows)
'''

STOP_TIMEOUT_S = 20  # users finish the task they are in (a bound only)
PROCESS_TIMEOUT_S = 120


# ------------------------------------------------------------------------ rows


@dataclass(frozen=True)
class Row:
    """One row of a ``_stats.csv``: requests and failures under one (method, name)."""

    method: str
    name: str
    requests: int
    failures: int


@dataclass(frozen=True)
class CsvRows:
    """A ``--csv`` run read back: its rows, failures, exceptions and headers."""

    rows: dict[RowKey, Row]
    total: Row
    failures: dict[tuple[str, str, str], int]  # (method, name, error) -> occurrences
    exceptions: dict[str, int]  # message -> count (errors in the locustfile's own code)
    columns: dict[str, list[str]]  # "stats", "failures", ... -> the header row

    def requests(self, key: RowKey) -> int:
        row = self.rows.get(key)
        return row.requests if row else 0

    def shares(self) -> dict[RowKey, float]:
        """Each row's part of all requests."""
        total = sum(r.requests for r in self.rows.values())
        return {k: (r.requests / total if total else 0.0) for k, r in self.rows.items()}

    def messages(self, key: RowKey) -> set[str]:
        """The failure messages recorded under one row."""
        return {error for (m, n, error) in self.failures if (m, n) == key}


def read_csv_rows(prefix: Path | str) -> CsvRows:
    """Read ``PREFIX_stats.csv``, ``_failures.csv`` and ``_exceptions.csv`` (and the
    history's header) as Locust writes them (ours are written with the same columns)."""
    prefix = str(prefix)
    columns: dict[str, list[str]] = {}
    tables: dict[str, list[dict[str, str]]] = {}
    for suffix in CSV_SUFFIXES:
        path = Path(f"{prefix}_{suffix}.csv")
        if not path.exists():
            continue
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            tables[suffix] = list(reader)
            columns[suffix] = list(reader.fieldnames or [])
    if "stats" not in tables:
        raise FileNotFoundError(f"{prefix}_stats.csv")
    rows: dict[RowKey, Row] = {}
    total = Row("", AGGREGATED, 0, 0)
    for rec in tables["stats"]:
        row = Row(rec["Type"], rec["Name"], int(rec["Request Count"]), int(rec["Failure Count"]))
        if row.name == AGGREGATED and not row.method:
            total = row
        else:
            rows[(row.method, row.name)] = row
    failures: dict[tuple[str, str, str], int] = {}
    for rec in tables.get("failures", []):
        key = (rec["Method"], rec["Name"], rec["Error"])
        failures[key] = failures.get(key, 0) + int(rec["Occurrences"])
    exceptions: dict[str, int] = {}
    for rec in tables.get("exceptions", []):
        exceptions[rec["Message"]] = exceptions.get(rec["Message"], 0) + int(rec["Count"])
    return CsvRows(rows, total, failures, exceptions, columns)


# ---------------------------------------------------------------- comparing


def _normalise(message: str, hosts: Iterable[str]) -> str:
    for host in hosts:
        message = message.replace(host, "HOST")
    return message


def deterministic_rows(rows: CsvRows) -> dict[RowKey, bool]:
    """Rows that fail every time (True) or never (False); rows that fail only sometimes
    are left out: only the first two can be compared between runs of different sizes."""
    out: dict[RowKey, bool] = {}
    for key, row in rows.rows.items():
        if row.failures == 0:
            out[key] = False
        elif row.failures == row.requests:
            out[key] = True
    return out


def compare_rows(
    ours: CsvRows,
    locusts: CsvRows,
    tolerance: float = 0.05,
    *,
    messages: bool = True,
    hosts: Sequence[str] = (),
    ignore_columns: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """What differs between our run of a locustfile and Locust's run of it, as lines
    (empty: they agree). Checked:

    - the same set of (method, name) rows;
    - the same split: each row's share of all requests within ``tolerance`` of Locust's
      (an absolute difference of fractions: 0.05 is five percentage points);
    - the same failures on deterministic rows (those Locust failed every time or never:
      ours must too), and, with ``messages``, the same failure messages on each row
      (``hosts``, e.g. the two runs' base URLs, are replaced by ``HOST`` first);
    - the same CSV columns in every file both runs wrote (``ignore_columns`` names any
      left out on purpose, per file).
    """
    problems: list[str] = []
    missing = sorted(set(locusts.rows) - set(ours.rows))
    extra = sorted(set(ours.rows) - set(locusts.rows))
    if missing:
        problems.append(f"rows only Locust has: {missing}")
    if extra:
        problems.append(f"rows only we have: {extra}")
    our_shares, their_shares = ours.shares(), locusts.shares()
    for key in sorted(set(our_shares) & set(their_shares)):
        if abs(our_shares[key] - their_shares[key]) > tolerance:
            problems.append(
                f"{key}: {our_shares[key]:.1%} of requests here, {their_shares[key]:.1%} in"
                f" Locust (tolerance {tolerance:.0%} points)"
            )
    for key, always in sorted(deterministic_rows(locusts).items()):
        row = ours.rows.get(key)
        if row is None:
            continue
        if always and row.failures != row.requests:
            problems.append(f"{key}: Locust failed all, we failed {row.failures}/{row.requests}")
        if not always and row.failures:
            problems.append(f"{key}: Locust failed none, we failed {row.failures}/{row.requests}")
    if messages:
        for key in sorted(set(ours.rows) & set(locusts.rows)):
            mine = {_normalise(m, hosts) for m in ours.messages(key)}
            theirs = {_normalise(m, hosts) for m in locusts.messages(key)}
            if mine != theirs:
                problems.append(
                    f"{key}: failure messages {sorted(mine)} != Locust's {sorted(theirs)}"
                )
    ignored = {k: set(v) for k, v in (ignore_columns or {}).items()}
    for suffix in sorted(set(ours.columns) & set(locusts.columns)):
        drop = ignored.get(suffix, set())
        mine_cols = [c for c in ours.columns[suffix] if c not in drop]
        their_cols = [c for c in locusts.columns[suffix] if c not in drop]
        if mine_cols != their_cols:
            problems.append(f"_{suffix}.csv columns {mine_cols} != Locust's {their_cols}")
    for suffix in sorted(set(locusts.columns) - set(ours.columns)):
        problems.append(f"no _{suffix}.csv here (Locust wrote one)")
    return problems


def assert_same_rows(
    ours: CsvRows, locusts: CsvRows, tolerance: float = 0.05, **kw: object
) -> None:
    problems = compare_rows(ours, locusts, tolerance, **kw)  # type: ignore[arg-type]
    assert not problems, "runs differ:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------- running


@dataclass
class LocustRun:
    """A finished Locust run: its rows, what the target counted, how it ended."""

    rows: CsvRows
    server: Counter[RowKey]  # (method, path) on the target's main port
    other: Counter[RowKey]  # on its other port
    exit_code: int
    output: str
    prefix: Path
    args: list[str] = field(default_factory=list)


def locust_command() -> list[str]:
    return [sys.executable, "-m", "locust"]


def run_locust(
    locustfile: Path | str,
    target: LocustTarget,
    folder: Path,
    *,
    users: int | None = 4,
    spawn_rate: float = 100,
    seconds: float | None = 3,
    args: Sequence[str] = (),
    user_classes: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> LocustRun:
    """Run real Locust headless on ``locustfile`` against ``target`` for ``seconds``
    (None: until the file or its shape ends the run itself), ``--csv`` into ``folder``;
    ``users`` None leaves -u and -r out (a LoadTestShape sets them).

    The target's counts are reset first and read once Locust has exited. A run that
    wrote no CSV raises with Locust's output; any other exit code is returned."""
    folder.mkdir(parents=True, exist_ok=True)
    plugin = folder / "_parity_final_csv.py"
    plugin.write_text(FINAL_CSV_PLUGIN, encoding="utf-8")
    path = Path(locustfile)
    if not path.is_absolute():
        path = CORPUS / path
    prefix = folder / path.stem
    cmd = [
        *locust_command(),
        "-f",
        f"{path},{plugin}",
        "--headless",
        "--host",
        target.url,
        *(["-u", str(users), "-r", f"{spawn_rate:g}"] if users is not None else []),
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--csv",
        str(prefix),
        "--loglevel",
        "WARNING",
        "--only-summary",
        *(["-t", f"{seconds:g}s"] if seconds is not None else []),
        # before any option that takes a list (--tags a b), which would swallow them
        *user_classes,
        *args,
    ]
    return _run_command(cmd, target, folder, prefix, env, "locust")


def our_command() -> list[str]:
    return [sys.executable, "-m", "tui_loadtest"]


def run_ours(
    locustfile: Path | str,
    target: LocustTarget,
    folder: Path,
    *,
    users: int | None = 4,
    spawn_rate: float = 100,
    seconds: float | None = 3,
    args: Sequence[str] = (),
    user_classes: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> LocustRun:
    """``run_locust``'s twin: the same locustfile and Locust command line, run by
    ``tui-loadtest locust run`` (our engine), its rows read back from our ``--csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(locustfile)
    if not path.is_absolute():
        path = CORPUS / path
    prefix = folder / path.stem
    cmd = [
        *our_command(),
        "locust",
        "run",
        "-f",
        str(path),
        "--headless",
        "--host",
        target.url,
        *(["-u", str(users), "-r", f"{spawn_rate:g}"] if users is not None else []),
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--csv",
        str(prefix),
        "--only-summary",
        *(["-t", f"{seconds:g}s"] if seconds is not None else []),
        *user_classes,
        *args,
    ]
    return _run_command(cmd, target, folder, prefix, env, "tui-loadtest")


def _run_command(
    cmd: list[str],
    target: LocustTarget,
    folder: Path,
    prefix: Path,
    env: Mapping[str, str] | None,
    who: str,
) -> LocustRun:
    run_env = {
        k: v for k, v in os.environ.items() if not k.startswith("LOCUST_") and k != "PYTHONPATH"
    }
    run_env.update(env or {})
    target.reset()
    log = folder / f"{prefix.name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=run_env)
        try:
            code = proc.wait(PROCESS_TIMEOUT_S)
        finally:
            if proc.poll() is None:  # only the process started here, by its PID
                proc.kill()
                proc.wait(10)
    output = log.read_text(encoding="utf-8", errors="replace")
    try:
        rows = read_csv_rows(prefix)
    except FileNotFoundError:
        raise AssertionError(f"{who} wrote no CSV (exit {code}):\n{output[-3000:]}") from None
    return LocustRun(rows, target.counts(), target.counts(other=True), code, output, prefix, cmd)


def rows_from_server(
    counts: Mapping[RowKey, int], names: Mapping[RowKey, RowKey]
) -> Counter[RowKey]:
    """Fold the server's ``(method, path)`` counts into rows: ``names`` maps each path
    to the row it is recorded under (paths absent from ``names`` keep their own name)."""
    out: Counter[RowKey] = Counter()
    for key, n in counts.items():
        out[names.get(key, key)] += n
    return out


__all__ = [
    "CORPUS",
    "CsvRows",
    "LocustRun",
    "Row",
    "assert_same_rows",
    "compare_rows",
    "deterministic_rows",
    "read_csv_rows",
    "rows_from_server",
    "our_command",
    "run_locust",
    "run_ours",
]
