"""The model's helpers, built by hand without a file."""

from __future__ import annotations

from tui_loadtest.scenario import LoadSpec, RequestSpec


def test_load_spec_helpers() -> None:
    load = LoadSpec(users=20)
    assert load.effective_spawn_rate == 20 and not load.is_open
    assert load.duration_s is None and load.total_stage_time == 0
    assert load.level_at(5) == 20
    assert LoadSpec(users=20, spawn_rate=2, run_time_s=9).duration_s == 9


def test_request_spec_is_success_default_and_explicit() -> None:
    assert RequestSpec("a", "GET", "/").is_success(399)
    assert not RequestSpec("a", "GET", "/", expect_status=frozenset({404})).is_success(200)
