"""``${NAME}`` references: secrets come from the environment, never from the file.

The scenario file keeps the reference text; the value is substituted at load
time and only ever sent to the target. Reports keep the ``${NAME}`` text.
"""

from __future__ import annotations

import re
from typing import Any

from .checks import Context

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute_env(ctx: Context, key: str, template: str, shown: Any) -> str:
    """Replace each ``${NAME}`` with the environment's value; a missing one is an error."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ctx.env:
            raise ctx.fail(key, f"environment variable {name} is not set")
        return ctx.env[name]

    if "${" in ENV_REF.sub("", template):
        raise ctx.expected(key, "${NAME} with NAME made of letters, digits and _", shown)
    return ENV_REF.sub(lookup, template)
