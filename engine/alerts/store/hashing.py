"""Canonical JSON and the hash chain of the alert store (and of referral packages).

Evidence is the alert as canonical JSON (orjson, keys sorted), hashed with
SHA-256. Two copies of an alert that differ only in ``processed_at`` have the same
``content_hash`` and count as the same version. Each stored record is chained to the one before it::

    record_hash = sha256(canonical([prev_hash, evidence_hash, alert_id, version, recorded_at]))

A JSON array rather than plain concatenation keeps the fields unambiguous
(an alert id cannot bleed into the version), and ``recorded_at`` is covered so
the audit time cannot be changed unnoticed. Status changes form a second
chain the same way.
"""
from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import orjson

from engine.alerts.alert import Alert

GENESIS = "0" * 64  # prev_hash of the first record of a chain


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: orjson with sorted keys, no whitespace."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def alert_evidence(alert: Alert) -> tuple[bytes, str]:
    """The evidence bytes stored and hashed for one alert version, and its content hash."""
    doc = msgspec.to_builtins(alert)
    return canonical(doc), content_hash(doc)


def content_hash(doc: dict[str, Any]) -> str:
    """Hash of what an alert (as a JSON object) says, without ``processed_at``.

    Re-running the engine over the same events (after a crash, on another
    worker) gives the same alerts stamped with a new processing time; they
    are the same alert, not a new version.
    """
    return sha256_hex(canonical({k: v for k, v in doc.items() if k != "processed_at"}))


def record_hash(prev_hash: str, evidence_hash: str, alert_id: str, version: int, recorded_at: str) -> str:
    """Hash of one alert record, chained to the previous record's hash."""
    return sha256_hex(canonical([prev_hash, evidence_hash, alert_id, version, recorded_at]))


def change_hash(prev_hash: str, alert_id: str, from_status: str, to_status: str, actor: str, at: str, note: str) -> str:
    """Hash of one status change, chained to the previous change's hash."""
    return sha256_hex(canonical([prev_hash, alert_id, from_status, to_status, actor, at, note]))
