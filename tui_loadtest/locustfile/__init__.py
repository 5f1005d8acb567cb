"""The ``locust`` namespace a locustfile imports, when tui-loadtest runs it.

Locust itself is never imported in tui-loadtest's processes: ``import locust``
monkeypatches the whole process with gevent, whose sleep freezes an asyncio loop.
Instead :mod:`.install` puts these modules in ``sys.modules`` under Locust's names
(``locust``, ``locust.exception``, ``locust.contrib.fasthttp``...) before the file is
imported, each time with fresh ``events``. The classes and functions keep Locust's
names and meanings; what runs them is tui-loadtest's engine (a greenlet per user on
the worker's event loop, the fast transport under ``self.client``).
"""

from __future__ import annotations

from .. import __version__
from .contrib.fasthttp import FastHttpUser
from .debug import run_single_user
from .event import Events
from .shape import LoadTestShape
from .tasks import (
    MarkovTaskSet,
    SequentialTaskSet,
    TaskSet,
    tag,
    task,
    transition,
    transitions,
)
from .users import HttpUser, User
from .wait_time import between, constant, constant_pacing, constant_throughput, poisson

__all__ = [
    "Events",
    "FastHttpUser",
    "HttpUser",
    "LoadTestShape",
    "MarkovTaskSet",
    "SequentialTaskSet",
    "TaskSet",
    "User",
    "__version__",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "poisson",
    "run_single_user",
    "tag",
    "task",
    "transition",
    "transitions",
]
