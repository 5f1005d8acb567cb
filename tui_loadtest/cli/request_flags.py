"""One request from the command line, the way curl, hey and oha take it.

``tui-loadtest run URL`` and ``tui-loadtest bench URL`` describe their request
with ``-m/--method``, ``-H/--header`` (repeatable), ``-d/--data`` (``@FILE``
reads a file, as curl does) and ``--json``. ``-H`` means a header here, as in
curl, hey and oha; Locust's ``-H`` (its host) is ``--host`` in tui-loadtest.

The flags become a :class:`~tui_loadtest.scenario.adhoc.AdhocRequest`, and the
request a scenario through :func:`~tui_loadtest.scenario.adhoc.url_scenario`: the
same loader as a TOML file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError
from ..scenario.adhoc import FORM, AdhocRequest

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


def adhoc_request(args: argparse.Namespace) -> AdhocRequest:
    """The request the flags describe (``@FILE`` read, ``--json`` parsed)."""
    headers = tuple(_header(h) for h in args.headers)
    if args.json_body is not None:
        text = _read(args.json_body, "--json")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"--json: not JSON ({exc.msg} at character {exc.pos})") from None
        return AdhocRequest(method=args.method, headers=headers, json=value, has_json=True)
    body = _read(args.data, "-d/--data") if args.data is not None else None
    return AdhocRequest(method=args.method, headers=headers, body=body)


def _header(text: str) -> tuple[str, str]:
    if looks_like_url(text.strip()) and " " not in text.strip():
        raise UserError(
            f"-H {text}: -H is a request header here (as in curl, hey and oha); the target's"
            f" base URL is --host (Locust's -H): --host {text.strip()}"
        )
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
