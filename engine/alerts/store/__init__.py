"""The alert store: alerts, their versions and status changes in SQLite or PostgreSQL.

``open_store(url)`` gives an :class:`AlertStore`. Every write is idempotent by
alert id, every record is hash-chained, ``verify()`` finds tampering. See
docs/alerts.md.
"""
from engine.alerts.store.backends import StoreError
from engine.alerts.store.core import (
    INSERTED,
    STALE,
    UNCHANGED,
    UPDATED,
    AlertFilter,
    AlertStore,
    AlertVersion,
    StatusChange,
    StatusError,
    StoredAlert,
    open_store,
)
from engine.alerts.store.hashing import canonical, sha256_hex
from engine.alerts.store.status import STATUSES, TRANSITIONS
from engine.alerts.store.verify import Broken

__all__ = [
    "INSERTED", "STALE", "UNCHANGED", "UPDATED", "STATUSES", "TRANSITIONS",
    "AlertFilter", "AlertStore", "AlertVersion", "Broken", "StatusChange", "StatusError", "StoreError",
    "StoredAlert", "canonical", "open_store", "sha256_hex",
]
