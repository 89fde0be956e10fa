"""Injected incidents: labelled violations and lawful decoys, one family at a time.

Every incident is planned before generation starts: it picks a merchant (and
SKU, room or problem category), a time, and then either schedules its own
events (:meth:`Plan.at`) or changes what the background streams produce
(SKU segments, merchant boosts, livestream hooks). Each event that makes up
the incident is tagged on its :class:`~engine.simulate.truth.Incident`.

The number of incidents of each kind scales with merchants × hours
(``RATE_PER_1000`` per 1,000 merchant-hours, at least one where the run has
room for it). Merchants are spread out: a merchant is reused only when every
eligible one already has an incident of that family.

Price incidents keep the seven-day base B simple and exact: the SKU gets no
store coupons, no random price updates and is not sold in livestreams, so
every paid order before the promotion pays exactly the base price P, and the
injector adds a few orders at P before the promotion so B exists.

The kinds of the cn-platform pack (listed after the original ones in
``RATE_PER_1000`` and planned after them, so the original kinds draw the same
choices) live in mixins: :mod:`~engine.simulate.inject_ad` (advertising,
medical), :mod:`~engine.simulate.inject_market` (price, merchant),
:mod:`~engine.simulate.inject_live` (livestream) and
:mod:`~engine.simulate.inject_complaints`. The anomaly kinds (label "anomaly",
:mod:`~engine.simulate.inject_anomaly`) come last of all and use private ids
and draws, so they change no other incident. Advertising, medical and price
violations register as possible parents of ``complaint_confirms_warning``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from engine.simulate import lexicon, phrases
from engine.simulate.build import Emitter
from engine.simulate.catalog import CATEGORY_BY_STD, SUBTITLES, Product, nice_price, pick_weighted
from engine.simulate.clock import COMPLAINT_DIURNAL, ORDER_DIURNAL, local_hour
from engine.simulate.ids import sub_seed
from engine.simulate.live import FakeViewers, PaidSurge, Session, Speech, SpeechHook
from engine.simulate.merchants import Sku, _detail
from engine.simulate.plan import Boost, Plan, Segment
from engine.simulate.streams import ComplaintStream, ListingStream, OrderStream
from engine.simulate.inject_ad import AdKinds
from engine.simulate.inject_anomaly import AnomalyKinds
from engine.simulate.inject_complaints import ComplaintKinds
from engine.simulate.inject_live import LiveKinds
from engine.simulate.inject_market import MarketKinds
from engine.simulate.truth import Incident

#: Incidents of each kind per 1,000 merchant-hours: (family, kind, label) -> rate.
RATE_PER_1000: dict[tuple[str, str, str], float] = {
    ("advertising", "ad_absolute", "violation"): 1.0,
    ("medical", "ad_medical", "violation"): 0.9,
    ("price", "price_fake_original", "violation"): 0.9,
    ("price", "price_raise_then_cut", "violation"): 0.8,
    ("livestream", "live_fake_viewers", "violation"): 0.8,
    ("livestream", "live_price_mismatch", "violation"): 0.8,
    ("complaints", "complaint_surge", "violation"): 0.7,
    ("complaints", "complaint_group", "violation"): 0.7,
    ("advertising", "benign_terms", "decoy"): 1.0,
    ("medical", "drug_indication", "decoy"): 0.5,
    ("price", "price_genuine_cut", "decoy"): 0.8,
    ("livestream", "live_paid_surge", "decoy"): 0.6,
    ("livestream", "live_price_conditional", "decoy"): 0.5,
    ("complaints", "complaint_busy_merchant", "decoy"): 0.4,
    # -- kinds of the cn-platform pack (planned after the ones above, in this order) --
    ("advertising", "ad_caution", "violation"): 0.8,
    ("advertising", "ad_caution_lookalike", "decoy"): 0.6,
    ("advertising", "ad_state_endorsement", "violation"): 0.7,
    ("advertising", "ad_state_history", "decoy"): 0.55,
    ("advertising", "ad_unsourced_claim", "violation"): 0.7,
    ("advertising", "ad_sourced_claim", "decoy"): 0.55,
    ("advertising", "ad_invented_effect", "violation"): 0.7,
    ("advertising", "ad_service_period", "decoy"): 0.55,
    ("medical", "drug_guarantee", "violation"): 0.6,
    ("medical", "health_food_claim", "violation"): 0.6,
    ("medical", "health_food_approved", "decoy"): 0.55,
    ("medical", "health_food_no_warning", "violation"): 0.6,
    ("medical", "infant_formula_claim", "violation"): 0.6,
    ("medical", "infant_formula_plain", "decoy"): 0.55,
    ("price", "price_baseless_ref", "violation"): 0.7,
    ("price", "price_new_msrp", "decoy"): 0.55,
    ("price", "price_false_discount", "violation"): 0.7,
    ("price", "price_true_discount", "decoy"): 0.55,
    ("price", "price_feed_below_detail", "violation"): 0.7,
    ("price", "price_feed_coupon", "decoy"): 0.55,
    ("price", "price_lowest_claim_false", "violation"): 0.7,
    ("price", "price_lower_than_usual", "decoy"): 0.55,
    ("livestream", "live_ai_unlabelled", "violation"): 0.6,
    ("livestream", "live_ai_labelled", "decoy"): 0.55,
    ("livestream", "live_order_brushing", "violation"): 0.6,
    ("livestream", "live_apparel_returns", "decoy"): 0.55,
    ("livestream", "live_fake_scarcity", "violation"): 0.6,
    ("livestream", "live_genuine_sellout", "decoy"): 0.55,
    ("livestream", "live_repeated_violation", "violation"): 0.7,
    ("livestream", "live_offplatform", "violation"): 0.7,
    ("livestream", "live_onplatform_contact", "decoy"): 0.55,
    ("livestream", "food_no_licence", "violation"): 0.6,
    ("livestream", "food_licence_exempt", "decoy"): 0.55,
    ("livestream", "prohibited_goods", "violation"): 0.6,
    ("livestream", "prohibited_lookalike", "decoy"): 0.55,
    ("merchant", "merchant_sales_inflation", "violation"): 0.6,
    ("merchant", "merchant_sales_popular", "decoy"): 0.55,
    ("merchant", "merchant_review_cashback", "violation"): 0.6,
    ("merchant", "merchant_review_invite", "decoy"): 0.55,
    ("merchant", "merchant_licence_hidden", "violation"): 0.6,
    ("merchant", "merchant_natural_person_exempt", "decoy"): 0.55,
    ("complaints", "complaint_confirms_warning", "violation"): 0.7,
    ("complaints", "complaint_professional_group", "decoy"): 0.05,
    ("complaints", "complaint_professional", "decoy"): 0.55,
    # -- anomaly kinds (no rule names them; planned last, see inject_anomaly) --
    ("anomaly", "live_engagement_too_regular", "anomaly"): 0.6,
    ("anomaly", "live_engagement_mismatch", "anomaly"): 0.6,
    ("anomaly", "price_small_steps", "anomaly"): 0.6,
    ("anomaly", "price_far_from_category", "anomaly"): 0.6,
    ("anomaly", "complaint_mix_shift", "anomaly"): 0.6,
}
EVADED_SHARE = 0.4
SPEECH_SHARE = 0.4
_MIN = 60
_HOUR = 3600


def planned_count(merchants: int, hours: float, rate: float) -> int:
    """How many incidents of a kind with ``rate`` a run of this size gets."""
    return max(1, round(merchants * hours / 1000.0 * rate))


@dataclass
class Parent:
    """An advertising / medical / price violation that a later complaint may confirm."""

    incident: Incident
    start: int
    problems: tuple[str, ...]
    claim: Callable[[], str]  # the claim as quoted in a complaint (read when the complaint is written)
    session_id: str | None = None
    used: bool = False


@dataclass
class Injector(AdKinds, MarketKinds, LiveKinds, ComplaintKinds, AnomalyKinds):
    """Plans all incidents of one run (the cn-platform kinds live in the mixins' modules)."""

    em: Emitter
    plan: Plan
    listings: ListingStream
    orders: OrderStream
    complaints: ComplaintStream
    rnd: random.Random
    seed: int
    t0: int
    t1: int

    def __post_init__(self) -> None:
        self.incidents: list[Incident] = []
        self.sessions: list[Session] = []
        self._used: dict[str, set[int]] = {}
        self._session_windows: dict[str, list[tuple[int, int]]] = {}
        self._masks: dict[int, np.ndarray] = {}
        self._keep: list[object] = []
        self.n_base = len(self.em.world.skus)  # SKUs of the built world (new listings come after)
        self._parents: list[Parent] = []
        self._listing_ids: set[str] | None = None
        self._new_sku_merchants: set[int] = set()
        self._ai_sessions: set[str] = set()
        self._order_sessions: set[str] = set()  # sessions with scripted orders (one such incident each)
        self._stock_sessions: set[str] = set()  # sessions with a scarcity or sell-out incident (one each)
        self._pros: list = []
        self._pro_load: dict[int, int] = {}
        self.planned: dict[str, int] = {}

    # -- helpers ------------------------------------------------------------------

    def _new(self, label: str, family: str, kind: str, m_idx: int | None, subject: str | None, note: str) -> Incident:
        """A new incident; ``m_idx`` None for one that spans merchants (``merchant_id`` null)."""
        inc = Incident(
            incident_id=f"inc-{len(self.incidents) + 1:05d}", label=label, family=family, kind=kind,
            merchant_id=None if m_idx is None else self.em.world.merchants[m_idx].merchant_id,
            subject=subject, note=note,
        )
        self.incidents.append(inc)
        if m_idx is not None:
            self._used.setdefault(family, set()).add(m_idx)
        return inc

    def _parent(
        self, inc: Incident, start: int, problems: tuple[str, ...], claim: str | Callable[[], str],
        session_id: str | None = None,
    ) -> None:
        """Register ``inc`` as a violation that complaint_confirms_warning may follow up."""
        get = claim if callable(claim) else (lambda: claim)
        self._parents.append(Parent(inc, start, problems, get, session_id))

    def _rand(self, inc: Incident) -> random.Random:
        """A random stream private to ``inc`` (for choices made lazily at generation time)."""
        return random.Random(sub_seed(self.seed, inc.incident_id))

    def _time(self, lo: int, hi: int, curve: Sequence[float] = ORDER_DIURNAL) -> int:
        """A time in [lo, hi) weighted by a diurnal curve (business activity)."""
        if hi <= lo:
            return lo
        top = max(curve)
        for _ in range(64):
            t = self.rnd.randrange(lo, hi)
            if self.rnd.random() * top < curve[local_hour(t)]:
                return t
        return self.rnd.randrange(lo, hi)

    def _pick(self, family: str, candidates: list[int]) -> int | None:
        """A merchant from ``candidates``, preferring ones without an incident of ``family``."""
        if not candidates:
            return None
        used = self._used.get(family, set())
        fresh = [c for c in candidates if c not in used]
        return self.rnd.choice(fresh or candidates)

    def _free_skus(self, m_idx: int, pred: Callable[[Sku], bool] | None = None) -> list[int]:
        m = self.em.world.merchants[m_idx]
        mask = self._mask(pred)
        return [g for g in range(m.sku0, m.sku1) if not self.plan.reserved[g] and mask[g]]

    def _mask(self, pred: Callable[[Sku], bool] | None) -> np.ndarray:
        """Per-SKU boolean array of ``pred`` over the built world's SKUs (memoised per predicate object)."""
        key = id(pred)
        if key not in self._masks:
            skus = self.em.world.skus[: self.n_base]
            self._masks[key] = np.ones(len(skus), bool) if pred is None else np.array([pred(s) for s in skus], bool)
            self._keep.append(pred)  # keep the predicate alive so its id stays unique
        return self._masks[key]

    def _merchants_with_free_sku(self, pred: Callable[[Sku], bool] | None = None) -> list[int]:
        w = self.em.world
        ok = (~self.plan.reserved[: self.n_base] & self._mask(pred)).astype(np.int64)
        per_merchant = np.add.reduceat(ok, w.sku_offset) if len(ok) else ok
        return np.nonzero(per_merchant)[0].tolist()

    def _session_slot(self, length: int, margin: int = 2 * _MIN, exclusive: bool = False) -> tuple[Session, int] | None:
        """A session with ``length`` seconds of air time inside the run; returns (session, start)."""
        order = list(range(len(self.sessions)))
        self.rnd.shuffle(order)
        used = self._used.get("livestream", set())
        order.sort(key=lambda i: self.sessions[i].merchant in used)  # stable: fresh rooms first
        for i in order:
            s = self.sessions[i]
            lo = max(s.start + 5 * _MIN, self.t0 + margin)
            hi = min(s.end, self.t1) - margin - length
            if hi <= lo:
                continue
            for _ in range(8):
                a = self.rnd.randrange(lo, hi + 1)
                windows = self._session_windows.setdefault(s.session_id, [])
                if exclusive and windows:
                    break
                if all(a + length <= x or a >= y for x, y in windows):
                    if exclusive:
                        windows.append((a, a + length))
                    return s, a
        return None

    def _at(self, ts: int, fn: Callable[[], None]) -> None:
        self.plan.at(ts, fn)

    # -- helpers of the cn-platform kinds ------------------------------------------------

    def _session_window(
        self, length: int, *, margin: int = 2 * _MIN, pred: Callable[[Session], bool] | None = None,
        at_end: bool = False,
    ) -> tuple[Session, int] | None:
        """Reserve ``length`` seconds of a session that overlap no other reserved window; returns (session, start).

        ``at_end``: the window is the session's last ``length`` seconds (the session must end in the run).
        """
        order = list(range(len(self.sessions)))
        self.rnd.shuffle(order)
        used = self._used.get("livestream", set())
        order.sort(key=lambda i: self.sessions[i].merchant in used)
        for i in order:
            s = self.sessions[i]
            if pred is not None and not pred(s):
                continue
            if at_end:
                a = s.end - length
                if s.end > self.t1 - margin or a < max(s.start + 10 * _MIN, self.t0 + margin):
                    continue
                starts = [a]
            else:
                lo = max(s.start + 5 * _MIN, self.t0 + margin)
                hi = min(s.end, self.t1) - margin - length
                if hi <= lo:
                    continue
                starts = [self.rnd.randrange(lo, hi + 1) for _ in range(8)]
            windows = self._session_windows.setdefault(s.session_id, [])
            for a in starts:
                if all(a + length <= x or a >= y for x, y in windows):
                    windows.append((a, a + length))
                    return s, a
        return None

    def _speech(
        self, label: str, family: str, kind: str, say: Callable[[random.Random, Sku], str], *,
        n: int = 1, gap: tuple[int, int] = (40, 150), what: str,
    ) -> tuple[Incident, Session, int, list[str]] | None:
        """``n`` host utterances ``say(rnd, current item)`` in one room, ``gap`` seconds apart.

        Returns (incident, session, first time, texts as spoken — filled in at generation).
        """
        slot = self._session_slot(n * gap[1] + 60)
        if slot is None:
            return None
        s, at = slot
        inc = self._new(label, family, kind, s.merchant, s.room_id, what)
        rnd = self._rand(inc)
        said: list[str] = []

        def make(sku: Sku, link: float) -> Speech:
            text = say(rnd, sku)
            said.append(text)
            inc.note = f"{what}: " + " / ".join(said)
            return text, [], round(rnd.uniform(0.88, 0.98), 3)

        t = at
        for _ in range(n):
            s.hooks.append(SpeechHook(t, make, inc, host=True))
            t += self.rnd.randrange(*gap)
        return inc, s, at, said

    def _listing_pick(self, family: str, pred: Callable[[Sku], bool] | None) -> tuple[int, int] | None:
        """(merchant, SKU) for a listing incident: a free SKU matching ``pred``."""
        m_idx = self._pick(family, self._merchants_with_free_sku(pred))
        if m_idx is None:
            return None
        return m_idx, self.rnd.choice(self._free_skus(m_idx, pred))

    def _whole_run(self, inc: Incident, g: int, fields: dict) -> None:
        """Show ``fields`` on SKU ``g`` in every snapshot of the run (its initial sync included), plus one copy edit."""
        self.plan.add_segment(g, Segment(self.t0, self.t1 + 1, fields, inc), price=False)
        lo, hi = self.t0 + 2 * _HOUR, self.t1 - 5 * _MIN
        if hi > lo and self.rnd.random() < 0.5:
            t = self._time(lo, hi)
            self._at(t, lambda: self.listings.snapshot(g, t))

    def _segment(self, inc: Incident | None, g: int, fields: dict, start: int, end: int, *, price: bool,
                 change: str = "snapshot") -> None:
        """Override SKU ``g`` over [start, end) with a snapshot at ``start`` and a restoring one at ``end``."""
        self.plan.add_segment(g, Segment(start, end, fields, inc), price=price)
        self._at(start, lambda: self.listings.snapshot(g, start, change))
        if end < self.t1:
            self._at(end, lambda: self.listings.snapshot(g, end, change))

    def _add_sku(
        self, m_idx: int, *, category: str, product: Product, title: str, detail: str, price: float,
        licences: list[dict], subtitle: str = "",
    ) -> int:
        """A SKU published during the run (a new listing of merchant ``m_idx``); returns its index.

        It gets no background orders, snapshots or price updates: only what the injector emits.
        """
        w = self.em.world
        if self._listing_ids is None:
            self._listing_ids = {s.listing_id for s in w.skus}
        while True:
            lid = str(5 * 10**10 + self.rnd.randrange(10**10))
            if lid not in self._listing_ids:
                break
        self._listing_ids.add(lid)
        g = len(w.skus)
        root = CATEGORY_BY_STD[category].root if category in CATEGORY_BY_STD else "其他"
        w.skus.append(Sku(
            g=g, merchant=m_idx, listing_id=lid, sku_id=f"{lid}-1", category=category,
            platform_cat=f"{root}/{product.sub}", product=product, title=title[:120], subtitle=subtitle,
            detail=detail, brand=w.merchants[m_idx].brand, licences=licences, ref_ratio=None, ref_label=None,
            ref_note=None, base_price=price, sales_base=0, reviews_base=0,
            stock=self.rnd.randrange(100, 2000), point=product.points[0],
        ))
        w.price = np.append(w.price, price)
        w.sales = np.append(w.sales, np.zeros(1, np.int64))
        self.plan.grow(1)
        self._new_sku_merchants.add(m_idx)
        return g

    def _new_product_sku(self, m_idx: int) -> int:
        """A new listing of one of the merchant's usual products (title, detail and licences like its others)."""
        w = self.em.world
        m = w.merchants[m_idx]
        like = w.skus[self.rnd.randrange(m.sku0, m.sku1)]
        cat = CATEGORY_BY_STD[like.category]
        prod = self.rnd.choice(cat.products)
        spec = self.rnd.choice(prod.specs)
        points = " ".join(self.rnd.sample(prod.points, k=min(2, len(prod.points))))
        price = nice_price(self.rnd.uniform(*prod.price))
        return self._add_sku(
            m_idx, category=cat.std, product=prod, title=f"【新品】{m.brand}{prod.noun} {spec} {points}",
            detail=_detail(self.rnd, cat, prod), price=price, licences=like.licences,
            subtitle=self.rnd.choice(SUBTITLES),
        )

    def _orders_bulk(self, g: int, times: list[int], qtys: list[int]) -> None:
        """Paid orders of SKU ``g`` at its current price at ``times`` (one action per hour, untagged)."""
        by_hour: dict[int, list[tuple[int, int]]] = {}
        for ts, q in zip(times, qtys):
            by_hour.setdefault(ts // _HOUR, []).append((ts, q))
        sku = self.em.world.skus[g]
        seed = self.rnd.getrandbits(40)

        def emit(chunk: list[tuple[int, int]], salt: int) -> Callable[[], None]:
            def run() -> None:
                price = float(self.em.world.price[g])
                n = len(chunk)
                oids = self.orders.order_ids(n)
                bh, dh, ah = self.orders.buyers((np.arange(n, dtype=np.uint64) * np.uint64(7919) + np.uint64(salt)))
                for i, (ts, q) in enumerate(chunk):
                    self.em.order(
                        sku, ts, order_id=oids[i], list_price=price, paid=price, qty=q, status="paid", paid_at=ts,
                        buyer=bh[i], device=dh[i], addr=ah[i], protected=True,
                    )
                    self.em.world.sales[g] += q
            return run

        for k, (hour, chunk) in enumerate(sorted(by_hour.items())):
            chunk.sort()
            self._at(chunk[-1][0], emit(chunk, (seed + 104729 * k) & ((1 << 40) - 1)))

    # -- entry point ---------------------------------------------------------------

    def plan_before_sessions(self, merchants: int, hours: float) -> None:
        """Incidents that reserve SKUs for exact pricing (must precede session planning)."""
        for (family, kind, label), rate in RATE_PER_1000.items():
            if family == "price":
                for _ in range(planned_count(merchants, hours, rate)):
                    getattr(self, kind)()

    def plan_after_sessions(self, merchants: int, hours: float, sessions: list[Session]) -> None:
        """All other incidents (some need the planned livestream sessions)."""
        self.sessions = sessions
        self.planned = {kind: planned_count(merchants, hours, rate) for (_, kind, _), rate in RATE_PER_1000.items()}
        for (family, kind, label), rate in RATE_PER_1000.items():
            if family != "price":
                for _ in range(planned_count(merchants, hours, rate)):
                    getattr(self, kind)()

    # -- advertising / medical ------------------------------------------------------

    def _listing_text(self, inc: Incident, g: int, fields: dict, start: int, end: int | None) -> None:
        """Show ``fields`` on SKU ``g`` from ``start`` (snapshot) until ``end`` (correction)."""
        end = self.t1 + 1 if end is None else end
        self.plan.add_segment(g, Segment(start, end, fields, inc), price=False)
        self._at(start, lambda: self.listings.snapshot(g, start))
        if end < self.t1:
            self._at(end, lambda: self.listings.snapshot(g, end))

    def _text_time(self) -> tuple[int, int] | None:
        lo, hi = self.t0 + 40 * _MIN, self.t1 - 5 * _MIN
        if hi <= lo:
            return None
        start = self._time(lo, hi)
        return start, start + self.rnd.randrange(4 * _HOUR, 36 * _HOUR)

    def ad_absolute(self) -> None:
        """Ban-tier absolute terms in a listing or in host speech, 40 % evaded."""
        term = self.rnd.choice(lexicon.BAN_TERMS)
        evade = self.rnd.random() < EVADED_SHARE
        evasion = self.rnd.choice(lexicon.applicable_evasions(term)) if evade else None
        if self.sessions and self.rnd.random() < SPEECH_SHARE:
            slot = self._session_slot(5 * _MIN)
            if slot is not None:
                s, at = slot
                if evade:  # what an ASR transcript can carry: no full-width or zero-width forms
                    spoken = [e for e in lexicon.applicable_evasions(term) if e not in ("fullwidth", "zero_width")]
                    evasion = self.rnd.choice(spoken)
                written = term.term if evasion is None else lexicon.evade(self.rnd, term, evasion)
                inc = self._new(
                    "violation", "advertising", "ad_absolute", s.merchant, s.room_id,
                    f"ban-tier {term.term} in host speech, evasion={evasion or 'none'} ({written})",
                )
                rnd = self._rand(inc)

                def make(sku: Sku, link: float) -> Speech:
                    tpl = rnd.choice(lexicon.TRAD_SPEECH if evasion == "traditional" else term.speech)
                    return tpl.format(t=written, n=sku.product.noun), [], round(rnd.uniform(0.88, 0.98), 3)

                for k in range(self.rnd.choice((1, 2))):
                    s.hooks.append(SpeechHook(at + k * self.rnd.randrange(60, 240), make, inc))
                self._parent(inc, at, ("虚假宣传", "广告"), term.term, s.session_id)
                return
        times = self._text_time()
        m_idx = self._pick("advertising", self._merchants_with_free_sku())
        if times is None or m_idx is None:
            return
        g = self.rnd.choice(self._free_skus(m_idx))
        sku = self.em.world.skus[g]
        sentence, label, written = lexicon.absolute_sentence(self.rnd, term, sku.product.noun, "listing", evasion)
        if self.rnd.random() < 0.5:
            where, fields = "title", {"title": f"【{sentence}】{sku.title}"[:120]}
        else:
            where, fields = "detail", {"detail": f"{sentence}。{sku.detail}"}
        inc = self._new(
            "violation", "advertising", "ad_absolute", m_idx, sku.sku_id,
            f"ban-tier {term.term} in listing {where}, evasion={label if label != 'plain' else 'none'} ({written})",
        )
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], ("虚假宣传", "广告"), term.term)

    def ad_medical(self) -> None:
        """Medical / efficacy claims on non-medical goods, in a listing or host speech."""
        if self.sessions and self.rnd.random() < SPEECH_SHARE:
            slot = self._session_slot(5 * _MIN)
            if slot is not None:
                s, at = slot
                inc = self._new("violation", "medical", "ad_medical", s.merchant, s.room_id, "")
                rnd = self._rand(inc)

                def make(sku: Sku, link: float) -> Speech:
                    claims = lexicon.MEDICAL_CLAIMS.get(sku.category, lexicon.MEDICAL_CLAIMS["食品"])
                    claim = rnd.choice(claims)
                    inc.note = f"medical claim on {sku.category} in host speech: {claim}"
                    text = f"{rnd.choice(lexicon.MEDICAL_SPEECH_PREFIX)}这个{sku.product.noun}{claim}"
                    return text, [], round(rnd.uniform(0.88, 0.98), 3)

                s.hooks.append(SpeechHook(at, make, inc))
                self._parent(inc, at, ("虚假宣传",), lambda: inc.note.rsplit(": ", 1)[-1], s.session_id)
                return
        times = self._text_time()
        ok = _medical_claimable
        m_idx = self._pick("medical", self._merchants_with_free_sku(ok))
        if times is None or m_idx is None:
            return
        g = self.rnd.choice(self._free_skus(m_idx, ok))
        sku = self.em.world.skus[g]
        claim = self.rnd.choice(lexicon.MEDICAL_CLAIMS[sku.category])
        if self.rnd.random() < 0.3:
            where, fields = "title", {"title": f"{sku.title} {claim.replace('，', ' ')}"[:120]}
        else:
            where, fields = "detail", {"detail": f"{claim}。{sku.detail}"}
        inc = self._new(
            "violation", "medical", "ad_medical", m_idx, sku.sku_id,
            f"medical claim on {sku.category} in listing {where}: {claim}",
        )
        self._listing_text(inc, g, fields, *times)
        self._parent(inc, times[0], ("虚假宣传",), claim)

    def benign_terms(self) -> None:
        """Decoy: lawful copy full of words a naive matcher flags (最近, 治愈系, 最佳食用期 …)."""
        if self.sessions and self.rnd.random() < 0.3:
            slot = self._session_slot(3 * _MIN)
            if slot is not None:
                s, at = slot
                phrase = self.rnd.choice(lexicon.BENIGN_SPEECH)
                inc = self._new("decoy", "advertising", "benign_terms", s.merchant, s.room_id, f"lawful host speech: {phrase}")
                conf = round(self.rnd.uniform(0.88, 0.98), 3)
                s.hooks.append(SpeechHook(at, lambda sku, link: (phrase, [], conf), inc))
                return
        times = self._text_time()
        m_idx = self._pick("advertising", self._merchants_with_free_sku())
        if times is None or m_idx is None:
            return
        g = self.rnd.choice(self._free_skus(m_idx))
        sku = self.em.world.skus[g]
        picked = self.rnd.sample(lexicon.BENIGN_LISTING, 2)
        if sku.category == "保健食品":
            picked.append(lexicon.BENIGN_HEALTH_FOOD[0])
        fields = {"detail": "".join(picked) + sku.detail, "subtitle": "新人首单立减5元 最高立减20元"}
        inc = self._new(
            "decoy", "advertising", "benign_terms", m_idx, sku.sku_id, "lawful listing copy: " + " / ".join(picked)
        )
        self._listing_text(inc, g, fields, times[0], None)

    def drug_indication(self) -> None:
        """Decoy: a 药品/医疗器械 listing whose approved indication says 治疗."""
        ok = _drug_with_indication
        m_idx = self._pick("medical", self._merchants_with_free_sku(ok))
        times = self._text_time()
        if times is None or m_idx is None:
            return
        g = self.rnd.choice(self._free_skus(m_idx, ok))
        sku = self.em.world.skus[g]
        text = lexicon.DRUG_INDICATIONS[sku.product.noun]
        detail = sku.detail
        for head in ("【适应症】", "【适用范围】"):  # replace the listing's own indication sentence
            prefix = f"{head}{sku.product.indication}。"
            if detail.startswith(prefix):
                detail = detail[len(prefix):]
        detail = text + detail
        inc = self._new(
            "decoy", "medical", "drug_indication", m_idx, sku.sku_id,
            f"{sku.category} listing quoting its approved indication with 治疗",
        )
        self._listing_text(inc, g, {"detail": detail}, times[0], None)

    # -- price -----------------------------------------------------------------------

    def _price_sku(self) -> tuple[int, int] | None:
        m_idx = self._pick("price", self._merchants_with_free_sku())
        if m_idx is None:
            return None
        return m_idx, self.rnd.choice(self._free_skus(m_idx))

    def _orders_at(
        self, inc: Incident, g: int, price: float, lo: int, hi: int, n: int, *, tag: bool = True,
        list_price: float | None = None,
    ) -> None:
        """Schedule ``n`` paid orders of SKU ``g`` at exactly ``price`` in [lo, hi), tagged unless ``tag`` is false.

        ``list_price`` (default ``price``): the unit list price when ``price`` is a checkout discount.
        """
        times = sorted(self.rnd.randrange(lo, max(lo + 1, hi)) for _ in range(n))
        qtys = [1 if self.rnd.random() < 0.85 else 2 for _ in range(n)]
        sku = self.em.world.skus[g]
        listed = price if list_price is None else list_price

        def emit(ts: int, qty: int) -> Callable[[], None]:
            def run() -> None:
                oid = self.orders.order_ids(1)[0]
                bh, dh, ah = self.orders.buyers(np.array([self.rnd.getrandbits(40)], dtype=np.uint64))
                eid = self.em.order(
                    sku, ts, order_id=oid, list_price=listed, paid=price, qty=qty, status="paid", paid_at=ts,
                    buyer=bh[0], device=dh[0], addr=ah[0], protected=True,
                )
                self.em.world.sales[g] += qty
                if tag:
                    inc.add(eid, ts)
            return run

        for ts, qty in zip(times, qtys):
            self._at(ts, emit(ts, qty))

    def _promo(self, start: int, end: int, price: float, ref: float, kind: str) -> dict:
        return {
            "promo_id": f"pm-{self.rnd.getrandbits(40):010x}",
            "type": kind,
            "start_at": self.em.fmt(start),
            "end_at": self.em.fmt(end),
            "conditions": "",
            "claimed_discount": round(min(1.0, max(0.01, price / ref)), 2),
        }

    def _price_segments(self, inc: Incident | None, g: int, parts: list[tuple[int, int, dict]], restore: int) -> None:
        """Apply price ``parts`` (start, end, fields) with a price update at each start."""
        for start, end, fields in parts:
            self.plan.add_segment(g, Segment(start, end, fields, inc), price=True)
            self._at(start, lambda start=start: self.listings.snapshot(g, start, "price_update"))
        if restore < self.t1:
            self._at(restore, lambda: self.listings.snapshot(g, restore, "price_update"))

    def price_fake_original(self) -> None:
        """Sold at P, then a 划线价/原价 ≥ 15 % above P with a display price ≤ P (PR-01)."""
        lo, hi = self.t0 + 90 * _MIN, self.t1 - 20 * _MIN
        pick = self._price_sku()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        t_p = self._time(lo, hi)
        ref = nice_price(P * self.rnd.uniform(1.2, 1.9))
        if ref < 1.15 * P:
            ref = round(P * 1.3, 1)
        shown = P if self.rnd.random() < 0.4 else min(P, nice_price(P * self.rnd.uniform(0.86, 0.98)))
        end = t_p + self.rnd.randrange(2 * _HOUR, 12 * _HOUR)
        label = self.rnd.choice(("划线价", "原价"))
        sku = self.em.world.skus[g]
        inc = self._new(
            "violation", "price", "price_fake_original", m_idx, sku.sku_id,
            f"sold at {P:g}; then {label} {ref:g} (+{(ref / P - 1) * 100:.0f}% over 7-day low) with price {shown:g}",
        )
        self.plan.reserved[g] = True
        self._orders_at(inc, g, P, max(self.t0 + 35 * _MIN, t_p - 8 * _HOUR), t_p - 5 * _MIN, self.rnd.randint(2, 4))
        fields = {"price": shown, "ref": ref, "label": label, "promo": self._promo(t_p, end, shown, ref, "限时折扣")}
        self._price_segments(inc, g, [(t_p, end, fields)], end)
        self._parent(inc, t_p, ("价格",), f"页面标示「{label}{ref:g}元」，但此前一直卖{P:g}元，怀疑虚构原价。")

    def price_raise_then_cut(self) -> None:
        """Price raised ≥ 30 % briefly, then a promotion using the raised price as reference (PR-03)."""
        lo, hi = self.t0 + 60 * _MIN, self.t1 - 90 * _MIN
        pick = self._price_sku()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        t_r = self._time(lo, hi)
        t_c = t_r + self.rnd.randrange(30 * _MIN, max(30 * _MIN + 1, min(6 * _HOUR, self.t1 - 30 * _MIN - t_r)))
        raised = nice_price(P * self.rnd.uniform(1.35, 1.7))
        if raised < 1.3 * P:
            raised = round(P * 1.4, 1)
        promo_price = min(P, nice_price(P * self.rnd.uniform(0.85, 1.0)))
        end = t_c + self.rnd.randrange(2 * _HOUR, 12 * _HOUR)
        sku = self.em.world.skus[g]
        inc = self._new(
            "violation", "price", "price_raise_then_cut", m_idx, sku.sku_id,
            f"base {P:g} raised to {raised:g} for {(t_c - t_r) // 60} min, then promo {promo_price:g} with 原价 {raised:g}",
        )
        self.plan.reserved[g] = True
        self._orders_at(inc, g, P, max(self.t0 + 35 * _MIN, t_r - 6 * _HOUR), t_r - 5 * _MIN, self.rnd.randint(1, 3))
        promo = self._promo(t_c, end, promo_price, raised, "限时折扣")
        self._price_segments(
            inc, g,
            [(t_r, t_c, {"price": raised}),
             (t_c, end, {"price": promo_price, "ref": raised, "label": "原价", "promo": promo})],
            end,
        )
        self._parent(inc, t_c, ("价格",), f"先涨价到{raised:g}元再标「原价{raised:g}元」打折，此前一直卖{P:g}元。")

    def price_genuine_cut(self) -> None:
        """Decoy: a real cut whose 原价 equals the true 7-day lowest paid price."""
        lo, hi = self.t0 + 90 * _MIN, self.t1 - 20 * _MIN
        pick = self._price_sku()
        if hi <= lo or pick is None:
            return
        m_idx, g = pick
        P = float(self.em.world.price[g])
        t_p = self._time(lo, hi)
        shown = min(round(P - 1, 2), nice_price(P * self.rnd.uniform(0.7, 0.9)))
        if shown <= 0:
            return
        end = t_p + self.rnd.randrange(2 * _HOUR, 12 * _HOUR)
        sku = self.em.world.skus[g]
        inc = self._new(
            "decoy", "price", "price_genuine_cut", m_idx, sku.sku_id,
            f"price cut {P:g} -> {shown:g}; 原价 {P:g} equals the 7-day lowest paid price",
        )
        self.plan.reserved[g] = True
        self._orders_at(inc, g, P, max(self.t0 + 35 * _MIN, t_p - 8 * _HOUR), t_p - 5 * _MIN, self.rnd.randint(2, 4))
        fields = {
            "price": shown, "ref": P, "label": "原价", "note": "原价为本商品促销前7日内最低成交价",
            "promo": self._promo(t_p, end, shown, P, "直降"),
        }
        self._price_segments(inc, g, [(t_p, end, fields)], end)

    # -- livestream --------------------------------------------------------------------

    def live_fake_viewers(self) -> None:
        """Displayed audience 2-5× measured for ≥ 10 min, bots leaving < 3 s, new accounts > 40 %."""
        length = self.rnd.randrange(12, 41) * _MIN
        slot = self._session_slot(length, exclusive=True)
        if slot is None:
            return
        s, a = slot
        mult = self.rnd.uniform(2.0, 5.0)
        inc = self._new(
            "violation", "livestream", "live_fake_viewers", s.merchant, s.room_id,
            f"online_displayed ≈ {mult:.1f}× measured for {length // 60} min with bot-like dwell and new accounts",
        )
        s.fake.append(FakeViewers(
            a, a + length, mult, self.rnd.uniform(0.62, 0.85), self.rnd.uniform(0.42, 0.7), self.rnd.uniform(0.2, 0.45), inc,
        ))

    def live_paid_surge(self) -> None:
        """Decoy: audience triples on paid traffic (投流) but measured = displayed."""
        length = self.rnd.randrange(15, 41) * _MIN
        slot = self._session_slot(length, exclusive=True)
        if slot is None:
            return
        s, a = slot
        factor = self.rnd.uniform(2.0, 4.0)
        inc = self._new(
            "decoy", "livestream", "live_paid_surge", s.merchant, s.room_id,
            f"paid-traffic surge ×{factor:.1f} for {length // 60} min; honest measured viewers",
        )
        s.surge.append(PaidSurge(a, a + length, factor, self.rnd.uniform(0.45, 0.7), inc))

    def live_price_mismatch(self) -> None:
        """Host says a price > ¥1 below the link price, with no condition words (PR-09)."""
        slot = self._session_slot(3 * _MIN)
        if slot is None:
            return
        s, at = slot
        inc = self._new("violation", "livestream", "live_price_mismatch", s.merchant, s.room_id, "")
        rnd = self._rand(inc)

        def make(sku: Sku, link: float) -> Speech:
            spoken = min(nice_price(link * rnd.uniform(0.55, 0.85)), round(link - 2.0, 1))
            if spoken <= 0:
                spoken = round(link / 2, 1)
            inc.note = f"spoken price {phrases.money(spoken)} vs link price {phrases.money(link)}, no condition words"
            text = rnd.choice(lexicon.MISMATCH_SPEECH).format(p=phrases.money(spoken), n=sku.product.noun)
            return text, [spoken], round(rnd.uniform(0.9, 0.98), 3)

        for k in range(self.rnd.choice((1, 1, 2))):
            s.hooks.append(SpeechHook(at + k * self.rnd.randrange(20, 60), make, inc))

    def live_price_conditional(self) -> None:
        """Decoy: a lower spoken price with a condition (券/满减/会员/拍两件)."""
        slot = self._session_slot(3 * _MIN)
        if slot is None:
            return
        s, at = slot
        inc = self._new("decoy", "livestream", "live_price_conditional", s.merchant, s.room_id, "")
        rnd = self._rand(inc)

        def make(sku: Sku, link: float) -> Speech:
            lower = nice_price(link * rnd.uniform(0.7, 0.9))
            text = rnd.choice(lexicon.CONDITION_SPEECH).format(p=phrases.money(lower))
            inc.note = f"conditional price {phrases.money(lower)} vs link {phrases.money(link)}: {text}"
            return text, [lower], round(rnd.uniform(0.9, 0.98), 3)

        s.hooks.append(SpeechHook(at, make, inc))

    # -- complaints --------------------------------------------------------------------

    def _complaint_merchants(self, top: bool) -> list[int]:
        rate = self.complaints.base_rate
        cut = float(np.quantile(rate, 0.9 if top else 0.8)) if len(rate) else 0.0
        used = self._used.get("complaints", set())
        return [i for i in range(len(rate)) if (rate[i] >= cut if top else rate[i] <= cut) and i not in used]

    def complaint_surge(self) -> None:
        """≥ 15 complaints within a few hours against a normally quiet merchant."""
        m_idx = self._pick("complaints", self._complaint_merchants(top=False))
        if m_idx is None or self.t1 - self.t0 < _HOUR:
            return
        span = min(self.rnd.randrange(2 * _HOUR, 5 * _HOUR), self.t1 - self.t0 - 10 * _MIN)
        start = self._time(self.t0, self.t1 - span, COMPLAINT_DIURNAL)
        n = self.rnd.randint(15, 30)
        m = self.em.world.merchants[m_idx]
        food = m.category in phrases.FOOD_CATS
        mix = (("质量", 0.45), ("虚假宣传", 0.2), ("售后服务", 0.2), ("食品安全" if food else "安全", 0.15))
        inc = self._new("violation", "complaints", "complaint_surge", m_idx, None,
                        f"{n} complaints in {span // 60} min against a merchant with a low baseline")
        for ts in sorted(self.rnd.randrange(start, start + span) for _ in range(n)):
            problem = str(pick_weighted(self.rnd, mix))
            self._at(ts, self._complaint(inc, m_idx, ts, problem=problem))

    def complaint_group(self) -> None:
        """≥ 5 distinct complainants, same problem, same merchant (群体性投诉, some 跑路/不发货)."""
        m_idx = self._pick("complaints", self._complaint_merchants(top=False))
        if m_idx is None or self.t1 - self.t0 < _HOUR:
            return
        problem = str(pick_weighted(self.rnd, (("合同", 0.5), ("售后服务", 0.25), ("质量", 0.25))))
        n = self.rnd.randint(5, 9)
        start = self._time(self.t0, self.t1 - 30 * _MIN, COMPLAINT_DIURNAL)
        span = max(30 * _MIN, min(self.rnd.randrange(6 * _HOUR, 72 * _HOUR), self.t1 - start))
        inc = self._new("violation", "complaints", "complaint_group", m_idx, problem,
                        f"{n} distinct complainants, problem {problem}, within {span // 3600} h")
        m = self.em.world.merchants[m_idx]
        noun = self.em.world.skus[m.sku0].product.noun
        for ts in sorted(self.rnd.randrange(start, start + span) for _ in range(n)):
            text = self.rnd.choice(lexicon.GROUP_TEXTS[problem]).format(n=noun)
            joint = self.rnd.random() < 0.3
            self._at(ts, self._complaint(inc, m_idx, ts, problem=problem, text=text, is_joint=joint, kind="投诉"))

    def _complaint(self, inc: Incident, m_idx: int, ts: int, **kw: object) -> Callable[[], None]:
        complainant = f"c{self.rnd.getrandbits(64):016x}"

        def run() -> None:
            inc.add(self.complaints.emit(m_idx, ts, complainant=complainant, protected=True, **kw), ts)  # type: ignore[arg-type]

        return run

    def complaint_busy_merchant(self) -> None:
        """Decoy: a promotion multiplies a big shop's orders, complaints rise in proportion."""
        cands = self._complaint_merchants(top=True)
        self.rnd.shuffle(cands)
        rate = self.complaints.base_rate
        for m_idx in cands:
            start = self.t0 + 3600 * self.rnd.randrange(0, max(1, int((self.t1 - self.t0) // 3600) - 2))
            end = min(self.t1, start + self.rnd.randrange(8, 17) * _HOUR)
            expected = sum(
                float(rate[m_idx]) * COMPLAINT_DIURNAL[local_hour(t)] * min(3600, end - t) / 3600.0
                for t in range(start, end, 3600)
            )
            if expected <= 0:
                continue
            factor = max(3.0, 8.0 / expected)
            if factor > 10.0:
                continue
            inc = self._new(
                "decoy", "complaints", "complaint_busy_merchant", m_idx, None,
                f"orders ×{factor:.1f} for {(end - start) // 3600} h; complaints rise in proportion (same per-order rate)",
            )
            self.plan.add_boost(m_idx, Boost(start, end, factor, inc))
            return


def _medical_claimable(sku: Sku) -> bool:
    """Non-medical goods for which the lexicon has medical-claim wording."""
    return sku.category in lexicon.MEDICAL_CLAIMS


def _drug_with_indication(sku: Sku) -> bool:
    """Drugs/devices whose approved indication (with 治疗) the lexicon knows."""
    return sku.category in ("药品", "医疗器械") and sku.product.noun in lexicon.DRUG_INDICATIONS
