"""The alert store: alerts and their status changes, idempotent and hash-chained.

Writes are idempotent by alert id. Putting an alert whose content the store
already holds (any version of it; ``processed_at`` aside) changes nothing, so
replaying the same alerts, or the alerts of a re-run over the same events,
leaves every table byte-for-byte as it was. An alert with the same id
and new evidence (more hits, a later ``last_seen``, more source event ids) is
appended as the next version of that alert, chained to the previous record;
history is never rewritten. A version with fewer hits than the stored head is
stale (an older copy arriving late) and is ignored.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import msgspec

from engine.alerts.alert import Alert
from engine.alerts.routing import region_prefix
from engine.alerts.store.backends import Backend, StoreError, open_backend
from engine.alerts.store.hashing import GENESIS, alert_evidence, change_hash, record_hash, sha256_hex
from engine.alerts.store.schema import TABLES, VIEW_COLUMNS, view_row
from engine.alerts.store.status import STATUSES, TRANSITIONS, allowed
from engine.alerts.store.verify import Broken, verify
from engine.errors import Location
from engine.rules.model import SEVERITIES

INSERTED, UPDATED, UNCHANGED, STALE = "inserted", "updated", "unchanged", "stale"

_UPSERT_VIEW = (  # status is set on insert only: a new version keeps the regulator's status
    f"INSERT INTO alerts (alert_id, version, record_hash, status, {', '.join(VIEW_COLUMNS)}) "
    f"VALUES (?, ?, ?, ?, {', '.join('?' for _ in VIEW_COLUMNS)}) ON CONFLICT (alert_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("version", "record_hash", *VIEW_COLUMNS))
)
_decoder = msgspec.json.Decoder(Alert)


class StatusError(StoreError):
    """A status change the life cycle does not allow (e.g. closed → acknowledged)."""


@dataclass(frozen=True)
class StoredAlert:
    """The head version of an alert with its current status."""

    alert: Alert
    version: int
    status: str
    record_hash: str


@dataclass(frozen=True)
class AlertVersion:
    """One chained record of an alert."""

    seq: int
    version: int
    evidence_hash: str
    record_hash: str
    recorded_at: str
    alert: Alert


@dataclass(frozen=True)
class StatusChange:
    """One audited status move."""

    seq: int
    alert_id: str
    from_status: str
    to_status: str
    actor: str
    at: str
    note: str
    change_hash: str


@dataclass(frozen=True)
class AlertFilter:
    """What ``AlertStore.select`` returns; None means no constraint."""

    region: str | None = None  # region code; a province or city code covers everything inside it
    min_severity: str | None = None
    rule_id: str | None = None
    merchant_id: str | None = None
    statuses: tuple[str, ...] = ()
    since: float | None = None  # event time, epoch seconds, inclusive
    until: float | None = None  # exclusive
    limit: int | None = 100
    scope: tuple[str, ...] = ()  # region codes a caller may see (any of them); () = no scope (local CLI)
    family: str | None = None
    platform: str | None = None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AlertStore:
    """Alerts and their status changes in SQLite or PostgreSQL (same schema)."""

    def __init__(self, backend: Backend, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.clock = clock

    def __enter__(self) -> "AlertStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.backend.close()

    # -- alerts -------------------------------------------------------
    def put(self, alert: Alert) -> str:
        """Store one alert version; return inserted, updated, unchanged or stale."""
        return next(iter(self.put_many([alert])))

    def put_many(self, alerts: Iterable[Alert]) -> Counter[str]:
        """Store alerts in one transaction; return how many were inserted, updated, unchanged, stale."""
        outcome: Counter[str] = Counter()
        with self.backend.transaction() as exec_:
            head = exec_("SELECT seq, record_hash FROM alert_records ORDER BY seq DESC LIMIT 1")
            seq, prev = head[0] if head else (0, GENESIS)
            for alert in alerts:
                evidence, same = alert_evidence(alert)
                ev_hash = sha256_hex(evidence)
                aid = alert.alert_id
                current = exec_("SELECT version, hits FROM alerts WHERE alert_id = ?", (aid,))
                if current:
                    if exec_("SELECT 1 FROM alert_records WHERE alert_id = ? AND content_hash = ?", (aid, same)):
                        outcome[UNCHANGED] += 1
                        continue
                    if alert.hits < current[0][1]:
                        outcome[STALE] += 1
                        continue
                version = current[0][0] + 1 if current else 1
                at = _iso(self.clock())
                digest = record_hash(prev, ev_hash, aid, version, at)
                exec_("INSERT INTO alert_records (seq, alert_id, version, evidence, evidence_hash, content_hash, "
                      "prev_hash, record_hash, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (seq + 1, aid, version, evidence.decode(), ev_hash, same, prev, digest, at))
                seq, prev = seq + 1, digest
                exec_(_UPSERT_VIEW, (aid, version, digest, STATUSES[0], *view_row(alert)))
                outcome[UPDATED if current else INSERTED] += 1
        return outcome

    def get(self, alert_id: str) -> StoredAlert | None:
        """The head version and status of one alert, or None."""
        rows = self.backend.query(
            "SELECT r.evidence, a.version, a.status, a.record_hash FROM alerts a JOIN alert_records r "
            "ON r.alert_id = a.alert_id AND r.version = a.version WHERE a.alert_id = ?", (alert_id,))
        return None if not rows else StoredAlert(_decoder.decode(rows[0][0]), rows[0][1], rows[0][2], rows[0][3])

    def resolve(self, prefix: str) -> str:
        """The one alert id starting with ``prefix`` (ids are long; people type the start)."""
        if self.backend.query("SELECT 1 FROM alerts WHERE alert_id = ?", (prefix,)):
            return prefix
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.backend.query("SELECT alert_id FROM alerts WHERE alert_id LIKE ? ESCAPE '\\' "
                                  "ORDER BY alert_id LIMIT 2", (pattern,))
        if not rows:
            raise StoreError(f"no alert id starts with {prefix!r}", Location(file=self.backend.name))
        if len(rows) > 1:
            raise StoreError(f"alert id prefix {prefix!r} is ambiguous; type more of it", Location(file=self.backend.name))
        return rows[0][0]

    def versions(self, alert_id: str) -> list[AlertVersion]:
        """Every stored version of one alert, oldest first."""
        rows = self.backend.query("SELECT seq, version, evidence_hash, record_hash, recorded_at, evidence "
                                  "FROM alert_records WHERE alert_id = ? ORDER BY version", (alert_id,))
        return [AlertVersion(r[0], r[1], r[2], r[3], r[4], _decoder.decode(r[5])) for r in rows]

    def select(self, where: AlertFilter = AlertFilter()) -> list[StoredAlert]:
        """Alerts matching ``where``, newest event first."""
        sql = ["SELECT r.evidence, a.version, a.status, a.record_hash FROM alerts a JOIN alert_records r "
               "ON r.alert_id = a.alert_id AND r.version = a.version WHERE 1 = 1"]
        params: list[Any] = []
        if where.region:
            sql.append("AND a.region_code LIKE ?")
            params.append(region_prefix(where.region) + "%")
        if where.scope:  # e.g. a bureau token's regions (engine.service): enforced in the query itself
            sql.append("AND (" + " OR ".join("a.region_code LIKE ?" for _ in where.scope) + ")")
            params.extend(region_prefix(r) + "%" for r in where.scope)
        if where.min_severity:
            levels = SEVERITIES[SEVERITIES.index(where.min_severity):]
            sql.append(f"AND a.severity IN ({', '.join('?' for _ in levels)})")
            params.extend(levels)
        for col, value in (("rule_id", where.rule_id), ("merchant_id", where.merchant_id), ("family", where.family),
                           ("platform", where.platform)):
            if value:
                sql.append(f"AND a.{col} = ?")
                params.append(value)
        if where.statuses:
            sql.append(f"AND a.status IN ({', '.join('?' for _ in where.statuses)})")
            params.extend(where.statuses)
        if where.since is not None:
            sql.append("AND a.event_ts >= ?")
            params.append(where.since)
        if where.until is not None:
            sql.append("AND a.event_ts < ?")
            params.append(where.until)
        sql.append("ORDER BY a.event_ts DESC, a.alert_id")
        if where.limit is not None:
            sql.append("LIMIT ?")
            params.append(where.limit)
        rows = self.backend.query(" ".join(sql), params)
        return [StoredAlert(_decoder.decode(r[0]), r[1], r[2], r[3]) for r in rows]

    # -- status -------------------------------------------------------
    def set_status(self, alert_id: str, to_status: str, actor: str, note: str = "") -> bool:
        """Move an alert to ``to_status`` as ``actor``; False if it already was there.

        Raises :class:`StatusError` for a move the life cycle does not allow.
        """
        where = Location(file=self.backend.name)
        if to_status not in STATUSES:
            raise StatusError(f"unknown status {to_status!r}; known: {', '.join(STATUSES)}", where)
        if not actor.strip():
            raise StatusError("a status change needs the name of who made it", where)
        with self.backend.transaction() as exec_:
            rows = exec_("SELECT status FROM alerts WHERE alert_id = ?", (alert_id,))
            if not rows:
                raise StoreError(f"no alert {alert_id}", where)
            current = rows[0][0]
            if current == to_status:
                return False
            if not allowed(current, to_status):
                ok = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
                raise StatusError(f"alert {alert_id}: cannot move from {current} to {to_status}; allowed: {ok}", where)
            head = exec_("SELECT seq, change_hash FROM alert_status_changes ORDER BY seq DESC LIMIT 1")
            seq, prev = head[0] if head else (0, GENESIS)
            at = _iso(self.clock())
            digest = change_hash(prev, alert_id, current, to_status, actor, at, note)
            exec_("INSERT INTO alert_status_changes (seq, alert_id, from_status, to_status, actor, at, note, "
                  "prev_hash, change_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (seq + 1, alert_id, current, to_status, actor, at, note, prev, digest))
            exec_("UPDATE alerts SET status = ? WHERE alert_id = ?", (to_status, alert_id))
        return True

    def status_changes(self, alert_id: str) -> list[StatusChange]:
        """The audited status moves of one alert, oldest first."""
        rows = self.backend.query("SELECT seq, alert_id, from_status, to_status, actor, at, note, change_hash "
                                  "FROM alert_status_changes WHERE alert_id = ? ORDER BY seq", (alert_id,))
        return [StatusChange(*r) for r in rows]

    # -- whole store --------------------------------------------------
    def head(self) -> tuple[int, str]:
        """(seq, record_hash) of the last alert record: note it elsewhere to anchor the chain."""
        rows = self.backend.query("SELECT seq, record_hash FROM alert_records ORDER BY seq DESC LIMIT 1")
        return rows[0] if rows else (0, GENESIS)

    def verify(self) -> Broken | None:
        """Recompute both hash chains and the view; the first broken record, or None."""
        return verify(self.backend)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table in key order (for backups and for tests of idempotency)."""
        return {t: self.backend.query(f"SELECT * FROM {t} ORDER BY {order}") for t, order in TABLES.items()}


def open_store(url: str, clock: Callable[[], float] = time.time) -> AlertStore:
    """Open (creating if needed) the alert store at ``url``: a SQLite path or ``postgresql://…``."""
    return AlertStore(open_backend(url), clock)
