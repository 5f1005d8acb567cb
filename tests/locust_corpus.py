"""What each locustfile of the corpus (tests/locustfiles/) should produce, run against
``LocustTarget``: which server requests each of its rows stands for, which rows always
fail and with which message (as real Locust 2.x records it), and how its run ends.

The same expectations hold for real Locust (tests/test_locust_parity.py checks them)
and for our engine running the same file: a run's rows, multiplied out by ``hops``,
must equal what the server counted, exactly.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .locust_parity import CORPUS, CsvRows, RowKey

OTHER = "other:"  # a server key's path with this prefix was counted on the other port

ServerKey = tuple[str, str]  # (method, path), path prefixed with OTHER for the other port


def http_error(status: int, reason: str, name: str) -> str:
    """HttpUser's failure message for a status >= 400 (the row's name stands for the URL)."""
    kind = "Client" if status < 500 else "Server"
    return f"HTTPError('{status} {kind} Error: {reason} for url: {name}')"


def check_failed(message: str) -> str:
    """A catch_response failure(message), as Locust's failures CSV writes it."""
    return f"CatchResponseError({message!r})"


@dataclass(frozen=True)
class CorpusFile:
    """One corpus locustfile and what a run of it must show."""

    file: str
    # server requests per request of a row; a row absent here stands for one request to
    # its own (method, name without the query)
    hops: Mapping[RowKey, tuple[ServerKey, ...]] = field(default_factory=dict)
    # rows that fail every time -> their failure message (as Locust writes it)
    failing: Mapping[RowKey, str] = field(default_factory=dict)
    # server paths grouped under one key before comparing (e.g. /api/items/3 -> [id])
    group: Callable[[ServerKey], ServerKey] | None = None
    rows: frozenset[RowKey] = frozenset()  # every row a run shows (a short run may miss one)
    users: int | None = 4  # None: a LoadTestShape sets the users
    seconds: float | None = 3  # None: the file ends its run itself
    args: tuple[str, ...] = ()  # extra Locust command-line arguments
    user_classes: tuple[str, ...] = ()  # user classes named on the command line
    exit_code: int = 0  # Locust's exit code for the run
    http: bool = True  # False: no HTTP at all (a custom client)

    @property
    def path(self) -> Path:
        return CORPUS / self.file

    def expected_server(self, rows: CsvRows) -> Counter[ServerKey]:
        """What the target should have counted for these rows."""
        out: Counter[ServerKey] = Counter()
        for key, row in rows.rows.items():
            for hop in self.hops.get(key, ((key[0], key[1].split("?")[0]),)):
                out[self._grouped(hop)] += row.requests
        return out

    def server_seen(
        self, main: Mapping[ServerKey, int], other: Mapping[ServerKey, int]
    ) -> Counter[ServerKey]:
        """The target's counts, both ports, keyed as ``expected_server`` keys them."""
        out: Counter[ServerKey] = Counter()
        for (method, path), n in main.items():
            out[self._grouped((method, path))] += n
        for (method, path), n in other.items():
            out[self._grouped((method, OTHER + path))] += n
        return out

    def _grouped(self, key: ServerKey) -> ServerKey:
        return self.group(key) if self.group else key

    def docstring(self) -> str:
        return ast.get_docstring(ast.parse(self.path.read_text(encoding="utf-8"))) or ""


def _item_ids(key: ServerKey) -> ServerKey:
    method, path = key
    parts = path.split("/")
    if (
        method == "GET"
        and len(parts) == 4
        and parts[:3] == ["", "api", "items"]
        and parts[3].isdigit()
        and 1 <= int(parts[3]) <= 10
    ):
        return ("GET", "/api/items/[id]")
    return key


R = tuple[str, str]


def _rows(*keys: R) -> frozenset[RowKey]:
    return frozenset(keys)


SHOP = CorpusFile(
    "shop_http.py",
    hops={
        ("GET", "stock check"): (("GET", "/api/items/42"),),
    },
    failing={
        ("GET", "stock check"): check_failed("price above budget: 1.25"),
        ("GET", "/catalog/2019"): http_error(404, "Not Found", "/catalog/2019"),
        ("GET", "/status/500"): http_error(500, "Internal Server Error", "/status/500"),
    },
    group=_item_ids,
    rows=_rows(
        ("GET", "/api/items"),
        ("GET", "/api/items/[id]"),
        ("GET", "/api/search?q=lamp&page=1"),
        ("POST", "/api/items"),
        ("GET", "stock check"),
        ("GET", "/api/items/0"),
        ("GET", "/catalog/2019"),
        ("GET", "/status/500"),
        ("POST", "/login"),
        ("POST", "/logout"),
    ),
    exit_code=1,
)

FAST = CorpusFile(
    "fast_catalog.py",
    hops={("POST", "create without name"): (("POST", "/api/items"),)},
    failing={
        ("POST", "create without name"): check_failed("rejected: the item has no name"),
        ("GET", "/status/500"): "LocustBadStatusCode(code=500)",
    },
    rows=_rows(
        ("GET", "/api/items"),
        ("GET", "/api/items/3"),
        ("HEAD", "/api/items"),
        ("OPTIONS", "/api/items"),
        ("POST", "/api/items"),
        ("POST", "create without name"),
        ("PUT", "/api/items/4"),
        ("PATCH", "/api/items/4"),
        ("DELETE", "/api/items/4"),
        ("GET", "/status/500"),
    ),
    exit_code=1,
)

FORUM = CorpusFile(
    "forum_tasksets.py",
    hops={
        ("GET", "/api/threads/1/posts?page=[n]"): (("GET", "/api/threads/1/posts"),),
        ("GET", "/moderation/queue"): (("GET", "/status/403"),),
    },
    failing={("GET", "/moderation/queue"): http_error(403, "Forbidden", "/moderation/queue")},
    rows=_rows(
        ("GET", "/api/forum"),
        ("GET", "/api/threads/latest"),
        ("GET", "/api/threads/1/posts?page=[n]"),
        ("GET", "/api/inbox"),
        ("GET", "/moderation/queue"),
    ),
    exit_code=1,
)

CHECKOUT = CorpusFile(
    "checkout_flow.py",
    hops={("POST", "pay"): (("POST", "/form"),)},
    rows=_rows(
        ("GET", "/api/cart"),
        ("POST", "/api/cart/address"),
        ("POST", "pay"),
        ("GET", "/"),
        ("GET", "/api/items/2"),
        ("GET", "/api/items/2/reviews"),
    ),
)

ACCOUNT = CorpusFile(
    "account_session.py",
    hops={
        ("GET", "/basic-auth"): (("GET", "/basic-auth/carol/pw"),),
        ("GET", "/basic-auth wrong password"): (("GET", "/basic-auth/carol/pw"),),
        ("POST", "/echo text"): (("POST", "/echo"),),
        ("POST", "/echo bytes"): (("POST", "/echo"),),
        ("POST", "/echo file"): (("POST", "/echo"),),
        ("GET", "/account after logout"): (("GET", "/account"),),
    },
    failing={
        ("GET", "/basic-auth wrong password"): http_error(
            401, "Unauthorized", "/basic-auth wrong password"
        ),
    },
    rows=_rows(
        ("POST", "/login"),
        ("GET", "/account"),
        ("GET", "/tenant"),
        ("GET", "/basic-auth"),
        ("GET", "/basic-auth wrong password"),
        ("POST", "/form"),
        ("POST", "/echo text"),
        ("POST", "/echo bytes"),
        ("POST", "/echo file"),
        ("POST", "/json"),
        ("POST", "/logout"),
        ("GET", "/account after logout"),
    ),
    exit_code=1,
)

LANDED = ("GET", "/api/landed")
REDIRECTS = CorpusFile(
    "redirects_gzip.py",
    hops={
        ("GET", "/redirect/301"): (("GET", "/redirect/301"), LANDED),
        ("GET", "/redirect/302 absolute"): (("GET", "/redirect/302"), LANDED),
        ("POST", "/redirect/303"): (("POST", "/redirect/303"), ("GET", "/echo")),
        ("POST", "/redirect/307"): (("POST", "/redirect/307"), ("POST", "/echo")),
        ("PUT", "/redirect/308"): (("PUT", "/redirect/308"), ("PUT", "/echo")),
        ("GET", "/redirect/chain/3"): tuple(("GET", f"/redirect/chain/{n}") for n in (3, 2, 1, 0)),
        ("GET", "/redirect/other-port"): (
            ("GET", "/redirect/other-port"),
            ("GET", OTHER + "/api/landed"),
        ),
        ("GET", "/redirect/302 (not followed)"): (("GET", "/redirect/302"),),
        ("GET", "/redirect/other-port (not followed)"): (("GET", "/redirect/other-port"),),
        ("GET", "/api/landed"): (("GET", OTHER + "/api/landed"),),
        # requests gives up after 30 redirects: the first request and 30 more
        ("GET", "/redirect/loop"): (("GET", "/redirect/loop"),) * 31,
        ("GET", "/status/404 checked"): (("GET", "/status/404"),),
    },
    failing={
        ("GET", "/redirect/loop"): "TooManyRedirects('Exceeded 30 redirects.')",
        ("GET", "/status/404 checked"): check_failed("not found, as raised"),
    },
    rows=_rows(
        ("GET", "/redirect/301"),
        ("GET", "/redirect/302 absolute"),
        ("POST", "/redirect/303"),
        ("POST", "/redirect/307"),
        ("PUT", "/redirect/308"),
        ("GET", "/redirect/chain/3"),
        ("GET", "/redirect/other-port"),
        ("GET", "/redirect/302 (not followed)"),
        ("GET", "/redirect/other-port (not followed)"),
        ("GET", "/api/landed"),
        ("GET", "/api/absolute"),
        ("GET", "/redirect/loop"),
        ("GET", "/gzip"),
        ("GET", "/deflate"),
        ("GET", "/status/404 checked"),
    ),
    exit_code=1,
)

KV = CorpusFile(
    "kv_custom_client.py",
    hops={
        ("KV", "get a"): (),
        ("KV", "get missing"): (),
        ("KV", "put b"): (),
        ("grpc", "Inventory/Count"): (),
    },
    failing={("KV", "get missing"): "KeyError('missing')"},
    rows=_rows(
        ("KV", "get a"), ("KV", "get missing"), ("KV", "put b"), ("grpc", "Inventory/Count")
    ),
    exit_code=1,
    http=False,
)

LIFECYCLE = CorpusFile(
    "lifecycle_events.py",
    hops={("GET", "product check"): (("GET", "/api/products/0"),)},
    failing={
        ("GET", "/status/500"): http_error(500, "Internal Server Error", "/status/500"),
        ("GET", "product check"): check_failed("product 0 has no price"),
    },
    rows=_rows(
        ("GET", "/api/products"),
        ("POST", "/api/orders"),
        ("GET", "/status/500"),
        ("GET", "product check"),
    ),
    seconds=None,  # every user stops after its orders; the last one quits the run
    exit_code=3,  # set by its quitting listener: requests failed
)

# The same file without its failing tasks: nothing fails, the exit code is 0.
LIFECYCLE_NO_BROKEN = CorpusFile(
    "lifecycle_events.py",
    rows=_rows(("GET", "/api/products"), ("POST", "/api/orders")),
    seconds=None,
    args=("--exclude-tags", "broken"),
)

SHAPED = CorpusFile(
    "shaped_load.py",
    rows=_rows(("GET", "/api/news"), ("GET", "/api/weather")),
    users=None,
    seconds=None,  # the shape ends the run after 3 s
)

WEIGHTED = CorpusFile(
    "weighted_classes.py",
    hops={
        ("GET", "session"): (("GET", "/api/session"),),
    },
    rows=_rows(
        ("GET", "session"),
        ("GET", "/api/items"),
        ("GET", "/slow"),
        ("POST", "/api/items"),
        ("DELETE", "/api/items/9"),
        ("GET", "/api/audit"),
        ("GET", "/api/stats"),
    ),
    users=5,
)

# Only the class named on the command line, without its task tagged "slow".
WEIGHTED_BROWSERS = CorpusFile(
    "weighted_classes.py",
    hops={("GET", "session"): (("GET", "/api/session"),)},
    rows=_rows(("GET", "session"), ("GET", "/api/items")),
    args=("--exclude-tags", "slow"),
    user_classes=("Browser",),
    users=3,
)

CUSTOM_OPTION = CorpusFile(
    "custom_option.py",
    rows=_rows(("GET", "/api/items?limit=7")),
    args=("--page-size", "7"),
)

CORPUS_FILES: dict[str, CorpusFile] = {
    "shop": SHOP,
    "fast": FAST,
    "forum": FORUM,
    "checkout": CHECKOUT,
    "account": ACCOUNT,
    "redirects": REDIRECTS,
    "kv": KV,
    "lifecycle": LIFECYCLE,
    "lifecycle-no-broken": LIFECYCLE_NO_BROKEN,
    "shaped": SHAPED,
    "weighted": WEIGHTED,
    "weighted-browsers": WEIGHTED_BROWSERS,
    "custom-option": CUSTOM_OPTION,
}

# Files that must be refused (issue 21's bad files), and what is wrong with each.
BAD = CORPUS / "bad"
BAD_FILES: dict[str, str] = {
    "syntax_error.py": "a syntax error on line 8",
    "no_user_class.py": "no User class",
    "only_abstract.py": "only abstract User classes",
    "gevent_spawn.py": "gevent.spawn on line 13",
}

__all__ = [
    "BAD",
    "BAD_FILES",
    "CORPUS_FILES",
    "OTHER",
    "CorpusFile",
    "check_failed",
    "http_error",
]
