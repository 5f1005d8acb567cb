"""Property-based tests: whatever the file or the flags say, the answer is a scenario or one line.

Documents are generated key by key from the format (plausible values most of
the time, anything TOML can hold otherwise), written to a real file and
loaded. A loaded scenario is then used the way a run uses it (overrides,
compiled request plans, the report copy), so a value the loader lets through
but the engine cannot take also fails here. Derandomized, no example database:
the same inputs on every machine, so CI is stable.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import socket
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tui_loadtest.cli import main
from tui_loadtest.engine.captures import StepCaptures
from tui_loadtest.engine.plan import compile_plan
from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import (
    THRESHOLD_METRICS,
    Scenario,
    apply_overrides,
    load_scenario,
    plan_workers,
)

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ENV = {"TOKEN": "tok-5ecret-Q9", "USER_ID": "u1", "EMPTY": ""}


def examples(count: int) -> int:
    """``count`` in the suite; FUZZ_SCALE=20 runs twenty times as many (by hand)."""
    return count * int(os.environ.get("FUZZ_SCALE", "1"))


# ------------------------------------------------------------------ TOML rendering


def toml_value(value: Any) -> str:
    """TOML text for a decoded value (inline tables and arrays), written independently
    of the package's own message formatting so a bug there cannot hide here."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(type(value))


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in data.items())


# ---------------------------------------------------------------------- strategies

# Values at and just past the documented edges, and text that looks like syntax.
EDGES = [
    0,
    -1,
    100_000,
    100_001,
    1_000_001,
    2**63 - 1,
    1e308,
    math.inf,
    math.nan,
    "",
    " ",
    "0s",
    "8761h",
    "99999999h",
    "1m1m",
    "2s..1s",
    "${MISSING}",
    "${",
    "{",
    "{nope}",
    "a\nb",
    "http://[::1",
    "http://h:99999",
    "ftp://x",
]
scalars = st.one_of(
    st.sampled_from(EDGES),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=10),
    st.dates(),
    st.datetimes(),
    st.times(),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value most of the time, anything (edges included) now and then.

    Mostly-valid documents get past the first key and reach every later check;
    a document with one bad value tests that value's message.
    """
    return one_in(10, anything, good)


@st.composite
def one_in(draw: st.DrawFn, n: int, rare: st.SearchStrategy[Any], usual: st.SearchStrategy[Any]):
    """``rare`` one time in ``n``, else ``usual`` (one_of would weigh them alike)."""
    return draw(rare if draw(st.integers(0, n - 1)) == 0 else usual)


def some_of(table: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A table holding any subset of ``table``'s keys, now and then an unknown one."""
    unknown = st.dictionaries(st.sampled_from(["nmae", "user", "Users", "x"]), anything, max_size=1)
    known = st.fixed_dictionaries({}, optional=table)
    return st.tuples(known, st.integers(0, 15), unknown).map(
        lambda t: {**t[0], **t[2]} if t[1] == 0 else t[0]
    )


users = st.one_of(st.integers(1, 50), st.just(100_000))
seconds = st.one_of(
    st.sampled_from(["90s", "1h30m", "500ms", "0.5", "8760h", "2h5m10s", "1s250ms"]),
    st.floats(min_value=0.001, max_value=86400),
    st.integers(1, 3600),
)
think = st.one_of(seconds, st.sampled_from(["0", "0.5s..1.5s", "0..0", "1s..8760h"]))
rates = st.one_of(st.floats(min_value=0.01, max_value=1e6), st.integers(1, 1000))
positive = st.one_of(st.floats(min_value=1e-3, max_value=1e6), st.integers(1, 1_000_000))
secret_text = st.sampled_from(["${TOKEN}", "Bearer ${TOKEN}", "x-${USER_ID}-y", "${EMPTY}"])
header_values = st.one_of(st.text("abc XYZ/=;", max_size=8), secret_text, st.integers(0, 9))
headers = st.dictionaries(
    st.sampled_from(["Accept", "Authorization", "X-Api-Key", "Content-Type", "X-Trace"]),
    maybe(header_values),
    max_size=3,
)


@st.composite
def loads(draw: st.DrawFn) -> dict[str, Any]:
    """A [load] table that respects the mode's keys (most of the time)."""
    mode = draw(maybe(st.sampled_from(["users", "arrival-rate"])))
    open_model = mode == "arrival-rate"
    common = {"run_time": maybe(seconds), "requests": maybe(st.integers(1, 10**9))}
    if draw(st.integers(0, 3)) == 0:
        target = rates if open_model else users
        stage = some_of({"duration": maybe(seconds), "target": maybe(target)})
        common["stages"] = maybe(st.lists(stage, min_size=1, max_size=3))
        own = {"max_users": maybe(users), "arrival": maybe(st.sampled_from(["even", "poisson"]))}
        if not open_model:
            own = {"think_time": maybe(think)}
    elif open_model:
        own = {
            "rate": maybe(rates),
            "max_users": maybe(users),
            "arrival": maybe(st.sampled_from(["even", "poisson"])),
        }
    else:
        own = {"users": maybe(users), "spawn_rate": maybe(positive), "think_time": maybe(think)}
    table = draw(some_of({**common, **own}))
    if open_model and "stages" not in table and "rate" not in own:
        table["rate"] = 1.0
    return {"mode": mode, **table} if mode != "users" or draw(st.booleans()) else table


https = some_of(
    {
        "timeout": maybe(seconds),
        "connect_timeout": maybe(seconds),
        "keepalive": maybe(st.booleans()),
        "verify_tls": maybe(st.booleans()),
        "transport": maybe(st.sampled_from(["fast", "httpx"])),
        "headers": maybe(headers),
    }
)


def request_for(var: str) -> st.SearchStrategy[dict[str, Any]]:
    """A [[requests]] table whose path, body and vars agree on ``{var}`` (most of the time)."""
    paths = st.sampled_from(
        [
            "/api/health",
            f"/api/agents/{{{var}}}",
            f"/x?token=${{TOKEN}}&q={{{var}}}",
            "/u/${USER_ID}",
            f"/api/key=${{TOKEN}}/{{{var}}}",
        ]
    )
    body = st.sampled_from([f'{{"id": "{{{var}}}"}}', "${TOKEN}", "plain"])
    json_value = st.one_of(
        st.just({"user": "${USER_ID}", "id": f"{{{var}}}"}),
        st.dictionaries(st.text(max_size=4), anything, max_size=3),
    )
    values = st.lists(st.one_of(st.text("abc123", min_size=1), st.integers(0, 99)), min_size=1)
    table = some_of(
        {
            "name": maybe(st.text("abc", min_size=1, max_size=3)),
            "method": maybe(st.sampled_from(["GET", "POST", "head", "PUT"])),
            "weight": maybe(positive),
            "headers": maybe(headers),
            "vars": maybe(st.fixed_dictionaries({var: maybe(values)})),
            "expect_status": maybe(
                st.one_of(st.integers(100, 599), st.lists(st.integers(100, 599)))
            ),
            "body": maybe(body),
            "json": maybe(json_value),
        }
    )

    def agree(parts: tuple[dict[str, Any], Any]) -> dict[str, Any]:
        item, path = parts
        item["path"] = path
        if isinstance(path, str) and "{" + var in path and "vars" not in item:
            item["vars"] = {var: ["a1", "a2"]}
        if "body" in item and "json" in item:
            del item["body"]
        return item

    return st.tuples(table, maybe(paths)).map(agree)


requests = st.lists(st.one_of(request_for("id"), request_for("user")), min_size=1, max_size=3)


def thresholds_for(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    ms = st.one_of(st.floats(min_value=0.001, max_value=1e6), st.integers(1, 10**6))
    metric = {m: maybe(ms) for m in THRESHOLD_METRICS}
    metric["error_rate"] = maybe(st.floats(0, 1))
    endpoints = st.dictionaries(
        st.sampled_from([*names, "GET /nope"]),
        maybe(st.dictionaries(st.sampled_from(THRESHOLD_METRICS), ms, max_size=2)),
        max_size=2,
    )
    return some_of({**metric, "endpoints": maybe(endpoints)})


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    reqs = draw(maybe(requests))
    items = reqs if isinstance(reqs, list) else []
    names = [r["name"] for r in items if isinstance(r, dict) and isinstance(r.get("name"), str)]
    top = {
        "name": maybe(st.text("abc -", min_size=1, max_size=8)),
        "host": maybe(st.sampled_from(["demo", "http://127.0.0.1:5000", "http://[::1]:80"])),
        "load": maybe(loads()),
        "http": maybe(https),
        "thresholds": maybe(thresholds_for(names)),
    }
    return {**draw(some_of(top)), "requests": reqs}


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzz.toml"


def use_like_a_run(sc: Scenario) -> None:
    """What a run does with a scenario before and around its requests."""
    copied = json.dumps(sc.redacted, allow_nan=False, default=str)
    for secret in ("tok-5ecret-Q9", "lit-5ecret-Z3"):
        assert secret not in copied  # reports keep ${VAR} and <redacted>, never the value
    apply_overrides(sc)
    plan_workers(sc.load, 4, cores=2)
    for second in (0.0, 1.5, 1e6):
        assert math.isfinite(sc.load.level_at(second))
    for threshold in sc.thresholds:
        assert threshold.label
    plan = compile_plan(sc, "http://127.0.0.1:1")
    assert plan is not None
    for r in sc.requests:
        path, _ = r.render()
        assert path.startswith("/")
    for flow in sc.flows:  # what every worker builds for a step's captures
        for step in flow.steps:
            if step.captures:
                StepCaptures(step.captures)


def check_scenario_error(exc: ScenarioError, source: Path) -> None:
    message = str(exc)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{source}: "), message


def load_or_fail_in_one_line(text: str, scratch: Path) -> None:
    """The property: a usable scenario, or a ScenarioError of one line naming the file."""
    assert tomllib.loads(text) is not None  # the generator writes valid TOML
    scratch.write_text(text, encoding="utf-8")
    try:
        sc = load_scenario(scratch, env=ENV)
    except ScenarioError as exc:
        check_scenario_error(exc, scratch)
        event("error: " + str(exc).split(": ")[1].split("[")[0].split(".")[0])
        return
    event("loaded")
    use_like_a_run(sc)


@settings(FUZZ, max_examples=examples(200))
@given(data=documents())
def test_generated_scenarios_load_or_fail_in_one_line(data: dict[str, Any], scratch: Path) -> None:
    load_or_fail_in_one_line(toml_document(data), scratch)


# Complete documents, every key set, that one or two mutations then break: each
# mutation replaces, deletes or adds one value anywhere, so every key of the
# format sees generated values in a document otherwise valid.
FULL_DOCUMENTS: list[dict[str, Any]] = [
    {
        "name": "closed",
        "host": "http://127.0.0.1:5000",
        "load": {
            "users": 5,
            "spawn_rate": 2.5,
            "run_time": "10s",
            "requests": 100,
            "think_time": "0.1s..0.2s",
        },
        "http": {
            "timeout": "2s",
            "connect_timeout": 1,
            "keepalive": True,
            "verify_tls": False,
            "follow_redirects": True,
            "transport": "httpx",
            "http2": True,
            "headers": {"Authorization": "Bearer ${TOKEN}", "Accept": "application/json"},
        },
        "requests": [
            {
                "name": "get agent",
                "method": "GET",
                "path": "/api/agents/{id}?key=${TOKEN}&token=lit-5ecret-Z3",
                "weight": 3,
                "headers": {"X-User": "${USER_ID}"},
                "vars": {"id": ["a1", "a2", 7]},
                "expect_status": [200, 404],
            },
            {
                "path": "/api/agents/{id}/query",
                "method": "POST",
                "json": {"query": "status of {id}", "user": "${USER_ID}", "n": [1, 2.5, True]},
                "vars": {"id": ["a1"]},
                "expect_status": 200,
            },
            {"path": "/raw/${USER_ID}", "method": "PUT", "body": "token=${TOKEN}"},
        ],
        "thresholds": {
            "p95_ms": 500,
            "error_rate": 0.01,
            "rps_min": 10,
            "endpoints": {"get agent": {"p99_ms": 800, "max_ms": 2000}},
        },
    },
    {
        "load": {
            "think_time": 0.05,
            "stages": [{"duration": "5s", "target": 10}, {"duration": 5, "target": 0}],
        },
        "requests": [{"path": "/api/health"}],
        "thresholds": {"endpoints.GET /api/health": {"p50_ms": 5}},
    },
    {
        "load": {
            "mode": "arrival-rate",
            "rate": 50,
            "max_users": 20,
            "arrival": "poisson",
            "run_time": "3s",
        },
        "requests": [{"path": "/api/health", "weight": 0.5}, {"path": "/api/agents"}],
    },
    {
        "load": {
            "mode": "arrival-rate",
            "max_users": 20,
            "stages": [{"duration": "5s", "target": 2.5}, {"duration": "1m", "target": 100}],
        },
        "requests": [{"path": "/api/health"}],
    },
]
FULL_DOCUMENTS.append(
    {
        "load": {"users": 2},
        "flows": [
            {
                "name": "journey",
                "weight": 2,
                "think_time": "0.1s",
                "steps": [
                    {
                        "name": "login",
                        "once": True,
                        "method": "POST",
                        "path": "/login",
                        "json": {"user": "${USER_ID}"},
                        "capture": {"token": "json:$.access_token"},
                    },
                    {
                        "path": "/api/agents?key=${TOKEN}",
                        "headers": {"Authorization": "Bearer {token}"},
                        "capture": {"etag": "header:ETag"},
                        "strict": False,
                    },
                ],
            }
        ],
    }
)
KEY_NAMES = ["path", "users", "rate", "stages", "headers", "vars", "json", "p95_ms", "x", ""]


def node_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a decoded document, the root included (``()``)."""
    found = [prefix]
    if isinstance(value, dict | list):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            found += node_paths(child, (*prefix, key))
    return found


def mutate(doc: Any, where: int, op: str, value: Any, key: str) -> None:
    paths = node_paths(doc)
    path = paths[where % len(paths)]
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    node = parent[path[-1]] if path else doc
    if op == "add" and isinstance(node, dict):
        node[key] = value
    elif op == "add" and isinstance(node, list):
        node.append(value)
    elif op == "delete" and path:
        del parent[path[-1]]
    elif path:
        parent[path[-1]] = value


mutations = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.sampled_from(["replace", "delete", "add"]),
        anything,
        st.sampled_from(KEY_NAMES),
    ),
    min_size=1,
    max_size=2,
)


@settings(FUZZ, max_examples=examples(1200))
@given(which=st.integers(0, len(FULL_DOCUMENTS) - 1), changes=mutations)
def test_mutated_scenarios_load_or_fail_in_one_line(
    which: int, changes: list[tuple[int, str, Any, str]], scratch: Path
) -> None:
    doc = copy.deepcopy(FULL_DOCUMENTS[which])
    for change in changes:
        mutate(doc, *change)
    load_or_fail_in_one_line(toml_document(doc), scratch)


def test_the_full_documents_load(scratch: Path) -> None:
    """The mutations start from valid documents (else they would test one error only)."""
    for doc in FULL_DOCUMENTS:
        scratch.write_text(toml_document(doc), encoding="utf-8")
        use_like_a_run(load_scenario(scratch, env=ENV))


@settings(FUZZ, max_examples=examples(300))
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_arbitrary_bytes_load_or_fail_in_one_line(raw: bytes, scratch: Path) -> None:
    scratch.write_bytes(raw)
    try:
        sc = load_scenario(scratch, env=ENV)
    except ScenarioError as exc:
        check_scenario_error(exc, scratch)
        return
    use_like_a_run(sc)


# A capture's array index is a decoder as wide as the index in every worker: an index of
# 10,000,000 built 2.5 GB in each (issue 24 item 5). Huge ones fail the load instead.
capture_paths = st.lists(
    st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: f"[{n}]"),
        st.sampled_from([10_000_000, 1001, 1000, -1000, -1001, 2**63]).map(lambda n: f"[{n}]"),
        st.sampled_from([".a", "['b']", "[*]"]),
    ),
    min_size=1,
    max_size=4,
).map(lambda parts: "$.items" + "".join(parts))


@settings(FUZZ, max_examples=examples(100))
@given(path=capture_paths)
def test_capture_indexes_load_or_fail_in_one_line(path: str, scratch: Path) -> None:
    doc = {
        "flows": [
            {"name": "f", "steps": [{"path": "/a", "capture": {"v": f"json:{path}"}}]},
        ]
    }
    load_or_fail_in_one_line(toml_document(doc), scratch)


# ------------------------------------------------------------------------ CLI flags

FLAG_VALUES = st.one_of(
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "7",
            "100000",
            "100001",
            "99999999999999999999999",
            "1e308",
            "inf",
            "nan",
            "-1",
            "1.5",
            "90s",
            "500ms",
            "99999999h",
            "²",
            "",
            "demo",
            "http://[::1",
        ]
    ),
    st.integers().map(str),
    st.floats().map(str),
    st.text(max_size=6),
)
small = st.integers(1, 20).map(str)
fractional = st.floats(0.1, 500).map(str)
# Each run flag with values it accepts; FLAG_VALUES stand in one time in eight.
RUN_FLAGS = {
    "-u": small,
    "--users": small,
    "-r": fractional,
    "--spawn-rate": fractional,
    "-t": st.sampled_from(["1s", "500ms", "2m", "1h30m", "3", "8760h"]),
    "--run-time": st.sampled_from(["1s", "0.5"]),
    "-n": small,
    "--requests": small,
    "--rate": fractional,
    "--max-users": small,
    "--workers": st.integers(1, 8).map(str),
    "--interval": st.sampled_from(["1", "0.5", "2s"]),
    "--user-step": small,
    "--host": st.sampled_from(["demo", "http://127.0.0.1:5000"]),
}
run_flag = st.sampled_from(sorted(RUN_FLAGS)).flatmap(
    lambda flag: st.tuples(st.just(flag), one_in(8, FLAG_VALUES, RUN_FLAGS[flag]))
)


@contextlib.contextmanager
def dead_port() -> Iterator[int]:
    """A loopback port held bound but not listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def dead_host() -> Iterator[str]:
    with dead_port() as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def scenario_files(tmp_path_factory: pytest.TempPathFactory) -> list[str | None]:
    folder = tmp_path_factory.mktemp("cli-fuzz")
    good = folder / "good.toml"
    good.write_text('[load]\nusers = 3\n[[requests]]\npath = "/api/health"\n')
    rate = folder / "rate.toml"
    rate.write_text('[load]\nmode = "arrival-rate"\nrate = 5\n[[requests]]\npath = "/"\n')
    return [None, str(good), str(rate), str(folder / "missing.toml"), str(folder)]


@settings(FUZZ, max_examples=examples(400))
@given(
    flags=st.lists(run_flag, max_size=5),
    which=st.sampled_from([0, 1, 1, 2, 3, 4]),
    no_ui=st.booleans(),
)
def test_generated_run_flags_stop_with_a_documented_code(
    flags: list[tuple[str, str]],
    which: int,
    no_ui: bool,
    dead_host: str,
    scenario_files: list[str | None],
) -> None:
    """``run`` with generated flags against a refused port: exit 2 (bad input) or 3
    (unreachable, so every flag was accepted) with one error line; the load never starts."""
    argv = ["run"]
    scenario = scenario_files[which]
    if scenario:
        argv.append(scenario)
    for flag, value in flags:
        argv.append(f"{flag}={value}")  # "=" keeps values like "-1" from reading as flags
    if no_ui:
        argv.append("--no-ui")
    argv += ["--host", dead_host]  # last, so it wins over a generated --host
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code  # type: ignore[assignment]
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code in (2, 3), (argv, err.getvalue())
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, (argv, err.getvalue())
    event(f"exit {code}" + (errors[0][:60] if errors and code == 2 else ""))
    assert "Traceback" not in err.getvalue()
    if code == 3:
        assert errors[0] == f"tui-loadtest: error: cannot reach {dead_host}: connection refused"
