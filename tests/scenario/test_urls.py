"""Target URLs: which hosts are accepted and what the errors say."""

from __future__ import annotations

import pytest

from tui_loadtest.scenario import normalize_host

# -------------------------------------------------------------- hosts and bench


@pytest.mark.parametrize(
    ("text", "host"),
    [
        (None, None),
        ("", None),
        ("demo", None),
        (" DEMO ", None),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("HTTPS://example.com", "https://example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_normalize_host(text: str | None, host: str | None) -> None:
    assert normalize_host(text) == host


@pytest.mark.parametrize(
    "bad",
    [
        "localhost",
        "ftp://x",
        "http://",
        "http://h:99999",
        "http://h:",
        "http://h/x",
        "http://h?q=1",
        "http://a:b@h",
        "http://h x",
    ],
)
def test_normalize_host_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^expected "):
        normalize_host(bad)
