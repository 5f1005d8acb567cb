"""A user with its own, non-HTTP client that times each call through events.request.

Exercises: User (not HttpUser) with abstract = True on a shared base class, a user
overriding __init__(self, environment), self.environment.events.request.fire(...) with
request_type, name, response_time, response_length, exception and context (success and
failure rows, the failure's message is the exception's repr), time.sleep and
gevent.sleep inside a task (they sleep only this user), constant, and events.request
fired directly from a task for a one-off timing.

Rows (no HTTP at all): KV "get a", KV "get missing" (always fails: KeyError('missing')),
KV "put b", grpc "Inventory/Count".
"""

import time

import gevent
from locust import User, constant, events, task


class KeyValueClient:
    """A pretend key-value store: calls take a little time, a missing key fails."""

    def __init__(self, request_event):
        self._request_event = request_event
        self._data = {"a": "1"}

    def _timed(self, name, call):
        start = time.perf_counter()
        result, exception = None, None
        try:
            result = call()
        except Exception as e:  # a failed call is a failed request, never a crash
            exception = e
        self._request_event.fire(
            request_type="KV",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=len(result or ""),
            exception=exception,
            context={"store": "memory"},
        )
        return result

    def get(self, key):
        def call():
            time.sleep(0.001)
            return self._data[key]

        return self._timed(f"get {key}", call)

    def put(self, key, value):
        def call():
            gevent.sleep(0.001)
            self._data[key] = value
            return value

        return self._timed(f"put {key}", call)


class KeyValueUser(User):
    abstract = True

    def __init__(self, environment):
        super().__init__(environment)
        self.client = KeyValueClient(environment.events.request)


class CacheUser(KeyValueUser):
    wait_time = constant(0.002)

    @task(4)
    def hit(self):
        self.client.get("a")

    @task(1)
    def miss(self):
        self.client.get("missing")

    @task(2)
    def put(self):
        self.client.put("b", "2")

    @task(1)
    def count_inventory(self):
        start = time.perf_counter()
        gevent.sleep(0.001)  # a stand-in for a gRPC stub's call
        events.request.fire(
            request_type="grpc",
            name="Inventory/Count",
            response_time=(time.perf_counter() - start) * 1000,
            response_length=8,
            exception=None,
            context={},
        )
        if self.environment.events is not events:
            raise AssertionError("self.environment.events is locust.events")
