"""``[[data]]`` files in a real run: which values are scrubbed from what the run writes,
how often the scrubbing is prepared, and what start-up says while a large file loads.

A 1M-row file once meant 10 s of silence, every value of four characters or more
treated as a secret (2M of them sorted for every error message) and error messages
read as "<redacted> 404" because a row held the word "HTTP" (issue 24 item 6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_loadtest.cli import main
from tui_loadtest.scenario import redact

ROWS = 250_000  # the hostile case was 1M: a quarter keeps the test near 2 s


def _scenario(folder: Path, url: str, rows: list[str], header: str, extra: str = "") -> Path:
    (folder / "d.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    path = folder / "s.toml"
    path.write_text(
        f'host = "{url}"\n[load]\nusers = 2\nrequests = 40\n'
        '[[requests]]\npath = "/nope/{term}"\n'
        f'[[data]]\nfile = "d.csv"\n{extra}',
        encoding="utf-8",
    )
    return path


def test_a_data_word_does_not_blank_error_messages(
    demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = ["HTTP,alice-1,hunter22", "HTTP,bob-2,hunter33"]
    path = _scenario(tmp_path, demo_url, rows, "term,username,password")
    out = tmp_path / "r.json"
    assert main(["run", str(path), "--no-ui", "--out", str(out)]) == 0
    errors = json.loads(out.read_text())["errors"]
    assert [(e["kind"], e["message"]) for e in errors] == [("http", "HTTP 404")]
    printed = capsys.readouterr()
    assert "HTTP 404" in printed.out and "<redacted>" not in printed.out + printed.err


def test_secret_values_are_prepared_once_per_run(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every error message, event and log line is scrubbed by one Redactor built at start."""
    rows = [f"t{i:05d},pw-{i:06d}" for i in range(2000)]
    path = _scenario(tmp_path, demo_url, rows, "term,password")
    built: list[int] = []
    scrubbed: list[str] = []
    real = redact.Redactor

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, secrets) -> None:  # noqa: ANN001
            super().__init__(secrets)
            built.append(len(self.secrets))

        def __call__(self, text: str) -> str:
            scrubbed.append(text)
            return super().__call__(text)

    monkeypatch.setattr(redact, "Redactor", Counting)
    import tui_loadtest.engine.coordinator as coordinator

    monkeypatch.setattr(coordinator, "Redactor", Counting)
    assert main(["run", str(path), "--no-ui", "--out", str(tmp_path / "r.json")]) == 0
    assert built == [2000]  # the passwords, once
    assert "HTTP 404" in scrubbed  # and it did scrub the run's error messages


def test_a_large_file_says_what_it_is_loading(
    demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = [f"term{i:07d},u{i:07d}" for i in range(60_000)]
    path = _scenario(tmp_path, demo_url, rows, "term,user_id")
    size = (tmp_path / "d.csv").stat().st_size
    assert main(["run", str(path), "--no-ui"]) == 0
    printed = capsys.readouterr()
    said = [line for line in printed.err.splitlines() if "d.csv" in line]
    assert said == [f"tui-loadtest: data[1]: reading d.csv ({size / 1e6:.1f} MB)"]
    # A small file is read without a word.
    _scenario(tmp_path, demo_url, rows[:10], "term,user_id")
    assert main(["run", str(path), "--no-ui"]) == 0
    assert "d.csv" not in capsys.readouterr().err


def test_many_rows_load_small_and_without_secrets(tmp_path: Path) -> None:
    """The hostile case, a quarter of it: 250k rows (5 MB; 1M took 7 s under tracemalloc).
    Loaded, they hold little more memory than the file's size (a tuple per row held ~9
    times as much, in the coordinator and again in every worker), and none of their
    values is a secret."""
    import pickle
    import tracemalloc

    from tui_loadtest.scenario import load_scenario

    csv = tmp_path / "big.csv"
    with csv.open("w", encoding="utf-8") as fh:
        fh.write("query,user_id\n")
        fh.writelines(f"term{i:07d},u{i:07d}\n" for i in range(ROWS))
    size = csv.stat().st_size
    (tmp_path / "s.toml").write_text(
        '[[requests]]\npath = "/s?q={query}&u={user_id}"\n[[data]]\nfile = "big.csv"\n'
    )
    tracemalloc.start()
    try:
        sc = load_scenario(tmp_path / "s.toml")
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (data,) = sc.data
    assert len(data.rows) == ROWS and data.rows[-1] == (f"term{ROWS - 1:07d}", f"u{ROWS - 1:07d}")
    assert not sc.secrets and data.secret_columns == ()
    assert held < 2 * size, f"{held / 1e6:.0f} MB held for a {size / 1e6:.0f} MB file"
    assert len(pickle.dumps(sc)) < 2 * size  # what each worker receives
