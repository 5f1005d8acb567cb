"""Files of the repository that the site shows without keeping a copy in docs/.

The dashboard screenshot stays where ``python -m tui_loadtest.ui.screenshot`` writes
it; CONTRIBUTING.md and CHANGELOG.md stay at the root, where a clone shows them. This
mkdocs hook adds them to the site at build time and points their links at the pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# (where in the repository, where in the site)
FILES = (
    ("tui_loadtest/ui/screenshots/dashboard.png", "assets/dashboard.png"),
    ("CONTRIBUTING.md", "contributing.md"),
    ("CHANGELOG.md", "changelog.md"),
)
# Links written for the repository's root, as the site's pages see them.
LINKS = (
    ("](docs/", "]("),
    ("](CONTRIBUTING.md", "](contributing.md"),
    ("](CHANGELOG.md", "](changelog.md"),
    ("](README.md", "](index.md"),
)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    root = Path(config.config_file_path).parent
    for source, target in FILES:
        files.append(File.generated(config, target, abs_src_path=str(root / source)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri not in {target for _, target in FILES}:
        return markdown
    for old, new in LINKS:
        markdown = markdown.replace(old, new)
    return markdown
