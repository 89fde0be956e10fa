"""The alert store on SQLite and PostgreSQL: idempotent upserts, versions, hash chain, status audit."""
from __future__ import annotations

import msgspec
import orjson
import pytest

from engine.alerts.alert import AlertDisposition, AlertRoute, alert_id
from engine.alerts.dedup import Deduplicator
from engine.alerts.store import AlertFilter, StatusError, StoreError, open_store
from engine.state.store import MemoryStore

from .conftest import DAY, T0, iso

MAX_SOURCE_IDS = 20  # PipelineConfig.max_source_ids


def _hits(make_alert, n: int, step_s: float = 60.0):
    """Alert versions as the pipeline emits them for ``n`` hits of one rule on one merchant+subject."""
    dedup = Deduplicator(MemoryStore())
    versions, current = [], None
    for i in range(n):
        ts, ev = T0 + i * step_s, f"ev-{i}"
        new_id = alert_id("starter", "ST-AD-01", "m-1", "sku-1", ev)
        aid, hits, opened = dedup.admit(("ST-AD-01", "m-1", "sku-1"), ts, 86_400, new_id)
        if opened:
            current = make_alert(ts, first_event=ev)
            assert current.alert_id == aid
        else:
            ids = (current.source_event_ids + [ev])[:MAX_SOURCE_IDS]
            current = msgspec.structs.replace(current, hits=hits, last_seen=iso(ts), source_event_ids=ids)
        versions.append(current)
    return versions


def test_fifty_hits_in_an_hour_are_one_alert_with_count_fifty(store, make_alert):
    versions = _hits(make_alert, 50, step_s=70.0)
    outcome = {}
    for v in versions:  # the pipeline may send every update; the store keeps them as versions of one alert
        r = store.put(v)
        outcome[r] = outcome.get(r, 0) + 1
    assert outcome == {"inserted": 1, "updated": 49}
    [stored] = store.select()
    assert stored.alert.hits == 50 and stored.version == 50 and stored.status == "new"
    assert stored.alert.alert_id == versions[0].alert_id
    assert len(stored.alert.source_event_ids) == MAX_SOURCE_IDS
    assert stored.alert.last_seen == iso(T0 + 49 * 70)
    assert [v.alert.hits for v in store.versions(stored.alert.alert_id)] == list(range(1, 51))
    assert store.verify() is None


def test_replaying_the_same_alerts_leaves_every_table_unchanged(store, make_alert):
    alerts = _hits(make_alert, 5) + [make_alert(T0 + i * DAY, merchant_id=f"m-{i}") for i in range(2, 6)]
    first = store.put_many(alerts)
    assert first == {"inserted": 5, "updated": 4}
    store.set_status(alerts[-1].alert_id, "acknowledged", "张三")
    before = store.dump()
    again = store.put_many(alerts)
    assert again == {"unchanged": 9}
    assert store.put(alerts[2]) == "unchanged"  # an intermediate version seen again
    rerun = [msgspec.structs.replace(a, processed_at="2026-03-09T00:00:00Z") for a in alerts]
    assert store.put_many(rerun) == {"unchanged": 9}  # same events processed again later: same alerts
    assert store.dump() == before
    assert store.verify() is None


def test_an_older_version_arriving_late_is_stale(store, make_alert):
    v = _hits(make_alert, 3)
    store.put(v[0])
    store.put(v[2])
    before = store.dump()
    assert store.put(v[1]) == "stale"
    assert store.dump() == before
    assert store.get(v[0].alert_id).alert.hits == 3


def test_a_new_version_keeps_the_regulators_status(store, make_alert):
    v = _hits(make_alert, 2)
    store.put(v[0])
    store.set_status(v[0].alert_id, "acknowledged", "张三")
    assert store.put(v[1]) == "updated"
    got = store.get(v[0].alert_id)
    assert (got.status, got.version, got.alert.hits) == ("acknowledged", 2, 2)


def _tamper(store, sql: str, params=()):
    with store.backend.transaction() as exec_:  # direct SQL, as someone with database access would do
        exec_(sql, params)


def test_editing_stored_evidence_makes_verify_name_that_record(store, make_alert):
    alerts = [make_alert(T0 + i * 3600, merchant_id=f"m-{i}") for i in range(4)]
    store.put_many(alerts)
    victim = alerts[1].alert_id
    _tamper(store, "UPDATE alert_records SET evidence = REPLACE(evidence, '\"severity\":\"medium\"', "
                   "'\"severity\":\"low\"') WHERE alert_id = ?", (victim,))
    broken = store.verify()
    assert broken is not None
    assert (broken.table, broken.alert_id, broken.version, broken.seq) == ("alert_records", victim, 1, 2)
    assert "evidence" in broken.problem
    assert victim in str(broken)


def test_rehashing_edited_evidence_is_still_caught_by_the_chain(store, make_alert):
    from engine.alerts.store.hashing import content_hash, sha256_hex

    alerts = [make_alert(T0 + i * 3600, merchant_id=f"m-{i}") for i in range(3)]
    store.put_many(alerts)
    victim = alerts[0].alert_id
    [(evidence,)] = store.backend.query("SELECT evidence FROM alert_records WHERE alert_id = ?", (victim,))
    forged = evidence.replace('"hits":1', '"hits":2')
    _tamper(store, "UPDATE alert_records SET evidence = ?, evidence_hash = ?, content_hash = ? WHERE alert_id = ?",
            (forged, sha256_hex(forged.encode()), content_hash(orjson.loads(forged)), victim))
    broken = store.verify()
    assert (broken.alert_id, broken.version) == (victim, 1) and "record_hash" in broken.problem


def test_deleted_records_and_edited_views_are_caught(store, make_alert):
    alerts = [make_alert(T0 + i * 3600, merchant_id=f"m-{i}") for i in range(3)]
    store.put_many(alerts)
    _tamper(store, "UPDATE alerts SET severity = 'info' WHERE alert_id = ?", (alerts[2].alert_id,))
    broken = store.verify()
    assert (broken.table, broken.alert_id) == ("alerts", alerts[2].alert_id) and "severity" in broken.problem
    _tamper(store, "UPDATE alerts SET severity = 'medium' WHERE alert_id = ?", (alerts[2].alert_id,))
    assert store.verify() is None
    _tamper(store, "DELETE FROM alert_records WHERE seq = 2")
    broken = store.verify()
    assert (broken.seq, broken.alert_id) == (3, alerts[2].alert_id) and "missing" in broken.problem


def test_status_moves_follow_the_life_cycle_and_are_audited(store, make_alert):
    a = make_alert(T0)
    store.put(a)
    aid = a.alert_id
    with pytest.raises(StatusError, match="cannot move from new to closed"):
        store.set_status(aid, "closed", "张三")
    assert store.set_status(aid, "acknowledged", "张三", "已签收") is True
    assert store.set_status(aid, "acknowledged", "张三") is False  # idempotent: nothing recorded
    assert store.set_status(aid, "advised", "李四", "已电话提醒告诫，限期15日整改") is True
    assert store.set_status(aid, "closed", "李四", "已整改") is True
    with pytest.raises(StatusError, match="cannot move from closed to acknowledged"):
        store.set_status(aid, "acknowledged", "张三")
    with pytest.raises(StatusError, match="unknown status"):
        store.set_status(aid, "deleted", "张三")
    with pytest.raises(StatusError, match="who"):
        store.set_status(aid, "closed", " ")
    with pytest.raises(StoreError, match="no alert"):
        store.set_status("nope", "acknowledged", "张三")
    changes = store.status_changes(aid)
    assert [(c.from_status, c.to_status, c.actor) for c in changes] == [
        ("new", "acknowledged", "张三"), ("acknowledged", "advised", "李四"), ("advised", "closed", "李四")]
    assert changes[1].note == "已电话提醒告诫，限期15日整改" and changes[0].at.endswith("Z")
    assert store.get(aid).status == "closed"
    assert store.verify() is None


def test_edited_audit_rows_are_caught(store, make_alert):
    a = make_alert(T0)
    store.put(a)
    store.set_status(a.alert_id, "acknowledged", "张三")
    store.set_status(a.alert_id, "case_opened", "张三")
    _tamper(store, "UPDATE alert_status_changes SET actor = '王五' WHERE seq = 1")
    broken = store.verify()
    assert (broken.table, broken.seq, broken.alert_id) == ("alert_status_changes", 1, a.alert_id)
    _tamper(store, "UPDATE alert_status_changes SET actor = '张三' WHERE seq = 1")
    _tamper(store, "UPDATE alerts SET status = 'closed'")
    broken = store.verify()
    assert broken.table == "alerts" and "audit trail" in broken.problem


def test_list_filters(store, make_alert):
    adv = AlertDisposition(kind="advisory", code="first_minor", reason="…", deadline="2026-03-16")
    store.put_many([
        make_alert(T0, merchant_id="m-hz", op_region="330106", severity="medium", disposition=adv),
        make_alert(T0 + DAY, merchant_id="m-nb", op_region="330203", severity="high", rule_id="ST-PR-01"),
        make_alert(T0 + 2 * DAY, merchant_id="m-sh", op_region="310115", severity="critical",
                   route=AlertRoute(kind="referral", region_code="310115", merchant_region_code="310115")),
    ])
    ids = lambda **kw: [s.alert.merchant.merchant_id for s in store.select(AlertFilter(**kw))]  # noqa: E731
    assert ids() == ["m-sh", "m-nb", "m-hz"]
    assert ids(region="330000") == ["m-nb", "m-hz"]
    assert ids(region="330100") == ["m-hz"]
    assert ids(min_severity="high") == ["m-sh", "m-nb"]
    assert ids(rule_id="ST-PR-01") == ["m-nb"]
    assert ids(merchant_id="m-sh") == ["m-sh"]
    assert ids(since=T0 + DAY, until=T0 + 2 * DAY) == ["m-nb"]
    assert ids(limit=1) == ["m-sh"]
    first = store.select(AlertFilter(merchant_id="m-hz"))[0]
    store.set_status(first.alert.alert_id, "acknowledged", "张三")
    assert ids(statuses=("acknowledged",)) == ["m-hz"]
    assert first.alert.disposition == adv
    with pytest.raises(ValueError):
        store.select(AlertFilter(region="33"))


def test_resolve_accepts_a_unique_prefix(store, make_alert):
    a, b = make_alert(T0, merchant_id="m-1"), make_alert(T0, merchant_id="m-2")
    store.put_many([a, b])
    assert store.resolve(a.alert_id[:10]) == a.alert_id
    assert store.resolve(a.alert_id) == a.alert_id
    with pytest.raises(StoreError, match="no alert id"):
        store.resolve("zz%")
    with pytest.raises(StoreError, match="ambiguous"):
        store.resolve("")


def test_reopening_keeps_everything(store_url, make_alert):
    with open_store(store_url) as s:
        s.put(make_alert(T0))
        before = s.dump()
    with open_store(store_url) as s:
        assert s.dump() == before and s.verify() is None


def test_unsupported_urls_are_refused():
    with pytest.raises(StoreError, match="unsupported"):
        open_store("mysql://localhost/x")
