"""The kinds of virtual user, one module each, and which one a plan runs.

- ``plain``: the weighted mix of ``[[requests]]`` (the hot path), and its open-model slot;
- ``flow``: flows of ordered steps with captures and data rows;
- ``script``: Python user scripts (``async def`` tasks) on the fast transport;
- ``httpx_user``: the opt-in httpx transport (HTTP/2), imported only when asked for.

The fast-transport kinds share one connection lifecycle (``connection``) and, but for
scripts, one request cycle (``cycle``). Users see their engine only through the
Protocols of ``engine/host.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flow import FlowSlot, FlowUser, HeadAwareFlowSlot, HeadAwareFlowUser
from .plain import HeadAwareSlot, HeadAwareUser, OpenSlot, VUser

if TYPE_CHECKING:
    from ..host import SlotFactory, UserFactory
    from .client import ClientRuntime


def user_classes(
    transport: str,
    sends_head: bool,
    journeys: bool = False,
    script: ClientRuntime | None = None,
) -> tuple[UserFactory, SlotFactory]:
    """The closed-model user class and the open-model slot class for a plan."""
    if script is not None:
        return script.user, script.slot  # type: ignore[return-value]  # they take a ScriptHost
    if journeys:
        if sends_head:
            return HeadAwareFlowUser, HeadAwareFlowSlot
        return FlowUser, FlowSlot
    if transport == "httpx":
        from .httpx_user import HttpxSlot, HttpxUser  # httpx is imported only when used

        return HttpxUser, HttpxSlot
    if sends_head:
        return HeadAwareUser, HeadAwareSlot
    return VUser, OpenSlot
