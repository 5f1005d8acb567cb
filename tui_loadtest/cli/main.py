"""The ``tui-loadtest`` entry point: parse, run the command's handler, and turn every
error a user can cause into one line on stderr and a documented exit code (see
:mod:`tui_loadtest.errors`), never a traceback."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence

from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError
from .completion import asked as completion_asked
from .completion import complete
from .parser import build_parser

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in tui-loadtest itself


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if argv is None and completion_asked():  # a shell's Tab, not a run
        complete(parser)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_OK
    from ..pipeline.headless import Signals

    try:
        with Signals():  # SIGTERM and SIGHUP end any command as Ctrl+C does
            return int(args.handler(args) or 0)
    except UserError as exc:
        one_line = " ".join(str(exc).split())  # whatever a library put in the message
        print(f"tui-loadtest: error: {one_line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM / SIGHUP (headless.Interrupted)
        signum = getattr(exc, "signum", None)
        with contextlib.suppress(OSError):
            print(f"tui-loadtest: interrupted{f' ({exc})' if signum else ''}", file=sys.stderr)
        return 128 + signum if signum else EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_USAGE
    except Exception as exc:  # a bug of ours: one line for the user, the traceback in a file
        log = _save_traceback()
        print(
            f"tui-loadtest: internal error: {type(exc).__name__}: {exc} (details in {log})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _save_traceback() -> str:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="tui-loadtest-crash-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as fh:
        traceback.print_exc(file=fh)
    return path


def entry() -> None:
    sys.exit(main())
