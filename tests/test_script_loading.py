"""Loading a user script as Locust loads a locustfile: its folder on the import path, its
module-level ``host``, and a signal during its top level ending the command as told."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import apply_overrides, load_scenario, script_scenario

from .servers import CountingServer

TASK = """
from tui_loadtest.script import task

@task
async def ping(user):
    await user.get("/ping")
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui_loadtest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def counting() -> CountingServer:
    server = CountingServer()
    server.start()
    yield server
    server.stop()


# -- host ------------------------------------------------------------------------------


def test_a_scripts_own_host_is_where_the_load_goes(
    counting: CountingServer, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{counting.port}"
    (tmp_path / "users.py").write_text(f'host = "{url}/"\n{TASK}', encoding="utf-8")
    proc = cli("run", "users.py", "--no-ui", "-u", "2", "-n", "50", "--out", "r.json",
               cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "embedded demo" not in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["host"] == url
    assert report["summary"]["requests"] == 50
    assert counting.wait_idle() and counting.requests == 50


def test_host_precedence_flag_then_scenario_then_script(tmp_path: Path) -> None:
    (tmp_path / "users.py").write_text(f'host = "http://127.0.0.1:9001"\n{TASK}', "utf-8")
    assert script_scenario(tmp_path / "users.py").host == "http://127.0.0.1:9001"
    toml = tmp_path / "s.toml"
    toml.write_text('script = "users.py"\n', encoding="utf-8")
    assert load_scenario(toml).host == "http://127.0.0.1:9001"
    toml.write_text('host = "http://127.0.0.1:9002"\nscript = "users.py"\n', encoding="utf-8")
    assert load_scenario(toml).host == "http://127.0.0.1:9002"
    toml.write_text('host = "demo"\nscript = "users.py"\n', encoding="utf-8")
    assert load_scenario(toml).host is None  # the file said so: the demo
    flagged = apply_overrides(script_scenario(tmp_path / "users.py"), host="http://127.0.0.1:9003")
    assert flagged.host == "http://127.0.0.1:9003"
    assert flagged.redacted["host"] == "http://127.0.0.1:9003"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"example.com"', "users.py: host: expected a URL starting with http:// or https://"),
        ("5000", 'users.py: host: expected "demo" or a URL'),
    ],
)
def test_a_bad_script_host_is_one_line(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "users.py").write_text(f"host = {value}\n{TASK}", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        script_scenario(tmp_path / "users.py")
    assert str(caught.value).startswith(f"{tmp_path}/{message}"), str(caught.value)
    proc = cli("run", "users.py", "--no-ui", "-t", "1s", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# -- the script's folder ----------------------------------------------------------------

HELPED = """
from helpers import PATH
from lib.names import NAME
from tui_loadtest.script import task

@task
async def ping(user):
    await user.get(PATH, name=NAME)
"""


def helped_script(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "helpers.py").write_text('PATH = "/from-helpers"\n', encoding="utf-8")
    (folder / "lib").mkdir()
    (folder / "lib" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "lib" / "names.py").write_text('NAME = "helped"\n', encoding="utf-8")
    script = folder / "users.py"
    script.write_text(HELPED, encoding="utf-8")
    return script


def test_a_script_imports_modules_beside_it(counting: CountingServer, tmp_path: Path) -> None:
    """Run from another folder, so only the script's own folder can hold ``helpers``."""
    helped_script(tmp_path / "load")
    url = f"http://127.0.0.1:{counting.port}"
    proc = cli("run", "load/users.py", "--no-ui", "--host", url, "-u", "2", "-n", "40",
               "--workers", "2", "--out", "r.json", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(e["name"], e["requests"]) for e in report["endpoints"]] == [("helped", 40)]
    assert counting.wait_idle() and counting.requests == 40


def test_the_check_notes_the_folders_modules_and_leaves_the_import_path(tmp_path: Path) -> None:
    folder = tmp_path / "load"
    folder.mkdir()
    script = helped_script(folder)
    # A library installed in a virtualenv inside the folder is not the script's module.
    site = folder / ".venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    (site / "vendored_xyz.py").write_text("X = 1\n", encoding="utf-8")
    script.write_text(
        f"import sys\nsys.path.append({str(site)!r})\nimport vendored_xyz\n{HELPED}", "utf-8"
    )
    before = list(sys.path)
    for name in ("helpers", "lib", "lib.names", "vendored_xyz"):  # another test's, if any
        sys.modules.pop(name, None)
    try:
        spec = script_scenario(script).script
        assert sys.path == before  # the coordinator's own imports never find helpers.py
        again = script_scenario(script).script  # its modules already imported: the same
        assert again is not None and spec is not None and again.modules == spec.modules
    finally:
        sys.path[:] = before
        for name in ("helpers", "lib", "lib.names", "vendored_xyz"):
            sys.modules.pop(name, None)
    assert spec is not None
    assert spec.modules == ("helpers.py", "lib/__init__.py", "lib/names.py")


# -- a signal while the top level runs ---------------------------------------------------

SLOW_TOP = """
import time
print("top level running", flush=True)
time.sleep(60)
from tui_loadtest.script import task

@task
async def ping(user):
    await user.get("/")
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_scripts_top_level_exits_as_told(
    tmp_path: Path, signum: int, code: int
) -> None:
    (tmp_path / "users.py").write_text(SLOW_TOP, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_loadtest", "run", "users.py", "--no-ui", "-t", "1s"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "top level running"  # it is in time.sleep
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err
    assert "users.py" not in err  # not reported as the script's own failure
