"""``python -m tui_loadtest``: the same as the ``tui-loadtest`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
