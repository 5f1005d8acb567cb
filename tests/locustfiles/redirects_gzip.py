"""Redirects and compressed bodies, handled as requests.Session handles them.

Exercises: redirects followed by default, each one row under the name first asked for
(301 relative, 302 to an absolute URL given in the query, 303 turning a POST into a GET,
307 and 308 keeping the method and the body, a chain of three hops, a hop to another
port), allow_redirects=False (the 302 itself is the answer, a success), an absolute URL
on the host and one on another host (a row named by its path alone),
response.url/history/ok/elapsed/status_code, a redirect loop (a failure once requests
gives up after 30 hops), gzip and deflate bodies decoded (response.json() and the
Content-Encoding header), response.text, raise_for_status() inside catch_response.

Rows (GET unless said): /redirect/301, /redirect/302 absolute, POST /redirect/303,
POST /redirect/307, PUT /redirect/308, /redirect/chain/3, /redirect/other-port,
/redirect/302 (not followed), /redirect/other-port (not followed), /api/landed (on the
other host), /api/absolute, /redirect/loop (always a failure), /gzip,
/deflate, "/status/404 checked" (always a failure: "not found, as raised").
"""

from urllib.parse import quote

from locust import HttpUser, constant, task


class Traveller(HttpUser):
    wait_time = constant(0)

    @task(3)
    def moved_permanently(self):
        with self.client.get("/redirect/301", catch_response=True) as resp:
            hops = [r.status_code for r in resp.history]
            if hops != [301] or not resp.url.endswith("/api/landed"):
                resp.failure(f"not redirected: {resp.url}")

    @task(1)
    def found_absolute(self):
        to = quote(f"{self.host}/api/landed", safe="")
        with self.client.get(
            f"/redirect/302?to={to}", name="/redirect/302 absolute", catch_response=True
        ) as resp:
            if not resp.ok or resp.elapsed.total_seconds() <= 0:
                resp.failure("no answer after the redirect")

    @task(1)
    def see_other(self):
        with self.client.post(
            "/redirect/303?to=/echo", json={"n": 1}, name="/redirect/303", catch_response=True
        ) as resp:
            if resp.json()["method"] != "GET":
                resp.failure("303 kept the method")

    @task(1)
    def temporary(self):
        with self.client.post(
            "/redirect/307?to=/echo", json={"n": 2}, name="/redirect/307", catch_response=True
        ) as resp:
            if resp.json()["method"] != "POST" or resp.json()["json"] != {"n": 2}:
                resp.failure("307 lost the method or the body")

    @task(1)
    def permanent(self):
        with self.client.put(
            "/redirect/308?to=/echo", data="v=3", name="/redirect/308", catch_response=True
        ) as resp:
            if resp.json()["body"] != "v=3":
                resp.failure("308 lost the body")

    @task(1)
    def chain(self):
        resp = self.client.get("/redirect/chain/3")
        if len(resp.history) != 3:
            raise AssertionError(f"{len(resp.history)} hops")

    @task(1)
    def other_port(self):
        self.client.get("/redirect/other-port")

    @task(1)
    def not_followed(self):
        with self.client.get(
            "/redirect/302",
            allow_redirects=False,
            name="/redirect/302 (not followed)",
            catch_response=True,
        ) as resp:
            if resp.status_code != 302 or resp.headers["Location"] != "/api/landed":
                resp.failure(f"expected the 302 itself, got {resp.status_code}")

    @task(1)
    def another_host(self):
        resp = self.client.get(
            "/redirect/other-port",
            allow_redirects=False,
            name="/redirect/other-port (not followed)",
        )
        self.client.get(resp.headers["Location"])

    @task(1)
    def absolute_url(self):
        self.client.get(f"{self.host}/api/absolute")

    @task(1)
    def loop(self):
        self.client.get("/redirect/loop")

    @task(2)
    def gzip_body(self):
        with self.client.get("/gzip", catch_response=True) as resp:
            if resp.headers.get("Content-Encoding") != "gzip" or resp.json()["gzip"] is not True:
                resp.failure("gzip body not decoded")

    @task(2)
    def deflate_body(self):
        with self.client.get("/deflate", catch_response=True) as resp:
            if '"deflate": true' not in resp.text:
                resp.failure("deflate body not decoded")

    @task(1)
    def checked_status(self):
        with self.client.get(
            "/status/404", name="/status/404 checked", catch_response=True
        ) as resp:
            try:
                resp.raise_for_status()
            except Exception:
                resp.failure("not found, as raised")
