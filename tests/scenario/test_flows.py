"""Journeys in the scenario file: [[flows]], their steps and captures, [[data]] files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_loadtest.scenario import load_scenario
from tui_loadtest.scenario.captures import parse_json_path

from .helpers import ErrorText, LoadText

USERS_CSV = "username,password\nuser1,pass1\nuser2,pass2\n"
JOURNEY = """
[load]
users = 2

[[flows]]
name = "query an agent"
weight = 3
think_time = "0.5s..1s"

[[flows.steps]]
name = "login"
once = true
method = "POST"
path = "/api/auth/login"
json = { username = "{username}", password = "{password}" }
capture = { token = "json:$.access_token" }

[[flows.steps]]
path = "/api/agents"
headers = { Authorization = "Bearer {token}" }
capture = { agent = "json:$.agents[0].id", etag = "header:ETag" }

[[flows.steps]]
method = "POST"
path = "/api/agents/{agent}/query"
headers = { Authorization = "Bearer {token}" }
json = { query = "status?" }
capture = { qid = "json:$.query_id" }

[[flows.steps]]
path = "/api/queries/{qid}"
headers = { Authorization = "Bearer {token}" }

[[data]]
file = "users.csv"
"""


@pytest.fixture
def journey(load_text: LoadText) -> LoadText:
    """load_text with users.csv beside the scenario."""

    def load(text: str = JOURNEY, **kwargs: object) -> object:
        Path("users.csv").write_text(USERS_CSV, encoding="utf-8")
        return load_text(text, **kwargs)

    return load


@pytest.fixture
def journey_error(error_text: ErrorText) -> ErrorText:
    def error(text: str, **kwargs: object) -> str:
        Path("users.csv").write_text(USERS_CSV, encoding="utf-8")
        return error_text(text, **kwargs)

    return error


def test_the_issue_example_loads(journey: LoadText) -> None:
    sc = journey()
    (flow,) = sc.flows
    assert (flow.name, flow.weight, flow.think_time) == ("query an agent", 3.0, (0.5, 1.0))
    assert [s.name for s in flow.steps] == [
        "login",
        "GET /api/agents",
        "POST /api/agents/{agent}/query",
        "GET /api/queries/{qid}",
    ]
    login, agents, query, _ = flow.steps
    assert login.once and not agents.once and login.strict
    assert [(c.name, c.source, c.path) for c in login.captures] == [
        ("token", "json", ("access_token",))
    ]
    assert [(c.name, c.source, c.path, c.header) for c in agents.captures] == [
        ("agent", "json", ("agents", 0, "id"), ""),
        ("etag", "header", (), "ETag"),
    ]
    assert query.request.headers == (("Authorization", "Bearer {token}"),)
    (data,) = sc.data
    assert (data.file, data.mode, data.columns) == (
        "users.csv",
        "circular",
        ("username", "password"),
    )
    assert data.rows == (("user1", "pass1"), ("user2", "pass2"))
    assert sc.requests == () and sc.has_journeys


def test_report_form_keeps_templates_and_no_data_values(journey: LoadText) -> None:
    sc = journey()
    text = json.dumps(sc.redacted)
    assert "user1" not in text and "pass1" not in text
    assert sc.redacted["data"] == [
        {"file": "users.csv", "mode": "circular", "columns": ["username", "password"], "rows": 2}
    ]
    steps = sc.redacted["flows"][0]["steps"]
    assert steps[0]["capture"] == {"token": "json:$.access_token"}
    assert steps[1]["headers"] == {"Authorization": "<redacted>"}


def test_flows_and_requests_share_rows_of_the_same_name(journey: LoadText) -> None:
    text = JOURNEY + '\n[[requests]]\nname = "GET /api/agents"\npath = "/api/agents"\n'
    sc = journey(text)
    assert [r.name for r in sc.requests] == ["GET /api/agents"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.a", ("a",)),
        ("$.a.b_c-d", ("a", "b_c-d")),
        ("$['a b'][0]", ("a b", 0)),
        ('$["x\\"y"][-1]', ('x"y', -1)),
        ("$.items[*].id", ("items", None, "id")),
        ("$.items.*", ("items", None)),
        ("$[2]", (2,)),
    ],
)
def test_json_path_subset(path: str, expected: tuple) -> None:
    assert parse_json_path(path) == expected


@pytest.mark.parametrize("path", ["$", "a.b", "$..a", "$.a[", "$.a[?(@.x)]", "$.a[1:2]"])
def test_json_path_refused(path: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_json_path(path)


# Each bad input: one line naming the file and the key (the CLI turns it into exit 2).
BAD = [
    (
        "unknown placeholder",
        ("/api/queries/{qid}", "/api/queries/{qidd}"),
        "x.toml: flows[1].steps[4].path: placeholder {qidd} has no values (not captured by an "
        "earlier step, not a column of users.csv (username, password), not in vars)",
    ),
    (
        "capture used before it is made",
        ("/api/agents/{agent}/query", "/api/agents/{qid}/query"),
        "x.toml: flows[1].steps[3].path: placeholder {qid} has no values",
    ),
    (
        "bad JSONPath",
        ('"json:$.query_id"', '"json:$.query_id["'),
        'x.toml: flows[1].steps[3].capture.qid: JSONPath "$.query_id[": expected .name, [n], '
        "['key'] or [*] at character 11",
    ),
    (
        "huge capture index",
        ('"json:$.agents[0].id"', '"json:$.agents[10000000].id"'),
        'x.toml: flows[1].steps[2].capture.agent: JSONPath "$.agents[10000000].id": index'
        " 10000000 is out of range (expected -1000 to 1000",
    ),
    (
        "huge negative capture index",
        ('"json:$.agents[0].id"', '"json:$.agents[-1001].id"'),
        'x.toml: flows[1].steps[2].capture.agent: JSONPath "$.agents[-1001].id": index'
        " -1001 is out of range (expected -1000 to 1000",
    ),
    (
        "unknown capture source",
        ('"json:$.query_id"', '"jsn:$.query_id"'),
        'x.toml: flows[1].steps[3].capture.qid: expected "json:$.path", "header:NAME", '
        '"cookie:NAME", "regex:PATTERN" or "status", got "jsn:$.query_id"',
    ),
    (
        "bad regex",
        ('"json:$.query_id"', '"regex:(abc"'),
        'x.toml: flows[1].steps[3].capture.qid: regex "(abc": missing ), unterminated subpattern',
    ),
    (
        "missing data file",
        ('file = "users.csv"', 'file = "nope.csv"'),
        'x.toml: data[1].file: cannot read "nope.csv": No such file or directory',
    ),
    (
        "empty data file",
        ('file = "users.csv"', 'file = "empty.csv"'),
        'x.toml: data[1].file: "empty.csv" is empty (expected a header row naming the fields',
    ),
    (
        "header row only",
        ('file = "users.csv"', 'file = "head.csv"'),
        'x.toml: data[1].file: "head.csv" has a header row but no data rows',
    ),
    (
        "missing column",
        ("{password}", "{passwd}"),
        "x.toml: flows[1].steps[1].json: placeholder {passwd} has no values (not captured by an "
        "earlier step, not a column of users.csv (username, password), not in vars)",
    ),
    (
        "once after a regular step",
        ('path = "/api/queries/{qid}"', 'path = "/api/queries/{qid}"\nonce = true'),
        "x.toml: flows[1].steps[4].once: once steps run before the first iteration",
    ),
    (
        "weight on a step",
        ('path = "/api/queries/{qid}"', 'path = "/api/queries/{qid}"\nweight = 2'),
        "x.toml: flows[1].steps[4].weight: a step has no weight",
    ),
    (
        "strict without capture",
        ('path = "/api/queries/{qid}"', 'path = "/api/queries/{qid}"\nstrict = false'),
        "x.toml: flows[1].steps[4].strict: only used with capture",
    ),
    (
        "typo in a step key",
        ("capture = { qid", "captur = { qid"),
        'x.toml: flows[1].steps[3].captur: unknown key (did you mean "capture"?)',
    ),
    (
        "capture name that cannot be a placeholder",
        ("capture = { qid", 'capture = { "q-id" = "json:$.x", qid'),
        "x.toml: flows[1].steps[3].capture.q-id: expected a name made of letters, digits and _",
    ),
]


@pytest.mark.parametrize(("case", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_journeys(journey_error: ErrorText, case: str, edit: tuple, message: str) -> None:
    Path("empty.csv").write_text("", encoding="utf-8")
    Path("head.csv").write_text("username,password\n", encoding="utf-8")
    old, new = edit
    assert old in JOURNEY
    assert journey_error(JOURNEY.replace(old, new, 1)).startswith(message)


def test_data_errors_never_show_values(journey_error: ErrorText) -> None:
    Path("ragged.csv").write_text("username,password\nuser1,TOPSECRET,extra\n", encoding="utf-8")
    message = journey_error(JOURNEY.replace('"users.csv"', '"ragged.csv"'))
    assert message == (
        'x.toml: data[1].file: "ragged.csv" line 2: expected 2 fields (as in the header), got 3'
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("username,password\n\nuser1,p1\n\n\nuser2,p2,extra\n", 6),  # blank lines
        ('username,password\n"two\nlines",p1\nuser2,p2,extra\n', 4),  # a quoted newline
        ("\nusername,password\r\nuser1,p1\r\n\r\nuser2\r\n", 5),  # CRLF, a blank first line
    ],
)
def test_a_bad_data_row_is_named_by_its_line_in_the_file(
    journey_error: ErrorText, text: str, line: int
) -> None:
    """The line an editor shows: blank lines and quoted newlines count (they did not)."""
    Path("ragged.csv").write_text(text, encoding="utf-8", newline="")
    message = journey_error(JOURNEY.replace('"users.csv"', '"ragged.csv"'))
    assert f'"ragged.csv" line {line}: expected 2 fields (as in the header)' in message


def test_data_column_in_two_files(journey_error: ErrorText) -> None:
    Path("more.csv").write_text("password,x\np,1\n", encoding="utf-8")
    message = journey_error(JOURNEY + '\n[[data]]\nfile = "more.csv"\nmode = "queue"\n')
    assert message.startswith('x.toml: data[2].file: column "password" is also in data[1]')


def test_data_file_is_relative_to_the_scenario(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    (folder / "j.toml").write_text(JOURNEY.replace('"users.csv"', '"users.csv"\nmode = "queue"'))
    sc = load_scenario(folder / "j.toml", env={})
    assert sc.data[0].mode == "queue" and Path(sc.data[0].path) == folder / "users.csv"


def test_plain_requests_may_use_data_columns(load_text: LoadText) -> None:
    Path("ids.csv").write_text("id\na1\na2\n", encoding="utf-8")
    sc = load_text('[[requests]]\npath = "/api/agents/{id}"\n[[data]]\nfile = "ids.csv"\n')
    assert sc.requests[0].path == "/api/agents/{id}" and sc.has_journeys


def test_max_body(load_text: LoadText, error_text: ErrorText) -> None:
    sc = load_text('[http]\nmax_body = "64KiB"\n[[requests]]\npath = "/"\n')
    assert sc.http.max_body == 64 * 1024
    assert error_text('[http]\nmax_body = "lots"\n[[requests]]\npath = "/"\n') == (
        'x.toml: http.max_body: expected a size in bytes, like 1048576 or "1MB", got "lots"'
    )


def test_journeys_need_the_fast_transport(journey_error: ErrorText) -> None:
    assert journey_error('[http]\ntransport = "httpx"\n' + JOURNEY) == (
        'x.toml: http.transport: [[flows]], [[data]], checks and scripts run on the "fast" '
        'transport (remove transport = "httpx")'
    )


# -- which data values are secrets ------------------------------------------------------


def test_data_values_are_secret_only_in_credential_columns(load_text: LoadText) -> None:
    """A column named like a credential is secret; ids, search terms and names are not (a
    row holding "HTTP" once turned every error message into "<redacted> 500")."""
    Path("d.csv").write_text(
        "username,password,api_key,term,access_token\n"
        "alice-1,hunter22,k3y-value,HTTP,tok-value-1\n",
        encoding="utf-8",
    )
    sc = load_text('[[requests]]\npath = "/s?q={term}&u={username}"\n[[data]]\nfile = "d.csv"\n')
    (data,) = sc.data
    assert data.secret_columns == ("password", "api_key", "access_token")
    assert {"hunter22", "k3y-value", "tok-value-1"} <= sc.secrets
    assert not {"alice-1", "HTTP"} & sc.secrets


def test_secret_columns_adds_columns(load_text: LoadText) -> None:
    Path("d.csv").write_text("username,password,ssn\nalice-1,hunter22,123-45-6789\n")
    sc = load_text(
        '[[requests]]\npath = "/{username}/{ssn}"\n'
        '[[data]]\nfile = "d.csv"\nsecret_columns = ["ssn", "username"]\n'
    )
    assert sc.data[0].secret_columns == ("username", "password", "ssn")
    assert {"alice-1", "hunter22", "123-45-6789"} <= sc.secrets


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["nope"]', 'x.toml: data[1].secret_columns: "nope" is not a column of d.csv (id, term)'),
        ('"term"', "x.toml: data[1].secret_columns: expected a list of column names of d.csv"),
        ("[1]", "x.toml: data[1].secret_columns: expected a list of column names of d.csv"),
    ],
)
def test_secret_columns_errors(error_text: ErrorText, value: str, message: str) -> None:
    Path("d.csv").write_text("id,term\n1,x\n", encoding="utf-8")
    text = f'[[requests]]\npath = "/{{id}}"\n[[data]]\nfile = "d.csv"\nsecret_columns = {value}\n'
    assert error_text(text).startswith(message)
