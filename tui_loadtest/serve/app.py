"""The endpoints of ``tui-loadtest serve`` (the guide's four, plus compare, delete and
``/openapi.json``), as a Starlette app over the same store, report reader, baseline
report, HTML report and comparison as the command line.

Blocking work (SQLite, reading files, comparing) runs in Starlette's thread pool;
each store call opens its own connection, and the store's ``BEGIN IMMEDIATE`` with
a busy timeout makes concurrent saves wait for each other instead of failing.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .. import __version__
from ..baselines import SORT_KEYS, export_data, filter_infos, make_baseline, sort_infos
from ..compare import compare
from ..errors import UserError
from ..ratings import bands
from ..report.baseline_text import baseline_report
from ..report.html import html_report
from ..report.json_report import parse_report
from ..stats.result import RunResult
from ..store import Baseline, BaselineExists, BaselineNotFound, BaselineStore, StoreError
from .config import ServeConfig
from .errors import ApiError, bad_request, not_found, too_large, unprocessable
from .guard import RequestGuard
from .limits import BodyLimit, BodyTooLarge
from .openapi import ENDPOINTS, openapi_document
from .paths import read_results_file, resolve_results_file

log = logging.getLogger("tui_loadtest.serve")

FORMATS = ("json", "text", "html")
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


class Api:
    """The handlers, bound to one store and results folder."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store = BaselineStore(config.store_path, create_folder=config.store_creates_folder)
        self.root = config.results_dir.resolve()
        self._token = config.token.strip().encode() if config.token else None

    # -- auth -------------------------------------------------------------------
    def authorize(self, request: Request, *, required: bool = False) -> None:
        """With a token, every API call carries it; without one, only ``required`` calls fail."""
        if self._token is None:
            if required:
                raise ApiError(
                    401,
                    "unauthorized",
                    "this needs a token, and the server was started without --token",
                    {"WWW-Authenticate": 'Bearer realm="tui-loadtest"'},
                )
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Compared in constant time: how much of a guess matched must not show in the timing.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self._token
        ):
            raise ApiError(
                401,
                "unauthorized",
                "missing or wrong Authorization: Bearer token",
                {"WWW-Authenticate": 'Bearer realm="tui-loadtest"'},
            )

    # -- the guide's endpoints --------------------------------------------------
    async def create_baseline(self, request: Request) -> Response:
        self.authorize(request)
        replace = _flag(request, "replace")
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise bad_request("expected a JSON object", "bad_json")
        name = body.get("baseline_name")
        if not isinstance(name, str):
            raise bad_request('"baseline_name": expected a string', "missing_field")
        has_file, has_inline = "test_results_file" in body, "test_results" in body
        if has_file == has_inline:
            raise bad_request(
                'give exactly one of "test_results_file" (a file in the results folder)'
                ' and "test_results" (the report itself)',
                "missing_field",
            )
        info = await run_in_threadpool(self._save, name, body, replace)
        location = f"/api/load-test/baselines/{name}"
        return JSONResponse(info, status_code=201, headers={"Location": _quote_path(location)})

    def _save(self, name: str, body: dict[str, Any], replace: bool) -> dict[str, Any]:
        source: dict[str, Any] = {"source": "api"}
        if "test_results_file" in body:
            file_name = body["test_results_file"]
            path = resolve_results_file(self.root, file_name)
            raw = read_results_file(path, file_name, self.config.max_results_file_bytes)
            if len(raw) > self.config.max_results_file_bytes:
                raise ApiError(413, "too_large", f"test_results_file: {file_name} is too large")
            data = _parse_json(raw, f"test_results_file: {file_name}", unprocessable)
            result = _report(data, file_name)
            source["file"] = file_name
        else:
            result = _report(body["test_results"], "test_results")
        try:
            baseline = make_baseline(result, name, source="api", metadata=source)
        except StoreError as exc:  # a bad name
            raise bad_request(str(exc), "bad_name") from None
        try:
            self.store.save(baseline, overwrite=replace)
        except BaselineExists:
            raise ApiError(
                409,
                "exists",
                f'a baseline named "{name}" already exists (add ?replace=true to replace it)',
            ) from None
        except (ValueError, TypeError, OverflowError, AttributeError) as exc:
            raise unprocessable(f"the report cannot be stored: {exc}") from None
        return baseline.info.to_dict()

    def list_baselines(self, request: Request) -> Response:
        self.authorize(request)
        sort = request.query_params.get("sort", "date")
        if sort not in SORT_KEYS:
            raise bad_request(f"sort: expected one of {', '.join(SORT_KEYS)}, got {sort!r}")
        infos = sort_infos(
            filter_infos(self.store.list(), request.query_params.get("filter")),
            sort,
            _flag(request, "reverse"),
        )
        return JSONResponse(
            {
                "store": str(self.store.path),
                "count": len(infos),
                "baselines": [i.to_dict() for i in infos],
            }
        )

    def baseline(self, request: Request) -> Response:
        """One route for both methods, so a 405 lists every allowed one."""
        if request.method == "DELETE":
            return self.delete_baseline(request)
        return self.get_baseline(request)

    def get_baseline(self, request: Request) -> Response:
        self.authorize(request)
        fmt = request.query_params.get("format", "json")
        if fmt not in FORMATS:
            raise bad_request(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        baseline = self._load(request.path_params["id"])
        if fmt == "text":
            return PlainTextResponse(baseline_report(baseline) + "\n")
        if fmt == "html":
            return HTMLResponse(html_report(baseline.result, title=f"Baseline: {baseline.name}"))
        return JSONResponse(export_data(baseline))

    def info(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(
            {
                "tool": "tui-loadtest",
                "version": __version__,
                "store": str(self.store.path),
                "results_dir": str(self.root),
                "counts": {"baselines": len(self.store.names())},
                "auth": "bearer token" if self._token else "none (loopback only)",
                "limits": {"max_body_bytes": self.config.max_body_bytes},
                "endpoints": [{"method": m, "path": p, "description": d} for m, p, d in ENDPOINTS],
                "rating_bands": bands(),
            }
        )

    # -- beyond the guide -----------------------------------------------------------
    def compare(self, request: Request) -> Response:
        self.authorize(request)
        q = request.query_params
        if not q.get("baseline") or not q.get("run"):
            raise bad_request(
                "give ?baseline=NAME&run=NAME (a baseline, or a report file in the results folder)",
                "missing_field",
            )
        threshold = _number(q.get("threshold", "10"), "threshold", 0, 1000)
        confidence = _number(q.get("confidence", "95"), "confidence", 50, 99.99)
        label_a, a = self._run(q["baseline"], "baseline")
        label_b, b = self._run(q["run"], "run")
        try:
            c = compare(
                a,
                b,
                threshold=threshold / 100,
                confidence=confidence / 100,
                baseline_name=label_a,
                current_name=label_b,
            )
        except UserError as exc:  # figures that cannot be true (a store from before checks)
            raise unprocessable(str(exc)) from None
        except (ValueError, ArithmeticError) as exc:
            raise unprocessable(f"these two runs cannot be compared: {exc}") from None
        return JSONResponse(c.to_dict())

    def delete_baseline(self, request: Request) -> Response:
        self.authorize(request, required=True)
        name = request.path_params["id"]
        try:
            self.store.delete(name)
        except BaselineNotFound as exc:
            raise not_found(str(exc)) from None
        return JSONResponse({"deleted": name})

    def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    # -- helpers ----------------------------------------------------------------
    def _load(self, name: str) -> Baseline:
        try:
            return self.store.load(name)
        except BaselineNotFound as exc:
            raise not_found(str(exc)) from None

    def _run(self, ref: str, field: str) -> tuple[str, RunResult]:
        """A baseline by name, else a report file in the results folder (``field``: the
        query parameter that named it, for the error line)."""
        try:
            baseline = self.store.load(ref)
            return baseline.name, baseline.result
        except BaselineNotFound as exc:
            missing = str(exc)
        if not ref.lower().endswith(".json"):
            raise not_found(missing)
        try:
            path = resolve_results_file(self.root, ref, field)
        except ApiError as exc:
            if exc.status == 404:
                detail = f"{field}: {missing}, and no report file {ref} in the results folder"
                raise not_found(detail) from None
            raise
        raw = read_results_file(path, ref, self.config.max_results_file_bytes, field)
        where = f"{field}: {ref}"
        return ref, _report(_parse_json(raw, where, unprocessable), where)


# ------------------------------------------------------------------ request helpers


async def _json_body(request: Request) -> Any:
    """The body of a write, which must say it is JSON: a web page's "simple" request
    (text/plain, a form) is sent cross-site without a preflight, JSON is not."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as Content-Type: application/json (got {media_type or 'none'})",
        )
    raw = await request.body()  # counted against the cap while it arrives (BodyLimit)
    if not raw.strip():
        raise bad_request("expected a JSON body", "bad_json")
    return _parse_json(raw, "body", lambda d: bad_request(d, "bad_json"))


def _parse_json(raw: bytes, where: str, error: Callable[[str], ApiError]) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity (they have no JSON form to answer with)."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject, parse_float=_finite)
    except UnicodeDecodeError:
        raise error(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not JSON: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:
        raise error(f"{where}: {exc}") from None
    except RecursionError:
        raise error(f"{where}: nested too deeply") from None


def _reject(token: str) -> Any:
    raise ValueError(f"{token} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _report(data: Any, where: str) -> RunResult:
    try:
        return parse_report(data, where)
    except UserError as exc:
        raise unprocessable(str(exc)) from None
    except (RecursionError, ArithmeticError, LookupError) as exc:
        raise unprocessable(f"{where}: malformed report: {exc}") from None


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise bad_request(f"{name}: expected true or false, got {value!r}")


def _number(text: str, name: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad_request(f"{name}: expected a number, got {text!r}") from None
    if not low <= value <= high:
        raise bad_request(f"{name}: expected {low:g} to {high:g}, got {text!r}")
    return value


def _quote_path(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


# ----------------------------------------------------------------------- the app


def create_app(config: ServeConfig) -> Any:
    """The ASGI app: Starlette's routes inside the body cap."""
    api = Api(config)
    base = "/api/load-test"
    routes = [
        Route(f"{base}/baseline", api.create_baseline, methods=["POST"]),
        Route(f"{base}/baselines", api.list_baselines, methods=["GET"]),
        Route(f"{base}/baselines/{{id}}", api.baseline, methods=["GET", "DELETE"]),
        Route(f"{base}/info", api.info, methods=["GET"]),
        Route(f"{base}/compare", api.compare, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiError: _api_error,
        HTTPException: _http_error,
        BodyTooLarge: _body_too_large(config.max_body_bytes),
        StoreError: _store_error,
        Exception: _internal_error,
    }
    app = Starlette(
        routes=routes,
        exception_handlers=handlers,
        middleware=[Middleware(RequestGuard, config=config)],
    )
    app.state.api = api
    return BodyLimit(app, config.max_body_bytes)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no such endpoint: {request.url.path} (see /openapi.json)"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed here (allowed: {allowed})"
    return JSONResponse(
        {"error": code, "detail": str(detail)}, status_code=exc.status_code, headers=exc.headers
    )


def _body_too_large(limit: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            too_large(limit).body(), status_code=413, headers={"Connection": "close"}
        )

    return handler


async def _store_error(request: Request, exc: Exception) -> Response:
    """The store itself cannot be used (locked too long, damaged, newer): the server's problem."""
    log.error("store error: %s", exc)
    busy = "locked" in str(exc)
    return JSONResponse(
        {"error": "store_busy" if busy else "store_error", "detail": str(exc)},
        status_code=503 if busy else 500,
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug of ours: the traceback goes to the server's log, never into the response."""
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {
            "error": "internal",
            "detail": f"internal error ({type(exc).__name__}); see the server log",
        },
        status_code=500,
    )
