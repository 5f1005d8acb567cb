"""A catalogue API driven by two FastHttpUser classes sharing the load by weight.

Exercises: FastHttpUser imported from locust.contrib.fasthttp (and from locust), the
rest() context manager (the parsed body in .js, failure() on a wrong payload, a 400 that
rest() itself marks failed), constant_throughput, weight (readers 3 : writers 1),
json=, data= as a str and as bytes, put/patch/delete/head/options, status_code, ok and
headers, and a deterministic 500 row.

Rows: CatalogReader: GET /api/items, GET /api/items/3, HEAD /api/items,
OPTIONS /api/items. CatalogWriter: POST /api/items, POST "create without name" (400),
PUT /api/items/4, PATCH /api/items/4, DELETE /api/items/4, GET /status/500.
"""

from locust import FastHttpUser as FastUserFromTop
from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

assert FastUserFromTop is FastHttpUser


class CatalogReader(FastHttpUser):
    weight = 3
    wait_time = constant_throughput(400)

    @task(4)
    def list_items(self):
        with self.rest("GET", "/api/items") as resp:
            if len(resp.js) != 10:
                resp.failure(f"expected 10 items, got {len(resp.js)}")

    @task(2)
    def one_item(self):
        with self.rest("GET", "/api/items/3") as resp:
            if resp.js["name"] != "item 3":
                resp.failure(f"wrong item: {resp.js['name']}")

    @task(1)
    def head_items(self):
        resp = self.client.head("/api/items")
        if not resp.ok or resp.headers.get("content-type") != "application/json":
            raise AssertionError(f"HEAD /api/items answered {resp.status_code}")

    @task(1)
    def options_items(self):
        self.client.options("/api/items")


class CatalogWriter(FastHttpUser):
    weight = 1
    wait_time = constant_throughput(400)

    @task(2)
    def create(self):
        with self.rest("POST", "/api/items", json={"name": "desk"}) as resp:
            if resp.js is None or resp.js.get("id") != 11:
                resp.failure("no id in the answer")

    @task(1)
    def create_without_name(self):
        with self.rest(
            "POST", "/api/items", json={"title": "desk"}, name="create without name"
        ) as resp:
            if resp.status_code == 400:
                resp.failure("rejected: the item has no name")

    @task(1)
    def replace(self):
        headers = {"Content-Type": "application/json"}
        self.client.put("/api/items/4", data='{"price": 3}', headers=headers)

    @task(1)
    def adjust(self):
        headers = {"Content-Type": "application/json"}
        self.client.patch("/api/items/4", data=b'{"price": 4}', headers=headers)

    @task(1)
    def remove(self):
        resp = self.client.delete("/api/items/4")
        if resp.status_code != 204:
            raise AssertionError(f"DELETE answered {resp.status_code}")

    @task(1)
    def broken(self):
        self.client.get("/status/500")
