"""bench/journeys.py: the 4-step flow as a tui-loadtest Python script (one task)."""

from tui_loadtest.script import constant, task

wait_time = constant(0)


@task
async def journey(user):
    token = (
        await user.post(
            "/api/auth/login", json={"username": "user1", "password": "pass1"}, name="login"
        )
    ).json()["access_token"]
    auth = {"Authorization": "Bearer " + token}
    agent = (await user.get("/api/agents", headers=auth, name="agents")).json()["agents"][0]["id"]
    qid = (
        await user.post(
            f"/api/agents/{agent}/query", headers=auth, json={"query": "status?"}, name="query"
        )
    ).json()["query_id"]
    await user.get(f"/api/queries/{qid}", headers=auth, name="result")
