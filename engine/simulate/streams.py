"""Background (lawful, ordinary) traffic: orders, listings and complaints.

Each stream generates one simulated hour at a time from its own random
stream. Counts are drawn per merchant with numpy (Poisson, scaled by the
diurnal curve and any injected volume boost); the per-event loop only formats.
Livestream traffic is in :mod:`engine.simulate.live`.

Orders: heavy-tailed per merchant (see :mod:`engine.simulate.merchants`), a
skewed choice of SKU inside the shop, 1-3 units, a store coupon on ~15 % of
orders, a platform subsidy on ~5 % (``unit_paid_price`` is the merchant price
before the platform subsidy, ``platform_subsidy`` what the platform adds), and
a per-category share later cancelled (minutes) or refunded (hours to days).

Listings: a full snapshot of every SKU in the first 30 minutes (initial
sync), then one snapshot per SKU per day at its own crawl time, plus random
price updates (~4 % of SKUs per day, ±12 %) and copy edits pushed as
snapshots (~3 % per day). About 30 % of listings show a lawful reference
price (厂商建议零售价 / 吊牌价 with a note) and ~12 % an ongoing store
promotion (满减, 第二件半价), so neither marks a listing as injected.
``feed_price`` equals ``display_price``; ``licence_info_displayed`` is the
merchant's (true, or null when unknown; false only for injected merchants).
Injected segments may change any shown field (see :class:`~engine.simulate.plan.Segment`).

Complaints: per merchant, proportional to its order volume (complaints per
order is a per-merchant propensity), filed in waking hours.
"""
from __future__ import annotations

import random

import numpy as np
import orjson

from engine.simulate import phrases
from engine.simulate.build import DEFAULT, SCHEMA_VER, Emitter
from engine.simulate.catalog import CATEGORY_BY_STD, COMPLAINANT_REGIONS, SUBTITLES, nice_price, pick_weighted
from engine.simulate.clock import COMPLAINT_DIURNAL, ORDER_DIURNAL, local_hour
from engine.simulate.ids import hex_ids, mix64, mix64_array, salted
from engine.simulate.plan import Plan

_COUPONS = np.array([3.0, 5.0, 10.0, 20.0])
PRICE_UPDATES_PER_SKU_DAY = 0.04
SYNC_SPAN_S = 1800
EDITS_PER_SKU_DAY = 0.03
PROMO_SHARE = 0.12
_STORE_PROMOS = (("满减", "满199减30"), ("满减", "满99减10"), ("满减", "每满300减50"), ("多件优惠", "第二件半价"))
_EDIT_SUBTITLES = tuple(s for s in SUBTITLES if s)


class OrderStream:
    """Paid orders plus their cancellations and refunds."""

    def __init__(self, em: Emitter, plan: Plan, rng: np.random.Generator, seed: int, t_end: int) -> None:
        self.em = em
        self.plan = plan
        self.rng = rng
        self.t_end = t_end
        w = em.world
        self.cancel = np.array([CATEGORY_BY_STD[s.category].cancel_rate for s in w.skus])
        self.refund = np.array([CATEGORY_BY_STD[s.category].refund_rate for s in w.skus])
        self.env = [m.envelope for m in w.merchants]
        self._salt_b = np.uint64(salted(seed, 11))
        self._salt_d = np.uint64(salted(seed, 12))
        self._salt_a = np.uint64(salted(seed, 13))
        self._salt_o = np.uint64(salted(seed, 14))
        self._salt_b_int, self._salt_d_int = int(self._salt_b), int(self._salt_d)
        self._salt_a_int, self._salt_o_int = int(self._salt_a), int(self._salt_o)
        self._n_orders = 0

    def order_ids(self, n: int) -> list[str]:
        """``n`` new unique order hashes."""
        base = np.arange(self._n_orders + 1, self._n_orders + n + 1, dtype=np.uint64)
        self._n_orders += n
        return hex_ids("o", mix64_array(base ^ self._salt_o))

    def buyers(self, buyer: np.ndarray) -> tuple[list[str], list[str], list[str]]:
        """Buyer, device and address hashes of buyer numbers (same buyer → same hashes)."""
        return (
            hex_ids("u", mix64_array(buyer ^ self._salt_b)),
            hex_ids("d", mix64_array(buyer ^ self._salt_d), 12),
            hex_ids("a", mix64_array(buyer ^ self._salt_a), 12),
        )

    def one_order_id(self) -> str:
        """One new order hash (same sequence as :meth:`order_ids`)."""
        self._n_orders += 1
        return "o%016x" % mix64(self._n_orders ^ self._salt_o_int)

    def one_buyer(self, buyer: int) -> tuple[str, str, str]:
        """Buyer, device and address hashes of one buyer number (scalar :meth:`buyers`)."""
        return (
            "u%016x" % mix64(buyer ^ self._salt_b_int),
            "d" + ("%016x" % mix64(buyer ^ self._salt_d_int))[4:],
            "a" + ("%016x" % mix64(buyer ^ self._salt_a_int))[4:],
        )

    def hour(self, t_a: int, t_b: int) -> int:
        """Generate the orders paid in [t_a, t_b); returns the number of paid orders."""
        em, plan, rng, w = self.em, self.plan, self.rng, self.em.world
        n_m = len(w.merchants)
        lam = w.order_rate * (ORDER_DIURNAL[local_hour(t_a)] * (t_b - t_a) / 3600.0)
        if plan.boosts:
            lam = lam * plan.boost_vector(n_m, t_a, t_b)
        counts = rng.poisson(lam)
        n = int(counts.sum())
        if n == 0:
            return 0
        mi = np.repeat(np.arange(n_m), counts)
        u = rng.random(n)
        g = w.sku_offset[mi] + (u * u * w.sku_count[mi]).astype(np.int64)
        ts = t_a + rng.integers(0, t_b - t_a, n)
        by_time = np.argsort(ts, kind="stable")  # emit in time order: the hour's sort is then cheap
        mi, g, ts = mi[by_time], g[by_time], ts[by_time]
        qty = 1 + (rng.random(n) < 0.14).astype(np.int64) + (rng.random(n) < 0.04).astype(np.int64)
        price = w.price[g]
        watch = plan.price_watch[g]
        coupon = _COUPONS[rng.integers(0, 4, n)]
        use_coupon = (rng.random(n) < 0.15) & (coupon < 0.3 * price) & ~watch
        paid = np.round(np.where(use_coupon, price - coupon, price), 2)
        subsidy = np.where(rng.random(n) < 0.05, np.round(price * rng.uniform(0.05, 0.1, n), 1), 0.0)
        r = rng.random(n)
        cancel = r < self.cancel[g]
        refund = ~cancel & (r < self.cancel[g] + self.refund[g])
        later = ts + np.where(cancel, rng.integers(60, 1800, n), rng.integers(7200, 259200, n))
        bh, dh, ah = self.buyers(rng.integers(0, 1 << 40, n, dtype=np.uint64))
        oids = self.order_ids(n)
        np.add.at(w.sales, g, qty)

        fmt, sink, env, skus = em.fmt, em.sink, self.env, w.skus
        platform, t_end, dumps, seq = em.platform, self.t_end, orjson.dumps, sink.seq
        eids = em.ids.take(n)
        delays = sink.delays(n)
        cur_key = (t_a - sink.t_begin) // 3600
        cur = sink.bucket(t_a)
        g_l, ts_l, qty_l, price_l, paid_l, sub_l = g.tolist(), ts.tolist(), qty.tolist(), price.tolist(), paid.tolist(), subsidy.tolist()
        watch_l, later_l, mi_l = watch.tolist(), later.tolist(), mi.tolist()
        status_l = np.where(cancel, 1, np.where(refund, 2, 0)).tolist()
        for i in range(n):
            gi = g_l[i]
            sku = skus[gi]
            t = ts_l[i]
            lp = price_l[i]
            pp = paid_l[i]
            protected = watch_l[i]
            if protected:
                seg = plan.segment_at(gi, t)
                if seg is not None and "price" in seg.fields:
                    lp = pp = seg.fields["price"]
            d = delays[i]
            recv = t + d
            ts_s = fmt(t)
            doc = {
                "event_type": "order",
                "event_id": eids[i],
                "schema_ver": SCHEMA_VER,
                "platform": platform,
                "occurred_at": ts_s,
                "received_at": fmt(recv) if d else ts_s,
                "merchant": env[mi_l[i]],
                "order_id_hash": oids[i],
                "listing_id": sku.listing_id,
                "sku_id": sku.sku_id,
                "unit_list_price": lp,
                "unit_paid_price": pp,
                "platform_subsidy": sub_l[i],
                "qty": qty_l[i],
                "status": "paid",
                "paid_at": ts_s,
                "buyer_hash": bh[i],
                "device_hash": dh[i],
                "addr_hash": ah[i],
            }
            line = dumps(doc) + b"\n"  # exact-size copy (see build.line_of)
            if (recv - sink.t_begin) // 3600 == cur_key:
                cur.append((recv, next(seq), "order", line, protected))
            else:
                sink.push(recv, "order", line, protected)
            st = status_l[i]
            if st:
                t2 = later_l[i]
                if t2 >= t_end:
                    continue
                recv2 = t2 + sink.delay()
                doc["event_id"] = em.ids.next()
                doc["occurred_at"] = fmt(t2)
                doc["received_at"] = fmt(recv2)
                if st == 1:
                    doc["status"] = "cancelled"
                else:
                    doc["status"] = "refunded"
                    doc["refund_at"] = doc["occurred_at"]
                sink.push(recv2, "order", dumps(doc) + b"\n", protected)
        return n


class ListingStream:
    """Initial sync, daily snapshots and occasional price updates of every SKU."""

    def __init__(self, em: Emitter, plan: Plan, rng: np.random.Generator, t0: int) -> None:
        self.em = em
        self.plan = plan
        self.rng = rng
        self.t0 = t0
        n = len(em.world.skus)
        self.sync_at = t0 + rng.integers(0, SYNC_SPAN_S, n)
        daily = rng.integers(0, 86400, n)
        self.daily_order = np.argsort(daily, kind="stable")
        self.daily_sorted = daily[self.daily_order]
        # Ongoing lawful store promotions (满减 etc.) shown on ~12 % of listings.
        self.promos: dict[int, dict] = {}
        fmt = em.fmt
        for g in np.nonzero(rng.random(n) < PROMO_SHARE)[0].tolist():
            kind, cond = _STORE_PROMOS[int(rng.integers(0, len(_STORE_PROMOS)))]
            start = t0 - 86400 * int(rng.integers(1, 10))
            self.promos[g] = {
                "promo_id": f"pm-{int(rng.integers(0, 1 << 40)):010x}",
                "type": kind,
                "start_at": fmt(start),
                "end_at": fmt(t0 + 86400 * int(rng.integers(1, 8))),
                "conditions": cond,
            }

    def snapshot(self, g: int, ts: int, change_type: str = "snapshot") -> str:
        """Emit SKU ``g`` as shown at ``ts`` (applying any injected segment)."""
        w, plan = self.em.world, self.plan
        sku = w.skus[g]
        price = float(w.price[g])
        ref = label = note = None
        if sku.ref_ratio is not None:
            ref = nice_price(sku.base_price * sku.ref_ratio)
            if ref > price:
                label, note = sku.ref_label, sku.ref_note
            else:
                ref = None
        seg = plan.segment_at(g, ts) if plan.reserved[g] else None
        promo = self.promos.get(g)
        if promo is not None and self.em.fmt(ts) >= promo["end_at"]:  # same offset: text order = time order
            promo = None
        hidden = plan.licence_hidden.get(sku.merchant) if plan.licence_hidden else None
        if seg is None and hidden is None:
            if plan.listing_tags and g in plan.listing_tags:
                eid = self.em.listing(
                    sku, ts, change_type, price=price, ref=ref, label=label, note=note, promo=promo, protected=True
                )
                inc = plan.listing_tags[g]
                if inc is not None:
                    inc.add(eid, ts)
                return eid
            return self.em.listing(sku, ts, change_type, price=price, ref=ref, label=label, note=note, promo=promo)
        shown = DEFAULT if hidden is None else hidden[0]
        if seg is None:
            eid = self.em.listing(
                sku, ts, change_type, price=price, ref=ref, label=label, note=note, promo=promo,
                licence_shown=shown, protected=True,
            )
        else:
            f = seg.fields
            if "price" in f:
                price = f["price"]
                if ref is not None and ref <= price:  # a lawful reference price is only shown above the price
                    ref = label = note = None
            if "ref" in f:
                ref, label, note = f["ref"], f.get("label"), f.get("note")
            jump = f.get("sales_jump")
            eid = self.em.listing(
                sku, ts, change_type, price=price, ref=ref, label=label, note=note, promo=f.get("promo", promo),
                title=f.get("title"), subtitle=f.get("subtitle"), detail=f.get("detail"), protected=True,
                licences=f.get("licences"), licence_shown=shown, patent=f.get("patent"), feed=f.get("feed"),
                coupon=f.get("coupon"), member=f.get("member"),
                sales_extra=0 if jump is None else jump.value(int(w.sales[g])),
            )
            if seg.incident is not None:
                seg.incident.add(eid, ts)
        if hidden is not None:
            hidden[1].add(eid, ts)
        return eid

    def hour(self, t_a: int, t_b: int) -> None:
        """Snapshots and price updates in [t_a, t_b) (hours are aligned to the run start)."""
        if t_a < self.t0 + SYNC_SPAN_S:
            due = np.nonzero((self.sync_at >= t_a) & (self.sync_at < t_b))[0]
            for g in due.tolist():
                self.snapshot(g, int(self.sync_at[g]))
        day = (t_a - self.t0) // 86400
        if day >= 1:
            base = self.t0 + day * 86400
            lo, hi = np.searchsorted(self.daily_sorted, [t_a - base, t_b - base])
            for g, off in zip(self.daily_order[lo:hi].tolist(), self.daily_sorted[lo:hi].tolist()):
                self.snapshot(g, base + off)
        self._price_updates(t_a, t_b)

    def _price_updates(self, t_a: int, t_b: int) -> None:
        w, rng = self.em.world, self.rng
        n = len(w.skus)
        # merchants editing copy: a new subtitle, pushed as a snapshot
        k = int(rng.poisson(n * EDITS_PER_SKU_DAY * (t_b - t_a) / 86400.0))
        if k:
            picks = rng.integers(0, len(_EDIT_SUBTITLES), k).tolist()
            for g, pick, ts in zip(rng.integers(0, n, k).tolist(), picks, np.sort(rng.integers(t_a, t_b, k)).tolist()):
                if not self.plan.reserved[g]:
                    w.skus[g].subtitle = _EDIT_SUBTITLES[pick]
                    self.snapshot(g, ts)
        k = int(rng.poisson(n * PRICE_UPDATES_PER_SKU_DAY * (t_b - t_a) / 86400.0))
        if k == 0:
            return
        gs = rng.integers(0, n, k).tolist()
        factors = rng.uniform(0.88, 1.12, k).tolist()
        times = np.sort(rng.integers(t_a, t_b, k)).tolist()
        for g, f, ts in zip(gs, factors, times):
            if self.plan.reserved[g]:
                continue
            new = nice_price(float(w.price[g]) * f)
            if new == w.price[g]:
                continue
            w.price[g] = new
            self.snapshot(g, ts, "price_update")


class ComplaintStream:
    """12315-style complaints in proportion to each merchant's orders."""

    def __init__(self, em: Emitter, plan: Plan, rng: np.random.Generator, rnd: random.Random) -> None:
        self.em = em
        self.plan = plan
        self.rng = rng
        self.rnd = rnd
        self.n = 0
        w = em.world
        self.base_rate = w.order_rate * w.complaint_p  # complaints per hour (mean over the day)

    def hour(self, t_a: int, t_b: int, warmup: bool = False) -> None:
        """Complaints filed in [t_a, t_b); warm-up hours ignore injected boosts."""
        w, plan = self.em.world, self.plan
        lam = self.base_rate * (COMPLAINT_DIURNAL[local_hour(t_a)] * (t_b - t_a) / 3600.0)
        if plan.boosts and not warmup:
            lam = lam * plan.boost_vector(len(w.merchants), t_a, t_b)
        counts = self.rng.poisson(lam)
        due = sorted(
            (self.rnd.randrange(t_a, t_b), m_idx)
            for m_idx in np.nonzero(counts)[0].tolist()
            for _ in range(int(counts[m_idx]))
        )
        for ts, m_idx in due:  # in time order, so complaint numbers increase with time
            b = plan.boost_at(m_idx, ts) if plan.boosts and not warmup else None
            if b is None or b.incident is None:
                self.emit(m_idx, ts)
            else:
                b.incident.add(self.emit(m_idx, ts, protected=True), ts)

    def complaint_id(self, ts: int) -> str:
        """A unique 12315-style complaint number."""
        self.n += 1
        return f"TS{self.em.fmt.date(ts)}{self.n:08d}"

    def emit(
        self,
        m_idx: int,
        ts: int,
        *,
        problem: str | None = None,
        text: str | None = None,
        complainant: str | None = None,
        kind: str | None = None,
        is_joint: bool = False,
        demand: str | None = None,
        protected: bool = False,
        sku_g: int | None = None,
        purchase_mode: str | None = None,
        session_id: str | None = None,
        region: str | None = None,
        channel: str | None = None,
    ) -> str:
        """Emit one complaint against merchant ``m_idx`` (fields drawn unless given)."""
        rnd, w = self.rnd, self.em.world
        m = w.merchants[m_idx]
        sku = w.skus[m.sku0 + rnd.randrange(m.sku1 - m.sku0)]
        if sku_g is not None:
            sku = w.skus[sku_g]
        cat = CATEGORY_BY_STD[sku.category]
        if problem is None:
            problem = str(pick_weighted(rnd, phrases.PROBLEM_MIX))
            if problem == "食品安全" and sku.category not in phrases.FOOD_CATS:
                problem = "质量"
        if text is None:
            text = rnd.choice(phrases.COMPLAINT_TEXTS[problem]).format(n=sku.product.noun)
        live = m.live and rnd.random() < 0.35
        qty = 1 if rnd.random() < 0.85 else 2
        body = {
            "complaint_id": self.complaint_id(ts),
            "kind": kind or str(pick_weighted(rnd, phrases.KIND_MIX)),
            "channel": str(pick_weighted(rnd, phrases.CHANNEL_MIX)),
            "complainant_hash": complainant or f"c{rnd.getrandbits(64):016x}",
            "complainant_region_code": rnd.choice(COMPLAINANT_REGIONS),
            "order_ref": f"o{rnd.getrandbits(64):016x}" if rnd.random() < 0.7 else None,
            "amount": round(float(w.price[sku.g]) * qty, 2),
            "purchase_mode": "直播" if live else ("网购" if rnd.random() < 0.93 else "社交电商"),
            "problem_cat": problem,
            "goods_cat": cat.goods_cat,
            "demand": demand or rnd.choice(phrases.DEMANDS[problem]),
            "text": text,
            "is_joint": is_joint,
        }
        if channel is not None:
            body["channel"] = channel
        if region is not None:
            body["complainant_region_code"] = region
        if purchase_mode is not None:
            body["purchase_mode"] = purchase_mode
        if session_id is not None:
            body["live_session_id"] = session_id
        return self.em.complaint(m, ts, body, protected)

