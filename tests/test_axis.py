"""Round axis ticks (report/axis.py), shared by the HTML charts and the dashboard's."""

from __future__ import annotations

from tui_loadtest.report.axis import even_ticks, is_round, nice_ceiling, round_ticks, tick_text


def test_chart_tops_are_round_numbers_at_or_above_the_data():
    for value, top in ((0.37, 0.5), (1.0, 1.0), (3.3, 5.0), (337.0, 500.0), (2100.0, 2500.0)):
        assert nice_ceiling(value) == top


def test_even_ticks_are_round_and_reach_the_top():
    assert even_ticks(500, 6, 13) == [0.0, 100.0, 200.0, 300.0, 400.0, 500.0]
    assert even_ticks(200, 4, 8) == [0.0, 50.0, 100.0, 150.0, 200.0]
    assert even_ticks(250, 3, 7) == [0.0, 250.0]


def test_round_ticks_cover_the_top_in_round_steps():
    assert round_ticks(37.0) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert round_ticks(0.0) == [0.0, 1.0] and round_ticks(float("nan")) == [0.0, 1.0]
    for top in (0.013, 7.0, 99.0, 1234.5, 8e6):
        ticks = round_ticks(top, count=8)
        assert ticks[0] == 0 and ticks[-1] >= top and ticks[-2] < top
        assert is_round(ticks[1]) and len(ticks) <= 9


def test_tick_text_drops_needless_decimals():
    assert [tick_text(v) for v in (0.0, 2.5, 1500.0, 0.25)] == ["0", "2.5", "1,500", "0.25"]
