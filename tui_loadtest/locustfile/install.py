"""Putting the ``locust`` namespace where a locustfile's imports find it, and checking a
locustfile for what cannot run here.

:func:`installed` puts fresh ``locust`` modules (and a small ``gevent``) in
``sys.modules`` and takes them out again afterwards (the coordinator, the tests);
:func:`install_for_good` leaves them (a worker process, which runs nothing else).
``time.sleep`` and ``gevent.sleep`` called in a user's greenlet sleep only that user.
"""

from __future__ import annotations

import ast
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import (
    clients,
    debug,
    env,
    event,
    exception,
    shape,
    stats,
    tasks,
    timespan,
    users,
    wait_time,
)
from .contrib import fasthttp

_real_sleep = time.sleep

# gevent's names a locustfile may use here: sleeping (one user), and monkey patching
# (a no-op: nothing needs patching).
GEVENT_ALLOWED = frozenset({"sleep", "monkey", "GreenletExit", "getcurrent", "idle"})
# geventhttpclient's: the pool a FastHttpUser may share (accepted, not used)
GHC_ALLOWED = frozenset({"HTTPClientPool", "client"})


class Unsupported(Exception):
    """A locustfile uses something that cannot run on tui-loadtest's engine."""


def cooperative_sleep(seconds: float = 0) -> None:
    """``time.sleep`` / ``gevent.sleep``: in a user's greenlet, only that user waits;
    anywhere else, the real sleep."""
    import greenlet

    driver = getattr(greenlet.getcurrent(), "locust_driver", None)
    if driver is None:
        _real_sleep(seconds)
    else:
        driver.sleep(seconds)


def _unsupported(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Unsupported(f"gevent.{name} is not supported (users run in tui-loadtest's engine)")

    return refuse


def _module(
    name: str, doc: str, attributes: dict[str, Any], package: bool = False
) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    vars(module).update(attributes)
    if package:
        vars(module)["__path__"] = []  # a package: its submodules import
    return module


def _getcurrent() -> Any:
    import greenlet

    return greenlet.getcurrent()


def _gevent_module() -> types.ModuleType:
    monkey = _module(
        "gevent.monkey",
        "nothing needs patching: users run on tui-loadtest's engine",
        {"patch_all": lambda *a, **k: None, "is_module_patched": lambda *a, **k: False},
    )
    attributes: dict[str, Any] = {
        "sleep": cooperative_sleep,
        "idle": lambda *a, **k: cooperative_sleep(0),
        "GreenletExit": tasks.GreenletExit,
        "monkey": monkey,
        "getcurrent": _getcurrent,
    }
    for name in ("spawn", "spawn_later", "joinall", "killall", "wait", "Greenlet", "pool"):
        attributes[name] = _unsupported(name)
    return _module(
        "gevent", "gevent's sleep, for locustfiles run by tui-loadtest", attributes, True
    )


def _geventhttpclient_modules() -> dict[str, types.ModuleType]:
    """geventhttpclient's ``HTTPClientPool`` (for ``client_pool``), where Locust's docs
    import it from."""
    pool = {"HTTPClientPool": fasthttp.HTTPClientPool}
    client = _module("geventhttpclient.client", "geventhttpclient's pool (not used)", pool)
    top = _module(
        "geventhttpclient",
        "geventhttpclient's pool, for FastHttpUser.client_pool (not used)",
        {**pool, "client": client},
        package=True,
    )
    return {"geventhttpclient": top, "geventhttpclient.client": client}


def namespace() -> dict[str, types.ModuleType]:
    """The modules, by the names Locust's imports use: a fresh top-level ``locust`` (its
    own ``events``) over the shared, stateless rest."""
    from .. import locustfile as ours

    user = _module(
        "locust.user",
        "Locust's user classes",
        {
            **{
                name: getattr(ours, name) for name in ("HttpUser", "User", "TaskSet", "tag", "task")
            },
            "task": tasks,
            "users": users,
            "wait_time": wait_time,
            "sequential_taskset": tasks,
            "markov_taskset": tasks,
        },
        package=True,
    )
    contrib = _module("locust.contrib", "Locust's contrib", {"fasthttp": fasthttp}, True)
    util = _module("locust.util", "Locust's helpers", {"timespan": timespan}, True)
    rpc = _module("locust.rpc", "Locust's messages between processes", {"Message": env.Message})
    top = _module(
        "locust",
        "tui-loadtest's locust namespace",
        {
            **{name: getattr(ours, name) for name in ours.__all__},
            "events": event.Events(),
            "user": user,
            "wait_time": wait_time,
            "contrib": contrib,
            "exception": exception,
            "event": event,
            "env": env,
            "runners": env,
            "clients": clients,
            "shape": shape,
            "debug": debug,
            "stats": stats,
            "util": util,
            "rpc": rpc,
        },
        package=True,
    )
    gevent = _gevent_module()
    return {
        "locust": top,
        "locust.user": user,
        "locust.user.task": tasks,
        "locust.user.users": users,
        "locust.user.wait_time": wait_time,
        "locust.user.sequential_taskset": tasks,
        "locust.user.markov_taskset": tasks,
        "locust.exception": exception,
        "locust.event": event,
        "locust.env": env,
        "locust.runners": env,
        "locust.clients": clients,
        "locust.contrib": contrib,
        "locust.contrib.fasthttp": fasthttp,
        "locust.shape": shape,
        "locust.debug": debug,
        "locust.stats": stats,
        "locust.util": util,
        "locust.rpc": rpc,
        "locust.util.timespan": timespan,
        **_geventhttpclient_modules(),
        "gevent": gevent,
        "gevent.monkey": vars(gevent)["monkey"],
    }


@contextmanager
def installed() -> Iterator[types.ModuleType]:
    """Fresh ``locust`` modules in ``sys.modules`` for the block; what was there before
    (the real Locust, in a test process) is put back afterwards."""
    modules = namespace()
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield modules["locust"]
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def install_for_good() -> types.ModuleType:
    """For a worker process: the namespace stays, and ``time.sleep`` sleeps one user."""
    modules = namespace()
    sys.modules.update(modules)
    vars(time)["sleep"] = cooperative_sleep
    return modules["locust"]


# -- what cannot run here ------------------------------------------------------------


def is_locustfile(path: str | Path) -> bool:
    """A Python file that imports ``locust``."""
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == "locust" or a.name.startswith("locust.") for a in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (node.module == "locust" or node.module.startswith("locust."))
        ):
            return True
    return False


def unsupported_uses(path: str | Path, source: bytes | None = None) -> list[str]:
    """``file:line: gevent.spawn is not supported ...`` for each use of gevent that cannot
    run on the engine (its sleep and monkey patching can), and of geventhttpclient beyond
    the pool a FastHttpUser may name."""
    text = source if source is not None else Path(path).read_bytes()
    tree = ast.parse(text, filename=str(path))
    found = []
    aliases = {"gevent": "gevent", "geventhttpclient": "geventhttpclient"}
    allowed = {"gevent": GEVENT_ALLOWED, "geventhttpclient": GHC_ALLOWED}
    modules = {"gevent.monkey", "geventhttpclient.client"}  # importable as modules
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.partition(".")[0]
                if alias.name in allowed:
                    aliases[alias.asname or alias.name] = alias.name
                elif root in allowed and alias.name not in modules:
                    found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in allowed:
                found += [
                    (node.lineno, f"{node.module}.{a.name}")
                    for a in node.names
                    if a.name not in allowed[node.module]
                ]
            elif node.module == "geventhttpclient.client":
                found += [
                    (node.lineno, f"{node.module}.{a.name}")
                    for a in node.names
                    if a.name != "HTTPClientPool"
                ]
            elif node.module.partition(".")[0] in allowed and node.module not in modules:
                found.append((node.lineno, node.module))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr not in allowed[aliases[node.value.id]]
        ):
            found.append((node.lineno, f"{aliases[node.value.id]}.{node.attr}"))
    shown = str(path)
    return [
        f"{shown}:{line}: {name} is not supported ({_why(name)})"
        for line, name in sorted(set(found))
    ]


def _why(name: str) -> str:
    if name.startswith("geventhttpclient"):
        return "requests go out on tui-loadtest's transport: use self.client"
    return (
        "each user runs in a greenlet of tui-loadtest's engine: use a task, or time.sleep to wait"
    )
