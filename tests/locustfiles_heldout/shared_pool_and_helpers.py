"""Held-out: a FastHttpUser sharing a geventhttpclient HTTPClientPool (as Locust's
FastHttpUser docs show) with concurrency set, Locust's own helpers imported from where
Locust keeps them (locust.util.timespan.parse_timespan for an option of the file's own,
the runner states of locust.runners)."""

from geventhttpclient.client import HTTPClientPool
from locust import FastHttpUser, events, task
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING
from locust.util.timespan import parse_timespan


@events.init_command_line_parser.add_listener
def options(parser):
    parser.add_argument("--think", type=str, default="0s", help="pause between pages")


class Pooled(FastHttpUser):
    client_pool = HTTPClientPool(concurrency=5)
    concurrency = 3

    def wait_time(self):
        return parse_timespan(self.environment.parsed_options.think) + 0.02

    @task
    def page(self):
        if self.environment.runner.state in (STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP):
            return
        self.client.get("/api/pooled")
