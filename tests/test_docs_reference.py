"""The reference pages of the guide cannot drift from the code.

- The scenario keys page names every key the loader accepts, table by table, as the
  loader itself lists them when it refuses an unknown key.
- The exit codes page has a row for every code the command line documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui_loadtest import errors
from tui_loadtest.cli import build_parser
from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario.loader import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"


# ------------------------------------------------------------------- scenario keys

# Each table of a scenario, and how to put an unknown key in it.
TABLES = {
    "Top level": lambda d: d.update(zzzq=1),
    "`[load]`": lambda d: d.update(load={"zzzq": 1}),
    "`[[load.stages]]`": lambda d: d.update(load={"stages": [{"zzzq": 1}]}),
    "`[http]`": lambda d: d.update(http={"zzzq": 1}),
    "`[[requests]]`": lambda d: d["requests"][0].update(zzzq=1),
    "`[[flows]]`": lambda d: d.update(requests=[], flows=[{"zzzq": 1, "steps": [{"path": "/"}]}]),
    "`[[flows.steps]]`": lambda d: d.update(requests=[], flows=[{"steps": [{"zzzq": 1}]}]),
    "`[[data]]`": lambda d: d.update(data=[{"zzzq": 1}]),
    "`[thresholds]`": lambda d: d.update(thresholds={"zzzq": 1}),
    "`[monitor]`": lambda d: d.update(monitor={"zzzq": 1}),
    "`[cluster]`": lambda d: d.update(cluster={"zzzq": 1}),
    "`[export]`": lambda d: d.update(export={"zzzq": 1}),
    "`[[scenarios]]`": lambda d: d.update(scenarios=[{"name": "a", "zzzq": 1}]),
}


def known_keys(put_unknown_key) -> list[str]:
    """The keys the loader lists when it refuses an unknown one."""
    data = {"host": "http://127.0.0.1:9", "requests": [{"path": "/"}]}
    put_unknown_key(data)
    if not data["requests"]:
        del data["requests"]
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(data, "s.toml", env={})
    listed = re.search(r"known keys: (.*)\)$", str(refused.value))
    assert listed, str(refused.value)
    return [key.strip('"') for key in listed.group(1).split(", ")]


def page_section(text: str, title: str) -> str:
    """From the heading (or the line) that starts with ``title`` to the next heading."""
    start = re.compile(rf"^(## )?{re.escape(title)}", re.M).search(text).start()
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


@pytest.mark.parametrize("table", TABLES)
def test_the_scenario_keys_page_names_every_key_the_loader_accepts(table):
    page = (REFERENCE / "scenario-keys.md").read_text()
    section = page_section(page, table)
    if table == "`[[flows.steps]]`":  # a step takes a request's keys and three of its own
        section += page_section(page, "`[[requests]]`")
    keys = known_keys(TABLES[table])
    assert len(keys) >= 2
    missing = [key for key in keys if f"`{key}`" not in section and f'`"{key}"`' not in section]
    assert missing == [], f"{table} lacks {missing}"


# ------------------------------------------------------------------------- exit codes


def test_the_exit_codes_page_has_every_documented_code():
    page = (REFERENCE / "exit-codes.md").read_text()
    rows = set(re.findall(r"^\| (\w+) \|", page, re.M))
    epilog = build_parser().epilog or ""  # the exit codes `tui-loadtest --help` lists
    in_help = set(re.findall(r"^  (\d+|N) ", epilog, re.M))
    constants = {str(v) for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert {"0", "1", "2", "3", "70", "130", "N"} <= in_help
    assert in_help | constants <= rows
