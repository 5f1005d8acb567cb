"""A locustfile at load time: import it once with our ``locust`` namespace, find its user
classes, tasks and load shape, or say in one line why it cannot run.

The coordinator imports the file before any worker starts, so that a syntax error, a
failing import, a file without a user class or a use of gevent that cannot run here
stops the run with one line (file, line, what was expected; exit 2) instead of a
traceback from every worker. Workers import the file again to run it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ScenarioError
from ..scenario.model import HttpSpec, LoadSpec, LocustClass, LocustfileSpec, Scenario
from ..scenario.redact import report_dict
from ..scenario.script_file import folder_modules
from .install import installed, unsupported_uses
from .shape import LoadTestShape
from .tasks import TaskSet, filter_tasks_by_tags, is_task_set, task_name
from .users import User

# requests.Session and geventhttpclient both follow up to 30 redirects; a redirect loop
# costs the server as many requests here as under Locust
LOCUST_MAX_REDIRECTS = 30

NO_HOST = (
    "You must specify the base host: a host attribute on the user class, or --host"
    " (-H in `tui-loadtest locust run`)"
)


@dataclass
class Locustfile:
    """A locustfile imported in this process: its module, the user classes to run, and
    its load shape (which the coordinator drives)."""

    spec: LocustfileSpec
    module: ModuleType
    classes: list[type[User]]
    shape: type[LoadTestShape] | None
    events: Any
    notes: tuple[str, ...] = ()  # what the command says before the run (one line each)


def import_locustfile(path: str) -> tuple[ModuleType, ModuleType]:
    """Import a locustfile under a name of its own, its folder first on the import path
    (as Locust puts it), with our ``locust`` namespace (fresh ``events``): (module, the
    ``locust`` module it saw)."""
    folder = str(Path(path).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:12]
    name = f"tui_loadtest_locustfile_{Path(path).stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    with installed() as namespace:
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
    return module, namespace


def reads_stats(path: Path, modules: Sequence[str]) -> bool:
    """Whether the file or a module of its folder names ``stats`` anywhere (its
    listeners may read ``environment.stats``): only then are Locust-shaped statistics
    kept beside ours, a cost per request. Erring on keeping them."""
    for file in (path, *(path.parent / m for m in modules)):
        try:
            if b"stats" in file.read_bytes():
                return True
        except OSError:
            return True
    return False


def user_classes(module: ModuleType) -> tuple[list[type[User]], list[type[User]]]:
    """(runnable user classes, abstract ones) found in the module, in order."""
    runnable: list[type[User]] = []
    abstract: list[type[User]] = []
    for value in vars(module).values():
        if inspect.isclass(value) and issubclass(value, User) and value is not User:
            if not value.__dict__.get("abstract", False):
                runnable.append(value)
            elif value.__module__.split(".")[0] not in ("tui_loadtest", "locust"):
                abstract.append(value)  # the file's own (HttpUser, imported, is not)
    return runnable, abstract


def shape_classes(module: ModuleType) -> list[type[LoadTestShape]]:
    return [
        v
        for v in vars(module).values()
        if inspect.isclass(v)
        and issubclass(v, LoadTestShape)
        and v is not LoadTestShape
        and not v.__dict__.get("abstract", False)
    ]


def task_rows(classes: Iterable[type]) -> list[str]:
    """The flow table's rows: every task function reachable from the classes (through
    their task sets), and each class's own ``on_start``, in order."""
    rows: list[str] = []
    seen: set[int] = set()

    def walk(holder: Any) -> None:
        if id(holder) in seen:
            return
        seen.add(id(holder))
        for task in getattr(holder, "tasks", None) or []:
            if is_task_set(task):
                walk(task)
            else:
                name = task_name(task)
                if name not in rows:
                    rows.append(name)
        if isinstance(holder, type) and issubclass(holder, TaskSet):
            for fn in vars(holder).values():  # a Markov chain's states are its tasks
                if callable(fn) and hasattr(fn, "transitions"):
                    name = task_name(fn)
                    if name not in rows:
                        rows.append(name)

    for cls in classes:
        if "on_start" in vars(cls):
            rows.append(f"{cls.__name__}.on_start")
        walk(cls)
    return rows


def load_locustfile(
    file: str,
    *,
    class_names: Sequence[str] = (),
    host: str | None = None,
    tags: Sequence[str] | None = None,
    exclude_tags: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    iterations: int = 0,
    stop_timeout: float = 0.0,
    need_host: bool = True,
) -> tuple[Scenario, Locustfile]:
    """Import and check a locustfile: the scenario to run it, and what was imported.

    Raises ScenarioError (one line: the file, the line, what went wrong)."""
    path = Path(file)
    if not path.is_file():
        reason = "no such file" if not path.exists() else "not a file"
        raise ScenarioError(f'{file}: cannot read locustfile "{file}": {reason}')
    resolved = str(path.resolve())
    try:
        problems = unsupported_uses(file)
    except SyntaxError as exc:
        line = f":{exc.lineno}" if exc.lineno else ""
        raise ScenarioError(f"{file}{line}: SyntaxError: {exc.msg}") from None
    if problems:
        raise ScenarioError(problems[0])
    try:
        module, namespace = import_locustfile(resolved)
    except SyntaxError as exc:
        line = f":{exc.lineno}" if exc.lineno else ""
        raise ScenarioError(f"{file}{line}: SyntaxError: {exc.msg}") from None
    except BaseException as exc:  # noqa: BLE001 - user code: any failure is one line
        raise ScenarioError(_import_failure(exc, resolved, file)) from None
    runnable, abstract = user_classes(module)
    if class_names:
        named = {c.__name__: c for c in [*runnable, *abstract]}
        missing = [n for n in class_names if n not in named]
        if missing:
            there = ", ".join(c.__name__ for c in runnable) or "none"
            raise ScenarioError(
                f"{file}: no user class named {missing[0]!r} (the file has: {there})"
            )
        runnable = [named[n] for n in class_names]
    if not runnable:
        if abstract:
            names = ", ".join(c.__name__ for c in abstract)
            raise ScenarioError(
                f"{file}: no user class to run: {names} {'is' if len(abstract) == 1 else 'are'}"
                " abstract (abstract = True is for base classes)"
            )
        raise ScenarioError(
            f"{file}: no user class (expected a class deriving from HttpUser, FastHttpUser"
            " or User, with @task methods)"
        )
    shapes = shape_classes(module)
    if len(shapes) > 1:
        names = ", ".join(s.__name__ for s in shapes)
        raise ScenarioError(f"{file}: more than one LoadTestShape ({names}); keep one")
    host_flag = host
    if host is None:
        hosts = [c.host for c in runnable if c.host]
        if len(hosts) < len(runnable) and need_host:
            missing_host = [c.__name__ for c in runnable if not c.host]
            raise ScenarioError(f"{file}: {missing_host[0]}: {NO_HOST}")
        host = hosts[0] if hosts else None
    tag_set = set(tags) if tags is not None else None
    exclude_set = set(exclude_tags) if exclude_tags is not None else None
    if tag_set is not None or exclude_set is not None:
        for cls in runnable:
            filter_tasks_by_tags(cls, tag_set, exclude_set)
    empty = [c.__name__ for c in runnable if not c.tasks and _has_no_run(c)]
    notes: tuple[str, ...] = ()
    filtered = tags is not None or exclude_tags is not None
    if empty and filtered and len(empty) < len(runnable) and not class_names:
        # as Locust: the tags leave some classes nothing to do; the others run
        runnable = [c for c in runnable if c.__name__ not in empty]
        notes = (f"{', '.join(empty)}: no task left after --tags/--exclude-tags; not run",)
    elif empty:
        why = " after --tags/--exclude-tags" if filtered else ""
        raise ScenarioError(
            f"{file}: {empty[0]} has no task{why} (add @task methods, or set abstract = True)"
        )
    spec = LocustfileSpec(
        file=file,
        path=resolved,
        classes=tuple(
            LocustClass(c.__name__, float(c.weight), int(c.fixed_count), c.host) for c in runnable
        ),
        tasks=tuple(task_rows(runnable)),
        shape=shapes[0].__name__ if shapes else None,
        tags=tuple(tags) if tags is not None else None,
        exclude_tags=tuple(exclude_tags) if exclude_tags is not None else None,
        options=tuple(sorted((options or {}).items())),
        host=host_flag,
        iterations=iterations,
        stop_timeout=stop_timeout,
        modules=(modules := folder_modules(Path(resolved).parent)),
        reads_stats=reads_stats(Path(resolved), modules),
    )
    scenario = Scenario(
        name=Path(file).stem or "locustfile",
        host=host,
        load=LoadSpec(users=1, spawn_rate=1.0),
        http=HttpSpec(max_redirects=LOCUST_MAX_REDIRECTS),
        requests=(),
        source=file,
        locustfile=spec,
    )
    scenario = replace(scenario, redacted=report_dict(scenario, {}, []))
    loaded = Locustfile(
        spec, module, runnable, shapes[0] if shapes else None, namespace.events, notes
    )
    return scenario, loaded


def _has_no_run(cls: type) -> bool:
    """A user class that runs tasks (not one overriding run() itself)."""
    return "run" not in vars(cls)


def _import_failure(exc: BaseException, path: str, shown: str) -> str:
    """``locustfile.py:12: NameError: name 'x' is not defined`` from an import failure."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    line = f":{frames[-1].lineno}" if frames else ""
    message = str(exc).splitlines()[0] if str(exc) else ""
    kind = type(exc).__name__
    return f"{shown}{line}: {kind}: {message}" if message else f"{shown}{line}: {kind}"
