"""``locust.util.timespan``: Locust's ``parse_timespan``, for a locustfile's own options
(``--ramp 5m``) read as Locust reads ``-t``."""

from __future__ import annotations

import re

_SPAN = re.compile(r"(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?(?:(?P<seconds>\d+)s)?")
_HINT = "Invalid time span format. Valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc."


def parse_timespan(time_str: str) -> int:
    """Whole seconds from ``20``, ``20s``, ``3m``, ``2h``, ``1h20m``, ``3h30m10s``."""
    if not time_str:
        raise ValueError("Invalid time span format")
    if time_str.isdigit():
        return int(time_str)
    found = _SPAN.fullmatch(time_str)
    if found is None or not any(found.groupdict().values()):
        raise ValueError(_HINT)
    parts = {k: int(v) for k, v in found.groupdict().items() if v}
    return parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)


__all__ = ["parse_timespan"]
