"""A :class:`~engine.state.store.StateStore` kept in a Kafka-changelogged table.

The pipeline reads and writes window states (and alert state) through the
StateStore protocol. In distributed mode they live in one Faust table whose
changelog has as many partitions as the input topic, so a worker that takes over
a partition recovers exactly that partition's keys. This module holds no Faust
code: it talks to a small *backend* (raw get/set/delete/iterate of bytes with an
explicit partition), which :mod:`engine.runtime.faust_app` implements over a
Faust table and tests implement over a dict.

Write-back. Decoding and encoding a state on every event would cost more than
the pipeline itself, so decoded states are cached; puts mark them dirty and
:meth:`TableStore.flush` writes each dirty key once per batch (one changelog
record per key per batch, not per event). The cache is dropped on every
rebalance (:meth:`invalidate`): the table is the truth.

Records. A table value is ``[partition, tag, payload]``: the partition the key
belongs to (so eviction can delete keys of any partition this worker holds), and
the *tag*: the input offset of the last event of the batch that wrote it. After a
crash, events between the last committed offset and the last flushed batch are
delivered again; in *replay mode* (:meth:`replaying`) a key whose tag is at or
after the event's offset already contains that event, so the store hands out a
throw-away copy and ignores writes to it. Windows therefore never count a
replayed event twice.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Callable, Protocol

import orjson

from engine.state import windows as W
from engine.state.store import Key

SEP = b"\x1f"


class Backend(Protocol):
    """Raw key/value access to the table, with explicit partitions."""

    def get(self, key: bytes) -> bytes | None: ...

    def set(self, partition: int, key: bytes, value: bytes) -> None: ...

    def delete(self, partition: int, key: bytes) -> None: ...

    def iter_prefix(self, prefix: bytes) -> Iterable[tuple[bytes, bytes]]: ...


class DictBackend:
    """An in-process backend (tests, and the shape of the Faust one)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.writes: list[tuple[int, bytes, bytes | None]] = []

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def set(self, partition: int, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.writes.append((partition, key, value))

    def delete(self, partition: int, key: bytes) -> None:
        self.data.pop(key, None)
        self.writes.append((partition, key, None))

    def iter_prefix(self, prefix: bytes) -> Iterable[tuple[bytes, bytes]]:
        return [(k, v) for k, v in list(self.data.items()) if k.startswith(prefix)]


def window_codec() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    return W.to_json, W.from_json


def json_codec() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    return (lambda v: v), (lambda v: v)


class _Entry:
    __slots__ = ("value", "partition", "tag", "dirty", "deleted")

    def __init__(self, value: Any, partition: int, tag: int, dirty: bool = False, deleted: bool = False) -> None:
        self.value = value
        self.partition = partition
        self.tag = tag
        self.dirty = dirty
        self.deleted = deleted


class TableStore:
    """StateStore over a backend, with a write-back cache and replay guard (see module doc)."""

    #: every change must reach put() so the key is marked dirty and written at the end of the batch
    live_values = False

    def __init__(self, backend: Backend, prefix: bytes, codec: tuple[Callable, Callable] | None = None,
                 per_partition: Iterable[str] = ()) -> None:
        self.backend = backend
        self.prefix = prefix
        self._encode, self._decode = codec or window_codec()
        #: namespaces whose keys are not scoped by merchant (e.g. the pipeline's ``_models`` warm-up start,
        #: keyed by model name alone): kept once per partition, so a partition's value moves with it
        self.per_partition = frozenset(per_partition)
        self._cache: dict[tuple[str, Key], _Entry] = {}
        self._dirty: dict[tuple[str, Key], _Entry] = {}
        self.partition = 0  # partition of the events being processed
        self.tag = -1  # offset written as the tag of keys put now
        self.replay_offset: int | None = None  # replay mode: offset of the event being replayed
        #: while set, items() lists only this partition's keys (a sweep of expired state, see
        #: PartitionedPipeline.evict: each partition's keys are swept by that partition's own event time)
        self.sweep_partition: int | None = None

    # -- context set by the runtime ---------------------------------------
    def begin(self, partition: int, tag: int) -> None:
        """Keys touched from now on belong to ``partition`` and get tag ``tag`` (the batch's last offset)."""
        self.partition = partition
        self.tag = tag

    def replaying(self, offset: int | None) -> None:
        """Enter replay mode for the event at ``offset`` (None: leave it)."""
        self.replay_offset = offset

    def invalidate(self) -> None:
        """Forget the cache (after a rebalance). Dirty entries must have been flushed."""
        self._cache.clear()
        self._dirty.clear()

    # -- encoding -----------------------------------------------------------
    def _bkey(self, window: str, key: Key) -> bytes:
        return self.prefix + window.encode() + SEP + orjson.dumps(list(key))

    def _load(self, window: str, key: Key) -> _Entry | None:
        raw = self.backend.get(self._bkey(window, key))
        if raw is None:
            return None
        p, tag, payload = orjson.loads(raw)
        return _Entry(self._decode(payload), p, tag)

    def _scoped(self, window: str, key: Key) -> Key:
        return (*key, f"@p{self.partition}") if window in self.per_partition else key

    # -- StateStore protocol ------------------------------------------------
    def _lookup(self, window: str, key: Key) -> tuple[tuple[str, Key], _Entry | None]:
        """The cache key of ``key`` (scoped by partition where its namespace is) and its entry: cached, else loaded."""
        ck = (window, self._scoped(window, key))
        e = self._cache.get(ck)
        return ck, (e if e is not None else self._load(*ck))

    def get(self, window: str, key: Key) -> Any:
        ck, e = self._lookup(window, key)
        if e is None:
            return None
        self._cache[ck] = e
        if self.replay_offset is not None and e.tag >= self.replay_offset:
            fresh = self._load(*ck)  # already holds this event: a copy whose changes are dropped
            return None if fresh is None else fresh.value
        return None if e.deleted else e.value

    def put(self, window: str, key: Key, state: Any) -> None:
        ck, e = self._lookup(window, key)
        if e is not None and self.replay_offset is not None and e.tag >= self.replay_offset:
            return  # replayed event already applied to this key
        if e is None:
            e = _Entry(state, self.partition, self.tag)
        e.value, e.deleted, e.dirty = state, False, True
        if e.partition == self.partition:  # (eviction may rewrite keys of other partitions: keep their tag)
            e.tag = self.tag if self.replay_offset is None else self.replay_offset
        self._cache[ck] = e
        self._dirty[ck] = e

    def delete(self, window: str, key: Key) -> None:
        ck, e = self._lookup(window, key)
        if e is None:
            return
        if self.replay_offset is not None and e.tag >= self.replay_offset and e.partition == self.partition:
            return
        e.value, e.deleted, e.dirty = None, True, True
        self._cache[ck] = e
        self._dirty[ck] = e

    def items(self, window: str) -> Iterator[tuple[Key, Any]]:
        prefix = self.prefix + window.encode() + SEP
        out: list[tuple[Key, Any]] = []
        seen: set[Key] = set()
        only = self.sweep_partition
        for (w, k), e in self._cache.items():
            if w == window:
                seen.add(k)
                if not e.deleted and (only is None or e.partition == only):
                    out.append((k, e.value))
        for bk, raw in self.backend.iter_prefix(prefix):
            k = tuple(orjson.loads(bk[len(prefix):]))
            if k in seen:
                continue
            p, tag, payload = orjson.loads(raw)
            e = _Entry(self._decode(payload), p, tag)
            self._cache[(window, k)] = e
            if only is None or p == only:
                out.append((k, e.value))
        return iter(out)

    def windows(self) -> list[str]:
        names = {w for (w, _k) in self._cache}
        for bk, _ in self.backend.iter_prefix(self.prefix):
            names.add(bk[len(self.prefix):].split(SEP, 1)[0].decode())
        return sorted(names)

    # -- flushing -------------------------------------------------------------
    def pending(self) -> int:
        return len(self._dirty)

    def flush(self, partitions: Iterable[int] | None = None) -> int:
        """Write every dirty key (of ``partitions``, default all) to the backend; return how many."""
        wanted = None if partitions is None else set(partitions)
        n = 0
        for ck, e in list(self._dirty.items()):
            if wanted is not None and e.partition not in wanted:
                continue
            bk = self._bkey(*ck)
            if e.deleted:
                self.backend.delete(e.partition, bk)
                self._cache.pop(ck, None)
            else:
                self.backend.set(e.partition, bk, orjson.dumps([e.partition, e.tag, self._encode(e.value)]))
            e.dirty = False
            del self._dirty[ck]
            n += 1
        return n


@contextmanager
def sweeping(stores: Iterable[TableStore], partition: int | None = None) -> Iterator[None]:
    """While inside, each store lists only one partition's keys: a sweep of expired state touches that partition alone.

    ``partition`` None: each store's current one (:meth:`TableStore.begin`). Event time is per
    partition, so each partition's keys are swept by its own clock (see ``PartitionedPipeline.evict``
    and the re-key side's ``RekeySweeper``).
    """
    stores = list(stores)
    for s in stores:
        s.sweep_partition = s.partition if partition is None else partition
    try:
        yield
    finally:
        for s in stores:
            s.sweep_partition = None
