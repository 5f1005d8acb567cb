"""Pure helpers of the dashboard: no app needed."""

from __future__ import annotations

from dataclasses import replace

from tests.ui.fakes import demo_source
from tui_loadtest.ui.app import default_user_step
from tui_loadtest.ui.style import Cell, fmt_clock_colon, svg_for_rsvg
from tui_loadtest.ui.widgets.charts import (
    _clock_label,
    _segment,
    _spans,
    _time_ticks,
    render_chart,
)
from tui_loadtest.ui.widgets.header import _progress


def test_paused_seconds_group_into_spans():
    assert _spans([]) == []
    assert _spans([3, 4, 5, 9]) == [(3, 5), (9, 9)]


def test_time_ticks_are_whole_and_labelled_as_a_clock():
    assert _time_ticks(0, 30, 6) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert [_clock_label(t) for t in (0, 90, 120)] == ["0s", "1m30s", "2m"]
    assert len(_time_ticks(0, 3600, 6)) <= 7


def test_lines_join_their_points():
    assert _segment(None, (3, 4)) == [(3, 4)]
    line = _segment((0, 0), (4, 2))
    assert line[0] == (0, 0) and line[-1] == (4, 2) and len(line) == 5


def test_a_chart_has_axes_ticks_and_the_data():
    src = demo_source()
    points = list(src.snapshot.timeline)
    text = render_chart(
        points, [(p.rps,) for p in points], [False] * len(points), ["blue"], 80, 10
    ).plain
    lines = text.split("\n")
    assert len(lines) == 10 and all(len(line) <= 80 for line in lines)
    assert lines[0].lstrip().startswith("500┤")  # ~220 req/s: a round top above it
    assert lines[-2].lstrip().startswith("└┬")  # the time axis, ticked at 0s
    assert lines[-1].split() == ["0s", "5s", "10s", "15s", "20s", "25s", "30s"]
    assert any(ch != "⠀" and "⠀" <= ch <= "⣿" for ch in text)  # braille dots were drawn


def test_the_user_step_is_a_tenth_of_the_users_and_at_least_one():
    assert [default_user_step(n) for n in (1, 5, 50, 1000)] == [1, 1, 5, 100]


def test_progress_excludes_paused_time_and_says_what_is_left():
    snap = demo_source().snapshot  # 60 s run
    fraction, words = _progress(snap, elapsed=33.0, paused_s=3.0, state="running")
    assert fraction == 0.5
    assert words == "30s left of 1m00s"
    assert _progress(snap, 33.0, 3.0, "paused")[1].startswith("paused")
    assert _progress(snap, 33.0, 3.0, "done") == (1.0, "done in 33s")
    unbounded = replace(snap, duration_s=None)
    assert _progress(unbounded, 10.0, 0.0, "running") == (None, "")


def test_cells_sort_by_value_and_compare_by_what_they_show():
    assert Cell("1,000", 1000) == Cell("1,000", 1000)
    assert Cell("1,000", 1000) != Cell("1,000", 1000, style="red")
    assert fmt_clock_colon(3723) == "1:02:03" and fmt_clock_colon(65) == "1:05"


def test_svgs_keep_their_spacing_for_librsvg():
    svg = '<svg class="rich-terminal" x><text>&#160;&#160;42</text></svg>'
    fixed = svg_for_rsvg(svg)
    assert "&#160;" not in fixed and "  42" in fixed
    assert 'xml:space="preserve"' in fixed
