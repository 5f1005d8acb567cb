"""bench/locustfiles.py, memory: users asleep in on_start (no request, no connection):
what a user greenlet and its objects hold, without any transport."""

import time

from locust import HttpUser, constant, task


class SleepingUser(HttpUser):
    wait_time = constant(3600)

    def on_start(self) -> None:
        time.sleep(3600)

    @task
    def health(self) -> None:
        self.client.get("/api/health")
