"""``locust watch`` against a Locust that answers nonsense: a real loopback HTTP server
serves malformed ``/stats/requests`` answers, then a good one. Each bad answer is an
event, the poll thread lives on, and the good answer's figures are shown (issue 24
item 15: one ``"user_count": "abc"`` killed the thread, and the dashboard went on
showing RUNNING with frozen figures)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tui_loadtest.locust.watch import LocustWatch

GOOD: dict[str, Any] = {
    "state": "running",
    "user_count": 3,
    "worker_count": 1,
    "current_rps": 12.5,
    "errors": [],
    "stats": [
        {"method": "GET", "name": "/api/health", "num_requests": 40, "num_failures": 1,
         "median_response_time": 2, "avg_response_time": 2.5, "min_response_time": 1,
         "max_response_time": 9, "total_rps": 12.5, "current_rps": 12.5,
         "response_time_percentile_0.95": 6, "response_time_percentile_0.99": 9},
        {"method": "", "name": "Aggregated", "num_requests": 40, "num_failures": 1,
         "median_response_time": 2, "avg_response_time": 2.5, "min_response_time": 1,
         "max_response_time": 9, "total_rps": 12.5, "current_rps": 12.5,
         "response_time_percentile_0.95": 6, "response_time_percentile_0.99": 9},
    ],
}  # fmt: skip

BAD: list[tuple[str, Any]] = [
    ("user_count text", {**GOOD, "user_count": "abc"}),
    ("stats a number", {**GOOD, "stats": 5}),
    ("stats entries not objects", {**GOOD, "stats": [1, "x"]}),
    ("errors a number", {**GOOD, "errors": 7}),
    ("workers a number", {**GOOD, "workers": 5}),
    ("worker_count text", {**GOOD, "worker_count": "many"}),
    ("percentiles a list", {**GOOD, "current_response_time_percentiles": [1, 2]}),
    ("negative count", {**GOOD, "stats": [{**GOOD["stats"][1], "num_requests": -5}]}),
    ("a count as text", {**GOOD, "stats": [{**GOOD["stats"][1], "num_failures": "lots"}]}),
    ("an array", [1, 2, 3]),
    ("not JSON", b"<html>busy</html>"),
]


class Answers:
    """Serves ``bodies`` in turn on GET /stats/requests, then the last one for ever."""

    def __init__(self, bodies: list[Any]) -> None:
        self.bodies = [b if isinstance(b, bytes) else json.dumps(b).encode() for b in bodies]
        self.served = 0
        self.lock = threading.Lock()
        answers = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with answers.lock:
                    body = answers.bodies[min(answers.served, len(answers.bodies) - 1)]
                    answers.served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Answers:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def watch() -> Iterator[list[LocustWatch]]:
    made: list[LocustWatch] = []
    yield made
    for source in made:
        source.close()


def _until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(("case", "answer"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_answer_is_an_event_and_polling_goes_on(
    watch: list[LocustWatch], case: str, answer: Any
) -> None:
    with Answers([answer, answer, GOOD]) as locust:
        source = LocustWatch(locust.url, interval_s=0.01)
        watch.append(source)
        source.start()
        _until(lambda: source.polls > 0)  # the good answer, after two bad ones
        assert source._thread is not None and source._thread.is_alive()
        snap = source.snapshot
        assert snap.total.requests == 40 and snap.users_active == 3
        warnings = [e.text for e in snap.events if e.level == "warning"]
        assert len(warnings) == 1, warnings  # the same bad answer twice: said once
        assert warnings[0].startswith("Locust sent an answer this cannot read"), warnings
        assert source.last_error is None  # good again


def test_every_kind_of_bad_answer_in_one_watch(watch: list[LocustWatch]) -> None:
    with Answers([a for _, a in BAD] + [GOOD]) as locust:
        source = LocustWatch(locust.url, interval_s=0.01)
        watch.append(source)
        source.start()
        _until(lambda: source.polls > 0)
        warnings = [e for e in source.snapshot.events if e.level == "warning"]
        assert len(warnings) == len(BAD)
        assert source.snapshot.total.requests == 40
