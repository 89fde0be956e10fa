"""Advertising and medical incident kinds of the cn-platform pack (mixed into the Injector).

Every violation puts its signal into listing copy (a time-limited segment:
the snapshot that shows it is tagged, the correcting snapshot is not) or into
host speech (the replaced utterances are tagged). Decoys show lawful copy that
contains the same characters. The wording is in :mod:`engine.simulate.lexicon`.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from engine.simulate import lexicon
from engine.simulate.merchants import Sku

if TYPE_CHECKING:  # pragma: no cover
    from engine.simulate.inject import Injector

_AD = ("虚假宣传", "广告")


def _any(sku: Sku) -> bool:
    return sku.category not in ("药品", "医疗器械")


def _effect_goods(sku: Sku) -> bool:
    return sku.category in lexicon.EFFECT_CLAIMS


def _drugs(sku: Sku) -> bool:
    return sku.category in ("药品", "医疗器械")


def _health_food(sku: Sku) -> bool:
    return sku.category == "保健食品" and lexicon.HEALTH_WARNING in sku.detail


def _infant(sku: Sku) -> bool:
    return sku.category == "婴幼儿配方食品"


def _cotton(sku: Sku) -> bool:
    return sku.category == "服装鞋帽" or sku.product.noun == "全棉四件套"


def _place(rnd: random.Random, sku: Sku, sentence: str, title_share: float = 0.3) -> tuple[str, dict]:
    """Put ``sentence`` in the title (if short) or at the head of the detail text."""
    core = sentence.rstrip("。")
    if len(core) <= 12 and rnd.random() < title_share:
        return "title", {"title": f"【{core}】{sku.title}"[:120]}
    return "detail", {"detail": f"{core}。{sku.detail}"}


class AdKinds:
    """advertising: ad_caution, ad_state_endorsement, ad_unsourced_claim, ad_invented_effect (+ decoys);
    medical: drug_guarantee, health_food_claim, health_food_no_warning, infant_formula_claim (+ decoys)."""

    # -- advertising ----------------------------------------------------------------

    def ad_caution(self: Injector) -> None:
        """Caution-tier superlative right next to a claim noun (销量遥遥领先, 独家配方, 效果100%…)."""
        if self.sessions and self.rnd.random() < 0.4:
            got = self._speech(
                "violation", "advertising", "ad_caution",
                lambda rnd, sku: rnd.choice(lexicon.CAUTION_SPEECH).format(n=sku.product.noun),
                what="caution-tier claim in host speech",
            )
            if got is not None:
                inc, s, at, said = got
                self._parent(inc, at, _AD, lambda: said[0] if said else "行业领导品牌", s.session_id)
                return
        times, pick = self._text_time(), self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        options = lexicon.CAUTION_LISTING + (lexicon.CAUTION_FORMULA if sku.category in lexicon.FORMULA_CATS else ())
        sentence = self.rnd.choice(options).format(n=sku.product.noun)
        where, fields = _place(self.rnd, sku, sentence)
        inc = self._new("violation", "advertising", "ad_caution", m_idx, sku.sku_id,
                        f"caution-tier claim in listing {where}: {sentence}")
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], _AD, sentence.split("，")[0])

    def ad_caution_lookalike(self: Injector) -> None:
        """Decoy: 唯一标识 / 冠军赛 / 首页 / 首单 / 100%纯棉 / 独家授权经销 in lawful copy."""
        cotton = self.rnd.random() < 0.3
        times, pick = self._text_time(), self._listing_pick("advertising", _cotton if cotton else _any)
        if pick is None and cotton:
            cotton, pick = False, self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        if cotton:
            sentence = lexicon.CAUTION_DECOY_COTTON
        else:
            sentence = self.rnd.choice(lexicon.CAUTION_DECOY_LISTING).format(
                brand=sku.brand, y=self.rnd.randint(2023, 2025), d4=f"{self.rnd.randrange(10000):04d}")
        inc = self._new("decoy", "advertising", "ad_caution_lookalike", m_idx, sku.sku_id, f"lawful listing copy: {sentence}")
        self._listing_text(inc, g, {"detail": sentence + sku.detail}, times[0], None)

    def ad_state_endorsement(self: Injector) -> None:
        """特供 / 专供 / 国家免检 / 国宴指定 / 驰名商标 … in listing copy or host speech (AD-05)."""
        if self.sessions and self.rnd.random() < 0.3:
            got = self._speech(
                "violation", "advertising", "ad_state_endorsement",
                lambda rnd, sku: rnd.choice(lexicon.STATE_SPEECH).format(n=sku.product.noun),
                what="state-endorsement claim in host speech",
            )
            if got is not None:
                inc, s, at, said = got
                self._parent(inc, at, _AD, lambda: said[0] if said else "国宴指定", s.session_id)
                return
        times, pick = self._text_time(), self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        sentence = self.rnd.choice(lexicon.STATE_LISTING).format(n=sku.product.noun, brand=sku.brand)
        where, fields = _place(self.rnd, sku, sentence, 0.5)
        inc = self._new("violation", "advertising", "ad_state_endorsement", m_idx, sku.sku_id,
                        f"state-endorsement claim in listing {where}: {sentence}")
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], _AD, sentence.split("，")[0])

    def ad_state_history(self: Injector) -> None:
        """Decoy: 专供出口 / a past 特供 supply fact introduced by 曾为, in a firm-history sentence."""
        times, pick = self._text_time(), self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        sentence = self.rnd.choice(lexicon.STATE_DECOY_LISTING)
        inc = self._new("decoy", "advertising", "ad_state_history", m_idx, sku.sku_id, f"lawful history sentence: {sentence}")
        self._listing_text(inc, g, {"detail": sku.detail + sentence}, times[0], None)

    def ad_unsourced_claim(self: Injector) -> None:
        """研究表明 / 临床证明 / 数据显示 / 实验证明 / X%的用户 with no source, or 专利 with no patent_no (AD-07)."""
        times, pick = self._text_time(), self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        if self.rnd.random() < 0.3:
            sentence = self.rnd.choice(lexicon.PATENT_LISTING).format(n=sku.product.noun)
            what = "专利 claimed with patent_no empty"
        else:
            options = lexicon.UNSOURCED_LISTING + (lexicon.UNSOURCED_SKIN if sku.category in lexicon.SKIN_CATS else ())
            sentence = self.rnd.choice(options).format(
                n=sku.product.noun, p=self.rnd.randint(85, 98), q=self.rnd.choice((30, 40, 50, 60)))
            what = "study/data claim without a source"
        inc = self._new("violation", "advertising", "ad_unsourced_claim", m_idx, sku.sku_id, f"{what}: {sentence}")
        self._listing_text(inc, g, {"detail": sentence + sku.detail}, *times)
        self._parent(inc, times[0], _AD, sentence.split("，")[0])

    def ad_sourced_claim(self: Injector) -> None:
        """Decoy: the same claims with a source marker （数据来源：…） / （来源：…）, or 专利 with patent_no set."""
        times, pick = self._text_time(), self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        fields: dict = {}
        if self.rnd.random() < 0.4:
            no = f"ZL{self.rnd.randint(2019, 2024)}{self.rnd.choice((1, 2))}{self.rnd.randrange(10**7):07d}.{self.rnd.randrange(10)}"
            sentence = lexicon.PATENT_DECOY.format(no=no, n=sku.product.noun)
            fields["patent"] = [no]
            what = f"专利 with patent_no {no}"
        else:
            options = lexicon.UNSOURCED_LISTING + (lexicon.UNSOURCED_SKIN if sku.category in lexicon.SKIN_CATS else ())
            claim = self.rnd.choice(options).format(
                n=sku.product.noun, p=self.rnd.randint(85, 98), q=self.rnd.choice((30, 40, 50, 60)))
            marker = self.rnd.choice(lexicon.SOURCE_MARKERS).format(
                zh=self._zihao(), y=self.rnd.randint(2024, 2025), d4=f"{self.rnd.randrange(10000):04d}")
            sentence = claim.rstrip("。") + marker + "。"
            what = "claim with its source"
        fields["detail"] = sentence + sku.detail
        inc = self._new("decoy", "advertising", "ad_sourced_claim", m_idx, sku.sku_id, f"{what}: {sentence}")
        self._listing_text(inc, g, fields, times[0], None)

    def _zihao(self: Injector) -> str:
        from engine.simulate.catalog import zihao

        return zihao(self.rnd)

    def ad_invented_effect(self: Injector) -> None:
        """Efficacy-time claims (7天瘦10斤, 3天见效, 一周白三度, 30天长高5厘米, 21天祛斑) on non-medical goods (AD-06)."""
        if self.sessions and self.rnd.random() < 0.35:
            def say(rnd: random.Random, sku: Sku) -> str:
                claims = lexicon.EFFECT_CLAIMS.get(sku.category, (lexicon.EFFECT_GENERIC,))
                return rnd.choice(lexicon.EFFECT_SPEECH_PREFIX).format(n=sku.product.noun) + rnd.choice(claims)

            got = self._speech("violation", "advertising", "ad_invented_effect", say, what="efficacy-time claim in host speech")
            if got is not None:
                inc, s, at, said = got
                self._parent(inc, at, _AD, lambda: said[0] if said else "3天见效", s.session_id)
                return
        times, pick = self._text_time(), self._listing_pick("advertising", _effect_goods)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        claim = self.rnd.choice(lexicon.EFFECT_CLAIMS[sku.category])
        where, fields = _place(self.rnd, sku, claim, 0.4)
        inc = self._new("violation", "advertising", "ad_invented_effect", m_idx, sku.sku_id,
                        f"efficacy-time claim on {sku.category} in listing {where}: {claim}")
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], _AD, claim)

    def ad_service_period(self: Injector) -> None:
        """Decoy: service periods that look like efficacy periods (7天无理由退换, 3天内发货, 30天价保)."""
        if self.sessions and self.rnd.random() < 0.3:
            got = self._speech(
                "decoy", "advertising", "ad_service_period",
                lambda rnd, sku: rnd.choice(lexicon.SERVICE_PERIOD_SPEECH), what="service period in host speech",
            )
            if got is not None:
                return
        times, pick = self._text_time(), self._listing_pick("advertising", _any)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        sentence = self.rnd.choice(lexicon.SERVICE_PERIOD_LISTING)
        fields = {"subtitle": sentence.rstrip("。")} if self.rnd.random() < 0.5 else {"detail": sentence + sku.detail}
        inc = self._new("decoy", "advertising", "ad_service_period", m_idx, sku.sku_id, f"service period: {sentence}")
        self._listing_text(inc, g, fields, times[0], None)

    # -- medical ------------------------------------------------------------------------

    def drug_guarantee(self: Injector) -> None:
        """药品/医疗器械 listing guaranteeing efficacy or safety (无副作用, 100%有效, 治愈率98% …) (AD-03)."""
        times, pick = self._text_time(), self._listing_pick("medical", _drugs)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        claim = self.rnd.choice(lexicon.DRUG_GUARANTEES)
        where, fields = _place(self.rnd, sku, claim, 0.3)
        inc = self._new("violation", "medical", "drug_guarantee", m_idx, sku.sku_id,
                        f"guarantee on {sku.category} in listing {where}: {claim}")
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], ("虚假宣传",), claim.split("，")[0])

    def health_food_claim(self: Injector) -> None:
        """保健食品 claiming to prevent or treat a disease (预防高血压, 治疗失眠, 降血糖, 抗肿瘤); warning kept (AD-04)."""
        times, pick = self._text_time(), self._listing_pick("medical", _health_food)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        claim = self.rnd.choice(lexicon.HEALTH_DISEASE_CLAIMS)
        where, fields = _place(self.rnd, sku, claim, 0.3)
        inc = self._new("violation", "medical", "health_food_claim", m_idx, sku.sku_id,
                        f"disease claim on 保健食品 in listing {where}: {claim}")
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], ("虚假宣传",), claim.split("，")[0])

    def health_food_approved(self: Injector) -> None:
        """Decoy: 保健食品 quoting its approved function (有助于…) with 本品不能代替药物."""
        times, pick = self._text_time(), self._listing_pick("medical", _health_food)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        detail = sku.detail
        prefix = f"【保健功能】{sku.product.indication}。"
        if detail.startswith(prefix):
            detail = detail[len(prefix):]
        detail = lexicon.HEALTH_APPROVED.format(f=sku.product.indication) + detail
        assert lexicon.HEALTH_WARNING in detail
        inc = self._new("decoy", "medical", "health_food_approved", m_idx, sku.sku_id,
                        f"approved function wording ({sku.product.indication}) with {lexicon.HEALTH_WARNING}")
        self._listing_text(inc, g, {"detail": detail}, times[0], None)

    def health_food_no_warning(self: Injector) -> None:
        """保健食品 listing without 本品不能代替药物 in any snapshot of the run (AD-04)."""
        pick = self._listing_pick("medical", _health_food)
        if pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        detail = sku.detail.replace("【注意事项】本品不能代替药物。", "")
        assert lexicon.HEALTH_WARNING not in detail
        inc = self._new("violation", "medical", "health_food_no_warning", m_idx, sku.sku_id,
                        "保健食品 listing without 本品不能代替药物 in every snapshot")
        self._whole_run(inc, g, {"detail": detail})

    def infant_formula_claim(self: Injector) -> None:
        """婴幼儿配方食品 claiming 益智 / 提高免疫力 / 增强抵抗力 / 保护肠道 / 替代(接近)母乳 (AD-04)."""
        times, pick = self._text_time(), self._listing_pick("medical", _infant)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        claim = self.rnd.choice(lexicon.INFANT_CLAIMS)
        where, fields = _place(self.rnd, sku, claim, 0.4)
        inc = self._new("violation", "medical", "infant_formula_claim", m_idx, sku.sku_id,
                        f"infant-formula claim in listing {where}: {claim}")
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], ("虚假宣传",), claim.split("，")[0])

    def infant_formula_plain(self: Injector) -> None:
        """Decoy: infant formula listing with plain composition text (配料, 营养成分)."""
        times, pick = self._text_time(), self._listing_pick("medical", _infant)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        text = "".join(self.rnd.sample(lexicon.INFANT_PLAIN, 2))
        inc = self._new("decoy", "medical", "infant_formula_plain", m_idx, sku.sku_id, f"composition text: {text}")
        self._listing_text(inc, g, {"detail": text + sku.detail}, times[0], None)
