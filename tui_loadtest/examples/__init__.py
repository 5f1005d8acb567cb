"""The example scenarios shipped inside the package (the repository's ``configs/`` is a
link to this folder, so there is one copy).

An installed ``tui-loadtest`` (pip, pipx) has no repository beside it: these are
what ``tui-loadtest examples`` lists and copies, and ``run --example NAME`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable


@dataclass(frozen=True)
class Example:
    name: str  # the file name without ".toml": "mixed"
    summary: str  # the file's first comment line
    resource: Traversable

    @property
    def filename(self) -> str:
        return f"{self.name}.toml"

    def text(self) -> str:
        return self.resource.read_text(encoding="utf-8")


def examples() -> list[Example]:
    """Every packaged example, by name."""
    found = []
    for entry in files(__name__).iterdir():
        if entry.name.endswith(".toml") and entry.is_file():
            text = entry.read_text(encoding="utf-8")
            first = next((line for line in text.splitlines() if line.strip()), "")
            summary = first.lstrip("#").strip()
            found.append(Example(entry.name.removesuffix(".toml"), summary, entry))
    return sorted(found, key=lambda e: e.name)


def example(name: str) -> Example | None:
    """The example called ``name`` (with or without ``.toml``), or None."""
    wanted = name.removesuffix(".toml")
    return next((e for e in examples() if e.name == wanted), None)
