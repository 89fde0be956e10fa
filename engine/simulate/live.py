"""Livestream rooms: session planning, 60-second metrics, host speech, live orders.

About 10 % of merchants stream (see :mod:`engine.simulate.merchants`): 0-2
sessions a day, mostly in the evening, 1-4 hours each. Sessions that started
the evening before the run are already on air at its start (their state is
simulated from their real start; only events from the run start on are
emitted). Each session has its own random streams for metrics and for speech.

An honest room reports ``online_displayed`` ≈ ``online_measured`` (within
5 %), about a fifth of leaving viewers stayed under 3 s, 4-14 % new accounts,
and a traffic mix dominated by recommendation. Host speech comes every 10-20 s
and, when it quotes a price, quotes the current link price. Background live
orders are never cancelled or refunded. Injected behaviour is attached to a
session by :mod:`engine.simulate.inject`: fake viewers, a paid-traffic surge,
speech hooks (violating or lawful-looking speech), metric windows (an AI
label hidden or shown), pinned items with a scripted displayed stock (fake
scarcity, a genuine sell-out) and scripted extra orders (brushing, returns).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable


from engine.simulate import lexicon, phrases
from engine.simulate.build import SCHEMA_VER, Emitter
from engine.simulate.catalog import nice_price, pick_weighted
from engine.simulate.clock import CST_OFFSET_S
from engine.simulate.ids import sub_seed
from engine.simulate.plan import Plan
from engine.simulate.streams import OrderStream
from engine.simulate.truth import Incident

METRIC_PERIOD_S = 60
_START_HOURS: tuple[tuple[int, float], ...] = (
    (9, 1.0), (10, 3.0), (11, 2.0), (13, 1.0), (14, 2.0), (15, 2.0), (16, 1.0),
    (18, 2.0), (19, 6.0), (20, 8.0), (21, 6.0), (22, 3.0),
)
_HONEST_DWELL = (0.21, 0.34, 0.30, 0.15)

#: Text, price mentions and ASR confidence of one utterance.
Speech = tuple[str, list[float], float]


@dataclass(slots=True)
class FakeViewers:
    """Inflated displayed audience (bots) during [start, end)."""

    start: int
    end: int
    mult: float
    lt3: float
    new_ratio: float
    ip_share: float
    incident: Incident


@dataclass(slots=True)
class PaidSurge:
    """A genuine paid-traffic (投流) surge during [start, end)."""

    start: int
    end: int
    factor: float
    paid_share: float
    incident: Incident


@dataclass(slots=True)
class SpeechHook:
    """Replace the first utterance at or after ``at`` with ``make(sku, link_price)``.

    ``timed``: ``make`` also gets the utterance time and the displayed stock
    (``make(sku, link, t, stock)``); ``host``: the speaker is the host (not the
    assistant) unless the room is an AI avatar's.
    """

    at: int
    make: Callable[..., Speech]
    incident: Incident
    timed: bool = False
    host: bool = False


@dataclass(slots=True)
class Pin:
    """The host keeps one item on the link during [start, end) with a scripted displayed stock.

    ``mode`` "flat": the stock shown stays at its value when the window opens
    (at least ``floor``) and only moves up at ``restocks`` (time, units);
    "sellout": it falls from ``first`` to 0 evenly and reaches 0 one minute
    before ``end``.
    """

    start: int
    end: int
    item: tuple[int, float]
    mode: str
    floor: int = 0
    first: int = 0
    restocks: tuple[tuple[int, int], ...] = ()
    base: int | None = None

    def stock_at(self, t: int, real: int) -> int:
        """Displayed stock at ``t`` (``real``: what the honest counter would show)."""
        if self.mode == "sellout":
            span = max(60, self.end - self.start - 60)
            return max(0, math.ceil(self.first * (1.0 - (t - self.start) / span)))
        if self.base is None:
            self.base = max(real, self.floor)
        return self.base + sum(n for at, n in self.restocks if at <= t)


@dataclass(slots=True)
class MetricWindow:
    """Metrics in [start, end) belong to ``incident``; ``ai_label`` overrides ``ai_label_visible``."""

    start: int
    end: int
    incident: Incident
    ai_label: bool | None = None


@dataclass(slots=True)
class MetricAnomaly:
    """Metrics in [start, end) rewritten by ``apply(doc)`` and tagged on ``incident`` (anomaly kinds)."""

    start: int
    end: int
    incident: Incident

    def apply(self, doc: dict) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(slots=True)
class Brush:
    """Extra live orders during [start, end): ``n`` in all, a scripted share later cancelled/refunded.

    ``outcomes[i]``: 0 kept, 1 cancelled (minutes later), 2 refunded (hours
    later), for the i-th extra order. Buyers come from ``buyers`` (pool of
    buyer numbers; devices and addresses follow the buyer) when given, else
    are fresh. Only the cancellation / refund events are tagged.
    """

    start: int
    end: int
    n: int
    outcomes: list[int]
    delays: tuple[tuple[int, int], tuple[int, int]]  # (cancel lo, hi), (refund lo, hi) in seconds
    buyers: list[int]
    devices: list[str]
    rnd: random.Random
    incident: Incident
    done: int = 0


@dataclass(slots=True)
class Session:
    """One planned livestream session and its generation state."""

    merchant: int
    room_id: str
    session_id: str
    start: int
    end: int
    peak: float
    conv: float
    mix: tuple[float, float, float, float, float]
    ai: bool
    items: list[tuple[int, float]]
    rotation: int
    seed: int
    env: object = None  # the merchant envelope fragment
    fake: list[FakeViewers] = field(default_factory=list)
    surge: list[PaidSurge] = field(default_factory=list)
    hooks: list[SpeechHook] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)
    windows: list[MetricWindow] = field(default_factory=list)
    brush: list[Brush] = field(default_factory=list)
    anomalies: list[MetricAnomaly] = field(default_factory=list)
    # generation state
    rnd: random.Random | None = None  # metrics and live orders
    urnd: random.Random | None = None  # speech (separate so hour slicing never reorders draws)
    online: float = 0.0
    k: int = 0
    next_utt: int = 0
    pending_orders: int = 0
    pending_gmv: float = 0.0
    sold: int = 0

    def item_at(self, ts: int) -> tuple[int, float]:
        """(global SKU index, link price) of the item on the link at ``ts``."""
        if self.pins:
            for p in self.pins:
                if p.start <= ts < p.end:
                    return p.item
        return self.items[((ts - self.start) // self.rotation) % len(self.items)]

    def pin_at(self, ts: int) -> Pin | None:
        """The pinned-item window covering ``ts``, if any."""
        for p in self.pins:
            if p.start <= ts < p.end:
                return p
        return None

    def fake_at(self, ts: int) -> FakeViewers | None:
        """The fake-viewer window covering ``ts``, if any."""
        for f in self.fake:
            if f.start <= ts < f.end:
                return f
        return None

    def surge_at(self, ts: int) -> PaidSurge | None:
        """The paid surge covering ``ts``, if any."""
        for s in self.surge:
            if s.start <= ts < s.end:
                return s
        return None


def plan_sessions(em: Emitter, plan: Plan, rnd: random.Random, seed: int, t0: int, t1: int) -> list[Session]:
    """Sessions of live merchants that overlap [t0, t1), in start order."""
    w = em.world
    day0 = t0 - (t0 + CST_OFFSET_S) % 86400  # local midnight of the first day
    n_days = math.ceil((t1 - day0) / 86400)
    out: list[Session] = []
    for m in w.merchants:
        if not m.live:
            continue
        for d in range(-1, n_days):
            day = day0 + d * 86400
            n = int(pick_weighted(rnd, ((0, 0.1), (1, 0.7), (2, 0.2))))
            busy_until = day
            for k in range(n):
                hour = int(pick_weighted(rnd, _START_HOURS))
                start = day + hour * 3600 + rnd.randrange(0, 3600, 60)
                if start < busy_until:
                    start = busy_until + 1800
                dur = rnd.randrange(60, 241, 5) * 60
                end = start + dur
                busy_until = end
                if end <= t0 or start >= t1:
                    continue
                out.append(_new_session(em, plan, rnd, seed, m.idx, start, end, day, k))
    out.sort(key=lambda s: (s.start, s.session_id))
    return out


def _new_session(
    em: Emitter, plan: Plan, rnd: random.Random, seed: int, m_idx: int, start: int, end: int, day: int, k: int
) -> Session:
    """Session ``k`` of the local day starting at ``day`` for merchant ``m_idx``: items, audience, traffic mix."""
    w = em.world
    m = w.merchants[m_idx]
    candidates = [g for g in range(m.sku0, m.sku1) if not plan.reserved[g]] or list(range(m.sku0, m.sku1))
    chosen = rnd.sample(candidates, k=min(len(candidates), rnd.randint(3, 8)))
    items = []
    for g in chosen:
        p = float(w.price[g])
        link = p if rnd.random() < 0.5 else min(p, nice_price(p * rnd.uniform(0.8, 0.97)))
        items.append((g, link))
    rec, fol, paid, sea = rnd.uniform(0.45, 0.65), rnd.uniform(0.15, 0.3), rnd.uniform(0.0, 0.12), rnd.uniform(0.03, 0.08)
    other = max(0.0, 1.0 - rec - fol - paid - sea)
    total = rec + fol + paid + sea + other
    sid = f"ls-{m.merchant_id[2:]}-{em.fmt.date(day + 43200)}-{k + 1}"  # planned day, even if it runs past midnight
    return Session(
        merchant=m_idx, room_id=m.room_id or f"room-{m.merchant_id[2:]}", session_id=sid,
        start=start, end=end, peak=min(60000.0, max(20.0, rnd.lognormvariate(math.log(300), 1.1))),
        conv=0.0015 * rnd.uniform(0.5, 2.0),
        mix=(rec / total, fol / total, paid / total, sea / total, other / total),
        ai=rnd.random() < 0.04, items=items, rotation=rnd.randrange(360, 900, 60),
        seed=sub_seed(seed, f"live:{sid}"),
    )


class LiveStream:
    """Generates metrics, utterances and live orders of all planned sessions."""

    def __init__(self, em: Emitter, orders: OrderStream, sessions: list[Session], t0: int, t1: int) -> None:
        self.em = em
        self.orders = orders
        self.sessions = sessions
        self.t0 = t0
        self.t1 = t1

    def hour(self, t_a: int, t_b: int) -> None:
        """Everything the sessions on air in [t_a, t_b) emit in that span."""
        for s in self.sessions:
            if s.end < t_a or s.start >= t_b:
                continue
            self._run(s, t_a, t_b)

    # -- one session, one span ----------------------------------------------------

    def _run(self, s: Session, t_a: int, t_b: int) -> None:
        if s.rnd is None:
            s.rnd = random.Random(s.seed)
            s.urnd = random.Random(s.seed ^ 0x5BEEC4)
            s.env = self.em.world.merchants[s.merchant].envelope
            s.next_utt = s.start + s.urnd.randint(3, 15)
            s.hooks.sort(key=lambda h: h.at)
        # metric instants start + 60k, k >= 0, up to and including the end
        while True:
            t = s.start + s.k * METRIC_PERIOD_S
            if t >= t_b or t > s.end:
                break
            self._step(s, t)  # instants before t_a are before the run start: state only
            s.k += 1
        stop = min(t_b, s.end)
        while s.next_utt < stop:
            if s.next_utt >= self.t0:
                self._utter(s, s.next_utt)
            s.next_utt += s.urnd.randint(10, 20)

    def _step(self, s: Session, t: int) -> None:
        rnd = s.rnd
        assert rnd is not None
        prev = s.online
        elapsed = t - s.start
        target = s.peak * min(1.0, elapsed / 600.0) ** 0.7
        if s.end - t < 900:
            target *= max(0.25, (s.end - t) / 900.0)
        target *= 1.0 + 0.12 * math.sin(elapsed / 240.0 + s.seed % 7)
        surge = s.surge_at(t) if s.surge else None
        if surge is not None:
            target *= 1.0 + (surge.factor - 1.0) * min(1.0, (t - surge.start) / 150.0)
        online = max(1.0, 0.55 * prev + 0.45 * target * (1.0 + rnd.gauss(0.0, 0.06)))
        s.online = online
        if s.k > 0 and t >= self.t0:
            self._metrics(s, t, prev, online, surge)
        if t < s.end and t >= self.t0:
            self._orders(s, t, online)
            if s.brush:
                self._brush(s, t)

    def _orders(self, s: Session, t: int, online: float) -> None:
        """Live orders in [t, t+60) on the current item (reported by the next metric)."""
        rnd = s.rnd
        assert rnd is not None
        n = _poisson(rnd, online * s.conv)
        s.pending_orders, s.pending_gmv = 0, 0.0
        if n == 0:
            return
        g, link = s.item_at(t)
        w = self.em.world
        sku = w.skus[g]
        orders = self.orders
        for ts in sorted(t + int(rnd.random() * METRIC_PERIOD_S) for _ in range(n)):
            if ts >= self.t1:
                break
            qty = 1 if rnd.random() < 0.88 else 2
            bh, dh, ah = orders.one_buyer(rnd.getrandbits(40))
            self.em.order(
                sku, ts, order_id=orders.one_order_id(), list_price=link, paid=link, qty=qty, status="paid",
                paid_at=ts, buyer=bh, device=dh, addr=ah, session_id=s.session_id,
            )
            w.sales[g] += qty
            s.sold += qty
            s.pending_orders += 1
            s.pending_gmv += link * qty

    def _brush(self, s: Session, t: int) -> None:
        """Scripted extra orders of a :class:`Brush` window in [t, t+60), and their later cancellations."""
        for b in s.brush:
            if not b.start <= t < b.end:
                continue
            minutes = max(1, (b.end - b.start) // METRIC_PERIOD_S)
            k = (t - b.start) // METRIC_PERIOD_S + 1
            due = min(b.n, b.n * k // minutes) - b.done
            if due <= 0:
                continue
            rnd = b.rnd
            g, link = s.item_at(t)
            w = self.em.world
            sku = w.skus[g]
            orders = self.orders
            for ts in sorted(t + rnd.randrange(METRIC_PERIOD_S) for _ in range(due)):
                if ts >= self.t1:
                    break
                outcome = b.outcomes[b.done]
                b.done += 1
                if b.buyers:
                    who = b.buyers[rnd.randrange(len(b.buyers))]
                    bh, _, ah = orders.one_buyer(who)
                    dh = b.devices[who % len(b.devices)]
                else:
                    bh, dh, ah = orders.one_buyer(rnd.getrandbits(40))
                oid = orders.one_order_id()
                self.em.order(
                    sku, ts, order_id=oid, list_price=link, paid=link, qty=1, status="paid",
                    paid_at=ts, buyer=bh, device=dh, addr=ah, session_id=s.session_id, protected=True,
                )
                w.sales[g] += 1
                s.sold += 1
                s.pending_orders += 1
                s.pending_gmv += link
                if outcome:
                    lo, hi = b.delays[outcome - 1]
                    t2 = min(ts + rnd.randint(lo, hi), self.t1 - 1 - rnd.randrange(60))
                    if t2 <= ts:
                        t2 = ts + 1
                    status = "cancelled" if outcome == 1 else "refunded"
                    eid = self.em.order(
                        sku, t2, order_id=oid, list_price=link, paid=link, qty=1, status=status, paid_at=ts,
                        refund_at=t2 if outcome == 2 else None, buyer=bh, device=dh, addr=ah,
                        session_id=s.session_id, protected=True,
                    )
                    b.incident.add(eid, t2)

    def _metrics(self, s: Session, t: int, prev: float, online: float, surge: PaidSurge | None) -> None:
        rnd = s.rnd
        assert rnd is not None
        rand = rnd.random
        measured = int(round(online))
        leave = int(round(prev * (0.3 + 0.2 * rand())))
        enter = max(0, measured - int(round(prev)) + leave)
        dwell = _split(leave, [p * (0.8 + 0.4 * rand()) for p in _HONEST_DWELL])
        displayed = int(round(measured * (1.0 + 0.05 * rand())))
        new_ratio = 0.04 + 0.10 * rand()
        ip_share = 0.01 + 0.04 * rand()
        dev_share = 0.06 + 0.10 * rand()
        rec, fol, paid, sea, oth = s.mix
        comment_rate = 0.06
        fake = s.fake_at(t) if s.fake else None
        if surge is not None:
            paid = surge.paid_share
            rest = (1.0 - paid) / max(1e-9, rec + fol + sea + oth)
            rec, fol, sea, oth = rec * rest, fol * rest, sea * rest, oth * rest
            new_ratio = 0.1 + 0.1 * rand()
        if fake is not None:
            ramp = min(1.0, (t - fake.start + 60) / 120.0)
            mult = 1.0 + (fake.mult - 1.0) * ramp
            displayed = int(round(measured * mult))
            bots = int(round(measured * (mult - 1.0) * (0.6 + 0.4 * rand())))
            honest_total = sum(dwell)
            # bots leave within 3 s: enough that they are > fake.lt3 of all leavers
            need = int(math.ceil((fake.lt3 * honest_total - dwell[0]) / max(1e-9, 1.0 - fake.lt3)))
            bots = max(bots, need, 1)
            dwell[0] += bots
            leave += bots
            enter += bots
            new_ratio, ip_share, dev_share = fake.new_ratio, fake.ip_share, 0.25 + 0.25 * rand()
            comment_rate = 0.03
        comments = _poisson(rnd, measured * comment_rate)
        g, link = s.item_at(t)
        sku = self.em.world.skus[g]
        em = self.em
        recv = t + em.sink.delay()
        doc = {
            "event_type": "live_metrics",
            "event_id": em.ids.next(),
            "schema_ver": SCHEMA_VER,
            "platform": em.platform,
            "occurred_at": em.fmt(t),
            "received_at": em.fmt(recv),
            "merchant": s.env,
            "room_id": s.room_id,
            "session_id": s.session_id,
            "period_s": METRIC_PERIOD_S,
            "online_displayed": displayed,
            "online_measured": measured,
            "enter_uv": enter,
            "leave_uv": leave,
            "avg_watch_s": round((60.0 + 90.0 * rand()) * (0.3 if fake else 1.0), 1),
            "dwell_hist": {"lt_3s": dwell[0], "s3_30s": dwell[1], "s30_180s": dwell[2], "gt_180s": dwell[3]},
            "comment_cnt": comments,
            "comment_uv": int(comments * (0.55 + 0.2 * rand())),
            "like_cnt": _poisson(rnd, measured * 1.5),
            "share_cnt": _poisson(rnd, measured * 0.004),
            "new_follow": _poisson(rnd, enter * 0.015),
            "orders": s.pending_orders,
            "gmv": round(s.pending_gmv, 2),
            "refunds": _poisson(rnd, s.pending_orders * 0.02),
            "traffic_sources": {
                "recommend": round(rec, 3), "follow": round(fol, 3), "paid": round(paid, 3),
                "search": round(sea, 3), "other": round(oth, 3),
            },
            "new_acct_ratio": round(new_ratio, 3),
            "top_ip24_share": round(ip_share, 3),
            "top_device_model_share": round(dev_share, 3),
            "is_ai_avatar": s.ai,
        }
        win = None
        if s.windows:
            for mw in s.windows:
                if mw.start <= t < mw.end:
                    win = mw
        if s.ai:
            doc["ai_label_visible"] = True if win is None or win.ai_label is None else win.ai_label
        doc["current_item_id"] = sku.sku_id
        doc["link_price"] = link
        real = max(0, sku.stock - s.sold)
        pin = s.pin_at(t) if s.pins else None
        doc["stock_displayed"] = real if pin is None else pin.stock_at(t, real)
        tag = fake.incident if fake is not None else surge.incident if surge is not None else None
        odd = None
        if s.anomalies:
            for a in s.anomalies:
                if a.start <= t < a.end:
                    odd = a
                    a.apply(doc)
        em.push(doc, recv, tag is not None or win is not None or odd is not None)
        if tag is not None:
            tag.add(doc["event_id"], t)
        if win is not None:
            win.incident.add(doc["event_id"], t)
        if odd is not None:
            odd.incident.add(doc["event_id"], t)

    def _utter(self, s: Session, t: int) -> None:
        rnd = s.urnd
        assert rnd is not None
        em = self.em
        g, link = s.item_at(t)
        sku = em.world.skus[g]
        hook = None
        if s.hooks and s.hooks[0].at <= t:
            hook = s.hooks.pop(0)
            if hook.timed:
                real = max(0, sku.stock - s.sold)
                pin = s.pin_at(t) if s.pins else None
                text, mentions, conf = hook.make(sku, link, t, real if pin is None else pin.stock_at(t, real))
            else:
                text, mentions, conf = hook.make(sku, link)
        else:
            x = rnd.random()
            if x < 0.03:
                text, mentions = rnd.choice(lexicon.BENIGN_SPEECH), []
            elif x < 0.06:
                lower = nice_price(link * (0.7 + 0.22 * rnd.random()))
                text, mentions = rnd.choice(lexicon.CONDITION_SPEECH).format(p=phrases.money(lower)), [lower]
            else:
                stock = max(0, sku.stock - s.sold)
                if s.pins:
                    pin = s.pin_at(t)
                    if pin is not None:
                        stock = pin.stock_at(t, stock)
                text, mentions = phrases.host_line(rnd, sku.category, sku.product.noun, sku.point, link, stock)
            y = rnd.random()
            conf = round(0.86 + 0.13 * y / 0.92, 3) if y < 0.92 else round(0.6 + 0.26 * (y - 0.92) / 0.08, 3)
        recv = t + em.sink.delay()
        doc = {
            "event_type": "live_utterance",
            "event_id": em.ids.next(),
            "schema_ver": SCHEMA_VER,
            "platform": em.platform,
            "occurred_at": em.fmt(t),
            "received_at": em.fmt(recv),
            "merchant": s.env,
            "room_id": s.room_id,
            "session_id": s.session_id,
            "duration_s": float(6 + int(rnd.random() * 11)),
            "speaker": "ai_avatar" if s.ai else ("host" if rnd.random() < 0.85 else "assistant"),
            "asr_text": text,
            "asr_conf": conf,
            "current_item_id": sku.sku_id,
            "current_item_price": link,
            "price_mentions": mentions,
        }
        if rnd.random() < 0.1:
            doc["ocr_text"] = f"直播专享价 ¥{phrases.money(link)}"
        if hook is not None and hook.host and not s.ai:
            doc["speaker"] = "host"
        em.push(doc, recv, hook is not None)
        if hook is not None:
            hook.incident.add(doc["event_id"], t)


def _poisson(rnd: random.Random, lam: float) -> int:
    """A Poisson draw from a Python ``Random`` (exact for small λ, normal approximation above 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rnd.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k


def _split(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    norm = sum(weights)
    raw = [total * w / norm for w in weights]
    parts = [int(x) for x in raw]
    rest = total - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])[:rest]:
        parts[i] += 1
    return parts
