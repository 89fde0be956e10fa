"""Price and merchant incident kinds of the cn-platform pack (mixed into the Injector).

Price kinds on existing SKUs are planned before the livestream sessions (like
the original price kinds) so their SKUs are never sold in a livestream and
every background order pays the listing's price exactly (no store coupons on
watched SKUs). Orders injected for context (the base B, an earlier cheaper
sale) are protected from damage but are not incident events: the truth lists
only the listings that carry the signal.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.simulate import lexicon, phrases
from engine.simulate.catalog import nice_price
from engine.simulate.plan import SalesJump, Segment

if TYPE_CHECKING:  # pragma: no cover
    from engine.simulate.inject import Injector

_MIN = 60
_HOUR = 3600


def _zhe(c: float) -> str:
    """A price ratio as Chinese discount text: 0.5 → 5折, 0.79 → 7.9折."""
    return f"{round(c * 10, 1):g}折"


class MarketKinds:
    """price: baseless ref, false discount, feed below detail, false lowest-price claim (+ decoys);
    merchant: sales inflation, review cashback, licence hidden (+ decoys)."""

    # -- price ----------------------------------------------------------------------------

    def _price_pick(self: Injector, no_store_promo: bool = False) -> tuple[int, int] | None:
        m_idx = self._pick("price", self._merchants_with_free_sku())
        if m_idx is None:
            return None
        free = self._free_skus(m_idx)
        if no_store_promo:
            free = [g for g in free if g not in self.listings.promos] or free
        return m_idx, self.rnd.choice(free)

    def _new_listing(self: Injector, label: str, kind: str, ref_label: str, note: str | None) -> None:
        lo, hi = self.t0 + 45 * _MIN, self.t1 - 10 * _MIN
        m_idx = self._pick("price", list(range(len(self.em.world.merchants))))
        if hi <= lo or m_idx is None:
            return
        g = self._new_product_sku(m_idx)
        sku = self.em.world.skus[g]
        P = float(self.em.world.price[g])
        ref = nice_price(P * self.rnd.uniform(1.3, 2.0))
        if ref < 1.2 * P:
            ref = round(P * 1.4, 1)
        t = self._time(lo, hi)
        inc = self._new(label, "price", kind, m_idx, sku.sku_id,
                        f"new SKU published at {P:g} with {ref_label} {ref:g}" + (" (no note)" if note is None else " and its note")
                        + "; no paid order before")
        self.plan.add_segment(g, Segment(t, self.t1 + 1, {"ref": ref, "label": ref_label, "note": note}, inc), price=False)
        self._at(t, lambda: self.listings.snapshot(g, t, "new"))
        k = self.rnd.choice((0, 1, 2, 3))
        if k and t + 20 * _MIN < self.t1:
            self._orders_at(inc, g, P, t + 10 * _MIN, self.t1 - 1, k, tag=False)
        if label == "violation":
            self._parent(inc, t, ("价格",), f"新品上架就标「{ref_label}{ref:g}元」，从没按这个价格卖过，怀疑虚构原价。")

    def price_baseless_ref(self: Injector) -> None:
        """A new SKU (change_type "new") showing 原价/划线价 with no note and no paid order ever (PR-02)."""
        self._new_listing("violation", "price_baseless_ref", self.rnd.choice(("原价", "划线价")), None)

    def price_new_msrp(self: Injector) -> None:
        """Decoy: a new SKU whose reference price is a labelled 厂商建议零售价."""
        self._new_listing("decoy", "price_new_msrp", "厂商建议零售价", "厂商建议零售价为生产厂商公布的建议零售价格")

    def _discount(self: Injector, label: str, kind: str) -> None:
        lo, hi = self.t0 + 90 * _MIN, self.t1 - 20 * _MIN
        pick = self._price_pick()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        t_p = self._time(lo, hi)
        end = t_p + self.rnd.randrange(2 * _HOUR, 12 * _HOUR)
        if label == "violation":
            c = self.rnd.choice((0.5, 0.6, 0.7))
            D = nice_price(P * self.rnd.uniform(c + 0.12, min(0.97, c + 0.35)))
            if not (D < P and D / P - c > 0.07):
                D = round(P * (c + 0.15), 1)
            note = f"claims {_zhe(c)} (claimed_discount {c:g}) but shows {D:g} = {D / P:.2f} of B = {P:g}"
        else:
            D = nice_price(P * self.rnd.uniform(0.6, 0.9))
            if D >= P:
                D = round(P - 1.0, 2)
            if D <= 0:
                return
            c = round(D / P, 2)
            note = f"claims {_zhe(c)} (claimed_discount {c:g}); shows {D:g} = {D / P:.3f} of B = {P:g}"
        sku = self.em.world.skus[g]
        inc = self._new(label, "price", kind, m_idx, sku.sku_id, note)
        self.plan.reserved[g] = True
        self._orders_at(inc, g, P, max(self.t0 + 35 * _MIN, t_p - 8 * _HOUR), t_p - 5 * _MIN,
                        self.rnd.randint(3, 5), tag=False)
        promo = {
            "promo_id": f"pm-{self.rnd.getrandbits(40):010x}", "type": "限时折扣",
            "start_at": self.em.fmt(t_p), "end_at": self.em.fmt(end), "conditions": "", "claimed_discount": c,
        }
        fields = {"price": D, "promo": promo, "subtitle": f"限时{_zhe(c)}", "ref": None}  # no reference price shown
        self._price_segments(inc, g, [(t_p, end, fields)], end)
        if label == "violation":
            self._parent(inc, t_p, ("价格",), f"宣称「限时{_zhe(c)}」，实际只比平时便宜{P - D:g}元。")

    def price_false_discount(self: Injector) -> None:
        """promo.claimed_discount c while display/B > c + 0.05, B = the price every earlier order paid (PR-04)."""
        self._discount("violation", "price_false_discount")

    def price_true_discount(self: Injector) -> None:
        """Decoy: claimed_discount = display/B rounded to 2 decimals."""
        self._discount("decoy", "price_true_discount")

    def price_feed_below_detail(self: Injector) -> None:
        """feed_price ≥ ¥1 below display_price with no coupon/member price and no promotion (PR-05)."""
        lo, hi = self.t0 + 40 * _MIN, self.t1 - 10 * _MIN
        pick = self._price_pick(no_store_promo=True)
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        F = nice_price(P * self.rnd.uniform(0.8, 0.92))
        if P - F < 1:
            F = round(P - 1.5, 2)
        if F <= 0:
            return
        t = self._time(lo, hi)
        end = t + self.rnd.randrange(2 * _HOUR, 12 * _HOUR)
        sku = self.em.world.skus[g]
        inc = self._new("violation", "price", "price_feed_below_detail", m_idx, sku.sku_id,
                        f"feed_price {F:g} vs display_price {P:g}, no coupon/member price, no promo")
        self._segment(inc, g, {"feed": F, "promo": None}, t, end, price=False)
        self._parent(inc, t, ("价格",), f"列表页显示「{F:g}元」，点进详情页变成{P:g}元。")

    def price_feed_coupon(self: Injector) -> None:
        """Decoy: feed_price equals the coupon price (coupon_price set) or the member price (member_price set)."""
        lo, hi = self.t0 + 40 * _MIN, self.t1 - 10 * _MIN
        pick = self._price_pick()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        coupons = [c for c in (3.0, 5.0, 10.0, 20.0) if c < 0.3 * P]
        if coupons and self.rnd.random() < 0.75:
            cpn = self.rnd.choice(coupons)
            F = round(P - cpn, 2)
            fields: dict = {"feed": F, "coupon": F, "subtitle": f"领券立减{phrases.money(cpn)}元"}
            what = f"feed_price {F:g} = coupon_price (display {P:g})"
        else:
            F = round(P * 0.9, 1)
            if F >= P:
                return
            fields = {"feed": F, "member": F, "subtitle": "会员专享价"}
            what = f"feed_price {F:g} = member_price (display {P:g})"
        t = self._time(lo, hi)
        sku = self.em.world.skus[g]
        inc = self._new("decoy", "price", "price_feed_coupon", m_idx, sku.sku_id, what)
        self._segment(inc, g, fields, t, self.t1 + 1, price=False)

    def price_lowest_claim_false(self: Injector) -> None:
        """全网最低价 / 历史最低价 / 史上最低价 while the SKU sold cheaper in the previous 7 days (PR-10)."""
        lo, hi = self.t0 + 3 * _HOUR, self.t1 - 20 * _MIN
        pick = self._price_pick()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        L = nice_price(P * self.rnd.uniform(0.7, 0.88))
        if L >= P - 0.5:
            L = round(P * 0.8, 1)
        t_c = self._time(lo, hi)
        end = t_c + self.rnd.randrange(3 * _HOUR, 24 * _HOUR)
        claim = self.rnd.choice(lexicon.LOWEST_CLAIMS)
        sku = self.em.world.skus[g]
        if self.rnd.random() < 0.5:
            where, fields = "title", {"title": f"【{claim}】{sku.title}"[:120]}
        else:
            where, fields = "detail", {"detail": f"{claim}，错过再等一年。{sku.detail}"}
        inc = self._new("violation", "price", "price_lowest_claim_false", m_idx, sku.sku_id,
                        f"{claim} in listing {where} at {P:g}; paid {L:g} earlier in the run")
        self._orders_at(inc, g, L, self.t0 + 35 * _MIN, t_c - 30 * _MIN, self.rnd.randint(2, 4), tag=False, list_price=P)
        self._segment(inc, g, fields, t_c, end, price=True)
        self._parent(inc, t_c, ("价格",), f"宣传「{claim}」，但我之前买的价格比现在还低。")

    def price_lower_than_usual(self: Injector) -> None:
        """Decoy: a real cut advertised as 比平时低X元 (no superlative)."""
        lo, hi = self.t0 + 90 * _MIN, self.t1 - 20 * _MIN
        pick = self._price_pick()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        D = nice_price(P * self.rnd.uniform(0.75, 0.92))
        if D >= P:
            D = round(P - 1.0, 2)
        if D <= 0:
            return
        t = self._time(lo, hi)
        end = t + self.rnd.randrange(2 * _HOUR, 12 * _HOUR)
        text = lexicon.LOWER_THAN_USUAL.format(x=phrases.money(round(P - D, 2)))
        sku = self.em.world.skus[g]
        inc = self._new("decoy", "price", "price_lower_than_usual", m_idx, sku.sku_id, f"{text} (from {P:g} to {D:g})")
        self.plan.reserved[g] = True
        self._orders_at(inc, g, P, max(self.t0 + 35 * _MIN, t - 8 * _HOUR), t - 5 * _MIN, self.rnd.randint(2, 3), tag=False)
        self._price_segments(inc, g, [(t, end, {"price": D, "subtitle": text})], end)

    # -- merchant -------------------------------------------------------------------------

    def merchant_sales_inflation(self: Injector) -> None:
        """Displayed sales jump by > 500 + 5 × every order of the SKU, within 24 h of its initial snapshot (MC-02)."""
        lo, hi = self.t0 + 2 * _HOUR, min(self.t1 - 10 * _MIN, self.t0 + 22 * _HOUR)
        pick = self._listing_pick("merchant", None)
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        t = self._time(lo, hi)
        jump = SalesJump(floor=600, per_unit=6, noise=self.rnd.randrange(0, 3000))
        sku = self.em.world.skus[g]
        inc = self._new("violation", "merchant", "merchant_sales_inflation", m_idx, sku.sku_id,
                        f"sales_count_displayed inflated by ≥ 600 + 6 × units sold (+{jump.noise}) after the initial snapshot")
        self.plan.add_segment(g, Segment(self.t0, t, {}, None), price=False)  # the low snapshot: kept, not tagged
        self.plan.add_segment(g, Segment(t, self.t1 + 1, {"sales_jump": jump}, inc), price=False)
        self._at(t, lambda: self.listings.snapshot(g, t))

    def merchant_sales_popular(self: Injector) -> None:
        """Decoy: a real order burst (480-650 orders) so the displayed count rises by > 500, in line with orders."""
        lo, hi = self.t0 + 4 * _HOUR, min(self.t1 - 10 * _MIN, self.t0 + 22 * _HOUR)
        pick = self._listing_pick("merchant", None)
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        t = self._time(lo, hi)
        n = self.rnd.randint(480, 650)
        start = max(self.t0 + 35 * _MIN, t - self.rnd.randrange(3 * _HOUR, 4 * _HOUR))
        times = sorted(self.rnd.randrange(start, t - 5 * _MIN) for _ in range(n))
        qtys = [1 if self.rnd.random() < 0.9 else 2 for _ in range(n)]
        sku = self.em.world.skus[g]
        inc = self._new("decoy", "merchant", "merchant_sales_popular", m_idx, sku.sku_id,
                        f"{n} real orders ({sum(qtys)} units) before this snapshot; displayed count follows them")
        self._orders_bulk(g, times, qtys)
        self.plan.add_segment(g, Segment(self.t0, t, {}, None), price=False)  # the low snapshot: kept, not tagged
        self.plan.add_segment(g, Segment(t, self.t1 + 1, {}, inc), price=False)
        self._at(t, lambda: self.listings.snapshot(g, t))

    def merchant_review_cashback(self: Injector) -> None:
        """好评返现 / 晒图返5元 / 五星好评送 / 好评截图返红包 in listing copy or host speech (MC-02)."""
        if self.sessions and self.rnd.random() < 0.35:
            got = self._speech("violation", "merchant", "merchant_review_cashback",
                               lambda rnd, sku: rnd.choice(lexicon.CASHBACK_SPEECH), what="review cashback in host speech")
            if got is not None:
                return
        times, pick = self._text_time(), self._listing_pick("merchant", None)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        sentence = self.rnd.choice(lexicon.CASHBACK_LISTING)
        inc = self._new("violation", "merchant", "merchant_review_cashback", m_idx, sku.sku_id, f"review cashback in listing: {sentence}")
        self._listing_text(inc, g, {"detail": sku.detail + sentence}, *times)

    def merchant_review_invite(self: Injector) -> None:
        """Decoy: an invitation to review honestly (欢迎真实评价), no reward."""
        if self.sessions and self.rnd.random() < 0.3:
            got = self._speech("decoy", "merchant", "merchant_review_invite",
                               lambda rnd, sku: lexicon.REVIEW_INVITE_SPEECH, what="review invitation in host speech")
            if got is not None:
                return
        times, pick = self._text_time(), self._listing_pick("merchant", None)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        inc = self._new("decoy", "merchant", "merchant_review_invite", m_idx, sku.sku_id,
                        f"review invitation: {lexicon.REVIEW_INVITE_LISTING}")
        self._listing_text(inc, g, {"detail": sku.detail + lexicon.REVIEW_INVITE_LISTING}, times[0], None)

    def _quiet_merchants(self: Injector, natural: bool) -> list[int]:
        """Merchants of the given kind none of whose listings belongs to another incident."""
        w = self.em.world
        reserved = self.plan.reserved
        used = self._used.get("merchant", set())
        return [
            m.idx for m in w.merchants
            if m.natural == natural and m.idx not in used and m.idx not in self._new_sku_merchants
            and m.idx not in self.plan.licence_hidden and not reserved[m.sku0:m.sku1].any()
        ]

    def merchant_licence_hidden(self: Injector) -> None:
        """A registered merchant whose listings all show licence_info_displayed = false (MC-01)."""
        cands = self._quiet_merchants(natural=False)
        if not cands:
            return
        m_idx = self.rnd.choice(cands)
        inc = self._new("violation", "merchant", "merchant_licence_hidden", m_idx, None,
                        "registered merchant: every listing snapshot has licence_info_displayed = false")
        self.plan.licence_hidden[m_idx] = (False, inc)

    def merchant_natural_person_exempt(self: Injector) -> None:
        """Decoy: a natural-person shop (电子商务法 Art. 10) whose listings show licence_info_displayed = false."""
        cands = self._quiet_merchants(natural=True)
        if not cands:
            return
        m_idx = self.rnd.choice(cands)
        inc = self._new("decoy", "merchant", "merchant_natural_person_exempt", m_idx, None,
                        "natural-person shop: licence_info_displayed = false (exempt from business-licence display)")
        self.plan.licence_hidden[m_idx] = (False, inc)

