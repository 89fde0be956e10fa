"""The cn-platform pack's incident kinds carry exactly the signal their rule reads; decoys do not."""
from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from .conftest import Run
from .test_background import (
    BAN, CASHBACK, CAUTION_ALLOW, DRUG_GUARANTEE, EFFECT, HEALTH_CLAIM, INFANT, LOWEST, MEDICAL, NEW_TERM_LISTS,
    OFFPLATFORM, PROHIBITED, SCARCITY, SERVICE_PERIOD, STATE, STATE_ANY, UNSOURCED, caution_hit,
)

HOUR = 3600.0


def _ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


def _incidents(run: Run, kind: str) -> list[dict]:
    found = [t for t in run.truth if t["kind"] == kind]
    assert found, kind
    return found


def _events(run: Run, t: dict) -> list[dict]:
    assert t["event_ids"], t
    return sorted((run.by_id[e] for e in t["event_ids"]), key=lambda d: _ts(d["occurred_at"]))


def _text(d: dict) -> str:
    if d["event_type"] == "listing":
        return d["title"] + d["subtitle"] + d["detail_text"]
    return d.get("asr_text", "") + d.get("ocr_text", "")


@pytest.fixture(scope="module")
def idx(day_run: Run) -> dict:
    """Indexes of the stream: paid orders and listings per SKU, metrics / orders per session."""
    paid: dict[str, list[tuple[float, float]]] = defaultdict(list)
    listings: dict[str, list[dict]] = defaultdict(list)
    by_merchant_listings: dict[str, list[dict]] = defaultdict(list)
    metrics: dict[str, list[dict]] = defaultdict(list)
    session_orders: dict[str, list[dict]] = defaultdict(list)
    for d in day_run.docs.values():
        et = d["event_type"]
        if et == "order":
            if d["status"] == "paid":
                paid[d["sku_id"]].append((_ts(d["occurred_at"]), d["unit_paid_price"]))
            if d.get("live_session_id"):
                session_orders[d["live_session_id"]].append(d)
        elif et == "listing":
            listings[d["sku_id"]].append(d)
            by_merchant_listings[d["merchant"]["merchant_id"]].append(d)
        elif et == "live_metrics":
            metrics[d["session_id"]].append(d)
    return {"paid": paid, "listings": listings, "merchant_listings": by_merchant_listings,
            "metrics": metrics, "session_orders": session_orders}


# -- advertising -------------------------------------------------------------------------------


def test_ad_caution_and_lookalikes(day_run: Run) -> None:
    for t in _incidents(day_run, "ad_caution"):
        for e in _events(day_run, t):
            assert caution_hit(_text(e)), _text(e)
    for t in _incidents(day_run, "ad_caution_lookalike"):
        for e in _events(day_run, t):
            assert not caution_hit(_text(e)), _text(e)
            assert CAUTION_ALLOW.search(_text(e)) or re.search("首页|首单", _text(e)), _text(e)


def test_ad_state_endorsement_and_history(day_run: Run) -> None:
    for t in _incidents(day_run, "ad_state_endorsement"):
        for e in _events(day_run, t):
            assert STATE.search(_text(e)), _text(e)
    for t in _incidents(day_run, "ad_state_history"):
        for e in _events(day_run, t):
            text = _text(e)
            assert STATE_ANY.search(text)
            assert not STATE.search(re.sub(r"曾为[^，。]{0,8}特供", "", text)), text


def test_ad_unsourced_and_sourced_claims(day_run: Run) -> None:
    for t in _incidents(day_run, "ad_unsourced_claim"):
        for e in _events(day_run, t):
            assert e["event_type"] == "listing" and UNSOURCED.search(e["detail_text"])
            assert "来源：" not in e["detail_text"] and not e.get("patent_no")
    for t in _incidents(day_run, "ad_sourced_claim"):
        for e in _events(day_run, t):
            assert UNSOURCED.search(e["detail_text"])
            if e.get("patent_no"):
                assert all(re.fullmatch(r"ZL\d{12}\.\d", no) and no in e["detail_text"] for no in e["patent_no"])
            else:
                assert "来源：" in e["detail_text"] and "专利" not in e["detail_text"]


def test_ad_invented_effect_and_service_periods(day_run: Run) -> None:
    for t in _incidents(day_run, "ad_invented_effect"):
        for e in _events(day_run, t):
            assert EFFECT.search(_text(e)), _text(e)
            if e["event_type"] == "listing":
                assert e["category_std"] not in ("药品", "医疗器械")
    for t in _incidents(day_run, "ad_service_period"):
        for e in _events(day_run, t):
            assert SERVICE_PERIOD.search(_text(e)) and not EFFECT.search(_text(e)), _text(e)


# -- medical -------------------------------------------------------------------------------------


def test_drug_guarantee(day_run: Run) -> None:
    for t in _incidents(day_run, "drug_guarantee"):
        for e in _events(day_run, t):
            assert e["category_std"] in ("药品", "医疗器械") and DRUG_GUARANTEE.search(_text(e)), _text(e)


def test_health_food_claims_and_approved_wording(day_run: Run) -> None:
    for t in _incidents(day_run, "health_food_claim"):
        for e in _events(day_run, t):
            assert e["category_std"] == "保健食品" and HEALTH_CLAIM.search(_text(e)), _text(e)
    for t in _incidents(day_run, "health_food_approved"):
        for e in _events(day_run, t):
            text = _text(e)
            assert e["category_std"] == "保健食品" and "本品不能代替药物" in e["detail_text"]
            assert not HEALTH_CLAIM.search(text) and not MEDICAL.search(text), text


def test_health_food_no_warning_covers_every_snapshot(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "health_food_no_warning"):
        events = _events(day_run, t)
        assert {e["event_id"] for e in events} == {d["event_id"] for d in idx["listings"][t["subject"]]}
        for e in events:
            assert e["category_std"] == "保健食品" and "本品不能代替药物" not in e["detail_text"]
            assert not HEALTH_CLAIM.search(_text(e))


def test_infant_formula(day_run: Run) -> None:
    for t in _incidents(day_run, "infant_formula_claim"):
        for e in _events(day_run, t):
            assert e["category_std"] == "婴幼儿配方食品" and INFANT.search(_text(e)), _text(e)
    for t in _incidents(day_run, "infant_formula_plain"):
        for e in _events(day_run, t):
            assert e["category_std"] == "婴幼儿配方食品"
            assert "【配料】" in e["detail_text"] or "【营养成分】" in e["detail_text"]
            assert not INFANT.search(_text(e))


# -- price ---------------------------------------------------------------------------------------


def test_price_baseless_ref_is_a_new_sku_never_sold(day_run: Run, idx: dict) -> None:
    for kind, labels in (("price_baseless_ref", ("原价", "划线价")), ("price_new_msrp", ("厂商建议零售价",))):
        for t in _incidents(day_run, kind):
            (e,) = _events(day_run, t)
            at = _ts(e["occurred_at"])
            assert e["change_type"] == "new" and e["ref_price"] > e["display_price"]
            assert e["ref_price_label"] in labels
            assert (e.get("ref_price_note") is None) == (kind == "price_baseless_ref")
            assert not [p for ts, p in idx["paid"][e["sku_id"]] if ts <= at]
            assert min(_ts(d["occurred_at"]) for d in idx["listings"][e["sku_id"]]) == at


def _base(idx: dict, sku: str, at: float) -> list[float]:
    return [p for ts, p in idx["paid"][sku] if at - 7 * 86400 <= ts < at]


def test_price_false_and_true_discount(day_run: Run, idx: dict) -> None:
    for kind in ("price_false_discount", "price_true_discount"):
        for t in _incidents(day_run, kind):
            (e,) = _events(day_run, t)
            prior = _base(idx, e["sku_id"], _ts(e["occurred_at"]))
            assert len(prior) >= 3 and len(set(prior)) == 1, prior  # all earlier paid orders at one price B
            B, c = prior[0], e["promo"]["claimed_discount"]
            assert e.get("ref_price") is None
            gap = e["display_price"] / B - c
            if kind == "price_false_discount":
                assert gap > 0.05, (e["display_price"], B, c)
            else:
                assert abs(gap) <= 0.005, (e["display_price"], B, c)


def test_price_feed_below_detail_and_coupon_decoy(day_run: Run) -> None:
    for t in _incidents(day_run, "price_feed_below_detail"):
        for e in _events(day_run, t):
            assert e["feed_price"] <= e["display_price"] - 1
            assert e.get("coupon_price") is None and e.get("member_price") is None and e.get("promo") is None
    for t in _incidents(day_run, "price_feed_coupon"):
        for e in _events(day_run, t):
            assert e["feed_price"] < e["display_price"]
            assert e["feed_price"] in (e.get("coupon_price"), e.get("member_price"))


def test_price_lowest_claim_false(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "price_lowest_claim_false"):
        for e in _events(day_run, t):
            assert re.search("全网最低价|历史最低价|史上最低价", _text(e))
            assert min(_base(idx, e["sku_id"], _ts(e["occurred_at"]))) < e["display_price"]
    for t in _incidents(day_run, "price_lower_than_usual"):
        for e in _events(day_run, t):
            assert "比平时低" in _text(e) and not LOWEST.search(_text(e)) and not BAN.search(_text(e))
            assert e["display_price"] < min(_base(idx, e["sku_id"], _ts(e["occurred_at"])))


# -- livestream ----------------------------------------------------------------------------------


def test_live_repeated_violation(day_run: Run) -> None:
    for t in _incidents(day_run, "live_repeated_violation"):
        events = _events(day_run, t)
        assert 2 <= len(events) <= 4 and {e["room_id"] for e in events} == {t["subject"]}
        assert _ts(events[-1]["occurred_at"]) - _ts(events[0]["occurred_at"]) <= 600
        for e in events:
            assert e["event_type"] == "live_utterance" and (BAN.search(e["asr_text"]) or MEDICAL.search(e["asr_text"]))


def test_live_fake_scarcity_stock_does_not_fall(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "live_fake_scarcity"):
        utts = _events(day_run, t)
        assert len(utts) >= 3 and all(SCARCITY.search(u["asr_text"]) for u in utts)
        a, b = _ts(utts[0]["occurred_at"]), _ts(utts[-1]["occurred_at"])
        assert b - a <= 30 * 60
        window = [m for m in idx["metrics"][utts[0]["session_id"]] if a - 60 <= _ts(m["occurred_at"]) <= b]
        window.sort(key=lambda m: _ts(m["occurred_at"]))
        assert len(window) >= 2 and len({m["current_item_id"] for m in window}) == 1
        stock = [m["stock_displayed"] for m in window]
        assert all(y >= x for x, y in zip(stock, stock[1:])), stock


def test_live_genuine_sellout_stock_falls_to_zero(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "live_genuine_sellout"):
        utts = _events(day_run, t)
        assert len(utts) == 2 and all("仅剩" in u["asr_text"] and not re.search("最后|下架|告急", u["asr_text"]) for u in utts)
        a = _ts(utts[0]["occurred_at"])
        after = sorted((m for m in idx["metrics"][utts[0]["session_id"]] if _ts(m["occurred_at"]) >= a - 60),
                       key=lambda m: _ts(m["occurred_at"]))
        stock = [m["stock_displayed"] for m in after]
        assert all(y <= x for x, y in zip(stock, stock[1:])) and stock[-1] == 0, stock
        for u in utts:  # the number said is the stock shown
            said = int(re.search(r"仅剩(\d+)件", u["asr_text"]).group(1))
            assert said > 0


def test_live_order_brushing_and_apparel_returns(day_run: Run, idx: dict) -> None:
    for kind in ("live_order_brushing", "live_apparel_returns"):
        for t in _incidents(day_run, kind):
            events = _events(day_run, t)
            orders = idx["session_orders"][t["subject"]]
            paid = [o for o in orders if o["status"] == "paid"]
            undone = [o for o in orders if o["status"] != "paid"]
            assert len(paid) >= 100
            assert {e["event_id"] for e in events} == {o["event_id"] for o in undone}
            first = {o["order_id_hash"]: o for o in paid}
            for e in events:
                p = first[e["order_id_hash"]]
                assert e["live_session_id"] == p["live_session_id"] and e["device_hash"] == p["device_hash"]
                assert 0 < _ts(e["occurred_at"]) - _ts(p["occurred_at"]) <= 6 * HOUR
            share = len(undone) / len(paid)
            if kind == "live_order_brushing":
                assert share >= 0.5, share
                top = Counter(e["device_hash"] for e in events).most_common(1)[0][1]
                assert top >= 0.1 * len(events)
                assert all(_ts(e["occurred_at"]) - _ts(first[e["order_id_hash"]]["occurred_at"]) <= 3 * HOUR
                           for e in events)
            else:
                assert 0.1 <= share <= 0.3 and {e["status"] for e in events} == {"refunded"}, share
                assert len({e["device_hash"] for e in events}) == len(events)


def test_live_ai_label(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "live_ai_unlabelled"):
        ms = _events(day_run, t)
        assert all(m["is_ai_avatar"] and m["ai_label_visible"] is False for m in ms)
        times = [_ts(m["occurred_at"]) for m in ms]
        assert times[-1] - times[0] >= 5 * 60 and all(b - a == 60 for a, b in zip(times, times[1:]))
    for t in _incidents(day_run, "live_ai_labelled"):
        ms = _events(day_run, t)
        session = idx["metrics"][ms[0]["session_id"]]
        assert all(m["is_ai_avatar"] and m["ai_label_visible"] is True for m in session)


def test_live_offplatform_and_onplatform_contact(day_run: Run) -> None:
    for t in _incidents(day_run, "live_offplatform"):
        for e in _events(day_run, t):
            assert OFFPLATFORM.search(_text(e)), _text(e)
    for t in _incidents(day_run, "live_onplatform_contact"):
        for e in _events(day_run, t):
            assert "平台" in _text(e) or "客服" in _text(e)
            assert not OFFPLATFORM.search(_text(e)), _text(e)


def test_food_licence(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "food_no_licence"):
        events = _events(day_run, t)
        assert {e["event_id"] for e in events} == {d["event_id"] for d in idx["listings"][t["subject"]]}
        assert all(e["category_std"] == "食品" and not e.get("licences") for e in events)
    for t in _incidents(day_run, "food_licence_exempt"):
        for e in _events(day_run, t):
            if e["category_std"] == "食用农产品":
                assert not e.get("licences")
            else:
                assert e["category_std"] == "食品" and [lic["type"] for lic in e["licences"]] == ["仅销售预包装食品备案"]


def test_prohibited_goods_and_lookalikes(day_run: Run) -> None:
    for t in _incidents(day_run, "prohibited_goods"):
        events = _events(day_run, t)
        for e in events:
            assert PROHIBITED.search(_text(e)), _text(e)
        if events[0]["event_type"] == "listing":
            assert events[0]["change_type"] == "new"
    for t in _incidents(day_run, "prohibited_lookalike"):
        for e in _events(day_run, t):
            assert not PROHIBITED.search(_text(e).replace("象牙白", "")), _text(e)


# -- merchant ------------------------------------------------------------------------------------


def test_merchant_licence_hidden_and_natural_person(day_run: Run, idx: dict) -> None:
    for kind, natural in (("merchant_licence_hidden", False), ("merchant_natural_person_exempt", True)):
        for t in _incidents(day_run, kind):
            events = _events(day_run, t)
            assert {e["event_id"] for e in events} == {d["event_id"] for d in idx["merchant_listings"][t["merchant_id"]]}
            for e in events:
                assert e["licence_info_displayed"] is False and e["merchant"]["is_natural_person"] is natural


def _orders_before(idx: dict, sku: str, lo: float, hi: float) -> int:
    return sum(1 for ts, _ in idx["paid"][sku] if lo <= ts < hi)


def test_merchant_sales_inflation_and_popular(day_run: Run, idx: dict) -> None:
    for kind in ("merchant_sales_inflation", "merchant_sales_popular"):
        for t in _incidents(day_run, kind):
            for e in _events(day_run, t):
                at = _ts(e["occurred_at"])
                earlier = [d for d in idx["listings"][e["sku_id"]] if at - 86400 <= _ts(d["occurred_at"]) < at]
                assert earlier
                low = min(d["sales_count_displayed"] for d in earlier)
                rise = e["sales_count_displayed"] - low
                orders = _orders_before(idx, e["sku_id"], at - 86400, at)
                if kind == "merchant_sales_inflation":
                    assert rise > 500 + 5 * orders, (rise, orders)
                else:
                    assert 500 < rise <= 500 + 5 * orders, (rise, orders)


def test_background_sales_counts_follow_orders(day_run: Run, idx: dict) -> None:
    tagged = {e for t in day_run.truth for e in t["event_ids"]}
    for sku, snaps in idx["listings"].items():
        snaps = sorted(snaps, key=lambda d: _ts(d["occurred_at"]))
        for a, b in zip(snaps, snaps[1:]):
            if b["event_id"] in tagged:
                continue
            rise = b["sales_count_displayed"] - a["sales_count_displayed"]
            assert rise <= 500 + 5 * _orders_before(idx, sku, _ts(b["occurred_at"]) - 86400, _ts(b["occurred_at"]))


def test_merchant_review_cashback_and_invite(day_run: Run) -> None:
    for t in _incidents(day_run, "merchant_review_cashback"):
        for e in _events(day_run, t):
            assert CASHBACK.search(_text(e)), _text(e)
    for t in _incidents(day_run, "merchant_review_invite"):
        for e in _events(day_run, t):
            assert "真实评价" in _text(e) and not CASHBACK.search(_text(e))


# -- complaints ----------------------------------------------------------------------------------


def test_complaint_confirms_warning_follows_a_violation(day_run: Run) -> None:
    starts = defaultdict(list)
    for t in day_run.truth:
        if t["label"] == "violation" and t["family"] in ("advertising", "medical", "price"):
            starts[t["merchant_id"]].append(_ts(t["start"]))
    for t in _incidents(day_run, "complaint_confirms_warning"):
        events = _events(day_run, t)
        assert 1 <= len(events) <= 2 and len({e["complainant_hash"] for e in events}) == len(events)
        for e in events:
            assert e["problem_cat"] == t["subject"] and e["problem_cat"] in ("虚假宣传", "价格", "广告")
            assert "「" in e["text"] and "」" in e["text"]
            at = _ts(e["occurred_at"])
            assert any(HOUR - 60 <= at - s <= 48 * HOUR for s in starts[t["merchant_id"]]), t


def test_professional_claimants(day_run: Run) -> None:
    pros = _incidents(day_run, "complaint_professional")
    hashes = {t["subject"] for t in pros}
    for t in pros:
        events = _events(day_run, t)
        assert t["merchant_id"] is None
        assert len(events) >= 20 and len({e["merchant"]["merchant_id"] for e in events}) >= 10
        assert {e["complainant_hash"] for e in events} == {t["subject"]}
        assert {e["demand"] for e in events} <= {"十倍赔偿", "三倍赔偿"} and len({e["problem_cat"] for e in events}) == 1
        skeleton = [re.sub(r"\d+月\d+日", "", e["text"]) for e in events]
        assert all(difflib.SequenceMatcher(None, skeleton[0], s).ratio() > 0.8 for s in skeleton)
    groups = _incidents(day_run, "complaint_professional_group")
    group_merchants = {t["merchant_id"] for t in groups}
    for t in groups:
        events = _events(day_run, t)
        assert len({e["complainant_hash"] for e in events}) >= 5
        assert {e["complainant_hash"] for e in events} <= hashes
        assert {e["problem_cat"] for e in events} == {t["subject"]}
    # outside the groups a merchant hears from at most two professional claimants, at most twice each
    per_merchant: dict[str, list[str]] = defaultdict(list)
    for d in day_run.docs.values():
        if d["event_type"] == "complaint" and d["complainant_hash"] in hashes:
            per_merchant[d["merchant"]["merchant_id"]].append(d["complainant_hash"])
    for m, who in per_merchant.items():
        if m not in group_merchants:
            assert len(set(who)) <= 2 and max(Counter(who).values()) <= 2, (m, who)


# -- decoys in general -----------------------------------------------------------------------------

#: The one term list a decoy kind is allowed to touch (its look-alike); every other list stays silent.
DECOY_LOOKALIKE = {
    "ad_state_history": "state", "ad_sourced_claim": "unsourced", "live_genuine_sellout": "scarcity",
    "prohibited_lookalike": "prohibited",
}


def test_decoys_trip_no_other_term_list(day_run: Run) -> None:
    for t in day_run.truth:
        if t["label"] != "decoy":
            continue
        for e in _events(day_run, t):
            text = _text(e) if e["event_type"] in ("listing", "live_utterance") else ""
            hits = {name for name, pattern in NEW_TERM_LISTS.items() if pattern.search(text)}
            assert hits <= {DECOY_LOOKALIKE.get(t["kind"])} - {None}, (t["kind"], hits, text)
            assert not caution_hit(text), (t["kind"], text)


def test_scarcity_and_sellout_rooms_are_apart(day_run: Run) -> None:
    sessions = Counter()
    for kind in ("live_fake_scarcity", "live_genuine_sellout"):
        for t in _incidents(day_run, kind):
            sessions[_events(day_run, t)[0]["session_id"]] += 1
    assert max(sessions.values()) == 1
