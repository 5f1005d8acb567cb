"""Scenario files: the TOML format, its data model and a strict loader.

Everything a run needs (target, load shape, HTTP options, weighted requests,
CI thresholds) lives in one TOML file whose key names follow Locust where
Locust has one (``users``, ``spawn_rate``, ``run_time``).

- ``model``: the frozen dataclasses and constants the rest of the tool reads;
- ``loader``: TOML to a validated Scenario (with ``request_table``,
  ``thresholds``, ``headers``, ``env``, ``checks`` and ``messages``), every
  problem one line naming the file, the key and what was expected;
- ``urls``: the target URL rules;
- ``overrides``: command-line flags over a scenario;
- ``adhoc``: the one-request scenario of ``run URL`` and ``bench URL``;
- ``redact``: what may leave the process (reports, the store), secrets removed.

This is a core package: it must not import textual.
"""

from __future__ import annotations

from .adhoc import AdhocRequest, url_scenario
from .loader import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    load_builtin_demo,
    load_scenario,
    parse_scenario,
    script_scenario,
)
from .model import (
    ARRIVALS,
    AT_ONCE,
    DEFAULT_MAX_USERS,
    MAX_DURATION_S,
    MAX_ENDPOINTS,
    MAX_RATE,
    MAX_USERS,
    MAX_WEIGHT,
    MAX_WORKERS,
    MODES,
    THRESHOLD_METRICS,
    TRANSPORTS,
    HttpSpec,
    LoadSpec,
    MetricSelector,
    MonitorSpec,
    RequestSpec,
    Scenario,
    Stage,
    Threshold,
)
from .overrides import apply_overrides, cpu_cores, plan_workers, with_tls_flags
from .redact import (
    REDACTED,
    Redactor,
    is_secret_param,
    is_sensitive_header,
    redact_query,
    redact_scenario,
    redact_text,
)
from .urls import normalize_host

__all__ = [
    "ARRIVALS",
    "AT_ONCE",
    "AdhocRequest",
    "DEFAULT_MAX_USERS",
    "MAX_DURATION_S",
    "MAX_ENDPOINTS",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "MAX_RATE",
    "MAX_USERS",
    "MAX_WEIGHT",
    "MAX_WORKERS",
    "MODES",
    "REDACTED",
    "THRESHOLD_METRICS",
    "TRANSPORTS",
    "HttpSpec",
    "LoadSpec",
    "MetricSelector",
    "MonitorSpec",
    "RequestSpec",
    "Scenario",
    "Stage",
    "Threshold",
    "apply_overrides",
    "cpu_cores",
    "is_secret_param",
    "is_sensitive_header",
    "load_builtin_demo",
    "load_scenario",
    "normalize_host",
    "parse_scenario",
    "plan_workers",
    "Redactor",
    "redact_query",
    "redact_scenario",
    "redact_text",
    "script_scenario",
    "url_scenario",
    "with_tls_flags",
]
