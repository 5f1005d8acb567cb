"""Prometheus text-format endpoints: fetch, pick series, turn counters into rates.

Parsing is ``prometheus_client.parser`` (the reference implementation of the
text format). Fetching is the standard library's, in the monitor's own thread
in the coordinator's process: never on a worker's load loop, and without httpx
(the coordinator's process does not load it).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from ..scenario.model import MAX_SCRAPED_SERIES, MetricSelector

MAX_BODY = 16 * 1024 * 1024  # an exporter's page; more is not a metrics page
ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
_RATE_SUFFIXES = ("_total", "_count", "_sum", "_bucket")  # of counters, summaries, histograms


@dataclass(frozen=True, slots=True)
class Sample:
    key: str  # "name{a="b"}": unique in one page
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    counter: bool  # counts up: shown as a per-second rate


def fetch(url: str, timeout: float) -> str:
    """The page's text; raises OSError (urllib's errors are OSErrors) or ValueError."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    with opener.open(request, timeout=timeout) as response:
        body = response.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise ValueError(f"more than {MAX_BODY // (1024 * 1024)} MB: not a metrics page")
    return body.decode("utf-8", "replace")


def parse(text: str, selectors: Sequence[MetricSelector]) -> list[Sample]:
    """The samples to keep: those the selectors match, or (without selectors) every
    counter and gauge (histogram buckets and ``_created`` timestamps left out)."""
    out: list[Sample] = []
    for family in text_string_to_metric_families(text):
        counting = family.type in ("counter", "histogram", "summary", "gaugehistogram")
        for s in family.samples:
            labels = tuple(sorted(s.labels.items()))
            if selectors:
                if not any(sel.matches(s.name, s.labels) for sel in selectors):
                    continue
            elif s.name.endswith(("_created", "_bucket")) or family.type == "info":
                continue
            counter = (
                counting and s.name.endswith(_RATE_SUFFIXES) and family.type != "gaugehistogram"
            )
            out.append(Sample(series_key(s.name, labels), s.name, labels, float(s.value), counter))
    return out


def series_key(name: str, labels: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}" if inner else name


def cap(samples: list[Sample], known: set[str]) -> tuple[list[Sample], int]:
    """At most MAX_SCRAPED_SERIES series, the ones already kept first; how many went."""
    kept = [s for s in samples if s.key in known]
    for s in samples:
        if len(kept) >= MAX_SCRAPED_SERIES:
            break
        if s.key not in known:
            kept.append(s)
    return kept, len(samples) - len(kept)
