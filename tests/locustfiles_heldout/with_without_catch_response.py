"""Held-out: a with-block on a request without catch_response=True. Locust's HttpUser
refuses it (LocustError, the request already counted); its FastHttpUser's response is a
plain context manager there."""

from locust import FastHttpUser, HttpUser, constant, task


class Slow(HttpUser):
    wait_time = constant(0.05)

    @task
    def t(self):
        with self.client.get("/api/with") as r:
            assert r.status_code == 200


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def t(self):
        with self.client.get("/api/fastwith") as r:
            assert r.status_code == 200
