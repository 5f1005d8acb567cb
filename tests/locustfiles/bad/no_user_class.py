"""Bad on purpose: it imports locust and defines a TaskSet, but no User class."""

from locust import TaskSet, between, task


class Browsing(TaskSet):
    wait_time = between(1, 2)

    @task
    def home(self):
        self.client.get("/")
