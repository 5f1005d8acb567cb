"""The README is a landing page whose quick start stays exactly true: CI runs its command 2
as written, the guide repeats both commands word for word, and every link it gives leads
to a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def quick_start() -> list[str]:
    """The two commands of the README's "Quick start" block, in order."""
    block = README.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_the_readme_is_a_landing_page():
    assert README.startswith("# tui-loadtest\n")  # the package index shows it as the title
    assert len(README.splitlines()) <= 250
    assert "tui_loadtest/ui/screenshots/dashboard.png" in README


def test_the_quick_start_installs_and_opens_the_dashboard_then_runs_the_suite():
    run, suite = quick_start()
    assert run.endswith(".venv/bin/tui-loadtest run") and "pip install -e . " in run
    assert suite.endswith(".venv/bin/python -m pytest") and "'.[test]'" in suite


def test_ci_runs_the_readmes_test_command_as_written():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start()[1] in ci


def test_the_guide_gives_the_same_quick_start():
    guide = (ROOT / "docs" / "getting-started.md").read_text()
    for command in quick_start():
        assert command in guide.splitlines()


def test_every_link_of_the_readme_leads_to_a_file():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link]
    assert len(local) > 10
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing
