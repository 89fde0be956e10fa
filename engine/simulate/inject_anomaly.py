"""Anomaly kinds (label ``anomaly``, family ``anomaly``): unusual events that no cn-platform rule names.

They exist so that anomaly models (e.g. an IsolationForest over per-event
features) have something of their own to find. They are planned after every
other kind (last in ``RATE_PER_1000``) and never shift the rest of the run:
events they add (price-update listings, complaints) take their ids, platform
delays, complaint numbers and complaint field draws from private sources (see
:meth:`AnomalyKinds._aside`), and the SKUs they use stay unreserved, so the
background streams draw and emit exactly what they would without them. For
one seed the other incidents' truth records are byte-identical with or
without these kinds (at ``bad_rate`` 0; with damage, protected anomaly events
are skipped by the damager, so the malformed records may differ).

* ``live_engagement_too_regular`` (live_metrics): a bot-driven room; for 15-40
  minutes ``online_measured``, ``comment_cnt``, ``like_cnt``, ``enter_uv`` and
  ``comment_uv`` are almost constant (coefficient of variation < 3 %), so
  comments per viewer are implausibly uniform; displayed ≈ measured (≤ 2 %
  above), honest dwell and new-account shares (LV-01 cannot fire).
* ``live_engagement_mismatch`` (live_metrics): for 15-40 minutes likes per
  measured viewer are 12-28× the room's normal level (background: 1.5) while
  ``comment_uv`` / ``online_measured`` < 0.5 %; viewer counts stay honest.
* ``price_small_steps`` (listing): a SKU without reference price or store
  promotion whose ``display_price`` rises in 6-9 ``price_update`` listings of
  +2.2-3.8 % each during the run; orders follow the price.
* ``price_far_from_category`` (listing): a SKU without reference price or
  promotion priced 6-15× the median price of its ``category_std`` for the
  whole run (its initial sync and every later snapshot; its orders pay it).
* ``complaint_mix_shift`` (complaint): 3-6 complaints (kind 投诉) against a
  merchant with a low complaint baseline, most of them 食品安全 (food sellers)
  or 安全, from at most 3 distinct complainants per problem, in the later part
  of the run (far below CP-01 / CP-02 thresholds).

``event_ids``: the tagged metrics / listings / complaints above.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from engine.simulate import phrases
from engine.simulate.catalog import nice_price
from engine.simulate.clock import COMPLAINT_DIURNAL
from engine.simulate.ids import IdSource, salted, sub_seed
from engine.simulate.live import MetricAnomaly, _split

if TYPE_CHECKING:  # pragma: no cover
    from engine.simulate.inject import Injector

_MIN = 60
_HOUR = 3600
_HONEST_DWELL = (0.21, 0.34, 0.30, 0.15)
_COMPLAINT_NO_BASE = 90_000_000  # complaint numbers of anomaly complaints (background uses 1, 2, …)
_ID_STREAM = 0x616E6F6D  # "anom"


@dataclass(slots=True)
class _Regular(MetricAnomaly):
    """Bot-driven engagement: near-constant audience and activity around ``level``."""

    level: float = 0.0
    rnd: random.Random | None = None

    def apply(self, doc: dict) -> None:
        r = self.rnd
        assert r is not None
        L = self.level
        measured = int(round(L * (1.0 + r.gauss(0.0, 0.004))))
        enter = int(round(L * 0.3 * (1.0 + r.uniform(-0.01, 0.01))))
        leave = int(round(enter * (1.0 + r.uniform(-0.01, 0.01))))
        comments = int(round(L * 0.05 * (1.0 + r.uniform(-0.01, 0.01))))
        dwell = _split(leave, list(_HONEST_DWELL))
        doc["online_measured"] = measured
        doc["online_displayed"] = int(round(measured * (1.0 + 0.02 * r.random())))
        doc["enter_uv"] = enter
        doc["leave_uv"] = leave
        doc["dwell_hist"] = {"lt_3s": dwell[0], "s3_30s": dwell[1], "s30_180s": dwell[2], "gt_180s": dwell[3]}
        doc["comment_cnt"] = comments
        doc["comment_uv"] = int(round(comments * 0.62))
        doc["like_cnt"] = int(round(L * 1.5 * (1.0 + r.uniform(-0.01, 0.01))))
        doc["new_follow"] = int(round(enter * 0.015))


@dataclass(slots=True)
class _Mismatch(MetricAnomaly):
    """Likes far above the room's level per viewer, almost nobody commenting; honest viewer counts."""

    factor: float = 1.0
    rnd: random.Random | None = None

    def apply(self, doc: dict) -> None:
        r = self.rnd
        assert r is not None
        measured = max(1, doc["online_measured"])
        doc["like_cnt"] = int(round(measured * 1.5 * self.factor * (1.0 + r.uniform(-0.06, 0.06))))
        cuv = int(measured * r.uniform(0.0, 0.004))
        doc["comment_uv"] = cuv
        doc["comment_cnt"] = cuv + (r.randint(0, 2) if cuv else 0)


class AnomalyKinds:
    """anomaly: bot-regular rooms, like/comment mismatch, small price steps, far-off category price,
    complaint mix shift (label "anomaly")."""

    # -- private id / delay / complaint sources ----------------------------------------

    def _aside(self: Injector, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` run with the anomaly kinds' own event ids, delays, complaint numbers and draws."""
        if not hasattr(self, "_anom_ids"):
            main = salted(self.seed, 0)
            stream = _ID_STREAM
            while (salted(self.seed, stream) ^ main) < (1 << 40):  # counters can never meet (practically never loops)
                stream += 1
            self._anom_ids = IdSource(self.seed, stream)
            self._anom_state = {"di": sub_seed(self.seed, "anomaly:delay") & 0xFF, "n": _COMPLAINT_NO_BASE}
            self._anom_rnd = random.Random(sub_seed(self.seed, "anomaly:complaints"))

        def run() -> None:
            em, sink, cs = self.em, self.em.sink, self.complaints
            ids, di, n, rnd = em.ids, sink._di, cs.n, cs.rnd
            st = self._anom_state
            em.ids, sink._di, cs.n, cs.rnd = self._anom_ids, st["di"], st["n"], self._anom_rnd
            try:
                fn()
            finally:
                st["di"], st["n"] = sink._di, cs.n
                em.ids, sink._di, cs.n, cs.rnd = ids, di, n, rnd

        return run

    # -- livestream metrics --------------------------------------------------------------

    def live_engagement_too_regular(self: Injector) -> None:
        """Bot-driven room: near-constant audience, comments, likes and entries for 15-40 min."""
        length = self.rnd.randrange(15, 41) * _MIN
        slot = self._session_window(length + 2 * _MIN)
        if slot is None:
            return
        s, a = slot
        a = a - a % 60 + (s.start % 60) + 60  # first metric instant inside the window
        level = float(max(800, round(s.peak * self.rnd.uniform(0.8, 1.1))))
        inc = self._new("anomaly", "anomaly", "live_engagement_too_regular", s.merchant, s.room_id,
                        f"bot-like room: ~{level:.0f} viewers, {level * 0.05:.0f} comments, {level * 1.5:.0f} likes, "
                        f"{level * 0.3:.0f} entries per minute, each within ±1 % for {length // 60} min; displayed ≈ measured")
        s.anomalies.append(_Regular(a, a + length, inc, level=level, rnd=self._rand(inc)))

    def live_engagement_mismatch(self: Injector) -> None:
        """Likes per viewer 12-28× the room's level while almost nobody comments; honest viewers."""
        length = self.rnd.randrange(15, 41) * _MIN
        slot = self._session_window(length + 2 * _MIN)
        if slot is None:
            return
        s, a = slot
        a = a - a % 60 + (s.start % 60) + 60
        factor = self.rnd.uniform(12.0, 28.0)
        inc = self._new("anomaly", "anomaly", "live_engagement_mismatch", s.merchant, s.room_id,
                        f"likes per viewer ×{factor:.1f} the room's level, comment_uv/online < 0.5 % "
                        f"for {length // 60} min; honest viewer counts")
        s.anomalies.append(_Mismatch(a, a + length, inc, factor=factor, rnd=self._rand(inc)))

    # -- listings ---------------------------------------------------------------------------

    def _anomaly_skus(self: Injector) -> np.ndarray:
        """Per-SKU: free for an anomaly listing (unreserved, no reference price, no store promotion,
        not a live item, merchant without hidden licence, price ≥ 5, no other anomaly)."""
        if not hasattr(self, "_anom_ok"):
            w = self.em.world
            n = self.n_base
            ok = ~self.plan.reserved[:n].copy() & (w.price[:n] >= 5.0)
            for g, sku in enumerate(w.skus[:n]):
                if sku.ref_ratio is not None or g in self.listings.promos or sku.merchant in self.plan.licence_hidden:
                    ok[g] = False
            for s in self.sessions:
                for g, _ in s.items:
                    if g < n:
                        ok[g] = False
            self._anom_ok = ok
        return self._anom_ok

    def _anomaly_sku(self: Injector) -> tuple[int, int] | None:
        ok = self._anomaly_skus()
        w = self.em.world
        per = np.add.reduceat(ok.astype(np.int64), w.sku_offset) if len(ok) else ok
        m_idx = self._pick("anomaly", np.nonzero(per)[0].tolist())
        if m_idx is None:
            return None
        m = w.merchants[m_idx]
        g = self.rnd.choice([g for g in range(m.sku0, m.sku1) if ok[g]])
        ok[g] = False
        return m_idx, g

    def price_small_steps(self: Injector) -> None:
        """display_price raised in 6-9 price_update listings of +2.2-3.8 % each, no ref_price, no promo."""
        lo, hi = self.t0 + 60 * _MIN, self.t1 - 10 * _MIN
        n = self.rnd.randint(6, 9)
        if hi - lo < n * 15 * _MIN:
            return
        pick = self._anomaly_sku()
        if pick is None:
            return
        m_idx, g = pick
        w = self.em.world
        times: list[int] = []
        while len(times) < n:  # at least 10 minutes apart
            t = self.rnd.randrange(lo, hi)
            if all(abs(t - x) >= 10 * _MIN for x in times):
                times.append(t)
        times.sort()
        prices: list[float] = []
        p = float(w.price[g])
        for _ in range(n):
            new = round(p * (1.0 + self.rnd.uniform(0.022, 0.038)), 2)
            if not 0.02 <= new / p - 1.0 <= 0.04:
                new = round(p * 1.03, 2)
            prices.append(new)
            p = new
        sku = w.skus[g]
        base = float(w.price[g])
        inc = self._new("anomaly", "anomaly", "price_small_steps", m_idx, sku.sku_id,
                        f"display_price {base:g} → {prices[-1]:g} in {n} price updates of +2-4 % "
                        f"({(prices[-1] / base - 1) * 100:.0f}% in {(times[-1] - times[0]) // 60} min), no ref_price")

        def step(ts: int, price: float) -> Callable[[], None]:
            def run() -> None:
                w.price[g] = price
                inc.add(self.listings.snapshot(g, ts, "price_update"), ts)
            return run

        self.plan.listing_tags[g] = None  # protected from damage, tagged by the steps themselves
        for ts, price in zip(times, prices):
            self._at(ts, self._aside(step(ts, price)))

    def price_far_from_category(self: Injector) -> None:
        """A SKU priced 6-15× its category's median for the whole run (no ref_price, no promo)."""
        pick = self._anomaly_sku()
        if pick is None:
            return
        m_idx, g = pick
        w = self.em.world
        sku = w.skus[g]
        if not hasattr(self, "_cat_median"):
            cats = [s.category for s in w.skus[: self.n_base]]
            by: dict[str, list[float]] = {}
            for c, p in zip(cats, w.price[: self.n_base].tolist()):
                by.setdefault(c, []).append(p)
            self._cat_median = {c: float(np.median(v)) for c, v in by.items()}
        med = self._cat_median[sku.category]
        want = self.rnd.uniform(6.0, 15.0)
        price = nice_price(med * want)
        if not 6.0 * med <= price <= 15.0 * med:
            price = round(med * want, 1)
        old = float(w.price[g])
        w.price[g] = price
        inc = self._new("anomaly", "anomaly", "price_far_from_category", m_idx, sku.sku_id,
                        f"{sku.category} {sku.product.noun} at {price:g} = {price / med:.1f}× the category median "
                        f"{med:g} (usual {old:g}); no ref_price, no promo")
        self.plan.listing_tags[g] = inc

    # -- complaints -------------------------------------------------------------------------

    def complaint_mix_shift(self: Injector) -> None:
        """3-6 complaints, mostly 食品安全 / 安全, against a merchant with a low complaint baseline."""
        if self.t1 - self.t0 < 2 * _HOUR:
            return
        rate = self.complaints.base_rate
        busy = self._used.get("complaints", set()) | set(self._pro_load)
        day = rate * 24.0
        cands = [i for i in np.nonzero((day >= 0.05) & (day <= 1.5))[0].tolist() if i not in busy]
        m_idx = self._pick("anomaly", cands)
        if m_idx is None:
            return
        m = self.em.world.merchants[m_idx]
        food = any(c in phrases.FOOD_CATS for c in m.categories)
        safety = "食品安全" if food else "安全"
        n = self.rnd.randint(3, 6)
        n_safe = n if n <= 4 else n - 1
        people = [f"c{self.rnd.getrandbits(64):016x}" for _ in range(min(3, n_safe))]
        lo = self.t0 + int((self.t1 - self.t0) * 0.35)
        times = sorted(self._time(lo, self.t1 - 5 * _MIN, COMPLAINT_DIURNAL) for _ in range(n))
        kinds = [safety] * n_safe + [str(self.rnd.choice(("质量", "售后服务"))) for _ in range(n - n_safe)]
        self.rnd.shuffle(kinds)
        inc = self._new("anomaly", "anomaly", "complaint_mix_shift", m_idx, safety,
                        f"{n} complaints ({n_safe} {safety}) from a merchant whose usual complaints are "
                        f"quality / after-sales (baseline {day[m_idx]:.2f} a day)")
        gs = list(range(m.sku0, m.sku1))
        if food:
            gs = [g for g in gs if self.em.world.skus[g].category in phrases.FOOD_CATS] or gs
        k = 0
        for ts, problem in zip(times, kinds):
            if problem == safety:
                who = people[k % len(people)]
                k += 1
            else:
                who = f"c{self.rnd.getrandbits(64):016x}"
            g = self.rnd.choice(gs)

            def run(ts: int = ts, problem: str = problem, who: str = who, g: int = g) -> None:
                eid = self.complaints.emit(m_idx, ts, problem=problem, complainant=who, kind="投诉",
                                           protected=True, sku_g=g)
                inc.add(eid, ts)

            self._at(ts, self._aside(run))
