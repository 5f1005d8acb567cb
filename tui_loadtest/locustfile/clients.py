"""``self.client`` of an ``HttpUser`` (``locust.clients``): a session as
``requests.Session`` is, on tui-loadtest's transport, counted as Locust counts.

A request is named as Locust names it (``name=``, else the path with its query as
first requested), fails on a status of 400 or more unless ``catch_response`` says
otherwise, never raises into the task (a connection error is a failed request with
``status_code`` 0), and fires ``events.request`` for listeners with Locust's
arguments. The response reads as ``requests``' does.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from ..script import HTTPError, Response
from .exception import CatchResponseError, LocustError, ResponseError

_REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 418: "I'm a Teapot",
    422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}  # fmt: skip


def _requests_flavour(ours: type[BaseException], name: str) -> type[BaseException]:
    """``ours``, also as requests' exception ``name`` when the locustfile imported requests
    (so ``except requests.exceptions.HTTPError`` catches it, as under Locust's HttpUser)."""
    module = sys.modules.get("requests.exceptions")
    theirs = getattr(module, name, None)
    if not isinstance(theirs, type) or issubclass(ours, theirs):
        return ours
    if issubclass(theirs, ours):  # requests' JSONDecodeError is json's
        return theirs
    key = (ours, theirs)
    found = _FLAVOURS.get(key)
    if found is None:
        found = _FLAVOURS[key] = type(
            ours.__name__, (ours, theirs), {"__module__": ours.__module__}
        )
    return found


_FLAVOURS: dict[tuple[type, type], type[BaseException]] = {}


def http_error(message: str, response: Any) -> HTTPError:
    """A bad status as requests raises it: our HTTPError, and requests' when it is loaded."""
    kind: Any = _requests_flavour(HTTPError, "HTTPError")
    error: HTTPError = kind(message, response)
    return error


def json_error(error: json.JSONDecodeError) -> json.JSONDecodeError:
    """A body that is not JSON, as requests' ``Response.json()`` says it (its
    JSONDecodeError when requests is loaded, the standard library's otherwise)."""
    kind: Any = _requests_flavour(json.JSONDecodeError, "JSONDecodeError")
    if kind is json.JSONDecodeError:
        return error
    found: json.JSONDecodeError = kind(error.msg, error.doc, error.pos)
    return found


class CaseInsensitiveDict(MutableMapping[str, Any]):
    """Header names without case, as ``requests`` keeps them (the last spelling used)."""

    def __init__(self, data: Any = None) -> None:
        self._store: dict[str, tuple[str, Any]] = {}
        self._plain: dict[str, Any] | None = {}  # as a plain dict, kept until a change
        if data:
            self.update(data)

    def __setitem__(self, key: str, value: Any) -> None:
        self._store[key.lower()] = (key, value)
        self._plain = None

    def __getitem__(self, key: str) -> Any:
        return self._store[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]
        self._plain = None

    def plain(self) -> dict[str, Any]:
        """A plain dict of the items, the same object until the next change: never
        change it (the request path reads it once per request)."""
        if self._plain is None:
            self._plain = {key: value for key, value in self._store.values()}
        return self._plain

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def copy(self) -> CaseInsensitiveDict:
        return CaseInsensitiveDict(dict(self.items()))

    def __repr__(self) -> str:
        return str(dict(self.items()))


class ResponseCookies(dict[str, str]):
    """``response.cookies``: the cookies the response set, by name, with requests' names
    for reading them (``get_dict()``)."""

    def get_dict(self, domain: str | None = None, path: str | None = None) -> dict[str, str]:
        return dict(self)


class CookieJar(MutableMapping[str, str]):
    """``self.client.cookies``: the user's cookie jar, read and changed as requests'
    ``RequestsCookieJar`` is (``update()``, ``get_dict()``, ``set(name, value,
    domain=..., path=...)``, item access)."""

    __slots__ = ("_view",)

    def __init__(self, view: Any) -> None:
        self._view = view

    def __getitem__(self, name: str) -> str:
        return str(self._view[name])

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        if name not in self._view:
            raise KeyError(name)
        self._view.delete(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._view.as_dict())

    def __len__(self) -> int:
        return len(self._view)

    def __contains__(self, name: object) -> bool:
        return name in self._view

    def get(
        self, name: str, default: Any = None, domain: str | None = None, path: str | None = None
    ) -> Any:
        return self._view.get(name, default)

    def set(self, name: str, value: Any, **kwargs: Any) -> None:
        """``value`` None removes the cookie, as requests does."""
        if value is None:
            if name in self._view:
                self._view.delete(name)
            return
        self._view.set(name, str(value), kwargs.get("domain"), kwargs.get("path") or "/")

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Cookies from a dict, (name, value) pairs, or another jar (its cookies keep
        their domain and path)."""
        from http.cookiejar import CookieJar as StdJar

        if isinstance(other, StdJar):
            for cookie in other:
                self.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
            other = ()
        super().update(other, **kwargs)

    def get_dict(self, domain: str | None = None, path: str | None = None) -> dict[str, str]:
        return dict(self._view.as_dict())

    def clear(
        self, domain: str | None = None, path: str | None = None, name: str | None = None
    ) -> None:
        if name is not None:
            self.set(name, None)
        else:
            self._view.clear()

    def copy(self) -> dict[str, str]:
        return self.get_dict()

    def __repr__(self) -> str:
        return f"<RequestsCookieJar {self.get_dict()!r}>"


class ContentDecodingError(Exception):
    """A compressed body that does not decode (``requests``' name): the request failed."""


class RequestInfo:
    """``response.request``: what was sent, as a script reads it."""

    def __init__(self, method: str, url: str, headers: dict[str, str], body: Any) -> None:
        self.method = method
        self.url = url
        self.headers = CaseInsensitiveDict(headers)
        self.body = body

    @property
    def path_url(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class LocustResponse(Response):
    """A response as a locustfile reads it: ``requests``' names, plus Locust's
    ``catch_response`` block (``success()``, ``failure(msg)``) and ``error`` (the
    exception of a request that failed, None otherwise)."""

    # No __slots__: these class-level defaults stand until a request sets its own, so a
    # response costs Response.__init__ alone (a locustfile may also add attributes).
    _request: RequestInfo | None = None
    # (method, headers, body) as sent: ``request`` is made of them when read
    _sent: tuple[str, dict[str, Any], Any] = ("", {}, None)
    _session: Any = None
    _name = ""
    _start_time = 0.0
    _call_context: dict[str, Any] | None = None
    error: BaseException | None = None
    js: Any = None
    _entered = False
    _manual: bool | BaseException | None = None
    _reported = False
    _catch = False
    _measure: Any = None  # (row, latency µs, bytes, status, ttfb ns): set by the engine

    @property
    def request(self) -> RequestInfo:
        """What was sent (``requests``' ``response.request``), made when first read."""
        if self._request is None:
            method, headers, body = self._sent
            self._request = RequestInfo(method, self.url, headers, body)
        return self._request

    @request.setter
    def request(self, value: RequestInfo) -> None:
        self._request = value

    @property
    def _response_time(self) -> float:
        """Milliseconds, as Locust's request event gives them."""
        return self.elapsed_us / 1000

    @property
    def _context(self) -> dict[str, Any]:
        """The request event's ``context``: the user's, then the call's."""
        session = self._session
        base = session.user.context() if session is not None else {}
        return {**base, **(self._call_context or {})}

    @classmethod
    def failed(cls, url: str, error: BaseException) -> LocustResponse:
        """A request that got no response."""
        found = cls(0, b"", b"", url=url)
        found.error = error
        return found

    @property
    def reason(self) -> str:
        return super().reason or _REASONS.get(self.status, "")

    @property
    def cookies(self) -> ResponseCookies:
        return ResponseCookies(super().cookies)

    # -- Locust's checks ---------------------------------------------------------------
    def __enter__(self) -> LocustResponse:
        if not self._catch:
            if self._session is not None and self._session.plain_with:
                return self  # FastHttpUser's response: a plain context manager
            raise LocustError(
                "In order to use a with-block for requests, you must also pass catch_response=True"
            )
        self._entered = True
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        if not self._catch:
            return False  # counted already; an exception in the block goes on
        if self._manual is not None:
            self._session._report(self, None if self._manual is True else self._manual)
            return kind is None
        if kind is not None:
            if isinstance(value, ResponseError):
                self._session._report(self, value)
                return True
            return False  # any other exception leaves the block, and the request unreported
        self._session._report(self, self._session._status_failure(self))
        return True

    def success(self) -> None:
        """Count the response as a success, whatever its status."""
        if not self._entered:
            raise LocustError("success() needs a with-block and catch_response=True")
        self._manual = True

    def failure(self, exc: Any) -> None:
        """Count the response as failed (the message reaches the failures table)."""
        if not self._entered:
            raise LocustError("failure() needs a with-block and catch_response=True")
        self._manual = exc if isinstance(exc, BaseException) else CatchResponseError(exc)

    def json(self, **kwargs: Any) -> Any:
        """The body decoded as JSON. A body that is not JSON raises ``json.JSONDecodeError``
        with the standard library's message (requests' subclass of it once requests is
        imported), the names locustfiles catch; keyword arguments go to ``json.loads``."""
        if not kwargs:
            try:
                return super().json()
            except ValueError:
                if self.truncated:
                    raise
        try:
            return json.loads(self.text, **kwargs)
        except json.JSONDecodeError as exc:
            raise json_error(exc) from None

    def raise_for_status(self) -> None:
        """As the user's client raises it: requests' HTTPError for HttpUser (the full URL),
        LocustBadStatusCode for FastHttpUser; a connection error as it happened."""
        if isinstance(self._manual, BaseException):
            raise self._manual
        if self._manual is None:
            if self.error is not None:
                raise self.error
            if self._session is not None:
                self._session._raise_for_status(self)
            else:
                super().raise_for_status()


# requests' options with no meaning here (a body is always read whole; no proxies, hooks)
_IGNORED = ("stream", "proxies", "hooks")
# URL -> the path and query it names, for URLs without params= (most calls repeat one)
_PATH_URLS: dict[str, str] = {}
MAX_NAMES_KEPT = 10_000


def _path_url(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class HttpSession:
    """Requests for one user, with its headers, cookies and auth kept between them."""

    plain_with = False  # a with-block needs catch_response=True (Locust's HttpSession)
    _timeout: Any = None  # every request's timeout= unless the call gives one

    def __init__(
        self, base_url: str, request_event: Any, user: Any, *args: Any, **kwargs: Any
    ) -> None:
        self.request_event = request_event
        self.user = user
        self.request_name: str | None = None
        self.headers = CaseInsensitiveDict()
        self.auth: Any = None
        self.verify: Any = True
        self.cert: Any = None
        self.trust_env = False
        self.proxies: dict[str, str] = {}
        parts = urlsplit(base_url)
        if parts.username is not None:  # credentials in the host: basic auth, as requests
            from urllib.parse import unquote

            self.auth = (unquote(parts.username), unquote(parts.password or ""))
            netloc = parts.netloc.rpartition("@")[2]
            base_url = f"{parts.scheme}://{netloc}{parts.path}"
        self.base_url = (
            base_url.rstrip("/") if urlsplit(base_url).path not in ("", "/") else base_url
        )
        self._prefix = urlsplit(base_url).path.rstrip("/")  # a host with a path: /api...

    @property
    def cookies(self) -> CookieJar:
        return CookieJar(self.user._driver.cookies())

    @contextmanager
    def rename_request(self, name: str) -> Iterator[None]:
        """Every request in the block is counted under ``name``."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    # -- naming and failing, as HttpUser does ----------------------------------------
    def _url(self, url: str) -> str:
        if url[:1] == "/":
            return f"{self._prefix}{url}" if self._prefix else url
        if url.lower().startswith(("http://", "https://")):
            return url
        return f"{self._prefix}{url}"

    def _name(self, url: str, options: dict[str, Any]) -> str:
        """The path and query first requested (requests' ``path_url``)."""
        if not options.get("params"):
            found = _PATH_URLS.get(url)
            if found is None:
                found = _path_url(url)
                if len(_PATH_URLS) >= MAX_NAMES_KEPT:
                    _PATH_URLS.clear()
                _PATH_URLS[url] = found
            return found
        parts = urlsplit(url)
        path = parts.path or "/"
        query = parts.query
        params = options.get("params")
        if params:
            from urllib.parse import urlencode

            extra = (
                params
                if isinstance(params, str)
                else urlencode(
                    list(params.items()) if isinstance(params, dict) else params, doseq=True
                )
            )
            query = f"{query}&{extra}" if query else extra
        return path + (f"?{query}" if query else "")

    def _status_failure(self, response: LocustResponse) -> BaseException | None:
        if response.error is not None:
            return response.error
        if response.status_code >= 400:
            return self._http_error(response, response._name)
        return None

    def _http_error(self, response: LocustResponse, url: str) -> HTTPError:
        kind = "Client" if response.status_code < 500 else "Server"
        return http_error(
            f"{response.status_code} {kind} Error: {response.reason} for url: {url}", response
        )

    def _raise_for_status(self, response: LocustResponse) -> None:
        """``response.raise_for_status()`` called by the locustfile (the full URL)."""
        if 400 <= response.status_code < 600:
            raise self._http_error(response, response.url)

    def _report(self, response: LocustResponse, failure: BaseException | None) -> None:
        """Count the response and fire the request event, once."""
        if response._reported:
            return
        response._reported = True
        self.user._driver.record(response, failure)
        event = self.request_event
        if event.listened:
            event.notify(
                request_type=response._sent[0],
                name=response._name,
                response_time=response._response_time,
                response_length=len(response.raw_content),
                response=response,
                context=response._context,
                exception=failure,
                start_time=response._start_time,
                url=response.url,
            )

    # -- requests ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        name: str | None = None,
        catch_response: bool = False,
        context: dict[str, Any] | None = None,
        **options: Any,
    ) -> LocustResponse:
        """Send a request and return its response (a context manager with
        ``catch_response=True``)."""
        return self._send(method, url, name, catch_response, context, options)

    def _call(self, method: str, url: str, options: dict[str, Any]) -> LocustResponse:
        """``get()``, ``post()``...: straight to :meth:`_send` (one frame, no copy of the
        keyword arguments), or through ``request()`` when a subclass overrides it."""
        if type(self).request is not HttpSession.request or "request" in self.__dict__:
            return self.request(method, url, **options)
        return self._send(
            method,
            url,
            options.pop("name", None),
            options.pop("catch_response", False),
            options.pop("context", None),
            options,
        )

    def _send(
        self,
        method: str,
        url: str,
        name: str | None,
        catch_response: bool,
        context: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> LocustResponse:
        name = name or self.request_name
        full = self._url(url)
        merged = self.headers.plain()  # the same dict while the headers do not change
        call_headers = options.get("headers")
        if call_headers:
            merged = {**merged, **call_headers} if merged else call_headers
        if merged:
            options["headers"] = merged
        elif call_headers is not None:
            del options["headers"]
        if self.auth is not None and "auth" not in options:
            options["auth"] = self.auth
        if self.verify is not True and "verify" not in options:
            options["verify"] = self.verify
        if self.cert is not None and "cert" not in options:
            options["cert"] = self.cert
        if self._timeout is not None and options.get("timeout") is None:
            options["timeout"] = self._timeout
        if not options.keys().isdisjoint(_IGNORED):
            for ignored in _IGNORED:
                options.pop(ignored, None)
        if name is None:
            name = self._default_name(url, full, options)
        start_time = time.time()
        method = method.upper()
        response: LocustResponse = self.user._driver.request(method, full, name, options)
        response._session = self
        response._name = name
        response._catch = catch_response
        response._start_time = start_time
        response._call_context = context
        response._sent = (method, merged, options.get("data"))
        if not catch_response:
            self._report(response, self._status_failure(response))
        return response

    def _default_name(self, given: str, url: str, options: dict[str, Any]) -> str:
        """The row of a request without ``name=``: the path and query requested."""
        return self._name(url, options)

    # allow_redirects: True unless a call says otherwise (HEAD's default is False)
    def get(self, url: str, **kwargs: Any) -> LocustResponse:
        return self._call("GET", url, kwargs)

    def options(self, url: str, **kwargs: Any) -> LocustResponse:
        return self._call("OPTIONS", url, kwargs)

    def head(self, url: str, **kwargs: Any) -> LocustResponse:
        kwargs.setdefault("allow_redirects", False)
        return self._call("HEAD", url, kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> LocustResponse:
        if data is not None:
            kwargs["data"] = data
        if json is not None:
            kwargs["json"] = json
        return self._call("POST", url, kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> LocustResponse:
        if data is not None:
            kwargs["data"] = data
        return self._call("PUT", url, kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> LocustResponse:
        if data is not None:
            kwargs["data"] = data
        return self._call("PATCH", url, kwargs)

    def delete(self, url: str, **kwargs: Any) -> LocustResponse:
        return self._call("DELETE", url, kwargs)

    def close(self) -> None:
        """Nothing to close: the user's connection belongs to the engine."""


ResponseContextManager = LocustResponse
RestResponseContextManager = LocustResponse

__all__ = ["HttpSession", "LocustResponse", "ResponseContextManager"]
