"""Held-out: FastHttpUser's own timeouts (network_timeout, connection_timeout set on the
class, as Locust's FastHttpUser docs list them) against an endpoint slower than them, and
a per-request timeout= on an HttpUser."""

from locust import FastHttpUser, HttpUser, constant, task


class Impatient(FastHttpUser):
    wait_time = constant(0.05)
    network_timeout = 0.3
    connection_timeout = 2.0

    @task
    def slow(self):
        self.client.get("/slow?ms=1200", name="fast slow")


class PerRequest(HttpUser):
    wait_time = constant(0.05)

    @task
    def slow(self):
        self.client.get("/slow?ms=1200", name="requests slow", timeout=0.3)
