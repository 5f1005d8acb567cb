"""``environment`` and ``environment.runner`` as a locustfile sees them in a worker:
the events, the options, the host, and a runner to ask the run to end."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from .event import Events
from .stats import RequestStats

# Locust's runner states (locust.runners): a run here is "running" until it stops.
STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED = (
    "ready",
    "spawning",
    "running",
    "cleanup",
    "stopping",
    "stopped",
)
STATE_MISSING = "missing"


class Message:
    """A message between Locust's processes (``locust.rpc.Message``): here always from
    this process to itself (``node_id`` "local")."""

    def __init__(self, message_type: str, data: Any, node_id: str) -> None:
        self.type = message_type
        self.data = data
        self.node_id = node_id

    def __repr__(self) -> str:
        return f"<Message {self.type}:{self.node_id}>"


class Runner:
    """What a locustfile may ask of the run: ``quit()``, ``stop()``, the user count."""

    def __init__(
        self,
        environment: Environment,
        quit_run: Callable[[], None] | None = None,
        user_count: Callable[[], int] | None = None,
    ) -> None:
        self.environment = environment
        self._quit = quit_run or (lambda: None)
        self._user_count = user_count or (lambda: 0)
        self.state = STATE_RUNNING
        self.target_user_count: int | None = None
        self.custom_messages: dict[str, tuple[Callable[..., Any], bool]] = {}

    @property
    def user_count(self) -> int:
        return self._user_count()

    @property
    def stats(self) -> RequestStats:
        return self.environment.stats

    def quit(self) -> None:
        """End the run (for every worker: the coordinator stops it)."""
        self.state = STATE_STOPPING
        self._quit()

    def stop(self) -> None:
        self.quit()

    def register_message(
        self, msg_type: str, listener: Callable[..., Any], concurrent: bool = False
    ) -> None:
        """Call ``listener(environment=..., msg=Message)`` for each ``msg_type`` message."""
        if msg_type in self.custom_messages:
            raise Exception(  # noqa: TRY002 - Locust's own error, word for word
                f"Tried to register listener method for {msg_type}, but it already had a listener!"
            )
        self.custom_messages[msg_type] = (listener, concurrent)

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """Deliver a message to this process's own listener, as Locust's LocalRunner does
        (each worker process is its own node here)."""
        found = self.custom_messages.get(msg_type)
        if found is None:
            logging.getLogger(__name__).warning("Unknown message type received: %s", msg_type)
            return
        found[0](environment=self.environment, msg=Message(msg_type, data, "local"))


class LocalRunner(Runner):
    pass


class MasterRunner(Runner):
    pass


class WorkerRunner(Runner):
    pass


class Environment:
    """The run as a locustfile sees it (``self.environment``)."""

    def __init__(
        self,
        *,
        user_classes: list[type] | None = None,
        shape_class: Any = None,
        events: Events | None = None,
        host: str | None = None,
        parsed_options: Any = None,
        tags: list[str] | None = None,
        exclude_tags: list[str] | None = None,
        stop_timeout: float | None = None,
    ) -> None:
        self.events = events if events is not None else Events()
        self.user_classes = list(user_classes or [])
        self.shape_class = shape_class
        self.host = host
        self.parsed_options = parsed_options if parsed_options is not None else SimpleNamespace()
        self.tags = tags
        self.exclude_tags = exclude_tags
        self.stop_timeout = stop_timeout
        self.runner: Runner | None = None
        self.web_ui = None  # the dashboard is tui-loadtest's, not a web page
        self.catch_exceptions = True
        self.reset_stats = False
        self.process_exit_code: int | None = None
        self.stats = RequestStats()
        self.available_user_classes = {c.__name__: c for c in self.user_classes}

    def create_local_runner(self) -> Runner:
        self.runner = LocalRunner(self)
        return self.runner


__all__ = [
    "Message",
    "STATE_CLEANUP",
    "STATE_INIT",
    "STATE_MISSING",
    "STATE_RUNNING",
    "STATE_SPAWNING",
    "STATE_STOPPED",
    "STATE_STOPPING",
    "Environment",
    "LocalRunner",
    "MasterRunner",
    "Runner",
    "WorkerRunner",
]
