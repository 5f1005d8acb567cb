"""The store meets damage, bad rows, read-only and full disks with one line each, checks
--save-baseline before the run, and never loses a run it could not save."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tui_loadtest.baselines import open_store
from tui_loadtest.cli import main
from tui_loadtest.report.json_report import write_report
from tui_loadtest.store import Baseline, BaselineStore, StoreCorrupt, StoreError

from .fs_helpers import fill, null_device, remount_read_only, tiny_fs
from .synthetic import HEALTH, QUERY, make_result


def saved_store(path: Path, names: tuple[str, ...] = ("a", "b", "c", "d")) -> BaselineStore:
    store = BaselineStore(path)
    for i, name in enumerate(names):
        result = make_result([HEALTH, QUERY], seconds=5, seed=i + 1)
        store.save(Baseline(name, f"2024-01-0{i + 1}T10:00:00+00:00", result, {"source": "t"}))
    return store


def flip_bit(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "r.json"
    write_report(make_result([HEALTH], seconds=3, seed=9), path)
    return path


# ------------------------------------------------------------------ damage


@pytest.mark.parametrize("where", ["schema", "table page"])
def test_a_bit_flip_is_one_line_for_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report: Path, where: str
) -> None:
    path = tmp_path / "s.sqlite3"
    saved_store(path)
    data = path.read_bytes()
    # One bit: "CREATE" becomes "CSEATE" in the schema, or table page 2 gets a bad page type.
    flip_bit(path, data.find(b"CREATE TABLE baselines") + 1 if where == "schema" else 4096)
    before = path.read_bytes()
    for args in (
        ["import", str(report), "--name", "z"],
        ["delete", "a", "-y"],
        ["rename", "b", "q"],
        ["list"],
    ):
        code, _, err = run_cli(capsys, "baselines", *args, "--store", str(path))
        assert code == 2, args
        line = one_line(err)
        assert line.startswith(f"tui-loadtest: error: {path}: not a usable baseline store (")
        assert line.endswith("the file was left untouched"), line
    assert path.read_bytes() == before


def test_a_row_with_a_bad_value_is_left_out_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.sqlite3"
    saved_store(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE baselines SET p95_ms = 'abc' WHERE name = 'b'")
        conn.execute("UPDATE baselines SET requests = -5 WHERE name = 'd'")
    code, out, err = run_cli(capsys, "baselines", "list", "--store", str(path))
    assert code == 0
    assert one_line(err) == (
        "tui-loadtest: warning: 2 baseline(s) left out of the list, a figure in the store's"
        " index is damaged: \"b\" (p95_ms is 'abc', not a number),"
        ' "d" (requests is -5, not a whole number)'
    )
    assert [ln.split()[0] for ln in out.splitlines()[2:4]] == ["c", "a"]  # newest first
    assert "2 baseline(s) in" in out
    code, out, _ = run_cli(capsys, "baselines", "list", "--json", "--store", str(path))
    data = json.loads(out)
    assert [b["name"] for b in data["baselines"]] == ["c", "a"]
    assert [s["name"] for s in data["skipped"]] == ["b", "d"]
    # The run itself is intact in its report blob: show still reads it.
    code, out, _ = run_cli(capsys, "baselines", "show", "b", "--store", str(path))
    assert code == 0 and out.startswith("Baseline: b")


# ------------------------------------------------------- where the store may be


def test_a_named_store_in_a_missing_folder_is_one_line_and_no_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report: Path
) -> None:
    path = tmp_path / "no" / "such" / "s.sqlite3"
    code, _, err = run_cli(capsys, "baselines", "import", str(report), "--name", "x",
                           "--store", str(path))  # fmt: skip
    assert code == 2
    assert one_line(err) == (
        f"tui-loadtest: error: {path}: the folder {path.parent} does not exist (create it first)"
    )
    assert not (tmp_path / "no").exists()


def test_the_per_user_default_store_makes_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUI_LOADTEST_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    store = open_store(None)
    assert store.path.is_relative_to(tmp_path / "xdg")
    store.check_writable()  # checks, creates nothing
    assert not (tmp_path / "xdg").exists()
    store.save(Baseline("v1", "2024", make_result([HEALTH], seconds=2, seed=1)))
    assert store.names() == ["v1"]


def test_a_device_is_not_a_store(tmp_path: Path) -> None:
    dev = null_device(tmp_path)
    store = BaselineStore(dev)
    for action in (store.check_writable, lambda: store.save(Baseline("x", "2024", make_result(
            [HEALTH], seconds=2, seed=1))), store.list):  # fmt: skip
        with pytest.raises(StoreError, match="not a store file"):
            action()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no journal beside it
    assert stat.S_ISCHR(dev.stat().st_mode)


# ----------------------------------------------------------- full and read-only


def test_a_full_disk_says_disk_full_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report: Path
) -> None:
    with tiny_fs(tmp_path / "mnt", size="256k") as mnt:
        path = mnt / "s.sqlite3"
        saved_store(path, ("a",))
        fill(mnt)
        before = path.read_bytes()
        code, _, err = run_cli(capsys, "baselines", "import", str(report), "--name", "z",
                               "--store", str(path))  # fmt: skip
        assert code == 2
        assert one_line(err) == (
            f"tui-loadtest: error: {path}: disk full; nothing was changed in the store"
        )
        assert path.read_bytes() == before
        with pytest.raises(StoreError, match="disk full"):
            BaselineStore(path).check_writable()
        assert BaselineStore(path).names() == ["a"]


# ------------------------------------------------ --save-baseline, end to end


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("problem", ["read-only", "damaged", "newer"])
def test_an_unusable_store_stops_save_baseline_before_the_run(
    demo_server, demo_url, tmp_path: Path, problem: str
) -> None:
    with tiny_fs(tmp_path / "mnt", size="1m") as mnt:
        path = mnt / "s.sqlite3"
        saved_store(path, ("a",))
        if problem == "read-only":
            remount_read_only(mnt)
        elif problem == "damaged":
            flip_bit(path, 4096)
        else:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA user_version = 99")
        proc = cli("run", "--no-ui", "-t", "30s", "--host", demo_url, "--store", str(path),
                   "--save-baseline", "new", timeout=30)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""  # no run, no summary
    line = proc.stderr.strip()
    assert "\n" not in line and str(path) in line
    expected = {"read-only": "read-only", "damaged": "not a usable", "newer": "newer"}[problem]
    assert expected in line
    assert demo_server.stats()["requests"] == 0  # not one request was sent


def test_a_store_that_fills_during_the_run_keeps_the_run_for_import(
    demo_url, tmp_path: Path
) -> None:
    with tiny_fs(tmp_path / "mnt", size="256k") as mnt:
        path = mnt / "s.sqlite3"
        saved_store(path, ("a",))
        before = path.read_bytes()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_loadtest", "run", "--no-ui", "-t", "3s", "-u", "2",
             "--host", demo_url, "--store", str(path), "--save-baseline", "full",
             "--interval", "0.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # the run is going: the store passed its checks
                if line.startswith("["):
                    break
            fill(mnt)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert path.read_bytes() == before
    assert proc.returncode == 2, stderr
    errors = [ln for ln in stderr.splitlines() if "error" in ln]
    assert len(errors) == 1, stderr
    assert f"{path}: disk full; nothing was changed in the store; the run was kept in" in errors[0]
    kept = Path(errors[0].rsplit("baselines import ", 1)[1].rstrip(")"))
    other = BaselineStore(tmp_path / "elsewhere.sqlite3")
    code = main(["baselines", "import", str(kept), "--store", str(other.path)])
    assert code == 0 and other.load("full").result.summary.requests > 0
    kept.unlink()


def test_messages_from_sqlite_never_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    saved_store(path, ("a",))
    flip_bit(path, path.read_bytes().find(b"CREATE TABLE baselines") + 1)
    with pytest.raises(StoreCorrupt) as info:
        BaselineStore(path).list()
    assert "\n" not in str(info.value) and "its schema is damaged" in str(info.value)


def test_the_environment_store_follows_the_same_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUI_LOADTEST_STORE", str(tmp_path / "team") + os.sep)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(None).check_writable()
