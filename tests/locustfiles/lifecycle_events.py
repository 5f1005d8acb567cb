"""Run-level hooks, as plugins and CI setups use them.

Exercises: events.init (environment, runner), test_start, test_stop and quitting
listeners; an events.request listener with Locust's keyword arguments;
environment.parsed_options (host, num_users, spawn_rate, run_time) read at test start;
CatchResponseError told apart from HTTP errors in that listener; self.environment in
a user; @tag on tasks (run with --tags/--exclude-tags); StopUser
ending each user after its orders, and environment.runner.quit() from the task of the
last user to finish (the run ends itself); environment.process_exit_code set on
quitting when requests failed.

Rows: GET /api/products, POST /api/orders, GET /status/500 and GET "product check"
(both tagged "broken", always failures). Exit code 3 when a request failed, else 0.
"""

import logging

from locust import HttpUser, between, events, tag, task
from locust.exception import CatchResponseError, StopUser

ORDERS_PER_USER = 60
TOTALS = {
    "requests": 0,
    "failures": 0,
    "failed_checks": 0,
    "finished": 0,
    "inits": 0,
    "starts": 0,
    "stops": 0,
}


@events.init.add_listener
def on_init(environment, runner=None, **kwargs):
    TOTALS["inits"] += 1
    if runner is not None and environment.runner is not runner:
        raise AssertionError("init's runner is environment.runner")


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    TOTALS["starts"] += 1
    options = environment.parsed_options
    if options is not None:
        logging.info(
            "load test of %s: %s users at %s/s for %s s",
            options.host,
            options.num_users,
            options.spawn_rate,
            options.run_time,
        )


@events.request.add_listener
def on_request(request_type, name, response_time, response_length, exception, context, **kwargs):
    TOTALS["requests"] += 1
    if exception is not None:
        TOTALS["failures"] += 1
    if isinstance(exception, CatchResponseError):
        TOTALS["failed_checks"] += 1


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    TOTALS["stops"] += 1
    logging.info("requests: %(requests)s, failed checks: %(failed_checks)s", TOTALS)


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    if TOTALS["failures"]:
        environment.process_exit_code = 3


class Shopper(HttpUser):
    wait_time = between(0.001, 0.003)

    def on_start(self):
        self.orders = 0

    @tag("browse")
    @task(3)
    def products(self):
        self.client.get("/api/products")

    @tag("buy")
    @task(1)
    def order(self):
        self.client.post("/api/orders", json={"product": 1})
        self.orders += 1
        if self.orders >= ORDERS_PER_USER:
            TOTALS["finished"] += 1
            users = getattr(self.environment.parsed_options, "num_users", None) or 1
            if TOTALS["finished"] >= users:
                self.environment.runner.quit()  # the last shopper ends the run
            raise StopUser()

    @tag("broken")
    @task(1)
    def broken(self):
        self.client.get("/status/500")

    @tag("broken")
    @task(1)
    def product_check(self):
        with self.client.get("/api/products/0", name="product check", catch_response=True) as resp:
            if "price" not in resp.json():
                resp.failure("product 0 has no price")
