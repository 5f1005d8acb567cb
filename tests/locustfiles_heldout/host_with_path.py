"""Held-out: a host with a path (--host http://HOST/api). Locust's HttpUser names a row by
the path requested (/api/items), its FastHttpUser by the URL as the task gave it
(/items/3?x=1)."""

from locust import FastHttpUser, HttpUser, constant, task


class Slow(HttpUser):
    wait_time = constant(0.05)

    @task
    def items(self):
        self.client.get("/items")


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def items(self):
        self.client.get("/items/3?x=1")
