"""Livestream incident kinds of the cn-platform pack (mixed into the Injector).

Room-level behaviour is attached to a planned session (:mod:`engine.simulate.live`):
metric windows (AI label hidden or shown), pinned items with a scripted
displayed stock (fake scarcity, genuine sell-out), scripted extra orders
(order brushing, apparel returns) and speech hooks. Windows of different
incidents never overlap within a session. The food-licence and
prohibited-goods kinds are listings (family livestream, as LV-05 / LV-06 also
cover live items).
"""
from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from engine.simulate import lexicon
from engine.simulate.catalog import Product, nice_price
from engine.simulate.live import Brush, MetricWindow, Pin, Session, Speech, SpeechHook
from engine.simulate.merchants import Sku
from engine.simulate.plan import Segment

if TYPE_CHECKING:  # pragma: no cover
    from engine.simulate.inject import Injector

_MIN = 60
_HOUR = 3600

_MED_TERMS = ("治疗", "治愈", "根治", "药到病除", "降血压", "降血糖", "降血脂", "抗癌", "防癌", "消炎", "活血化瘀", "无副作用")
#: Medical claims that carry an explicit medical term (for live_repeated_violation).
_MEDICAL_SPOKEN = {
    cat: tuple(c for c in claims if any(t in c for t in _MED_TERMS)) for cat, claims in lexicon.MEDICAL_CLAIMS.items()
}


def _food(sku: Sku) -> bool:
    return sku.category == "食品" and bool(sku.licences)


def _farm(sku: Sku) -> bool:
    return sku.category == "食用农产品"


def _filed_food(sku: Sku) -> bool:
    return sku.category == "食品" and bool(sku.licences) and sku.licences[0]["type"] == "仅销售预包装食品备案"


def _apparel(sku: Sku) -> bool:
    return sku.category == "服装鞋帽"


def _wx(rnd: random.Random) -> str:
    return "".join(rnd.choice("abcdefghjkmnpqrstuwxyz") for _ in range(rnd.randint(5, 7))) + str(rnd.randint(100, 999))


class LiveKinds:
    """livestream: AI label, order brushing, fake scarcity, repeated violations, off-platform diversion,
    food licence, prohibited goods (each with its decoy)."""

    def _air_orders(self: Injector, s: Session) -> float:
        """Rough upper estimate of a session's own live orders inside the run."""
        air = max(0, min(s.end, self.t1) - max(s.start, self.t0)) / 60.0
        return s.peak * 1.12 * s.conv * air

    # -- AI avatar label -----------------------------------------------------------------

    def _ai(self: Injector, label: str, kind: str, visible: bool) -> None:
        length = self.rnd.randrange(7, 26 if not visible else 21) * _MIN
        slot = self._session_window(length, pred=lambda s: s.session_id not in self._ai_sessions)
        if slot is None:
            return
        s, a = slot
        self._ai_sessions.add(s.session_id)
        s.ai = True
        inc = self._new(
            label, "livestream", kind, s.merchant, s.room_id,
            f"AI avatar room, ai_label_visible={'true' if visible else 'false'} for {length // 60} min"
            + ("" if visible else " (true before and after)"),
        )
        s.windows.append(MetricWindow(a, a + length, inc, ai_label=visible))

    def live_ai_unlabelled(self: Injector) -> None:
        """is_ai_avatar with ai_label_visible = false for 7-25 consecutive minutes (LV-10)."""
        self._ai("violation", "live_ai_unlabelled", False)

    def live_ai_labelled(self: Injector) -> None:
        """Decoy: an AI avatar room with the label visible throughout (tagged: 7-20 minutes of its metrics)."""
        self._ai("decoy", "live_ai_labelled", True)

    # -- order brushing -------------------------------------------------------------------

    def live_order_brushing(self: Injector) -> None:
        """≥ 100 extra paid live orders, 80-92 % cancelled (minutes) or refunded (hours) on the same day,
        from a few shared devices (LV-09). Only the cancellation / refund events are tagged."""
        length = self.rnd.randrange(20, 61) * _MIN
        slot = self._session_window(
            length, margin=90 * _MIN, pred=lambda s: s.session_id not in self._order_sessions and self._air_orders(s) <= 150
        )
        if slot is None:
            return
        s, a = slot
        self._order_sessions.add(s.session_id)
        est = self._air_orders(s)
        n = max(110, int(2.2 * est)) + self.rnd.randrange(0, 41)
        q = self.rnd.uniform(0.8, 0.92)
        k = math.ceil(q * n)
        outcomes = [1 if self.rnd.random() < 0.6 else 2 for _ in range(k)] + [0] * (n - k)
        self.rnd.shuffle(outcomes)
        n_dev = self.rnd.randint(3, 8)
        devices = [self.orders.one_buyer(self.rnd.getrandbits(40))[1] for _ in range(n_dev)]
        buyers = [self.rnd.getrandbits(40) for _ in range(self.rnd.randint(12, 40))]
        inc = self._new(
            "violation", "livestream", "live_order_brushing", s.merchant, s.session_id,
            f"{n} extra live orders in {length // 60} min, {k} ({k / n:.0%}) cancelled/refunded the same day, "
            f"{len(buyers)} buyers on {n_dev} devices",
        )
        s.brush.append(Brush(a, a + length, n, outcomes, ((120, 1800), (1200, 3 * _HOUR)), buyers, devices,
                             self._rand(inc), inc))

    def live_apparel_returns(self: Injector) -> None:
        """Decoy: an apparel session with ≥ 100 orders of which about 20 % are refunded (size-fit returns)."""
        length = self.rnd.randrange(30, 91) * _MIN

        def apparel(s: Session) -> bool:
            return self.em.world.merchants[s.merchant].category == "服装鞋帽" and any_room(s)

        def any_room(s: Session) -> bool:
            return s.session_id not in self._order_sessions and self._air_orders(s) <= 250

        slot = self._session_window(length, margin=45 * _MIN, pred=apparel)
        if slot is None:
            slot = self._session_window(length, margin=45 * _MIN, pred=any_room)
        if slot is None:
            return
        s, a = slot
        self._order_sessions.add(s.session_id)
        est = self._air_orders(s)
        n = max(100, int(est)) + self.rnd.randrange(0, 51)
        r = min(0.3, 0.2 * (n + 0.6 * est) / n)
        k = round(r * n)
        outcomes = [2] * k + [0] * (n - k)
        self.rnd.shuffle(outcomes)
        cat = self.em.world.merchants[s.merchant].category
        inc = self._new(
            "decoy", "livestream", "live_apparel_returns", s.merchant, s.session_id,
            f"{cat} session: {n} extra orders from distinct buyers, {k} ({k / n:.0%}) refunded hours later",
        )
        s.brush.append(Brush(a, a + length, n, outcomes, ((120, 1800), (_HOUR, 6 * _HOUR)), [], [], self._rand(inc), inc))

    # -- scarcity -------------------------------------------------------------------------

    def live_fake_scarcity(self: Injector) -> None:
        """≥ 3 scarcity lines within 30 min while the pinned item's stock_displayed stays flat or is restocked (LV-08)."""
        length = self.rnd.randrange(30, 37) * _MIN
        slot = self._session_window(length, pred=lambda s: s.session_id not in self._stock_sessions)
        if slot is None:
            return
        s, a = slot
        self._stock_sessions.add(s.session_id)
        item = self.rnd.choice(s.items)
        restocks: tuple[tuple[int, int], ...] = ()
        if self.rnd.random() < 0.4:
            restocks = tuple(sorted(
                (a + self.rnd.randrange(3, length // 60 - 2) * 60, self.rnd.randrange(50, 301))
                for _ in range(self.rnd.randint(1, 2))
            ))
        s.pins.append(Pin(a, a + length, item, "flat", floor=self.rnd.randrange(80, 400), restocks=restocks))
        n = self.rnd.randint(3, 5)
        span = self.rnd.randrange(10, 27) * _MIN
        times = sorted(a + _MIN + self.rnd.randrange(0, span) for _ in range(n))
        lines = self.rnd.sample(lexicon.SCARCITY_SPEECH, n)
        inc = self._new(
            "violation", "livestream", "live_fake_scarcity", s.merchant, s.room_id,
            f"{n} scarcity lines within {(times[-1] - times[0]) // 60 + 1} min; stock_displayed of "
            f"{self.em.world.skus[item[0]].sku_id} " + ("restocked upward" if restocks else "flat"),
        )
        rnd = self._rand(inc)
        for t, line in zip(times, lines):
            text = line.format(x=rnd.randint(2, 9))
            s.hooks.append(SpeechHook(t, lambda sku, link, text=text: (text, [], round(rnd.uniform(0.88, 0.98), 3)), inc,
                                      host=True))

    def live_genuine_sellout(self: Injector) -> None:
        """Decoy: the session's last item really sells out: 仅剩X件 said twice while stock_displayed falls to 0."""
        length = self.rnd.randrange(10, 21) * _MIN
        slot = self._session_window(length, at_end=True, pred=lambda s: s.session_id not in self._stock_sessions)
        if slot is None:
            return
        s, a = slot
        self._stock_sessions.add(s.session_id)
        item = self.rnd.choice(s.items)
        first = self.rnd.randrange(20, 61)
        s.pins.append(Pin(a, a + length + 1, item, "sellout", first=first))  # +1: the metric at the very end
        inc = self._new(
            "decoy", "livestream", "live_genuine_sellout", s.merchant, s.room_id,
            f"last {length // 60} min: {self.em.world.skus[item[0]].sku_id} sells out from {first} to 0; 仅剩 said twice",
        )
        rnd = self._rand(inc)

        def make(sku: Sku, link: float, t: int, stock: int) -> Speech:
            return rnd.choice(lexicon.SELLOUT_SPEECH).format(x=max(1, stock)), [], round(rnd.uniform(0.88, 0.98), 3)

        third = length // 3
        for t in (a + _MIN + self.rnd.randrange(0, third - _MIN), a + third + self.rnd.randrange(0, third)):
            s.hooks.append(SpeechHook(t, make, inc, timed=True, host=True))

    # -- speech ---------------------------------------------------------------------------

    def live_repeated_violation(self: Injector) -> None:
        """2-4 host utterances in one room within 10 min, each with a ban-tier or a medical term (LV-07)."""
        def say(rnd: random.Random, sku: Sku) -> str:
            if rnd.random() < 0.6:
                term = rnd.choice(lexicon.BAN_TERMS)
                return rnd.choice(term.speech).format(t=term.term, n=sku.product.noun)
            claims = _MEDICAL_SPOKEN.get(sku.category) or _MEDICAL_SPOKEN["食品"]
            return f"{rnd.choice(lexicon.MEDICAL_SPEECH_PREFIX)}这个{sku.product.noun}{rnd.choice(claims)}"

        self._speech("violation", "livestream", "live_repeated_violation", say, n=self.rnd.randint(2, 4),
                     gap=(40, 150), what="repeated ban-tier/medical terms in host speech")

    def live_offplatform(self: Injector) -> None:
        """Buyers diverted off the platform (加微信, V信, vx, 私信下单, 扫码加群, 私下转账 …) in speech or a listing (LV-11)."""
        if self.sessions and self.rnd.random() < 0.6:
            got = self._speech("violation", "livestream", "live_offplatform",
                               lambda rnd, sku: rnd.choice(lexicon.OFFPLATFORM_SPEECH).format(wx=_wx(rnd)),
                               n=self.rnd.choice((1, 1, 2)), gap=(60, 300), what="off-platform diversion in host speech")
            if got is not None:
                return
        times, pick = self._text_time(), self._listing_pick("livestream", None)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        sentence = self.rnd.choice(lexicon.OFFPLATFORM_LISTING).format(wx=_wx(self.rnd))
        inc = self._new("violation", "livestream", "live_offplatform", m_idx, sku.sku_id,
                        f"off-platform diversion in listing: {sentence}")
        self._listing_text(inc, g, {"detail": sku.detail + sentence}, *times)

    def live_onplatform_contact(self: Injector) -> None:
        """Decoy: contact through the platform (联系平台客服, 在平台内私信客服)."""
        if self.sessions and self.rnd.random() < 0.5:
            got = self._speech("decoy", "livestream", "live_onplatform_contact",
                               lambda rnd, sku: rnd.choice(lexicon.ONPLATFORM_SPEECH), what="on-platform contact in host speech")
            if got is not None:
                return
        times, pick = self._text_time(), self._listing_pick("livestream", None)
        if times is None or pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        sentence = self.rnd.choice(lexicon.ONPLATFORM_LISTING)
        inc = self._new("decoy", "livestream", "live_onplatform_contact", m_idx, sku.sku_id, f"on-platform contact: {sentence}")
        self._listing_text(inc, g, {"detail": sku.detail + sentence}, times[0], None)

    # -- food licence ---------------------------------------------------------------------

    def food_no_licence(self: Injector) -> None:
        """A 食品 listing showing no licence (no 食品经营许可证 / 仅销售预包装食品备案) all run (LV-05)."""
        pick = self._listing_pick("livestream", _food)
        if pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        inc = self._new("violation", "livestream", "food_no_licence", m_idx, sku.sku_id,
                        "食品 listing with licences empty in every snapshot")
        self._whole_run(inc, g, {"licences": []})

    def food_licence_exempt(self: Injector) -> None:
        """Decoy: a 食用农产品 listing without licence (exempt), or a 食品 listing showing 仅销售预包装食品备案."""
        pred = _filed_food if self.rnd.random() < 0.3 else _farm
        pick = self._listing_pick("livestream", pred) or self._listing_pick("livestream", _farm)
        if pick is None:
            return
        m_idx, g = pick
        sku = self.em.world.skus[g]
        what = "食用农产品 listing without licence (exempt)" if sku.category == "食用农产品" else "食品 listing with 仅销售预包装食品备案"
        inc = self._new("decoy", "livestream", "food_licence_exempt", m_idx, sku.sku_id, what)
        self._whole_run(inc, g, {})

    # -- prohibited goods -----------------------------------------------------------------

    def _new_goods(self: Injector, m_idx: int, item: tuple, licences: list[dict]) -> int:
        term, title, cat, pcat, band = item
        root, sub = pcat.split("/", 1)
        prod = Product(term, ("标准款",), band, sub, (term,))
        price = nice_price(self.rnd.uniform(*band))
        detail = "【用法用量】请仔细阅读说明书。" if cat == "药品" else "现货速发，拍下48小时内发货。"
        brand = self.em.world.merchants[m_idx].brand
        g = self._add_sku(m_idx, category=cat, product=prod, title=f"{brand} {title}", detail=detail,
                          price=price, licences=licences)
        self.em.world.skus[g].platform_cat = pcat
        return g

    def _publish(self: Injector, inc, g: int) -> None:
        """Publish new SKU ``g`` (change_type "new") and maybe crawl it again; both tagged."""
        lo, hi = self.t0 + 40 * _MIN, self.t1 - 10 * _MIN
        t = self._time(lo, hi) if hi > lo else self.t0
        self.plan.add_segment(g, Segment(t, self.t1 + 1, {}, inc), price=False)
        self._at(t, lambda: self.listings.snapshot(g, t, "new"))
        t2 = t + self.rnd.randrange(_HOUR, 6 * _HOUR)
        if t2 < self.t1 and self.rnd.random() < 0.5:
            self._at(t2, lambda: self.listings.snapshot(g, t2))

    def prohibited_goods(self: Injector) -> None:
        """Prohibited goods offered in a new listing or in host speech (电子烟, 烟油, 米非司酮, 含麻黄碱, 弓弩 …) (LV-06)."""
        if self.sessions and self.rnd.random() < 0.3:
            got = self._speech(
                "violation", "livestream", "prohibited_goods",
                lambda rnd, sku: rnd.choice(lexicon.PROHIBITED_SPEECH).format(t=rnd.choice(("电子烟", "烟油", "仿真枪", "弓弩"))),
                what="prohibited goods offered in host speech",
            )
            if got is not None:
                return
        w = self.em.world
        drugs = [m.idx for m in w.merchants if m.category == "药品"]
        if drugs and self.rnd.random() < 0.25:
            m_idx = self._pick("livestream", drugs)
            item = self.rnd.choice(lexicon.PROHIBITED_DRUGS)
            like = next((w.skus[g] for g in range(w.merchants[m_idx].sku0, w.merchants[m_idx].sku1)
                         if w.skus[g].category == "药品"), None)
            licences = like.licences if like is not None else []
        else:
            m_idx = self._pick("livestream", [m.idx for m in w.merchants if m.category not in ("药品", "医疗器械")])
            item = self.rnd.choice(lexicon.PROHIBITED_ITEMS)
            licences = []
        if m_idx is None:
            return
        g = self._new_goods(m_idx, item, licences)
        inc = self._new("violation", "livestream", "prohibited_goods", m_idx, w.skus[g].sku_id,
                        f"prohibited goods listed ({item[0]}): {w.skus[g].title}")
        self._publish(inc, g)

    def prohibited_lookalike(self: Injector) -> None:
        """Decoy: lawful goods with close names (电子秤, 戒烟贴) or the colour 象牙白 on apparel."""
        w = self.em.world
        if self.rnd.random() < 0.4:
            times, pick = self._text_time(), self._listing_pick("livestream", _apparel)
            if times is not None and pick is not None:
                m_idx, g = pick
                sku = w.skus[g]
                title = f"{sku.title} {lexicon.LOOKALIKE_COLOUR}"[:120]
                inc = self._new("decoy", "livestream", "prohibited_lookalike", m_idx, sku.sku_id,
                                f"colour name {lexicon.LOOKALIKE_COLOUR} on apparel: {title}")
                self._listing_text(inc, g, {"title": title}, times[0], None)
                return
        home = [m.idx for m in w.merchants if m.category in ("家居日用", "数码家电")]
        m_idx = self._pick("livestream", home or list(range(len(w.merchants))))
        if m_idx is None:
            return
        item = self.rnd.choice(lexicon.LOOKALIKE_GOODS)
        g = self._new_goods(m_idx, item, [])
        inc = self._new("decoy", "livestream", "prohibited_lookalike", m_idx, w.skus[g].sku_id,
                        f"lawful goods with a close name: {w.skus[g].title}")
        self._publish(inc, g)
