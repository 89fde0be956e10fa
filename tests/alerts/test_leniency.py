"""首违免罚 decisions and repeat escalation, against a MemoryStore like the pipeline's."""
from __future__ import annotations

import msgspec
import orjson
import pytest

from engine.alerts import leniency as L
from engine.alerts.leniency import LeniencyPolicy, RepeatPolicy, decide, dispose, escalate_for_repeat, evict
from engine.state.store import MemoryStore

from .conftest import DAY, T0, iso


def test_first_minor_violation_is_advisory_with_deadline(make_alert):
    store = MemoryStore()
    d = dispose(make_alert(T0), store)
    assert (d.kind, d.code) == ("advisory", "first_minor")
    assert d.deadline == "2026-03-16"  # 15 days after 2026-03-01 10:00 China time
    assert "首次" in d.reason and "第三十三条" in d.reason and "2026-03-16" in d.reason


def test_second_violation_within_lookback_is_case(make_alert):
    store = MemoryStore()
    assert dispose(make_alert(T0, subject="sku-1"), store).kind == "advisory"
    d = dispose(make_alert(T0 + 100 * DAY, subject="sku-2"), store)
    assert (d.kind, d.code) == ("case", "repeat_within_lookback")
    assert d.deadline is None and "2026-03-01" in d.reason and "立案" in d.reason


def test_same_subject_after_deadline_is_not_corrected(make_alert):
    store = MemoryStore()
    dispose(make_alert(T0, subject="sku-1"), store)
    d = dispose(make_alert(T0 + 20 * DAY, subject="sku-1"), store)
    assert (d.kind, d.code) == ("case", "not_corrected")
    assert "逾期" in d.reason and "2026-03-16" in d.reason


def test_hits_inside_the_correction_period_join_the_advisory(make_alert):
    store = MemoryStore()
    dispose(make_alert(T0, subject="sku-1"), store)
    same = dispose(make_alert(T0 + 2 * DAY, subject="sku-1"), store)  # next dedup window, still correcting
    other = dispose(make_alert(T0 + 3 * DAY, subject="sku-9"), store)  # another listing of the same store
    for d in (same, other):
        assert (d.kind, d.code, d.deadline) == ("advisory", "in_correction", "2026-03-16")
    # sku-9 was part of the advisory: hitting it after the deadline is "not corrected"
    assert dispose(make_alert(T0 + 30 * DAY, subject="sku-9"), store).code == "not_corrected"


@pytest.mark.parametrize("family", sorted(L.DEFAULT_EXCLUDED))
def test_excluded_family_is_always_case(make_alert, family):
    store = MemoryStore()
    d = dispose(make_alert(T0, rule_id="ST-MED-01", family=family, minor=True), store)
    assert (d.kind, d.code) == ("case", "excluded_family")
    assert L.FAMILY_NAMES_CN[family] in d.reason


def test_excluded_families_are_configurable(make_alert):
    policy = LeniencyPolicy(excluded_families={"price"})
    assert dispose(make_alert(T0, family="medical"), MemoryStore(), policy).kind == "advisory"
    assert dispose(make_alert(T0, family="price"), MemoryStore(), policy).code == "excluded_family"


def test_rule_not_flagged_minor_is_case(make_alert):
    d = dispose(make_alert(T0, rule_id="ST-PR-01", family="price", minor=False), MemoryStore())
    assert (d.kind, d.code) == ("case", "not_minor")


def test_a_violation_after_the_lookback_is_first_again_and_history_is_pruned(make_alert):
    store = MemoryStore()
    dispose(make_alert(T0, subject="sku-1"), store)
    d = dispose(make_alert(T0 + 731 * DAY, subject="sku-2"), store)
    assert d.code == "first_minor"
    assert len(store.get(L.HISTORY_NAMESPACE, ("m-1",))) == 1


def test_same_type_is_rule_id_by_default_or_family_if_configured(make_alert):
    other_rule = dict(rule_id="ST-AD-06", family="advertising")
    store = MemoryStore()
    dispose(make_alert(T0), store)
    assert dispose(make_alert(T0 + 60 * DAY, **other_rule), store).code == "first_minor"
    fam = LeniencyPolicy(same_type="family")
    store = MemoryStore()
    dispose(make_alert(T0), store, fam)
    assert dispose(make_alert(T0 + 60 * DAY, **other_rule), store, fam).code == "repeat_within_lookback"


def test_other_merchants_do_not_count(make_alert):
    store = MemoryStore()
    dispose(make_alert(T0, merchant_id="m-1"), store)
    assert dispose(make_alert(T0 + 60 * DAY, merchant_id="m-2"), store).code == "first_minor"


def test_deciding_the_same_alert_again_changes_nothing(make_alert):
    store = MemoryStore()
    a = make_alert(T0)
    first = dispose(a, store)
    before = orjson.dumps(store.get(L.HISTORY_NAMESPACE, ("m-1",)))
    assert dispose(a, store) == first
    assert orjson.dumps(store.get(L.HISTORY_NAMESPACE, ("m-1",))) == before
    updated = msgspec.structs.replace(a, hits=7, last_seen=iso(T0 + 3600))  # a dedup update, same id
    assert dispose(updated, store) == first
    [entry] = store.get(L.HISTORY_NAMESPACE, ("m-1",))
    assert entry["last"] == T0 + 3600  # the look-back runs from the end of a continuing violation


def test_an_advised_alert_still_firing_after_its_deadline_becomes_not_corrected(make_alert):
    store = MemoryStore()
    a = make_alert(T0)
    assert dispose(a, store).code == "first_minor"
    late = msgspec.structs.replace(a, hits=40, last_seen=iso(T0 + 16 * DAY))  # long dedup window
    d = dispose(late, store)
    assert (d.kind, d.code) == ("case", "not_corrected")
    assert dispose(late, store) == d


def test_shadow_alerts_are_decided_but_not_recorded(make_alert):
    store = MemoryStore()
    assert dispose(make_alert(T0, shadow=True), store).code == "first_minor"
    assert store.get(L.HISTORY_NAMESPACE, ("m-1",)) is None


def test_decide_is_pure_and_history_is_small_json(make_alert):
    history: list = []
    for i in range(200):  # a store-wide problem found listing by listing
        _, history = decide(make_alert(T0 + i * 600, subject=f"sku-{i}"), history)
    assert history and len(history) == 1
    entry = history[0]
    assert len(entry["subjects"]) == L.MAX_SUBJECTS and len(entry["alerts"]) == L.MAX_ALERT_IDS
    assert len(orjson.dumps(history)) < 8_000
    frozen = orjson.dumps(history)
    decide(make_alert(T0 + 40 * DAY, subject="sku-x"), history)
    assert orjson.dumps(history) == frozen


def test_policy_is_validated():
    with pytest.raises(ValueError):
        LeniencyPolicy(correction_days=0)
    with pytest.raises(ValueError):
        LeniencyPolicy(lookback_days=10, correction_days=15)
    with pytest.raises(ValueError):
        LeniencyPolicy(same_type="law")
    with pytest.raises(ValueError):
        RepeatPolicy(threshold=0)


def test_repeat_offender_severity_goes_up_one_level(make_alert):
    store = MemoryStore()
    results = [escalate_for_repeat(make_alert(T0 + i * DAY, rule_id=f"R-{i}", severity="medium"), store)
               for i in range(4)]
    assert results == [("medium", 1), ("medium", 2), ("high", 3), ("high", 4)]


def test_repeat_counts_only_the_window_and_each_alert_once(make_alert):
    store = MemoryStore()
    a = make_alert(T0, rule_id="R-0")
    escalate_for_repeat(a, store)
    escalate_for_repeat(a, store)  # replayed
    assert escalate_for_repeat(make_alert(T0 + DAY, rule_id="R-1"), store) == ("medium", 2)
    assert escalate_for_repeat(make_alert(T0 + 9 * DAY, rule_id="R-2"), store) == ("medium", 1)
    custom = RepeatPolicy(threshold=2, window_days=30, steps=2)
    assert escalate_for_repeat(make_alert(T0 + 10 * DAY, rule_id="R-3"), store, custom) == ("critical", 2)
    assert escalate_for_repeat(make_alert(T0, rule_id="R-9", shadow=True), MemoryStore()) == ("medium", 0)


def test_evict_forgets_merchants_with_only_old_history(make_alert):
    store = MemoryStore()
    dispose(make_alert(T0, merchant_id="m-old"), store)
    escalate_for_repeat(make_alert(T0, merchant_id="m-old"), store)
    dispose(make_alert(T0 + 700 * DAY, merchant_id="m-new"), store)
    escalate_for_repeat(make_alert(T0 + 700 * DAY, merchant_id="m-new"), store)
    assert evict(store, T0 + 740 * DAY) == 3  # m-old history, m-old repeat, m-new repeat
    assert [k for k, _ in store.items(L.HISTORY_NAMESPACE)] == [("m-new",)]


def test_an_anomaly_model_lead_is_for_review_and_never_on_record(make_alert):
    from engine.alerts.alert import AlertModel

    store = MemoryStore()
    lead = make_alert(minor=True)
    lead.model = AlertModel(name="listing_price", folder="listing-price", risk=0.9, threshold=0.7)
    assert dispose(lead, store) is L.ANOMALY_LEAD
    assert store.get(L.HISTORY_NAMESPACE, (lead.merchant.merchant_id,)) is None
    # the merchant's first real minor violation is still a first violation
    assert dispose(make_alert(minor=True), store).kind == "advisory"
