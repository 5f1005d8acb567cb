"""A user journey as a Python script: log in once, then list agents, query one, read the
answer back. The same journey as configs/journey.toml, written as code.

    tui-loadtest run configs/journey_users.py --no-ui -u 20 -t 30s

Without a [[data]] file (run directly, as above) each user logs in as one of the demo
API's built-in accounts; with `script = "journey_users.py"` and a [[data]] table in a
scenario, `user.data` holds the user's row instead.
"""

from tui_loadtest.script import User, between, on_start, task

wait_time = between(0.5, 1.0)


@on_start
async def login(user: User) -> None:
    n = user.id % 50 + 1
    creds = user.data or {"username": f"user{n}", "password": f"pass{n}"}
    r = await user.post("/api/auth/login", json=creds, name="login")
    user.headers["Authorization"] = "Bearer " + r.json()["access_token"]


@task(3)
async def query_an_agent(user: User) -> None:
    agents = (await user.get("/api/agents")).json()["agents"]
    agent = agents[user.id % len(agents)]["id"]
    r = await user.post(
        f"/api/agents/{agent}/query",
        json={"query": "status?"},
        name="POST /api/agents/{id}/query",
    )
    qid = r.json()["query_id"]
    answer = await user.get(f"/api/queries/{qid}", name="GET /api/queries/{qid}")
    if answer.json().get("status") != "done":
        user.fail("the query was not done")


@task(1)
async def health(user: User) -> None:
    await user.get("/api/health")
