"""The embedded demo target: a real HTTP API to load-test with no server to set up.

``DemoSettings`` says how it behaves (errors, latency, stalls, seed), ``create_app``
builds the ASGI app, ``serve_forever`` runs it in the foreground
(``tui-loadtest demo-server``) and ``DemoServer`` runs it silently in a background
process while the dashboard owns the terminal.
"""

from tui_loadtest.demo.app import DemoApp, DemoSettings, create_app
from tui_loadtest.demo.process import DemoServer, serve_forever

__all__ = ["DemoApp", "DemoServer", "DemoSettings", "create_app", "serve_forever"]
