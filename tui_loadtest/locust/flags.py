"""Every flag of Locust's command line (Locust 2.x): its spellings, the name Locust
gives its value (``environment.parsed_options.<dest>``), its type, its LOCUST_*
variable and default, and what ``tui-loadtest locust run`` does with it.

Read from Locust's own parser (``locust/argument_parser.py``,
``setup_parser_arguments`` and ``get_empty_argument_parser``); ``-i/--iterations`` is
locust-plugins' flag, which many teams use. :mod:`.options` reads a command line with
this table; nothing here parses.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a flag's text becomes its value."""

    TEXT = "text"
    INT = "int"
    POSITIVE_INT = "positive int"  # at least 1
    RATE = "rate"  # a finite number above 0
    FLOAT = "float"
    TIMESPAN = "timespan"  # 20, 20s, 3m, 1h30m -> whole seconds
    LOGLEVEL = "loglevel"
    SWITCH = "switch"  # store_true: present means true
    LIST = "list"  # any number of values (nargs="*")


class Use(Enum):
    """What ``locust run`` does with a flag."""

    RUN = "run"  # a value of LocustOptions, used by the run
    WEB = "web"  # Locust's web UI: accepted, one line says the dashboard is used instead
    UNSUPPORTED = "unsupported"  # refused with one line saying why
    REMOVED = "removed"  # Locust itself refuses it (renamed or gone), with its hint
    CUSTOM = "custom"  # declared by the locustfile (events.init_command_line_parser)


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]  # as Locust spells them, the long one last
    dest: str
    kind: Kind
    default: object = None
    env: str | None = None
    use: Use = Use.RUN
    why: str = ""  # UNSUPPORTED / REMOVED: the reason, shown to the user
    choices: tuple[str, ...] = ()
    const: object = True  # a SWITCH's value when given (False: argparse's store_false)

    @property
    def label(self) -> str:
        """``-u/--users``, as argparse names a flag in its messages."""
        return "/".join(self.names)

    @property
    def long(self) -> str:
        return next((n for n in reversed(self.names) if n.startswith("--")), self.names[-1])

    @property
    def config_keys(self) -> tuple[str, ...]:
        """The keys a configuration file may set it with: ``users`` or ``--users``."""
        keys: list[str] = []
        for name in self.names:
            if name.startswith("--"):
                keys += [name[2:], name]
        return tuple(keys)

    @property
    def takes_value(self) -> bool:
        return self.kind is not Kind.SWITCH


LOGLEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
WEB_UI = "Locust's web UI"

F = Flag
K = Kind

FLAGS: tuple[Flag, ...] = (
    # -- the locustfile and the configuration file (get_empty_argument_parser)
    F(("-f", "--locustfile"), "locustfile", K.TEXT, "locustfile.py", "LOCUST_LOCUSTFILE"),
    F(("--config",), "config", K.TEXT),
    # -- common options
    F(("-H", "--host"), "host", K.TEXT, None, "LOCUST_HOST"),
    F(("-u", "--users"), "num_users", K.INT, None, "LOCUST_USERS"),
    F(("-r", "--spawn-rate"), "spawn_rate", K.RATE, None, "LOCUST_SPAWN_RATE"),
    F(("-t", "--run-time"), "run_time", K.TIMESPAN, None, "LOCUST_RUN_TIME"),
    F(("-l", "--list"), "list_commands", K.SWITCH, False),
    F(
        ("--config-users",),
        "config_users",
        K.LIST,
        None,
        "LOCUST_CONFIG_USERS",
        Use.UNSUPPORTED,
        "set per-class settings in the locustfile",
    ),
    # -- web UI options
    F(("--web-host",), "web_host", K.TEXT, "", "LOCUST_WEB_HOST", Use.WEB),
    F(
        ("--web-host-display-name",),
        "web_host_display_name",
        K.TEXT,
        None,
        "LOCUST_WEB_HOST_DISPLAY_NAME",
        Use.WEB,
    ),
    F(("--web-port", "-P"), "web_port", K.INT, 8089, "LOCUST_WEB_PORT", Use.WEB),
    F(("--headless",), "headless", K.SWITCH, False, "LOCUST_HEADLESS"),
    F(("--autostart",), "autostart", K.SWITCH, False, "LOCUST_AUTOSTART", Use.WEB),
    F(("--autoquit",), "autoquit", K.INT, -1, "LOCUST_AUTOQUIT", Use.WEB),
    F(("--headful",), "headful", K.SWITCH, False, "LOCUST_HEADFUL"),
    F(
        ("--web-auth",),
        "web_auth",
        K.TEXT,
        None,
        "LOCUST_WEB_AUTH",
        Use.REMOVED,
        "replaced by --web-login in Locust",
    ),
    F(("--web-login",), "web_login", K.SWITCH, False, "LOCUST_WEB_LOGIN", Use.WEB),
    F(("--tls-cert",), "tls_cert", K.TEXT, "", "LOCUST_TLS_CERT", Use.WEB),
    F(("--tls-key",), "tls_key", K.TEXT, "", "LOCUST_TLS_KEY", Use.WEB),
    F(("--class-picker",), "class_picker", K.SWITCH, False, "LOCUST_USERCLASS_PICKER", Use.WEB),
    F(("--build-path",), "build_path", K.TEXT, "", "LOCUST_BUILD_PATH", Use.WEB),
    F(
        ("--legacy-ui",),
        "legacy_ui",
        K.SWITCH,
        False,
        "LOCUST_LEGACY_UI",
        Use.REMOVED,
        "no longer supported by Locust; remove it",
    ),
    F(("--web-base-path",), "web_base_path", K.TEXT, "", "LOCUST_WEB_BASE_PATH", Use.WEB),
    # -- master options
    F(("--master",), "master", K.SWITCH, False, "LOCUST_MODE_MASTER"),
    F(("--master-bind-host",), "master_bind_host", K.TEXT, "*", "LOCUST_MASTER_BIND_HOST"),
    F(("--master-bind-port",), "master_bind_port", K.INT, 5557, "LOCUST_MASTER_BIND_PORT"),
    F(("--expect-workers",), "expect_workers", K.POSITIVE_INT, 1, "LOCUST_EXPECT_WORKERS"),
    F(
        ("--expect-workers-max-wait",),
        "expect_workers_max_wait",
        K.INT,
        0,
        "LOCUST_EXPECT_WORKERS_MAX_WAIT",
    ),
    F(
        ("--enable-rebalancing",),
        "enable_rebalancing",
        K.SWITCH,
        False,
        None,
        Use.UNSUPPORTED,
        "users are not moved between workers during a run",
    ),
    F(
        ("--expect-slaves",),
        "expect_slaves",
        K.SWITCH,
        False,
        None,
        Use.REMOVED,
        "renamed --expect-workers in Locust",
    ),
    # -- worker options
    F(("--worker",), "worker", K.SWITCH, False, "LOCUST_MODE_WORKER"),
    F(("--processes",), "processes", K.INT, None, "LOCUST_PROCESSES"),
    F(("--slave",), "slave", K.SWITCH, False, None, Use.REMOVED, "renamed --worker in Locust"),
    F(("--master-host",), "master_host", K.TEXT, "127.0.0.1", "LOCUST_MASTER_NODE_HOST"),
    F(("--master-port",), "master_port", K.INT, 5557, "LOCUST_MASTER_NODE_PORT"),
    # -- tags
    F(("-T", "--tags"), "tags", K.LIST, None, "LOCUST_TAGS"),
    F(("-E", "--exclude-tags"), "exclude_tags", K.LIST, None, "LOCUST_EXCLUDE_TAGS"),
    # -- request statistics
    F(("--csv",), "csv_prefix", K.TEXT, None, "LOCUST_CSV"),
    F(("--csv-full-history",), "stats_history_enabled", K.SWITCH, False, "LOCUST_CSV_FULL_HISTORY"),
    F(("--print-stats",), "print_stats", K.SWITCH, False, "LOCUST_PRINT_STATS"),
    F(("--only-summary",), "only_summary", K.SWITCH, False, "LOCUST_ONLY_SUMMARY"),
    F(("--reset-stats",), "reset_stats", K.SWITCH, False, "LOCUST_RESET_STATS"),
    F(("--html",), "html_file", K.TEXT, None, "LOCUST_HTML"),
    F(
        ("--json",),
        "json",
        K.SWITCH,
        False,
        None,
        Use.UNSUPPORTED,
        "Locust's JSON stats are not written; use --csv or --html",
    ),
    F(
        ("--json-file",),
        "json_file",
        K.TEXT,
        None,
        None,
        Use.UNSUPPORTED,
        "Locust's JSON stats are not written; use --csv or --html",
    ),
    # -- logging
    F(("--skip-log-setup",), "skip_log_setup", K.SWITCH, False, "LOCUST_SKIP_LOG_SETUP"),
    F(("--loglevel", "-L"), "loglevel", K.LOGLEVEL, "INFO", "LOCUST_LOGLEVEL", choices=LOGLEVELS),
    F(("--logfile",), "logfile", K.TEXT, None, "LOCUST_LOGFILE"),
    # -- other options
    F(("--show-task-ratio",), "show_task_ratio", K.SWITCH, False),
    F(("--show-task-ratio-json",), "show_task_ratio_json", K.SWITCH, False),
    F(("--version", "-V"), "version", K.SWITCH, False),
    F(("--exit-code-on-error",), "exit_code_on_error", K.INT, 1, "LOCUST_EXIT_CODE_ON_ERROR"),
    F(("-s", "--stop-timeout"), "stop_timeout", K.TIMESPAN, 0, "LOCUST_STOP_TIMEOUT"),
    F(("--equal-weights",), "equal_weights", K.SWITCH, False),
    F(("--profile",), "profile", K.TEXT, None),
    F(
        ("--otel",),
        "otel",
        K.SWITCH,
        False,
        "LOCUST_ENABLE_OPENTELEMETRY",
        Use.UNSUPPORTED,
        "no OpenTelemetry instrumentation",
    ),
    F(("-h", "--help"), "help", K.SWITCH, False),
    # -- locust-plugins
    F(("-i", "--iterations"), "iterations", K.INT, 0, "LOCUST_ITERATIONS"),
)

# User class names: the positional arguments, else $LOCUST_USER_CLASSES (space-separated).
USER_CLASSES_ENV = "LOCUST_USER_CLASSES"

BY_DEST: dict[str, Flag] = {f.dest: f for f in FLAGS}


def flags_help() -> str:
    """The flags by what ``locust run`` does with them, for its ``--help``."""
    groups = (
        (Use.RUN, "Locust's flags, with Locust's meanings"),
        (Use.WEB, f"accepted; the dashboard is used instead of {WEB_UI}"),
        (Use.UNSUPPORTED, "refused, with one line saying why"),
    )
    out = []
    for use, title in groups:
        names = ", ".join(f.label for f in FLAGS if f.use is use)
        out.append(
            f"{title}:\n"
            + textwrap.fill(
                names, 78, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
            )
        )
    return "\n".join(out)


__all__ = [
    "BY_DEST",
    "FLAGS",
    "Flag",
    "Kind",
    "LOGLEVELS",
    "USER_CLASSES_ENV",
    "Use",
    "WEB_UI",
    "flags_help",
]
