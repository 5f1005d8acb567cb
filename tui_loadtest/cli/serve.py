"""``tui-loadtest serve``: the baseline API over HTTP. The parser and the checks before
listening; the server itself (Starlette, the serve extra) is imported only when it starts."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import EXIT_OK, UsageError, UserError
from .args import port, store_option

TOKEN_ENV = "TUI_LOADTEST_SERVE_TOKEN"
# Not 5000: that is the target's port in the guide and the demo server's default.
DEFAULT_PORT = 5001
EXTRA_HINT = "tui-loadtest serve needs the serve extra: pip install 'tui-loadtest[serve]'"

HELP = """\
Serve the baseline API of the load-testing guide over HTTP, on the same store as
the CLI and the app:

  POST   /api/load-test/baseline        {"test_results_file": "...", "baseline_name": "..."}
                                         or {"test_results": {...}, "baseline_name": "..."}
  GET    /api/load-test/baselines       the list
  GET    /api/load-test/baselines/ID    JSON; ?format=text (the Performance Baseline
                                         Report) or ?format=html
  DELETE /api/load-test/baselines/ID    needs the token
  GET    /api/load-test/info            version, store, counts, endpoints, rating bands
  GET    /api/load-test/compare?baseline=A&run=B   the verdict table
  GET    /openapi.json                  all of the above, described

It listens on loopback unless given --host; any other address needs --token
(clients send "Authorization: Bearer TOKEN"). test_results_file names a file
inside --results-dir and nowhere else. Bodies are limited to 10 MB.

It answers clients, not web pages: a POST body must be sent as
Content-Type: application/json, a request carrying another site's Origin is
refused, and only requests whose Host names this server are answered (loopback
names, the --host address, and each --allowed-host name).
"""

EPILOG = """\
exit codes (requests in flight finish first):
  130  stopped with Ctrl+C
  143  stopped with SIGTERM (129: SIGHUP)
  2    usage error: a non-loopback --host without --token, a short or blank
       token, a bad --allowed-host, a missing results folder, an unusable
       store, or the port is taken
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the baseline API (the guide's /api/load-test/...) over HTTP",
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    store_option(p, suppress=False)
    p.add_argument(
        "--results-dir",
        metavar="DIR",
        default=".",
        help="folder test_results_file is read from (default: the current folder)",
    )
    p.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"Bearer token every API call must carry (default: ${TOKEN_ENV});"
        " required beyond loopback",
    )
    p.add_argument(
        "--allowed-host",
        metavar="NAME",
        action="append",
        default=[],
        help="also answer requests whose Host is NAME (repeatable), e.g. the name a"
        " reverse proxy or the network gives this machine; loopback names and the --host"
        " address are always answered",
    )
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..baselines import open_store
    from ..serve.config import ServeConfig, check_allowed_host, check_bind

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)
    allowed = frozenset(check_allowed_host(name) for name in args.allowed_host)
    results = Path(args.results_dir).expanduser()
    if not results.is_dir():
        raise UsageError(f"--results-dir {results}: no such folder")
    store = open_store(args.store)
    store.list()  # a damaged or newer store fails here, as one line, before listening
    try:
        from ..serve.server import bind, serve_forever, url_of
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("starlette", "uvicorn"):
            raise UserError(EXTRA_HINT) from None
        raise
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        reason = exc.strerror or exc
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {reason}") from None
    config = ServeConfig(
        store_path=store.path.resolve(),
        results_dir=results.resolve(),
        token=token.strip() if token else None,
        store_creates_folder=store.create_folder,
        bind_host=args.host,
        allowed_hosts=allowed,
    )
    print(
        f"tui-loadtest serve: {url_of(sock)} (store {store.path}, results {config.results_dir},"
        f" {'token required' if token else 'no token: loopback only'}"
        f"{'; also answers ' + ', '.join(sorted(allowed)) if allowed else ''}); Ctrl+C stops",
        file=sys.stderr,
        flush=True,
    )
    serve_forever(config, sock)
    return EXIT_OK
