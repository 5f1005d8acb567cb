"""Bad on purpose: a syntax error on line 8 (a missing colon)."""

from locust import HttpUser, task


class Broken(HttpUser):
    @task
    def home(self)
        self.client.get("/")
