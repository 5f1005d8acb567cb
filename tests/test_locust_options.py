"""Locust's command line read as Locust reads it (``tui_loadtest.locust.options``).

The main check is differential: each case (a command line, LOCUST_* variables, and
configuration files in a working folder and a home folder) is read by real Locust's
own parser (``locust.argument_parser.get_parser``, in one subprocess for all cases)
and by ours, and the values must be the same, or both must refuse it. Then what is
ours alone: web UI flags, refused flags, the locustfile's own flags, files, messages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest

from tui_loadtest.cli import main
from tui_loadtest.errors import UsageError
from tui_loadtest.locust.custom_flags import custom_flags
from tui_loadtest.locust.flags import FLAGS, Use
from tui_loadtest.locust.locustfiles import (
    flags_of_locustfiles,
    locustfile_option,
    resolve_locustfiles,
)
from tui_loadtest.locust.options import LocustOptions, parse_locust_args, timespan

CORPUS = Path(__file__).parent / "locustfiles"

# Real Locust's parser, on every case in turn: its values as JSON, or how it exited.
ORACLE = r"""
import contextlib, io, json, os, sys
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"  # the parser only: no gevent patching
from locust.argument_parser import get_parser

results = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["env"])
    os.chdir(case["cwd"])
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            ns = get_parser().parse_args(case["argv"])
    except SystemExit as e:
        results.append({"exit": e.code, "stderr": err.getvalue()})
        continue
    values = vars(ns)
    if values.get("headful"):  # what locust/main.py does right after parsing
        values["headless"] = False
    results.append({"values": values})
print(json.dumps(results, default=str))
"""


@dataclass
class Case:
    id: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # "cwd/locust.conf": text


GUIDE = "-f locustfile.py --host=http://localhost:5000"
CASES = [
    # the guide's command lines, with `locust` taken away
    Case("guide-web", GUIDE.split()),
    Case(
        "guide-headless",
        f"{GUIDE} --users=1000 --spawn-rate=10 --headless --run-time=5m".split(),
    ),
    Case("guide-master", f"{GUIDE} --master".split()),
    Case("guide-worker", f"{GUIDE} --worker".split()),
    Case(
        "guide-html",
        f"{GUIDE} --users=1000 --spawn-rate=10 --run-time=5m --headless --html=report.html".split(),
    ),
    Case("guide-scenario", f"{GUIDE} --users=500 --spawn-rate=10 --run-time=5m".split()),
    # spellings argparse accepts
    Case("short-flags", ["-H", "http://h", "-u", "10", "-r", "2.5", "-t", "90", "-l"]),
    Case("attached", ["-u5", "-r=2", "-t1h30m", "--users=7", "-Lwarning"]),
    Case(
        "abbreviated",
        ["--user", "5", "--run", "3m", "--spawn", "2", "--exit", "4", "--stop", "10s"],
    ),
    Case("ambiguous", ["--mast"]),
    Case("ambiguous-head", ["--head"]),
    Case("clustered-switch", ["-lT", "x"]),
    Case("negative-number", ["--exit-code-on-error", "-1", "--processes", "-1"]),
    Case(
        "distributed",
        [
            "--master",
            "--expect-workers",
            "2",
            "--master-bind-host",
            "0.0.0.0",
            "--master-bind-port",
            "6000",
        ],
    ),
    Case(
        "worker",
        ["--worker", "--master-host", "10.0.0.1", "--master-port", "6001", "--processes", "4"],
    ),
    Case(
        "reports",
        [
            "--csv",
            "out/run",
            "--csv-full-history",
            "--html",
            "r.html",
            "--reset-stats",
            "--only-summary",
        ],
    ),
    Case(
        "other",
        [
            "-s",
            "1m",
            "--equal-weights",
            "--profile",
            "nightly",
            "-L",
            "debug",
            "--logfile",
            "l.txt",
            "--skip-log-setup",
        ],
    ),
    Case("show-ratio", ["--show-task-ratio", "--show-task-ratio-json"]),
    Case(
        "web-flags",
        [
            "--web-port",
            "9000",
            "-P",
            "9001",
            "--web-host",
            "127.0.0.1",
            "--autostart",
            "--autoquit",
            "5",
            "--class-picker",
        ],
    ),
    Case("headful", ["--headless", "--headful"]),
    # lists and user classes
    Case("tags", ["--tags", "a", "b", "-E", "c"]),
    Case("tags-empty", ["--tags"]),
    Case("tags-twice", ["--tags", "a", "--tags", "b"]),
    Case("tags-attached", ["--tags=a", "B"]),
    Case("tags-swallow-classes", ["--exclude-tags", "x", "UserA"]),
    Case("classes", ["-f", "f.py", "-u", "3", "UserA", "UserB"]),
    Case("classes-first", ["UserA", "-f", "f.py"]),
    Case("classes-split", ["-f", "f.py", "UserA", "-u", "5", "UserB"]),
    Case("classes-after-dashes", ["-u", "2", "--", "UserA", "UserB"]),
    # bad values
    Case("users-not-a-number", ["-u", "ten"]),
    Case("rate-zero", ["-r", "0"]),
    Case("rate-negative", ["-r", "-1"]),
    Case("rate-nan", ["-r", "nan"]),
    Case("rate-inf", ["-r", "inf"]),
    Case("run-time-bad", ["-t", "5x"]),
    Case("run-time-minutes-only", ["-t", "1h30"]),
    Case("expect-workers-zero", ["--expect-workers", "0"]),
    Case("loglevel-bad", ["-L", "loud"]),
    Case("missing-value", ["-u"]),
    Case("missing-value-flag-next", ["--host", "--headless"]),
    Case("switch-with-value", ["--headless=true"]),
    Case("unknown", ["--no-such-flag"]),
    # LOCUST_* variables
    Case(
        "env",
        [],
        env={
            "LOCUST_USERS": "9",
            "LOCUST_HOST": "http://e",
            "LOCUST_RUN_TIME": "1m",
            "LOCUST_LOCUSTFILE": "e.py",
        },
    ),
    Case("env-under-cli", ["-u", "3"], env={"LOCUST_USERS": "9"}),
    Case(
        "env-switches",
        [],
        env={"LOCUST_HEADLESS": "yes", "LOCUST_RESET_STATS": "1", "LOCUST_MODE_MASTER": "off"},
    ),
    Case("env-switch-bad", [], env={"LOCUST_HEADLESS": "maybe"}),
    Case("env-tags-text", [], env={"LOCUST_TAGS": "a b"}),
    Case("env-tags-list", [], env={"LOCUST_TAGS": "[a, b]", "LOCUST_EXCLUDE_TAGS": '["c"]'}),
    Case("env-tags-empty", [], env={"LOCUST_TAGS": ""}),
    Case("env-user-classes", [], env={"LOCUST_USER_CLASSES": "UserA UserB"}),
    Case("env-user-classes-under-cli", ["UserC"], env={"LOCUST_USER_CLASSES": "UserA"}),
    Case("env-bad-number", [], env={"LOCUST_USERS": "many"}),
    Case("env-stop-timeout", [], env={"LOCUST_STOP_TIMEOUT": "2m", "LOCUST_SPAWN_RATE": "0.5"}),
    # configuration files
    Case(
        "conf-syntax",
        [],
        files={
            "cwd/locust.conf": textwrap.dedent(
                """\
                # a comment
                ; another
                [locust]
                ---
                users = 5
                spawn-rate: 2
                --run-time 1m
                headless
                host = "http://quoted"   # trailing comment
                tags = [a, b]
                csv=out
                exclude-tags = solo
                """
            )
        },
    ),
    Case("conf-unknown-key", [], files={"cwd/locust.conf": "userz = 5\n"}),
    Case("conf-bad-switch", [], files={"cwd/locust.conf": "headless = maybe\n"}),
    Case("conf-list-for-one-value", [], files={"cwd/locust.conf": "host = [a, b]\n"}),
    Case(
        "pyproject",
        [],
        files={
            "cwd/pyproject.toml": textwrap.dedent(
                """\
                [project]
                name = "x"
                [tool.locust]
                users = 7
                headless = true
                tags = ["x", "y"]
                run-time = "2m"
                spawn-rate = 1.5
                """
            )
        },
    ),
    Case("pyproject-without-locust", [], files={"cwd/pyproject.toml": "[project]\nname = 'x'\n"}),
    Case("pyproject-invalid", [], files={"cwd/pyproject.toml": "[tool.locust\nusers = 1\n"}),
    Case(
        "config-toml",
        ["--config", "other.toml"],
        files={"cwd/other.toml": "[tool.locust]\nusers = 4\n"},
    ),
    Case("config-missing", ["--config", "nowhere.conf"]),
    # precedence, one source at a time taken away from the top
    *(
        Case(
            f"precedence-{i}",
            argv,
            env=env,
            files={
                "home/.locust.conf": "users = 1\nhost = http://home\n",
                "cwd/locust.conf": "users = 2\n",
                "cwd/pyproject.toml": "[tool.locust]\nusers = 3\n",
                "cwd/other.conf": "users = 4\n",
            },
        )
        for i, (argv, env) in enumerate(
            [
                (["-u", "6", "--config", "other.conf"], {"LOCUST_USERS": "5"}),
                (["--config", "other.conf"], {"LOCUST_USERS": "5"}),
                (["--config", "other.conf"], {}),
                ([], {}),
            ]
        )
    ),
    Case("precedence-home", [], files={"home/.locust.conf": "users = 1\n"}),
    Case(
        "precedence-conf-over-home",
        [],
        files={"home/.locust.conf": "users = 1\n", "cwd/locust.conf": "users = 2\n"},
    ),
    # a switch set false keeps lower sources from setting it
    Case(
        "false-env-blocks-file",
        [],
        env={"LOCUST_HEADLESS": "false"},
        files={"cwd/locust.conf": "headless = true\n"},
    ),
    Case(
        "false-file-blocks-home",
        [],
        files={"cwd/locust.conf": "headless = false\n", "home/.locust.conf": "headless\n"},
    ),
]

# Values compared: every LocustOptions field Locust's namespace has.
SKIPPED = {"help", "version", "config"}


def _materialise(case: Case, root: Path) -> tuple[Path, Path]:
    cwd, home = root / case.id / "cwd", root / case.id / "home"
    cwd.mkdir(parents=True)
    home.mkdir(parents=True)
    for name, text in case.files.items():
        (root / case.id / name).write_text(text, encoding="utf-8")
    return cwd, home


@pytest.fixture(scope="module")
def locust_reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path, Path]]:
    """Each case as real Locust's parser reads it (one subprocess for all)."""
    root = tmp_path_factory.mktemp("locust-options")
    places = {case.id: _materialise(case, root) for case in CASES}
    payload = [
        {
            "argv": c.argv,
            "env": {**c.env, "HOME": str(places[c.id][1])},
            "cwd": str(places[c.id][0]),
        }
        for c in CASES
    ]
    out = subprocess.run(
        [sys.executable, "-c", ORACLE],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout)
    return {c.id: (r, *places[c.id]) for c, r in zip(CASES, results, strict=True)}


def _ours(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_we_read_a_command_line_as_locust_does(
    locust_reads: dict[str, tuple[Any, Path, Path]], case: Case
) -> None:
    theirs, cwd, home = locust_reads[case.id]
    try:
        ours = parse_locust_args(case.argv, env=case.env, cwd=cwd, home=home)
    except UsageError as exc:
        assert "exit" in theirs, f"we refused ({exc}), Locust read {theirs['values']}"
        assert theirs["exit"] == 2
        assert str(exc).count("\n") == 0
        return
    assert "values" in theirs, f"Locust refused: {theirs['stderr']}"
    values = theirs["values"]
    names = [f.name for f in fields(LocustOptions) if f.name in values and f.name not in SKIPPED]
    assert len(names) > 40
    mine = {n: _ours(getattr(ours, n)) for n in names}
    assert mine == {n: values[n] for n in names}


# ------------------------------------------------------------ what is ours alone


def _parse(argv: list[str], **kw: Any) -> LocustOptions:
    return parse_locust_args(argv, env=kw.pop("env", {}), **kw)


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.use is Use.UNSUPPORTED], ids=str)
def test_a_flag_not_supported_here_is_one_line_naming_it(
    flag: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["-f", str(CORPUS / "shop_http.py"), flag.long]
    if flag.takes_value:
        argv.append("x.json" if flag.long != "--config-users" else '{"user_class_name": "U"}')
    assert main(["locust", "run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{flag.long} is not supported by tui-loadtest: {flag.why}" in err


def test_a_refused_flag_from_a_variable_or_a_file_says_where(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^LOCUST_ENABLE_OPENTELEMETRY: --otel is not supported"):
        _parse([], env={"LOCUST_ENABLE_OPENTELEMETRY": "true"})
    assert _parse([], env={"LOCUST_ENABLE_OPENTELEMETRY": "false"}).notes == ()
    (tmp_path / "locust.conf").write_text("json = true\n")
    with pytest.raises(UsageError, match=r"^locust.conf: --json is not supported"):
        _parse([], cwd=tmp_path, home=tmp_path / "nohome")


@pytest.mark.parametrize(
    ("flag", "hint"),
    [
        ("--slave", "renamed --worker"),
        ("--expect-slaves", "renamed --expect-workers"),
        ("--legacy-ui", "no longer supported"),
        ("--web-auth=a:b", "replaced by --web-login"),
    ],
)
def test_flags_locust_itself_refuses_keep_its_hint(flag: str, hint: str) -> None:
    with pytest.raises(UsageError, match=hint):
        _parse([flag])


def test_web_ui_flags_are_accepted_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    options = _parse(["--web-port", "9000", "--autostart", "--web-host", "0.0.0.0"])
    assert options.web_port == 9000 and options.autostart
    assert options.notes == (
        "--autostart, --web-host, --web-port: options of Locust's web UI;"
        " the dashboard is used instead",
    )
    headless = _parse(["--headless", "--web-port", "1"], env={"LOCUST_AUTOSTART": "true"})
    assert headless.notes == (
        "--autostart, --web-port: options of Locust's web UI; not used: --headless runs"
        " without a UI",
    )
    assert _parse(["--headless"]).notes == ()
    # the command prints it once, on stderr, before the run
    main(["locust", "run", "-f", str(CORPUS / "shop_http.py"), "--web-port", "9000"])
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "tui-loadtest: --web-port: options of Locust's web UI; the dashboard is used instead"
    )


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--no-such"], {}, "--no-such: not a Locust flag"),
        (["--user-classes"], {}, "--user-classes: not a Locust flag"),
        (["--runtime", "5m"], {}, "--runtime: not a Locust flag (did you mean --run-time?)"),
        (["-x"], {}, "-x: not a Locust flag"),
        (["-u", "ten"], {}, "-u/--users: expected a whole number, got 'ten'"),
        ([], {"LOCUST_USERS": "ten"}, "LOCUST_USERS: -u/--users: expected a whole number"),
        ([], {"LOCUST_HEADLESS": "maybe"}, "LOCUST_HEADLESS: --headless: expected true or false"),
        (["-t", "5 min"], {}, "-t/--run-time: expected a time span such as 20, 20s, 3m"),
        (["-r", "0"], {}, "-r/--spawn-rate: expected a number above 0, got '0'"),
        (["--csv-full-history"], {}, "--csv-full-history requires --csv"),
        (["--master", "--worker"], {}, "--master cannot be combined with --worker"),
        (["--master", "--processes", "2"], {}, "--master cannot be combined with --processes"),
        (["--processes", "-2"], {}, "--processes: expected a number of processes"),
        (["-u", "-3"], {}, "-u/--users: expected 0 or more users, got -3"),
        (["A", "-u", "1", "B"], {}, "B: unexpected here (user class names go together"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError) as err:
        _parse(argv, env=env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_config_file_mistake_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text("usres = 5\n")
    with pytest.raises(
        UsageError, match=r"^locust.conf: usres: not a Locust option \(did you mean users\?\)$"
    ):
        _parse([], cwd=tmp_path, home=tmp_path)
    (tmp_path / "locust.conf").write_text("= 5\n")
    with pytest.raises(UsageError, match=r"^locust.conf: line 1 is not a setting: = 5$"):
        _parse([], cwd=tmp_path, home=tmp_path)


def test_the_origin_of_each_value_is_kept(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text("users = 2\nhost = http://conf\n")
    options = _parse(["-t", "1m"], env={"LOCUST_USERS": "5"}, cwd=tmp_path, home=tmp_path / "h")
    assert options.origin("run_time") == "command line"
    assert options.origin("num_users") == "LOCUST_USERS"
    assert options.origin("host") == "locust.conf"
    assert options.origin("spawn_rate") == "default"


def test_parsed_options_as_a_locustfile_reads_them() -> None:
    ns = _parse(["-H", "http://h", "-t", "2m", "--tags", "a", "--headless"]).parsed_options()
    assert (ns.host, ns.run_time, ns.tags, ns.headless) == ("http://h", 120, ["a"], True)
    # as Locust sets them when a test starts without -u or -r
    assert (ns.num_users, ns.spawn_rate) == (1, 1)
    # Locust's names for what is not used here are still there (a locustfile may read them)
    assert (ns.json, ns.otel, ns.web_port, ns.config_users) == (False, False, 8089, None)
    assert _parse(["--worker"]).parsed_options().num_users is None


def test_html_file_names_take_users_rate_and_time() -> None:
    options = _parse(["--html", "report_{u}_{r}_{t}.html", "-u", "100", "-r", "2.5", "-t", "1m"])
    assert options.html_path() == "report_100_2.5_60.html"
    assert _parse(["--html", "r_{u}.html"]).html_path() == "r_{u}.html"
    assert _parse([]).html_path() is None


def test_modes_and_processes() -> None:
    assert _parse([]).mode == "standalone"
    assert _parse(["--master"]).mode == "master"
    assert _parse(["--worker"]).mode == "worker"
    assert _parse(["--processes", "-1"]).process_count >= 1  # type: ignore[operator]
    assert _parse(["--processes", "3"]).process_count == 3
    assert _parse(["-i", "50"]).iterations == 50
    assert _parse([], env={"LOCUST_ITERATIONS": "7"}).iterations == 7


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20", 20), ("20s", 20), ("3m", 180), ("2h", 7200), ("1h30m", 5400), ("3h30m10s", 12610)],
)
def test_timespans(text: str, seconds: int) -> None:
    assert timespan(text) == seconds


@pytest.mark.parametrize("text", ["", "1h30", "5x", "m", "1.5m", "-1", "30s1m"])
def test_bad_timespans(text: str) -> None:
    with pytest.raises(ValueError):
        timespan(text)


# ------------------------------------------------------ the locustfile's own flags


def test_a_locustfiles_own_flags_are_found_and_read(tmp_path: Path) -> None:
    flags = custom_flags((CORPUS / "custom_option.py").read_text())
    assert [(f.long, f.dest, f.kind.value, f.default, f.env) for f in flags] == [
        ("--page-size", "page_size", "int", 20, "LOCUST_PAGE_SIZE")
    ]
    assert dict(_parse([], extra_flags=flags).custom) == {"page_size": 20}
    assert dict(_parse(["--page-size", "7"], extra_flags=flags).custom) == {"page_size": 7}
    env = {"LOCUST_PAGE_SIZE": "9"}
    assert dict(_parse([], env=env, extra_flags=flags).custom) == {"page_size": 9}
    (tmp_path / "locust.conf").write_text("page-size = 3\n")
    from_file = _parse([], extra_flags=flags, cwd=tmp_path, home=tmp_path / "h")
    assert from_file.parsed_options().page_size == 3
    with pytest.raises(UsageError, match="--page-size: not a Locust flag"):
        _parse(["--page-size", "7"])  # without the file's flags


def test_custom_flag_kinds() -> None:
    source = textwrap.dedent(
        """\
        from locust import events

        @events.init_command_line_parser.add_listener
        def _(parser):
            group = parser.add_argument_group("mine")
            group.add_argument("--quiet", action="store_true")
            parser.add_argument("--loud", action="store_false", dest="noisy")
            parser.add_argument("-Z", "--ratio", type=float, default="0.5")
            parser.add_argument("--region", choices=["eu", "us"], default="eu")
            parser.add_argument("--ids", nargs="*")
            parser.add_argument("--token", default=make_token(), is_secret=True)
            parser.add_argument("positional")
        """
    )
    flags = custom_flags(source)
    assert [f.long for f in flags] == [
        "--quiet",
        "--loud",
        "--ratio",
        "--region",
        "--ids",
        "--token",
    ]
    options = _parse(["--quiet", "--loud", "-Z", "2", "--ids", "1", "2"], extra_flags=flags)
    custom = dict(options.custom)
    assert custom == {
        "quiet": True,
        "noisy": False,
        "ratio": 2.0,
        "region": "eu",
        "ids": ("1", "2"),
        "token": None,
    }
    assert dict(_parse([], extra_flags=flags).custom)["ratio"] == 0.5
    with pytest.raises(UsageError, match="expected one of eu, us"):
        _parse(["--region", "asia"], extra_flags=flags)
    clash = custom_flags('parser.add_argument("--host")\n')
    with pytest.raises(UsageError, match="adds a flag --host, which Locust already has"):
        _parse([], extra_flags=clash)


def test_the_command_reads_the_locustfiles_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """The file's own --page-size is a flag of the command (Locust's would refuse a flag
    it does not know: so do we, in one line)."""
    file = str(CORPUS / "custom_option.py")
    assert main(["locust", "run", "-f", file, "--page-size", "7", "-l"]) == 0
    assert capsys.readouterr().out.split() == ["Available", "Users:", "Pager"]
    assert main(["locust", "run", "-f", file, "--page-sise", "7", "-l"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--page-sise" in err[0], err


# ---------------------------------------------------------------- the locustfiles


def test_the_locustfile_option_has_the_same_precedence(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert locustfile_option([], env={}, cwd=tmp_path, home=home) == "locustfile.py"
    (home / ".locust.conf").write_text("locustfile = h.py\n")
    assert locustfile_option([], env={}, cwd=tmp_path, home=home) == "h.py"
    (tmp_path / "locust.conf").write_text("locustfile = c.py\n")
    assert locustfile_option([], env={}, cwd=tmp_path, home=home) == "c.py"
    (tmp_path / "other.conf").write_text("--locustfile o.py\n")
    argv = ["--config", "other.conf", "-u", "5"]
    assert locustfile_option(argv, env={}, cwd=tmp_path, home=home) == "o.py"
    env = {"LOCUST_LOCUSTFILE": "e.py"}
    assert locustfile_option(argv, env=env, cwd=tmp_path, home=home) == "e.py"
    for spelled in (["-f", "a.py"], ["-fa.py"], ["--locustfile=a.py"], ["--locust", "a.py"]):
        assert locustfile_option([*spelled, "-u", "1"], env=env, cwd=tmp_path, home=home) == "a.py"


def test_locustfiles_resolve_as_locust_finds_them(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for name in ("pkg/a.py", "pkg/sub/b.py", "pkg/_helper.py", "pkg/notes.txt", "c.py"):
        (tmp_path / name).write_text("")
    found = resolve_locustfiles("pkg, c.py", tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "pkg/a.py",
        "pkg/sub/b.py",
        "c.py",
    ]
    for bad, message in [
        ("missing.py", "-f missing.py: no such locustfile"),
        ("pkg/notes.txt", "no such locustfile (a .py file, or a folder of them)"),
        ("http://example.com/f.py", "a locustfile URL is not supported; download it first"),
        ("-", "fetching the locustfile from the master is not supported"),
    ]:
        with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            resolve_locustfiles(bad, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no locustfiles"):
        resolve_locustfiles("empty", tmp_path)


def test_flags_of_locustfiles_skip_a_file_that_does_not_parse() -> None:
    paths = [CORPUS / "bad" / "syntax_error.py", CORPUS / "custom_option.py"]
    assert [f.long for f in flags_of_locustfiles(paths)] == ["--page-size"]
