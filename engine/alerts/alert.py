"""The early-warning alert record and its deterministic id.

An alert is what a regulator receives: which rule fired on which merchant,
why (legal basis, message, evidence), how serious, and which events caused it.
Its id is a hash of (pack, rule, merchant, subject, first triggering event),
so processing the same input again, after a crash or on another worker, gives
the same ids and consumers can drop duplicates by id.
"""
from __future__ import annotations

import hashlib
from typing import Any

import msgspec


class AlertMerchant(msgspec.Struct, frozen=True, kw_only=True):
    """The merchant an alert is about, with the region codes used for routing."""

    merchant_id: str
    name: str = ""
    uscc: str | None = None
    reg_region_code: str
    op_region_code: str


class AlertBasis(msgspec.Struct, frozen=True, kw_only=True):
    """One legal basis of the rule that fired."""

    law: str
    version: str
    article: str
    verified: bool = True


class Alert(msgspec.Struct, kw_only=True):
    """An early warning (事前预警) raised by a rule."""

    alert_id: str
    pack: str
    pack_version: str
    rule_id: str
    rule_title: str
    family: str
    severity: str
    base_severity: str
    minor: bool
    shadow: bool = False
    platform: str
    merchant: AlertMerchant
    subject: str | None = None
    legal_basis: list[AlertBasis]
    message: str
    matched: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    windows: dict[str, dict[str, Any]] = {}
    source_event_ids: list[str]
    event_time: str
    processed_at: str
    hits: int = 1


def alert_id(pack: str, rule_id: str, merchant_id: str, subject: str | None, first_event_id: str) -> str:
    """Deterministic id: same pack, rule, merchant, subject and first event -> same id."""
    material = "\x1f".join((pack, rule_id, merchant_id, subject or "", first_event_id))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


_encoder = msgspec.json.Encoder()


def encode_alert(alert: Alert) -> bytes:
    """One alert as a JSON line (without the newline)."""
    return _encoder.encode(alert)


def alert_json_schema() -> dict[str, Any]:
    """JSON Schema of the alert record, for alert consumers."""
    return msgspec.json.schema(Alert)
