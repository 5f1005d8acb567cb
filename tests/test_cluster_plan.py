"""The cluster's plain parts, without a cluster: ``[cluster]`` in a scenario and its flags,
which workers a part of a cluster takes, and the handshake's version and clock rules."""

from __future__ import annotations

import pytest

from tui_loadtest.cluster.dask_pool import pick_workers
from tui_loadtest.cluster.handshake import clock_offset, mismatch
from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario import parse_scenario
from tui_loadtest.scenario.cluster import with_cluster_flags

BASE = {"name": "c", "host": "http://127.0.0.1:1", "requests": [{"path": "/"}]}


def parse(cluster: object) -> object:
    return parse_scenario({**BASE, "cluster": cluster}, "c.toml")


def test_the_cluster_table_and_its_flags():
    sc = parse({"address": "sched.example:8786", "workers": 3, "on_worker_loss": "stop"})
    assert sc.cluster.address == "tcp://sched.example:8786"
    assert (sc.cluster.workers, sc.cluster.on_worker_loss) == (3, "stop")
    assert sc.cluster.remote
    local = with_cluster_flags(sc, address="local:2", on_worker_loss="continue")
    assert local.cluster.address == "local:2" and not local.cluster.remote
    assert (local.cluster.workers, local.cluster.on_worker_loss) == (3, "continue")
    assert parse({}).cluster.address is None


@pytest.mark.parametrize(
    ("table", "names"),
    [
        ({"address": "local:0"}, "cluster.address"),
        ({"address": "http://x:8786"}, "cluster.address"),
        ({"address": 8786}, "cluster.address"),
        ({"address": "local:2", "workers": 0}, "cluster.workers"),
        ({"workers": 2}, "cluster.workers"),
        ({"address": "local:2", "on_worker_loss": "retry"}, "cluster.on_worker_loss"),
        ({"address": "local:2", "adress": "x"}, "adress"),
    ],
)
def test_a_bad_cluster_table_names_the_file_and_the_key(table, names):
    with pytest.raises(ScenarioError) as err:
        parse(table)
    text = str(err.value)
    assert "c.toml" in text and names in text and "\n" not in text


def test_a_part_of_a_cluster_spreads_over_its_machines():
    hosts = {"tcp://a:1": "A", "tcp://a:2": "A", "tcp://a:3": "A", "tcp://b:1": "B"}
    assert pick_workers(hosts, 2) == ["tcp://a:1", "tcp://b:1"]
    assert pick_workers(hosts, None) == ["tcp://a:1", "tcp://b:1", "tcp://a:2", "tcp://a:3"]


def test_versions_must_match_to_the_python_minor():
    ours = {"tool": "1.2.0", "python": "3.11.7"}
    assert mismatch(ours, {"tool": "1.2.0", "python": "3.11.9"}) is None
    assert "Python 3.12.1" in (mismatch(ours, {"tool": "1.2.0", "python": "3.12.1"}) or "")
    assert "tui-loadtest 1.1.0" in (mismatch(ours, {"tool": "1.1.0", "python": "3.11.7"}) or "")


def test_the_clock_offset_comes_from_the_shortest_round_trip():
    # (sent, the worker's clock, received): the worker is 0.5 s ahead; the slow sample
    # (a 0.2 s round trip, answered late) would say otherwise
    samples = [(10.0, 10.6, 10.2), (11.0, 11.505, 11.01), (12.0, 12.55, 12.1)]
    offset, rtt = clock_offset(samples)
    assert offset == pytest.approx(0.5) and rtt == pytest.approx(0.01)
