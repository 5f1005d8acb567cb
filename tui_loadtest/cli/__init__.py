# PYTHON_ARGCOMPLETE_OK  (shell completion: see tui_loadtest.cli.completion)
"""The ``tui-loadtest`` command line: one module per command, the argument types they
share (``args``), and the run/bench execution apart from the parsing (``execute``).

The argparse Namespace stops at each command's module: below it, functions take
plain values.
"""

from .main import entry, main
from .parser import build_parser

__all__ = ["build_parser", "entry", "main"]
