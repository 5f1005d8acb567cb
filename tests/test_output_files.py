"""The output-file rules (report/output_files.py) on real files, links, devices, FIFOs and
file systems, then end to end through the command line."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui_loadtest.errors import UserError
from tui_loadtest.report.output_files import (
    OutputError,
    check_output,
    current_umask,
    save_output,
    write_output,
)

from .fs_helpers import fill, null_device, remount_read_only, tiny_fs


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


# ------------------------------------------------------------------ regular files


def test_a_new_file_follows_the_umask(tmp_path: Path, umask_027) -> None:
    assert current_umask() == 0o027
    path = write_output(tmp_path / "r.json", "{}\n")
    assert path.read_text() == "{}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path, {"r.json"}) == []


def test_a_replaced_file_keeps_its_mode_and_is_swapped_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o604)
    before = path.stat().st_ino
    with open(path) as reader:  # a reader holding the old file still sees all of it
        write_output(path, "new text")
        assert reader.read() == "old"
    assert path.read_text() == "new text"
    assert path.stat().st_ino != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o604
    assert leftovers(tmp_path, {"r.json"}) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_root_run_leaves_the_users_file_theirs(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    os.chown(path, 1234, 4321)
    write_output(path, "new")
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (1234, 4321)


def test_csv_newlines_are_kept_as_given(tmp_path: Path) -> None:
    path = write_output(tmp_path / "a.csv", "a,b\r\n1,2\r\n", newline="")
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"


# ----------------------------------------------------------------------- links


def test_a_link_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / "report.json"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "links" / "latest.json"
    link.symlink_to(target)
    assert write_output(link, "new") == link
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path / "links", {"latest.json"}) == []
    assert leftovers(tmp_path / "real", {"report.json"}) == []


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to("made-later.json")
    write_output(link, "x")
    assert link.is_symlink() and (tmp_path / "made-later.json").read_text() == "x"


def test_a_link_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "gone" / "r.json")
    with pytest.raises(UserError, match="gone does not exist"):
        check_output(link, "--out")
    assert not (tmp_path / "gone").exists()


def test_proc_fd_links_are_written_in_place(tmp_path: Path) -> None:
    """/dev/stdout and /dev/fd/N are "this open file": a pipe has no path to rename over."""
    r, w = os.pipe()
    try:
        link = tmp_path / "stdout"
        link.symlink_to(f"/proc/self/fd/{w}")
        check_output(link, "--out")
        write_output(link, "through the pipe\n")
        assert os.read(r, 100) == b"through the pipe\n"
        assert link.is_symlink()
    finally:
        os.close(r)
        os.close(w)


# ------------------------------------------------------- devices, FIFOs, sockets


def test_a_character_device_is_written_not_replaced(tmp_path: Path) -> None:
    dev = null_device(tmp_path)
    before = dev.stat()
    check_output(dev, "--out")
    assert write_output(dev, "x" * 100_000) == dev
    after = dev.stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert leftovers(tmp_path, {"null"}) == []


def test_a_fifo_is_written_to_its_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=reader)
    thread.start()
    text = "line\n" * 50_000  # more than a pipe buffer
    write_output(fifo, text)
    thread.join(timeout=30)
    assert got == [text.encode()]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path, {"pipe"}) == []


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(UserError, match="socket"):
            check_output(path, "--out")
        with pytest.raises(UserError, match="socket"):
            write_output(path, "x")
    assert stat.S_ISSOCK(path.stat().st_mode)


# --------------------------------------------------- names, folders, stdout


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_name_is_an_error(name: str) -> None:
    with pytest.raises(UserError, match="--html: expected a file name, got an empty one"):
        check_output(name, "--html")
    with pytest.raises(UserError, match="empty"):
        write_output(name, "x")


def test_a_missing_folder_is_one_line_and_never_created(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "r.json"
    with pytest.raises(UserError) as info:
        check_output(path, "--out")
    assert str(info.value) == (
        f"--out: {path}: the folder {path.parent} does not exist (create it first)"
    )
    with pytest.raises(UserError):
        write_output(path, "x")
    assert not (tmp_path / "no").exists()


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder"):
        check_output(tmp_path, "--out")


def test_dash_is_stdout_only_where_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    assert write_output("-", '{"a": 1}\n', allow_stdout=True) == Path("-")
    assert capsys.readouterr().out == '{"a": 1}\n'
    with pytest.raises(UserError, match="standard output"):
        check_output("-", "--html")
    with pytest.raises(UserError, match="standard output"):
        write_output("-", "x")
    assert not Path("-").exists()


# ---------------------------------------------- unwritable targets: nothing lost


def test_a_read_only_file_system_is_one_line_and_the_data_goes_elsewhere(tmp_path: Path) -> None:
    with tiny_fs(tmp_path / "mnt") as mnt:
        (mnt / "r.json").write_text("old")
        remount_read_only(mnt)
        with pytest.raises(UserError, match="read-only file system"):
            check_output(mnt / "new.json", "--out")
        with pytest.raises(OutputError) as info:
            save_output(mnt / "r.json", '{"kept": true}\n', what="the report", flag="--out")
        assert (mnt / "r.json").read_text() == "old"
    message = str(info.value)
    assert message.startswith(f"--out: {mnt / 'r.json'}: cannot write: read-only file system;")
    assert info.value.fallback is not None and str(info.value.fallback) in message
    assert info.value.fallback.read_text() == '{"kept": true}\n'
    assert info.value.fallback.suffix == ".json"
    info.value.fallback.unlink()


def test_a_full_disk_says_disk_full_and_leaves_no_temp_file(tmp_path: Path) -> None:
    with tiny_fs(tmp_path / "mnt") as mnt:
        check_output(mnt / "r.json", "--out")  # fine before the run
        filler = fill(mnt)
        with pytest.raises(
            OutputError, match="cannot write: disk full; the report was saved to"
        ) as info:
            save_output(mnt / "r.json", "x" * 100_000, what="the report", flag="--out")
        assert sorted(p.name for p in mnt.iterdir()) == [filler.name]
    fallback = info.value.fallback
    assert fallback is not None and fallback.read_text() == "x" * 100_000
    fallback.unlink()


# ------------------------------------------------------------ the command line

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        **kw,
    )


def one_line(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


DEAD = "http://127.0.0.1:9"  # never reached: these fail before the run starts


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--out", ""], "--out: expected a file name, got an empty one"),
        (["--html", ""], "--html: expected a file name, got an empty one"),
        (["--csv", ""], "--csv: expected a file name prefix, got an empty one"),
        (["--save-baseline", ""], "--save-baseline: expected a baseline name, got an empty one"),
        (["--compare-to", ""], "--compare-to: expected a baseline name, got an empty one"),
        (["--store", ""], "--store: expected a store file or folder, got an empty one"),
        (["--html", "-"], "--html: '-' (standard output) is not supported here"),
        (["--out", "/nonexistent/dir/r.json"], "the folder /nonexistent/dir does not exist"),
        (["--out", "r.json", "--html", "./r.json"], "--out and --html both name r.json"),
    ],
)
def test_bad_output_names_cost_one_line_before_the_run(
    tmp_path: Path, flags: list[str], expected: str
) -> None:
    proc = cli("run", "--no-ui", "-t", "1s", "--host", DEAD, *flags, cwd=tmp_path)
    assert expected in one_line(proc)
    assert list(tmp_path.iterdir()) == []
    assert not Path("/nonexistent").exists()


def test_the_scenario_file_is_not_an_output(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[[requests]]\npath = "/"\n')
    proc = cli("run", str(scenario), "--no-ui", "--host", DEAD, "--out", str(scenario))
    assert "is the scenario file" in one_line(proc)
    assert scenario.read_text() == '[[requests]]\npath = "/"\n'


def test_out_dash_gives_stdout_only_the_report(demo_server, demo_url, tmp_path: Path) -> None:
    proc = cli("run", "--no-ui", "-n", "50", "-u", "5", "--host", demo_url, "--out", "-",
               "--interval", "0.2", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # nothing else on stdout
    assert report["summary"]["requests"] == 50 == demo_server.stats()["requests"]
    assert "Overall Summary" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_out_to_a_device_keeps_the_device(demo_url, tmp_path: Path) -> None:
    dev = null_device(tmp_path)
    # One URL, no thresholds: the demo scenario's per-endpoint gate can go unmeasured
    # in 20 weighted requests (exit 1), which says nothing about devices.
    proc = cli("run", f"{demo_url}/api/health", "--no-ui", "-n", "20", "-u", "2",
               "--out", str(dev))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(dev.stat().st_mode)
    assert leftovers(tmp_path, {"null"}) == []


def test_reports_follow_the_umask(demo_url, tmp_path: Path) -> None:
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    # bench, not the demo scenario: its thresholds may find an endpoint without a
    # response among 20 requests (exit 1), which says nothing about file modes.
    proc = cli("bench", f"{demo_url}/api/health", "20", "2", "--out", str(out),
               "--html", str(html), "--csv", str(tmp_path / "r"),
               preexec_fn=lambda: os.umask(0o022))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for path in (out, html, *tmp_path.glob("r_*.csv")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_a_disk_that_fills_during_the_run_loses_nothing(demo_url, tmp_path: Path) -> None:
    with tiny_fs(tmp_path / "mnt") as mnt:
        out = mnt / "r.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_loadtest", "run", "--no-ui", "-t", "3s", "-u", "2",
             "--host", demo_url, "--out", str(out), "--interval", "0.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # the run is going: the checks passed
                if line.startswith("["):
                    break
            fill(mnt)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert not out.exists()
    assert proc.returncode == 2, stderr
    errors = [ln for ln in stderr.splitlines() if "error" in ln]
    assert len(errors) == 1, stderr
    assert "cannot write: disk full; the report was saved to" in errors[0]
    fallback = Path(errors[0].rsplit(" saved to ", 1)[1].removesuffix(" instead"))
    report = json.loads(fallback.read_text())
    assert report["summary"]["requests"] > 0
    fallback.unlink()
