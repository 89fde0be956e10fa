"""Everything that is not an injected violation is lawful copy (decoys included)."""
from __future__ import annotations

import re

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
