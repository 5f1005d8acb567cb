"""A Locust command line, read as Locust reads it, into plain values (issue 21).

``tui-loadtest locust run [Locust's own flags]`` takes a Locust command line as
written. :func:`parse_locust_args` reads it with Locust's flags (:mod:`.flags`), its
configuration files (:mod:`.config_files`) and its LOCUST_* variables, and returns a
frozen :class:`LocustOptions` of plain values for the runner, named as Locust names
them in ``environment.parsed_options``.

Where a value comes from, highest first: Locust's parser is a ConfigArgParse parser
(``get_empty_argument_parser`` in ``locust/argument_parser.py``, default files
``("~/.locust.conf", "locust.conf", "pyproject.toml")`` and ``--config``), and
ConfigArgParse's ``parse_known_args`` adds each source's values to the command line
only for the flags no higher source set:

1. the command line (a flag given twice: the last one);
2. LOCUST_* environment variables;
3. configuration files, a later one over an earlier one: the ``--config`` file, then
   ``./pyproject.toml`` (``[tool.locust]``), ``./locust.conf``, ``~/.locust.conf``;
4. Locust's defaults.

A switch set to false (``headless = false``, ``LOCUST_HEADLESS=false``) keeps lower
sources from setting it, as in ConfigArgParse. User class names are the positional
arguments, else ``$LOCUST_USER_CLASSES``. As with argparse, a long flag may be
abbreviated to a unique prefix, a short one takes its value attached (``-u10``), and a
flag that takes a list (``--tags a b``) takes the names after it as well.

Bad input raises ``UsageError`` (one line, exit 2): an unknown flag, a bad value (the
line names where it came from), a flag of Locust that is not supported here, or one
Locust itself refuses. Web UI flags are accepted; ``LocustOptions.notes`` holds one
line saying the dashboard is used instead.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import SimpleNamespace

from ..errors import UsageError
from .config_files import Raw, is_bool_word, list_or_text, read_config_file
from .flags import FLAGS, USER_CLASSES_ENV, WEB_UI, Flag, Kind, Use

COMMAND_LINE = "command line"
DEFAULT_CONFIG_FILES = ("~/.locust.conf", "locust.conf", "pyproject.toml")  # lowest first
DEFAULT_MASTER_PORT = 5557

_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
_TIMESPAN = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


@dataclass(frozen=True)
class LocustOptions:
    """A Locust command line's values, under the names Locust gives them.

    Times are whole seconds (``run_time`` None: no limit). Lists are tuples. What the
    run does with a value is the runner's; this only reads them."""

    locustfile: str = "locustfile.py"  # as given: comma-separated files, a folder, "-"
    config: str | None = None
    host: str | None = None
    num_users: int | None = None
    spawn_rate: float | None = None
    run_time: int | None = None
    list_commands: bool = False
    headless: bool = False
    # Locust's web UI (accepted, not used: the dashboard is)
    web_host: str = ""
    web_host_display_name: str | None = None
    web_port: int = 8089
    autostart: bool = False
    autoquit: int = -1
    headful: bool = False
    web_login: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    class_picker: bool = False
    build_path: str = ""
    web_base_path: str = ""
    # distributed runs
    master: bool = False
    master_bind_host: str = "*"
    master_bind_port: int = DEFAULT_MASTER_PORT
    expect_workers: int = 1
    expect_workers_max_wait: int = 0
    worker: bool = False
    processes: int | None = None  # -1: one per CPU
    master_host: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT
    # tags (None: not given; () given empty, which leaves no task in Locust)
    tags: tuple[str, ...] | None = None
    exclude_tags: tuple[str, ...] | None = None
    # statistics and reports
    csv_prefix: str | None = None
    stats_history_enabled: bool = False
    print_stats: bool = False
    only_summary: bool = False
    reset_stats: bool = False
    html_file: str | None = None
    # logging
    skip_log_setup: bool = False
    loglevel: str = "INFO"
    logfile: str | None = None
    # other
    show_task_ratio: bool = False
    show_task_ratio_json: bool = False
    version: bool = False
    help: bool = False
    exit_code_on_error: int = 1
    stop_timeout: int = 0
    equal_weights: bool = False
    profile: str | None = None
    iterations: int = 0  # locust-plugins' -i: task iterations in all, 0 for no limit
    user_classes: tuple[str, ...] = ()
    # the locustfile's own flags (dest, value), see custom_flags
    custom: tuple[tuple[str, object], ...] = ()
    # one line per thing the user should know (web UI flags given)
    notes: tuple[str, ...] = ()
    # where each value that is not a default came from: (dest, "command line" /
    # "LOCUST_USERS" / "locust.conf" ...)
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def locustfiles(self) -> tuple[str, ...]:
        """``-f a.py,b.py`` -> ("a.py", "b.py"), as Locust splits it."""
        return tuple(part.strip() for part in self.locustfile.split(",") if part.strip())

    @property
    def mode(self) -> str:
        """ "master", "worker" or "standalone"."""
        if self.master:
            return "master"
        return "worker" if self.worker else "standalone"

    @property
    def process_count(self) -> int | None:
        """``--processes``, with -1 resolved to this machine's CPU count."""
        if self.processes == -1:
            return os.cpu_count() or 1
        return self.processes

    def origin(self, dest: str) -> str:
        """Where a value came from ("default" when nothing set it)."""
        return dict(self.origins).get(dest, "default")

    def html_path(self) -> str | None:
        """``--html`` with Locust's ``{u}``, ``{r}`` and ``{t}`` replaced by the users,
        spawn rate and run time (a whole number written without its ``.0``)."""
        if self.html_file is None:
            return None
        path = self.html_file
        for tag, value in (
            ("{u}", self.num_users),
            ("{r}", self.spawn_rate),
            ("{t}", self.run_time),
        ):
            if value is not None:
                number = float(value)
                path = path.replace(tag, str(int(number)) if number.is_integer() else str(value))
        return path

    def parsed_options(self) -> SimpleNamespace:
        """What a locustfile reads as ``environment.parsed_options``: every Locust
        option under its name (lists as lists), the locustfile's own flags, and, as
        Locust sets them when a test starts, ``num_users`` and ``spawn_rate`` 1 when
        they were not given (a worker's stay None)."""
        values: dict[str, object] = {f.dest: f.default for f in FLAGS}
        for f in fields(self):
            if f.name in ("custom", "notes", "origins"):
                continue
            value = getattr(self, f.name)
            values[f.name] = list(value) if isinstance(value, tuple) else value
        values.update(self.custom)
        if not self.worker:
            values["num_users"] = 1 if self.num_users is None else self.num_users
            values["spawn_rate"] = 1 if self.spawn_rate is None else self.spawn_rate
        return SimpleNamespace(**values)


# ------------------------------------------------------------------ reading


@dataclass
class _Given:
    """One value as a source gave it, before conversion."""

    flag: Flag
    raw: Raw | None  # None: a switch given on the command line
    origin: str
    blocks_only: bool = False  # a switch set to false: sets nothing, stops lower sources


def parse_locust_args(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    home: Path | str | None = None,
    extra_flags: Sequence[Flag] = (),
) -> LocustOptions:
    """Read a Locust command line (without the leading ``locust``) with the LOCUST_*
    variables of ``env`` (default: this process's) and the configuration files of
    ``cwd`` and ``home`` (defaults: the current folder and ``~``). ``extra_flags``: the
    locustfile's own flags (:func:`.custom_flags.custom_flags`)."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else Path(cwd)
    home = Path(os.path.expanduser("~")) if home is None else Path(home)
    table = _table(extra_flags)
    given, positionals = _read_command_line(list(argv), table)

    chosen: dict[str, _Given] = {}
    for item in given:  # the last occurrence wins
        chosen[item.flag.dest] = item
    for flag in table:
        if flag.dest in chosen or not flag.env or flag.env not in env:
            continue
        text = env[flag.env]
        if flag.kind is Kind.LIST and text == "":
            continue
        # for a list flag, "[a, b]" is a list and other text one value
        raw: Raw = list_or_text(text) if flag.kind is Kind.LIST else text
        chosen[flag.dest] = _from_source(flag, raw, flag.env)
    for label, path in reversed(_config_files(chosen, cwd, home)):
        for key, value in read_config_file(path, label).items():
            keyed = table.by_config_key(key, label)
            if keyed is None or keyed.dest in chosen:
                continue
            chosen[keyed.dest] = _from_source(keyed, value, label)

    values: dict[str, object] = {}
    origins: list[tuple[str, str]] = []
    refused: list[str] = []
    web: list[str] = []
    for dest, item in chosen.items():
        if item.blocks_only:
            continue
        flag = item.flag
        if flag.use is Use.REMOVED:
            raise UsageError(f"{_where(item)}{flag.long}: {flag.why}")
        if flag.use is Use.UNSUPPORTED:
            refused.append(
                f"{_where(item)}{flag.long} is not supported by tui-loadtest: {flag.why}"
            )
            continue
        values[dest] = _convert(item)
        origins.append((dest, item.origin))
        if flag.use is Use.WEB:
            web.append(flag.long)
    if refused:
        raise UsageError("; ".join(refused))

    user_classes = tuple(positionals) or tuple(env.get(USER_CLASSES_ENV, "").split())
    known = {f.name for f in fields(LocustOptions)}
    custom = tuple(
        (f.dest, values[f.dest] if f.dest in values else _default(f))
        for f in table.flags
        if f.use is Use.CUSTOM
    )
    options = LocustOptions(
        **{k: v for k, v in values.items() if k in known},  # type: ignore[arg-type]
        user_classes=user_classes,
        custom=custom,
        origins=tuple(origins),
    )
    return _checked(options, web)


def _checked(options: LocustOptions, web: list[str]) -> LocustOptions:
    """Locust's own checks of a command line (``locust/main.py``), then the notes."""
    if options.stats_history_enabled and options.csv_prefix is None:
        raise UsageError("--csv-full-history requires --csv")
    if options.master and options.worker:
        raise UsageError("--master cannot be combined with --worker")
    if options.processes is not None:
        if options.processes < -1 or options.processes == 0:
            raise UsageError(
                f"--processes: expected a number of processes, or -1 for one per CPU,"
                f" got {options.processes}"
            )
        if options.master:
            raise UsageError(
                "--master cannot be combined with --processes (--processes implies it)"
            )
    if options.num_users is not None and options.num_users < 0:
        raise UsageError(f"-u/--users: expected 0 or more users, got {options.num_users}")
    notes: list[str] = []
    if options.headful:
        options = replace(options, headless=False)
    if web:
        where = (
            "not used: --headless runs without a UI"
            if options.headless
            else "the dashboard is used instead"
        )
        notes.append(f"{', '.join(sorted(set(web)))}: options of {WEB_UI}; {where}")
    return replace(options, notes=tuple(notes))


def _where(item: _Given) -> str:
    return "" if item.origin == COMMAND_LINE else f"{item.origin}: "


def _from_source(flag: Flag, raw: Raw, origin: str) -> _Given:
    """A value from a variable or a file: a switch reads true/false words."""
    if flag.kind is Kind.SWITCH:
        if not isinstance(raw, str) or not is_bool_word(raw):
            raise UsageError(
                f"{origin}: {flag.long}: expected true or false (yes/no, on/off, 1/0), got {raw!r}"
            )
        on = raw.lower() in ("true", "yes", "on", "1")
        return _Given(flag, None, origin, blocks_only=not on)
    if isinstance(raw, list) and flag.kind is not Kind.LIST:
        raise UsageError(f"{origin}: {flag.long}: expected one value, got a list")
    return _Given(flag, raw, origin)


def _config_files(chosen: dict[str, _Given], cwd: Path, home: Path) -> list[tuple[str, Path]]:
    """The configuration files to read, lowest precedence first, that exist (a
    ``--config`` file must)."""
    found: list[tuple[str, Path]] = []
    for name in DEFAULT_CONFIG_FILES:
        path = home / name[2:] if name.startswith("~/") else cwd / name
        if path.is_file():
            found.append((name, path))
    config = chosen.get("config")
    if config is not None and isinstance(config.raw, str):
        path = Path(os.path.expanduser(config.raw))
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise UsageError(f"--config: no such file: {config.raw}")
        found.append((config.raw, path))
    return found


# ----------------------------------------------------------- the command line


class _Table:
    """The flags a command line may use: Locust's, then the locustfile's own."""

    def __init__(self, flags: Sequence[Flag]) -> None:
        self.flags = tuple(flags)
        self.by_name: dict[str, Flag] = {}
        for flag in self.flags:
            for name in flag.names:
                if name in self.by_name:
                    raise UsageError(f"the locustfile adds a flag {name}, which Locust already has")
                self.by_name[name] = flag
        self.by_key = {key: f for f in self.flags for key in f.config_keys}
        self.longs = sorted(n for n in self.by_name if n.startswith("--"))

    def __iter__(self) -> Iterator[Flag]:
        return iter(self.flags)

    def long(self, name: str) -> Flag:
        """A long flag by its name or a unique prefix of it, as argparse allows."""
        if name in self.by_name:
            return self.by_name[name]
        matches = [n for n in self.longs if n.startswith(name)]
        if len(matches) == 1:
            return self.by_name[matches[0]]
        if matches:
            raise UsageError(f"{name}: ambiguous, could be {', '.join(matches)}")
        raise UsageError(_unknown(name, self.longs))

    def short(self, name: str) -> Flag:
        flag = self.by_name.get(name)
        if flag is None:
            raise UsageError(_unknown(name, list(self.by_name)))
        return flag

    def by_config_key(self, key: str, label: str) -> Flag | None:
        if key in ("config", "--config"):
            return None  # naming another configuration file here does nothing
        flag = self.by_key.get(key)
        if flag is None:
            close = difflib.get_close_matches(key, list(self.by_key), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"{label}: {key}: not a Locust option{hint}")
        return flag


def _table(extra: Sequence[Flag]) -> _Table:
    return _Table([*FLAGS, *extra])


def _unknown(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{name}: not a Locust flag{hint}"


def _is_value(token: str) -> bool:
    """What argparse reads as a value rather than a flag."""
    return not token.startswith("-") or token == "-" or bool(_NEGATIVE_NUMBER.match(token))


def _read_command_line(argv: list[str], table: _Table) -> tuple[list[_Given], list[str]]:
    """The flags given, in order, and the user class names.

    As argparse reads Locust's: the class names are the first run of positional
    arguments; another run later is an error."""
    given: list[_Given] = []
    positionals: list[str] = []
    runs = 0
    in_run = False
    only_positionals = False
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if only_positionals or _is_value(token):
            if not in_run:
                runs += 1
                in_run = True
            if runs > 1:
                raise UsageError(
                    f"{token}: unexpected here (user class names go together, after the flags)"
                )
            positionals.append(token)
            continue
        if token == "--":
            only_positionals = True
            continue
        in_run = False
        if token.startswith("--"):
            name, eq, attached = token.partition("=")
            flag = table.long(name)
            i = _take(flag, name, attached if eq else None, argv, i, given)
            continue
        # one or more short flags: -l, -u10, -u=10, -lT tag
        rest = token[1:]
        while rest:
            name, rest = "-" + rest[0], rest[1:]
            flag = table.short(name)
            if flag.kind is Kind.SWITCH:
                if rest.startswith("="):
                    raise UsageError(f"{flag.label}: takes no value, got {rest[1:]!r}")
                given.append(_Given(flag, None, COMMAND_LINE))
                continue
            attached = rest[1:] if rest.startswith("=") else rest
            i = _take(flag, name, attached if rest else None, argv, i, given)
            break
    return given, positionals


def _take(
    flag: Flag, name: str, attached: str | None, argv: list[str], i: int, given: list[_Given]
) -> int:
    """Read one flag's value(s) from the command line; return the next index."""
    if flag.kind is Kind.SWITCH:
        if attached is not None:
            raise UsageError(f"{flag.label}: takes no value, got {attached!r}")
        given.append(_Given(flag, None, COMMAND_LINE))
        return i
    if flag.kind is Kind.LIST:
        if attached is not None:
            values = [attached]
        else:
            values = []
            while i < len(argv) and _is_value(argv[i]):
                values.append(argv[i])
                i += 1
        given.append(_Given(flag, values, COMMAND_LINE))
        return i
    if attached is None:
        if i >= len(argv) or not _is_value(argv[i]):
            raise UsageError(f"{flag.label}: expected a value after {name}")
        attached = argv[i]
        i += 1
    given.append(_Given(flag, attached, COMMAND_LINE))
    return i


# -------------------------------------------------------------- converting


def timespan(text: str) -> int:
    """Locust's time spans: ``20`` (seconds), ``20s``, ``3m``, ``2h``, ``1h30m10s``."""
    if text.isdigit():
        return int(text)
    m = _TIMESPAN.fullmatch(text)
    if not text or m is None or not any(m.groups()):
        raise ValueError("expected a time span such as 20, 20s, 3m, 2h, 1h20m or 3h30m10s")
    hours, minutes, secs = (int(g or 0) for g in m.groups())
    return hours * 3600 + minutes * 60 + secs


def _default(flag: Flag) -> object:
    """A flag's default; one written as text is converted, as argparse does."""
    if isinstance(flag.default, str) and flag.kind not in (Kind.TEXT, Kind.SWITCH, Kind.LIST):
        try:
            return _value(flag, flag.default)
        except ValueError:
            return flag.default
    return flag.default


def _convert(item: _Given) -> object:
    flag, raw = item.flag, item.raw
    where = f"{_where(item)}{flag.label}"
    if flag.kind is Kind.SWITCH:
        return flag.const
    if flag.kind is Kind.LIST:
        values = raw if isinstance(raw, list) else [str(raw)]
        return tuple(values)
    assert isinstance(raw, str)
    try:
        return _value(flag, raw)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}, got {raw!r}") from None


def _value(flag: Flag, raw: str) -> object:
    kind = flag.kind
    if kind is Kind.TEXT:
        if flag.choices and raw not in flag.choices:
            raise ValueError(f"expected one of {', '.join(flag.choices)}")
        return raw
    if kind is Kind.INT or kind is Kind.POSITIVE_INT:
        try:
            number = int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
        if kind is Kind.POSITIVE_INT and number < 1:
            raise ValueError("expected a whole number of at least 1")
        return number
    if kind is Kind.RATE or kind is Kind.FLOAT:
        try:
            real = float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
        if kind is Kind.RATE and not (math.isfinite(real) and real > 0):
            raise ValueError("expected a number above 0")
        return real
    if kind is Kind.TIMESPAN:
        return timespan(raw)
    if kind is Kind.LOGLEVEL:
        level = raw.upper()
        if level not in flag.choices:
            raise ValueError(f"expected one of {', '.join(flag.choices)}")
        return level
    raise AssertionError(kind)


__all__ = [
    "COMMAND_LINE",
    "DEFAULT_CONFIG_FILES",
    "LocustOptions",
    "parse_locust_args",
    "timespan",
]


def run_options(
    locustfile: str,
    *,
    host: str | None,
    users: int,
    spawn_rate: float,
    run_time: float | None,
) -> dict[str, object]:
    """``environment.parsed_options`` for a locustfile run with our own flags
    (``tui-loadtest run locustfile.py``): Locust's defaults, the file's own flags at
    their defaults, and the run's host, users, spawn rate and run time under Locust's
    names. No LOCUST_* variable or configuration file is read: our flags rule here."""
    from .custom_flags import custom_flags

    source = Path(locustfile).read_text(encoding="utf-8", errors="replace")
    custom = tuple((f.dest, _default(f)) for f in custom_flags(source))
    options = LocustOptions(
        locustfile=locustfile,
        host=host,
        num_users=users,
        spawn_rate=spawn_rate,
        run_time=None if run_time is None else math.ceil(run_time),
        headless=True,
        custom=custom,
    )
    return vars(options.parsed_options())
