"""The re-key side forgets expired cross-merchant keys, at the watermark of its slowest source partition."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from engine.errors import Location
from engine.events.decode import EventDecoder
from engine.pipeline import Pipeline
from engine.rules.evaluator import compile_pack
from engine.rules.loader import load_pack
from engine.runtime.faust_app import Worker, marker_doc, read_marker
from engine.runtime.faust_store import DictBackend, TableStore, json_codec, sweeping
from engine.runtime.rekey_sweep import SEEN, RekeySweeper, source_watermark
from engine.runtime.topology import plan_for, restrict
from engine.state import windows as W

ROOT = Path(__file__).parents[2]
WINDOW = "claimant_spread_30d"  # cn-platform's cross-merchant window: 30 days, keyed by complainant


@pytest.fixture(scope="module")
def cn():
    return compile_pack(load_pack(ROOT / "rules" / "cn-platform"))


@pytest.fixture(scope="module")
def complaints(small_stream):
    lines = [l for l in small_stream[0].splitlines() if l.strip()]
    decoded = EventDecoder().decode_batch([(l, Location(line=i + 1)) for i, l in enumerate(lines)])
    out, seen = [], set()
    for ev, _ in decoded.events:
        if type(ev).__name__ == "Complaint" and ev.complainant_hash not in seen:
            seen.add(ev.complainant_hash)
            out.append(ev)
    assert len(out) >= 6, "the stream should hold complaints from six complainants"
    return out


class _ReKeySide:
    """What the worker keeps for the re-key topic: the group's pipeline, its two stores, clocks per source."""

    def __init__(self, cn):
        self.cn = cn
        self.group = plan_for(cn).groups[0]
        assert list(self.group.windows) == [WINDOW]
        backend = DictBackend()
        self.xw = TableStore(backend, b"w")
        self.xa = TableStore(backend, b"a", json_codec())
        self.xp = Pipeline(restrict(cn, frozenset(self.group.windows), keep_rules=False), store=self.xw,
                           dedup_store=self.xa)
        self.clocks: dict[tuple[int, int], dict[str, W.WindowClock]] = {}
        self.offset = 0

    def feed(self, partition: int, source: int, event) -> None:
        """As Worker._cross_values: the source's clocks in, the event observed, its source offset recorded."""
        clocks = self.clocks.setdefault((partition, source), {n: W.WindowClock.for_spec(s) for n, s in self.cn.windows.items()})
        self.offset += 1
        for s in (self.xw, self.xa):
            s.begin(partition, self.offset)
        Worker._use_clocks(self.xp, clocks)
        self.xp.observe(event)
        Worker._keep_clocks(self.xp, clocks)
        self.xa.put(SEEN, (str(self.group.index), event.complainant_hash), {str(source): self.offset})

    def sweep(self, sweeper: RekeySweeper, partition: int) -> int:
        """As Worker._sweep_rekey."""
        sources = [c for (p, _src), c in self.clocks.items() if p == partition]
        with sweeping((self.xw, self.xa), partition):
            return sweeper.sweep(partition, self.cn.windows, [(self.group.index, self.group.windows)], sources,
                                 self.xw, self.xa)

    def holds(self, complainant: str) -> tuple[bool, bool]:
        """(window state kept, source-offset record kept) for a complainant."""
        return (self.xw.get(WINDOW, (complainant,)) is not None,
                self.xa.get(SEEN, (str(self.group.index), complainant)) is not None)


def test_a_key_is_kept_while_the_slowest_source_can_still_read_it(cn, complaints):
    a, b, c, d, e, f = complaints[:6]
    t0 = a.occurred_at
    at = lambda ev, days: msgspec.structs.replace(ev, occurred_at=t0 + timedelta(days=days))  # noqa: E731
    side = _ReKeySide(cn)
    sweeper = RekeySweeper(every_s=3600)
    side.feed(0, 0, a)
    side.feed(0, 1, at(b, 0))
    side.feed(1, 0, at(d, 0))  # a key of another re-key partition
    # source 1 runs 60 days ahead; source 0 has not moved: a and b may still be read by source 0
    side.feed(0, 1, at(c, 60))
    assert side.sweep(sweeper, 0) == 0
    assert side.holds(a.complainant_hash) == (True, True)
    assert side.holds(b.complainant_hash) == (True, True)
    # source 0 catches up to 45 days: no read of any source can see a or b any more
    side.feed(0, 0, at(e, 45))
    assert side.sweep(sweeper, 0) == 4  # two window keys and their two source-offset records
    assert side.holds(a.complainant_hash) == (False, False)
    assert side.holds(b.complainant_hash) == (False, False)
    assert side.holds(c.complainant_hash) == (True, True)
    assert side.holds(e.complainant_hash) == (True, True)
    # partition 1's key is swept only by partition 1's own sources
    assert side.holds(d.complainant_hash) == (True, True)
    side.feed(1, 0, at(f, 45))
    assert side.sweep(sweeper, 1) == 2
    assert side.holds(d.complainant_hash) == (False, False)


def test_each_window_is_swept_every_quarter_of_its_length(cn, complaints):
    a, b, c, d, e = complaints[:5]
    day0 = a.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
    at = lambda ev, days: msgspec.structs.replace(ev, occurred_at=day0 + timedelta(days=days, hours=12))  # noqa: E731
    side = _ReKeySide(cn)
    sweeper = RekeySweeper(every_s=3600)
    side.feed(0, 0, at(a, 0))
    side.feed(0, 0, at(b, 5))
    assert side.sweep(sweeper, 0) == 0  # the first batch sweeps; nothing has expired
    side.feed(0, 0, at(c, 33))  # reads now cover days 4-33: a (day 0) has left, b (day 5) has not
    assert side.sweep(sweeper, 0) == 2
    assert side.holds(a.complainant_hash) == (False, False)
    side.feed(0, 0, at(d, 37))  # b (day 5) has left too, but the window is swept only every 7.5 days
    assert side.sweep(sweeper, 0) == 0
    assert side.holds(b.complainant_hash) == (True, True)
    side.feed(0, 0, at(e, 41))
    assert side.sweep(sweeper, 0) == 2
    assert side.holds(b.complainant_hash) == (False, False)
    assert side.holds(c.complainant_hash) == (True, True)


def test_source_watermark_ignores_sources_without_events():
    spec = W.WindowSpec("w", 86400, 3600, allowed_lateness_s=60)
    fresh, ahead, behind = W.WindowClock.for_spec(spec), W.WindowClock(60, 10_000.0), W.WindowClock(60, 5_000.0)
    assert source_watermark("w", []) is None
    assert source_watermark("w", [{"w": fresh}]) is None
    assert source_watermark("w", [{"w": fresh}, {"w": ahead}, {"w": behind}]) == 4_940.0
    assert source_watermark("other", [{"w": ahead}]) is None
    # a source that sent events none of which this window counted may still read all of it
    assert source_watermark("w", [{"w": behind}, {"w": W.WindowClock(60), "v": W.WindowClock(60, 9_000.0)}]) is None
    assert source_watermark("v", [{"w": behind}, {"w": W.WindowClock(60), "v": W.WindowClock(60, 9_000.0)}]) is None


def test_marker_keeps_each_sources_clocks():
    clocks = {"a": W.WindowClock(60, 100.0), "b": W.WindowClock(60)}
    sources = {3: {"a": W.WindowClock(60, 50.0)}, 7: {"a": W.WindowClock(60)}}
    offset, times, by_source = read_marker(marker_doc(41, clocks, sources))
    assert (offset, times, by_source) == (41, {"a": 100.0, "b": None}, {3: {"a": 50.0}, 7: {"a": None}})
    # a merchant partition's marker (and one written before source clocks were kept) has none
    assert read_marker(marker_doc(5, clocks, {}))[2] == {}
    assert read_marker(b'{"o": 5, "c": {"a": 1.0}}') == (5, {"a": 1.0}, {})
