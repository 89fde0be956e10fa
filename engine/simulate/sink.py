"""Put generated events into arrival order, one simulated hour at a time.

Generators produce events out of order (a cancellation is created together
with its order but happens minutes later; a refund days later). Each event is
filed in the bucket of the hour in which it is *received*; when the simulator
has generated everything that can occur in hour h, bucket h is complete,
sorted by (received time, creation sequence) and written out. Memory stays
bounded by about one hour of events plus pending refunds.

``received_at`` = ``occurred_at`` + a small platform delay of 0..MAX_JITTER_S
seconds, so lines are in received order and ``occurred_at`` is non-decreasing
up to that jitter.
"""
from __future__ import annotations

import itertools

import numpy as np

#: Largest gap between ``occurred_at`` and ``received_at`` (seconds).
MAX_JITTER_S = 3

_DELAY_TABLE = 1 << 16


class Sink:
    """Hour buckets of pending lines, keyed by received time.

    Entries are ``(received_ts, seq, event_type, line, protected)``; ``seq``
    (creation order) breaks ties so sorting never compares lines.
    ``protected`` lines belong to an incident and are never damaged.
    """

    __slots__ = ("t_begin", "buckets", "seq", "_delays", "_di")

    def __init__(self, t_begin: int, rng: np.random.Generator) -> None:
        self.t_begin = t_begin
        self.buckets: dict[int, list[tuple]] = {}
        self.seq = itertools.count()
        # Platform ingestion delay: mostly 0-1 s, sometimes up to MAX_JITTER_S.
        self._delays = rng.choice(
            np.arange(MAX_JITTER_S + 1), size=_DELAY_TABLE, p=[0.5, 0.3, 0.15, 0.05]
        ).tolist()
        self._di = 0

    def delay(self) -> int:
        """The next platform delay in seconds (deterministic sequence)."""
        self._di = (self._di + 1) & (_DELAY_TABLE - 1)
        return self._delays[self._di]

    def delays(self, n: int) -> list[int]:
        """The next ``n`` delays (same sequence as ``n`` calls of :meth:`delay`)."""
        return [self.delay() for _ in range(n)] if n < 64 else self._bulk(n)

    def _bulk(self, n: int) -> list[int]:
        out: list[int] = []
        while len(out) < n:
            start = self._di + 1
            take = min(n - len(out), _DELAY_TABLE - start)
            if take <= 0:
                out.append(self.delay())
                continue
            out.extend(self._delays[start:start + take])
            self._di = (self._di + take) & (_DELAY_TABLE - 1)
        return out

    def bucket(self, recv: int) -> list[tuple]:
        """The bucket list that an entry received at ``recv`` goes to."""
        key = (recv - self.t_begin) // 3600
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = []
        return bucket

    def push(self, recv: int, etype: str, line: bytes, protected: bool = False) -> None:
        """File one serialised event received at epoch ``recv``."""
        self.bucket(recv).append((recv, next(self.seq), etype, line, protected))

    def pop_hour(self, hour_index: int) -> list[tuple]:
        """All entries received in hour ``hour_index`` (since ``t_begin``), in arrival order."""
        bucket = self.buckets.pop(hour_index, [])
        bucket.sort()  # (recv, seq) is unique, so lines are never compared
        return bucket

    def pending(self) -> int:
        """Number of entries not yet popped (for tests and memory checks)."""
        return sum(len(b) for b in self.buckets.values())
