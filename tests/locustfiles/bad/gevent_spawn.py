"""Bad on purpose: it starts a background greenlet with gevent.spawn (line 13), which
cannot work on an asyncio loop."""

import gevent
from locust import HttpUser, constant, task


class Heartbeat(HttpUser):
    wait_time = constant(1)

    def on_start(self):
        self.beats = 0
        self.heart = gevent.spawn(self.beat)

    def beat(self):
        while True:
            self.client.get("/api/heartbeat")
            gevent.sleep(0.5)

    @task
    def home(self):
        self.client.get("/")
