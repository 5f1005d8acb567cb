"""Locust's events (``locust.event``): hooks a locustfile adds listeners to.

Where they fire in tui-loadtest (a run has a coordinator and worker processes):

- ``init``: in every process that imports the locustfile (the coordinator, to check
  it and read its classes, and each worker), as Locust fires it in every process;
- ``test_start`` and ``test_stop``: in each worker, where the users and the module's
  globals live (a listener that sets a global the tasks read keeps working); with
  the default single worker that is once per run, as ``locust --headless`` does;
- ``quitting``: in each worker as it ends;
- ``request``: in the worker, inline in the user that made the request, only when a
  listener exists. ``events.request.fire(...)`` from user code records a timing into
  the run's statistics under its name (a database call, a gRPC stub).

A listener that raises is counted (kind ``script``) and the run goes on, as Locust
logs it and goes on; the exceptions that steer a user (StopUser, RescheduleTask...)
pass through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

_STEERING = (StopUser, StopTest, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet)

# What a listener's exception becomes (set by the engine: counted and logged).
ErrorSink = Callable[[str, BaseException], None]


def _ignore(event: str, exc: BaseException) -> None:
    return None


class EventHook:
    """Listeners called in order with keyword arguments."""

    sink: ErrorSink = staticmethod(_ignore)

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._handlers: list[Callable[..., Any]] = []

    def add_listener(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        self._handlers.append(handler)
        return handler

    def remove_listener(self, handler: Callable[..., Any]) -> None:
        self._handlers.remove(handler)

    @property
    def listened(self) -> bool:
        return bool(self._handlers)

    def fire(self, *, reverse: bool = False, **kwargs: Any) -> None:
        handlers = self._handlers[::-1] if reverse else list(self._handlers)
        for handler in handlers:
            try:
                handler(**kwargs)
            except _STEERING:
                raise
            except Exception as exc:  # noqa: BLE001 - a listener's bug: counted, never fatal
                EventHook.sink(self.name, exc)

    @contextmanager
    def measure(
        self, request_type: str, name: str, response_length: int = 0, context: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Time the ``with`` block and fire this event with it (failed if it raised)."""
        meta: dict[str, Any] = {
            "request_type": request_type,
            "name": name,
            "response_length": response_length,
            "context": context or {},
            "exception": None,
            "start_time": time.time(),
        }
        start = time.perf_counter()
        try:
            yield meta
        except Exception as exc:  # noqa: BLE001 - the timed call's failure is the result
            meta["exception"] = exc
        finally:
            meta["response_time"] = (time.perf_counter() - start) * 1000
            self.fire(**meta)


# Records a request's timing into the run's statistics (set by the engine, per user).
Recorder = Callable[..., None]


class RequestHook(EventHook):
    """``events.request``: firing it records the timing (as Locust's statistics listen
    to it), then calls the listeners. Our own client's requests are recorded by the
    transport itself and only ``notify`` the listeners."""

    recorder: Recorder | None = None

    def fire(self, *, reverse: bool = False, **kwargs: Any) -> None:
        recorder = RequestHook.recorder
        if recorder is not None:
            recorder(**kwargs)
        self.notify(reverse=reverse, **kwargs)

    def notify(self, *, reverse: bool = False, **kwargs: Any) -> None:
        if self._handlers:
            EventHook.fire(self, reverse=reverse, **kwargs)


class DeprecatedEventHook(EventHook):
    pass


_NAMES = (
    "user_error",
    "report_to_master",
    "worker_report",
    "worker_connect",
    "spawning_complete",
    "quitting",
    "quit",
    "init",
    "init_command_line_parser",
    "test_start",
    "test_stopping",
    "test_stop",
    "reset_stats",
    "cpu_warning",
    "heartbeat_sent",
    "heartbeat_received",
    "usage_monitor",
)


class Events:
    """Every hook, by Locust's names."""

    request: RequestHook

    def __init__(self) -> None:
        self.request = RequestHook("request")
        for name in _NAMES:
            setattr(self, name, EventHook(name))

    def __getattr__(self, name: str) -> EventHook:
        # a hook Locust does not have (request_success, gone since Locust 2.0) fails as
        # it does under Locust, rather than taking listeners that are never called
        raise AttributeError(f"'Events' object has no attribute '{name}'")


__all__ = ["DeprecatedEventHook", "EventHook", "Events", "RequestHook"]
