"""A data file's rows in two objects: every cell's text end to end, and where each ends.

A ``[[data]]`` file travels to every worker inside the scenario. As a tuple of
tuples, a 1M-row file of two columns was 3M Python objects: ~180 MB in the
coordinator and again in each worker, and seconds to pickle and unpickle on the
way. Packed, it is one string and one array of offsets (the file's size plus 4
bytes a cell), copied as two buffers. A row is rebuilt when a user takes it,
once per user, never per request.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

__all__ = ["PackedRows"]

CHUNK = 4096
MAX_NARROW = 2**32 - 1


class PackedRows(Sequence[tuple[str, ...]]):
    """Rows of ``width`` cells, read like a tuple of tuples."""

    __slots__ = ("_ends", "_text", "width")

    def __init__(self, width: int, text: str = "", ends: array | None = None) -> None:
        self.width = width
        self._text = text
        self._ends = ends if ends is not None else array("I", [0])

    @classmethod
    def build(cls, width: int, rows: Iterable[Sequence[str]]) -> PackedRows:
        """Pack ``rows`` (each of ``width`` cells: the caller checked) as they come."""
        ends = array("I", [0])  # 4 bytes a cell, widened past 4 G characters
        chunks: list[str] = []  # joined every CHUNK rows: few strings alive at a time
        parts: list[str] = []
        at = 0
        for row in rows:
            for cell in row:
                at += len(cell)
                if at > MAX_NARROW and ends.typecode == "I":
                    ends = array("q", ends)
                ends.append(at)
            parts.append("".join(row))
            if len(parts) == CHUNK:
                chunks.append("".join(parts))
                parts.clear()
        chunks.append("".join(parts))
        return cls(width, "".join(chunks), ends)

    def __len__(self) -> int:
        return (len(self._ends) - 1) // self.width if self.width else 0

    @overload
    def __getitem__(self, index: int) -> tuple[str, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, ...]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("row index out of range")
        text, ends = self._text, self._ends
        first = index * self.width
        return tuple(text[ends[k] : ends[k + 1]] for k in range(first, first + self.width))

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        return (self[i] for i in range(len(self)))

    def column(self, at: int) -> Iterator[str]:
        """Every value of column ``at``, top to bottom."""
        text, ends, width = self._text, self._ends, self.width
        return (text[ends[k] : ends[k + 1]] for k in range(at, len(ends) - 1, width))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedRows):
            return (self.width, self._text, self._ends) == (other.width, other._text, other._ends)
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(
                a == tuple(b) for a, b in zip(self, other, strict=True)
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.width, self._text, len(self._ends)))

    def __repr__(self) -> str:
        return f"PackedRows({len(self)} rows of {self.width})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedRows, (self.width, self._text, self._ends))
