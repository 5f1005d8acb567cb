"""The strict loader: TOML text to a validated :class:`Scenario`.

Unknown keys, wrong types and impossible combinations are reported as one line
naming the file, the dotted key and what was expected, because a silently
ignored typo in a load test wastes a whole run. The ``[[requests]]`` and
``[thresholds]`` tables have their own modules; this one holds the entry
points, the top level, ``[load]`` and ``[http]``.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ScenarioError
from .checks import (
    Check,
    Context,
    boolean,
    choice,
    duration,
    text,
)
from .cluster import parse_cluster
from .data_files import columns_hint, parse_data
from .export_table import parse_export
from .flow_table import parse_flows
from .headers import parse_headers
from .load_table import parse_load
from .messages import join, show
from .model import (
    COMPRESSIONS,
    MAX_ENDPOINTS,
    MAX_REDIRECTS,
    TRANSPORTS,
    HttpSpec,
    LoadSpec,
    Scenario,
    ScenarioPart,
    ScriptSpec,
)
from .monitor_table import parse_monitor
from .redact import redact_proxy, report_dict
from .request_table import parse_requests
from .scenarios_table import parse_parts
from .script_file import load_script
from .setup_table import parse_setup
from .tags import parse_tags
from .thresholds import parse_thresholds
from .urls import normalize_host

# The source named by a scenario made from command-line flags (run URL, bench).
SOURCE_FLAGS = "the command line"

__all__ = [
    "MAX_FILE_BYTES",
    "SOURCE_FLAGS",
    "MAX_NESTING",
    "load_builtin_demo",
    "load_scenario",
    "parse_scenario",
    "script_scenario",
]

_DEMO_RESOURCE = ("demo", "scenarios", "demo.toml")
# Documented limits (docs/scenarios.md, "Limits"): a scenario file is a small text file.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_NESTING = 64  # levels of tables and arrays; json bodies included
_FILE_KINDS = (
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "named pipe"),
    (stat.S_ISSOCK, "socket"),
)
_TOP_KEYS = (
    "name",
    "host",
    "load",
    "http",
    "requests",
    "flows",
    "data",
    "script",
    "thresholds",
    "monitor",
    "cluster",
    "export",
    "tags",
    "setup",
    "teardown",
    "scenarios",
)


# -------------------------------------------------------------------- entry points


def parse_scenario(
    data: dict[str, Any],
    source: str,
    env: Mapping[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> Scenario:
    """Validate already-decoded TOML ``data``; ``source`` names the file in messages.
    ``announce`` is told what a slow step is doing (reading a large data file)."""
    ctx = Context(source, os.environ if env is None else env, announce)
    if not isinstance(data, dict):
        raise ctx.expected("", "a TOML document", data)
    _check_values(ctx, data)
    ctx.check_keys("", data, _TOP_KEYS)
    name = text(ctx, "name", data.get("name", Path(source).stem or "scenario"))
    raw_host = data.get("host")
    if raw_host is not None and not isinstance(raw_host, str):
        raise ctx.expected("host", '"demo" or a URL like "http://127.0.0.1:5000"', raw_host)
    try:
        host = normalize_host(raw_host)
    except ValueError as exc:
        raise ctx.expected("host", str(exc).removeprefix("expected "), raw_host) from None
    has_parts = "scenarios" in data
    load = parse_load(ctx, data.get("load"), parts=has_parts)
    http, http_report = _parse_http(ctx, data.get("http"))
    if has_parts and "script" in data:
        raise ctx.fail(
            "script",
            'with [[scenarios]], give script = "users.py" in the [[scenarios]] that runs it',
        )
    script = _parse_script(ctx, data)
    data_files = parse_data(ctx, data.get("data"))
    setup, setup_reports = parse_setup(ctx, "setup", data.get("setup"), http.headers)
    setup_names = frozenset(c.name for step in setup for c in step.captures)
    teardown, teardown_reports = parse_setup(
        ctx, "teardown", data.get("teardown"), http.headers, known=setup_names
    )
    columns = frozenset(c for d in data_files for c in d.columns)
    for name in sorted(columns & setup_names):
        raise ctx.fail("setup", f"{show(name)} is both captured by [setup] and a [[data]] column")
    requests, request_reports = parse_requests(
        ctx,
        data.get("requests"),
        http.headers,
        known=columns | setup_names,
        optional="flows" in data or script is not None or has_parts,
        unknown_hint=columns_hint(data_files) and f"add vars{columns_hint(data_files)}",
    )
    taken = {r.name: r.method for r in requests}
    flows, flow_reports = parse_flows(
        ctx, data.get("flows"), http.headers, columns | setup_names, taken, columns_hint(data_files)
    )
    for index, flow in enumerate(flows, start=1):
        for step_no, step in enumerate(flow.steps, start=1):
            for c in step.captures:
                if c.name in setup_names:
                    raise ctx.fail(
                        f"flows[{index}].steps[{step_no}].capture.{c.name}",
                        f"{show(c.name)} is captured by [setup] (its values are read-only)",
                    )
    parts = parse_parts(ctx, data["scenarios"], requests, flows) if has_parts else ()
    rows = len(taken)
    if parts:  # each scenario's rows are its own
        rows = len(
            Scenario(name="", host=None, load=load, http=http, requests=(), parts=parts).endpoints
        )
    if rows > MAX_ENDPOINTS:  # every request and flow step has its own row
        raise ctx.fail(
            "scenarios" if parts else "flows",
            f"expected at most {MAX_ENDPOINTS} endpoints in all ([[requests]] and the flows' "
            f"steps{', in each scenario' if parts else ''}), got {rows}",
        )
    if http.transport == "httpx" and (
        flows
        or data_files
        or script is not None
        or any(r.checks for r in requests)
        or any(p.script is not None for p in parts)
    ):
        raise ctx.fail(
            "http.transport",
            '[[flows]], [[data]], checks and scripts run on the "fast" transport '
            '(remove transport = "httpx")',
        )
    if http.transport == "httpx" and any(r.stream for r in requests):
        raise ctx.fail(
            "http.transport",
            'streams (stream = ...) are read on the "fast" transport (remove transport = "httpx")',
        )
    check_names = [
        c.name
        for spec in [*requests, *(s.request for f in flows for s in f.steps)]
        for c in spec.checks
    ]
    tags = parse_tags(ctx, "tags", data.get("tags"))
    if parts:
        load = _run_load(load, parts)
    tagged = Scenario(
        name="",
        host=None,
        load=load,
        http=http,
        requests=requests,
        flows=flows,
        tags=tags,
        parts=parts,
    )
    tag_names = list(dict.fromkeys(t for tt in tagged.endpoint_tags.values() for t in tt))
    scripted = script is not None or any(p.script is not None for p in parts)
    if parts:
        check_names = [name for _, name, _ in tagged.check_rows]
    thresholds = parse_thresholds(
        ctx,
        data.get("thresholds"),
        list(dict.fromkeys(name for _, name in tagged.endpoints)) if parts else list(taken),
        iterations=bool(flows) or scripted,
        check_names=None if scripted else list(dict.fromkeys(check_names)),
        tag_names=tag_names,
        scenario_names=[p.name for p in parts],
    )
    if script is not None and "host" not in data and script.host is not None:
        host = script.host  # the script's own host (Locust's): the file's host comes first
    monitor = parse_monitor(ctx, data.get("monitor"))
    cluster = parse_cluster(ctx, data.get("cluster"))
    export = parse_export(ctx, data.get("export"))
    scenario = Scenario(
        name=name,
        host=host,
        load=load,
        http=http,
        requests=requests,
        thresholds=thresholds,
        source=source,
        flows=flows,
        data=data_files,
        script=script,
        monitor=monitor,
        cluster=cluster,
        export=export,
        tags=tags,
        setup=setup,
        teardown=teardown,
        parts=parts,
    )
    redacted = report_dict(scenario, http_report, request_reports, flow_reports)
    if setup:
        redacted["setup"] = setup_reports
    if teardown:
        redacted["teardown"] = teardown_reports
    return replace(scenario, redacted=redacted, secrets=frozenset(ctx.secrets))


def _run_load(load: LoadSpec, parts: tuple[ScenarioPart, ...]) -> LoadSpec:
    """The ``load`` of a file with ``[[scenarios]]``: its run time and warm-up, and the
    users of every closed scenario (the peak of its stages) as the run's users; an
    arrival rate and its cap when every scenario has one."""
    if all(p.load.is_open for p in parts):
        return replace(
            load,
            mode="arrival-rate",
            users=0,
            rate=sum(p.load.peak_level for p in parts),
            max_users=sum(p.load.max_users for p in parts),
        )
    closed = [p.load for p in parts if not p.load.is_open]
    return replace(load, users=sum(int(p.peak_level) for p in closed))


def _parse_script(ctx: Context, data: Mapping[str, Any]) -> ScriptSpec | None:
    """``script = "users.py"``: a Python user script instead of requests and flows."""
    if "script" not in data:
        return None
    value = data["script"]
    if not isinstance(value, str) or not value.strip():
        raise ctx.expected("script", 'a Python file, like "users.py"', value)
    for other in ("requests", "flows"):
        if other in data:
            raise ctx.fail(
                "script", f"cannot be combined with [[{other}]] (the script makes the requests)"
            )
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(ctx.source).parent / path
    return load_script(value, path, f"{ctx.source}: script")


def script_scenario(path: str | Path) -> Scenario:
    """``tui-loadtest run users.py``: the script with default load and HTTP options
    (the command line's flags apply as usual)."""
    file = str(path)
    spec = load_script(file, Path(file), file)
    scenario = Scenario(
        name=Path(file).stem or "script",
        host=spec.host,
        load=LoadSpec(),
        http=HttpSpec(),
        requests=(),
        source=file,
        script=spec,
    )
    return replace(scenario, redacted=report_dict(scenario, {}, []))


def load_scenario(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    *,
    announce: Callable[[str], None] | None = None,
) -> Scenario:
    """Read and validate a scenario file; every problem is a one-line ScenarioError.
    ``announce`` gets a line when a step takes long (a large ``[[data]]`` file)."""
    source = str(path)
    try:
        raw = _read_scenario_file(path)
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read scenario file: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ScenarioError(f"{source}: cannot read scenario file: {exc}") from None
    return _parse_bytes(raw, source, env, announce)


def _read_scenario_file(path: str | Path) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_FILE_BYTES.

    Checked before reading: ``/dev/zero`` or a FIFO would otherwise be read
    forever (or block), and a huge file would fill memory. The file is opened
    without blocking and checked again, in case it was swapped after the stat.
    """
    _check_file(os.stat(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        _check_file(os.fstat(fd))
        raw = fh.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(_too_big(len(raw)))
    return raw


def _check_file(info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ValueError("it is a directory")
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "special file")
        raise ValueError(f"not a regular file (a {kind})")
    if info.st_size > MAX_FILE_BYTES:
        raise ValueError(_too_big(info.st_size))


def _too_big(size: int) -> str:
    mb = 1024 * 1024
    return f"{size / mb:.1f} MB is more than a scenario may hold ({MAX_FILE_BYTES // mb} MB)"


def load_builtin_demo(env: Mapping[str, str] | None = None) -> Scenario:
    """The scenario ``tui-loadtest run`` uses when no file is given."""
    resource = files("tui_loadtest").joinpath(*_DEMO_RESOURCE)
    scenario = _parse_bytes(resource.read_bytes(), "demo.toml", env)
    redacted = {**scenario.redacted, "source": str(resource)}
    return replace(scenario, source=str(resource), redacted=redacted)


def _parse_bytes(
    raw: bytes,
    source: str,
    env: Mapping[str, str] | None,
    announce: Callable[[str], None] | None = None,
) -> Scenario:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: invalid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: invalid TOML: {exc}") from None
    except ValueError:  # tomllib lets int() refuse over 4300 digits with Python's words
        raise ScenarioError(
            f"{source}: invalid TOML: an integer too long to read (TOML integers fit in 64 bits)"
        ) from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ScenarioError(
            f"{source}: invalid TOML: nested too deeply (at most {MAX_NESTING} levels)"
        ) from None
    return parse_scenario(data, source, env, announce)


def _check_values(ctx: Context, data: dict[str, Any]) -> None:
    """Refuse what TOML allows no more than we do, without recursing into the document.

    Values nested deeper than MAX_NESTING and integers outside TOML's 64-bit
    range (``tomllib`` reads any length). Everything after this may then recurse,
    convert and print freely. Keys are cut after a few levels to stay one line.
    """
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, key = stack.pop()
        if depth > MAX_NESTING:
            raise ctx.fail(key, f"nested too deeply (at most {MAX_NESTING} levels)")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise ctx.expected(key, "an integer that fits in 64 bits (as TOML requires)", value)
        if isinstance(value, dict):
            items: Iterable[tuple[str | int, Any]] = value.items()
        elif isinstance(value, list):
            items = enumerate(value, start=1)
        else:
            continue
        for child, item in items:
            child_key = (
                join(key, child) if depth < 4 else key if key.endswith("...") else key + "..."
            )
            stack.append((item, depth + 1, child_key))


# --------------------------------------------------------------------------- http

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|KIB|MB|MIB|GB|GIB)?\s*", re.IGNORECASE)
_UNITS = {
    "B": 1,
    "KB": 1000,
    "KIB": 1024,
    "MB": 1000**2,
    "MIB": 1024**2,
    "GB": 1000**3,
    "GIB": 1024**3,
}


def byte_size(ctx: Context, key: str, value: Any) -> int:
    """A size in bytes: ``1048576``, ``"512KB"``, ``"1 MiB"``."""
    what = 'a size in bytes, like 1048576 or "1MB"'
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE.fullmatch(value)):
        size = int(float(m.group(1)) * _UNITS[(m.group(2) or "B").upper()])
    else:
        raise ctx.expected(key, what, value)
    if size <= 0:
        raise ctx.expected(key, what, value)
    return size


def redirect_limit(ctx: Context, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REDIRECTS:
        raise ctx.expected(key, f"a whole number of redirects from 0 to {MAX_REDIRECTS}", value)
    return value


def compression(ctx: Context, key: str, value: Any) -> str:
    """``"gzip, deflate"`` (the default), ``"gzip, deflate, br"``, or ``"none"``."""
    what = f'"none" or a list of {", ".join(COMPRESSIONS)}, like "gzip, deflate"'
    if not isinstance(value, str):
        raise ctx.expected(key, what, value)
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if names == ["none"]:
        return "none"
    if not names or any(n not in COMPRESSIONS for n in names):
        raise ctx.expected(key, what, value)
    return ", ".join(names)


def pem_file(ctx: Context, key: str, value: Any) -> str:
    """A readable file, relative to the scenario's folder."""
    if not isinstance(value, str) or not value.strip():
        raise ctx.expected(key, "the path of a PEM file", value)
    path = Path(value).expanduser()
    if not path.is_absolute() and ctx.source != SOURCE_FLAGS:
        path = Path(ctx.source).parent / path
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ctx.fail(key, f"cannot read {path}: {exc.strerror or exc}") from None
    return str(path)


def server_name(ctx: Context, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or any(c in value for c in " /:@"):
        raise ctx.expected(key, 'a host name, like "api.example.test"', value)
    return value.strip().lower()


def proxy_url(ctx: Context, key: str, value: Any) -> str:
    """``http://HOST:PORT`` (credentials allowed: kept out of reports), or "" for none."""
    if value == "":
        return ""
    what = 'a proxy URL like "http://127.0.0.1:3128", or "" for none'
    if not isinstance(value, str):
        raise ctx.expected(key, what, value)
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ctx.fail(key, f"expected {what}, got {show(redact_proxy(value))}")
    return value.strip()


# [http] keys: (key, HttpSpec field, check); transport and headers are parsed apart.
_HTTP_VALUES: tuple[tuple[str, str, Check], ...] = (
    ("timeout", "timeout_s", duration),
    ("connect_timeout", "connect_timeout_s", duration),
    ("keepalive", "keepalive", boolean),
    ("verify_tls", "verify_tls", boolean),
    ("http2", "http2", boolean),
    ("max_body", "max_body", byte_size),
    ("cookies", "cookies", boolean),
    ("max_redirects", "max_redirects", redirect_limit),
    ("compression", "compression", compression),
    ("ca_file", "ca_file", pem_file),
    ("client_cert", "client_cert", pem_file),
    ("client_key", "client_key", pem_file),
    ("server_name", "server_name", server_name),
    ("proxy", "proxy", proxy_url),
)
_HTTP_KEYS = (
    "timeout",
    "connect_timeout",
    "keepalive",
    "verify_tls",
    "follow_redirects",
    "max_redirects",
    "cookies",
    "compression",
    "ca_file",
    "client_cert",
    "client_key",
    "server_name",
    "proxy",
    "transport",
    "http2",
    "headers",
    "max_body",
)
# Options the "fast" transport cannot honour: (key, why).
_HTTPX_ONLY = (
    ("http2", 'needs http.transport = "httpx" (the "fast" transport speaks HTTP/1.1 only)'),
)


def _parse_http(ctx: Context, raw: Any) -> tuple[HttpSpec, dict[str, str]]:
    table = ctx.table("http", raw, "a table ([http])")
    ctx.check_keys("http", table, _HTTP_KEYS)
    values = {
        attr: check(ctx, f"http.{name}", table[name])
        for name, attr, check in _HTTP_VALUES
        if name in table
    }
    if "follow_redirects" in table:  # the older switch: false is max_redirects = 0
        follow = boolean(ctx, "http.follow_redirects", table["follow_redirects"])
        if not follow:
            if values.get("max_redirects"):
                raise ctx.fail(
                    "http.follow_redirects", "false, but http.max_redirects is not 0: keep one"
                )
            values["max_redirects"] = 0
    if "client_key" in values and "client_cert" not in values:
        raise ctx.fail("http.client_key", "needs http.client_cert (the certificate it goes with)")
    transport = choice(ctx, "http.transport", table.get("transport", "fast"), TRANSPORTS)
    if transport != "httpx":
        for name, why in _HTTPX_ONLY:
            if values.get(name):
                raise ctx.fail(f"http.{name}", why)
    elif values.get("proxy") or values.get("server_name"):
        raise ctx.fail(
            "http.proxy" if values.get("proxy") else "http.server_name",
            'is for the "fast" transport (httpx reads HTTPS_PROXY itself)',
        )
    headers, report = parse_headers(ctx, "http.headers", table.get("headers"))
    return HttpSpec(transport=transport, headers=headers, **values), report
