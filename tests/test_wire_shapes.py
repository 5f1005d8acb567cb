"""One definition per wire shape (issue 23 item 4): a baseline's list entry is one msgspec
Struct, and the store's columns, the API's answers and ``serve``'s OpenAPI component all
follow from it; the sort keys and the demo server's settings are defined once."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import msgspec

from tui_loadtest import baselines
from tui_loadtest.cli import build_parser
from tui_loadtest.demo import DemoSettings
from tui_loadtest.serve import app as serve_app
from tui_loadtest.serve.openapi import openapi_document
from tui_loadtest.store import Baseline, BaselineInfo, BaselineStore

from .synthetic import HEALTH, make_result

WIRE = {f.encode_name for f in msgspec.structs.fields(BaselineInfo)}


def test_the_store_has_a_column_for_every_field(tmp_path: Path) -> None:
    """A field added to BaselineInfo without a migration adding its column fails here."""
    store = BaselineStore(tmp_path / "s.sqlite3")
    saved = Baseline("a", "2024-01-01T10:00:00+00:00", make_result([HEALTH], seconds=3), {})
    store.save(saved)
    with sqlite3.connect(store.path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(baselines)")}
    fields = {f.name for f in msgspec.structs.fields(BaselineInfo)}
    assert columns - {"id", "report"} == fields
    (info,) = store.list()
    assert info == saved.info  # read back from the columns as it was written


def test_the_api_answers_the_struct_and_openapi_describes_it(tmp_path: Path) -> None:
    result = make_result([HEALTH], seconds=3)
    info = Baseline("a", "2024-01-01T10:00:00+00:00", result, {"source": "t"}).info
    answer = info.to_dict()
    assert list(answer)[-2:] == ["rating", "metadata"] and set(answer) == WIRE | {"rating"}
    assert answer["scenario"] == result.scenario_name and answer["runs"] == 1
    component = openapi_document()["components"]["schemas"]["BaselineInfo"]
    assert list(component["properties"]) == list(answer)
    assert set(component["required"]) == set(answer)
    types = {"string": str, "integer": int, "number": (int, float), "object": dict}
    for key, value in answer.items():
        assert isinstance(value, types[component["properties"][key]["type"]]), key
    assert answer["rating"] in component["properties"]["rating"]["enum"]


def test_sort_keys_are_defined_once() -> None:
    assert serve_app.SORT_KEYS is baselines.SORT_KEYS
    operation = openapi_document()["paths"]["/api/load-test/baselines"]["get"]
    (sort,) = [p for p in operation["parameters"] if p["name"] == "sort"]
    assert sort["schema"]["enum"] == list(baselines.SORT_KEYS)


def test_the_demo_command_defaults_are_the_settings_defaults() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    demo = sub.choices["demo-server"].parse_args([])
    defaults = DemoSettings()
    assert (demo.error_rate, demo.latency_scale, demo.stall, demo.stall_every) == (
        defaults.error_rate,
        defaults.latency_scale,
        defaults.stall_s,
        defaults.stall_every_s,
    )
