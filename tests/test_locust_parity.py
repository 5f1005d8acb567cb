"""The locustfile corpus under real Locust, against the counting target (issue 21).

Each corpus file runs once under ``python -m locust`` (three at a time, each against its
own target), and its rows must match what the target itself counted, exactly; rows that
fail deterministically fail every time with Locust's message. This validates the corpus
and the harness that later compares our engine's runs with Locust's (``compare_rows``).
"""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from .locust_corpus import BAD, BAD_FILES, CORPUS_FILES
from .locust_parity import (
    CORPUS,
    CsvRows,
    Row,
    compare_rows,
    locust_command,
)

pytestmark = pytest.mark.timeout(240)

GOOD_FILES = sorted(p for p in CORPUS.glob("*.py"))

# Every name issue 21 lists, as the corpus must use it somewhere (a regular expression
# over the files' source).
ISSUE_21_NAMES = {
    "HttpUser": r"\bHttpUser\b",
    "FastHttpUser": r"\bFastHttpUser\b",
    "locust.contrib.fasthttp": r"from locust\.contrib\.fasthttp import FastHttpUser",
    "User with a custom client": r"class \w+\(User\)",
    "events.request.fire": r"\.request\.fire\(|events\.request\.fire\(",
    "TaskSet": r"\(TaskSet\)",
    "nested TaskSets": r"tasks = \{ThreadReading",
    "interrupt(reschedule=...)": r"interrupt\(reschedule=(True|False)\)",
    "SequentialTaskSet": r"\(SequentialTaskSet\)",
    "MarkovTaskSet": r"\(MarkovTaskSet\)",
    "transition": r"@transition\(",
    "transitions": r"@transitions\(",
    "@task weights": r"@task\(\d+\)",
    "tasks as a list": r"tasks = \[",
    "tasks as a dict": r"tasks = \{",
    "@tag": r"@tag\(",
    "between": r"between\(",
    "constant": r"constant\(",
    "constant_pacing": r"constant_pacing\(",
    "constant_throughput": r"constant_throughput\(",
    "wait_time lambda": r"wait_time = lambda self",
    "wait_time method": r"def wait_time\(self\)",
    "weight": r"\bweight = \d",
    "fixed_count": r"fixed_count = \d",
    "abstract": r"abstract = True",
    "on_start": r"def on_start\(self\)",
    "on_stop": r"def on_stop\(self\)",
    "__init__(self, environment)": r"def __init__\(self, environment\)",
    "self.environment": r"self\.environment\b",
    "events.init": r"@events\.init\.add_listener",
    "events.test_start": r"@events\.test_start\.add_listener",
    "events.test_stop": r"@events\.test_stop\.add_listener",
    "events.quitting": r"@events\.quitting\.add_listener",
    "events.request listener": r"@events\.request\.add_listener",
    "environment.runner.quit()": r"environment\.runner\.quit\(\)",
    "environment.parsed_options": r"environment\.parsed_options",
    "LoadTestShape": r"\(LoadTestShape\)",
    "tick": r"def tick\(self\)",
    "catch_response": r"catch_response=True",
    "success()": r"\.success\(\)",
    "failure()": r"\.failure\(",
    "name=": r"\bname=",
    "data= form dict": r"data=\{|data=CREDENTIALS",
    "data= str": r"data=\"",
    "data= bytes": r"data=b['\"]",
    "data= open file": r"data=f\b",
    "json=": r"\bjson=",
    "params=": r"\bparams=",
    "headers=": r"\bheaders=",
    "self.client.headers": r"self\.client\.headers",
    "auth=": r"\bauth=\(",
    "allow_redirects=": r"allow_redirects=False",
    "timeout=": r"\btimeout=\d",
    "verify=": r"\bverify=False",
    "cookie login": r"/login",
    "redirect": r"/redirect/",
    "gzip": r"/gzip",
    "raise_for_status": r"raise_for_status\(\)",
    "response.json()": r"\.json\(\)",
    "response.text": r"\.text\b",
    "response.content": r"\.content\b",
    "response.headers": r"resp\.headers",
    "response.cookies": r"\.cookies\b",
    "response.url": r"resp\.url\b",
    "response.history": r"\.history\b",
    "response.elapsed": r"\.elapsed\b",
    "response.ok": r"\.ok\b",
    "StopUser": r"raise StopUser\(\)",
    "RescheduleTask": r"raise RescheduleTask\(\)",
    "RescheduleTaskImmediately": r"raise RescheduleTaskImmediately\(\)",
    "InterruptTaskSet": r"raise InterruptTaskSet\(",
    "CatchResponseError": r"CatchResponseError\)",
    "time.sleep": r"time\.sleep\(",
    "gevent.sleep": r"gevent\.sleep\(",
    "rest()": r"self\.rest\(",
    "run_single_user": r"run_single_user\(",
    "__main__": r'if __name__ == "__main__":',
}


def test_the_corpus_uses_every_name_issue_21_lists() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in GOOD_FILES)
    missing = [name for name, pattern in ISSUE_21_NAMES.items() if not re.search(pattern, source)]
    assert not missing, f"no corpus file uses: {missing}"


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: p.name)
def test_each_corpus_file_says_what_it_exercises(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert "Exercises:" in doc and "Rows" in doc


def test_the_manifest_covers_every_corpus_file() -> None:
    assert {f.file for f in CORPUS_FILES.values()} == {p.name for p in GOOD_FILES}


def test_locust_loads_every_corpus_file_at_once(tmp_path: Path) -> None:
    """One Locust process, every good file (their class names are unique), --list."""
    files = ",".join(str(p) for p in GOOD_FILES)
    out = subprocess.run(
        [*locust_command(), "-f", files, "--list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    listed = set(out.stdout.split()) - {"Available", "Users:"}
    assert listed == {
        "ShopVisitor", "CatalogReader", "CatalogWriter", "ForumVisitor", "Buyer", "Customer",
        "Traveller", "CacheUser", "Shopper", "Reader", "Poller", "Browser", "Editor",
        "Auditor", "Pager",
    }  # fmt: skip


@pytest.mark.parametrize("name", ["syntax_error.py", "no_user_class.py", "only_abstract.py"])
def test_locust_refuses_the_bad_files(tmp_path: Path, name: str) -> None:
    """The bad files are bad for Locust too (gevent_spawn.py is bad only for us: Locust
    runs it, on gevent)."""
    out = subprocess.run(
        [*locust_command(), "-f", str(BAD / name), "--headless", "-t", "1s", "-H", "http://x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode != 0
    if name == "syntax_error.py":
        assert "SyntaxError" in out.stderr and "line 8" in out.stderr
    else:
        assert "No User class found" in out.stderr


def test_the_bad_files_say_what_is_wrong_where() -> None:
    gevent_file = (BAD / "gevent_spawn.py").read_text(encoding="utf-8").splitlines()
    assert "gevent.spawn(" in gevent_file[12]  # line 13, as BAD_FILES says
    with pytest.raises(SyntaxError) as err:
        compile((BAD / "syntax_error.py").read_text(encoding="utf-8"), "syntax_error.py", "exec")
    assert err.value.lineno == 8
    assert set(BAD_FILES) == {p.name for p in BAD.glob("*.py")}


# --------------------------------------------------------------- the Locust runs


# ------------------------------------------------------------------ compare_rows


def _rows(*rows: Row, failures: dict[tuple[str, str, str], int] | None = None) -> CsvRows:
    total = Row("", "Aggregated", sum(r.requests for r in rows), sum(r.failures for r in rows))
    columns = {"stats": ["Type", "Name", "Request Count"], "failures": ["Method", "Name"]}
    return CsvRows({(r.method, r.name): r for r in rows}, total, failures or {}, {}, columns)


LOCUSTS = _rows(
    Row("GET", "/a", 600, 0),
    Row("GET", "/b", 300, 0),
    Row("GET", "/fail", 100, 100),
    failures={("GET", "/fail", "HTTPError('500 for url: /fail')"): 100},
)


def test_compare_rows_accepts_the_same_split_at_another_size() -> None:
    ours = _rows(
        Row("GET", "/a", 6120, 0),
        Row("GET", "/b", 2900, 0),
        Row("GET", "/fail", 980, 980),
        failures={("GET", "/fail", "HTTPError('500 for url: /fail')"): 980},
    )
    assert compare_rows(ours, LOCUSTS) == []


def test_compare_rows_names_each_difference() -> None:
    ours = _rows(
        Row("GET", "/a", 500, 0),  # 50 % against 60 %: outside 5 points
        Row("GET", "/c", 400, 0),  # a row Locust does not have, and /b missing
        Row("GET", "/fail", 100, 90),  # Locust failed all of them
        failures={("GET", "/fail", "HTTPError('500')"): 90},
    )
    problems = compare_rows(ours, LOCUSTS)
    text = "\n".join(problems)
    assert "rows only Locust has: [('GET', '/b')]" in text
    assert "rows only we have: [('GET', '/c')]" in text
    assert "('GET', '/a'): 50.0% of requests here, 60.0% in Locust" in text
    assert "('GET', '/fail'): Locust failed all, we failed 90/100" in text
    assert "failure messages" in text
    assert compare_rows(ours, LOCUSTS, tolerance=0.2, messages=False) == [
        p for p in problems if "rows only" in p or "failed all" in p
    ]


def test_compare_rows_checks_the_csv_columns_and_hosts() -> None:
    ours = replace(
        LOCUSTS,
        columns={"stats": ["Type", "Name", "Requests"], "failures": ["Method", "Name"]},
        failures={("GET", "/fail", "HTTPError('500 for url: http://127.0.0.1:1/fail')"): 100},
    )
    theirs = replace(
        LOCUSTS,
        failures={("GET", "/fail", "HTTPError('500 for url: http://127.0.0.1:2/fail')"): 100},
    )
    problems = compare_rows(ours, theirs, hosts=("http://127.0.0.1:1", "http://127.0.0.1:2"))
    assert problems == [
        "_stats.csv columns ['Type', 'Name', 'Requests'] != Locust's ['Type', 'Name',"
        " 'Request Count']"
    ]
    assert compare_rows(
        ours, theirs, hosts=(), ignore_columns={"stats": ["Requests", "Request Count"]}
    )
