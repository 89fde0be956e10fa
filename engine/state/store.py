"""Where window state lives: the ``StateStore`` protocol and its in-memory implementation.

The window math (:mod:`engine.state.windows`) never touches a store; the
pipeline does ``state = add(store.get(w, key), spec, ts, ...)`` then
``store.put(w, key, state)``. That put is required even though ``add`` mutates
in place: a Faust-table store must re-assign the value so its changelog sees
the update.

Keys are tuples of strings, one element per key field, e.g. ``("m-123",)`` for
a window keyed by merchant or ``("m-123", "sku-9")`` for merchant + SKU. Tuples
(not joined strings) keep fields unambiguous and serialise to JSON arrays in
snapshots; :class:`MemoryStore` does not check them on the hot path, the
snapshot does when it writes.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from engine.state.windows import WindowSpec, WindowState, expired

__all__ = ["Key", "MemoryStore", "StateStore", "evict", "sweep_interval"]

Key = tuple[str, ...]
"""A window key: one string per key field, e.g. ``(merchant_id, sku_id)``."""


@runtime_checkable
class StateStore(Protocol):
    """Per-window, per-key storage of :class:`WindowState` values."""

    def get(self, window: str, key: Key) -> WindowState | None:
        """The key's state in ``window``, or None if it has none."""
        ...

    def put(self, window: str, key: Key, state: WindowState) -> None:
        """Store (re-assign) the key's state in ``window``."""
        ...

    def delete(self, window: str, key: Key) -> None:
        """Forget the key's state in ``window``; no error if it is absent."""
        ...

    def items(self, window: str) -> Iterator[tuple[Key, WindowState]]:
        """Every (key, state) of ``window``. Do not put or delete while iterating."""
        ...

    def windows(self) -> Iterable[str]:
        """Names of the windows that hold at least one key (or did)."""
        ...


class MemoryStore:
    """A dict of dicts: ``{window_name: {key: state}}``. The embedded runner's store."""

    __slots__ = ("_data",)
    #: ``get`` returns the stored object itself, so a state changed in place needs no
    #: ``put``. Stores that serialise (Faust tables) leave this False and get every put.
    live_values = True

    def __init__(self) -> None:
        self._data: dict[str, dict[Key, WindowState]] = {}

    def get(self, window: str, key: Key) -> WindowState | None:
        """The key's state in ``window``, or None."""
        d = self._data.get(window)
        return None if d is None else d.get(key)

    def put(self, window: str, key: Key, state: WindowState) -> None:
        """Store the key's state in ``window``."""
        d = self._data.get(window)
        if d is None:
            d = self._data[window] = {}
        d[key] = state

    def delete(self, window: str, key: Key) -> None:
        """Forget the key's state in ``window``."""
        d = self._data.get(window)
        if d is not None:
            d.pop(key, None)

    def items(self, window: str) -> Iterator[tuple[Key, WindowState]]:
        """Every (key, state) of ``window``."""
        return iter(self._data.get(window, {}).items())

    def windows(self) -> list[str]:
        """Names of the windows holding at least one key."""
        return [name for name, d in self._data.items() if d]

    def size(self, window: str) -> int:
        """Number of keys held for ``window`` (for metrics)."""
        return len(self._data.get(window, ()))

    def drop_window(self, window: str) -> None:
        """Forget every key of ``window`` (e.g. when its spec changed); its table object stays valid."""
        d = self._data.get(window)
        if d is not None:
            d.clear()

    def table(self, window: str) -> dict[Key, WindowState]:
        """The live dict holding ``window``'s keys (created if absent), for the pipeline's hot loop.

        The same object for the life of the store, so a caller may keep it; a
        read of it sees what ``get`` sees, a write is a ``put``.
        """
        d = self._data.get(window)
        if d is None:
            d = self._data[window] = {}
        return d

    def evict(self, spec: WindowSpec, watermark: float) -> int:
        """Remove the keys of ``spec``'s window that no read at or after ``watermark`` can see."""
        return evict(self, spec, watermark)


def evict(store: StateStore, spec: WindowSpec, watermark: float) -> int:
    """Delete every key of ``spec.name`` whose buckets all lie before any window at ``watermark``.

    Call it periodically (e.g. every few thousand events or seconds) with the
    window clock's watermark, not per event: it scans every key of the window.
    Returns the number of keys removed.
    """
    doomed = [key for key, state in store.items(spec.name) if expired(state, spec, watermark)]
    for key in doomed:
        store.delete(spec.name, key)
    return len(doomed)


def sweep_interval(spec: WindowSpec, every_s: float) -> float:
    """Event time between two sweeps of ``spec``'s window: a quarter of its length, at least ``every_s``.

    A key cannot expire sooner than a whole duration after its newest event, so
    sweeping a 30-day window every hour would only rescan the same keys.
    """
    return max(spec.duration_s / 4, every_s)
