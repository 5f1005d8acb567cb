"""Run the demo API with uvicorn: in the foreground, or in a silent background process.

The background process exists so ``tui-loadtest`` can load-test a real server while its
live dashboard owns the terminal: the child never writes to the terminal, ignores Ctrl+C
(the parent stops it) and exits by itself when the parent dies.
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Generator
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import uvicorn

from tui_loadtest.demo.app import DemoApp, DemoSettings, create_app
from tui_loadtest.errors import UsageError

START_TIMEOUT_S = 10.0
STOP_GRACE_S = 3.0  # > uvicorn's graceful-shutdown timeout below
_GRACEFUL_SHUTDOWN_S = 1
_STOP = "stop"


def _config(app: DemoApp) -> uvicorn.Config:
    """A uvicorn config that is fast and prints nothing, even on errors."""
    have = importlib.util.find_spec
    return uvicorn.Config(
        app,
        http="httptools" if have("httptools") else "h11",
        loop="uvloop" if have("uvloop") else "asyncio",
        interface="asgi3",
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="critical",
        proxy_headers=False,  # skips a middleware hop per request
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
    )


def _bind(host: str, port: int) -> socket.socket:
    """Bind and listen ourselves, so the real port is known (port 0) before uvicorn runs."""
    family, kind, proto, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR allows stealing a busy port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server with a hook once it serves, and signal handling we control."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None], handle_signals: bool
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._handle_signals = handle_signals

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Like uvicorn's, but never re-raise the signal afterwards (no KeyboardInterrupt
        traceback after a clean shutdown), and do nothing in the background child."""
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = [signal.SIGINT, signal.SIGTERM]
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# -- foreground ---------------------------------------------------------------------


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 5000,
    *,
    settings: DemoSettings | None = None,
    **changes: Any,
) -> None:
    """Serve the demo API until Ctrl+C, printing one line once it accepts connections.
    ``settings``, or the defaults with ``changes`` (``error_rate=0.1``): :class:`DemoSettings`.

    Raises UsageError (one clear line, no traceback) if the address cannot be bound.
    """
    try:
        try:
            app = create_app(DemoSettings.of(settings, changes))
        except ValueError as exc:
            raise UsageError(f"demo server: {exc}") from None
        try:
            sock = _bind(host, port)
        except OSError as exc:
            reason = exc.strerror or exc
            raise UsageError(f"demo server: cannot listen on {host}:{port}: {reason}") from exc
        banner = f"demo API listening on {_url(host, sock.getsockname()[1])} (Ctrl+C to stop)"
        with sock:
            server = _Server(
                _config(app), on_started=lambda: print(banner, flush=True), handle_signals=True
            )
            server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl+C before uvicorn's handlers were installed
        pass


# -- background child ---------------------------------------------------------------


def _silence_std_fds() -> None:
    """Point fds 0-2 at devnull: the parent's terminal belongs to its dashboard."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)


def _watch_parent(conn: Connection, server: uvicorn.Server) -> None:
    """Stop gracefully when asked; exit at once when the parent is gone (pipe EOF)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if message == _STOP:
            server.should_exit = True


def _child_main(conn: Connection, host: str, port: int, settings: DemoSettings) -> None:
    """Entry point of the spawned process; reports ("ready", port) or ("error", text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C hits the whole process group
    with contextlib.suppress(OSError):  # and so do SIGHUP and a CI's SIGTERM: leave it;
        os.setpgid(0, 0)  # the parent stops us over the pipe, or its EOF does
    _silence_std_fds()
    try:
        sock = _bind(host, port)
        bound_port = sock.getsockname()[1]
        server: _Server

        def started() -> None:
            conn.send(("ready", bound_port))
            threading.Thread(target=_watch_parent, args=(conn, server), daemon=True).start()

        server = _Server(_config(create_app(settings)), on_started=started, handle_signals=False)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    with sock:
        server.run(sockets=[sock])


class DemoServer:
    """The demo API in a background process on a free loopback port.

    Use as ``with DemoServer() as srv: run_load(srv.url)``; ``stop()`` is idempotent.
    Keep a reference while it serves: once this object is garbage collected its pipe
    closes, and the child takes that as "the parent is gone" and exits.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: DemoSettings | None = None,
        **changes: Any,
    ) -> None:
        """``settings``, or the defaults with ``changes`` (``DemoServer(seed=1)``); a bad
        value is a ValueError here, before any process is spawned."""
        self.settings = DemoSettings.of(settings, changes)
        self._host = host
        self._port = port
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``; RuntimeError if not started."""
        if self._url is None:
            raise RuntimeError("DemoServer is not running; call start() first")
        return self._url

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs, else None."""
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Spawn the server and return its base URL once it accepts connections."""
        if self._url is not None:
            return self._url
        # "spawn": forking a process that runs threads or an event loop is unsafe.
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe()
        proc = ctx.Process(
            target=_child_main,
            args=(child_conn, self._host, self._port, self.settings),
            name="tui-loadtest-demo-server",
            daemon=True,
        )
        proc.start()
        child_conn.close()  # so a dead child shows up as EOF on our end
        self._proc, self._conn = proc, parent_conn
        try:
            port = self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self._url = _url(self._host, port)
        return self._url

    def _wait_ready(self, timeout: float) -> int:
        assert self._conn is not None and self._proc is not None
        if not self._conn.poll(timeout):
            raise RuntimeError(f"demo server did not start within {timeout:g} s")
        try:
            kind, value = self._conn.recv()
        except EOFError:
            self._proc.join(1)
            raise RuntimeError(
                f"demo server process exited during startup (exit code {self._proc.exitcode})"
            ) from None
        if kind != "ready":
            raise RuntimeError(f"demo server failed to start on {self._host}:{self._port}: {value}")
        return int(value)

    def stop(self) -> None:
        """Stop the server: graceful first, then terminate, then kill. Safe to repeat."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = self._url = None
        if proc is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send(_STOP)
        proc.join(STOP_GRACE_S)
        if proc.is_alive():
            proc.terminate()
            proc.join(1.0)
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
        conn.close()

    def stats(self) -> dict[str, Any]:
        """The server's own request counts (``GET /__demo/stats``)."""
        import httpx  # lazy: only callers that inspect the server pay for the import

        response = httpx.get(f"{self.url}/__demo/stats", timeout=5.0, trust_env=False)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Zero the server's counters (``POST /__demo/reset``)."""
        import httpx

        httpx.post(f"{self.url}/__demo/reset", timeout=5.0, trust_env=False).raise_for_status()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._url or "stopped"
        return f"DemoServer({state}, {self.settings})"
