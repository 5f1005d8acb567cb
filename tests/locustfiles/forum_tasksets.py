"""A forum visitor whose behaviour is TaskSets inside TaskSets.

Exercises: tasks as a dict on the User (a TaskSet class and a plain function, weighted),
nested TaskSets, a TaskSet's own on_start and wait_time, self.user, self.parent and
self.client, interrupt() with reschedule=True (the default) and reschedule=False,
InterruptTaskSet raised from a task, RescheduleTask and RescheduleTaskImmediately,
wait_time as a method of the user, constant, time.sleep in a task (it sleeps only this
user) and a deterministic 403 row.

Rows: GET /api/forum, GET /api/threads/latest, GET /api/threads/1/posts?page=[n],
GET /api/inbox, GET /moderation/queue (403, always a failure).
"""

import time

from locust import HttpUser, TaskSet, constant, task
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately


class ThreadReading(TaskSet):
    wait_time = constant(0.002)

    def on_start(self):
        self.pages = 0
        self.client.get("/api/threads/latest")

    @task(4)
    def read_page(self):
        self.pages += 1
        self.client.get(
            "/api/threads/1/posts",
            params={"page": self.pages},
            name="/api/threads/1/posts?page=[n]",
        )
        time.sleep(0.001)  # reading
        if self.pages >= 3:
            self.interrupt(reschedule=False)

    @task(1)
    def skip_advert(self):
        raise RescheduleTaskImmediately()

    @task(1)
    def back_to_forum(self):
        if not isinstance(self.parent, Forum) or self.user is not self.parent.user:
            raise AssertionError("a nested TaskSet's parent is the outer TaskSet")
        self.interrupt()


class Moderation(TaskSet):
    @task
    def review_queue(self):
        resp = self.client.get("/status/403", name="/moderation/queue")
        if resp.status_code == 403:
            raise InterruptTaskSet(reschedule=False)


class Forum(TaskSet):
    tasks = {ThreadReading: 3, Moderation: 1}

    def on_start(self):
        self.client.get("/api/forum")

    @task(1)
    def leave(self):
        self.interrupt(reschedule=False)


def check_inbox(user):
    resp = user.client.get("/api/inbox")
    if not resp.json()["query"]:
        raise RescheduleTask()  # nothing new: wait before the next task


class ForumVisitor(HttpUser):
    tasks = {Forum: 3, check_inbox: 1}

    def wait_time(self):
        return 0.003
