"""bench/locustfiles.py: http_user.py's three weighted tasks on FastHttpUser (geventhttpclient)."""

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class ApiUser(FastHttpUser):
    wait_time = constant(0)

    @task(3)
    def health(self) -> None:
        self.client.get("/api/health")

    @task(2)
    def list_items(self) -> None:
        self.client.get("/api/items")

    @task(1)
    def create_item(self) -> None:
        self.client.post("/api/items", json={"name": "widget", "price": 9.5, "tags": ["a", "b"]})
