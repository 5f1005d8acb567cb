"""tui_loadtest: a fast HTTP load tester with a live terminal dashboard."""

__version__ = "0.1.0"
