"""The journeys benchmark (issue 12): flows and scripts against the plain mix and Locust.

One command, ``python bench/journeys.py``, measures side by side in one run, on a
private nginx pinned to one CPU and every generator pinned to the other (64 users,
one worker, alternating order, several rounds):

- ``tui-flow``: a 4-step flow with three JSON captures on bodies of about 1 KB,
  against ``tui-plain``, the same four requests as a plain weighted mix
  (target: at least 0.8x its req/s);
- ``tui-checks``: the same flow with two checks on every step (the status and a
  JSON value of the body), against ``tui-flow`` (target: at most 1.3x its CPU per
  request: at least 1/1.3 of its req/s, the generator being on one core);
- ``tui-scenarios``: the plain mix's four requests in two ``[[scenarios]]`` of 32
  users each, against ``tui-plain`` (target: no lower req/s, within noise);
- ``tui-script``: the same flow as a Python user script, against ``locust``,
  Locust's FastHttpUser running the equivalent locustfile (target: at least 8x);
- the cost of one capture per response, in µs of CPU, for json, header and regex.

It prints medians, best rounds and the ratios, and writes bench/results/journeys.json.
Every generator's own request count is checked against nginx's counter. Like
bench/run.py it needs a quiet machine: the lead runs the final figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    BENCH_DIR,
    NGINX_CONF,
    Nginx,
    ensure_debian,
    ensure_locust,
    ensure_tui_loadtest,
    finish,
    log,
    pick_cores,
    raise_nofile,
    spawn,
    stop_all,
)

HERE = BENCH_DIR / "journeys"
RESULTS = BENCH_DIR / "results"
USERS = 64
TOKEN = "tok_0123456789abcdef0123"


def _bodies() -> dict[str, str]:
    """The responses, about 1 KB each for the three captured ones (like a real API's)."""
    login = {
        "access_token": TOKEN,
        "token_type": "bearer",
        "expires_in": 3600,
        "user": {"name": "user1", "roles": ["reader"] * 4, "bio": "x" * 800},
    }
    agents = {
        "agents": [
            {"id": f"a{i}", "name": f"Research Assistant {i}", "status": "online"}
            for i in range(1, 21)
        ]
    }
    query = {
        "query_id": "q12345",
        "agent": "a1",
        "status": "queued",
        "notes": [{"n": i, "text": "queued for the next model call"} for i in range(22)],
    }
    result = {"query_id": "q12345", "status": "done", "answer": "ok"}
    return {
        k: json.dumps(v, separators=(",", ":"))
        for k, v in (("login", login), ("agents", agents), ("query", query), ("result", result))
    }


def nginx_conf() -> str:
    """common.NGINX_CONF (a str.format template) with the four routes of the journey."""
    b = {k: v.replace("{", "{{").replace("}", "}}") for k, v in _bodies().items()}
    routes = (
        f"        location = /api/auth/login {{{{ return 200 '{b['login']}'; }}}}\n"
        f"        location = /api/agents {{{{ return 200 '{b['agents']}'; }}}}\n"
        f"        location ~ ^/api/agents/[^/]+/query$ {{{{ return 200 '{b['query']}'; }}}}\n"
        f"        location ~ ^/api/queries/ {{{{ return 200 '{b['result']}'; }}}}\n"
    )
    marker = "        location / {{"
    base = "\n".join(
        line for line in NGINX_CONF.splitlines() if "location = /api/agents " not in line
    )
    assert marker in base
    return base.replace(marker, routes + marker)


def run_tui(tool: list[str], target: str, url: str, secs: int, cpu: set[int] | None,
            logs: Path, tag: str) -> dict:  # fmt: skip
    out = logs / f"{tag}.json"
    cmd = [*tool, "run", target, "--host", url]
    if "scenarios" not in target:  # [[scenarios]] give their own users
        cmd += ["-u", str(USERS), "-r", str(USERS)]
    cmd += ["-t", f"{secs}s", "--workers", "1", "--no-ui", "--interval", "3600", "--out", str(out)]
    with open(logs / f"{tag}.txt", "wb") as fh:
        proc = spawn(cmd, cores=cpu, stdout=fh, stderr=subprocess.STDOUT)
        rc = finish(proc, secs + 60)
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        return {"ok": False, "note": f"exit {rc}, see {logs / tag}.txt"}
    s = data["summary"]
    ok = rc == 0 and s["failures"] == 0  # a journey that fails is not the same work
    return {"ok": ok, "rps": s["rps"], "requests": s["requests"], "failures": s["failures"]}


def run_locust(locust: Path, url: str, secs: int, cpu: set[int] | None, logs: Path,
               tag: str) -> dict:  # fmt: skip
    prefix = logs / tag
    cmd = [str(locust), "-f", str(HERE / "journey_locustfile.py"), "--headless", "-u", str(USERS)]
    cmd += ["-r", str(USERS), "-t", f"{secs}s", "-H", url, "--json-file", str(prefix)]
    cmd += ["--only-summary", "--loglevel", "WARNING"]
    with open(f"{prefix}.txt", "wb") as fh:
        proc = spawn(cmd, cores=cpu, stdout=fh, stderr=subprocess.STDOUT, cwd=HERE)
        finish(proc, secs + 60)
    try:
        entries = json.loads(Path(f"{prefix}.json").read_text())
        n = sum(e["num_requests"] for e in entries)
        failures = sum(e["num_failures"] for e in entries)
        span = max(e["last_request_timestamp"] for e in entries) - min(
            e["start_time"] for e in entries
        )
    except (OSError, KeyError, ValueError) as exc:
        return {"ok": False, "note": f"no Locust stats ({exc})"}
    return {"ok": failures == 0, "rps": n / span, "requests": n, "failures": failures}


def capture_costs(repeat: int = 9, number: int = 20000) -> dict[str, float]:
    """µs of CPU for one capture on a kept response, as the engine runs it (a step's
    ``apply``, storing the value as a header would; best of ``repeat``). The value is
    the same at each call, as in the bench's flow (found, compared, not stored again),
    but for ``[*]`` (a random element) and "a new value" (as an id that changes every
    iteration): encoded, stored, and the cached request that uses it cleared."""
    from tui_loadtest.engine.captures import StepCaptures
    from tui_loadtest.engine.journeys import encode_header
    from tui_loadtest.scenario.captures import parse_json_path
    from tui_loadtest.scenario.model import CaptureSpec

    body = _bodies()["agents"].encode()
    raw = (
        b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 30 Nov 2026 10:00:00 GMT\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
        b'ETag: "agents-v1"\r\n\r\n' % len(body)
    ) + body

    def json_spec(path: str) -> CaptureSpec:
        return CaptureSpec("a", "json", f"json:{path}", path=parse_json_path(path))

    cases = {
        "json $.agents[0].id": json_spec("$.agents[0].id"),
        "json $.agents[19].id (decoded)": json_spec("$.agents[19].id"),
        "json $.agents[*].id": json_spec("$.agents[*].id"),
        "header ETag": CaptureSpec("a", "header", "header:ETag", header="ETag"),
        "regex": CaptureSpec("a", "regex", 'regex:"id":"(a\\d+)"', pattern='"id":"(a\\d+)"'),
    }
    out: dict[str, float] = {}
    for label, spec in [*cases.items(), ("json $.agents[0].id, a new value", None)]:
        new_each_time = spec is None  # as an id that changes every iteration: stored
        caps = StepCaptures((spec or cases["json $.agents[0].id"],))
        caps.bind(((((0, encode_header),), 0, (0,)),))  # its value makes request 0 stale
        values: list[bytes] = [b""]
        last: list[str | None] = [None]
        cache: list[bytes | None] = [None]
        assert caps.apply(raw, 200, values, last, cache) < 0, label

        def one(
            caps: StepCaptures = caps,
            values: list[bytes] = values,
            last: list[str | None] = last,
            cache: list[bytes | None] = cache,
            new: bool = new_each_time,
        ) -> None:
            if new:
                last[0] = None
            caps.apply(raw, 200, values, last, cache)

        times = timeit.repeat(one, repeat=repeat, number=number, timer=time.process_time)
        out[label] = round(min(times) / number * 1e6, 3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--skip-locust", action="store_true", help="leave Locust out")
    args = ap.parse_args()
    raise_nofile()
    nginx_bin = ensure_debian({"nginx": "nginx-light"})["nginx"]
    tool = ensure_tui_loadtest()
    locust = None if args.skip_locust else ensure_locust()
    server_cpu, gen_cpu, pin_note = pick_cores()
    log(pin_note)
    logs = Path(tempfile.mkdtemp(prefix="tui-bench-journeys-"))
    nginx = Nginx(nginx_bin, server_cpu, conf=nginx_conf())
    nginx.start()
    runs = {
        "tui-plain": lambda tag: run_tui(tool, str(HERE / "plain_nginx.toml"), nginx.url,
                                         args.duration, gen_cpu, logs, tag),
        "tui-flow": lambda tag: run_tui(tool, str(HERE / "flow_nginx.toml"), nginx.url,
                                        args.duration, gen_cpu, logs, tag),
        "tui-checks": lambda tag: run_tui(tool, str(HERE / "flow_checks_nginx.toml"),
                                          nginx.url, args.duration, gen_cpu, logs, tag),
        "tui-scenarios": lambda tag: run_tui(tool, str(HERE / "two_scenarios_nginx.toml"),
                                             nginx.url, args.duration, gen_cpu, logs, tag),
        "tui-script": lambda tag: run_tui(tool, str(HERE / "journey_script.py"), nginx.url,
                                          args.duration, gen_cpu, logs, tag),
    }  # fmt: skip
    if locust is not None:
        runs["locust"] = lambda tag: run_locust(
            locust, nginx.url, args.duration, gen_cpu, logs, tag
        )
    samples: dict[str, list[dict]] = {name: [] for name in runs}
    try:
        for r in range(args.rounds):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for name in order:
                before = nginx.served()
                sample = runs[name](f"{name}-{r}")
                sample["nginx_requests"] = nginx.served() - before
                samples[name].append(sample)
                log(f"round {r + 1} {name}: {sample.get('rps', 0):,.0f} req/s "
                    f"(nginx counted {sample['nginx_requests']:,})")  # fmt: skip
    finally:
        nginx.stop()
        stop_all()
    costs = capture_costs()
    med = {
        n: statistics.median([s["rps"] for s in v if s.get("ok")] or [0.0])
        for n, v in samples.items()
    }
    best = {n: max([s["rps"] for s in v if s.get("ok")] or [0.0]) for n, v in samples.items()}
    ratios = {
        "flow / plain (target >= 0.8)": med["tui-flow"] / med["tui-plain"]
        if med["tui-plain"]
        else 0,
    }
    if med["tui-plain"]:
        ratios["two scenarios / plain (target >= 1, noise)"] = (
            med["tui-scenarios"] / med["tui-plain"]
        )
    if med["tui-checks"]:
        ratios["checks CPU/request vs flow (target <= 1.3)"] = med["tui-flow"] / med["tui-checks"]
    if "locust" in med and med["locust"]:
        ratios["script / locust (target >= 8)"] = med["tui-script"] / med["locust"]
    print(f"\nJourneys benchmark: {args.rounds} rounds of {args.duration}s, {USERS} users, "
          f"one worker; {pin_note}")  # fmt: skip
    for name in runs:
        print(f"  {name:<11} median {med[name]:>9,.0f} req/s   best {best[name]:>9,.0f}")
    for label, value in ratios.items():
        print(f"  {label:<30} {value:5.2f}x")
    print("  one capture per response, µs of CPU: "
          + ", ".join(f"{k} {v}" for k, v in costs.items()))  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "journeys.json"
    out.write_text(json.dumps(
        {"samples": samples, "median_rps": med, "best_rps": best, "ratios": ratios,
         "capture_us": costs, "duration_s": args.duration, "rounds": args.rounds,
         "pinning": pin_note, "logs": str(logs)}, indent=2))  # fmt: skip
    print(f"  written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
