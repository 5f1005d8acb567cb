"""``/openapi.json``: every endpoint of ``serve``, its parameters, and the shape of each
answer (errors included). Written by hand beside the handlers, except the shapes
defined elsewhere: a baseline's list entry is the JSON Schema of
:class:`~tui_loadtest.store.BaselineInfo` (as the report's schema is its structs'),
the sort keys are the baselines API's own. The suite checks the live server against
it with schemathesis (no 5xx, every answer matches) and checks that it names exactly
the routes the app has."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from .. import __version__
from ..baselines import SORT_KEYS
from ..ratings import OVERALL_LABELS
from ..store import BaselineInfo

BASE = "/api/load-test"

# (method, path, description): also listed by GET /api/load-test/info.
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("POST", f"{BASE}/baseline", "save a report (a file in the results folder, or inline)"),
    ("GET", f"{BASE}/baselines", "list the baselines"),
    ("GET", f"{BASE}/baselines/{{id}}", "one baseline: JSON, ?format=text or ?format=html"),
    ("DELETE", f"{BASE}/baselines/{{id}}", "delete a baseline (needs the token)"),
    ("GET", f"{BASE}/info", "version, store, counts, endpoints and rating bands"),
    ("GET", f"{BASE}/compare", "?baseline=A&run=B: the verdict table"),
    ("GET", "/openapi.json", "this description"),
)

_NUMBER = {"type": "number"}
_INTEGER = {"type": "integer"}
_STRING = {"type": "string"}
_OBJECT = {"type": "object"}
_NULLABLE_NUMBER = {"type": ["number", "null"]}


def baseline_info_schema() -> dict[str, Any]:
    """A list entry as the API sends it: BaselineInfo's fields under their wire names, all
    always present, with the ``rating`` before the ``metadata`` (``BaselineInfo.to_dict``)."""
    (_,), components = msgspec.json.schema_components([BaselineInfo])
    fields = components["BaselineInfo"]["properties"]
    properties = {k: {n: v for n, v in f.items() if n != "default"} for k, f in fields.items()}
    metadata = properties.pop("metadata")
    properties["rating"] = {"type": "string", "enum": list(OVERALL_LABELS)}
    properties["metadata"] = metadata
    return {
        "type": "object",
        "description": "A baseline in the list: its run's figures (those of its"
        " representative run when it holds several) and its rating.",
        "required": list(properties),
        "properties": properties,
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": _STRING, "detail": _STRING},
    },
    "BaselineInfo": baseline_info_schema(),
    "BaselineList": {
        "type": "object",
        "required": ["store", "count", "baselines"],
        "properties": {
            "store": _STRING,
            "count": _INTEGER,
            "baselines": {"type": "array", "items": {"$ref": "#/components/schemas/BaselineInfo"}},
        },
    },
    "BaselineDetails": {
        "description": "The stored JSON report (as `tui-loadtest run --out` writes it), with"
        " the baseline's name, date and metadata under `baseline`.",
        "type": "object",
        "required": ["summary", "endpoints", "errors", "timeline", "baseline"],
        "properties": {
            "tool": _STRING,
            "version": _STRING,
            "started_at": _STRING,
            "duration_s": _NUMBER,
            "host": _STRING,
            "scenario_name": _STRING,
            "summary": _OBJECT,
            "endpoints": {"type": "array", "items": _OBJECT},
            "errors": {"type": "array", "items": _OBJECT},
            "timeline": {"type": "array", "items": _OBJECT},
            "histograms": _OBJECT,
            "baseline": {
                "type": "object",
                "required": ["name", "created_at", "metadata"],
                "properties": {"name": _STRING, "created_at": _STRING, "metadata": _OBJECT},
            },
        },
    },
    "NewBaseline": {
        "type": "object",
        "description": "Exactly one of test_results_file and test_results.",
        "required": ["baseline_name"],
        "properties": {
            "baseline_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "test_results_file": {
                "type": "string",
                "description": "a report file, relative to the server's results folder",
            },
            "test_results": {
                "type": "object",
                "description": "a JSON report (run --out, bench, or an exported baseline)",
            },
        },
    },
    "ComparisonRow": {
        "type": "object",
        "required": [
            "scope",
            "method",
            "metric",
            "baseline",
            "current",
            "delta",
            "pct",
            "direction",
            "ci",
            "significant",
            "verdict",
        ],  # fmt: skip
        "properties": {
            "scope": _STRING,
            "method": _STRING,
            "metric": _STRING,
            "baseline": _NULLABLE_NUMBER,
            "current": _NULLABLE_NUMBER,
            "delta": _NULLABLE_NUMBER,
            "pct": _NULLABLE_NUMBER,
            "direction": {"type": "string", "enum": ["better", "worse", "same"]},
            "ci": {"type": ["array", "null"], "items": _NULLABLE_NUMBER},
            "significant": {"type": "boolean"},
            "verdict": {"type": ["string", "null"]},
            "not_judged": {"type": ["string", "null"]},
        },
    },
    "Comparison": {
        "type": "object",
        "required": ["baseline", "current", "threshold_pct", "confidence", "verdict", "rows"],
        "properties": {
            "baseline": _STRING,
            "current": _STRING,
            "threshold_pct": _NUMBER,
            "confidence": _NUMBER,
            "verdict": _STRING,
            "method": _OBJECT,
            "rows": {"type": "array", "items": {"$ref": "#/components/schemas/ComparisonRow"}},
        },
    },
    "Info": {
        "type": "object",
        "required": [
            "tool",
            "version",
            "store",
            "results_dir",
            "counts",
            "endpoints",
            "rating_bands",
        ],  # fmt: skip
        "properties": {
            "tool": _STRING,
            "version": _STRING,
            "store": _STRING,
            "results_dir": _STRING,
            "counts": {
                "type": "object",
                "required": ["baselines"],
                "properties": {"baselines": _INTEGER},
            },
            "auth": _STRING,
            "limits": _OBJECT,
            "endpoints": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["method", "path", "description"],
                    "properties": {"method": _STRING, "path": _STRING, "description": _STRING},
                },
            },
            "rating_bands": _OBJECT,
        },
    },
    "Deleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": _STRING}},
}

ERROR_TEXT = {
    400: "bad request: not JSON, a missing or wrong field, a path outside the results folder",
    401: "missing or wrong Bearer token",
    403: "a Host this server does not answer to, or another site's Origin",
    404: "no such baseline or results file",
    409: "a baseline of that name exists (add ?replace=true)",
    413: "the body is over 10 MB (or the results file is too large)",
    415: "the body is not sent as Content-Type: application/json",
    422: "the report cannot be read",
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": ERROR_TEXT[c], "content": _json("Error")} for c in codes}


def _query(name: str, schema: dict[str, Any], text: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": text}  # fmt: skip


_ID = {"name": "id", "in": "path", "required": True, "schema": _STRING,
       "description": "the baseline's name", "example": "production_baseline_v1"}  # fmt: skip

PATHS: dict[str, Any] = {
    f"{BASE}/baseline": {
        "post": {
            "summary": "Save a report as a baseline",
            "operationId": "createBaseline",
            "parameters": [
                _query("replace", {"type": "boolean"}, "replace a baseline of that name"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/NewBaseline"},
                        "example": {
                            "test_results_file": "performance_report_20240101_120000.json",
                            "baseline_name": "production_baseline_v1",
                        },
                    }
                },
            },
            "responses": {
                "201": {"description": "saved", "content": _json("BaselineInfo")},
                **_errors(400, 401, 403, 404, 409, 413, 415, 422),
            },
        }
    },
    f"{BASE}/baselines": {
        "get": {
            "summary": "List the baselines",
            "operationId": "listBaselines",
            "parameters": [
                _query(
                    "sort",
                    {"type": "string", "enum": list(SORT_KEYS)},
                    "sort key (default date)",
                ),
                _query("reverse", {"type": "boolean"}, "reverse the order"),
                _query("filter", _STRING, "keep names, scenarios or hosts containing this"),
            ],
            "responses": {
                "200": {"description": "the list", "content": _json("BaselineList")},
                **_errors(400, 401, 403),
            },
        }
    },
    f"{BASE}/baselines/{{id}}": {
        "get": {
            "summary": "One baseline",
            "operationId": "getBaseline",
            "parameters": [
                _ID,
                _query(
                    "format",
                    {"type": "string", "enum": ["json", "text", "html"]},
                    'json (default), text (the "Performance Baseline Report") or html',
                ),
            ],
            "responses": {
                "200": {
                    "description": "the baseline",
                    "content": {
                        **_json("BaselineDetails"),
                        "text/plain": {"schema": _STRING},
                        "text/html": {"schema": _STRING},
                    },
                },
                **_errors(400, 401, 403, 404),
            },
        },
        "delete": {
            "summary": "Delete a baseline (needs the token)",
            "operationId": "deleteBaseline",
            "parameters": [_ID],
            "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "deleted", "content": _json("Deleted")},
                **_errors(401, 403, 404),
            },
        },
    },
    f"{BASE}/info": {
        "get": {
            "summary": "Version, store, counts, endpoints and rating bands",
            "operationId": "info",
            "responses": {
                "200": {"description": "info", "content": _json("Info")},
                **_errors(401, 403),
            },
        }
    },
    f"{BASE}/compare": {
        "get": {
            "summary": "Compare a run (B) with a baseline (A)",
            "operationId": "compare",
            "parameters": [
                _query("baseline", _STRING, "baseline name (A, before)", required=True),
                _query(
                    "run",
                    _STRING,
                    "baseline name, or a .json report in the results folder (B, after)",
                    required=True,
                ),
                _query(
                    "threshold",
                    {"type": "number", "minimum": 0, "maximum": 1000},
                    "smallest change that counts, in % (default 10)",
                ),
                _query(
                    "confidence",
                    {"type": "number", "minimum": 50, "maximum": 99.99},
                    "confidence over the whole table, in % (default 95)",
                ),
            ],
            "responses": {
                "200": {"description": "the verdicts", "content": _json("Comparison")},
                **_errors(400, 401, 403, 404, 422),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "operationId": "openapi",
            "security": [],
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": _OBJECT}},
                },
                **_errors(403),
            },  # fmt: skip
        }
    },
}


def openapi_document() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "tui-loadtest baselines",
                "version": __version__,
                "description": "The guide's baseline API (tui-loadtest serve). Errors are"
                ' {"error", "detail"}. With --token, every /api/ call needs'
                " Authorization: Bearer TOKEN; DELETE always does. Bodies are"
                " application/json; a Host the server does not answer to, or another"
                " site's Origin, gets 403.",
            },
            "paths": PATHS,
            "components": {
                "schemas": SCHEMAS,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearer": []}, {}],
        }
    )
