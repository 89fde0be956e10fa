"""What a bureau may read and change in the alert store, scoped to its regions (no HTTP here).

Every method takes the calling :class:`~engine.service.auth.Bureau` and
applies its region codes inside the store query (``AlertFilter.scope``) or,
for one alert, against the stored region before anything is returned or
changed: an alert outside the bureau's regions is reported exactly like an
alert that does not exist. Status changes go through
``AlertStore.set_status``, whose hash-chained audit records who (person and
bureau), when, from, to and why.

One instance per thread (it holds SQLite connections).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import orjson

from engine.alerts.alert import Alert
from engine.alerts.store import AlertFilter, AlertStore, StoredAlert
from engine.alerts.store.status import STATUS_NAMES_CN, TRANSITIONS
from engine.service.auth import Bureau
from engine.service.queue import IngestQueue

CHINA = timezone(timedelta(hours=8))
SEVERITY_CN = {"info": "提示", "low": "低", "medium": "中", "high": "高", "critical": "严重"}


class NotFound(Exception):
    """No such alert for this bureau (absent, or outside its regions: the caller cannot tell which)."""


@dataclass(frozen=True)
class Query:
    """List filters as the API receives them (already checked)."""

    min_severity: str | None = None
    statuses: tuple[str, ...] = ()
    family: str | None = None
    rule_id: str | None = None
    merchant_id: str | None = None
    platform: str | None = None
    region: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100


def summary(s: StoredAlert) -> dict[str, Any]:
    """The list view of one alert."""
    a = s.alert
    return {
        "alert_id": a.alert_id, "status": s.status, "status_cn": STATUS_NAMES_CN[s.status], "severity": a.severity,
        "family": a.family, "rule_id": a.rule_id, "rule_title": a.rule_title, "merchant_id": a.merchant.merchant_id,
        "merchant_name": a.merchant.name, "region_code": a.merchant.op_region_code, "platform": a.platform,
        "event_time": a.event_time, "last_seen": a.last_seen, "hits": a.hits, "message": a.message,
        "disposition": a.disposition.kind if a.disposition else None, "route": a.route.kind if a.route else None,
    }


def _spans(text: str, terms: list[str]) -> list[list[int]]:
    spans: list[list[int]] = []
    for term in terms:
        start = text.find(term)
        while start >= 0:
            end = start + len(term)
            if not any(s < end and start < e for s, e in spans):
                spans.append([start, end])
            start = text.find(term, end)
    return sorted(spans)


def _strings(doc: Any, path: str = "$") -> list[tuple[str, str]]:
    """(JSON path, text) of every string in a decoded event."""
    if isinstance(doc, str):
        return [(path, doc)]
    if isinstance(doc, dict):
        return [x for k, v in doc.items() for x in _strings(v, f"{path}.{k}")]
    if isinstance(doc, list):
        return [x for i, v in enumerate(doc) for x in _strings(v, f"{path}[{i}]")]
    return []


def evidence_spans(alert: Alert, sources: dict[str, bytes] | None = None) -> list[dict[str, Any]]:
    """The alert's text evidence with the spans ``[start, end)`` where a matched term's original characters occur.

    Matches carry the merchant's original characters (``original``). They are
    highlighted in the alert's evidence values (titles, live speech, …) and,
    where the service kept the source events, in every text field of those
    events that contains one (e.g. a description the rule read but the
    evidence list does not carry), so a regulator sees the words as written.
    """
    terms = sorted({m["original"] for m in alert.matched if isinstance(m.get("original"), str) and m["original"]
                    and m.get("field") != "recent_alert"}, key=len, reverse=True)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name, value in alert.values.items():
        if isinstance(value, str) and value:
            out.append({"field": name, "text": value, "spans": _spans(value, terms)})
            seen.add(value)
    for eid, raw in (sources or {}).items():
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        for path, text in _strings(doc):
            if text in seen:
                continue
            spans = _spans(text, terms)
            if spans:
                out.append({"field": f"{eid} {path}", "text": text, "spans": spans})
                seen.add(text)
    return out


def model_explanation(alert: Alert) -> dict[str, Any] | None:
    """What a model contributed: the alert's ``model`` record (risk, threshold, top features with their
    training ranges) for a model's alert, and any ``score`` values a rule read; None for a pure rule alert."""
    out: dict[str, Any] = {}
    if alert.model is not None:  # set on alerts raised by an anomaly model
        out.update(msgspec.to_builtins(alert.model))
    scores = {k: v for k, v in alert.values.items() if k.startswith("score") or k.endswith("_score")}
    if scores:
        out["scores"] = scores
    return out or None


class Regulator:
    """Region-scoped reads and audited status changes for bureaus."""

    def __init__(self, store: AlertStore, queue: IngestQueue, pack_dir: Path, sender: str) -> None:
        self.store = store
        self.queue = queue
        self.pack_dir = pack_dir
        self.sender = sender

    def list(self, bureau: Bureau, q: Query) -> list[dict[str, Any]]:
        """Alerts of the bureau's regions matching ``q``, newest event first."""
        where = AlertFilter(scope=bureau.regions, region=q.region, min_severity=q.min_severity, rule_id=q.rule_id,
                            merchant_id=q.merchant_id, statuses=q.statuses, since=q.since, until=q.until,
                            limit=q.limit, family=q.family, platform=q.platform)
        return [summary(s) for s in self.store.select(where)]

    def _get(self, bureau: Bureau, alert_id: str) -> StoredAlert:
        s = self.store.get(alert_id)
        if s is None or not bureau.covers(s.alert.merchant.op_region_code):
            raise NotFound(alert_id)
        return s

    def detail(self, bureau: Bureau, alert_id: str) -> dict[str, Any]:
        """One alert with evidence spans, model explanation, versions and status history."""
        s = self._get(bureau, alert_id)
        a = s.alert
        return {
            "status": s.status, "status_cn": STATUS_NAMES_CN[s.status], "version": s.version,
            "record_hash": s.record_hash, "allowed": sorted(TRANSITIONS[s.status]),
            "alert": msgspec.to_builtins(a), "evidence": evidence_spans(a, self.queue.sources(a.source_event_ids)),
            "model": model_explanation(a),
            "versions": [{"version": v.version, "hits": v.alert.hits, "severity": v.alert.severity,
                          "recorded_at": v.recorded_at, "record_hash": v.record_hash}
                         for v in self.store.versions(alert_id)],
            "status_changes": [{"from": c.from_status, "to": c.to_status, "actor": c.actor, "at": c.at, "note": c.note,
                                "change_hash": c.change_hash} for c in self.store.status_changes(alert_id)],
        }

    def change(self, bureau: Bureau, alert_id: str, to_status: str, by: str, note: str) -> dict[str, Any]:
        """Move the alert to ``to_status`` as ``by`` of this bureau (audited); StatusError if not allowed."""
        self._get(bureau, alert_id)
        changed = self.store.set_status(alert_id, to_status, f"{by.strip()}（{bureau.name}）", note)
        s = self._get(bureau, alert_id)
        return {"alert_id": alert_id, "status": s.status, "status_cn": STATUS_NAMES_CN[s.status], "changed": changed}

    def referral(self, bureau: Bureau, alert_id: str) -> dict[str, Any]:
        """A self-contained referral package (rule text, source events as posted, hashes) for one alert."""
        from engine.alerts.referral import build_referral, rule_text_from_pack

        a = self._get(bureau, alert_id).alert
        raw = self.queue.sources(a.source_event_ids)
        try:
            text = rule_text_from_pack(self.pack_dir, a.rule_id)
        except KeyError:
            text = ""  # the rule left the pack since; the package says what it has
        return build_referral(a, [raw[i] for i in a.source_event_ids if i in raw], text, a.pack, a.pack_version,
                              route=a.route, sender=self.sender or bureau.name)

    def newest_day(self, bureau: Bureau) -> date | None:
        """The China-time day of the bureau's newest alert, or None if it has none."""
        found = self.store.select(AlertFilter(scope=bureau.regions, limit=1))
        return datetime.fromisoformat(found[0].alert.event_time).astimezone(CHINA).date() if found else None

    def daily(self, bureau: Bureau, first: date, last: date) -> tuple[list[str], dict[str, list[int]]]:
        """Alerts per China-time day (by event time) and family in the bureau's regions, ``first``..``last``."""
        days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)  # differences work for any year, .timestamp() does not
        since = (datetime.combine(first, datetime.min.time(), CHINA) - epoch).total_seconds()
        until = (datetime.combine(last + timedelta(days=1), datetime.min.time(), CHINA) - epoch).total_seconds()
        found = self.store.select(AlertFilter(scope=bureau.regions, since=since, until=until, limit=None))
        counts: Counter[tuple[str, str]] = Counter()
        for s in found:
            day = datetime.fromisoformat(s.alert.event_time).astimezone(CHINA).date().isoformat()
            counts[(s.alert.family, day)] += 1
        families = sorted({f for f, _ in counts})
        index = {d: i for i, d in enumerate(days)}
        series = {f: [0] * len(days) for f in families}
        for (f, d), n in counts.items():
            series[f][index[d]] = n
        return days, series
