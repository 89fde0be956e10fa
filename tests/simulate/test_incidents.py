"""Each injected incident really has the property its kind names (checked on the events)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest

from engine.simulate import RATE_PER_1000, planned_count

from .conftest import Run

CONDITION_WORDS = ("券", "满减", "会员", "拍两件")


def _ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


def _incidents(run: Run, kind: str) -> list[dict]:
    return [t for t in run.truth if t["kind"] == kind]


def _events(run: Run, t: dict) -> list[dict]:
    by_id = run.by_id
    return sorted((by_id[e] for e in t["event_ids"]), key=lambda d: _ts(d["occurred_at"]))


@pytest.fixture(scope="module")
def paid_orders(day_run: Run) -> dict[str, list[tuple[float, float]]]:
    """sku_id -> [(occurred, unit_paid_price)] of every paid order event in the stream."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for d in day_run.docs.values():
        if d["event_type"] == "order" and d["status"] == "paid":
            out[d["sku_id"]].append((_ts(d["occurred_at"]), d["unit_paid_price"]))
    return out


@pytest.mark.slow
def test_every_kind_appears_in_a_day_of_300_merchants(day_run: Run) -> None:
    kinds = {(t["family"], t["kind"], t["label"]) for t in day_run.truth if t["label"] != "malformed"}
    assert kinds == set(RATE_PER_1000)


RARE_KINDS = {"complaint_professional_group"}  # two or three a day in a district of 2,000 merchants


def test_counts_scale_with_merchant_hours() -> None:
    for (_, kind, _), rate in RATE_PER_1000.items():
        if kind in RARE_KINDS:
            assert 2 <= planned_count(2000, 24, rate) <= 3
        else:
            assert 15 <= planned_count(2000, 24, rate) <= 80
        assert planned_count(50, 2, rate) == 1
    assert planned_count(4000, 24, 1.0) == 2 * planned_count(2000, 24, 1.0)


def test_ad_absolute_text_carries_the_term_as_written(day_run: Run) -> None:
    for t in _incidents(day_run, "ad_absolute"):
        written = t["note"].rsplit("(", 1)[1].rstrip(")")
        for e in _events(day_run, t):
            text = e.get("asr_text") or (e.get("title", "") + e.get("detail_text", ""))
            assert written in text, (t["note"], text)


def test_ad_medical_is_on_non_medical_goods(day_run: Run) -> None:
    from .test_background import MEDICAL

    for t in _incidents(day_run, "ad_medical"):
        for e in _events(day_run, t):
            if e["event_type"] == "listing":
                assert e["category_std"] not in ("药品", "医疗器械")
            text = e.get("asr_text") or (e.get("title", "") + e.get("detail_text", ""))
            assert MEDICAL.search(text), text


def test_price_fake_original_ref_exceeds_the_7_day_low(day_run: Run, paid_orders: dict) -> None:
    for t in _incidents(day_run, "price_fake_original"):
        updates = [e for e in _events(day_run, t) if e["event_type"] == "listing" and e.get("ref_price")]
        assert updates
        for u in updates:
            at = _ts(u["occurred_at"])
            before = [p for ts, p in paid_orders[u["sku_id"]] if at - 7 * 86400 <= ts < at]
            assert before, "the SKU must have sold before the promotion"
            low = min(before)
            assert u["ref_price"] >= 1.15 * low and u["display_price"] <= low
            assert u["ref_price_label"] in ("划线价", "原价")


def test_price_genuine_cut_ref_equals_the_7_day_low(day_run: Run, paid_orders: dict) -> None:
    for t in _incidents(day_run, "price_genuine_cut"):
        updates = [e for e in _events(day_run, t) if e["event_type"] == "listing"]
        assert updates
        for u in updates:
            at = _ts(u["occurred_at"])
            low = min(p for ts, p in paid_orders[u["sku_id"]] if at - 7 * 86400 <= ts < at)
            assert u["ref_price"] == low and u["display_price"] < low


def test_price_raise_then_cut(day_run: Run, paid_orders: dict) -> None:
    for t in _incidents(day_run, "price_raise_then_cut"):
        listing = [e for e in _events(day_run, t) if e["event_type"] == "listing"]
        raise_, promo = listing[0], next(e for e in listing if e.get("ref_price_label") == "原价")
        low = min(p for ts, p in paid_orders[raise_["sku_id"]] if ts < _ts(raise_["occurred_at"]))
        assert raise_["display_price"] >= 1.3 * low
        assert promo["ref_price"] == raise_["display_price"]
        assert _ts(promo["occurred_at"]) - _ts(raise_["occurred_at"]) < 7 * 86400


def test_live_fake_viewers_signals(day_run: Run) -> None:
    for t in _incidents(day_run, "live_fake_viewers"):
        metrics = _events(day_run, t)
        assert all(m["event_type"] == "live_metrics" for m in metrics)
        strong = [
            m for m in metrics
            if 1.95 <= m["online_displayed"] / max(1, m["online_measured"]) <= 5.05
            and m["dwell_hist"]["lt_3s"] / max(1, sum(m["dwell_hist"].values())) > 0.6
            and m["new_acct_ratio"] > 0.4
        ]
        assert len(strong) >= 10, t["note"]
        times = [_ts(m["occurred_at"]) for m in strong]
        assert max(times) - min(times) >= 9 * 60


def test_live_paid_surge_is_honest(day_run: Run) -> None:
    for t in _incidents(day_run, "live_paid_surge"):
        for m in _events(day_run, t):
            assert m["online_displayed"] <= 1.05 * m["online_measured"] + 1
            assert m["traffic_sources"]["paid"] >= 0.45
            assert m["new_acct_ratio"] < 0.4


def test_live_price_mismatch_and_conditional_decoy(day_run: Run) -> None:
    for t in _incidents(day_run, "live_price_mismatch"):
        for u in _events(day_run, t):
            assert min(u["price_mentions"]) < u["current_item_price"] - 1
            assert not any(w in u["asr_text"] for w in CONDITION_WORDS)
            assert u["asr_conf"] >= 0.85
    for t in _incidents(day_run, "live_price_conditional"):
        for u in _events(day_run, t):
            assert min(u["price_mentions"]) < u["current_item_price"] - 1
            assert any(w in u["asr_text"] for w in CONDITION_WORDS)


def test_honest_utterances_quote_the_link_price(day_run: Run) -> None:
    tagged = {e for t in day_run.truth for e in t.get("event_ids", [])}
    for d in day_run.docs.values():
        if d["event_type"] == "live_utterance" and d["event_id"] not in tagged and d["price_mentions"]:
            low = min(d["price_mentions"])
            assert low >= d["current_item_price"] - 1 or any(w in d["asr_text"] for w in CONDITION_WORDS), d


def test_complaint_surge_and_group(day_run: Run) -> None:
    for t in _incidents(day_run, "complaint_surge"):
        events = _events(day_run, t)
        assert len(events) >= 15
        assert _ts(events[-1]["occurred_at"]) - _ts(events[0]["occurred_at"]) <= 5 * 3600
    for t in _incidents(day_run, "complaint_group"):
        events = _events(day_run, t)
        assert len({e["complainant_hash"] for e in events}) >= 5
        assert {e["problem_cat"] for e in events} == {t["subject"]}


def test_busy_merchant_complaints_follow_orders(day_run: Run) -> None:
    for t in _incidents(day_run, "complaint_busy_merchant"):
        start, end = _ts(t["start"]), _ts(t["end"])
        orders = sum(
            1 for d in day_run.docs.values()
            if d["event_type"] == "order" and d["status"] == "paid"
            and d["merchant"]["merchant_id"] == t["merchant_id"] and start <= _ts(d["occurred_at"]) <= end
        )
        assert orders >= 200 * len(t["event_ids"]) / 2  # about one complaint per ~1,000 orders, not a surge
