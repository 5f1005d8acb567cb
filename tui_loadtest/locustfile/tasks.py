"""Tasks and task sets as Locust defines them (``locust.user.task``): ``@task``,
``@tag``, ``TaskSet`` (nested, ``interrupt``), ``SequentialTaskSet``, and
``MarkovTaskSet`` with ``@transition``/``@transitions``.

A user's code runs in its own greenlet on the worker's event loop; where Locust
would sleep in gevent, a task set asks its user's driver to suspend the greenlet
(:meth:`TaskSet.wait`). Each task function that runs is timed and its exception, if
any, counted by the driver (an error of kind ``script``), as Locust counts it and
goes on.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from itertools import cycle
from typing import TYPE_CHECKING, Any, TypeVar

from .exception import (
    InterruptTaskSet,
    LocustError,
    MissingWaitTimeError,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

if TYPE_CHECKING:
    from .users import User

RUNNING, WAITING, STOPPING = "running", "waiting", "stopping"
WEIGHT_ATTR = "locust_task_weight"
TAGS_ATTR = "locust_tag_set"

T = TypeVar("T")


class GreenletExit(BaseException):
    """Thrown into a user's greenlet to stop it where it waits (gevent's name)."""


def task(weight: Any = 1) -> Any:
    """``@task`` or ``@task(weight)``: a method (or TaskSet class) picked by weight."""

    def mark(fn: T) -> T:
        name = getattr(fn, "__name__", "")
        if name == "run":
            raise LocustError("run() is the user's own loop: it cannot be a task")
        setattr(fn, WEIGHT_ATTR, weight)
        return fn

    if callable(weight):
        fn, weight = weight, 1
        return mark(fn)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
        raise ValueError(f"@task weight must be a whole number of 0 or more, got {weight!r}")
    return mark


def tag(*tags: str) -> Callable[[T], T]:
    """``@tag("a", "b")``: names for ``--tags`` and ``--exclude-tags``."""
    if not tags or callable(tags[0]):
        raise ValueError("@tag needs at least one tag name: @tag('name')")

    def mark(target: T) -> T:
        own = getattr(target, "tasks", None)
        if own is not None and isinstance(target, type):
            target.tasks = [tag(*tags)(t) for t in own]  # type: ignore[attr-defined]
        else:
            found = (
                set(target.__dict__.get(TAGS_ATTR, set())) if hasattr(target, "__dict__") else set()
            )
            setattr(target, TAGS_ATTR, found | set(tags))
        return target

    return mark


def collect_tasks(bases: Iterable[type], namespace: dict[str, Any]) -> list[Any]:
    """A class's tasks, each repeated by its weight: the bases' first, then ``tasks``
    (a list, a dict of task -> weight, or (task, weight) pairs), then ``@task``
    methods in order of definition."""
    found: list[Any] = []
    for base in bases:
        found += getattr(base, "tasks", None) or []
    given = namespace.get("tasks")
    if given is not None:
        items = given.items() if isinstance(given, dict) else given
        for item in items:
            if isinstance(item, tuple):
                one, weight = item
                found += [one] * weight
            else:
                found.append(item)
    for value in namespace.values():
        weight = getattr(value, WEIGHT_ATTR, None) if callable(value) else None
        if weight is not None:
            found += [value] * weight
    return found


class TaskSetMeta(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        namespace["tasks"] = collect_tasks(bases, namespace)
        return super().__new__(mcs, name, bases, namespace)


def is_task_set(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, TaskSet)


class TaskSet(metaclass=TaskSetMeta):
    """Tasks run by one user, picked by weight, with waits between them. A TaskSet
    used as a task takes over until it is interrupted."""

    tasks: list[Any] = []
    min_wait: float | None = None
    max_wait: float | None = None
    wait_function: Callable[..., float] | None = None

    def __init__(self, parent: Any) -> None:
        self._parent = parent
        self._user: User = parent.user if isinstance(parent, TaskSet) else parent
        self._task_queue: list[Any] = []
        self._cp_last_run = 0.0
        self._cp_last_wait_time = 0.0

    @property
    def user(self) -> User:
        return self._user

    @property
    def parent(self) -> Any:
        return self._parent

    @property
    def client(self) -> Any:
        return getattr(self._user, "client", None)

    def on_start(self) -> None:
        """Called when the user starts running this task set."""

    def on_stop(self) -> None:
        """Called when the user leaves this task set (interrupted or stopped)."""

    # -- the loop ------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.on_start()
        except InterruptTaskSet as stop:
            raise (RescheduleTaskImmediately if stop.reschedule else RescheduleTask)(
                stop.reschedule
            ) from stop
        user = self._user
        while True:
            try:
                if not self._task_queue:
                    self.schedule_task(self.get_next_task())
                try:
                    if user._state == STOPPING:
                        raise StopUser
                    self.execute_next_task()
                except RescheduleTaskImmediately:
                    continue
                except RescheduleTask:
                    pass
                self.wait()
            except InterruptTaskSet as stop:
                self._leave()
                raise (RescheduleTaskImmediately if stop.reschedule else RescheduleTask)(
                    stop.reschedule
                ) from stop
            except (StopUser, StopTest, GreenletExit):
                self._leave()
                raise
            except Exception as exc:  # noqa: BLE001 - no task, a bad wait_time: counted
                user._driver.task_error(type(self).__name__, exc)
                user._driver.sleep(user._driver.error_pause())

    def _leave(self) -> None:
        try:
            self.on_stop()
        except (StopUser, StopTest, GreenletExit):
            raise
        except Exception as exc:  # noqa: BLE001 - user code: counted, the user goes on
            self._user._driver.task_error("on_stop", exc)

    def execute_next_task(self) -> None:
        self.execute_task(self._task_queue.pop(0))

    def execute_task(self, task: Any) -> None:
        if is_task_set(task):
            task(self).run()
        elif getattr(task, "__self__", None) is self:
            self._user._driver.run_task(task, ())
        else:
            self._user._driver.run_task(task, (self,))

    def schedule_task(self, task_callable: Any, first: bool = False) -> None:
        if first:
            self._task_queue.insert(0, task_callable)
        else:
            self._task_queue.append(task_callable)

    def get_next_task(self) -> Any:
        if not self.tasks:
            raise LocustError(
                f"No tasks defined on {type(self).__name__}: use @task or set its tasks"
            )
        return random.choice(self.tasks)

    # -- waiting -------------------------------------------------------------------
    def wait_time(self) -> float:
        user = self._user
        if user.wait_time is not None:
            return float(user.wait_time())
        if self.min_wait is not None and self.max_wait is not None:
            return random.randint(int(self.min_wait), int(self.max_wait)) / 1000.0
        raise MissingWaitTimeError(
            f"no wait_time on {type(user).__name__} or {type(self).__name__}"
        )

    def wait(self) -> None:
        """Wait as ``wait_time`` says; a stopping user stops here."""
        user = self._user
        if user._state == STOPPING:
            raise StopUser
        user._state = WAITING
        self._sleep(self.wait_time())
        if user._state == STOPPING:
            raise StopUser
        user._state = RUNNING

    def _sleep(self, seconds: float) -> None:
        self._user._driver.sleep(seconds)

    def interrupt(self, reschedule: bool = True) -> None:
        """Hand control back to the parent task set (``reschedule``: it picks its next
        task at once)."""
        raise InterruptTaskSet(reschedule)


class DefaultTaskSet(TaskSet):
    """The task set every user runs: its own tasks, called with the user."""

    def get_next_task(self) -> Any:
        tasks = self._user.tasks
        if not tasks:
            raise LocustError(
                f"No tasks defined on {type(self._user).__name__}: use @task or set its tasks"
                " (or mark it abstract = True)"
            )
        return random.choice(tasks)

    def execute_task(self, task: Any) -> None:
        if is_task_set(task):
            task(self._user).run()
        else:
            self._user._driver.run_task(task, (self._user,))


class SequentialTaskSetMeta(TaskSetMeta):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        ordered: list[Any] = []
        for base in bases:
            ordered += getattr(base, "tasks", None) or []
        for key, value in namespace.items():
            if key == "tasks":
                if isinstance(value, dict):
                    for one, weight in value.items():
                        ordered += [one] * weight
                elif isinstance(value, list):
                    ordered += value
                else:
                    raise ValueError("SequentialTaskSet.tasks must be a list or a dict")
            weight = getattr(value, WEIGHT_ATTR, None) if callable(value) else None
            if weight is not None:
                ordered += [value] * weight
        namespace["tasks"] = ordered
        return type.__new__(mcs, name, bases, namespace)


class SequentialTaskSet(TaskSet, metaclass=SequentialTaskSetMeta):
    """Tasks run in the order they were declared, again and again (a weight repeats a
    task in the sequence)."""

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self._sequence = cycle(self.tasks) if self.tasks else None

    def get_next_task(self) -> Any:
        if self._sequence is None:
            raise LocustError(f"No tasks defined on {type(self).__name__}")
        return next(self._sequence)


# -- Markov chains ------------------------------------------------------------------


def transition(func_name: str, weight: int = 1) -> Callable[[T], T]:
    """A transition from the decorated task to task ``func_name``, with a weight."""

    def mark(fn: T) -> T:
        found = dict(getattr(fn, "transitions", {}) or {})
        found[func_name] = weight
        fn.transitions = found  # type: ignore[attr-defined]
        return fn

    return mark


def transitions(weights: dict[str, int] | list[Any]) -> Callable[[T], T]:
    """Several transitions at once: a dict of name -> weight, or names (weight 1) and
    (name, weight) pairs."""
    pairs = (
        dict(weights)
        if isinstance(weights, dict)
        else dict(item if isinstance(item, tuple) else (item, 1) for item in weights)
    )

    def mark(fn: T) -> T:
        found = dict(getattr(fn, "transitions", {}) or {})
        found.update(pairs)
        fn.transitions = found  # type: ignore[attr-defined]
        return fn

    return mark


class MarkovTaskSetMeta(TaskSetMeta):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if not namespace.get("abstract"):
            namespace["abstract"] = False
            chain = [v for v in namespace.values() if callable(v) and hasattr(v, "transitions")]
            if not chain:
                raise LocustError(f"{name}: no Markov task (use @transition or @transitions)")
            for fn in chain:
                for target in fn.transitions:
                    goal = namespace.get(target)
                    if goal is None:
                        raise LocustError(f"{name}.{fn.__name__}: no task {target!r} to go to")
                    if not hasattr(goal, "transitions"):
                        raise LocustError(
                            f"{name}.{target} has no transitions of its own: it cannot be a"
                            f" target (from {fn.__name__})"
                        )
                if isinstance(fn.transitions, dict):
                    fn.transitions = [t for t, w in fn.transitions.items() for _ in range(w)]
            namespace["current"] = chain[0]
        return super().__new__(mcs, name, bases, namespace)


class MarkovTaskSet(TaskSet, metaclass=MarkovTaskSetMeta):
    """Tasks as the states of a Markov chain: after each, the next by its transitions'
    weights; the first declared is where a user starts."""

    abstract = True
    current: Any

    def get_next_task(self) -> Any:
        fn = self.current
        self.current = getattr(self, random.choice(fn.transitions))
        return fn

    def execute_task(self, task: Any) -> None:
        if getattr(task, "__self__", None) is self:
            self._user._driver.run_task(task, ())
        else:
            self._user._driver.run_task(task, (self,))


def task_name(fn: Any) -> str:
    """A task's row in the flow table: its function's qualified name
    (``ForumPage.read_thread``)."""
    target = getattr(fn, "__func__", fn)
    return str(getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target)))


def filter_tasks_by_tags(
    holder: Any,
    tags: set[str] | None = None,
    exclude_tags: set[str] | None = None,
    checked: dict[Any, bool] | None = None,
) -> None:
    """Keep the tasks ``--tags`` asks for and drop those ``--exclude-tags`` names, in a
    user class and its task sets (a task set left with no task goes too)."""
    checked = {} if checked is None else checked
    kept = []
    for one in holder.tasks:
        if one in checked:
            if checked[one]:
                kept.append(one)
            continue
        if is_task_set(one):
            filter_tasks_by_tags(one, tags, exclude_tags, checked)
            passing = bool(one.tasks) or isinstance(one, MarkovTaskSetMeta)
        else:
            own: set[str] = getattr(one, TAGS_ATTR, set())
            passing = True
            if tags is not None:
                passing = bool(own & tags)
            if exclude_tags is not None and own & exclude_tags:
                passing = False
        checked[one] = passing
        if passing:
            kept.append(one)
    holder.tasks = kept


__all__ = [
    "DefaultTaskSet",
    "GreenletExit",
    "MarkovTaskSet",
    "SequentialTaskSet",
    "TaskSet",
    "filter_tasks_by_tags",
    "tag",
    "task",
    "transition",
    "transitions",
]
