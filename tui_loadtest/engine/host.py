"""What users may use of the engine that runs them, and what the engine uses of users.

Users (the ``engine.users`` package: plain, flow, script and httpx users) and the
open model's driver are written against these Protocols, not against
:class:`~tui_loadtest.engine.worker_engine.WorkerEngine`: the engine imports the user
modules, never the other way round, and what a user may touch is written down in
one place.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..scenario import Scenario
    from .data_rows import DataRows
    from .journeys import Journeys
    from .plan import CompiledRequest, Plan, Target
    from .recording import Buffers
    from .streams import CompiledStream


class User(Protocol):
    """What the engine calls on a user (closed-model user or open-model slot)."""

    # non-zero while a request is in flight: its perf_counter_ns deadline
    deadline: int

    @property
    def connecting(self) -> object | None:
        """The connection attempt in progress, if any (a request is still owed)."""
        ...

    def start_request(self) -> None: ...

    def on_timeout(self) -> None: ...

    def cancel(self) -> None: ...


class UserFactory(Protocol):
    """A closed-model user class: built with the engine that runs it."""

    def __call__(self, eng: UserHost) -> User: ...


class Slot(User, Protocol):
    """An open-model connection slot (fast or httpx): one scheduled request at a time."""

    def dispatch(self, intended_ns: int) -> None:
        """Send a request whose arrival was due at ``intended_ns`` (perf_counter_ns)."""
        ...


class SlotPool(Protocol):
    """Where an open-model slot goes back when its request is done."""

    def slot_free(self, slot: Slot) -> None: ...


class SlotFactory(Protocol):
    """An open-model slot class: built with its engine and the pool it returns to."""

    def __call__(self, eng: UserHost, pool: SlotPool) -> Slot: ...


class UserHost(Protocol):
    """What a user may use of its engine: settings, the clock's loop, this second's
    buffers, admission, and connecting."""

    loop: asyncio.AbstractEventLoop
    scenario: Scenario
    host: str  # base URL
    origin: Target  # where requests go unless a redirect or a script's URL says otherwise
    cookies: bool  # a cookie jar per user
    max_redirects: int  # redirects followed per request (0: none)
    max_body: int  # bytes of a response kept, or decoded
    user_agent: str
    req_table: list[CompiledRequest]  # indexed by random(): the weighted mix
    think: tuple[float, float] | None  # (low, span) in seconds
    keepalive: bool
    timeout_s: float
    connect_timeout_s: float
    timeout_ns: int
    connect_timeout_ns: int
    gate: bool  # when set, a user asks admit() before each request
    stopped: bool
    connects: int  # connections opened this second
    buf: Buffers  # this second's statistics (swapped every second)
    tick_ns: int  # when this second ends (perf_counter_ns): then call roll() first
    closing: set[asyncio.Task]  # httpx clients being closed
    journeys: Journeys | None  # flows compiled for flow users (None for the plain mix)
    data_rows: DataRows | None  # [[data]] rows for new users
    streams: bool  # some request streams: every connection reads streams (engine/streams.py)

    def admit(self, user: User) -> bool:
        """May ``user`` send now? (the slow path when ``gate`` is set)"""
        ...

    def roll(self, now_ns: int) -> None:
        """Close the seconds that ended by ``now_ns``: ``buf`` is then the current one."""
        ...

    def retire(self, user: User) -> None:
        """``user`` is done for good (stopped, or one too many): cancel and forget it."""
        ...

    async def connect(
        self,
        conn: asyncio.Protocol,
        target: Target | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Open a connection for ``conn`` to ``target`` (default: ``origin``), through the
        scenario's proxy and with its TLS options (``tls``: a context of the user's own)."""
        ...

    def route(self, target: Target) -> Target:
        """Another origin as this run reaches it (through the scenario's proxy, if any)."""
        ...


class Row(Protocol):
    """An endpoint row found at run time (a script's ``name=``), with its lists."""

    index: int
    method: str
    name: str
    hist: list[int]
    svc: list[int]
    stream: CompiledStream | None
    srec: list[int]


class ScriptHost(UserHost, Protocol):
    """What script users use besides: the plan, rows added at run time, user numbers."""

    plan: Plan
    n: int  # rows so far
    open_model: bool
    users: set[User]
    counts_iterations: bool  # a closed model with iterations: ask begin_iteration first

    def begin_iteration(self, user: User) -> bool:
        """May ``user`` begin one more task (its iterations, or the shared ones, allow)?
        When not, it has been retired."""
        ...

    def stop(self, drain_queue: bool = False) -> None:
        """No new requests (a locustfile's runner.quit(), its iterations spent)."""
        ...

    def next_user_id(self) -> int:
        """A new user's number in the whole run."""
        ...

    def add_row(self, row: Row) -> None:
        """A request type first seen now: give it its row and its lists."""
        ...

    def tls_context(self, verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
        """An SSL context for a call's ``verify=`` and ``cert=``."""
        ...


class DriverHost(UserHost, Protocol):
    """What the open model's driver uses besides: the slots, the budget and the stop."""

    users: set[User]
    remaining: int | None  # requests left in the budget, if there is one

    def add_user(self, user: User) -> None: ...

    def stop(self, drain_queue: bool = False) -> None: ...
