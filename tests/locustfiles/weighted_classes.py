"""Several user classes sharing the load: weight, fixed_count, an abstract base, tags.

Exercises: weight (Browser 3 : Editor 1), fixed_count (exactly one Auditor whatever
-u says, taken before the weighted classes), abstract = True on a shared base with an
on_start and a wait_time the subclasses inherit, @tag (several tags on one task), user
classes named on the command line, constant, and tasks as a list of plain functions.

Rows: GET "session" (on_start), GET /api/items, GET /slow (tags read, slow),
POST /api/items, DELETE /api/items/9 (tag write), GET /api/audit, GET /api/stats.
"""

from locust import HttpUser, constant, tag, task


class ApiClient(HttpUser):
    abstract = True
    wait_time = constant(0.005)

    def on_start(self):
        self.client.get("/api/session", name="session")


class Browser(ApiClient):
    weight = 3

    @tag("read")
    @task(3)
    def items(self):
        self.client.get("/api/items")

    @tag("read", "slow")
    @task(1)
    def slow_page(self):
        self.client.get("/slow?ms=5", name="/slow")


class Editor(ApiClient):
    weight = 1

    @tag("write")
    @task(2)
    def create(self):
        self.client.post("/api/items", json={"name": "shelf"})

    @tag("write")
    @task(1)
    def delete(self):
        self.client.delete("/api/items/9")


def audit_log(user):
    user.client.get("/api/audit")


def usage_stats(user):
    user.client.get("/api/stats")


class Auditor(ApiClient):
    fixed_count = 1
    tasks = [audit_log, usage_stats]
