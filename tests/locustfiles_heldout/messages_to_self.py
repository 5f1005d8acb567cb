"""Held-out: test data handed out with runner messages, as Locust's docs on communicating
across nodes do it. Run in one process, Locust's LocalRunner delivers each message to the
listener registered for it, and the reply back."""

import random

from locust import HttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

ITEM_IDS: list[int] = []
THANKS: list[str] = []


def receive_items(environment, msg, **kwargs):
    ITEM_IDS.extend(msg.data)
    environment.runner.send_message("items_received", len(msg.data))


def receive_thanks(msg, **kwargs):
    THANKS.append(f"{msg.node_id}: {msg.data}")


@events.init.add_listener
def register(environment, **kwargs):
    if not isinstance(environment.runner, MasterRunner):
        environment.runner.register_message("items", receive_items)
    if not isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message("items_received", receive_thanks)


@events.test_start.add_listener
def hand_out(environment, **kwargs):
    if not isinstance(environment.runner, WorkerRunner):
        environment.runner.send_message("items", [3, 5, 8])


@events.test_stop.add_listener
def report(environment, **kwargs):
    print("THANKS", THANKS)


class Picker(HttpUser):
    wait_time = constant(0.02)

    @task
    def item(self):
        self.client.get(f"/api/items/{random.choice(ITEM_IDS)}", name="/api/items/[id]")
