"""Locustfiles on our engine (issue 21): the corpus (tests/locustfiles/), unchanged, run by
``tui-loadtest locust run`` with Locust's own command line, against the counting target.

Each run's rows, multiplied out by what each row stands for, must equal what the server
itself counted, exactly; rows that fail every time fail with Locust's message; exit codes
are Locust's. Each run is then compared with real Locust's run of the same file
(``compare_rows``: the same rows, the same split, the same failures and CSV columns).
Bad files get one line naming the file (and the line), exit 2. The guide's command
lines run as written, --master and --worker included (on a real Dask scheduler).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from .locust_corpus import BAD, CORPUS_FILES
from .locust_parity import (
    CORPUS,
    locust_command,
    our_command,
    read_csv_rows,
    run_locust,
    run_ours,
)
from .locust_target import LocustTarget

pytestmark = pytest.mark.timeout(240)


def tui(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    return subprocess.run(
        [*our_command(), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env
    )


# ---------------------------------------------------------------- the corpus, ours


def test_a_locustfile_runs_as_our_own_scenario(tmp_path: Path) -> None:
    """``tui-loadtest run locustfile.py``: our command line, our report, the same rows."""
    with LocustTarget() as target:
        out = tui(
            "run", str(CORPUS / "checkout_flow.py"), "--no-ui", "-u", "3", "-t", "2s",
            "--host", target.url, "--out", "r.json", cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
        counted = {(e["method"], e["name"]): e["requests"] for e in report["endpoints"]}
        server = target.counts()
    spec = CORPUS_FILES["checkout"]
    assert sum(server.values()) == sum(counted.values()) > 0
    assert {k for k, n in counted.items() if n} <= spec.rows
    tasks = {f["name"]: f["iterations"] for f in report["flows"]}  # the task table
    assert tasks["Checkout.pay"] > 0 and tasks["Wander.home"] > 0


# ---------------------------------------------------------------- what Locust prints


@pytest.mark.parametrize(
    ("file", "flags"),
    [
        ("forum_tasksets.py", ("--show-task-ratio",)),
        ("weighted_classes.py", ("--show-task-ratio", "-u", "5")),
        ("forum_tasksets.py", ("-l",)),
    ],
)
def test_listing_and_task_ratios_read_as_locusts(
    tmp_path: Path, file: str, flags: tuple[str, ...]
) -> None:
    ours = tui("locust", "run", "-f", str(CORPUS / file), *flags, cwd=tmp_path)
    theirs = subprocess.run(
        [*locust_command(), "-f", str(CORPUS / file), *flags],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert ours.returncode == 0 == theirs.returncode, ours.stderr
    their_lines = [ln.rstrip() for ln in theirs.stdout.splitlines() if "locust.main" not in ln]
    assert [line.rstrip() for line in ours.stdout.splitlines()] == their_lines


def test_task_ratio_json_equals_locusts(tmp_path: Path) -> None:
    file = str(CORPUS / "forum_tasksets.py")
    ours = tui("locust", "run", "-f", file, "--show-task-ratio-json", cwd=tmp_path)
    theirs = subprocess.run(
        [*locust_command(), "-f", file, "--show-task-ratio-json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert json.loads(ours.stdout) == json.loads(theirs.stdout)
    assert json.loads(ours.stdout)["total"]  # a tree, not an empty answer


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("-f", str(BAD / "syntax_error.py")), "syntax_error.py:8: SyntaxError"),
        (("-f", str(BAD / "gevent_spawn.py")), "gevent_spawn.py:13: gevent.spawn is not supported"),
        (("-f", str(BAD / "no_user_class.py")), "no_user_class.py: no user class"),
        (("-f", str(BAD / "only_abstract.py")), "to run: BaseApi, AdminBase are abstract"),
        (("-f", str(CORPUS / "shop_http.py"), "NoSuchUser"), "no user class named 'NoSuchUser'"),
        (("-f", "missing.py"), "-f missing.py: no such locustfile"),
    ],
)  # fmt: skip
def test_a_bad_locustfile_gets_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    dead = "http://127.0.0.1:9"  # never reached: the file is refused first
    out = tui("locust", "run", *args, "--headless", "-t", "1s", "-H", dead, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_our_run_command_refuses_a_bad_locustfile_the_same_way(tmp_path: Path) -> None:
    out = tui("run", str(BAD / "syntax_error.py"), "--no-ui", "-t", "1s", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"tui-loadtest: error: {BAD / 'syntax_error.py'}:8: SyntaxError: expected ':'"
    ]


# ---------------------------------------------------------------- the guide's lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_counted_but_abandoned(
    counted: Counter[tuple[str, str]], seen: Counter[tuple[str, str]], users: int
) -> None:
    """Without --stop-timeout, `locust run` gives up the requests in flight at the stop,
    as Locust does (it kills its users): the server saw those, the rows do not count
    them. Every row's count is the server's, or a few under it: at most one per user
    in all."""
    assert all(seen[k] >= n for k, n in counted.items()), (counted, seen)
    assert 0 <= sum(seen.values()) - sum(counted.values()) <= users, (counted, seen)


def test_master_and_two_workers_as_the_guide_runs_them(tmp_path: Path) -> None:
    """``--master --expect-workers 2`` and two ``--worker`` processes: a real Dask
    scheduler and two Dask workers; the master's totals equal the server's."""
    port = _free_port()
    file = str(CORPUS / "shop_http.py")
    with LocustTarget() as target:
        master = subprocess.Popen(
            [*our_command(), "locust", "run", "-f", file, "--host", target.url, "--master",
             "--expect-workers", "2", "--master-bind-port", str(port), "--headless",
             "-u", "4", "-r", "10", "-t", "3s", "--csv", "m"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        workers = [
            subprocess.Popen(
                [
                    *our_command(),
                    "locust",
                    "run",
                    "-f",
                    file,
                    "--host",
                    target.url,
                    "--worker",
                    "--master-port",
                    str(port),
                ],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(2)
        ]
        try:
            _, err = master.communicate(timeout=120)
            codes = [w.wait(60) for w in workers]  # a worker leaves when its master goes
        finally:
            for proc in (master, *workers):  # only what this test started, by PID
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        server = target.counts()
    assert master.returncode == CORPUS_FILES["shop"].exit_code, err[-3000:]
    assert codes == [0, 0]
    rows = read_csv_rows(tmp_path / "m")
    assert_counted_but_abandoned(
        CORPUS_FILES["shop"].expected_server(rows), CORPUS_FILES["shop"].server_seen(server, {}), 4
    )
    assert rows.requests(("POST", "/login")) == 4  # four users in all, over two workers
    assert "Traceback" not in err


def test_processes_split_the_users_and_count_them_all(tmp_path: Path) -> None:
    file = str(CORPUS / "weighted_classes.py")
    with LocustTarget() as target:
        out = tui(
            "locust", "run", "-f", file, "--host", target.url, "--headless", "--processes", "2",
            "-u", "5", "-r", "50", "-t", "2s", "--csv", "p", cwd=tmp_path,
        )  # fmt: skip
        server = target.counts()
    assert out.returncode == 0, out.stderr[-2000:]
    rows = read_csv_rows(tmp_path / "p")
    spec = CORPUS_FILES["weighted"]
    assert_counted_but_abandoned(spec.expected_server(rows), spec.server_seen(server, {}), 5)
    assert rows.requests(("GET", "session")) == 5  # each of the 5 users' on_start, once


def test_the_guides_headless_line_writes_the_html_report(tmp_path: Path) -> None:
    with LocustTarget() as target:
        out = tui(
            "locust", "run", "-f", str(CORPUS / "fast_catalog.py"), f"--host={target.url}",
            "--users=4", "--spawn-rate=10", "--run-time=2s", "--headless", "--html=report.html",
            cwd=tmp_path,
        )  # fmt: skip
    assert out.returncode == CORPUS_FILES["fast"].exit_code, out.stderr[-2000:]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and "/api/items" in html


# ---------------------------------------------------------------- how users stop

STOPPING = """
import time
from locust import HttpUser, constant, task


class Slow(HttpUser):
    wait_time = constant(0)

    @task
    def two_steps(self):
        self.client.get("/api/products")
        time.sleep(1.5)
        self.client.get("/api/news")

    def on_stop(self):
        self.client.post("/logout")
"""


@pytest.mark.parametrize("stop_timeout", [0, 5])
def test_stop_timeout_lets_the_task_in_progress_finish(tmp_path: Path, stop_timeout: int) -> None:
    """Without --stop-timeout a user is interrupted where it waits (its second step never
    goes); with it, the task ends first. Either way on_stop runs and its request is sent,
    once per user, as Locust does."""
    (tmp_path / "locustfile.py").write_text(STOPPING, encoding="utf-8")
    with LocustTarget() as target:
        out = tui(
            "locust", "run", "-f", "locustfile.py", "--host", target.url, "--headless",
            "-u", "3", "-r", "100", "-t", "1s", "--stop-timeout", str(stop_timeout),
            "--csv", "s", cwd=tmp_path,
        )  # fmt: skip
        server = target.counts()
    assert out.returncode == 0, out.stderr[-2000:]
    rows = read_csv_rows(tmp_path / "s")
    assert server[("GET", "/api/products")] == 3 == rows.requests(("GET", "/api/products"))
    finished = 3 if stop_timeout else 0
    assert server[("GET", "/api/news")] == finished == rows.requests(("GET", "/api/news"))
    assert server[("POST", "/logout")] == 3 == rows.requests(("POST", "/logout"))


SHAPED_CLASSES = """
from locust import HttpUser, LoadTestShape, constant, task


class First(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/api/first")

    @task
    def idle(self):
        pass


class Second(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/api/second")

    @task
    def idle(self):
        pass


class Steps(LoadTestShape):
    def tick(self):
        t = self.get_run_time()
        if t < 1:
            return (2, 100, [First])
        if t < 2:
            return (5, 100, [Second])
        return None
"""


def test_a_shape_tick_names_the_classes_new_users_are_of(tmp_path: Path) -> None:
    """(2, rate, [First]) then (5, rate, [Second]): two First users, then three Second
    ones; Locust counts the same (each user's on_start sends one request)."""
    (tmp_path / "locustfile.py").write_text(SHAPED_CLASSES, encoding="utf-8")
    seen = []
    for command in (our_command(), locust_command()):
        with LocustTarget() as target:
            out = subprocess.run(
                [*command, *(["locust", "run"] if command == our_command() else []),
                 "-f", "locustfile.py", "--host", target.url, "--headless"],
                capture_output=True, text=True, cwd=tmp_path, timeout=120,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr[-2000:]
            counts = target.counts()
            seen.append((counts[("GET", "/api/first")], counts[("GET", "/api/second")]))
    assert seen == [(2, 3), (2, 3)]


BLOCKING = """
import select
from locust import HttpUser, constant, task


class Reporter(HttpUser):
    wait_time = constant(0.05)

    @task
    def lookup(self):
        self.client.get("/api/products")
        select.select([], [], [], 0.25)  # a library's blocking call, as a database driver's
"""


def test_a_task_that_blocks_the_loop_is_named(tmp_path: Path) -> None:
    """A blocking call in a task stalls every user of its worker: one warning names the
    task and its line, with what to use instead in a locustfile."""
    (tmp_path / "locustfile.py").write_text(BLOCKING, encoding="utf-8")
    with LocustTarget() as target:
        out = tui(
            "locust", "run", "-f", "locustfile.py", "--host", target.url, "--headless",
            "-u", "1", "-t", "2s", cwd=tmp_path,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    warnings = [ln for ln in out.stderr.splitlines() if "event loop was blocked" in ln]
    assert len(warnings) == 1, out.stderr
    assert "by lookup (locustfile.py:12)" in warnings[0] and "self.client" in warnings[0]


def test_users_per_class_are_reported_as_locust_spawns_them(tmp_path: Path) -> None:
    """fixed_count first, then the weights: the report's users by class equal what real
    Locust says it spawned for the same file and -u, and the summary names them."""
    file = str(CORPUS / "weighted_classes.py")
    with LocustTarget() as target:
        theirs = subprocess.run(
            [*locust_command(), "-f", file, "-H", target.url, "-u", "10", "-r", "100",
             "-t", "1s", "--headless", "--only-summary"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
        )  # fmt: skip
        ours = tui(
            "run", file, "--host", target.url, "-u", "10", "-r", "100", "-t", "2s", "--no-ui",
            "--out", "r.json", cwd=tmp_path,
        )  # fmt: skip
    spawned = re.search(r"All users spawned: (\{.*?\})", theirs.stderr)
    assert spawned, theirs.stderr[-2000:]
    assert ours.returncode == 0, ours.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["outcome"]["users"]["by_class"] == json.loads(spawned.group(1))
    assert "10 reached (at most 7 Browser, 2 Editor, 1 Auditor)" in " ".join(ours.stdout.split())


def test_the_users_tile_fits_the_classes_it_can() -> None:
    from tui_loadtest.ui.widgets.kpi import by_class

    counts = (("Auditor", 1), ("Browser", 7), ("Editor", 2))
    assert by_class(counts, 40) == "7 Browser · 2 Editor · 1 Auditor"
    assert by_class(counts, 26) == "7 Browser · 2 Editor +1"
    assert by_class(counts, 12) == "7 Browser +2"


PRINTS = """
from locust import HttpUser, constant, events, task


@events.test_start.add_listener
def started(environment, **kwargs):
    o = environment.parsed_options
    print("options:", o.host == environment.host, o.num_users, o.spawn_rate, o.run_time,
          environment.web_ui)


class Quiet(HttpUser):
    wait_time = constant(0.2)

    @task
    def one(self):
        self.client.get("/api/products")
"""


@pytest.mark.parametrize("command", ["locust run", "run"])
def test_parsed_options_and_prints_reach_the_terminal(tmp_path: Path, command: str) -> None:
    """A listener reads environment.parsed_options (host, users, spawn rate, run time,
    as Locust sets them) with either command line, and what it prints shows, on stderr
    (stdout stays the report's), as under Locust."""
    (tmp_path / "locustfile.py").write_text(PRINTS, encoding="utf-8")
    with LocustTarget() as target:
        if command == "run":
            args = ["run", "locustfile.py", "--no-ui", "--host", target.url]
        else:
            args = ["locust", "run", "-f", "locustfile.py", "--headless", "-H", target.url]
        out = tui(*args, "-u", "3", "-r", "5", "-t", "2s", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "options: True 3 5.0 2 None" in out.stderr.splitlines()
    assert "options:" not in out.stdout


LYING = """
from locust import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0.01)

    @task
    def read(self):
        self.client.get("/fault")
"""


def run_lying(
    tmp_path: Path, mode: str, *flags: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, int], float]:
    """LYING under `locust run` against a FaultServer in ``mode``: the command's result,
    what the server counted, and how long the command took."""
    from .fault_server import FaultServer

    (tmp_path / "locustfile.py").write_text(LYING, encoding="utf-8")
    server = FaultServer()
    try:
        server.set_mode(mode)
        started = time.monotonic()
        out = tui(
            "locust", "run", "-f", "locustfile.py", "-H", server.url, "--headless", *flags,
            cwd=tmp_path,
        )  # fmt: skip
        took = time.monotonic() - started
        return out, server.stats(), took
    finally:
        server.stop()


def test_a_server_sending_past_its_content_length_costs_no_request(tmp_path: Path) -> None:
    """Each response is followed by 9 bytes it did not announce: as under requests, the
    connection goes and the next request takes a new one; every request the server
    answered is a success, and only those are counted."""
    out, seen, _ = run_lying(
        tmp_path, "overlong", "-u", "2", "-t", "1s", "--csv", "o",
        "--stop-timeout", "5",  # requests in flight at the stop end (else given up)
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = read_csv_rows(tmp_path / "o")
    assert rows.requests(("GET", "/fault")) == seen["requests"] > 0
    assert rows.total.failures == 0
    assert seen["connections"] >= seen["requests"]  # a new connection after each response


FAILS_AFTER_A_REQUEST = """
from locust import HttpUser, constant, task


class Checker(HttpUser):
    wait_time = constant(0.01)

    @task
    def check(self):
        r = self.client.get("/api/products")
        assert r.status_code == 418, "not a teapot"
"""


def test_a_task_failing_after_its_request_keeps_its_pace(tmp_path: Path) -> None:
    """A task that sends, then fails an assert: each run is an error and the user goes
    on at its wait_time, as in Locust (it waited for a response: it cannot spin, so it
    is not slowed down)."""
    (tmp_path / "locustfile.py").write_text(FAILS_AFTER_A_REQUEST, encoding="utf-8")
    with LocustTarget() as target:
        out = tui(
            "locust", "run", "-f", "locustfile.py", "-H", target.url, "--headless",
            "-u", "2", "-t", "2s", "--csv", "f",
            "--stop-timeout", "5",  # requests in flight at the stop end (else given up)
            cwd=tmp_path,
        )  # fmt: skip
        sent = target.count("GET", "/api/products")
    assert out.returncode == 1, out.stderr[-2000:]
    rows = read_csv_rows(tmp_path / "f")
    assert rows.requests(("GET", "/api/products")) == sent
    # at most 2 users x 2 s / 10 ms = 400; slowed down to a pause of 1 s it was under 10
    assert sent > 100
    assert sum(rows.exceptions.values()) == sent


def test_the_run_ends_at_its_time_even_when_the_server_stalls(tmp_path: Path) -> None:
    """`locust run` without --stop-timeout stops users where they are, as Locust kills
    them: requests in flight at the end are given up and not counted, so a server that
    never answers holds the run neither past -t nor to a failure."""
    out, seen, took = run_lying(tmp_path, "stall", "-u", "3", "-r", "100", "-t", "1s", "--csv", "s")
    assert out.returncode == 0, out.stderr[-2000:]
    assert seen["requests"] == 3  # one each, never answered
    assert read_csv_rows(tmp_path / "s").total.requests == 0
    assert took < 8  # the request timeout (10 s) never had to pass


HOSTILE = {
    "init_raises": """
from locust import HttpUser, constant, events, task


@events.init.add_listener
def broken(environment, **kwargs):
    raise ValueError("no config")


class U(HttpUser):
    wait_time = constant(0.05)

    @task
    def t(self):
        self.client.get("/api/products")
""",
    "exits": """
import sys
from locust import HttpUser, constant, task


class U(HttpUser):
    wait_time = constant(0.05)

    @task
    def t(self):
        self.client.get("/api/products")
        sys.exit(3)
""",
    "on_start_raises": """
from locust import HttpUser, constant, task


class U(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        raise RuntimeError("login refused")

    @task
    def t(self):
        self.client.get("/api/products")
""",
    "shape_reads_options": """
from locust import HttpUser, LoadTestShape, constant, events, task


@events.init_command_line_parser.add_listener
def flags(parser):
    parser.add_argument("--peak", type=int, default=5)


class U(HttpUser):
    wait_time = constant(0.05)

    @task
    def t(self):
        self.client.get("/api/products")


class Peak(LoadTestShape):
    def tick(self):
        if self.get_run_time() < 1.5:
            return (self.runner.environment.parsed_options.peak, 100)
        return None
""",
}


def _hostile(
    tmp_path: Path, name: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], float, int]:
    (tmp_path / "locustfile.py").write_text(HOSTILE[name], encoding="utf-8")
    with LocustTarget() as target:
        started = time.monotonic()
        out = tui(
            "locust", "run", "-f", "locustfile.py", "-H", target.url, "--headless", *args,
            cwd=tmp_path,
        )  # fmt: skip
        took = time.monotonic() - started
        sent = target.count("GET", "/api/products")
    return out, took, sent


def test_an_init_listener_that_raises_is_counted_and_the_run_goes_on(tmp_path: Path) -> None:
    out, _, sent = _hostile(tmp_path, "init_raises", "-u", "2", "-r", "100", "-t", "1s")
    assert "failed to start" not in out.stderr and "Traceback" not in out.stderr
    assert "a listener of events.init raised" in out.stderr
    assert out.returncode == 0 and sent > 0


def test_sys_exit_in_a_task_ends_the_run_with_its_code(tmp_path: Path) -> None:
    out, took, sent = _hostile(tmp_path, "exits", "-u", "2", "-r", "100", "-t", "30s")
    assert out.returncode == 3, out.stderr[-2000:]
    assert "sys.exit(3)" in out.stderr and took < 15 and sent >= 1


def test_an_on_start_that_keeps_failing_does_not_hold_the_stop(tmp_path: Path) -> None:
    """With --stop-timeout 20, a user whose on_start keeps raising stops at once: the
    grace is for a task in progress, not for another try."""
    out, took, _ = _hostile(
        tmp_path, "on_start_raises", "-u", "2", "-r", "100", "-t", "1s", "--stop-timeout", "20"
    )
    assert took < 10, out.stderr[-2000:]
    assert "on_start failed" in out.stderr


def test_a_shape_reads_parsed_options_from_its_first_tick(tmp_path: Path) -> None:
    out, _, sent = _hostile(tmp_path, "shape_reads_options", "--peak", "3")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "3 planned, 3 reached" in out.stdout and sent > 0


def test_a_body_that_does_not_decode_fails_its_request(tmp_path: Path) -> None:
    """Content-Encoding: gzip on a body that is not gzip: as under requests, the request
    fails (ContentDecodingError), rather than a task failing later on r.text."""
    out, seen, _ = run_lying(
        tmp_path, "bad-gzip", "-u", "1", "-t", "1s", "--csv", "g",
        "--stop-timeout", "5",  # requests in flight at the stop end (else given up)
    )  # fmt: skip
    assert out.returncode == 1, out.stderr[-2000:]
    rows = read_csv_rows(tmp_path / "g")
    row = rows.rows[("GET", "/fault")]
    assert row.requests == row.failures == seen["requests"] > 0
    (message,) = rows.messages(("GET", "/fault"))
    assert message.startswith("ContentDecodingError(") and "could not be decoded" in message


def test_tags_that_leave_a_class_nothing_run_the_others_as_locust_does(tmp_path: Path) -> None:
    """--tags slow leaves Editor and Auditor no task: Locust runs Browser alone, and so
    do we, saying which classes were left out."""
    runs = []
    for runner in (run_ours, run_locust):
        with LocustTarget() as target:
            runs.append(
                runner(CORPUS / "weighted_classes.py", target, tmp_path / runner.__name__,
                       users=3, seconds=1, args=("--tags", "slow"))
            )  # fmt: skip
    ours, theirs = runs
    # (Locust still spawns the fixed_count Auditor, whose missing tasks raise: exit 1)
    assert ours.exit_code == 0, ours.output[-2000:]
    assert set(ours.rows.rows) == set(theirs.rows.rows) == {("GET", "session"), ("GET", "/slow")}
    assert "Editor, Auditor: no task left after --tags/--exclude-tags; not run" in ours.output


WRAPPED_REQUEST = """
from locust import {kind}, constant, task
{imports}

class Traced({kind}):
    wait_time = constant(0.01)

    def on_start(self):
        original = self.client.request

        def request(method, url, **kwargs):  # as a tracing plugin wraps the session
            kwargs.setdefault("headers", {{}})["X-Trace"] = "wrapped"
            return original(method, url, **kwargs)

        self.client.request = request

    @task
    def products(self):
        self.client.get("/api/products")
        self.client.post("/api/products", json={{"name": "x"}}, name="create")
"""


@pytest.mark.parametrize(
    ("kind", "imports"),
    [("HttpUser", ""), ("FastHttpUser", "from locust.contrib.fasthttp import FastHttpUser")],
    ids=["HttpUser", "FastHttpUser"],
)
def test_get_and_post_go_through_a_request_the_locustfile_wrapped(
    tmp_path: Path, kind: str, imports: str
) -> None:
    """``self.client.get()`` and ``post()`` call ``self.client.request``, as requests'
    Session and FastHttpSession do, so a wrapper set on the client sees every call
    (our shortcut from get() to the transport is taken only when nothing replaced it)."""
    source = WRAPPED_REQUEST.format(kind=kind, imports=imports)
    if imports:  # FastHttpUser comes from locust.contrib.fasthttp
        source = source.replace(f"from locust import {kind}, ", "from locust import ")
    (tmp_path / "locustfile.py").write_text(source, encoding="utf-8")
    with LocustTarget() as target:
        out = tui(
            "locust", "run", "-f", "locustfile.py", "-H", target.url, "--headless",
            "-u", "2", "-t", "1s", "--csv", "f", "--stop-timeout", "5", cwd=tmp_path,
        )  # fmt: skip
        got = target.count("GET", "/api/products")
        posted = target.count("POST", "/api/products")
        headers = (target.last_headers("GET", "/api/products"),
                   target.last_headers("POST", "/api/products"))  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert got > 10 and posted > 10
    assert all(h.get("x-trace") == "wrapped" for h in headers), headers
    rows = read_csv_rows(tmp_path / "f")
    assert rows.requests(("GET", "/api/products")) == got
    assert rows.requests(("POST", "create")) == posted
