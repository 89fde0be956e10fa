"""Sweeping expired cross-merchant window state on the re-key side of a distributed run.

A re-key partition holds the windows keyed across merchants (a complainant, a
category) and is fed by events of every merchant partition, each with its own
event time: one may be catching up a backlog hours behind the others. Its
window clocks are therefore kept per source partition
(:meth:`engine.runtime.faust_app.Worker._cross_values`), and so is what may be
forgotten: a key may be dropped only when no read by *any* source partition
can still see it, i.e. at the lowest watermark among the sources that have
sent events. Sweeping at that watermark leaves every read equal to an unswept
table (a read at or after it sees no bucket of an expired key), which is what
the embedded pipeline's own sweep guarantees with its single clock.

Without a sweep, every complainant or category ever seen stayed in the table
and its changelog for good, with its record of source offsets (``_xseen``).
That record is dropped with the key's last window state: a request re-sent
after a merchant partition moved is newer than its source's watermark, so if it
had been counted, the key would still hold the bucket it went into.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from engine.state import windows as W
from engine.state.store import StateStore
from engine.state.store import evict as evict_window
from engine.state.store import sweep_interval

__all__ = ["SEEN", "RekeySweeper", "source_watermark"]

_NINF = float("-inf")

SEEN = "_xseen"
"""Alert-state namespace of the re-key side: per (group, key), the last source offset counted per source partition."""


def source_watermark(name: str, source_clocks: Iterable[Mapping[str, W.WindowClock]]) -> float | None:
    """The lowest watermark of window ``name`` over the source partitions that have sent events, or None.

    None (do not sweep) when no source has sent events, or when one has but none that ``name``
    counted (its filter refused them all): that source's clock for ``name`` refuses nothing yet,
    so it could still read any bucket of the window.
    """
    marks = []
    for clocks in source_clocks:
        clock = clocks.get(name)
        if clock is not None and clock.max_ts != _NINF:
            marks.append(clock.watermark)
        elif any(c.max_ts != _NINF for c in clocks.values()):
            return None
    return min(marks) if marks else None


class RekeySweeper:
    """Per re-key partition, sweeps each cross-merchant window on its own schedule, at its lowest source watermark.

    A window is swept every :func:`engine.state.store.sweep_interval` of event
    time, as :meth:`engine.pipeline.Pipeline.evict` does.
    The schedule lives in memory; after a restart the first batch of a partition
    sweeps once more, which is harmless.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._due: dict[int, dict[str, float]] = {}

    def sweep(
        self,
        partition: int,
        windows: Mapping[str, W.WindowSpec],
        groups: Sequence[tuple[int, Sequence[str]]],
        source_clocks: Sequence[Mapping[str, W.WindowClock]],
        window_store: StateStore,
        seen_store: StateStore,
    ) -> int:
        """Drop ``partition``'s expired keys of the groups' windows and their source-offset records; return how many.

        ``groups`` are (group index, window names) as the plan lists them;
        ``source_clocks`` the window clocks of every source partition this
        re-key partition has heard from. Both stores must list only
        ``partition``'s keys while this runs (``TableStore.sweep_partition``).
        """
        due = self._due.setdefault(partition, {})
        removed = 0
        swept_groups = []
        for gi, names in groups:
            swept = False
            for name in names:
                spec = windows.get(name)
                mark = source_watermark(name, source_clocks) if spec is not None else None
                if spec is None or mark is None or mark < due.get(name, _NINF):
                    continue
                removed += evict_window(window_store, spec, mark)
                due[name] = mark + sweep_interval(spec, self.every_s)
                swept = True
            if swept:
                swept_groups.append((gi, names))
        if swept_groups:
            removed += self._forget_seen(dict(swept_groups), window_store, seen_store)
        return removed

    @staticmethod
    def _forget_seen(groups: Mapping[int, Sequence[str]], window_store: StateStore, seen_store: StateStore) -> int:
        """Delete the source-offset records of keys none of their group's windows holds any more."""
        doomed = []
        for key, _offsets in seen_store.items(SEEN):
            try:
                gi = int(key[0])
            except (TypeError, ValueError, IndexError):
                continue
            names = groups.get(gi)
            if names is None:
                continue
            wkey = tuple(key[1:])
            if all(window_store.get(name, wkey) is None for name in names):
                doomed.append(key)
        for key in doomed:
            seen_store.delete(SEEN, key)
        return len(doomed)
