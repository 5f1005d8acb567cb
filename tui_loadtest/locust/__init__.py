"""For Locust users: a ``--csv`` run read back as a baseline (:mod:`.csv_import`), and a
running Locust watched on the dashboard through its web API (:mod:`.watch`).

Its command (``tui-loadtest locust ...``) is :mod:`tui_loadtest.cli.locust`.
"""
