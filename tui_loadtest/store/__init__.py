"""The local baseline store (SQLite): named runs, kept whole so they can be compared later."""

from .db import (
    SCHEMA_VERSION,
    BaselineExists,
    BaselineNotFound,
    BaselineStore,
    StoreCorrupt,
    StoreError,
    StoreTooNew,
    check_name,
    describe_skipped,
)
from .location import ENV_VAR, default_store_path, resolve_store_path
from .records import Baseline, BaselineInfo, overall_rating, redact_scenario

__all__ = [
    "ENV_VAR",
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineExists",
    "BaselineInfo",
    "BaselineNotFound",
    "BaselineStore",
    "StoreCorrupt",
    "StoreError",
    "StoreTooNew",
    "check_name",
    "default_store_path",
    "describe_skipped",
    "overall_rating",
    "redact_scenario",
    "resolve_store_path",
]
