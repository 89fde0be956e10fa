"""MemoryStore and eviction."""
from __future__ import annotations

from engine.state.store import MemoryStore, StateStore, evict
from engine.state.windows import WindowClock, WindowSpec, add, read

T0 = 1_700_006_400.0


def test_memory_store_is_a_state_store() -> None:
    store = MemoryStore()
    assert isinstance(store, StateStore)
    spec = WindowSpec("c", 600)
    key = ("m-1", "sku-9")
    assert store.get("c", key) is None
    store.put("c", key, add(store.get("c", key), spec, T0))
    store.put("c", key, add(store.get("c", key), spec, T0 + 1))
    assert read(store.get("c", key), spec, T0 + 1).count == 2
    assert store.windows() == ["c"] and store.size("c") == 1 and store.size("other") == 0
    assert [k for k, _ in store.items("c")] == [key]
    assert list(store.items("other")) == []
    store.delete("c", key)
    store.delete("c", key)  # absent: no error
    store.delete("other", key)
    assert store.get("c", key) is None and store.get("other", key) is None
    store.put("c", key, add(None, spec, T0))
    store.drop_window("c")
    assert store.windows() == []


def test_evict_removes_only_keys_no_future_read_can_see() -> None:
    spec = WindowSpec("c", 600, 60, allowed_lateness_s=120)
    clock = WindowClock.for_spec(spec)
    store = MemoryStore()
    for i in range(10):  # key i last seen at T0 + 100 * i
        key = (f"m{i}",)
        store.put("c", key, add(store.get("c", key), spec, T0 + 100 * i, clock=clock))
    store.put("other", ("m0",), add(None, spec, T0))
    assert clock.watermark == T0 + 900 - 120
    # reads at >= T0+780 cover buckets from T0+780-540 = T0+240: keys 0-2 (buckets T0, +60, +180) are gone
    assert store.evict(spec, clock.watermark) == 3
    assert sorted(k for k, _ in store.items("c")) == [(f"m{i}",) for i in range(3, 10)]
    assert store.get("other", ("m0",)) is not None  # other windows untouched
    assert evict(store, spec, clock.watermark) == 0
    assert evict(store, spec, T0 + 10_000) == 7
