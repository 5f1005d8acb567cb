"""One road from a URL to a scenario: ``run URL`` and ``bench URL N C``.

The request becomes a one-request scenario through the same loader as a TOML
file (:func:`~tui_loadtest.scenario.loader.parse_scenario`), so every check
(methods, header names, bounds on users and requests) and every rule for secrets
(credentials in headers and queries kept out of names and reports) applies to a
URL as it does to a file. This module takes plain values; the command line reads
its flags into them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScenarioError
from .loader import SOURCE_FLAGS, parse_scenario
from .messages import show
from .model import Scenario
from .redact import redact_query
from .urls import split_url

SOURCE = SOURCE_FLAGS
FORM = "application/x-www-form-urlencoded"  # what curl -d sends unless told otherwise


@dataclass(frozen=True)
class AdhocRequest:
    """The request a URL is sent with (as curl, hey and oha take it)."""

    method: str | None = None  # default GET, or POST with a body
    headers: Sequence[tuple[str, str]] = ()
    body: str | None = None  # sent as is (form-encoded unless a Content-Type is given)
    json: Any = None  # a JSON body (``has_json`` tells None apart from JSON's null)
    has_json: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)  # other [[requests]] keys


def request_table(request: AdhocRequest, path: str) -> dict[str, Any]:
    """The ``[[requests]]`` entry for ``request`` on ``path``."""
    headers = dict(request.headers)
    entry: dict[str, Any] = {"path": path, **request.extra}
    if request.has_json:
        entry["json"] = request.json
    elif request.body is not None:
        entry["body"] = request.body
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = FORM
    has_body = "json" in entry or "body" in entry
    entry["method"] = (request.method or ("POST" if has_body else "GET")).upper()
    entry["name"] = f"{entry['method']} {redact_query(path)}"
    if headers:
        entry["headers"] = headers
    return entry


def url_scenario(
    url: str,
    request: AdhocRequest | None = None,
    *,
    load: Mapping[str, Any],
    http: Mapping[str, Any] | None = None,
) -> Scenario:
    """A one-request scenario for ``url``: ``load`` and ``http`` are the TOML file's
    ``[load]`` and ``[http]`` keys, checked as a file's are."""
    try:
        if not isinstance(url, str):
            raise ValueError('expected a URL like "http://127.0.0.1:5000/api/health"')
        host, path = split_url(url.strip(), allow_path=True)
    except ValueError as exc:
        shown = redact_query(url) if isinstance(url, str) else url
        raise ScenarioError(f"URL: {exc}, got {show(shown)}") from None
    # Braces in a URL are the loader's placeholders; a URL given on the command
    # line means them literally, so no {name} needs vars.
    if "{" in path:
        raise ScenarioError("URL: braces are not allowed in an ad-hoc URL (use a scenario file)")
    entry = request_table(request or AdhocRequest(), path)
    data: dict[str, Any] = {
        "name": entry["name"],  # "POST /items": the host is shown beside it everywhere
        "host": host,
        "load": dict(load),
        "requests": [entry],
    }
    if http:
        data["http"] = dict(http)
    return parse_scenario(data, SOURCE)
