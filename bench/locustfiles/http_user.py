"""bench/locustfiles.py: three weighted tasks, no wait, on Locust's HttpUser (requests)."""

from locust import HttpUser, constant, task


class ApiUser(HttpUser):
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
