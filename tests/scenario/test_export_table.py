"""``[export]`` and its flags: checked at load, one line per mistake, flags win."""

from __future__ import annotations

import pytest

from tui_loadtest.errors import ScenarioError
from tui_loadtest.scenario.export_table import with_export_flags

from .helpers import ErrorText, LoadText

BASE = 'host = "http://127.0.0.1:9"\n[[requests]]\npath = "/"\n'


def test_the_table_is_read(load_text: LoadText) -> None:
    sc = load_text(
        BASE + '[export]\nprometheus = ":9646"\notlp = "http://127.0.0.1:4318"\n'
        'otlp_interval = "2s"\nstream = "run.ndjson"\nrun_id = "nightly-42"\n'
    )
    e = sc.export
    assert (e.prometheus, e.otlp, e.otlp_interval_s, e.stream, e.run_id) == (
        ":9646", "http://127.0.0.1:4318", 2.0, "run.ndjson", "nightly-42"
    )  # fmt: skip
    assert e.active and not e.prometheus_allow_remote
    assert not load_text(BASE).export.active


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('prometheus = "9646x"', "export.prometheus: expected HOST:PORT"),
        ("prometheus = 9646", "export.prometheus: expected a string"),
        ('otlp = "ftp://x"', "export.otlp: expected an http(s) URL"),
        ('otlp = "http://x"\notlp_interval = "10ms"', "export.otlp_interval: expected a duration"),
        ('otlp_interval = "5s"', "export.otlp_interval: needs otlp"),
        ('run_id = "a b"', "export.run_id: expected 1 to 64 letters"),
        ("prometheus_allow_remote = 1", "export.prometheus_allow_remote: expected true or false"),
        ('promethus = ":1"', 'unknown key (did you mean "prometheus"?)'),
    ],
)
def test_each_mistake_is_one_line(error_text: ErrorText, table: str, said: str) -> None:
    assert said in error_text(BASE + "[export]\n" + table + "\n")


def test_flags_win_over_the_table(load_text: LoadText) -> None:
    sc = load_text(BASE + '[export]\nprometheus = ":1"\nrun_id = "a"\n')
    sc = with_export_flags(sc, prometheus="127.0.0.1:2", run_id="b", stream="s.ndjson")
    assert (sc.export.prometheus, sc.export.run_id, sc.export.stream) == (
        "127.0.0.1:2", "b", "s.ndjson"
    )  # fmt: skip
    with pytest.raises(ScenarioError, match="--otlp-interval: needs --otlp"):
        with_export_flags(sc, otlp_interval="5s")
    with pytest.raises(ScenarioError, match="--prometheus: expected HOST:PORT"):
        with_export_flags(sc, prometheus="host")
