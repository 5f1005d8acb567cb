"""bench/locustfiles.py, memory: users that send one request, keep the connection and
then wait an hour (Locust runs a task first, then waits): idle, as after a think time."""

from locust import HttpUser, constant, task


class IdleUser(HttpUser):
    wait_time = constant(3600)

    @task
    def health(self) -> None:
        self.client.get("/api/health")
