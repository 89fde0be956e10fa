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


class AlertDisposition(msgspec.Struct, frozen=True, kw_only=True):
    """How a regulator should handle the alert (首违免罚 decision) and why.

    ``kind`` is ``advisory`` (提醒告诫/行政指导, with a correction deadline) or
    ``case`` (立案调查); ``code`` is the machine reason, ``reason`` the Chinese
    sentence a regulator reads. Set by :mod:`engine.alerts.leniency`.
    """

    kind: str
    code: str
    reason: str
    deadline: str | None = None  # correction deadline, a date in China time (YYYY-MM-DD), advisories only


class AlertRoute(msgspec.Struct, frozen=True, kw_only=True):
    """Which bureau should act on the alert (管辖) and on what legal ground.

    ``kind`` is ``local`` (this deployment's region), ``platform_home`` (out of
    region, kept by the platform's home bureau) or ``referral`` (跨区域移送 to
    ``region_code``). Set by :mod:`engine.alerts.routing`.
    """

    kind: str
    region_code: str  # region of the bureau that should act
    merchant_region_code: str  # where the merchant actually operates (实际经营地)
    platform_home_region_code: str | None = None
    basis: str = ""


class AlertFeature(msgspec.Struct, frozen=True, kw_only=True):
    """One feature behind a model's score: its value, its share of the score, and its typical training range."""

    feature: str
    value: float | None
    unit: str = ""
    contribution: float  # levels of isolation depth this feature saved (engine/anomaly/explain.py)
    typical_low: float | None = None  # training 5th percentile
    typical_high: float | None = None  # training 95th percentile


class AlertModel(msgspec.Struct, frozen=True, kw_only=True):
    """What an anomaly model said about the event: an alert of a model carries it, a rule's never does."""

    name: str
    folder: str
    risk: float  # in [0, 1], higher = riskier
    threshold: float
    calibration: str = ""
    manifest_sha256: str = ""  # the exact model artifact that scored
    top_features: list[AlertFeature] = []


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
    last_seen: str | None = None  # event time of the latest hit folded into this alert (dedup updates)
    disposition: AlertDisposition | None = None
    route: AlertRoute | None = None
    confirmed_by: list[str] = []  # ids of later alerts (e.g. complaints) that confirmed this one and raised it
    model: AlertModel | None = None  # set on an anomaly model's own alert: risk, threshold, top features


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
