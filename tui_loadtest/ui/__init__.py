"""The live Textual dashboard. Imported only when a run is shown on screen:
the core (scenario, engine, stats, report) never imports Textual.
"""

from .app import LoadTestApp, create_app, run_dashboard
from .source import RunSource

__all__ = ["LoadTestApp", "RunSource", "create_app", "run_dashboard"]
