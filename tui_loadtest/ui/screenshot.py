"""Regenerate the README's dashboard screenshot from a real run.

    python -m tui_loadtest.ui.screenshot [--out PATH] [--seconds S]

Starts the embedded demo target, runs the built-in demo scenario on the real
dashboard (headless, 160×48) for a few seconds — raising the users once and
pausing briefly so those show in the charts and the event log — saves an SVG
screenshot and turns it into a PNG with ``../shared/tools/svg2png.sh`` (or
``rsvg-convert``) when one of them is available.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..engine.coordinator import Run
from ..errors import UserError
from ..pipeline.launch import target_url
from ..report.output_files import check_output, write_output
from ..scenario import load_builtin_demo
from .app import create_app
from .screens.dashboard import DashboardScreen
from .style import svg_for_rsvg

HERE = Path(__file__).resolve().parent
DEFAULT_PNG = HERE / "screenshots" / "dashboard.png"
SIZE = (160, 48)


async def _drive(run: Run, seconds: float, svg: Path) -> None:
    app = create_app(run, refresh_s=0.25)
    async with app.run_test(size=SIZE) as pilot:

        async def until(condition: Callable[[], bool], timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while not condition() and time.monotonic() < deadline:
                await pilot.pause(0.1)

        def ticks() -> int:
            return len(run.snapshot.timeline)

        await until(lambda: isinstance(app.screen, DashboardScreen), 10)
        await until(lambda: ticks() >= seconds * 0.3, seconds)
        await pilot.press("plus")  # a user-count change, in the event log
        await until(lambda: ticks() >= seconds * 0.5, seconds)
        await pilot.press("space")  # pause for two seconds: shaded in the charts
        paused_at = ticks()
        await until(lambda: ticks() >= paused_at + 2, 5)
        await pilot.press("space")
        await until(lambda: ticks() >= seconds, seconds)
        await pilot.pause(0.6)  # one more redraw with the last second
        app.save_screenshot(filename=svg.name, path=str(svg.parent))


def _converter() -> list[str] | None:
    tool = HERE.parents[2] / "shared" / "tools" / "svg2png.sh"
    if tool.exists():
        return [str(tool)]
    if shutil.which("rsvg-convert"):
        return ["rsvg-convert", "-w", "1600"]
    return None


def _to_png(svg: Path, png: Path, workdir: Path) -> bool:
    converter = _converter()
    if converter is None:
        return False
    fixed = workdir / "dashboard-rsvg.svg"
    fixed.write_text(svg_for_rsvg(svg.read_text()))
    if converter[0] == "rsvg-convert":
        args = [*converter, str(fixed), "-o", str(png)]
    else:
        args = [*converter, str(fixed), str(png)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui_loadtest.ui.screenshot")
    parser.add_argument("--out", type=Path, default=DEFAULT_PNG, help="PNG to write")
    parser.add_argument("--svg", type=Path, help="also keep the SVG here")
    parser.add_argument("--seconds", type=float, default=16, help="how long to run (default 16)")
    args = parser.parse_args(argv)

    try:
        check_output(args.out, "--out")
        check_output(args.svg, "--svg")
        return _make(args)
    except UserError as exc:
        print(f"screenshot: error: {exc}", file=sys.stderr)
        return exc.exit_code


def _make(args: argparse.Namespace) -> int:
    scenario = load_builtin_demo()
    with tempfile.TemporaryDirectory() as tmp:
        svg = Path(tmp) / "dashboard.svg"
        with target_url(scenario) as url:
            run = Run(scenario, url)
            run.start()
            try:
                asyncio.run(_drive(run, args.seconds, svg))
            finally:
                run.close()
        if args.svg:
            print(f"SVG: {write_output(args.svg, svg.read_bytes(), flag='--svg')}", flush=True)
        png = Path(tmp) / "dashboard.png"
        if _to_png(svg, png, Path(tmp)):
            print(f"PNG: {write_output(args.out, png.read_bytes(), flag='--out')}")
        else:
            kept = write_output(args.out.with_suffix(".svg"), svg.read_bytes(), flag="--out")
            print(f"no SVG-to-PNG converter found; the SVG is at {kept}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
