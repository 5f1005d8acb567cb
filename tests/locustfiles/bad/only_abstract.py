"""Bad on purpose: its only User classes are abstract, so there is nothing to run."""

from locust import HttpUser, task


class BaseApi(HttpUser):
    abstract = True

    @task
    def health(self):
        self.client.get("/health")


class AdminBase(BaseApi):
    abstract = True
