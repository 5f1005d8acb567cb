"""Held-out, refused: Locust 1.x's events.request_success (gone since Locust 2.0, where
this file fails to load): a listener on it would never be called."""

from locust import HttpUser, constant, events, task

SEEN = {"ok": 0}


@events.request_success.add_listener
def count(request_type, name, response_time, response_length, **kwargs):
    SEEN["ok"] += 1


class Old(HttpUser):
    wait_time = constant(0.1)

    @task
    def page(self):
        self.client.get("/api/old")
