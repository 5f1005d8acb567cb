"""The locustfile corpus (tests/locustfiles/) run twice, by real Locust and by our engine
(``tui-loadtest locust run``, the same command line), each run against a counting
target of its own (issue 21).

Locust's runs validate the corpus and the harness: their rows match what the server
counted, exactly. Ours must match the server too, with Locust's failure messages and
exit codes, and agree with Locust's runs (``compare_rows``: the same rows, the same
split within a tolerance, the same failures and CSV columns). Both sets of runs are
module fixtures (tests/locust_runs.py), three runs at a time: every test that reads
them lives here, so that a parallel test run makes them once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .locust_corpus import CORPUS_FILES
from .locust_parity import LocustRun, compare_rows, read_csv_rows, run_locust, run_ours
from .locust_runs import Runs, corpus_runs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def locust_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every corpus file under real Locust (and the custom-client file a second time)."""
    jobs = {**CORPUS_FILES, "kv-again": CORPUS_FILES["kv"]}
    yield corpus_runs(run_locust, tmp_path_factory.mktemp("locust-corpus"), jobs)


@pytest.fixture(scope="module")
def our_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every corpus file under ``tui-loadtest locust run``, the same command line."""
    yield corpus_runs(run_ours, tmp_path_factory.mktemp("our-corpus"), dict(CORPUS_FILES))


# Where our run differs from Locust's on purpose (docs/locust.md says so): a transport
# failure (no response) keeps our message, which names what happened, where requests
# writes its exception's repr.
OUR_MESSAGES = {("GET", "/redirect/loop"): "more than 30 redirects (the last to /redirect/loop)"}

# How far each row's share of requests may be from Locust's, in points. Short runs of
# random task choices differ by a few points between two Locust runs of one file (a
# task set sends several requests per choice); ten points still catches a weight or a
# task set followed wrongly. Files whose split follows time rather than weights are
# compared on rows, failures and columns only: lifecycle's users end themselves after a
# fixed number of orders, and shaped's users loop as fast as their wait_time allows,
# which Locust's CPU-bound users do not.
TOLERANCE = {"lifecycle": 1.0, "lifecycle-no-broken": 1.0, "shaped": 1.0}
DEFAULT_TOLERANCE = 0.10


def _locust_run(locust_runs: Runs, name: str) -> LocustRun:
    return locust_runs.run(name)


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_locusts_rows_match_what_the_server_counted(locust_runs: Runs, name: str) -> None:
    spec = CORPUS_FILES[name]
    run = _locust_run(locust_runs, name)
    rows = run.rows
    assert run.exit_code == spec.exit_code, run.output[-2000:]
    assert set(rows.rows) == spec.rows
    assert rows.total.requests == sum(r.requests for r in rows.rows.values()) > 0
    assert not rows.exceptions, rows.exceptions
    # every request Locust recorded reached the server, and nothing else did
    expected = spec.expected_server(rows)
    seen = spec.server_seen(run.server, run.other)
    assert +seen == +expected
    if not spec.http:
        assert not run.server and not run.other
    # deterministic failures: these rows fail every time, with Locust's message; no
    # other row fails
    for key, row in rows.rows.items():
        if key in spec.failing:
            assert row.failures == row.requests, key
            assert rows.messages(key) == {spec.failing[key]}
        else:
            assert row.failures == 0, (key, rows.messages(key))


def test_locust_reads_parsed_options_and_its_own_flag(locust_runs: Runs) -> None:
    run = _locust_run(locust_runs, "custom-option")
    assert run.server == {("GET", "/api/items"): run.rows.total.requests}
    assert "--page-size" in run.args


def test_two_locust_runs_of_one_file_compare_equal(locust_runs: Runs) -> None:
    """No false alarm: Locust against itself (4 rows, thousands of calls each run)."""
    first = _locust_run(locust_runs, "kv").rows
    second = _locust_run(locust_runs, "kv-again").rows
    assert compare_rows(first, second) == []


def test_read_csv_rows_reads_locusts_files(locust_runs: Runs) -> None:
    run = _locust_run(locust_runs, "shop")
    again = read_csv_rows(run.prefix)
    assert again == run.rows
    assert again.columns["stats"][:4] == ["Type", "Name", "Request Count", "Failure Count"]
    assert again.columns["failures"][:4] == ["Method", "Name", "Error", "Occurrences"]
    assert "Timestamp" in again.columns["stats_history"]


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_our_rows_match_what_the_server_counted(our_runs: Runs, name: str) -> None:
    spec = CORPUS_FILES[name]
    run = our_runs.run(name)
    rows = run.rows
    assert run.exit_code == spec.exit_code, run.output[-3000:]
    assert set(rows.rows) == spec.rows, run.output[-3000:]
    assert rows.total.requests == sum(r.requests for r in rows.rows.values()) > 0
    # every request a row counts reached the server, and nothing else did
    seen, expected = +spec.server_seen(run.server, run.other), +spec.expected_server(rows)
    assert seen == expected, run.output[-4000:]
    if not spec.http:
        assert not run.server and not run.other
    for key, row in rows.rows.items():
        if key in spec.failing:
            assert row.failures == row.requests, key
            assert rows.messages(key) == {OUR_MESSAGES.get(key, spec.failing[key])}
        else:
            assert row.failures == 0, (key, rows.messages(key))
    assert "Traceback" not in run.output


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_our_runs_agree_with_locusts(our_runs: Runs, locust_runs: Runs, name: str) -> None:
    ours, theirs = our_runs.run(name), locust_runs.run(name)
    problems = compare_rows(
        ours.rows,
        theirs.rows,
        TOLERANCE.get(name, DEFAULT_TOLERANCE),
        hosts=(ours.args[-1], theirs.args[-1]),
    )
    failing = CORPUS_FILES[name].failing
    expected = [
        f"{key}: failure messages {[message]} != Locust's {[failing[key]]}"
        for key, message in OUR_MESSAGES.items()
        if key in failing
    ]
    assert problems == expected


def test_on_stop_requests_go_out_when_the_run_ends(our_runs: Runs, locust_runs: Runs) -> None:
    """As in Locust, a user stopped at the end runs on_stop, and its logout is sent and
    counted (one per user)."""
    for run in (our_runs.run("shop"), locust_runs.run("shop")):
        assert run.rows.requests(("POST", "/logout")) == 4 == run.server[("POST", "/logout")]
