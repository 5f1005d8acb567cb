"""``tui-loadtest serve``: the guide's baseline API over HTTP, on the same store as the CLI.

Starlette under uvicorn (the ``serve`` extra). The command
(:mod:`tui_loadtest.cli.serve`) imports this package's Starlette parts only in its
handler, so ``tui-loadtest --help`` stays fast and works without the extra.

- :mod:`.config`: what a server serves (store, results folder, token, the Host
  names it answers to) and the bind rule (loopback, or a token).
- :mod:`.guard`: no answer to a foreign ``Host`` (DNS rebinding) or another
  site's ``Origin``.
- :mod:`.paths`: results files confined to the results folder.
- :mod:`.limits`: the request body cap, enforced while the body is read.
- :mod:`.app`: the endpoints; :mod:`.openapi`: their description.
- :mod:`.server`: uvicorn in the foreground, or in a thread (tests, Python API).
"""

from .config import MAX_BODY_BYTES, ServeConfig, check_bind, is_loopback

__all__ = ["MAX_BODY_BYTES", "ServeConfig", "check_bind", "is_loopback"]
