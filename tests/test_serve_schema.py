"""Property-based: schemathesis reads the live server's ``/openapi.json`` and sends what it
describes (its examples first, then generated requests). No answer may be a 5xx, and
every answer must match the description: status code, content type and body schema.

Bounded and repeatable: a few examples per operation, derandomized, no example database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .serve_support import REPORT, Api, results_dir, running_api  # noqa: F401

MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory, results_dir: Path) -> Iterator[Api]:  # noqa: F811
    for api in running_api(tmp_path_factory.mktemp("schema"), results_dir):
        # The examples in the description name this baseline: their GETs then find it.
        import httpx

        body = {"test_results_file": REPORT, "baseline_name": "production_baseline_v1"}
        r = httpx.post(f"{api.url}/api/load-test/baseline", json=body, trust_env=False)
        assert r.status_code == 201, r.text
        yield api


@pytest.fixture(scope="module")
def api_schema(live_api: Api):  # noqa: ANN201
    return schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")
CALLS: list[str] = []


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_description(case) -> None:  # noqa: ANN001
    CALLS.append(f"{case.method} {case.path}")
    case.call_and_validate(checks=CHECKS)
