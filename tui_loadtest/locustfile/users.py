"""Users as Locust defines them (``locust.user.users``): ``User`` and ``HttpUser``.

The engine runs each user instance's :meth:`User.run` in a greenlet of its own and
gives it a :class:`Driver`: how it waits, runs and times a task, sends a request.
Everything else is the locustfile's code, unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .exception import LocustError, StopTest, StopUser
from .tasks import RUNNING, STOPPING, WAITING, DefaultTaskSet, GreenletExit, TaskSet, collect_tasks
from .wait_time import constant

if TYPE_CHECKING:
    from .clients import HttpSession, LocustResponse


class Driver(Protocol):
    """What a user's code gets from the engine that runs it."""

    def sleep(self, seconds: float) -> None:
        """Suspend this user (only) for ``seconds``."""

    def run_task(self, fn: Any, args: tuple[()] | tuple[Any]) -> None:
        """Run one task: timed, its exception counted (steering ones pass through)."""

    def task_error(self, where: str, exc: BaseException) -> None:
        """Count an exception of the user's code outside a task."""

    def error_pause(self) -> float:
        """How long to pause after an error (doubling while errors come at once)."""

    def start(self, user: User) -> None:
        """Run ``on_start`` until it succeeds (after a pause each time it fails)."""

    def request(self, method: str, url: str, name: str | None, options: dict[str, Any]) -> Any:
        """Send a request and wait for it: a kept response, or a failure (counted)."""

    def record(self, response: LocustResponse, failure: tuple[str, str] | None) -> None:
        """Count a response (and its failure: kind, message) where Locust would."""

    def cookies(self) -> Any:
        """The user's cookie jar."""


class _Unbound:
    """The driver of a user the engine has not adopted yet: every use says so."""

    def __getattr__(self, name: str) -> Any:
        raise LocustError(
            "this user is not run by tui-loadtest's engine (its requests and waits need it)"
        )


# Set by the engine while it builds a user, so that __init__ (and a request made in it)
# already has its driver.
_next_driver: Any = _Unbound()


class UserMeta(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        namespace["tasks"] = collect_tasks(bases, namespace)
        namespace.setdefault("abstract", False)
        return super().__new__(mcs, name, bases, namespace)


class User(metaclass=UserMeta):
    """A simulated user: its tasks (``@task`` methods, or ``tasks``), a wait between
    them (``wait_time``, default none), ``on_start``/``on_stop``, a ``weight`` (or a
    ``fixed_count``) among the file's user classes."""

    host: str | None = None
    min_wait: float | None = None
    max_wait: float | None = None
    wait_time: Any = constant(0)
    wait_function: Any = None
    tasks: ClassVar[list[Any]] = []
    weight: float = 1
    fixed_count: int = 0
    abstract: ClassVar[bool] = True

    def __init__(self, environment: Any) -> None:
        super().__init__()
        self.environment = environment
        self._state: str | None = None
        self._taskset_instance: TaskSet | None = None
        self._cp_last_run = time.perf_counter()
        self._cp_last_wait_time = 0.0
        self._driver: Driver = _next_driver

    def on_start(self) -> None:
        """Called once when the user starts."""

    def on_stop(self) -> None:
        """Called when the user stops."""

    def run(self) -> None:
        """The user's life: ``on_start``, then tasks until it is stopped."""
        self._state = RUNNING
        self._taskset_instance = DefaultTaskSet(self)
        try:
            self._driver.start(self)
            self._taskset_instance.run()
        except (GreenletExit, StopUser, StopTest):
            self.stopped()

    def stopped(self) -> None:
        """``on_stop``, its exceptions counted."""
        try:
            self.on_stop()
        except Exception as exc:  # noqa: BLE001 - user code: counted
            self._driver.task_error("on_stop", exc)

    def wait(self) -> None:
        if self._taskset_instance is not None:
            self._taskset_instance.wait()

    def stop(self, force: bool = False) -> bool:
        """Ask the user to stop: at once when it waits (or ``force``), else after its task."""
        if force or self._state in (None, WAITING):
            self._state = STOPPING
            return True
        self._state = STOPPING
        return False

    def context(self) -> dict[str, Any]:
        """Added to each request event's ``context`` (override it)."""
        return {}

    @classmethod
    def fullname(cls) -> str:
        return ".".join(
            p for p in f"{cls.__module__}.{cls.__qualname__}".split(".") if p != "<locals>"
        )

    @classmethod
    def json(cls) -> dict[str, Any]:
        return {
            "host": cls.host,
            "weight": cls.weight,
            "fixed_count": cls.fixed_count,
            "tasks": [getattr(t, "__name__", str(t)) for t in cls.tasks],
        }


class RestMixin:
    """``rest()`` and ``rest_()`` for users with an HTTP client (Locust's)."""

    client: Any

    @contextmanager
    def rest(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """A JSON request in a ``with`` block: the body parsed into ``response.js`` (a
        failure when it is not JSON), JSON headers by default, ``catch_response=True``,
        and an exception in the block (an ``assert``) a failure of the request."""
        headers = dict(headers) if headers else {}
        lowered = {k.lower() for k in headers}
        if "content-type" not in lowered:
            headers["Content-Type"] = "application/json"
        if "accept" not in lowered:
            headers["Accept"] = "application/json"
        with self.client.request(
            method, url, catch_response=True, headers=headers, **kwargs
        ) as resp:
            resp.js = None
            if resp.error is not None and not resp.content:
                resp.failure(str(resp.error))
            elif resp.text:
                try:
                    resp.js = resp.json()
                except ValueError as exc:
                    resp.failure(
                        f"Could not parse response as JSON. {resp.text[:250]}, response code"
                        f" {resp.status_code}, error {exc}"
                    )
            try:
                yield resp
            except AssertionError as exc:
                text = exc.args[0] if exc.args else "Assertion failed"
                if isinstance(text, str) and text.endswith(","):
                    text = f"{text[:-1]}, response was {resp.text[:200]}"
                resp.failure(text)
            except Exception as exc:  # noqa: BLE001 - Locust's rest(): the block's error fails it
                resp.failure(f"{type(exc).__name__}: {exc}. Response was {resp.text[:200]}")

    @contextmanager
    def rest_(self, method: str, url: str, name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        """``rest()`` with a ``_=<milliseconds>`` query parameter (cache busting), named
        without it."""
        sep = "&" if "?" in url else "?"
        name = name if name is not None else f"{url}{sep}_=..."
        with self.rest(method, f"{url}{sep}_={int(time.time() * 1000)}", name=name, **kwargs) as r:
            yield r


class HttpUser(User, RestMixin):
    """A user with ``self.client``: a session as ``requests.Session`` is (cookies,
    redirects, gzip), on tui-loadtest's transport."""

    abstract: ClassVar[bool] = True
    pool_manager: Any = None

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.host is None:
            raise LocustError(
                "You must specify the base host: a host attribute on the user class, or --host"
            )
        from .clients import HttpSession

        self.client: HttpSession = HttpSession(self.host, environment.events.request, self)


__all__ = ["HttpUser", "User"]
