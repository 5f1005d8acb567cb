"""One request from the command line, the way curl, hey and oha take it.

``tui-loadtest run URL`` and ``tui-loadtest bench URL`` describe their request
with ``-m/--method``, ``-H/--header`` (repeatable), ``-d/--data`` (``@FILE``
reads a file, as curl does) and ``--json``. ``-H`` means a header here, as in
curl, hey and oha; Locust's ``-H`` (its host) is ``--host`` in tui-loadtest.

The request becomes a one-request scenario through the same loader as a TOML
file, so every check (methods, header names, secrets kept out of reports)
applies to flags as it does to files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:
    from .scenario import Scenario

SOURCE = "the command line"
FORM = "application/x-www-form-urlencoded"  # what curl -d sends unless told otherwise
RUN_DEFAULTS: dict[str, Any] = {"users": 10, "spawn_rate": 10, "run_time": "30s"}

REQUEST_HELP = """\
one request from flags (run URL, bench URL), as curl, hey and oha take it:
  -H means a header here (curl, hey, oha); the target's base URL is --host
  (Locust's -H). -d and --json make the method POST unless -m says otherwise."""


def looks_like_url(text: str | None) -> bool:
    return bool(text) and "://" in str(text)


def add_request_flags(parser: argparse.ArgumentParser) -> None:
    """-m, -H, -d, --json: the request that ``run URL`` and ``bench URL`` send."""
    group = parser.add_argument_group("the request (with a URL)", REQUEST_HELP)
    group.add_argument("-m", "--method", metavar="METHOD", help="HTTP method (default GET)")
    group.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        default=[],
        metavar='"NAME: VALUE"',
        help="a request header; repeat for more",
    )
    body = group.add_mutually_exclusive_group()
    body.add_argument(
        "-d", "--data", metavar="DATA", help=f"request body (@FILE: read it; default type {FORM})"
    )
    body.add_argument(
        "--json", dest="json_body", metavar="JSON", help="a JSON request body (@FILE: read it)"
    )


def uses_request_flags(args: argparse.Namespace) -> bool:
    return bool(args.method or args.headers or args.data is not None or args.json_body is not None)


def request_table(args: argparse.Namespace, path: str) -> dict[str, Any]:
    """The ``[[requests]]`` entry the flags describe."""
    from .scenario import redact_query

    headers = dict(_header(h) for h in args.headers)
    entry: dict[str, Any] = {"path": path}
    if args.json_body is not None:
        text = _read(args.json_body, "--json")
        try:
            entry["json"] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"--json: not JSON ({exc.msg} at character {exc.pos})") from None
    elif args.data is not None:
        entry["body"] = _read(args.data, "-d/--data")
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = FORM
    has_body = "json" in entry or "body" in entry
    entry["method"] = (args.method or ("POST" if has_body else "GET")).upper()
    entry["name"] = f"{entry['method']} {redact_query(path)}"
    if headers:
        entry["headers"] = headers
    return entry


def url_scenario(url: str, args: argparse.Namespace, load: dict[str, Any]) -> Scenario:
    """A one-request scenario for ``url`` with ``load`` ([load] keys) and the flags' request."""
    from .scenario import parse_scenario
    from .scenario.urls import split_url

    try:
        host, path = split_url(url.strip(), allow_path=True)
    except ValueError as exc:
        raise UserError(f"URL: {exc}") from None
    entry = request_table(args, path)
    data = {
        "name": entry["name"],  # "POST /items": the host is shown beside it everywhere
        "host": host,
        "load": load,
        "requests": [entry],
    }
    # Braces in a URL are the loader's placeholders; a URL given on the command
    # line means them literally, so no {name} needs vars.
    if "{" in path:
        raise UserError("URL: braces are not allowed in an ad-hoc URL (use a scenario file)")
    return parse_scenario(data, SOURCE)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UserError(f'-H/--header: expected "Name: value", got {text!r}')
    return name.strip(), value.strip()


def _read(value: str, flag: str) -> str:
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UserError(f"{flag}: cannot read {path}: {reason}") from None
