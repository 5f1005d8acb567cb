"""Locust's best case for the comparison: FastHttpUser, no wait, one GET (the same
request wrk sends). Run by bench/run.py from Locust's own virtualenv."""

from locust import FastHttpUser, constant, task


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/api/health")
