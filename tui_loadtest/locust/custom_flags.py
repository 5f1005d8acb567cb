"""The command-line flags a locustfile adds for itself, found without running it.

Locust lets a locustfile add flags (``@events.init_command_line_parser.add_listener``
then ``parser.add_argument("--page-size", type=int, default=20, env_var=...)``) and
read them back as ``environment.parsed_options.page_size``. Locust imports the file
before it parses its command line; the coordinator does not import locustfiles (the
``locust`` namespace lives only in the workers), so the calls are read from the
file's syntax tree instead: every ``*.add_argument(...)`` (on the parser or on one of
its argument groups) whose first arguments are literal flag names. A default, a type
or choices that are not literals are not known here; the flag is then read as text.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from .flags import Flag, Kind, Use

_TYPES = {"int": Kind.INT, "float": Kind.FLOAT, "str": Kind.TEXT}


def custom_flags(source: str) -> tuple[Flag, ...]:
    """The flags ``source`` (a locustfile's text) adds with ``add_argument`` calls.

    Raises ``SyntaxError`` for a file that does not parse (the caller reports it as
    the file's own error)."""
    found: list[Flag] = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
        ):
            continue
        flag = _flag(node)
        if flag is not None:
            found.append(flag)
    return tuple(found)


def _literal(node: ast.expr | None) -> tuple[bool, object]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _flag(call: ast.Call) -> Flag | None:
    names: list[str] = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.append(arg.value)
        else:
            return None
    if not names or not all(n.startswith("-") and len(n) > 1 for n in names):
        return None  # a positional argument, or names that are not literals
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    long = next((n for n in names if n.startswith("--")), names[0])
    dest = long.lstrip("-").replace("-", "_")
    known, value = _literal(kw.get("dest"))
    if known and isinstance(value, str):
        dest = value
    kind = Kind.TEXT
    type_node = kw.get("type")
    if isinstance(type_node, ast.Name) and type_node.id in _TYPES:
        kind = _TYPES[type_node.id]
    known, action = _literal(kw.get("action"))
    default: object = None
    if known and action in ("store_true", "store_false"):
        kind = Kind.SWITCH
        default = action == "store_false"
    known, nargs = _literal(kw.get("nargs"))
    if known and nargs in ("*", "+"):
        kind = Kind.LIST
    known, value = _literal(kw.get("default"))
    if known:
        default = value
    known, env = _literal(kw.get("env_var"))
    known_choices, choices = _literal(kw.get("choices"))
    flag = Flag(
        tuple(sorted(names, key=lambda n: n.startswith("--"))),
        dest,
        kind,
        default,
        env if known and isinstance(env, str) else None,
        Use.CUSTOM,
        const=action != "store_false",
    )
    if known_choices and isinstance(choices, list | tuple) and kind is Kind.TEXT:
        flag = replace(flag, choices=tuple(str(c) for c in choices))
    return flag


__all__ = ["custom_flags"]
