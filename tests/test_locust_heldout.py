"""Held-out locustfiles (tests/locustfiles_heldout/): written from Locust's documentation
the way other people write them, not for our corpus. Each is run by ``tui-loadtest locust
run`` against the counting target; what a row counts must be what the server saw, and the
failure messages are the ones real Locust writes for the same file (checked by hand
against Locust 2.47 when the file was written; the messages are spelled out here).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .locust_parity import LocustRun, our_command, run_ours
from .locust_target import LocustTarget

pytestmark = pytest.mark.timeout(120)

HELDOUT = Path(__file__).parent / "locustfiles_heldout"


@pytest.fixture(scope="module")
def target() -> Iterator[LocustTarget]:
    with LocustTarget() as found:
        yield found


def ours(name: str, target: LocustTarget, folder: Path, **kw: object) -> LocustRun:
    kw.setdefault("seconds", 2)
    kw.setdefault("users", 2)
    return run_ours(HELDOUT / f"{name}.py", target, folder, **kw)  # type: ignore[arg-type]


def test_json_and_http_errors_are_caught_by_the_names_locust_documents(
    target: LocustTarget, tmp_path: Path
) -> None:
    """``except JSONDecodeError`` (Locust's catch_response example), requests' own
    JSONDecodeError and HTTPError, and FastHttpUser's LocustBadStatusCode from
    raise_for_status: each block marks its request failed with its own message, and
    nothing escapes into the task."""
    run = ours("json_and_http_errors", target, tmp_path)
    rows = run.rows
    expected = {
        ("GET", "/"): "CatchResponseError('Response could not be decoded as JSON')",
        ("GET", "/text"): (
            "CatchResponseError('requests: Expecting value: line 1 column 1 (char 0)')"
        ),
        ("GET", "/status/503"): "CatchResponseError('HTTPError: 503')",
        ("GET", "fast /"): "CatchResponseError('fast: Expecting value: line 1 column 1 (char 0)')",
        ("GET", "/status/502"): "CatchResponseError('fast: LocustBadStatusCode(code=502)')",
    }
    assert rows.exceptions == {}, run.output[-3000:]
    assert set(rows.rows) == set(expected)
    for key, message in expected.items():
        row = rows.rows[key]
        assert row.requests > 0 and row.failures == row.requests, key
        assert rows.messages(key) == {message}, key
    server = run.server
    assert rows.requests(("GET", "/")) + rows.requests(("GET", "fast /")) == server[("GET", "/")]
    for path in ("/text", "/status/503", "/status/502"):
        assert rows.requests(("GET", path)) == server[("GET", path)], path


def test_a_ci_gate_reads_locusts_stats_in_a_listener(target: LocustTarget, tmp_path: Path) -> None:
    """A quitting listener that gates on ``environment.runner.stats.total`` (rates,
    percentiles, content sizes, timestamps) after setting Locust's stats constants at
    import: its exit code is the run's, and its figures are the server's."""
    run = ours("stats_in_listeners", target, tmp_path)
    assert run.rows.exceptions == {}, run.output[-3000:]
    assert run.exit_code == 3, run.output[-3000:]  # a quarter of the requests fail
    served = sum(run.server.values())
    failed = run.server[("GET", "/status/404")]
    assert served > 0 and failed > 0
    gate = next(line for line in run.output.splitlines() if line.startswith("GATE "))
    assert gate == (
        f"GATE requests={served} failures={failed} none=0 rps_positive=True median=True"
        " p95=True sized=True since_start=True"
    )


def test_fast_http_users_own_timeouts_are_kept(target: LocustTarget, tmp_path: Path) -> None:
    """``network_timeout`` on a FastHttpUser class bounds its requests as ``timeout=``
    bounds a request: each 1.2 s request fails after 0.3 s, on both classes alike."""
    run = ours("fast_timeouts", target, tmp_path, seconds=3)
    rows = run.rows
    assert rows.exceptions == {}, run.output[-3000:]
    assert set(rows.rows) == {("GET", "fast slow"), ("GET", "requests slow")}
    for key in rows.rows:
        row = rows.rows[key]
        # a user waiting 1.2 s each time would send 3 at most in the 3 s
        assert row.requests >= 4 and row.failures == row.requests, (key, row)
        assert rows.messages(key) == {"no complete response within 0.3s"}, key
    assert rows.total.requests == run.server[("GET", "/slow")]


def test_the_cookie_jar_reads_as_requests_jar(target: LocustTarget, tmp_path: Path) -> None:
    """``self.client.cookies.update(...)`` (a dict, a response's cookies), item
    assignment, ``get_dict()`` and ``set(..., domain=, path=)``: every cookie goes out
    with the next requests, and the logged-in session holds."""
    run = ours("cookie_jar", target, tmp_path)
    rows = run.rows
    assert rows.exceptions == {}, run.output[-3000:]
    assert set(rows.rows) == {
        ("POST", "/login"),
        ("GET", "echo"),
        ("GET", "/account"),
        ("GET", "/logout"),
    }
    assert rows.total.failures == 0, rows.failures
    assert rows.requests(("POST", "/login")) == rows.requests(("GET", "/logout")) == 2
    assert rows.requests(("GET", "echo")) == run.server[("GET", "/echo")] > 0
    assert rows.requests(("GET", "/account")) == run.server[("GET", "/account")] > 0


def test_a_shared_client_pool_and_locusts_helpers_load(
    target: LocustTarget, tmp_path: Path
) -> None:
    """``from geventhttpclient.client import HTTPClientPool`` for ``client_pool``,
    ``locust.util.timespan.parse_timespan`` and ``locust.runners.STATE_*``: the file
    runs, and what it sent is what the server counted."""
    run = ours("shared_pool_and_helpers", target, tmp_path)
    rows = run.rows
    assert run.exit_code == 0, run.output[-3000:]
    assert rows.exceptions == {}
    assert set(rows.rows) == {("GET", "/api/pooled")}
    assert rows.requests(("GET", "/api/pooled")) == run.server[("GET", "/api/pooled")] > 0


def test_a_host_with_a_path_names_rows_as_each_locust_client_does(
    target: LocustTarget, tmp_path: Path
) -> None:
    """``--host http://HOST/api``: HttpUser's row is the path it requested, FastHttpUser's
    the URL as the task wrote it, as Locust names them; both reach /api/..."""
    run = ours("host_with_path", target, tmp_path, args=["--host", f"{target.url}/api"])
    rows = run.rows
    assert rows.exceptions == {}, run.output[-3000:]
    assert set(rows.rows) == {("GET", "/api/items"), ("GET", "/items/3?x=1")}
    assert rows.requests(("GET", "/api/items")) == run.server[("GET", "/api/items")] > 0
    assert rows.requests(("GET", "/items/3?x=1")) == run.server[("GET", "/api/items/3")] > 0


def test_a_with_block_without_catch_response_fails_only_where_locust_fails(
    target: LocustTarget, tmp_path: Path
) -> None:
    """HttpUser: each such block raises Locust's LocustError (counted once per run of the
    task, the request counted as sent); FastHttpUser: the block runs, nothing raises."""
    run = ours("with_without_catch_response", target, tmp_path)
    rows = run.rows
    with_rows = rows.requests(("GET", "/api/with"))
    assert with_rows == run.server[("GET", "/api/with")] > 0
    assert rows.requests(("GET", "/api/fastwith")) == run.server[("GET", "/api/fastwith")] > 0
    assert rows.total.failures == 0
    assert rows.exceptions == {
        "LocustError: In order to use a with-block for requests, you must also pass"
        " catch_response=True": with_rows
    }


def test_runner_messages_reach_their_listener_in_one_process(
    target: LocustTarget, tmp_path: Path
) -> None:
    """``register_message``/``send_message`` as Locust's docs hand out test data: the
    listener gets the data (and its reply comes back) before the users need it."""
    run = ours("messages_to_self", target, tmp_path)
    rows = run.rows
    assert rows.exceptions == {}, run.output[-3000:]
    assert run.exit_code == 0
    served = sum(n for (m, p), n in run.server.items() if p.startswith("/api/items/"))
    assert rows.requests(("GET", "/api/items/[id]")) == served > 0
    assert set(run.server) <= {("GET", f"/api/items/{i}") for i in (3, 5, 8)}
    assert "THANKS ['local: 3']" in run.output


def refused(name: str, cwd: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    bad = HELDOUT / "bad" / f"{name}.py"
    done = subprocess.run(
        [*our_command(), "locust", "run", "-f", str(bad), "--headless", "-H", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    return bad, done


def test_geventhttpclient_beyond_the_pool_is_refused_in_one_line(tmp_path: Path) -> None:
    """geventhttpclient's own client cannot run here: one line naming the file, the line
    and the name, exit 2 (its HTTPClientPool, above, is accepted)."""
    bad, done = refused("geventhttpclient_client", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"tui-loadtest: error: {bad}:4: geventhttpclient.HTTPClient is not supported (requests"
        " go out on tui-loadtest's transport: use self.client)"
    ]


def test_an_event_locust_no_longer_has_is_refused_as_locust_refuses_it(tmp_path: Path) -> None:
    """``events.request_success`` (Locust 1.x) fails to load under Locust 2: here too, in
    one line, rather than a listener silently never called."""
    bad, done = refused("locust1_events", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"tui-loadtest: error: {bad}:9: AttributeError: 'Events' object has no attribute"
        " 'request_success'"
    ]
