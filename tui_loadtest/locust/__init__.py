"""For Locust users: a ``--csv`` run read back as a baseline (:mod:`.csv_import`), and a
running Locust watched on the dashboard through its web API (:mod:`.watch`).

Only :mod:`.command` (argparse) is imported when the CLI starts.
"""
