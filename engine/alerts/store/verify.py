"""Recompute the alert store's hash chains and find the first record that does not fit.

Checked, in this order:

1. ``alert_records`` in ``seq`` order: no gaps, each ``prev_hash`` is the
   previous ``record_hash``, the stored evidence hashes to ``evidence_hash``
   (and ``content_hash``) and names the same alert, ``record_hash`` recomputes, versions of an alert
   count 1, 2, 3 …;
2. ``alert_status_changes`` the same way, and each move starts from the
   status the alert had and is allowed by the life cycle;
3. the ``alerts`` view: one row per chained alert, pointing at its newest
   record, with columns equal to what that record's evidence says and the
   status the audit trail ends in.

An edit made directly in the database breaks one of these. Rewriting the
*last* record and its hashes consistently is only caught if its hash was
noted elsewhere (``AlertStore.head()``, printed by ``hongdun alerts verify``).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from engine.alerts.alert import Alert
from engine.alerts.store.backends import Backend
from engine.alerts.store.hashing import GENESIS, change_hash, content_hash, record_hash, sha256_hex
from engine.alerts.store.schema import VIEW_COLUMNS, view_row
from engine.alerts.store.status import STATUSES, allowed

PAGE = 5000
_decoder = msgspec.json.Decoder(Alert)


@dataclass(frozen=True)
class Broken:
    """The first record that fails verification, and what differs."""

    table: str
    seq: int | None
    alert_id: str
    version: int | None
    problem: str
    expected: Any = None
    found: Any = None

    def __str__(self) -> str:
        where = f"{self.table}" + (f" #{self.seq}" if self.seq is not None else "")
        what = f"alert {self.alert_id}" + (f" version {self.version}" if self.version is not None else "")
        diff = f" (expected {self.expected!r}, found {self.found!r})" if self.expected is not None or self.found is not None else ""
        return f"{where}: {what}: {self.problem}{diff}"


def _pages(backend: Backend, sql: str) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` (which must select ``seq`` first and take ``seq > ?``) page by page."""
    last = 0
    while True:
        rows = backend.query(sql + " ORDER BY seq LIMIT ?", (last, PAGE))
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def verify(backend: Backend) -> Broken | None:
    """The first broken record of the store behind ``backend``, or None if everything recomputes."""
    heads: dict[str, tuple[int, str]] = {}  # alert id -> (version, record_hash) of its newest record
    prev, expect = GENESIS, 1
    for seq, aid, version, evidence, ev_hash, same, prev_hash, digest, at in _pages(
            backend, "SELECT seq, alert_id, version, evidence, evidence_hash, content_hash, prev_hash, record_hash, "
                     "recorded_at FROM alert_records WHERE seq > ?"):
        t = "alert_records"
        if seq != expect:
            return Broken(t, seq, aid, version, "record(s) missing before this one", f"seq {expect}", f"seq {seq}")
        if prev_hash != prev:
            return Broken(t, seq, aid, version, "prev_hash does not match the previous record", prev, prev_hash)
        computed = sha256_hex(evidence.encode())
        if computed != ev_hash:
            return Broken(t, seq, aid, version, "evidence was changed: it no longer matches evidence_hash", ev_hash, computed)
        doc = _object(evidence)
        if doc.get("alert_id") != aid:
            return Broken(t, seq, aid, version, "evidence is about another alert", aid, doc.get("alert_id"))
        if content_hash(doc) != same:
            return Broken(t, seq, aid, version, "content_hash does not match the evidence", content_hash(doc), same)
        want_version = heads.get(aid, (0, ""))[0] + 1
        if version != want_version:
            return Broken(t, seq, aid, version, "version out of sequence", want_version, version)
        recomputed = record_hash(prev_hash, ev_hash, aid, version, at)
        if recomputed != digest:
            return Broken(t, seq, aid, version, "record_hash does not recompute (alert_id, version or recorded_at changed)",
                          recomputed, digest)
        heads[aid] = (version, digest)
        prev, expect = digest, expect + 1

    statuses: dict[str, str] = {}
    prev, expect = GENESIS, 1
    for seq, aid, frm, to, actor, at, note, prev_hash, digest in _pages(
            backend, "SELECT seq, alert_id, from_status, to_status, actor, at, note, prev_hash, change_hash "
                     "FROM alert_status_changes WHERE seq > ?"):
        t = "alert_status_changes"
        if seq != expect:
            return Broken(t, seq, aid, None, "status change(s) missing before this one", f"seq {expect}", f"seq {seq}")
        if prev_hash != prev:
            return Broken(t, seq, aid, None, "prev_hash does not match the previous status change", prev, prev_hash)
        recomputed = change_hash(prev_hash, aid, frm, to, actor, at, note)
        if recomputed != digest:
            return Broken(t, seq, aid, None, "change_hash does not recompute (who, when, note or status changed)",
                          recomputed, digest)
        if aid not in heads:
            return Broken(t, seq, aid, None, "status change of an alert that has no record")
        current = statuses.get(aid, STATUSES[0])
        if frm != current or not allowed(frm, to):
            return Broken(t, seq, aid, None, "status move does not follow the life cycle", f"{current} -> ?", f"{frm} -> {to}")
        statuses[aid] = to
        prev, expect = digest, expect + 1

    rows = backend.query("SELECT a.alert_id, a.version, a.record_hash, a.status, r.evidence, "
                         + ", ".join(f"a.{c}" for c in VIEW_COLUMNS) + " FROM alerts a LEFT JOIN alert_records r ON r.alert_id = a.alert_id AND r.version = a.version "
                         "ORDER BY a.alert_id")
    seen = set()
    for aid, version, digest, status, evidence, *columns in rows:
        t = "alerts"
        seen.add(aid)
        head = heads.get(aid)
        if head is None or evidence is None:
            return Broken(t, None, aid, version, "view row has no chained record")
        if (version, digest) != head:
            return Broken(t, None, aid, version, "view does not point at the newest record", head, (version, digest))
        expected = view_row(_decoder.decode(evidence))
        for name, want, got in zip(VIEW_COLUMNS, expected, columns):
            if want != got:
                return Broken(t, None, aid, version, f"view column {name} differs from the record's evidence", want, got)
        want_status = statuses.get(aid, STATUSES[0])
        if status != want_status:
            return Broken(t, None, aid, version, "status differs from the audit trail", want_status, status)
    missing = sorted(set(heads) - seen)
    if missing:
        return Broken("alerts", None, missing[0], heads[missing[0]][0], "chained alert missing from the view")
    return None


def _object(evidence: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(evidence)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}
