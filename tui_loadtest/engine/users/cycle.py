"""What a callback-driven user does between requests: think, or count a failure and
carry on (after a pause when it could not connect). Shared by the fast transport's
plain and flow users and by the httpx user."""

from __future__ import annotations

import asyncio
from random import random
from time import perf_counter_ns
from typing import TYPE_CHECKING, Protocol, cast

from .connection import BACKOFF_FIRST, BACKOFF_MAX

if TYPE_CHECKING:
    from ..host import UserHost
    from ..plan import CompiledRequest


class CycleUser(Protocol):
    """What :class:`UserCycle` needs of the class it is mixed into."""

    eng: UserHost
    think: tuple[float, float] | None
    req: CompiledRequest  # the request in flight (or the last one)
    timer: asyncio.TimerHandle | None
    backoff: float
    deadline: int

    def start_request(self) -> None: ...

    def next(self) -> None: ...


class UserCycle:
    """Think, or count a failure and carry on. A mixin: subclasses hold what
    :class:`CycleUser` lists, in their own ``__slots__``."""

    __slots__ = ()

    # ``u`` is ``self``, typed by what the mixin needs (mypy would otherwise take
    # these assignments as the mixin's own attribute definitions).

    def next(self) -> None:
        """Think, then start the next request."""
        u: CycleUser = cast("CycleUser", self)
        th = u.think
        if th is None:
            u.start_request()
        else:
            u.timer = u.eng.loop.call_later(th[0] + random() * th[1], u.start_request)

    def fail(self, kind: str, message: str, backoff: bool = False) -> None:
        """Count a failed request and carry on (after a pause if we could not connect)."""
        u: CycleUser = cast("CycleUser", self)
        u.deadline = 0
        now = perf_counter_ns()
        if now >= u.eng.tick_ns:
            u.eng.roll(now)
        u.eng.buf.other_failure(u.req.index, kind, message)
        if backoff:
            delay = u.backoff = min(BACKOFF_MAX, (u.backoff * 2) or BACKOFF_FIRST)
            if u.think is not None:
                delay = max(delay, u.think[0] + random() * u.think[1])
            u.timer = u.eng.loop.call_later(delay, u.start_request)
        else:
            u.next()
