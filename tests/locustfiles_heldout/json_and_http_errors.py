"""Held-out: catching a body that is not JSON and a bad status by the exception classes
Locust's docs and requests name (json.JSONDecodeError, requests' JSONDecodeError and
HTTPError), inside catch_response blocks, on HttpUser and FastHttpUser."""

from json import JSONDecodeError

import requests
from locust import FastHttpUser, HttpUser, constant, task


class Page(HttpUser):
    wait_time = constant(0.01)

    @task
    def html_is_not_json(self):
        with self.client.get("/", catch_response=True) as response:
            try:
                if response.json()["greeting"] != "hello":
                    response.failure("Did not get expected value in greeting")
            except JSONDecodeError:
                response.failure("Response could not be decoded as JSON")
            except KeyError:
                response.failure("Response did not contain expected key 'greeting'")

    @task
    def text_is_not_json(self):
        with self.client.get("/text", catch_response=True) as response:
            try:
                response.json()
            except requests.exceptions.JSONDecodeError as e:
                response.failure(f"requests: {e}")

    @task
    def status_by_requests_class(self):
        with self.client.get("/status/503", catch_response=True) as response:
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as e:
                response.failure(f"{type(e).__name__}: {e.response.status_code}")


class FastPage(FastHttpUser):
    wait_time = constant(0.01)

    @task
    def fast_html_is_not_json(self):
        with self.client.get("/", catch_response=True, name="fast /") as response:
            try:
                response.json()
            except JSONDecodeError as e:
                response.failure(f"fast: {e}")

    @task
    def fast_bad_status(self):
        with self.client.get("/status/502", catch_response=True) as response:
            try:
                response.raise_for_status()
            except Exception as e:  # FastHttpUser raises LocustBadStatusCode
                response.failure(f"fast: {e!r}")
