"""Python user scripts at load time: import the file once, find its tasks, or say why not.

The coordinator imports the script before any worker starts, so that a syntax
error, a failing import or a script without ``@task`` stops the run with one line
(file, line, error; exit 2) instead of a traceback from every worker. Workers
import the file again (:func:`import_script`) to run it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ScenarioError
from ..script import ON_START_ATTR, TASK_ATTR
from .model import ScriptSpec

__all__ = ["import_script", "load_script", "script_parts"]


def import_script(path: str) -> ModuleType:
    """Import the script at ``path`` under a name of its own (not ``__main__``).

    Raises whatever the script raises; :func:`load_script` turns that into one line.
    """
    digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:12]
    name = f"tui_loadtest_user_script_{Path(path).stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
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


def load_script(file: str, path: Path, where: str) -> ScriptSpec:
    """Import and check a script. ``where`` prefixes messages: the scenario file and
    key (``x.toml: script``), or the script itself when it is run directly."""
    shown = str(path)
    if not path.is_file():
        reason = "no such file" if not path.exists() else "not a file"
        raise ScenarioError(f'{where}: cannot read script "{file}": {reason}')
    resolved = str(path.resolve())
    try:
        module = import_script(resolved)
    except SyntaxError as exc:
        line = f":{exc.lineno}" if exc.lineno else ""
        raise ScenarioError(f"{shown}{line}: SyntaxError: {exc.msg}") from None
    except BaseException as exc:  # noqa: BLE001 - user code: report any failure in one line
        raise ScenarioError(_import_failure(exc, resolved, shown)) from None
    tasks, start, wait = script_parts(module)
    if not tasks:
        raise ScenarioError(
            f"{shown}: no task (decorate an async function with @task, "
            "from tui_loadtest.script import task)"
        )
    for name, fn, _ in tasks + ([("on_start", start, 0.0)] if start else []):
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
    )


def _import_failure(exc: BaseException, path: str, shown: str) -> str:
    """``users.py:12: NameError: name 'x' is not defined`` from an import-time failure."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    line = f":{frames[-1].lineno}" if frames else ""
    message = str(exc).splitlines()[0] if str(exc) else ""
    kind = type(exc).__name__
    return f"{shown}{line}: {kind}: {message}" if message else f"{shown}{line}: {kind}"
