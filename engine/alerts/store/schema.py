"""The alert store's tables, written once in SQL that SQLite and PostgreSQL both accept.

* ``alert_records``: append-only, one row per version of an alert, hash-chained
  in ``seq`` order; ``evidence`` is the canonical JSON that was hashed,
  ``content_hash`` the same without ``processed_at`` (what replays match on).
* ``alert_status_changes``: append-only audit of status moves, its own chain.
* ``alerts``: the current view (head version, status, filter columns), derived
  from the two chains so lists can filter without JSON functions (which
  differ between the two databases); ``verify`` checks it against them.
* ``alert_store_meta``: schema version.

Types are the portable subset: TEXT, INTEGER, BIGINT, DOUBLE PRECISION.
"""
from __future__ import annotations

from typing import Any

from engine.alerts.alert import Alert
from engine.alerts.leniency import iso_ts

SCHEMA_VERSION = "1"

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS alert_store_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS alert_records (
        seq           BIGINT PRIMARY KEY,
        alert_id      TEXT NOT NULL,
        version       INTEGER NOT NULL,
        evidence      TEXT NOT NULL,
        evidence_hash TEXT NOT NULL,
        content_hash  TEXT NOT NULL,
        prev_hash     TEXT NOT NULL,
        record_hash   TEXT NOT NULL,
        recorded_at   TEXT NOT NULL,
        UNIQUE (alert_id, version)
    )""",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id      TEXT PRIMARY KEY,
        version       INTEGER NOT NULL,
        record_hash   TEXT NOT NULL,
        status        TEXT NOT NULL,
        pack          TEXT NOT NULL,
        rule_id       TEXT NOT NULL,
        family        TEXT NOT NULL,
        severity      TEXT NOT NULL,
        merchant_id   TEXT NOT NULL,
        merchant_name TEXT NOT NULL,
        region_code   TEXT NOT NULL,
        platform      TEXT NOT NULL,
        event_ts      DOUBLE PRECISION NOT NULL,
        last_ts       DOUBLE PRECISION NOT NULL,
        hits          INTEGER NOT NULL,
        disposition   TEXT,
        route         TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS alerts_event_ts ON alerts (event_ts)",
    "CREATE INDEX IF NOT EXISTS alerts_region ON alerts (region_code)",
    "CREATE INDEX IF NOT EXISTS alerts_merchant ON alerts (merchant_id)",
    "CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id)",
    """CREATE TABLE IF NOT EXISTS alert_status_changes (
        seq         BIGINT PRIMARY KEY,
        alert_id    TEXT NOT NULL,
        from_status TEXT NOT NULL,
        to_status   TEXT NOT NULL,
        actor       TEXT NOT NULL,
        at          TEXT NOT NULL,
        note        TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        change_hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS alert_status_changes_alert ON alert_status_changes (alert_id)",
)

TABLES: dict[str, str] = {  # table -> ORDER BY for dumps
    "alert_store_meta": "key",
    "alert_records": "seq",
    "alerts": "alert_id",
    "alert_status_changes": "seq",
}

VIEW_COLUMNS: tuple[str, ...] = ("pack", "rule_id", "family", "severity", "merchant_id", "merchant_name",
                                 "region_code", "platform", "event_ts", "last_ts", "hits", "disposition", "route")


def view_row(alert: Alert) -> tuple[Any, ...]:
    """The ``alerts`` view columns one alert version implies, in ``VIEW_COLUMNS`` order."""
    m = alert.merchant
    return (
        alert.pack, alert.rule_id, alert.family, alert.severity, m.merchant_id, m.name, m.op_region_code,
        alert.platform, iso_ts(alert.event_time), iso_ts(alert.last_seen or alert.event_time), alert.hits,
        alert.disposition.kind if alert.disposition else None, alert.route.kind if alert.route else None,
    )
