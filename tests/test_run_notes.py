"""What workers say once during a run (a ``queue`` data file running out) is said once on
the headless output as it happens, in the summary and in the report: not only as a
dashboard event. A real run through the CLI against the demo API, two workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NOTE = (
    'data users.csv: every row is taken (mode = "queue", 3 rows); new users get none and stay idle'
)


def test_a_queue_running_out_is_said_once_on_stderr_in_the_summary_and_the_report(
    demo_server, tmp_path: Path
) -> None:  # noqa: ANN001
    demo_server.reset()
    (tmp_path / "users.csv").write_text("name\nann\nbob\ncyd\n", encoding="utf-8")
    (tmp_path / "q.toml").write_text(
        f'host = "{demo_server.url}"\n[load]\nusers = 6\nspawn_rate = 100\nrun_time = "1s"\n'
        '[[requests]]\npath = "/api/health?who={name}"\n'
        '[[data]]\nfile = "users.csv"\nmode = "queue"\n',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", "q.toml", "--no-ui", "--workers", "2",
         "--out", "r.json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # Both workers ran out of their rows: the run says it once, as it happens.
    assert proc.stderr.count("every row is taken") == 1, proc.stderr
    assert f"tui-loadtest: warning: {NOTE}" in proc.stderr.splitlines()
    assert " ".join(proc.stdout.split()).count(f"Note: {NOTE}") == 1  # maybe wrapped
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"]["notes"] == [NOTE]
    assert report["summary"]["requests"] == demo_server.stats()["requests"] > 0
