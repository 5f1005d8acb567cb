"""``run_single_user`` (``locust.debug``): one user of a class, each request printed, for
stepping through a locustfile.

It needs tui-loadtest's engine, which registers itself here when it is loaded
(``RUNNER``); the locustfile package never imports the engine (the layers go the other
way)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exception import LocustError

# Set by the engine (engine/users/locust.py): runs one user and prints its requests.
RUNNER: Callable[..., None] | None = None


def run_single_user(user_class: type, include_length: bool = False, **kwargs: Any) -> None:
    """Run one ``user_class`` against its host, printing each request as it completes."""
    if RUNNER is None:
        raise LocustError(
            "run_single_user needs tui-loadtest's engine: run the file with"
            " `tui-loadtest locust run -f FILE --iterations N --headless`"
        )
    RUNNER(user_class, include_length=include_length, **kwargs)
