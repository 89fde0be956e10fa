"""The pure pipeline: batch-size independence, dedup, shadow rules, bad events never raise."""
from __future__ import annotations

import msgspec

from engine.errors import Location
from engine.events.examples import deep_merge, default_event
from engine.pipeline import Pipeline, iter_batches


def _items(data: bytes) -> list[tuple[bytes, Location]]:
    return [(l, Location(file="s", line=i + 1)) for i, l in enumerate(data.splitlines()) if l.strip()]


def _run(compiled, items, batch: int):
    p = Pipeline(compiled, clock=lambda: 0.0)
    alerts, shadow, rejects = [], [], []
    for b in iter_batches(items, batch):
        r = p.process_raw(b)
        alerts += r.alerts
        shadow += r.shadow
        rejects += r.rejects
    return p, alerts, shadow, rejects


def test_results_do_not_depend_on_batch_size(starter, small_stream) -> None:
    items = _items(small_stream[0])
    _, a1, s1, r1 = _run(starter, items, 1)
    _, a2, s2, r2 = _run(starter, items, 997)
    assert a1, "the stream should raise alerts"
    assert [msgspec.json.encode(a) for a in a1] == [msgspec.json.encode(a) for a in a2]
    assert [a.alert_id for a in s1] == [a.alert_id for a in s2]
    assert [r.source for r in r1] == [r.source for r in r2]


def test_every_line_is_an_event_or_a_reject(starter, small_stream) -> None:
    items = _items(small_stream[0])
    p, _, _, rejects = _run(starter, items, 500)
    assert sum(p.stats.events.values()) + len(rejects) == len(items)
    assert rejects and all(r.reason and r.source.get("line") for r in rejects)


def _listing(**patch) -> bytes:
    return msgspec.json.encode(deep_merge(default_event("listing"), patch))


def test_repeated_hits_in_the_dedup_window_make_one_alert(starter) -> None:
    p = Pipeline(starter, clock=lambda: 0.0)
    lines = [
        _listing(event_id=f"e{i}", title="全网第一品牌 羽绒服", detail_text="", subtitle="", ocr_text="",
                 category_std="服装鞋帽", occurred_at=f"2026-11-11T10:{i:02d}:00+08:00")
        for i in range(50)
    ]
    result = p.process_raw([(l, Location(file="t")) for l in lines])
    alerts = [a for a in result.alerts if a.rule_id == "ST-AD-01"]
    assert len(alerts) == 1
    assert p.stats.deduplicated["ST-AD-01"] == 49
    # the next day the same violation opens a new alert
    later = _listing(event_id="next-day", title="全网第一品牌 羽绒服", detail_text="", subtitle="", ocr_text="",
                     category_std="服装鞋帽", occurred_at="2026-11-12T11:00:00+08:00")
    again = p.process_raw([(later, Location(file="t"))]).alerts
    assert [a.rule_id for a in again] == ["ST-AD-01"] and again[0].alert_id != alerts[0].alert_id


def test_alert_carries_basis_evidence_and_original_spans(starter) -> None:
    p = Pipeline(starter, clock=lambda: 0.0)
    line = _listing(event_id="x1", title="醉佳 品质 ＮＯ．１ 羽绒服", detail_text="", subtitle="", ocr_text="", category_std="服装鞋帽")
    (alert,) = [a for a in p.process_raw([(line, Location(file="t"))]).alerts if a.rule_id == "ST-AD-01"]
    assert alert.legal_basis[0].article == "第九条第（三）项"
    assert {m["original"] for m in alert.matched} == {"醉佳", "ＮＯ．１"}
    assert alert.source_event_ids == ["x1"]
    assert alert.values["category_std"] == "服装鞋帽"
    assert alert.pack == "starter" and alert.pack_version == "1.0.0"


def test_shadow_rules_are_counted_but_kept_apart(starter) -> None:
    p = Pipeline(starter, clock=lambda: 0.0)
    ev = deep_merge(default_event("live_utterance"), {"asr_text": "家人们到手价只要59元", "asr_conf": 0.95,
                                                     "current_item_id": "I1", "current_item_price": 89.0, "price_mentions": [59.0]})
    result = p.process_raw([(msgspec.json.encode(ev), Location(file="t"))])
    assert [a.rule_id for a in result.shadow] == ["ST-LV-02"] and result.shadow[0].shadow
    assert all(a.rule_id != "ST-LV-02" for a in result.alerts)


def test_late_events_are_counted_not_added(starter) -> None:
    p = Pipeline(starter, clock=lambda: 0.0)
    def complaint(i: int, when: str) -> bytes:
        return msgspec.json.encode(deep_merge(default_event("complaint"), {"event_id": f"c{i}", "occurred_at": when}))
    p.process_raw([(complaint(1, "2026-11-11T10:00:00+08:00"), Location(file="t"))])
    p.process_raw([(complaint(2, "2026-11-11T07:00:00+08:00"), Location(file="t"))])  # 3 h late, lateness is 1 h
    assert p.stats.late["complaints_24h"] == 1


def test_a_matching_complaint_raises_the_open_warning(tmp_path) -> None:
    from engine.rules.evaluator import compile_pack
    from engine.rules.loader import load_pack

    cn = compile_pack(load_pack("rules/cn-platform"))
    p = Pipeline(cn, clock=lambda: 0.0)
    listing = _listing(event_id="l1", title="全网第一品牌 面霜", detail_text="", subtitle="", ocr_text="", category_std="化妆品",
                       occurred_at="2026-11-10T08:00:00+08:00")
    first = p.process_raw([(listing, Location(file="t"))])
    (warning,) = [a for a in first.alerts if a.rule_id == "AD-01"]
    complaint = msgspec.json.encode(deep_merge(default_event("complaint"), {
        "event_id": "c1", "problem_cat": "虚假宣传", "text": "宣传全网第一，实际很差", "occurred_at": "2026-11-11T08:00:00+08:00",
        "merchant": default_event("listing")["merchant"]}))
    second = p.process_raw([(complaint, Location(file="t"))])
    (confirmation,) = [a for a in second.alerts if a.rule_id == "CP-03"]
    (raised,) = [u for u in second.updates if u.alert_id == warning.alert_id]
    assert raised.severity == "high" and warning.severity == "medium"
    assert raised.confirmed_by == [confirmation.alert_id]


def test_first_minor_violation_is_advisory_and_the_second_is_a_case() -> None:
    from engine.rules.evaluator import compile_pack
    from engine.rules.loader import load_pack

    cn = compile_pack(load_pack("rules/cn-platform"))
    p = Pipeline(cn, clock=lambda: 0.0)
    def hidden(i: int, when: str) -> bytes:
        return _listing(event_id=f"h{i}", sku_id=f"sku-{i}", licence_info_displayed=False, occurred_at=when)
    a1 = [a for a in p.process_raw([(hidden(1, "2026-11-01T08:00:00+08:00"), Location(file="t"))]).alerts if a.rule_id == "MC-01"]
    a2 = [a for a in p.process_raw([(hidden(2, "2026-12-20T08:00:00+08:00"), Location(file="t"))]).alerts if a.rule_id == "MC-01"]
    assert a1[0].disposition.kind == "advisory"
    assert a2[0].disposition.kind == "case"
