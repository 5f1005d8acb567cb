"""Mistakes on the command line: one line naming what was wrong, and a hint, exit 2."""

from __future__ import annotations

import pytest

from tui_loadtest.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench"], "tui-loadtest bench: error: the following arguments are required: URL"),
        (["run", "--users", "x"], "argument -u/-c/--users: expected a positive integer, got 'x'"),
        (["serve", "--port", "70000"], "argument --port: expected a port number between 0 and"),
        (["nosuch"], "argument COMMAND: invalid choice: 'nosuch'"),
        (["baselines", "compare", "a"], "the following arguments are required: B"),
    ],
)
def test_a_usage_error_is_one_line_and_a_hint(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # not the usage block
    assert expected in err
    assert err.rstrip().endswith("--help)")


def test_locusts_host_flag_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """``-H http://host`` is Locust's host flag; here -H is a header (as in curl)."""
    assert main(["run", "-H", "http://127.0.0.1:9", "--no-ui"]) == 2
    err = capsys.readouterr().err
    assert "--host http://127.0.0.1:9" in err and err.count("\n") == 1


def test_a_duration_in_two_words_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """``-t 5 min`` takes "min" as the scenario file: say what happened instead."""
    assert main(["run", "-t", "5", "min", "--no-ui"]) == 2
    assert "-t 5 min: a duration is one word, like -t 5m" in capsys.readouterr().err


def test_bench_names_the_argument_that_is_too_large(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "http://127.0.0.1:1/", "10", "200000"])
    assert "argument CONCURRENT_USERS: expected at most 100000 users" in capsys.readouterr().err
