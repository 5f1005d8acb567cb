"""``FastHttpUser`` (``locust.contrib.fasthttp``): in Locust a faster client with its own
rules; here the same transport as ``HttpUser``, with FastHttpUser's rules kept where a
locustfile can see them: a row is named by ``name=`` or the URL as given (its
``params`` left out), a bad status fails as ``LocustBadStatusCode``, certificates are
not verified unless ``insecure = False``, and ``rest()`` is there."""

from __future__ import annotations

from typing import Any, ClassVar

from ..clients import HttpSession, LocustResponse
from ..exception import LocustError
from ..users import RestMixin, User


class LocustBadStatusCode(ConnectionError):
    """A response whose status is 400 or more, as FastHttpUser reports it."""

    def __init__(self, url: str, code: int) -> None:
        super().__init__(url, code)
        self.url = url
        self.code = code

    def __repr__(self) -> str:
        return f"LocustBadStatusCode(code={self.code})"

    def __str__(self) -> str:
        return f"LocustBadStatusCode(code={self.code})"


class HTTPClientPool:
    """geventhttpclient's connection pool, for ``client_pool = HTTPClientPool(...)`` on a
    FastHttpUser: accepted, not used (each user keeps its own connection on
    tui-loadtest's transport)."""

    def __init__(self, *args: Any, concurrency: int = 10, **kwargs: Any) -> None:
        self.concurrency = concurrency

    def close(self) -> None:
        """Nothing to close."""


class FastHttpSession(HttpSession):
    plain_with = True  # a with-block without catch_response just runs (Locust's FastResponse)

    def __init__(
        self,
        base_url: str,
        request_event: Any,
        user: Any,
        insecure: bool = True,
        network_timeout: float | None = None,
        connection_timeout: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(base_url, request_event, user)
        if insecure:
            self.verify = False
        # (connect, read), as timeout= takes them; None: the run's own timeouts
        self._timeout = (
            (connection_timeout, network_timeout)
            if network_timeout is not None or connection_timeout is not None
            else None
        )

    def _default_name(self, given: str, url: str, options: dict[str, Any]) -> str:
        return given  # as the task wrote it (a full URL stays one; no host path, no params)

    def _status_failure(self, response: LocustResponse) -> BaseException | None:
        if response.error is not None:
            return response.error
        if response.status_code >= 400:
            return LocustBadStatusCode(response.url, response.status_code)
        return None

    def _raise_for_status(self, response: LocustResponse) -> None:
        """FastHttpUser's ``raise_for_status()``: the request's error, a bad status too."""
        failure = self._status_failure(response)
        if failure is not None:
            raise failure


class FastHttpUser(User, RestMixin):
    """A user with ``self.client``, named FastHttpUser in the locustfile."""

    abstract: ClassVar[bool] = True
    network_timeout: float = 60.0
    connection_timeout: float = 60.0
    max_redirects: int = 30
    max_retries: int = 0
    insecure: bool = True
    default_headers: dict[str, str] | None = None
    concurrency: int = 1
    proxy_host: str | None = None
    proxy_port: int | None = None
    client_pool: Any = None
    ssl_context_factory: Any = None

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.host is None:
            raise LocustError(
                "You must specify the base host: a host attribute on the user class, or --host"
            )
        # timeouts set on the class bound its requests; Locust's defaults (60 s) give way
        # to the run's own (a run ends when told, requests in flight included)
        own = type(self)
        self.client: FastHttpSession = FastHttpSession(
            self.host,
            environment.events.request,
            self,
            insecure=self.insecure,
            network_timeout=_own(own, "network_timeout"),
            connection_timeout=_own(own, "connection_timeout"),
        )
        if self.default_headers:
            self.client.headers.update(self.default_headers)


def _own(cls: type, name: str) -> float | None:
    """A timeout a FastHttpUser subclass sets itself (None: left at FastHttpUser's)."""
    value = getattr(cls, name)
    return None if value == getattr(FastHttpUser, name) else float(value)


ResponseContextManager = LocustResponse
FastResponse = LocustResponse

__all__ = [
    "FastHttpSession",
    "FastHttpUser",
    "HTTPClientPool",
    "LocustBadStatusCode",
    "ResponseContextManager",
]
