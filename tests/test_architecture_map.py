"""The map of the code stays true: docs/architecture.md's "Where things live" names every
module of the `layers` import contract and every package and module at the package's root,
and nothing that is gone; CONTRIBUTING.md's layer order names every layer, in order.
"""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import tui_loadtest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(tui_loadtest.__file__).resolve().parent


def layer_modules() -> list[list[str]]:
    """The `layers` contract, top to bottom: each layer's module names (``pipeline.gates``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    return [
        [name.strip().strip("()").removeprefix("tui_loadtest.") for name in re.split("[:|]", layer)]
        for layer in layers["layers"]
    ]


def section(text: str, heading: str) -> str:
    """A section's text up to the next heading of its level or above."""
    start = text.index(f"\n## {heading}\n")
    end = re.compile(r"\n##? ").search(text, start + 1)
    return text[start : end.start() if end else len(text)]


def mapped_names(text: str) -> set[str]:
    """The first column of the root table (above the packages' own maps): ``cli.py`` -> cli,
    ``engine/`` -> engine."""
    root_table = section(text, "Where things live").split("\n### ")[0]
    rows = re.findall(r"^\| `([^`]+)` \|", root_table, re.M)
    return {row.removesuffix(".py").removesuffix("/") for row in rows}


def test_every_module_of_the_layers_contract_is_on_the_map():
    named = mapped_names((ROOT / "docs" / "architecture.md").read_text())
    # a module of a package placed module by module (pipeline.outputs) is on the
    # map with its package
    missing = [m for layer in layer_modules() for m in layer if m.split(".")[0] not in named]
    assert not missing, f'docs/architecture.md, "Where things live", lacks: {missing}'


def test_every_root_module_is_on_the_map_and_nothing_else():
    named = mapped_names((ROOT / "docs" / "architecture.md").read_text())
    on_disk = {m.name for m in pkgutil.iter_modules([str(PACKAGE)])} | {"__init__"}
    assert on_disk - named == set(), "not on the map"
    assert named - on_disk == set(), "on the map but not in the package"


def test_a_module_left_off_the_map_is_found():
    """The check above can fail: drop the `examples/` row and it is missing."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    without = re.sub(r"^\| `examples/` \|.*\n", "", text, flags=re.M)
    assert without != text
    assert "examples" in mapped_names(text) and "examples" not in mapped_names(without)


def test_contributing_names_every_layer_in_order():
    """CONTRIBUTING.md's one-line order: every module of the contract, each layer after
    the one above it."""
    text = section((ROOT / "CONTRIBUTING.md").read_text(), "The layers")
    (order,) = [p for p in text.split("\n\n") if p.startswith("Imports go downwards only")]
    order = order.split(". ")[0]  # the sentence that gives the order
    first_seen = []
    for layer in layer_modules():
        places = []
        for name in layer:
            place = order.find(f"`{name}`")
            assert place >= 0, f"CONTRIBUTING.md's layer order lacks `{name}`"
            places.append(place)
        first_seen.append(min(places))
    layers = [layer[0] for layer in layer_modules()]
    assert first_seen == sorted(first_seen), f"out of order: {layers}"
