"""Running the app under uvicorn: in the foreground (the command), or in a thread on a
free port (tests, and Python callers that want the API beside other work)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn

from .app import create_app
from .config import ServeConfig


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so the real port is known before uvicorn starts (``--port 0``)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(config: ServeConfig, *, access_log: bool, log_level: str) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            lifespan="off",
            access_log=access_log,
            log_level=log_level,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
    )


def serve_forever(config: ServeConfig, sock: socket.socket) -> None:
    """Serve on ``sock`` until Ctrl+C or SIGTERM (uvicorn handles both gracefully)."""
    _server(config, access_log=True, log_level="info").run(sockets=[sock])


class BackgroundServer:
    """The API in a thread on loopback: ``with BackgroundServer(config) as url: ...``."""

    def __init__(self, config: ServeConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self._sock = bind(host, port)
        self.url = url_of(self._sock)
        self._server = _server(config, access_log=False, log_level="warning")
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the API server stopped during startup")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start within {timeout:g} s")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
