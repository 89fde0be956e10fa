"""Everything that is not an injected violation is lawful copy (decoys included)."""
from __future__ import annotations

import re
from collections import Counter

from engine.simulate.catalog import CATEGORIES

from .conftest import Run

# Ban-tier terms with the lawful contexts in which their characters may appear.
BAN = re.compile(
    r"国家级|世界级|极品|至尊|第一品牌|全网第一|销量第一|NO\.1|TOP1|史上最低|全网最低|独一无二|最先进|最畅销|最强|最优"
    r"|最佳(?!食用期|使用方法|赏味期|食用时间)|最好(?!先)|顶级(?!域名)"
)
MEDICAL = re.compile(r"治疗|治愈(?!系)|根治|降血[压糖脂]|抗癌|防癌|药到病除|无副作用|消炎|排毒|活血化瘀|痊愈|永不复发|见效|\d+天瘦")
LAWFUL_EXCEPTIONS = ("我们追求做最好的产品",)  # statement of goals: exempt under the 2023 guideline


def _texts(d: dict) -> str:
    if d["event_type"] == "listing":
        return d["title"] + d["subtitle"] + d["detail_text"]
    if d["event_type"] == "live_utterance":
        return d["asr_text"] + d.get("ocr_text", "")
    if d["event_type"] == "complaint":
        return ""  # consumers may write anything
    return ""


def test_no_violating_wording_outside_violations(day_run: Run) -> None:
    violating = {e for t in day_run.truth if t["label"] == "violation" for e in t["event_ids"]}
    for d in day_run.docs.values():
        if d["event_id"] in violating:
            continue
        text = _texts(d)
        for ok in LAWFUL_EXCEPTIONS:
            text = text.replace(ok, "")
        assert not BAN.search(text), (d["event_type"], text)
        medical_listing = d["event_type"] == "listing" and d["category_std"] in ("药品", "医疗器械")
        if not medical_listing:
            assert not MEDICAL.search(text), (d["event_type"], text)


def test_catalog_texts_are_clean() -> None:
    for cat in CATEGORIES:
        pieces = list(cat.lines) + list(cat.tips)
        for p in cat.products:
            pieces += [p.noun, *p.points, *p.specs]
            if cat.std not in ("药品", "医疗器械"):
                pieces.append(p.indication)
        for text in pieces:
            assert not BAN.search(text), text
            assert not MEDICAL.search(text), text


def test_background_contains_risky_looking_lawful_words(day_run: Run) -> None:
    text = "".join(_texts(d) for d in day_run.docs.values() if d["event_type"] in ("listing", "live_utterance"))
    for word in ("最近", "第一次", "首单", "最高立减", "最佳食用期", "治愈系", "防病毒", "顶级域名", "本品不能代替药物", "唯一标识"):
        assert word in text, word


def test_district_mix(day_run: Run) -> None:
    merchants = {d["merchant"]["merchant_id"]: d["merchant"] for d in day_run.docs.values()}
    home = sum(m["op_region_code"] in ("330106", "330108", "330110") for m in merchants.values())
    assert 0.6 < home / len(merchants) < 0.9
    natural = [m for m in merchants.values() if m["is_natural_person"]]
    assert natural and all(m["uscc"] is None for m in natural)
    assert all(m["uscc"] for m in merchants.values() if not m["is_natural_person"])


def test_lexicon_violations_are_detectable_by_the_patterns_above() -> None:
    from engine.simulate import lexicon

    for term in lexicon.BAN_TERMS:
        assert BAN.search(term.term), term.term
    for claims in lexicon.MEDICAL_CLAIMS.values():
        for claim in claims:
            assert MEDICAL.search(claim), claim
    for text in lexicon.BENIGN_LISTING + lexicon.BENIGN_SPEECH + lexicon.BENIGN_HEALTH_FOOD:
        assert not MEDICAL.search(text), text
        assert not BAN.search(text) or any(ok in text for ok in LAWFUL_EXCEPTIONS), text


# ----------------------------------------------------------------------------------------------
# Term lists of the cn-platform pack: none of them appears outside labelled incidents.
# (Written from the rules brief, independently of engine.simulate.lexicon.)

CAUTION = re.compile(r"唯一|独家|首家|首选|首创|遥遥领先|领先|领导品牌|领袖品牌|王牌|冠军|销冠|万能|百分百|100%|永久")
CLAIM = re.compile(r"销量|品质|效果|品牌|产品|正品|配方|技术|功效")
CAUTION_ALLOW = re.compile(r"唯一标识|冠军赛|100%纯棉|独家授权经销")
STATE_ANY = re.compile(r"特供|专供|免检|国家领导人|国宴|人民大会堂|驰名商标")
STATE = re.compile(r"特供|专供(?!出口)|国家免检|免检产品|国家领导人推荐|国宴指定|人民大会堂专用|驰名商标")
UNSOURCED = re.compile(r"研究表明|临床证明|数据显示|实验证明|\d+%的用户|专利")
_NUM = "[0-9一二两三四五六七八九十]+"
EFFECT = re.compile(rf"{_NUM}(?:天|周|个月)内?(?:瘦{_NUM}斤|见效|白{_NUM}度|长高|祛斑|淡斑)")
SERVICE_PERIOD = re.compile(r"7天无理由退换|3天内发货|30天价保")
DRUG_GUARANTEE = re.compile(r"无副作用|100%有效|治愈率|有效率|保证治愈|药到病除")
HEALTH_CLAIM = re.compile(r"预防高血压|预防中风|治疗失眠|降血糖|抗肿瘤|预防.{0,6}疾病")
INFANT = re.compile(r"益智|提高免疫力|增强抵抗力|保护肠道|替代母乳|接近母乳")
LOWEST = re.compile(r"最低价")
SCARCITY = re.compile(r"最后[0-9一二两三四五六七八九十几]+单|仅剩|马上下架|最后一波|库存告急")
OFFPLATFORM = re.compile(r"加微信|加我微信|薇信|V信|vx|私信下单|扫码加群|加群领券|私下转账", re.I)
PROHIBITED = re.compile(r"电子烟|烟油|米非司酮|麻黄碱|弓弩|管制刀具|仿真枪|象牙|穿山甲")
CASHBACK = re.compile(r"好评返现|晒图返|五星好评送|好评截图返|好评送|返现|返红包")
NEW_TERM_LISTS = {
    "state": STATE_ANY, "unsourced": UNSOURCED, "effect": EFFECT, "drug_guarantee": DRUG_GUARANTEE,
    "health_claim": HEALTH_CLAIM, "infant": INFANT, "lowest": LOWEST, "scarcity": SCARCITY,
    "offplatform": OFFPLATFORM, "prohibited": PROHIBITED, "cashback": CASHBACK,
}


def caution_hit(text: str) -> bool:
    """A caution-tier term within 6 characters of a claim noun (allowlisted compounds blanked first)."""
    text = CAUTION_ALLOW.sub(lambda m: "□" * len(m.group()), text)
    nouns = [(m.start(), m.end()) for m in CLAIM.finditer(text)]
    for m in CAUTION.finditer(text):
        for a, b in nouns:
            if max(a - m.end(), m.start() - b) <= 6:
                return True
    return False


def _incident_events(run: Run) -> set[str]:
    return {e for t in run.truth if t["label"] in ("violation", "decoy") for e in t["event_ids"]}


def test_new_term_lists_stay_inside_incidents(day_run: Run) -> None:
    tagged = _incident_events(day_run)
    for d in day_run.docs.values():
        if d["event_id"] in tagged:
            continue
        text = _texts(d)
        if not text:
            continue
        for name, pattern in NEW_TERM_LISTS.items():
            assert not pattern.search(text), (name, d["event_type"], text)
        assert not caution_hit(text), text


def test_background_listing_fields_are_lawful(day_run: Run) -> None:
    """Structured signals too: licences, warnings, feed prices, discounts, new SKUs, licence display."""
    tagged = _incident_events(day_run)
    shown = Counter()
    for d in day_run.docs.values():
        if d["event_type"] != "listing" or d["event_id"] in tagged:
            continue
        cat = d["category_std"]
        if cat == "保健食品":
            assert "本品不能代替药物" in d["detail_text"], d
        if cat == "食品":
            types = {lic["type"] for lic in d.get("licences", [])}
            assert types and types <= {"食品经营许可证", "仅销售预包装食品备案"}, d
        assert d["feed_price"] == d["display_price"], d
        assert (d.get("promo") or {}).get("claimed_discount") is None, d
        assert d["change_type"] in ("snapshot", "price_update"), d
        assert not d.get("patent_no"), d
        assert d.get("licence_info_displayed") is not False, d
        shown[d.get("licence_info_displayed")] += 1
    assert shown[True] > 0.7 * sum(shown.values()) and shown[None] > 0


def test_background_live_is_lawful(day_run: Run) -> None:
    tagged = _incident_events(day_run)
    for d in day_run.docs.values():
        if d["event_id"] in tagged:
            continue
        if d["event_type"] == "live_metrics" and d["is_ai_avatar"]:
            assert d["ai_label_visible"] is True, d
        if d["event_type"] == "order" and d.get("live_session_id"):
            assert d["status"] == "paid", d  # background live orders are never cancelled or refunded
        if d["event_type"] == "complaint":
            assert "「" not in d["text"], d  # the mark of a complaint that quotes a violation


def test_new_lexicon_lists_are_detectable_by_the_patterns_above() -> None:
    from engine.simulate import lexicon

    for text in lexicon.CAUTION_LISTING + lexicon.CAUTION_FORMULA + lexicon.CAUTION_SPEECH:
        assert caution_hit(text.format(n="保温杯")), text
    for text in lexicon.CAUTION_DECOY_LISTING + (lexicon.CAUTION_DECOY_COTTON,):
        text = text.format(brand="禾悦", y=2025, d4="0318")
        assert not caution_hit(text) and CAUTION_ALLOW.search(text) or not CAUTION.search(text), text
    for text in lexicon.STATE_LISTING + lexicon.STATE_SPEECH:
        assert STATE.search(text), text
    for text in lexicon.STATE_DECOY_LISTING:
        assert not STATE.search(re.sub(r"曾为[^，。]{0,8}特供", "", text)), text
    for text in lexicon.UNSOURCED_LISTING + lexicon.UNSOURCED_SKIN + lexicon.PATENT_LISTING:
        assert UNSOURCED.search(text.format(n="面霜", p=90, q=50)), text
    for claims in [*lexicon.EFFECT_CLAIMS.values(), (lexicon.EFFECT_GENERIC,)]:
        for text in claims:
            assert EFFECT.search(text), text
    for text in lexicon.SERVICE_PERIOD_LISTING + lexicon.SERVICE_PERIOD_SPEECH:
        assert SERVICE_PERIOD.search(text) and not EFFECT.search(text), text
    for text in lexicon.DRUG_GUARANTEES:
        assert DRUG_GUARANTEE.search(text), text
    for text in lexicon.HEALTH_DISEASE_CLAIMS:
        assert HEALTH_CLAIM.search(text), text
    for text in lexicon.INFANT_CLAIMS:
        assert INFANT.search(text), text
    for text in lexicon.INFANT_PLAIN:
        assert not INFANT.search(text) and not MEDICAL.search(text), text
    for text in lexicon.SCARCITY_SPEECH:
        assert SCARCITY.search(text.format(x=3)), text
    for text in lexicon.OFFPLATFORM_SPEECH + lexicon.OFFPLATFORM_LISTING:
        assert OFFPLATFORM.search(text.format(wx="abc123")), text
    for text in lexicon.ONPLATFORM_SPEECH + lexicon.ONPLATFORM_LISTING:
        assert not OFFPLATFORM.search(text), text
    for item in lexicon.PROHIBITED_ITEMS + lexicon.PROHIBITED_DRUGS:
        assert PROHIBITED.search(item[1]), item
    for item in lexicon.LOOKALIKE_GOODS:
        assert not PROHIBITED.search(item[1]), item
    for text in lexicon.CASHBACK_LISTING + lexicon.CASHBACK_SPEECH:
        assert CASHBACK.search(text), text
    for text in (lexicon.REVIEW_INVITE_LISTING, lexicon.REVIEW_INVITE_SPEECH):
        assert not CASHBACK.search(text), text
