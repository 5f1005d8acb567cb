"""The palette's Screenshot, for every app of ours: an SVG of the screen saved in a
folder the command names (``$TUI_LOADTEST_SCREENSHOTS``, else the current one), never
over a file, and a notice saying where.

Textual's own command delivers to the user's Downloads folder, which a server or a
container often lacks: there it only said "Failed to save screenshot".
"""

from __future__ import annotations

import errno
import os
from datetime import datetime
from pathlib import Path

from textual.app import App, SystemCommand

SCREENSHOTS_ENV = "TUI_LOADTEST_SCREENSHOTS"  # the folder the palette's Screenshot saves in


def save_svg(svg: str, folder: Path, filename: str | None = None) -> Path:
    """Write ``svg`` as a new file in ``folder``: a name with the time, ``-2``… if taken.

    The folder must exist: like every output, a screenshot never creates folders."""
    stem = Path(filename).stem if filename else f"tui-loadtest-{datetime.now():%Y%m%d-%H%M%S}"
    for n in range(1, 1000):
        path = folder / (f"{stem}.svg" if n == 1 else f"{stem}-{n}.svg")
        try:
            with path.open("x", encoding="utf-8") as fh:  # never replaces a file
                fh.write(svg)
        except FileExistsError:
            continue
        return path.resolve()
    raise FileExistsError(errno.EEXIST, "too many screenshots with this name", str(folder))


class SavesScreenshots:
    """Mixed into an App: the Screenshot command and action (``screenshots``: a folder
    given by the caller, else the environment's, else the current one)."""

    screenshots: str | None = None

    def screenshot_dir(self) -> Path:
        """Where screenshots go: ``screenshots``, else ``$TUI_LOADTEST_SCREENSHOTS``, else here."""
        configured = self.screenshots or os.environ.get(SCREENSHOTS_ENV)
        return Path(configured).expanduser() if configured else Path.cwd()

    def screenshot_command(self) -> SystemCommand:
        """The palette's Screenshot, in place of Textual's."""
        app = self._app()
        return SystemCommand(
            "Screenshot",
            f"Save an SVG of the screen in {self.screenshot_dir()}",
            lambda: app.set_timer(0.1, self.action_screenshot),  # after the palette closes
        )

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen (never over an existing file) and say where."""
        app = self._app()
        folder = Path(path) if path else self.screenshot_dir()
        try:
            saved = save_svg(app.export_screenshot(), folder, filename)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            app.notify(
                f"Could not save the screenshot in {folder}: {reason}. "
                f"Set {SCREENSHOTS_ENV} to a folder you can write to.",
                title="Screenshot", severity="error", timeout=8,
            )  # fmt: skip
            return
        app.notify(f"Saved {saved}", title="Screenshot", timeout=6)

    def _app(self) -> App:
        assert isinstance(self, App)
        return self
