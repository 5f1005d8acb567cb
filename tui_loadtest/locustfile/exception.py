"""Locust's exceptions (``locust.exception``), with Locust's meanings: what a task may
raise to steer its user, and what a check raises."""

from __future__ import annotations


class LocustError(Exception):
    """A misuse of the API (a ``with`` block without ``catch_response=True``...)."""


class ResponseError(Exception):
    pass


class CatchResponseError(Exception):
    """A response a ``catch_response`` block judged failed (``response.failure(...)``)."""


class MissingWaitTimeError(LocustError):
    pass


class InterruptTaskSet(Exception):
    """Raised in a nested TaskSet: hand control back to its parent. ``reschedule``: the
    parent picks its next task at once (no wait)."""

    def __init__(self, reschedule: bool = True) -> None:
        super().__init__(reschedule)
        self.reschedule = reschedule


class StopTest(Exception):
    """Stop the whole run."""


class StopUser(Exception):
    """Stop this user (its ``on_stop`` runs)."""


class RescheduleTask(Exception):
    """End the task now, as a ``return`` would (the wait comes next)."""


class RescheduleTaskImmediately(Exception):
    """End the task now and pick the next one at once, without the wait."""


class RunnerAlreadyExistsError(Exception):
    pass


__all__ = [
    "CatchResponseError",
    "InterruptTaskSet",
    "LocustError",
    "MissingWaitTimeError",
    "RescheduleTask",
    "RescheduleTaskImmediately",
    "ResponseError",
    "RunnerAlreadyExistsError",
    "StopTest",
    "StopUser",
]
