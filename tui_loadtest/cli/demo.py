"""``tui-loadtest demo-server``: the built-in demo API in the foreground."""

from __future__ import annotations

import argparse

from ..errors import EXIT_OK, UserError
from .args import Formatter, port, seconds, seconds_or_zero


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo-server",
        help="serve the demo API in the foreground",
        description="Serve the built-in demo API (an imitation AI-agent service) until Ctrl+C.",
        formatter_class=Formatter,
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument(
        "--port", type=port, default=5000, help="port (default 5000; 0 picks a free one)"
    )
    demo.add_argument(
        "--error-rate",
        type=float,
        default=0.01,
        metavar="F",
        help="fraction of queries that fail (default 0.01)",
    )
    demo.add_argument(
        "--stall",
        type=seconds_or_zero,
        default=0.0,
        metavar="S",
        help="freeze every endpoint for S seconds once per --stall-every (default 0: never)",
    )
    demo.add_argument(
        "--stall-every",
        type=seconds,
        default=5.0,
        metavar="S",
        help="period of the stalls in seconds (default 5)",
    )
    demo.add_argument(
        "--latency-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiplies the query latency (default 1)",
    )
    demo.set_defaults(handler=cmd_demo_server)


def cmd_demo_server(args: argparse.Namespace) -> int:
    from ..demo import serve_forever

    if args.stall and args.stall >= args.stall_every:
        raise UserError("--stall: expected fewer seconds than --stall-every")
    serve_forever(
        host=args.host,
        port=args.port,
        error_rate=args.error_rate,
        latency_scale=args.latency_scale,
        stall_s=args.stall,
        stall_every_s=args.stall_every,
    )
    return EXIT_OK
