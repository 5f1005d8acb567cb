"""The baseline store on real SQLite files: round trip, names, damage, crashes, concurrency."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from tui_loadtest.report.json_report import write_report
from tui_loadtest.store import (
    ENV_VAR,
    SCHEMA_VERSION,
    Baseline,
    BaselineExists,
    BaselineNotFound,
    BaselineStore,
    StoreCorrupt,
    StoreError,
    StoreTooNew,
    default_store_path,
    resolve_store_path,
)
from tui_loadtest.store import db as store_db

from .synthetic import HEALTH, QUERY, make_result

REPO = Path(__file__).resolve().parent.parent
QUANTILES = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]


def baseline(name: str, seed: int = 1, seconds: int = 10, **kw) -> Baseline:
    result = make_result([HEALTH, QUERY], seconds=seconds, seed=seed, **kw)
    return Baseline(name, f"2024-01-0{1 + seed % 9}T12:00:00+00:00", result, {"source": "test"})


@pytest.fixture
def store(tmp_path: Path) -> BaselineStore:
    return BaselineStore(tmp_path / "sub" / "baselines.sqlite3", create_folder=True)


def test_round_trip_recomputes_percentiles_exactly(store: BaselineStore) -> None:
    original = baseline("v1", seed=2, seconds=20)
    store.save(original)
    loaded = store.load("v1")
    a, b = original.result, loaded.result
    assert loaded.name == "v1" and loaded.created_at == original.created_at
    assert loaded.metadata == {"source": "test"}
    assert b.histogram.counts == a.histogram.counts and b.histogram.sum_us == a.histogram.sum_us
    assert b.histogram.percentiles(QUANTILES) == a.histogram.percentiles(QUANTILES)
    assert b.summary.latency == a.summary.latency
    for ea, eb in zip(a.endpoints, b.endpoints, strict=True):
        assert (eb.method, eb.name) == (ea.method, ea.name)
        assert eb.histogram.percentiles(QUANTILES) == ea.histogram.percentiles(QUANTILES)
        assert eb.stats.requests == ea.stats.requests and eb.stats.failures == ea.stats.failures
    assert b.per_second == a.per_second
    assert [p.requests for p in b.timeline] == [p.requests for p in a.timeline]
    assert b.errors == a.errors
    assert b.to_report() == a.to_report()


def test_list_entries_hold_the_indexed_figures(store: BaselineStore) -> None:
    assert store.list() == [] and not store.path.exists()  # reading never creates
    store.save(baseline("newer", seed=5))
    store.save(baseline("older", seed=3))
    infos = store.list()
    assert [i.name for i in infos] == ["older", "newer"]  # by creation time
    older = infos[0]
    s = store.load("older").result.summary
    assert older.rps == pytest.approx(s.rps) and older.p95_ms == pytest.approx(s.latency.p95)
    assert older.requests == s.requests and older.error_rate == pytest.approx(s.error_rate)
    assert older.scenario_name == "synthetic" and older.host.startswith("http://")
    assert older.python == "3.11.7" and older.workers == 1 and older.tool_version == "0.1.0"
    assert store.names() == ["newer", "older"]
    assert store.exists("newer") and not store.exists("nope")


def test_existing_name_needs_explicit_overwrite(store: BaselineStore) -> None:
    store.save(baseline("v1", seed=1))
    replacement = baseline("v1", seed=2)
    with pytest.raises(BaselineExists, match='"v1" already exists'):
        store.save(replacement)
    assert store.load("v1").result.summary.requests != replacement.result.summary.requests
    store.save(replacement, overwrite=True)
    assert store.load("v1").result.summary.requests == replacement.result.summary.requests
    assert len(store.list()) == 1


def test_delete_and_rename(store: BaselineStore) -> None:
    store.save(baseline("alpha", seed=1))
    store.save(baseline("beta", seed=2))
    with pytest.raises(BaselineExists):
        store.rename("alpha", "beta")
    store.rename("alpha", "gamma")
    assert store.names() == ["beta", "gamma"]
    with pytest.raises(BaselineNotFound, match='did you mean "gamma"'):
        store.load("gama")
    store.delete("beta")
    with pytest.raises(BaselineNotFound):
        store.delete("beta")
    store.rename("gamma", "beta", overwrite=True)
    assert store.names() == ["beta"]


@pytest.mark.parametrize("bad", ["", "  padded ", "a/b", "x" * 101, "tab\there"])
def test_bad_names_are_refused(store: BaselineStore, bad: str) -> None:
    with pytest.raises(StoreError):
        store.save(baseline(bad))
    assert not store.path.exists() or store.list() == []


def test_sensitive_headers_never_reach_the_store(store: BaselineStore) -> None:
    b = baseline("secret")
    b.result.scenario = {
        "http": {"headers": {"Authorization": "Bearer abc123", "Accept": "json"}},
        "requests": [{"name": "x", "headers": {"X-Api-Key": "k-999"}}],
    }
    store.save(b)
    raw = sqlite3.connect(store.path).execute("SELECT report FROM baselines").fetchone()[0]
    import zlib

    text = zlib.decompress(raw).decode()
    assert "abc123" not in text and "k-999" not in text
    scenario = store.load("secret").result.scenario
    assert scenario["http"]["headers"] == {"Authorization": "<redacted>", "Accept": "json"}
    assert scenario["requests"][0]["headers"] == {"X-Api-Key": "<redacted>"}


def _unchanged(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before, "the store file was modified"


def test_random_bytes_are_a_clear_error_and_never_overwritten(tmp_path: Path) -> None:
    import random

    path = tmp_path / "store.sqlite3"
    path.write_bytes(random.Random(7).randbytes(8192))
    before = path.read_bytes()
    store = BaselineStore(path)
    for action in (store.list, lambda: store.save(baseline("x")), lambda: store.load("x")):
        with pytest.raises(StoreCorrupt) as info:
            action()
        message = str(info.value)
        assert str(path) in message and "\n" not in message
    _unchanged(path, before)


def test_truncated_store_is_refused_untouched(store: BaselineStore) -> None:
    for i in range(6):
        store.save(baseline(f"b{i}", seed=i, seconds=30))
    data = store.path.read_bytes()
    store.path.write_bytes(data[: len(data) // 2])
    before = store.path.read_bytes()
    with pytest.raises(StoreCorrupt, match="left untouched"):
        store.save(baseline("new"))
    with pytest.raises(StoreCorrupt):
        for name in [f"b{i}" for i in range(6)]:
            store.load(name)
    _unchanged(store.path, before)


def test_newer_schema_is_refused_untouched(store: BaselineStore) -> None:
    store.save(baseline("v1"))
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = store.path.read_bytes()
    for action in (store.list, lambda: store.save(baseline("v2")), lambda: store.load("v1")):
        with pytest.raises(StoreTooNew, match=f"schema {SCHEMA_VERSION + 1}"):
            action()
    _unchanged(store.path, before)


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match="another program"):
        BaselineStore(path).save(baseline("x"))
    _unchanged(path, before)


def test_migrations_run_in_order_and_keep_data(
    store: BaselineStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(baseline("kept", seed=4))
    now = store_db.SCHEMA_VERSION
    nxt = ("ALTER TABLE baselines ADD COLUMN note TEXT",)
    monkeypatch.setattr(store_db, "MIGRATIONS", {**store_db.MIGRATIONS, now + 1: nxt})
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", now + 1)
    # reading takes an older schema as it is (a read-only store stays readable) ...
    assert [i.name for i in store.list()] == ["kept"]
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == now
    # ... and the first write migrates it, keeping what it held
    store.save(baseline("added", seed=5))
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == now + 1
        columns = [r[1] for r in conn.execute("PRAGMA table_info(baselines)")]
    assert "note" in columns
    assert store.load("kept").result.summary.requests > 0


def test_ctrl_c_inside_a_save_rolls_it_back(store: BaselineStore) -> None:
    store.save(baseline("first"))

    def interrupt() -> None:
        raise KeyboardInterrupt

    store._in_transaction_hook = interrupt
    with pytest.raises(KeyboardInterrupt):
        store.save(baseline("second"))
    store._in_transaction_hook = None
    assert store.names() == ["first"]


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from tui_loadtest.report.json_report import read_report
    from tui_loadtest.store import Baseline, BaselineStore

    path, report, prefix, count, pause = sys.argv[1:6]
    store = BaselineStore(path)
    result = read_report(report)

    def hook():
        if prefix == "victim":
            os.write(1, b"inside\\n")
            time.sleep(60)
        time.sleep(float(pause))

    store._in_transaction_hook = hook
    for i in range(int(count)):
        store.save(Baseline(f"{prefix}-{i}", "2024-01-01T00:00:00+00:00", result))
    """
)


def _child(tmp_path: Path, store: BaselineStore, prefix: str, count: int, pause: float):
    report = tmp_path / "report.json"
    if not report.exists():
        write_report(make_result([HEALTH, QUERY], seconds=15, seed=9), report)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store.path), str(report), prefix, str(count), str(pause)],
        stdout=subprocess.PIPE,
        env=env,
    )


def test_a_save_killed_inside_its_transaction_leaves_the_store_as_before(
    tmp_path: Path, store: BaselineStore
) -> None:
    store.save(baseline("before", seed=3))
    child = _child(tmp_path, store, "victim", 1, 0)
    try:
        assert child.stdout.readline() == b"inside\n"  # the row is written, not committed
        journal = Path(str(store.path) + "-journal")
        assert journal.exists()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert store.names() == ["before"]  # the next opener rolls the hot journal back
    assert store.load("before").result.summary.requests > 0
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.save(baseline("victim-0"))
    assert store.names() == ["before", "victim-0"]


def test_two_processes_saving_at_once_both_succeed(tmp_path: Path, store: BaselineStore) -> None:
    store.path.parent.mkdir()  # the children name the store: they create no folder
    children = [_child(tmp_path, store, p, 8, 0.01) for p in ("left", "right")]
    for child in children:
        child.communicate(timeout=60)
        assert child.returncode == 0
    names = store.names()
    assert len(names) == 16
    assert {n.split("-")[0] for n in names} == {"left", "right"}


def test_store_location(tmp_path: Path) -> None:
    default = default_store_path()
    assert default.name == "baselines.sqlite3" and "tui-loadtest" in str(default)
    assert resolve_store_path(None, env={}) == default
    env = {ENV_VAR: str(tmp_path / "team.sqlite3")}
    assert resolve_store_path(None, env=env) == tmp_path / "team.sqlite3"
    assert resolve_store_path(str(tmp_path / "cli.db"), env=env) == tmp_path / "cli.db"
    assert resolve_store_path(str(tmp_path), env={}) == tmp_path / "baselines.sqlite3"


def test_damaged_report_blob_names_the_baseline(store: BaselineStore) -> None:
    store.save(baseline("ok"))
    store.save(replace(baseline("bad"), name="bad"))
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE baselines SET report = ? WHERE name = 'bad'", (b"garbage",))
    with pytest.raises(StoreCorrupt, match='baseline "bad"'):
        store.load("bad")
    assert store.load("ok").name == "ok"
