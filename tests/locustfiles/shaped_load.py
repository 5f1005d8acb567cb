"""A stepped load shape driving two user classes.

Exercises: LoadTestShape with tick() returning (users, spawn_rate), then
(users, spawn_rate, [user classes]) to run one class only, then None to end the run;
get_run_time(); wait_time as a lambda taking self; between.

The shape: 2 users for the first second, 4 until 2 s, 3 Readers only until 3 s, then
the run ends. Rows: GET /api/news (Reader), GET /api/weather (Poller).
"""

from locust import HttpUser, LoadTestShape, between, task


class Reader(HttpUser):
    wait_time = lambda self: 0.005  # noqa: E731 - a lambda is how many locustfiles write it

    @task
    def news(self):
        self.client.get("/api/news")


class Poller(HttpUser):
    wait_time = between(0.005, 0.01)

    @task
    def weather(self):
        self.client.get("/api/weather")


class ThreeSteps(LoadTestShape):
    def tick(self):
        run_time = self.get_run_time()
        if run_time < 1:
            return (2, 10)
        if run_time < 2:
            return (4, 10)
        if run_time < 3:
            return (3, 10, [Reader])
        return None
