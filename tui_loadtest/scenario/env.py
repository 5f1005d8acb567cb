"""``${NAME}`` references: secrets come from the environment, never from the file.

The scenario file keeps the reference text; the value is substituted at load
time (in headers, paths, bodies, JSON strings and vars values) and only ever
sent to the target. Reports keep the ``${NAME}`` text, and every value
substituted is remembered in the context's ``secrets`` for scrubbing free text.
"""

from __future__ import annotations

import re
from typing import Any

from .checks import Context
from .messages import join
from .model import ENV_REF


def substitute_env(ctx: Context, key: str, template: str, shown: Any) -> str:
    """Replace each ``${NAME}`` with the environment's value; a missing one is an error."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ctx.env:
            raise ctx.fail(key, f"environment variable {name} is not set")
        value = ctx.env[name]
        if value:
            ctx.secrets.add(value)
        return value

    if "${" in ENV_REF.sub("", template):
        raise ctx.expected(key, "${NAME} with NAME made of letters, digits and _", shown)
    return ENV_REF.sub(lookup, template)


def substitute_env_in_json(ctx: Context, key: str, value: Any) -> Any:
    """``value`` (decoded TOML for a JSON body) with ``${NAME}`` filled in every string.

    Filled before the body is serialised, so a value holding quotes or
    backslashes is escaped like any other JSON text. Keys stay as written.
    """
    if isinstance(value, str):
        return substitute_env(ctx, key, value, value)
    if isinstance(value, list):
        return [substitute_env_in_json(ctx, join(key, i), v) for i, v in enumerate(value, 1)]
    if isinstance(value, dict):
        return {k: substitute_env_in_json(ctx, join(key, k), v) for k, v in value.items()}
    return value
