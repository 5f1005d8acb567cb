"""Python user scripts at load time: import the file once, find its tasks, or say why not.

The coordinator imports the script before any worker starts, so that a syntax
error, a failing import or a script without ``@task`` stops the run with one line
(file, line, error; exit 2) instead of a traceback from every worker. Workers
import the file again (:func:`import_script`) to run it.

The script's folder is on the import path while it runs, as Locust puts the
locustfile's: ``import helpers`` finds ``helpers.py`` beside it. The coordinator's
check takes the folder off again afterwards (its own later imports must not find a
user's ``json.py``); it notes which modules the script imported from there, which
a cluster run ships with it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ScenarioError
from ..script import ON_START_ATTR, SETUP_ATTR, TASK_ATTR, TEARDOWN_ATTR
from .messages import show
from .model import ScriptSpec
from .urls import normalize_host

__all__ = ["import_script", "load_script", "script_parts", "setup_parts"]

_SCRIPT_PREFIX = "tui_loadtest_user_script_"  # the module name a script is imported under


def import_script(path: str, *, keep_folder: bool = True) -> ModuleType:
    """Import the script at ``path`` under a name of its own (not ``__main__``), its
    folder first on ``sys.path``; ``keep_folder=False`` restores ``sys.path`` after
    (a worker keeps it: a task may import later).

    Raises whatever the script raises; :func:`load_script` turns that into one line.
    """
    digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:12]
    name = f"{_SCRIPT_PREFIX}{Path(path).stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    folder = os.path.dirname(path)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        if not keep_folder:
            sys.path[:] = saved
    return module


def script_parts(module: ModuleType) -> tuple[list[tuple[str, Any, float]], Any, Any]:
    """``([(name, function, weight)], on_start or None, wait_time or None)`` of a module."""
    tasks = []
    start = None
    for name, value in vars(module).items():
        if not callable(value) or getattr(value, "__module__", None) != module.__name__:
            continue
        weight = getattr(value, TASK_ATTR, None)
        if weight is not None:
            tasks.append((name, value, float(weight)))
        if getattr(value, ON_START_ATTR, False):
            start = value
    wait = getattr(module, "wait_time", None)
    return tasks, start, wait


def setup_parts(module: ModuleType) -> tuple[Any, Any]:
    """The module's ``@setup`` and ``@teardown`` functions (None for one it lacks)."""
    found: dict[str, Any] = {SETUP_ATTR: None, TEARDOWN_ATTR: None}
    for value in vars(module).values():
        if not callable(value) or getattr(value, "__module__", None) != module.__name__:
            continue
        for attr in found:
            if getattr(value, attr, False):
                found[attr] = value
    return found[SETUP_ATTR], found[TEARDOWN_ATTR]


def load_script(file: str, path: Path, where: str) -> ScriptSpec:
    """Import and check a script. ``where`` prefixes messages: the scenario file and
    key (``x.toml: script``), or the script itself when it is run directly."""
    shown = str(path)
    if not path.is_file():
        reason = "no such file" if not path.exists() else "not a file"
        raise ScenarioError(f'{where}: cannot read script "{file}": {reason}')
    resolved = str(path.resolve())
    try:
        module = import_script(resolved, keep_folder=False)
    except SyntaxError as exc:
        line = f":{exc.lineno}" if exc.lineno else ""
        raise ScenarioError(f"{shown}{line}: SyntaxError: {exc.msg}") from None
    except KeyboardInterrupt:  # Ctrl+C or SIGTERM during a slow import: the run ends as told
        raise
    except BaseException as exc:  # noqa: BLE001 - user code: report any failure in one line
        raise ScenarioError(_import_failure(exc, resolved, shown)) from None
    tasks, start, wait = script_parts(module)
    if not tasks:
        raise ScenarioError(
            f"{shown}: no task (decorate an async function with @task, "
            "from tui_loadtest.script import task)"
        )
    setup, teardown = setup_parts(module)
    extra = [(kind, fn, 0.0) for kind, fn in (("on_start", start), ("setup", setup),
                                               ("teardown", teardown)) if fn]  # fmt: skip
    for name, fn, _ in tasks + extra:
        if not inspect.iscoroutinefunction(fn):
            code = getattr(fn, "__code__", None)
            line = f":{code.co_firstlineno}" if code is not None else ""
            raise ScenarioError(
                f"{shown}{line}: {name} must be an async function (async def {name}(user))"
            )
    if wait is not None and not callable(wait):
        raise ScenarioError(
            f"{shown}: wait_time must be between(low, high), constant(s) or a function, "
            f"got {type(wait).__name__}"
        )
    return ScriptSpec(
        file=file,
        path=resolved,
        tasks=tuple((name, weight) for name, _, weight in tasks),
        on_start=start.__name__ if start is not None else None,
        host=_script_host(module, shown),
        setup=setup.__name__ if setup is not None else None,
        teardown=teardown.__name__ if teardown is not None else None,
        modules=folder_modules(Path(resolved).parent),
    )


def _script_host(module: ModuleType, shown: str) -> str | None:
    """A module-level ``host = "http://..."``, as Locust users set it on their User."""
    host = vars(module).get("host")
    if host is None:
        return None
    try:
        return normalize_host(host)
    except ValueError as exc:
        raise ScenarioError(f"{shown}: host: {exc}, got {show(host)}") from None


def folder_modules(folder: Path) -> tuple[str, ...]:
    """The modules imported from ``folder`` as the import path finds them there (``a.b``
    as ``a/b.py`` or ``a/b/__init__.py``), as relative paths: not a library in a
    virtualenv inside the folder, and never this package itself. (All of them, not only
    those new with this import: a module imported by an earlier load is needed too.)"""
    found = []
    for name in sorted(sys.modules):
        if name.startswith(_SCRIPT_PREFIX):
            continue
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not file or name.partition(".")[0] == "tui_loadtest" or name == "__main__":
            continue
        try:
            relative = Path(file).resolve().relative_to(folder)
        except ValueError:
            continue
        stem = name.replace(".", "/")
        if relative.as_posix() in (f"{stem}.py", f"{stem}/__init__.py"):
            found.append(relative.as_posix())
    return tuple(found)


def _import_failure(exc: BaseException, path: str, shown: str) -> str:
    """``users.py:12: NameError: name 'x' is not defined`` from an import-time failure."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    line = f":{frames[-1].lineno}" if frames else ""
    message = str(exc).splitlines()[0] if str(exc) else ""
    kind = type(exc).__name__
    return f"{shown}{line}: {kind}: {message}" if message else f"{shown}{line}: {kind}"
