"""The pure parts of distributed mode (no broker): topology plan, table store and replay guard, pack bundles."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from engine.errors import Location
from engine.pipeline import Pipeline
from engine.rules.evaluator import compile_pack
from engine.rules.loader import load_pack
from engine.runtime.faust_app import bundle_pack, compile_bundle, value_from_json, value_to_json
from engine.runtime.faust_store import DictBackend, TableStore, json_codec
from engine.runtime.topology import is_merchant_scoped, plan_for, restrict
from engine.state import windows as W

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def cn():
    return compile_pack(load_pack(ROOT / "rules" / "cn-platform"))


def test_plan_finds_the_cross_merchant_windows(cn, starter):
    plan = plan_for(cn)
    assert plan.cross_windows == {"claimant_spread_30d"}
    assert plan.rekeyed_types == {"complaint"}
    assert plan_for(starter).groups == ()
    assert is_merchant_scoped((("merchant", "merchant_id"), ("sku_id",)))
    assert is_merchant_scoped((("room_id",), ("current_item_id",)))
    assert not is_merchant_scoped((("complainant_hash",),))


def test_restrict_keeps_rules_and_drops_feeds(cn):
    local = restrict(cn, frozenset(cn.windows) - {"claimant_spread_30d"}, keep_rules=True)
    assert all(w.name != "claimant_spread_30d" for ws in local.feeds.values() for w in ws)
    assert local.rules == cn.rules
    only = restrict(cn, frozenset({"claimant_spread_30d"}), keep_rules=False)
    assert [w.name for w in only.feeds["complaint"]] == ["claimant_spread_30d"]
    assert all(not r for r in only.rules.values())


def test_window_value_round_trip(cn):
    spec = cn.windows["claimant_spread_30d"]
    st = None
    for i in range(25):
        st = W.add(st, spec, 1000.0 + i, None, f"m{i % 12}")
    v = W.read(st, spec, 1030.0)
    back = value_from_json(spec, orjson.loads(orjson.dumps(value_to_json(v))))
    assert (back.count, back.distinct) == (25, 12)


def _table_pipeline(compiled):
    b = DictBackend()
    return b, Pipeline(compiled, store=TableStore(b, b"w"), dedup_store=TableStore(b, b"a", json_codec()))


def test_table_store_pipeline_equals_memory(starter, small_stream):
    lines = [l for l in small_stream[0].splitlines() if l.strip()]
    items = [(l, Location(line=i + 1)) for i, l in enumerate(lines)]
    mem = Pipeline(starter)
    backend, tab = _table_pipeline(starter)
    a, b = [], []
    for i in range(0, len(items), 700):
        a += mem.process_raw(items[i:i + 700]).emitted
        tab.store.begin(0, i)
        tab.alert_state.begin(0, i)
        b += tab.process_raw(items[i:i + 700]).emitted
        tab.store.flush()
        tab.alert_state.flush()
        if i % 2100 == 0:  # as after a rebalance: only the table is left
            tab.store.invalidate()
            tab.alert_state.invalidate()
    assert [(x.alert_id, x.hits) for x in a] == [(x.alert_id, x.hits) for x in b]
    assert backend.writes


def test_replay_guard_never_counts_an_event_twice(starter):
    spec = starter.windows["complaints_24h"]
    b = DictBackend()
    store = TableStore(b, b"w")
    store.begin(0, 10)  # batch with offsets ..10
    st = W.add(None, spec, 100.0)
    store.put("complaints_24h", ("m1",), st)
    store.flush()
    store.invalidate()
    # the event at offset 7 comes again after a crash: the key's tag (10) says it is in already
    store.replaying(7)
    again = store.get("complaints_24h", ("m1",))
    again = W.add(again, spec, 100.0)
    store.put("complaints_24h", ("m1",), again)
    store.replaying(None)
    assert W.read(store.get("complaints_24h", ("m1",)), spec, 100.0).count == 1
    # an event after the tag is applied
    store.replaying(11)
    s2 = W.add(store.get("complaints_24h", ("m1",)), spec, 101.0)
    store.put("complaints_24h", ("m1",), s2)
    store.replaying(None)
    assert W.read(store.get("complaints_24h", ("m1",)), spec, 101.0).count == 2


def test_bundle_round_trip_and_refusals(tmp_path):
    data = bundle_pack(ROOT / "rules" / "starter")
    assert compile_bundle(data).name == "starter"
    with pytest.raises(ValueError):
        compile_bundle(orjson.dumps({"format": "other"}))
    evil = orjson.dumps({"format": "hongdun-pack/1", "files": {"../x.yaml": "a: 1"}})
    with pytest.raises(ValueError):
        compile_bundle(evil)


def _ev(partition: int, offset: int):
    from types import SimpleNamespace

    return SimpleNamespace(message=SimpleNamespace(partition=partition, offset=offset))


def test_split_restores_offset_order_and_drops_redelivered_records():
    """After Faust re-fetches from an earlier offset, a batch can hold a record twice and out of order."""
    from engine.runtime.faust_app import split_by_partition

    events = [_ev(0, 91), _ev(1, 5), _ev(0, 0), _ev(0, 1), _ev(0, 91), _ev(0, 92), _ev(1, 4)]
    parts = split_by_partition(events)
    assert {p: [e.message.offset for e in evs] for p, evs in parts.items()} == {0: [0, 1, 91, 92], 1: [4, 5]}


def test_seek_uncommitted_to_start_rewinds_partitions_without_a_commit():
    """Faust's seek to committed offsets leaves a partition without one where it is: it is sought to its start."""
    import asyncio
    from collections import namedtuple

    from engine.runtime.faust_app import seek_uncommitted_to_start

    tp = namedtuple("TP", "topic partition")
    a0, a1, a2, c0 = tp("x-events", 0), tp("x-events", 1), tp("x-events", 2), tp("g-state-changelog", 0)

    class FakeConsumer:
        flow_active = True

        def __init__(self) -> None:
            self.seeks: list = []
            self.flow: list = []

        async def seek_to_committed(self):
            return {a0: 17, a1: None, a2: 0, c0: None}

        async def earliest_offsets(self, *tps):
            return {t: 3 for t in tps}

        async def seek(self, t, offset):
            self.seeks.append((t.topic, t.partition, offset))

        def stop_flow(self):
            self.flow.append("stop")
            self.flow_active = False

        def resume_flow(self):
            self.flow.append("resume")
            self.flow_active = True

    c = FakeConsumer()
    seek_uncommitted_to_start(c, {"x-events"})
    committed = asyncio.run(c.seek_to_committed())
    assert committed[a0] == 17
    assert sorted(c.seeks) == [("x-events", 1, 3), ("x-events", 2, 3)]  # not the changelog, not the committed one
    assert c.flow == ["stop"]  # Faust resumes the flow itself right after


def test_table_store_keeps_per_partition_namespaces_apart():
    """The pipeline's model warm-up start (``_models``, keyed by model name) is kept once per partition."""
    b = DictBackend()
    store = TableStore(b, b"a", json_codec(), per_partition={"_models"})
    store.begin(0, 5)
    store.put("_models", ("live_traffic",), {"first": 1.0})
    store.put("_dedup", ("R", "m1", ""), ["id", 1.0, 1.0, 1, 60])
    store.begin(1, 9)
    assert store.get("_models", ("live_traffic",)) is None
    assert store.get("_dedup", ("R", "m1", "")) is not None
    store.put("_models", ("live_traffic",), {"first": 2.0})
    store.flush()
    store.invalidate()
    store.begin(0, 6)
    assert store.get("_models", ("live_traffic",)) == {"first": 1.0}
    store.begin(1, 10)
    assert store.get("_models", ("live_traffic",)) == {"first": 2.0}
    assert {p for p, _k, _v in b.writes} == {0, 1}


def test_a_partition_ahead_in_event_time_does_not_sweep_a_lagging_partitions_alerts(starter, small_stream):
    """One pipeline serves all of a worker's partitions, and they can be hours apart in event time.

    An event of a partition months ahead triggers the sweep of expired state; an alert still open on a
    lagging partition must survive it: that partition's next hit joins the alert, as in one process.
    And the lagging partition's own expired state is still swept by its own event time.
    """
    import msgspec

    from engine.events.decode import EventDecoder
    from engine.runtime.faust_app import PartitionedPipeline, Worker

    lines = [l for l in small_stream[0].splitlines() if l.strip()]
    decoded = EventDecoder().decode_batch([(l, Location(line=i + 1)) for i, l in enumerate(lines)])
    events = [e for e, _ in decoded.events]
    by_id = {e.event_id: e for e in events}
    # an alert of one process with at least two hits, and the events of its first two hits
    mem = Pipeline(starter)
    hits: dict[str, list[str]] = {}
    for i in range(0, len(events), 500):
        for a in mem.process(events[i:i + 500]).emitted:
            if a.model is None:
                hits.setdefault(a.alert_id, []).append(a.source_event_ids[-1])
    aid, (first, second) = next((k, v[:2]) for k, v in hits.items() if len(v) >= 2)
    e1, e2 = by_id[first], by_id[second]
    other = next(e for e in events if e.merchant.merchant_id != e1.merchant.merchant_id)
    far = msgspec.structs.replace(other, occurred_at=e2.occurred_at + timedelta(days=90))
    # then partition 0 much later, yet still behind partition 1: its own expired state must be swept
    later = msgspec.structs.replace(other, occurred_at=e2.occurred_at + timedelta(days=45), event_id=other.event_id + "x")

    b = DictBackend()
    pipe = PartitionedPipeline(starter, store=TableStore(b, b"w"), dedup_store=TableStore(b, b"a", json_codec()))
    clocks: dict[int, dict] = {0: {}, 1: {}}
    got = []
    open_ids = []
    for offset, (partition, ev) in enumerate([(0, e1), (1, far), (0, e2), (0, later)]):
        Worker._use_clocks(pipe, clocks[partition])
        pipe.enter_partition(partition)  # as the worker does before each partition's events
        pipe.store.begin(partition, offset)
        pipe.alert_state.begin(partition, offset)
        got += [(a.alert_id, a.hits) for a in pipe.process([ev]).emitted if a.merchant.merchant_id == e1.merchant.merchant_id]
        Worker._keep_clocks(pipe, clocks[partition])
        pipe.store.flush()
        pipe.alert_state.flush()
        open_ids.append({v[0] for _, v in pipe.alert_state.items("_dedup")})
    assert (aid, 1) in got and (aid, 2) in got, got  # the second hit joined the alert opened by the first
    assert aid in open_ids[2] and aid not in open_ids[3], "partition 0 swept its expired alert by its own time"
