"""``tui-loadtest run --cluster local:2`` as a user runs it: a LocalCluster of its own, the
report against the server's own count, and nothing of Dask's on the terminal."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(180)

SCENARIO = """\
name = "cluster"
host = "{url}"

[load]
users = 4
requests = 300

[[requests]]
path = "/a"

[[requests]]
path = "/b"
"""


def test_a_run_on_a_local_cluster_from_the_command_line(conn_server, tmp_path):
    srv, url = conn_server
    scenario = tmp_path / "cluster.toml"
    scenario.write_text(SCENARIO.format(url=url))
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tui_loadtest", "run", str(scenario), "--no-ui",
         "--cluster", "local:2", "--out", str(report)],
        capture_output=True, text=True, timeout=150, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["summary"]["requests"] == srv.requests == 300
    env = data["environment"]
    assert env["backend"] == "Dask cluster local:2" and env["workers"] == 2
    assert [e["share"]["requests"] for e in env["engines"]] == [150, 150]
    assert all(e["pid"] and e["state"] == "done" for e in env["engines"])
    # Dask's logs went to a file: every line on stderr is ours
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("tui-loadtest: ") for ln in lines), proc.stderr
    assert "running on 2 worker(s) of the Dask cluster local:2" in proc.stderr
