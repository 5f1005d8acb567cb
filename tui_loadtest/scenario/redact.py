"""What may leave the process: the scenario as reports and the store keep it.

A scenario's ``redacted`` copy is what every artefact records. Values keep
their ``${VAR}`` text (the environment's value is never copied), sensitive
header values and query parameters named like credentials become ``REDACTED``,
so a report or a baseline never holds a secret. ``redact_text`` scrubs the
same values from free text (error messages, logs). The store runs
``redact_scenario`` once more over scenarios it imports, whoever wrote them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from .model import (
    ENV_REF,
    PLACEHOLDER,
    CheckSpec,
    LoadSpec,
    MonitorSpec,
    RequestSpec,
    Scenario,
    Threshold,
)

REDACTED = "<redacted>"
# Free text is scrubbed of secret values this long or longer: shorter ones ("1",
# "a1") would cut holes in every number and name while hiding nothing.
MIN_SCRUBBED = 4

_SENSITIVE_NAMES = frozenset({"authorization", "proxy-authorization", "cookie"})
_SENSITIVE_WORDS = ("token", "key", "secret", "password", "auth", "cookie", "session")
# Query parameter names are split into words (api_key, X-Amz-Signature, sessionId);
# a word that is, or ends with, one of these marks a credential. Whole words, so
# "keyword" and "author" stay readable.
_SECRET_PARAM_WORDS = frozenset(
    {"auth", "authorization", "key", "pass", "passwd", "pwd", "sid", "sig", "session", "jwt"}
)
_SECRET_PARAM_ENDINGS = (
    "token",
    "apikey",
    "secret",
    "password",
    "signature",
    "sessionid",
    "credential",
    "credentials",
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def is_sensitive_header(name: str) -> bool:
    """True for headers whose values must never reach a report or a log."""
    lowered = name.lower()
    return lowered in _SENSITIVE_NAMES or any(word in lowered for word in _SENSITIVE_WORDS)


def is_secret_param(name: str) -> bool:
    """True for query parameters named like a credential (token, api_key, signature...)."""
    words = _WORD_SPLIT.split(_CAMEL.sub(r"\1 \2", name).lower())
    return any(w in _SECRET_PARAM_WORDS or w.endswith(_SECRET_PARAM_ENDINGS) for w in words)


def threshold_dicts(thresholds: Iterable[Threshold]) -> list[dict[str, Any]]:
    """The thresholds as the report keeps them (``stats.thresholds`` reads them back)."""
    return [
        {
            "metric": t.metric,
            "limit": t.limit,
            "endpoint": t.endpoint,
            "label": t.label,
            **({"check": t.check, "strict": t.strict} if t.metric == "checks" else {}),
            **({"tag": t.tag} if t.tag is not None else {}),
            **({"scenario": t.scenario} if t.scenario is not None else {}),
        }
        for t in thresholds
    ]


def check_report(check: CheckSpec) -> str | dict[str, Any]:
    """A check as the report keeps it: its text, or a table when named or soft."""
    if check.name == check.text and not check.soft:
        return check.text
    return {"check": check.text, "name": check.name, "soft": check.soft}


def _only_references(value: str) -> bool:
    """A value made only of ``${VAR}`` and ``{var}``: the template reveals nothing."""
    return not PLACEHOLDER.sub("", ENV_REF.sub("", value))


@lru_cache(maxsize=256)  # the loader asks several times about each request's path
def _secret_params(path: str) -> tuple[tuple[int, str], ...]:
    """``(index, value)`` of each secret-named parameter in the query of ``path``."""
    _, sep, query = path.partition("?")
    if not sep:
        return ()
    query = query.partition("#")[0]
    found = []
    for index, item in enumerate(query.split("&")):
        name, eq, value = item.partition("=")
        if eq and value and is_secret_param(unquote_plus(name)):
            found.append((index, value))
    return tuple(found)


def redact_query(url: str) -> str:
    """``url`` (or a path) with the values of credential-named query parameters redacted.

    A value written only as ``${VAR}`` or ``{var}`` is kept: that text is
    what reports show instead of the value (the vars it names are redacted
    where they are listed, see ``secret_vars``).
    """
    secret = {index for index, value in _secret_params(url) if not _only_references(value)}
    if not secret:
        return url
    head, _, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    items = query.split("&")
    for index in secret:
        items[index] = items[index].partition("=")[0] + "=" + REDACTED
    return head + "?" + "&".join(items) + hash_mark + fragment


def redact_proxy(url: str | None) -> str | None:
    """A proxy URL without its password (``http://user:<redacted>@host:3128``)."""
    if not url or "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:{REDACTED}@{host}"


def secret_query_values(url: str) -> set[str]:
    """The literal values of credential-named query parameters (for ``redact_text``)."""
    return {value for _, value in _secret_params(url) if not _only_references(value)}


def secret_vars(path: str) -> set[str]:
    """Names of the ``{var}`` placeholders inside credential-named query parameters."""
    return {name for _, value in _secret_params(path) for name in PLACEHOLDER.findall(value)}


class Redactor:
    """Secret values prepared once, to scrub many texts: ``redactor(text)``.

    A run builds one and passes every error message, event and log line through
    it. With a few secrets it tries each, longest first; with many (a data file's
    password column) it looks up every slice of the text whose length some
    secret has, leftmost and longest first: the cost follows the text and the
    number of distinct lengths, not the number of secrets (sorting 2M values for
    every message made a run with a 1M-row file last 11 s instead of 3).
    """

    FEW = 64  # up to this many, one ``in`` test each beats the slicing

    def __init__(self, secrets: Iterable[str]) -> None:
        every = frozenset(secrets)  # the scenario's own frozenset is taken as it is
        lengths = set(map(len, every))
        if lengths and min(lengths) < MIN_SCRUBBED:
            every = frozenset(s for s in every if len(s) >= MIN_SCRUBBED)
            lengths = {n for n in lengths if n >= MIN_SCRUBBED}
        self.secrets = every
        self._lengths = sorted(lengths, reverse=True)
        few = len(every) <= self.FEW
        self._longest_first = sorted(every, key=len, reverse=True) if few else []

    def __call__(self, text: str) -> str:
        if not self.secrets:
            return text
        if len(self.secrets) <= self.FEW:
            for secret in self._longest_first:
                if secret in text:
                    text = text.replace(secret, REDACTED)
            return text
        return self._scan(text)

    def _scan(self, text: str) -> str:
        secrets, lengths = self.secrets, self._lengths
        out: list[str] = []
        start = i = 0
        end = len(text)
        while i < end:
            for n in lengths:
                if i + n <= end and text[i : i + n] in secrets:
                    out.append(text[start:i])
                    out.append(REDACTED)
                    i += n
                    start = i
                    break
            else:
                i += 1
        if not out:
            return text
        out.append(text[start:])
        return "".join(out)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value of at least MIN_SCRUBBED characters replaced (for
    one text; a run scrubs many with one :class:`Redactor`)."""
    return Redactor(secrets)(text)


def redact_scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    """A copy with sensitive header values and query credentials replaced, whatever
    the report held.

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
            for key in ("path", "name"):
                if isinstance(request.get(key), str):
                    request[key] = redact_query(request[key])
    for flow in out.get("flows") or []:
        for step in (flow.get("steps") or []) if isinstance(flow, dict) else []:
            if isinstance(step, dict):
                scrub(step.get("headers"))
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
        **({"warmup_s": load.warmup_s} if load.warmup_s else {}),
        **({"start_s": load.start_s} if load.start_s else {}),
        **({"iterations": load.iterations} if load.iterations is not None else {}),
        **(
            {"iterations_per_user": load.iterations_per_user}
            if load.iterations_per_user is not None
            else {}
        ),
    }


def parts_dicts(sc: Scenario) -> list[dict[str, Any]]:
    """``[[scenarios]]`` as reports keep them: each one's load, and what it runs by name
    (the requests and flows themselves are under ``requests`` and ``flows``)."""
    out = []
    for p in sc.parts:
        entry: dict[str, Any] = {"name": p.name, "load": load_dict(p.load)}
        if p.requests:
            entry["requests"] = [r.name for r in p.requests]
        if p.flows:
            entry["flows"] = [f.name for f in p.flows]
        if p.script is not None:
            entry["script"] = {
                "file": p.script.file,
                "tasks": {name: weight for name, weight in p.script.tasks},
            }
        if p.tags:
            entry["tags"] = list(p.tags)
        out.append(entry)
    return out


def monitor_dict(monitor: MonitorSpec) -> dict[str, Any]:
    """``[monitor]`` as reports keep it (query credentials in scrape URLs redacted)."""
    return {
        "scrape": [redact_query(url) for url in monitor.scrape],
        "scrape_interval_s": monitor.scrape_interval_s,
        "metrics": [m.text or m.name for m in monitor.metrics],
        "pids": list(monitor.pids),
    }


def stream_dict(r: RequestSpec) -> dict[str, Any]:
    """A streamed request's keys in the report's scenario (nothing for another)."""
    if r.stream is None:
        return {}
    return {
        "stream": r.stream,
        "tokens": None if r.tokens is None else r.tokens.text,
        "idle_timeout_s": r.idle_timeout_s,
    }


def report_dict(
    sc: Scenario,
    http_headers: Mapping[str, str],
    request_reports: Sequence[Mapping[str, Any]],
    flows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The scenario as plain JSON data: values as written (templates), secrets redacted.

    ``request_reports`` holds each request's report form as the loader built it
    from the file: ``headers``, ``path``, ``body`` and ``vars`` as templates.
    A missing entry falls back to the request itself, its query redacted. Flows
    keep their templates (``{token}``, never a captured value); data files keep
    their name, mode, columns and row count, never a row.
    """
    http = sc.http
    journeys: dict[str, Any] = {}
    if sc.flows:
        journeys["flows"] = flows or []
    if sc.data:
        journeys["data"] = [
            {"file": d.file, "mode": d.mode, "columns": list(d.columns), "rows": len(d.rows)}
            for d in sc.data
        ]
    if sc.script is not None:
        journeys["script"] = {
            "file": sc.script.file,
            "tasks": {name: weight for name, weight in sc.script.tasks},
        }
    if sc.locustfile is not None:
        journeys["locustfile"] = {
            "file": sc.locustfile.file,
            "users": {c.name: c.fixed_count or c.weight for c in sc.locustfile.classes},
            "tasks": list(sc.locustfile.tasks),
            "shape": sc.locustfile.shape,
        }
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
            "max_body": http.max_body,
            "cookies": http.cookies,
            "max_redirects": http.max_redirects,
            "compression": http.compression,
            "ca_file": http.ca_file,
            "client_cert": http.client_cert,
            "client_key": http.client_key,
            "server_name": http.server_name,
            "proxy": redact_proxy(http.proxy),
        },
        "requests": [
            {
                "name": r.name,
                "method": r.method,
                "path": report.get("path", redact_query(r.path)),
                "weight": r.weight,
                "headers": dict(report.get("headers", {})),
                "body": report.get(
                    "body", None if r.body is None else r.body.decode("utf-8", "replace")
                ),
                "content_type": r.content_type,
                "vars": report.get("vars", {name: list(values) for name, values in r.vars}),
                "expect_status": None if r.expect_status is None else sorted(r.expect_status),
                **({"checks": [check_report(c) for c in r.checks]} if r.checks else {}),
                **({"tags": list(r.tags)} if r.tags else {}),
                **stream_dict(r),
            }
            for r, report in zip(sc.requests, request_reports, strict=True)
        ],
        "thresholds": threshold_dicts(sc.thresholds),
        **({"tags": list(sc.tags)} if sc.tags else {}),
        **(
            {"endpoint_tags": {n: list(t) for n, t in sc.endpoint_tags.items() if t}}
            if any(sc.endpoint_tags.values())
            else {}
        ),
        **journeys,
        **({"scenarios": parts_dicts(sc)} if sc.parts else {}),
        **({"monitor": monitor_dict(sc.monitor)} if sc.monitor.active else {}),
    }
