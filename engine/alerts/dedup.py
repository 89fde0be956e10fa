"""Deduplicate repeated hits of a rule into one open alert.

Hits of the same rule on the same merchant and subject (SKU, room, problem
category …) within the rule's dedup window belong to one alert: the first
hit opens it (and fixes its id), later hits only add to its hit count. The
window runs from the first hit, so a violation that goes on for days gives
one alert per window, not one per event and not one forever.

State lives behind the same StateStore protocol as the windows (its own
store, namespace ``_dedup``), keyed by merchant first, so it partitions with
the merchant like the windows and is snapshotted next to them.
"""
from __future__ import annotations

from engine.state.store import StateStore

NAMESPACE = "_dedup"


class Deduplicator:
    """Decides whether a rule hit opens a new alert or joins an open one."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def admit(self, key: tuple[str, ...], ts: float, window_s: int, new_id: str) -> tuple[str, int, bool]:
        """Record a hit; return (alert id, hit count, opened a new alert?)."""
        state = self.store.get(NAMESPACE, key)
        if state is not None and ts < state[1] + window_s:
            state[2] = max(state[2], ts)
            state[3] += 1
            self.store.put(NAMESPACE, key, state)
            return state[0], state[3], False
        self.store.put(NAMESPACE, key, [new_id, ts, ts, 1, window_s])
        return new_id, 1, True

    def evict(self, watermark: float) -> list[str]:
        """Forget alerts whose dedup window ended before ``watermark``; return their alert ids."""
        stale = [(k, v[0]) for k, v in self.store.items(NAMESPACE) if v[1] + v[4] < watermark]
        for k, _ in stale:
            self.store.delete(NAMESPACE, k)
        return [aid for _, aid in stale]
