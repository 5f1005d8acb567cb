"""What may leave the process: the scenario as reports and the store keep it.

A scenario's ``redacted`` copy is what every artefact records. Sensitive
header values are replaced by ``REDACTED`` and ``${VAR}`` references keep their
text, so a report or a baseline never holds a secret. The store runs
``redact_scenario`` once more over scenarios it imports, whoever wrote them.
"""

from __future__ import annotations

import copy
from typing import Any

from .model import LoadSpec, Scenario

REDACTED = "<redacted>"

_SENSITIVE_NAMES = frozenset({"authorization", "proxy-authorization", "cookie"})
_SENSITIVE_WORDS = ("token", "key", "secret", "password", "auth", "cookie", "session")


def is_sensitive_header(name: str) -> bool:
    """True for headers whose values must never reach a report or a log."""
    lowered = name.lower()
    return lowered in _SENSITIVE_NAMES or any(word in lowered for word in _SENSITIVE_WORDS)


def redact_scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    """A copy with every sensitive header value replaced, whatever the report held.

    Runs already redact their scenario; this second pass protects the store
    from report files written by hand or by older versions.
    """
    out = copy.deepcopy(scenario)

    def scrub(headers: Any) -> None:
        if isinstance(headers, dict):
            for key in headers:
                if is_sensitive_header(str(key)):
                    headers[key] = REDACTED

    scrub((out.get("http") or {}).get("headers"))
    for request in out.get("requests") or []:
        if isinstance(request, dict):
            scrub(request.get("headers"))
    return out


def load_dict(load: LoadSpec) -> dict[str, Any]:
    return {
        "mode": load.mode,
        "users": load.users,
        "spawn_rate": load.spawn_rate,
        "run_time_s": load.run_time_s,
        "requests": load.requests,
        "think_time": list(load.think_time),
        "rate": load.rate,
        "max_users": load.max_users,
        "arrival": load.arrival,
        "stages": [{"duration_s": s.duration_s, "target": s.target} for s in load.stages],
    }


def report_dict(
    sc: Scenario, http_headers: dict[str, str], request_headers: list[dict[str, str]]
) -> dict[str, Any]:
    """The scenario as plain JSON data with header values as templates, secrets redacted."""
    http = sc.http
    return {
        "name": sc.name,
        "host": sc.host,
        "source": sc.source,
        "load": load_dict(sc.load),
        "http": {
            "timeout_s": http.timeout_s,
            "connect_timeout_s": http.connect_timeout_s,
            "keepalive": http.keepalive,
            "verify_tls": http.verify_tls,
            "follow_redirects": http.follow_redirects,
            "headers": dict(http_headers),
            "transport": http.transport,
            "http2": http.http2,
        },
        "requests": [
            {
                "name": r.name,
                "method": r.method,
                "path": r.path,
                "weight": r.weight,
                "headers": dict(headers),
                "body": None if r.body is None else r.body.decode("utf-8", "replace"),
                "content_type": r.content_type,
                "vars": {name: list(values) for name, values in r.vars},
                "expect_status": None if r.expect_status is None else sorted(r.expect_status),
            }
            for r, headers in zip(sc.requests, request_headers, strict=True)
        ],
        "thresholds": [
            {"metric": t.metric, "limit": t.limit, "endpoint": t.endpoint, "label": t.label}
            for t in sc.thresholds
        ],
    }
