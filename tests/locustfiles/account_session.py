"""A signed-in customer: the client keeps a session the way requests.Session does.

Exercises: a cookie login (POST /login sets two cookies; /account answers 200 only with
both, 401 otherwise), response.cookies, self.client.headers changed in on_start (kept
for every later request), headers= on one request, auth=(user, password) right and
wrong, data= as a form dict, a str, bytes and an open file, json=, response.json()/text/content/
headers, and a logout followed by a call that must now fail (401), marked success by
catch_response, then a fresh login.

Rows: POST /login, GET /account, GET /tenant, GET /basic-auth (200),
GET "/basic-auth wrong password" (401, always a failure), POST /form, POST "/echo text",
POST "/echo bytes", POST "/echo file", POST /json, POST /logout, GET "/account after logout".
"""

from locust import HttpUser, constant, task
from locust.exception import StopUser

CREDENTIALS = {"username": "carol", "password": "secret"}


class Customer(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.log_in()
        self.client.headers.update({"X-Tenant": "acme"})
        self.client.headers["X-Client"] = "corpus"

    def log_in(self):
        resp = self.client.post("/login", data=CREDENTIALS)
        if set(resp.cookies.keys()) != {"session", "csrftoken"}:
            raise StopUser()

    @task(4)
    def account(self):
        with self.client.get("/account", catch_response=True) as resp:
            if resp.json().get("user") != "carol":
                resp.failure(f"not signed in: {resp.status_code}")

    @task(2)
    def tenant(self):
        with self.client.get("/tenant", catch_response=True) as resp:
            if resp.json() != {"tenant": "acme"}:
                resp.failure("the session's X-Tenant header was not sent")

    @task(2)
    def basic_auth(self):
        self.client.get("/basic-auth/carol/pw", auth=("carol", "pw"), name="/basic-auth")

    @task(1)
    def basic_auth_wrong(self):
        self.client.get(
            "/basic-auth/carol/pw", auth=("carol", "nope"), name="/basic-auth wrong password"
        )

    @task(1)
    def form(self):
        with self.client.post(
            "/form", data={"size": "L", "colour": "blue"}, catch_response=True
        ) as resp:
            if resp.json() != {"size": ["L"], "colour": ["blue"]}:
                resp.failure("form not echoed")

    @task(1)
    def text_body(self):
        with self.client.post(
            "/echo",
            data="a note, plain",
            headers={"Content-Type": "text/plain"},
            name="/echo text",
            catch_response=True,
        ) as resp:
            echo = resp.json()
            if echo["body"] != "a note, plain" or echo["headers"].get("x-client") != "corpus":
                resp.failure("text body or session header lost")

    @task(1)
    def bytes_body(self):
        with self.client.post(
            "/echo",
            data=b"\x00\x01binary",
            headers={"Content-Type": "application/octet-stream"},
            name="/echo bytes",
            catch_response=True,
        ) as resp:
            if not resp.json()["body"].endswith("binary") or b'"body"' not in resp.content:
                resp.failure("bytes body lost")

    @task(1)
    def file_body(self):
        with (
            open(__file__, "rb") as f,
            self.client.post("/echo", data=f, name="/echo file", catch_response=True) as resp,
        ):
            if "A signed-in customer" not in resp.json()["body"]:
                resp.failure("file body lost")

    @task(1)
    def json_body(self):
        with self.client.post("/json", json={"order": [1, 2]}, catch_response=True) as resp:
            if resp.json() != {"order": [1, 2]} or "json" not in resp.headers["Content-Type"]:
                resp.failure(f"JSON not echoed: {resp.text[:40]}")

    @task(1)
    def sign_out_and_in(self):
        self.client.post("/logout")
        with self.client.get("/account", name="/account after logout", catch_response=True) as resp:
            if resp.status_code == 401:
                resp.success()
            else:
                resp.failure("still signed in after logout")
        self.log_in()
