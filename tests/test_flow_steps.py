"""A flow step ends alike whichever way its response completes.

``FlowUser.on_message_complete`` (the closed model's parser callback) holds an inline
copy of ``FlowUser.complete`` (the way of the open model and of responses completed
elsewhere: close-delimited, HEAD). Each kind of step outcome is driven through both,
on two users of two real engines in the same state, and everything a step touches is
compared: the next step, the iteration's state, the user's values, the endpoint and
flow histograms, the errors counted.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from tui_loadtest.engine.shares import make_shares
from tui_loadtest.engine.users import flow as flow_user
from tui_loadtest.engine.users import plain as plain_user
from tui_loadtest.engine.users.flow import FlowUser
from tui_loadtest.engine.worker_engine import WorkerEngine
from tui_loadtest.scenario import parse_scenario

SCENARIO = {
    "load": {"think_time": "1s"},  # the callback arms a timer instead of sending
    "flows": [
        {
            "name": "f",
            "steps": [
                {"name": "login", "once": True, "path": "/login",
                 "capture": {"tok": "json:$.token"}},
                {"name": "get", "path": "/items/{tok}", "strict": False,
                 "capture": {"id": "json:$.id"}},
                {"name": "last", "path": "/x/{id}"},
            ],
        }
    ],
}  # fmt: skip
T1 = 5_000_000  # ns: the response completes 5 ms after the step was sent


def response(doc: Any, status: int = 200) -> bytes:
    body = json.dumps(doc).encode()
    return b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n" % (status, len(body)) + body


# The same flow with checks: hard, soft, on the body of a step that does not capture.
CHECKED = {
    "load": {"think_time": "1s"},
    "flows": [
        {
            "name": "f",
            "steps": [
                {"name": "login", "once": True, "path": "/login",
                 "capture": {"tok": "json:$.token"}, "checks": ["json:$.ok == true"]},
                {"name": "get", "path": "/items/{tok}", "strict": False,
                 "capture": {"id": "json:$.id"},
                 "checks": [{"check": "json:$.ok == true", "soft": True}]},
                {"name": "last", "path": "/x/{id}", "checks": ["body contains 'ok'"]},
            ],
        }
    ],
}  # fmt: skip


def user_at(
    step: int, status: int, chunks: list[bytes], over: bool, scenario: Any = SCENARIO
) -> FlowUser:
    """A user of a fresh engine whose step ``step`` has just received ``chunks``."""
    sc = parse_scenario(scenario, "flow.toml")
    eng = WorkerEngine(sc, "http://127.0.0.1:9", make_shares(sc, 1)[0], lambda d: None)
    eng.tick_ns = 1 << 62  # the second never ends here
    eng.loop = SimpleNamespace(call_later=lambda *a: None)  # type: ignore[assignment]
    user = eng.user_class(eng)
    assert isinstance(user, FlowUser)
    parser = SimpleNamespace(get_status_code=lambda: status, should_keep_alive=lambda: True)
    user.conn = SimpleNamespace(parser=parser)  # type: ignore[assignment]
    s = user.flow.steps[step]
    user.step, user.req, user.t0, user.deadline = s, s.req, 0, 1
    user.it0 = 1
    user.head = chunks[0]
    user.keep = None
    if s.keeps:
        user.keep = user.chunks
        user.chunks[:] = chunks[1:]
    user.nbytes = user.max_keep + 1 if over else sum(map(len, chunks))
    # stamped by its first read: one read, at T1; in pieces, the head at T1 / 2 (negated)
    user.th = T1 if len(chunks) == 1 else -(T1 // 2)
    return user


def state(user: FlowUser) -> dict[str, Any]:
    eng = user.eng
    return {
        "step": None if user.step is None else user.step.no,
        "it_failed": user.it_failed,
        "values": list(user.values),
        "last": list(user.last),
        "ready": list(user.ready),
        "keep": user.keep,
        "deadline": user.deadline,
        "served": user.served,
        "hists": [list(s.req.hist) for s in user.flow.steps],
        "ttfb": {i: list(t) for i, t in eng.buf.ttfb.items()},
        "flow": list(user.flow.hist),
        "errors": {k: list(v) for k, v in eng.buf.errors.items()},
        "checks": list(eng.buf.checks),
    }


SPLIT = response({"token": "t1"})


@pytest.mark.parametrize(
    ("step", "status", "chunks", "over"),
    [
        (0, 200, [response({"token": "t1"})], False),  # found: on to the next step
        (0, 200, [SPLIT[:30], SPLIT[30:]], False),  # found in a response in two chunks
        (0, 200, [response({"other": 1})], False),  # strict, nothing found: ended
        (0, 500, [response({"token": "t1"}, 500)], False),  # strict, HTTP failure: ended
        (0, 200, [response({"token": "t1"})], True),  # over max_body: not kept, failed
        (1, 200, [response({"id": 7})], False),  # not strict, found
        (1, 200, [response({"nope": 7})], False),  # not strict, nothing found: goes on
        (1, 404, [response({"id": 7}, 404)], False),  # not strict, HTTP failure: goes on
        (2, 200, [response({})], False),  # the last step: the iteration ends
        (2, 503, [response({}, 503)], False),  # the last step fails: ends, failed
    ],
)
def test_both_ways_end_a_step_alike(monkeypatch, step, status, chunks, over) -> None:  # noqa: ANN001
    monkeypatch.setattr(flow_user, "perf_counter_ns", lambda: T1)
    monkeypatch.setattr(plain_user, "perf_counter_ns", lambda: T1)  # in pieces: in_pieces
    hot = user_at(step, status, chunks, over)
    hot.on_message_complete()
    cold = user_at(step, status, chunks, over)
    cold.complete(status, T1)
    assert state(hot) == state(cold)
    # and the outcome is the one expected, so that both being wrong alike fails too
    ended = state(cold)["step"] is None
    assert ended == (
        step == 2 or (step == 0 and (status != 200 or over or b"token" not in chunks[-1]))
    )
    assert state(cold)["hists"][step][:-1] != [0] * (len(state(cold)["hists"][step]) - 1)


@pytest.mark.parametrize(
    ("step", "status", "chunks", "over", "ends"),
    [
        (0, 200, [response({"token": "t1", "ok": True})], False, False),  # passed, captured
        (0, 200, [response({"token": "t1", "ok": False})], False, True),  # failed: strict, ended
        (0, 500, [response({"token": "t1", "ok": True}, 500)], False, True),  # status failed
        (0, 200, [response({"token": "t1", "ok": True})], True, True),  # over max_body
        (1, 200, [response({"id": 7, "ok": False})], False, False),  # soft: counted only
        (2, 200, [SPLIT[:30], SPLIT[30:]], False, True),  # body check, kept in two chunks
        (2, 200, [response({"none": 1})], False, True),  # body check failed: last step anyway
    ],
)
def test_both_ways_end_a_checked_step_alike(monkeypatch, step, status, chunks, over, ends) -> None:  # noqa: ANN001, E501
    monkeypatch.setattr(flow_user, "perf_counter_ns", lambda: T1)
    hot = user_at(step, status, chunks, over, CHECKED)
    hot.on_message_complete()
    cold = user_at(step, status, chunks, over, CHECKED)
    cold.complete(status, T1)
    assert state(hot) == state(cold)
    assert (state(cold)["step"] is None) == ends
    assert sum(state(cold)["checks"]) == 1  # the step's one check, counted once
