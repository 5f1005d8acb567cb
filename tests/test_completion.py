"""Shell completion: the code each shell evaluates, answered by the real parser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
EXE = BIN / "tui-loadtest"
needs_exe = pytest.mark.skipif(not EXE.exists(), reason="tui-loadtest is not installed here")


def completion_code(shell: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def answers(line: str, tmp_path: Path, shell: str = "bash") -> list[str]:
    """What the program answers a shell completing ``line`` (argcomplete's protocol)."""
    out = tmp_path / "completions"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": shell,
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        "_ARGCOMPLETE_IFS": "\n",
    }
    subprocess.run([sys.executable, "-m", "tui_loadtest"], env=env, check=True, timeout=60)
    return [word.strip() for word in out.read_text().split("\n")]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_code_that_registers_tui_loadtest(shell):
    code = completion_code(shell)
    assert "tui-loadtest" in code and "_ARGCOMPLETE" in code


def test_commands_flags_and_choices_complete(tmp_path):
    assert "run" in answers("tui-loadtest ru", tmp_path)
    assert "--workers" in answers("tui-loadtest run --wo", tmp_path)
    assert {"bash", "zsh", "fish"} <= set(answers("tui-loadtest completion ", tmp_path))
    assert "list" in answers("tui-loadtest baselines ", tmp_path)


def test_scenario_files_complete_from_the_folder(tmp_path, monkeypatch):
    (tmp_path / "checkout.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert "checkout.toml" in " ".join(answers("tui-loadtest run check", tmp_path))


@needs_exe
def test_bash_completes_through_the_code_it_evaluates(tmp_path):
    script = r"""
eval "$(tui-loadtest completion bash)"
fn=$(complete -p tui-loadtest | sed -E 's/.*-F ([^ ]+).*/\1/')
COMP_LINE="tui-loadtest run --us"; COMP_POINT=${#COMP_LINE}
COMP_WORDS=(tui-loadtest run --us); COMP_CWORD=2
$fn tui-loadtest --us run
printf '%s\n' "${COMPREPLY[@]}"
"""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert {"--users", "--user-step"} <= {w.strip() for w in out.stdout.split("\n")}


@needs_exe
@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed")
def test_fish_completes_through_the_code_it_sources():
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    script = 'tui-loadtest completion fish | source; complete -C "tui-loadtest run --us"'
    out = subprocess.run(
        ["fish", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "--users" in out.stdout


def test_help_does_not_load_the_completion_library():
    """--help stays fast: argcomplete (and Textual) are imported only when needed."""
    code = (
        "import sys\n"
        "from tui_loadtest.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('argcomplete' in sys.modules, 'textual' in sys.modules, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: tui-loadtest" in out.stdout
    assert out.stderr.strip() == "False False"
