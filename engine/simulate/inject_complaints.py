"""Complaint incident kinds of the cn-platform pack (mixed into the Injector).

* ``complaint_confirms_warning`` (violation): 1-2 complaints 1-48 h after an
  advertising / medical / price violation of the same merchant, problem
  虚假宣传 / 广告 / 价格, quoting the claim in 「」 (background complaints
  never contain 「」).
* ``complaint_professional`` (decoy): a professional claimant (职业索赔) files
  20-26 near-identical template complaints (demand 十倍赔偿 or 三倍赔偿) against
  10-18 merchants within the run, in two or three batches. One incident per
  claimant, ``merchant_id`` null, ``subject`` = the complainant hash. No
  merchant gets more than two such complaints, except:
* ``complaint_professional_group`` (decoy): one merchant receives 5-7
  template complaints on one problem from different professional claimants
  (each also part of its claimant's incident).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from engine.simulate import lexicon
from engine.simulate.catalog import COMPLAINANT_REGIONS
from engine.simulate.clock import COMPLAINT_DIURNAL
from engine.simulate.truth import Incident

if TYPE_CHECKING:  # pragma: no cover
    from engine.simulate.inject import Injector

_MIN = 60
_HOUR = 3600
_PRO_FOOD = ("食品", "保健食品", "婴幼儿配方食品")


@dataclass
class Claimant:
    """One professional claimant and the complaints planned for it."""

    hash: str
    region: str
    channel: str
    template: tuple[str, str, str]  # (problem, demand, text)
    incident: Incident
    merchants: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)


class ComplaintKinds:
    """complaints: confirms_warning (violation), professional and professional_group (decoys)."""

    def complaint_confirms_warning(self: Injector) -> None:
        """1-2 complaints (虚假宣传 / 广告 / 价格) 1-48 h after a violation of the same merchant, quoting it."""
        late = self.t1 - _HOUR - 10 * _MIN
        cands = [p for p in self._parents if p.start < late and not p.used]
        if not cands:
            return
        busy = self._used.get("complaints", set())
        fresh = [p for p in cands if self._merchant_idx(p.incident.merchant_id) not in busy]
        parent = self.rnd.choice(fresh or cands)
        parent.used = True
        m_idx = self._merchant_idx(parent.incident.merchant_id)
        problem = self.rnd.choice(parent.problems)
        n = 1 if self.rnd.random() < 0.7 else 2
        lo, hi = parent.start + _HOUR + _MIN, min(parent.start + 48 * _HOUR, self.t1 - 60)
        times = sorted(self._time(lo, hi, COMPLAINT_DIURNAL) for _ in range(n))
        inc = self._new(
            "violation", "complaints", "complaint_confirms_warning", m_idx, problem,
            f"{n} complaint(s) ({problem}) {((times[0] - parent.start) / 3600):.1f} h after {parent.incident.incident_id} "
            f"({parent.incident.kind})",
        )
        live = parent.session_id is not None
        key = "价格" if problem == "价格" else ("直播" if live else problem)
        texts = [self.rnd.choice(lexicon.CONFIRM_TEXTS[key]) for _ in range(n)]
        for ts, tpl in zip(times, texts):
            self._at(ts, self._confirm(inc, m_idx, ts, problem, tpl, parent.claim, parent.session_id))

    def _merchant_idx(self: Injector, merchant_id: str | None) -> int:
        if not hasattr(self, "_midx"):
            self._midx = {m.merchant_id: m.idx for m in self.em.world.merchants}  # type: ignore[attr-defined]
        return self._midx[merchant_id]  # type: ignore[attr-defined]

    def _confirm(
        self: Injector, inc: Incident, m_idx: int, ts: int, problem: str, tpl: str, claim: Callable[[], str],
        session_id: str | None,
    ) -> Callable[[], None]:
        complainant = f"c{self.rnd.getrandbits(64):016x}"

        def run() -> None:
            text = tpl.format(c=claim())  # price claims are whole sentences with 「」 already
            eid = self.complaints.emit(
                m_idx, ts, problem=problem, text=text, complainant=complainant, kind="投诉", protected=True,
                purchase_mode="直播" if session_id else None, session_id=session_id,
            )
            inc.add(eid, ts)

        return run

    # -- professional claimants -----------------------------------------------------------

    def _pro_targets(self: Injector, food: bool, exclude: set[int]) -> list[int]:
        w = self.em.world
        busy = self._used.get("complaints", set())
        out = []
        for m in w.merchants:
            if m.idx in busy or m.idx in exclude or self._pro_load.get(m.idx, 0) >= 2:
                continue
            if food and not any(c in _PRO_FOOD for c in m.categories):
                continue
            out.append(m.idx)
        return out

    def _claimant(self: Injector, problem: str | None = None) -> Claimant | None:
        """A new professional claimant with its batches of template complaints (scheduled)."""
        templates = [t for t in lexicon.PRO_TEMPLATES if problem is None or t[0] == problem]
        tpl = self.rnd.choice(templates)
        n = self.rnd.randint(20, 26)
        want = self.rnd.randint(max(10, math.ceil(n / 2)), 18)
        targets = self._pro_targets(tpl[0] == "食品安全", set())
        if len(targets) < want and problem is None and tpl[0] == "食品安全":
            tpl = self.rnd.choice([t for t in lexicon.PRO_TEMPLATES if t[0] != "食品安全"])
            targets = self._pro_targets(False, set())
        if not targets:
            return None
        chosen = self.rnd.sample(targets, min(want, len(targets)))
        per = [1] * len(chosen)
        for i in range(n - len(chosen)):  # the rest: a second complaint against some of them (at most two each)
            if i >= len(chosen):
                break
            per[i] = 2
        for m_idx in chosen:
            self._pro_load[m_idx] = self._pro_load.get(m_idx, 0) + 1
        chash = f"c{self.rnd.getrandbits(64):016x}"
        inc = self._new("decoy", "complaints", "complaint_professional", None, chash, "")
        cl = Claimant(chash, self.rnd.choice(COMPLAINANT_REGIONS[10:]), self.rnd.choice(("app", "pc")), tpl, inc)
        # two or three filing batches, complaints a few minutes apart
        total = sum(per)
        batches = self.rnd.randint(2, 3)
        starts = sorted(self._time(self.t0, max(self.t0 + 1, self.t1 - 40 * _MIN), COMPLAINT_DIURNAL) for _ in range(batches))
        slots: list[int] = []
        for b, start in enumerate(starts):
            k = total // batches + (1 if b < total % batches else 0)
            t = start
            for _ in range(k):
                slots.append(min(t, self.t1 - 1))
                t += self.rnd.randrange(40, 240)
        slots.sort()
        order = [m for m, c in zip(chosen, per) for _ in range(c)]
        self.rnd.shuffle(order)
        for ts, m_idx in zip(slots, order):
            self._pro_complaint(cl, m_idx, ts)
        inc.note = (f"professional claimant: {total} template complaints ({tpl[0]}, demand {tpl[1]}) against "
                    f"{len(chosen)} merchants in {batches} batches")
        self._pros.append(cl)
        return cl

    def _pro_complaint(self: Injector, cl: Claimant, m_idx: int, ts: int, also: Incident | None = None) -> None:
        """Schedule one template complaint of ``cl`` against ``m_idx`` (tagged to ``cl`` and ``also``)."""
        w = self.em.world
        m = w.merchants[m_idx]
        problem, demand, text = cl.template
        gs = list(range(m.sku0, m.sku1))
        if problem == "食品安全":
            gs = [g for g in gs if w.skus[g].category in _PRO_FOOD] or gs
        g = self.rnd.choice(gs)
        bought = self.em.fmt(ts - self.rnd.randrange(2, 15) * 86400)
        day = f"{int(bought[5:7])}月{int(bought[8:10])}日"
        body = text.format(d=day, n=w.skus[g].product.noun)
        cl.merchants.append(m_idx)
        cl.times.append(ts)

        def run() -> None:
            eid = self.complaints.emit(
                m_idx, ts, problem=problem, text=body, complainant=cl.hash, kind="投诉", demand=demand,
                protected=True, sku_g=g, region=cl.region, channel=cl.channel, purchase_mode="网购",
            )
            cl.incident.add(eid, ts)
            if also is not None:
                also.add(eid, ts)

        self._at(ts, run)

    def complaint_professional(self: Injector) -> None:
        """Decoy: one professional claimant, ≥ 20 template complaints against ≥ 10 merchants (CP-05 pattern).

        Claimants created for a professional group (planned first) count towards the planned number.
        """
        if len(self._pros) < self.planned.get("complaint_professional", 0):
            self._claimant()

    def complaint_professional_group(self: Injector) -> None:
        """Decoy: 5-7 professional claimants file the same problem against one merchant (a 'group' of 职业索赔)."""
        problem = self.rnd.choice(("食品安全", "虚假宣传"))
        targets = [m for m in self._pro_targets(problem == "食品安全", set()) if self._pro_load.get(m, 0) == 0]
        if not targets:
            return
        target = self.rnd.choice(targets)
        k = self.rnd.randint(5, 7)
        pool = [c for c in self._pros if c.template[0] == problem and target not in c.merchants]
        self.rnd.shuffle(pool)
        group = pool[:k]
        self._pro_load[target] = 99  # no further professional complaints against it
        while len(group) < k:
            cl = self._claimant(problem)
            if cl is None:
                break
            group.append(cl)
        if len(group) < 5:
            return
        inc = self._new(
            "decoy", "complaints", "complaint_professional_group", target, problem,
            f"{len(group)} professional claimants file template complaints ({problem}) against one merchant",
        )
        for cl in group:
            ts = self._time(self.t0, self.t1 - 1, COMPLAINT_DIURNAL)
            self._pro_complaint(cl, target, ts, also=inc)
            cl.incident.note = cl.incident.note.replace("template complaints", "template complaints (+1 in a group)", 1)

