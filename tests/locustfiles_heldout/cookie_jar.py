"""Held-out: self.client.cookies used as requests' RequestsCookieJar is (update() with a
dict and with a response's cookies, item assignment, get_dict(), set() with a domain,
clear()), and response.cookies.get_dict()."""

from locust import HttpUser, constant, task


class Returning(HttpUser):
    wait_time = constant(0.02)

    def on_start(self):
        self.client.cookies.update({"consent": "yes", "theme": "dark"})
        self.client.cookies["lang"] = "fr"
        login = self.client.post("/login", data={"username": "ann", "password": "secret"})
        self.session = login.cookies.get_dict()["session"]
        self.client.cookies.update(login.cookies)

    @task
    def sends_every_cookie(self):
        with self.client.get("/echo", catch_response=True, name="echo") as r:
            sent = r.json()["cookies"]
            jar = self.client.cookies.get_dict()
            if sent.get("session") != self.session or jar.get("session") != self.session:
                r.failure(f"session cookie lost: {sent}")
            elif {k: sent.get(k) for k in ("consent", "theme", "lang")} != {
                "consent": "yes",
                "theme": "dark",
                "lang": "fr",
            }:
                r.failure(f"cookies not sent: {sent}")

    @task
    def account(self):
        self.client.get("/account")

    def on_stop(self):
        self.client.cookies.clear()
        self.client.cookies.set("bye", "1", domain="127.0.0.1", path="/")
        self.client.get("/logout")
