"""Held-out, refused: geventhttpclient's own HTTPClient beside a FastHttpUser's shared
pool (which alone is accepted)."""

from geventhttpclient import HTTPClient
from geventhttpclient.client import HTTPClientPool
from locust import FastHttpUser, task


class Raw(FastHttpUser):
    client_pool = HTTPClientPool(concurrency=2)

    @task
    def raw(self):
        HTTPClient.from_url(self.host).get("/api/raw")
