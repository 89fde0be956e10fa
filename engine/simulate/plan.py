"""Shared plan of a run: what the injectors changed and when.

The injectors (:mod:`engine.simulate.inject`) decide everything up front and
write it here; the background streams read it while generating so that the
whole stream stays consistent (a snapshot taken during a fake promotion shows
the fake reference price; orders during a raised-price window pay the raised
price; a busy merchant's complaints rise with its orders). Timed one-off
events (a price update, an injected complaint) are :class:`Action` callbacks
run when the simulation reaches their hour.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from engine.simulate.truth import Incident


@dataclass(slots=True)
class Segment:
    """A time span [start, end) in which a SKU's listing differs from its base.

    ``fields`` may set ``price``, ``ref``, ``label``, ``note``, ``promo``
    (``None`` hides the store promotion), ``title``, ``subtitle``, ``detail``,
    ``licences`` (``[]`` shows none), ``patent``, ``feed``, ``coupon``,
    ``member`` and ``sales_jump`` (a :class:`SalesJump`). Events of the SKU in
    the span that show these fields are tagged with ``incident`` (if any).
    """

    start: int
    end: int
    fields: dict[str, Any]
    incident: Incident | None = None


@dataclass(slots=True)
class SalesJump:
    """A displayed sales count inflated from the first snapshot at or after the segment start.

    The fake part is fixed when first shown: ``floor`` plus ``per_unit`` × every
    unit the SKU sold so far in the run (so it exceeds 500 + 5 × any number of
    orders observed before it), plus ``noise``.
    """

    floor: int
    per_unit: int
    noise: int
    extra: int | None = None

    def value(self, sold: int) -> int:
        """The fake part of the displayed count (computed once)."""
        if self.extra is None:
            self.extra = self.floor + self.per_unit * sold + self.noise
        return self.extra


@dataclass(slots=True)
class Boost:
    """Order (and so complaint) volume of one merchant multiplied over [start, end)."""

    start: int
    end: int
    factor: float
    incident: Incident | None = None


@dataclass(order=True, slots=True)
class Action:
    """A callback run once when the simulation reaches time ``at``."""

    at: int
    seq: int
    run: Callable[[], None] = field(compare=False)


class Plan:
    """Everything the injectors arranged, indexed for the streams' lookups."""

    def __init__(self, n_merchants: int, n_skus: int) -> None:
        self.segments: dict[int, list[Segment]] = {}
        self.price_watch = np.zeros(n_skus, dtype=bool)  # SKUs whose orders follow segments
        self.reserved = np.zeros(n_skus, dtype=bool)  # SKUs owned by an injector (no random updates)
        self.boosts: dict[int, list[Boost]] = {}
        #: merchant -> (licence_info_displayed shown on all its listings, incident tagging them)
        self.licence_hidden: dict[int, tuple[bool, Incident]] = {}
        #: unreserved SKU -> incident tagging every snapshot of it (None: only protected); anomaly kinds
        self.listing_tags: dict[int, Incident | None] = {}
        self._actions: list[Action] = []
        self._seq = 0

    def grow(self, k: int) -> None:
        """Room for ``k`` SKUs added after the world was built (new listings)."""
        self.price_watch = np.concatenate([self.price_watch, np.zeros(k, bool)])
        self.reserved = np.concatenate([self.reserved, np.ones(k, bool)])

    # -- SKU segments ---------------------------------------------------------

    def add_segment(self, g: int, seg: Segment, *, price: bool) -> None:
        """Override SKU ``g`` during ``seg``; ``price`` if orders must follow its price."""
        self.segments.setdefault(g, []).append(seg)
        self.reserved[g] = True
        if price:
            self.price_watch[g] = True

    def segment_at(self, g: int, ts: int) -> Segment | None:
        """The segment of SKU ``g`` covering ``ts``, if any."""
        for seg in self.segments.get(g, ()):
            if seg.start <= ts < seg.end:
                return seg
        return None

    # -- merchant boosts -------------------------------------------------------

    def add_boost(self, merchant: int, boost: Boost) -> None:
        """Multiply ``merchant``'s order and complaint rates during ``boost``."""
        self.boosts.setdefault(merchant, []).append(boost)

    def boost_vector(self, n: int, t_a: int, t_b: int) -> np.ndarray:
        """Per-merchant multiplier for the span [t_a, t_b) (time-weighted)."""
        out = np.ones(n)
        span = max(1, t_b - t_a)
        for m, boosts in self.boosts.items():
            for b in boosts:
                overlap = min(t_b, b.end) - max(t_a, b.start)
                if overlap > 0:
                    out[m] += (b.factor - 1.0) * overlap / span
        return out

    def boost_at(self, merchant: int, ts: int) -> Boost | None:
        """The boost of ``merchant`` covering ``ts``, if any."""
        for b in self.boosts.get(merchant, ()):
            if b.start <= ts < b.end:
                return b
        return None

    # -- timed actions ----------------------------------------------------------

    def at(self, ts: int, run: Callable[[], None]) -> None:
        """Run ``run`` when the simulation reaches ``ts`` (stable order for equal times)."""
        self._seq += 1
        bisect.insort(self._actions, Action(ts, self._seq, run))

    def due(self, t_end: int) -> list[Action]:
        """Pop the actions scheduled before ``t_end``, in time order."""
        i = bisect.bisect_left(self._actions, Action(t_end, -1, lambda: None))
        out, self._actions = self._actions[:i], self._actions[i:]
        return out
