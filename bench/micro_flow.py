"""Micro-benchmark: client CPU per request of the journeys bench's flow and plain mix.

The real engine's users (``WorkerEngine`` with bench/journeys/*.toml), measured in
process CPU time, so a busy machine changes the figures little:

- ``--offline`` (default): the responses of bench/journeys.py's nginx are fed
  straight into each user's parser (no sockets): what our own code costs per
  request. Best of 7 runs of 20,000 requests, variants alternated.
- ``--loopback``: the engine on uvloop against that nginx on loopback (nginx on
  CPU 0 and this process on CPU 1 with ``--pin``, as the bench pins), 2 s per
  run: generator CPU per request, the kernel's share included. Needs nginx.

Variants: ``plain`` (the weighted mix), ``flow`` (the 4-step flow with three JSON
captures), ``nocap`` (the same flow with its captures removed once the values
are set: what the captures cost), ``checks`` (the flow with two checks on every
step, the status and a JSON value: what checks cost), ``statuschecks`` (two checks
that read no body: the status and the duration). Prints µs per request, flow/plain
and checks/flow.

Usage: ``python bench/micro_flow.py [--loopback [--pin]] [--rounds N]``. Take the
shared bench lock for ``--loopback`` (docs/journeys.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from journeys import HERE, _bodies, nginx_conf  # noqa: E402 - bench/ is not a package

from tui_loadtest.engine.recording import NBUCKETS  # noqa: E402
from tui_loadtest.engine.shares import make_shares  # noqa: E402
from tui_loadtest.engine.worker_engine import WorkerEngine  # noqa: E402
from tui_loadtest.scenario import load_scenario  # noqa: E402

Variant = Callable[[WorkerEngine], None] | None


def _no_captures(eng: WorkerEngine) -> None:
    assert eng.journeys is not None
    for flow in eng.journeys.flows:
        for step in flow.steps:
            step.captures = None
            step.keeps = False


VARIANTS: dict[str, tuple[str, Variant]] = {
    "plain": ("plain", None),
    "flow": ("flow", None),
    "nocap": ("flow", _no_captures),
    "checks": ("flow_checks", None),  # the flow with two checks on each step
    "statuschecks": ("flow_status_checks", None),  # two checks that read no body
}


def _response(body: str) -> bytes:
    data = body.encode()
    return (
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n"
        b"Connection: keep-alive\r\n\r\n" % len(data)
    ) + data


class _Transport:
    """Keeps the last request written (the user's next path picks the response)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = b""

    def write(self, data: bytes) -> None:
        self.last = data

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def offline(name: str, n: int, loop: asyncio.AbstractEventLoop) -> float:
    """µs of process CPU per request, responses fed straight into the parser."""
    kind, variant = VARIANTS[name]
    b = _bodies()
    answers = {
        b"/api/auth/login": _response(b["login"]),
        b"/api/agents": _response(b["agents"]),
        b"/api/agents/a1/query": _response(b["query"]),
        b"/api/queries/q12345": _response(b["result"]),
    }
    sc = load_scenario(str(HERE / f"{kind}_nginx.toml"))
    eng = WorkerEngine(sc, "http://127.0.0.1:8080", make_shares(sc, 1)[0], lambda d: None)
    eng.loop = loop
    eng.tick_ns = 1 << 62  # the second never ends
    user: Any = eng.user_class(eng)
    conn = user.conn_class(user)
    t = _Transport()
    conn.transport = t
    user.conn = conn
    user.start_request()
    feed = conn.data_received
    for _ in range(200):  # the values are captured
        feed(answers[t.last.split(b" ", 2)[1]])
    if variant is not None:
        variant(eng)
    for _ in range(200):
        feed(answers[t.last.split(b" ", 2)[1]])
    c0 = time.process_time()
    for _ in range(n):
        feed(answers[t.last.split(b" ", 2)[1]])
    spent = time.process_time() - c0
    assert not eng.buf.errors, eng.buf.errors  # the same work: nothing failed
    return spent / n * 1e6


async def _loopback_run(name: str, url: str, secs: float) -> float:
    kind, variant = VARIANTS[name]
    sc = load_scenario(str(HERE / f"{kind}_nginx.toml"))
    deltas: list[Any] = []
    eng = WorkerEngine(sc, url, make_shares(sc, 1)[0], deltas.append)
    task = asyncio.ensure_future(eng.run())
    await asyncio.sleep(0.3)  # connected, values captured
    if variant is not None:
        variant(eng)
        await asyncio.sleep(0.1)

    def done() -> int:
        sent = sum(sum(c for _, c in r.buckets) for d in deltas for r in d.endpoints)
        return sent + sum(sum(h[:NBUCKETS]) for h in eng.buf.hist)

    n0, c0 = done(), time.process_time()
    await asyncio.sleep(secs)
    n1, c1 = done(), time.process_time()
    eng.stop()
    await task
    assert not any(d.errors for d in deltas), "requests failed"
    return (c1 - c0) / (n1 - n0) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopback", action="store_true", help="on sockets, against nginx")
    ap.add_argument("--pin", action="store_true", help="nginx on CPU 0, this on CPU 1")
    ap.add_argument("--rounds", type=int, default=0, help="rounds (7 offline, 3 loopback)")
    ap.add_argument("--variants", default="plain,flow,nocap,checks", help="comma-separated")
    args = ap.parse_args()
    names = args.variants.split(",")
    results: dict[str, list[float]] = {n: [] for n in names}
    if not args.loopback:
        loop = asyncio.new_event_loop()
        for r in range(args.rounds or 7):
            for name in names if r % 2 == 0 else names[::-1]:
                results[name].append(offline(name, 20_000, loop))
        loop.close()
    else:
        import uvloop
        from common import Nginx, ensure_debian, stop_all

        nginx = Nginx(
            ensure_debian({"nginx": "nginx-light"})["nginx"],
            {0} if args.pin else None,
            conf=nginx_conf(),
        )
        nginx.start()
        try:
            if args.pin:
                os.sched_setaffinity(0, {1})
            for r in range(args.rounds or 3):
                for name in names if r % 2 == 0 else names[::-1]:
                    results[name].append(uvloop.run(_loopback_run(name, nginx.url, 2.0)))
        finally:
            nginx.stop()
            stop_all()
    where = "loopback" if args.loopback else "offline (no sockets)"
    print(f"client CPU per request, {where}, best of {len(results[names[0]])}:")
    for name, values in results.items():
        print(f"  {name:<6} {min(values):6.2f} µs   all {[round(v, 2) for v in values]}")
    if "plain" in results and "flow" in results:
        ratio = min(results["plain"]) / min(results["flow"])
        print(f"  flow/plain requests per CPU-second {ratio:.2f}x")
    if "flow" in results and "checks" in results:
        cost = min(results["checks"]) / min(results["flow"])
        print(f"  checks/flow CPU per request {cost:.2f}x (target <= 1.3)")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
