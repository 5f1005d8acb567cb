"""A data file's rows packed into one string and one array read like a tuple of tuples,
and travel to a worker (pickled) as two buffers."""

from __future__ import annotations

import pickle

import pytest

from tui_loadtest.scenario.packed_rows import CHUNK, PackedRows

ROWS = [("alice", "pw-1", ""), ("bób", "", "x,y"), ("", "€uro", "line\nbreak")]


def test_rows_read_back_as_written() -> None:
    packed = PackedRows.build(3, ROWS)
    assert len(packed) == 3 and list(packed) == ROWS
    assert packed[1] == ("bób", "", "x,y") and packed[-1] == ROWS[-1]
    assert packed[::2] == [ROWS[0], ROWS[2]] and packed[5:] == []
    assert list(packed.column(1)) == ["pw-1", "", "€uro"]
    assert packed == tuple(ROWS) and packed == ROWS and packed != ROWS[:2]
    with pytest.raises(IndexError):
        packed[3]
    with pytest.raises(IndexError):
        packed[-4]


def test_many_rows_across_chunks_and_a_pickle() -> None:
    rows = [(f"u{i}", str(i * i)) for i in range(CHUNK * 2 + 7)]
    packed = PackedRows.build(2, rows)
    copy = pickle.loads(pickle.dumps(packed))
    assert copy == packed and list(copy) == rows and hash(copy) == hash(packed)


def test_empty() -> None:
    packed = PackedRows.build(2, [])
    assert len(packed) == 0 and not packed and list(packed) == []


def test_offsets_widen_past_four_billion_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_loadtest.scenario import packed_rows

    monkeypatch.setattr(packed_rows, "MAX_NARROW", 5)  # as if the text passed 4 G
    packed = PackedRows.build(3, ROWS)
    assert list(packed) == ROWS and packed == PackedRows.build(3, ROWS)
