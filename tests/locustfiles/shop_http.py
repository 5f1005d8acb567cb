"""A shop browsed by an HttpUser: the plain locustfile most teams start from.

Exercises: HttpUser with a class-level host (the command line's --host wins), @task
weights, between, on_start/on_stop (a login posted as a form dict with data=, a logout),
name= grouping several URLs into one row, params= (the row is the path with its query,
as requests encodes it), timeout= and verify=, json=, headers=, response.json(),
catch_response with success() (a 404 that is expected) and failure() (a custom
message), a deterministic 404 row and a deterministic 500 row, and run_single_user
under ``if __name__ == "__main__":``.

Rows (GET unless said): /api/items, /api/items/[id], /api/search?q=lamp&page=1,
POST /api/items, "stock check" (always fails: "price above budget: 1.25"),
/api/items/0 (a 404 marked as success), /catalog/2019 (404), /status/500 (500),
POST /login and POST /logout once per user.
"""

import random

from locust import HttpUser, between, run_single_user, task

BUDGET = 1.0


class ShopVisitor(HttpUser):
    host = "http://127.0.0.1:8080"
    wait_time = between(0.001, 0.003)

    def on_start(self):
        self.client.post("/login", data={"username": "shopper", "password": "secret"})

    def on_stop(self):
        self.client.post("/logout")

    @task(6)
    def browse(self):
        self.client.get("/api/items", headers={"Accept": "application/json"})

    @task(3)
    def view_item(self):
        item_id = random.randint(1, 10)
        self.client.get(f"/api/items/{item_id}", name="/api/items/[id]")

    @task(2)
    def search(self):
        self.client.get("/api/search", params={"q": "lamp", "page": 1}, timeout=5, verify=False)

    @task(2)
    def add_to_cart(self):
        with self.client.post(
            "/api/items", json={"name": "lamp", "qty": 1}, catch_response=True
        ) as resp:
            if resp.status_code == 201 and resp.json().get("id") == 11:
                resp.success()
            else:
                resp.failure(f"item not created: {resp.status_code}")

    @task(1)
    def stock_check(self):
        with self.client.get("/api/items/42", name="stock check", catch_response=True) as resp:
            price = resp.json()["price"]
            if price > BUDGET:
                resp.failure(f"price above budget: {price}")

    @task(1)
    def sold_out_item(self):
        with self.client.get("/api/items/0", catch_response=True) as resp:
            if resp.status_code == 404:
                resp.success()

    @task(1)
    def old_catalogue(self):
        self.client.get("/catalog/2019")

    @task(1)
    def checkout_down(self):
        self.client.get("/status/500")


if __name__ == "__main__":
    run_single_user(ShopVisitor)
