"""bench/journeys.py: the 4-step flow as Locust runs it (FastHttpUser, no wait)."""

from locust import FastHttpUser, constant, task


class JourneyUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def journey(self) -> None:
        c = self.client
        token = c.post(
            "/api/auth/login", json={"username": "user1", "password": "pass1"}, name="login"
        ).json()["access_token"]
        auth = {"Authorization": "Bearer " + token}
        agent = c.get("/api/agents", headers=auth, name="agents").json()["agents"][0]["id"]
        qid = c.post(
            f"/api/agents/{agent}/query", headers=auth, json={"query": "status?"}, name="query"
        ).json()["query_id"]
        c.get(f"/api/queries/{qid}", headers=auth, name="result")
