"""Window aggregates against a brute-force reference that keeps every raw event.

The reference applies the documented semantics literally (bucket floor with
exact fractions, refusal rules, retention of N buckets behind the key's newest
bucket, read range [lo, hi]) and recomputes every aggregate from the events;
the engine's incremental caches must agree after every add and on reads at the
event time, at the key's newest time and later, including after a JSON
round trip of the state.
"""
from __future__ import annotations

import math
import statistics
from fractions import Fraction

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.state.windows import (
    _DS,
    _DC,
    _MN,
    _MX,
    LateEvent,
    ValueWindowState,
    WindowSpec,
    add,
    from_json,
    read,
    to_json,
)

ALL = frozenset({"count", "sum", "min", "max", "mean", "std", "distinct", "last", "bucket_mean", "bucket_std"})

SPECS = [
    WindowSpec("all", 600, 60, ALL, allowed_lateness_s=150),
    WindowSpec("all_excl", 600, 60, ALL, exclude_recent_s=120, allowed_lateness_s=300),
    WindowSpec("late_gt_window", 300, 60, ALL, allowed_lateness_s=1000),
    WindowSpec("counts", 900, 60, {"count", "bucket_mean", "bucket_std"}, allowed_lateness_s=100),
    WindowSpec("counts_excl", 900, 300, {"count", "bucket_std"}, exclude_recent_s=300, allowed_lateness_s=400),
    WindowSpec("min_only", 3600, 300, {"min"}, allowed_lateness_s=600),
    WindowSpec("std_mean", 600, 60, {"std", "mean"}, allowed_lateness_s=200),
    WindowSpec("distinct_only", 600, 120, {"distinct"}, allowed_lateness_s=200),
    WindowSpec("last_max", 600, 60, {"last", "max", "bucket_std"}, exclude_recent_s=60, allowed_lateness_s=120),
]


def bucket(ts: float, b: int) -> Fraction:
    return math.floor(Fraction(ts) / b) * b


class Reference:
    """Keeps raw events; answers with the documented semantics, computed naively."""

    def __init__(self, spec: WindowSpec) -> None:
        self.spec = spec
        self.events: list[tuple[float, float | None, object]] = []
        self.newest: float | None = None
        self.history_abs = 0.0  # largest |value| ever accepted, for the sliding-sum residue bound

    def refusal(self, ts: float) -> str | None:
        s = self.spec
        if self.newest is None or ts >= self.newest:
            return None
        if ts < self.newest - s.allowed_lateness_s:
            return "watermark"
        if bucket(ts, s.bucket_s) < bucket(self.newest, s.bucket_s) - (s.buckets - 1) * s.bucket_s:
            return "expired"
        return None

    def add(self, ts: float, value: float | None, d: object) -> None:
        self.events.append((ts, value, d))
        self.history_abs = max(self.history_abs, abs(value))
        self.newest = ts if self.newest is None else max(self.newest, ts)

    def read(self, ts: float) -> dict[str, object]:
        s = self.spec
        b = s.bucket_s
        cur = bucket(ts, b)
        lo = cur - (s.buckets - 1) * b
        hi = cur if s.exclude_recent_s == 0 else cur - s.exclude_recent_s - b
        keep = -math.inf if self.newest is None else bucket(self.newest, b) - (s.buckets - 1) * b
        sel = [e for e in self.events if lo <= bucket(e[0], b) <= hi and bucket(e[0], b) >= keep]
        values = [e[1] for e in sel]
        n = len(sel)
        counts = []
        k = lo
        while k <= hi:
            counts.append(sum(1 for e in sel if bucket(e[0], b) == k))
            k += b
        last = None
        best = None
        for e in sel:  # arrival order: ties on ts go to the later arrival
            if best is None or e[0] >= best:
                best, last = e[0], e[1]
        return {
            "count": n,
            "sum": math.fsum(values) if n else 0.0,
            "sum_abs": math.fsum(abs(v) for v in values) if n else 0.0,
            "max_abs": max((abs(v) for v in values), default=0.0),
            "min": min(values) if n else None,
            "max": max(values) if n else None,
            "mean": math.fsum(values) / n if n else None,
            "std": statistics.pstdev(values) if n else None,
            "distinct": len({e[2] for e in sel}),
            "last": last,
            "bucket_mean": n / len(counts),
            "bucket_std": statistics.pstdev(counts),
            "nread": len(counts),
            "residue": 1e-24 * self.history_abs * len(self.events),
        }


def check(v, ref: dict[str, object], spec: WindowSpec, where: str) -> None:
    a = spec.aggregates
    assert v.count == ref["count"], where
    # naive float bound on the window's own values, plus the compensated-sliding
    # residue of values that already left (about eps**2 of their magnitude)
    tol_sum = 1e-9 * abs(ref["sum"]) + 1e-12 * ref["sum_abs"] + ref["residue"] + 1e-300
    if "sum" in a:
        assert abs(v.sum - ref["sum"]) <= tol_sum, (where, v.sum, ref["sum"])
    if "mean" in a:
        if ref["mean"] is None:
            assert v.mean is None, where
        else:
            assert abs(v.mean - ref["mean"]) <= tol_sum / ref["count"], (where, v.mean, ref["mean"])
    if "std" in a:
        if ref["std"] is None:
            assert v.std is None, where
        else:
            r, g, m = ref["std"], v.std, ref["max_abs"]
            if r >= 1e-3 * m:  # well-conditioned data: 1e-9 relative
                assert math.isclose(g, r, rel_tol=1e-9), (where, g, r)
            else:  # ill-conditioned (std tiny vs values): no float method beats an absolute floor
                assert abs(g * g - r * r) <= 1e-12 * m * m + 1e-300, (where, g, r)
    for name in ("min", "max", "last", "distinct"):
        if name in a:
            assert getattr(v, name) == ref[name], (where, name, getattr(v, name), ref[name])
    if "distinct" in a:
        assert v.distinct_exact is True
    if "bucket_mean" in a:
        assert math.isclose(v.bucket_mean, ref["bucket_mean"], rel_tol=1e-15), where
    if "bucket_std" in a:
        assert math.isclose(v.bucket_std, ref["bucket_std"], rel_tol=1e-12, abs_tol=1e-12), (
            where,
            v.bucket_std,
            ref["bucket_std"],
        )
    assert spec.read_buckets == ref["nread"]


def check_cache(state, spec: WindowSpec) -> None:
    """White-box: right after a read the cache equals a recount of the records in its range."""
    if state is None or state._lo is None:
        return
    recs = [r for s, r in state.buckets.items() if state._lo <= s <= state._hi]
    if not isinstance(state, ValueWindowState):
        assert state._n == sum(recs) and state._cc == sum(c * c for c in recs)
        return
    assert state._n == sum(r[0] for r in recs)
    if "min" in spec.aggregates and recs:  # tie counts must be exact, or a slide recomputes in vain
        assert state._min == min(r[_MN] for r in recs)
        assert state._minc == sum(1 for r in recs if r[_MN] == state._min)
    if "max" in spec.aggregates and recs:
        assert state._max == max(r[_MX] for r in recs)
        assert state._maxc == sum(1 for r in recs if r[_MX] == state._max)
    if "distinct" in spec.aggregates:
        want: dict = {}
        for r in recs:
            for d in r[_DS]:
                want[d] = want.get(d, 0) + 1
        assert dict(state._dist) == want
        assert state._dcap == sum(1 for r in recs if r[_DC])


values = st.one_of(
    st.integers(0, 100_000).map(lambda c: c / 100),  # prices in yuan
    # magnitudes below 1e-9 only test float underflow of squares, not window math
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(lambda x: x == 0 or abs(x) >= 1e-9),
    st.sampled_from([0.0, 1.0, 1e9, -1e9, 0.1, 1e-3]),
)
distincts = st.one_of(st.integers(0, 8), st.sampled_from(["a", "b", "甲", "c"]))
step = st.tuples(
    st.one_of(st.just(0.0), st.integers(0, 90).map(float), st.floats(0, 2500, allow_nan=False)),  # clock advance
    st.one_of(st.just(0.0), st.floats(0, 600, allow_nan=False), st.integers(0, 1200).map(float)),  # lateness jitter
    values,
    distincts,
    st.floats(0, 1500, allow_nan=False),  # how far after newest to read
    st.integers(0, 9),  # 0: JSON round trip of the state after this step
)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.integers(0, 10**9).map(float), steps=st.lists(step, min_size=1, max_size=70))
def test_matches_brute_force(spec: WindowSpec, start: float, steps: list[tuple]) -> None:
    ref = Reference(spec)
    state = None
    clock_t = start
    for i, (adv, jitter, value, d, ahead, rt) in enumerate(steps):
        clock_t += adv
        ts = clock_t - jitter
        expected = ref.refusal(ts)
        try:
            state = add(state, spec, ts, value, d)
        except LateEvent as late:
            event(f"refused: {late.reason}")
            assert late.reason == expected, (i, ts, late.reason, expected)
            assert late.window == spec.name
        else:
            assert expected is None, (i, ts, expected)
            ref.add(ts, value, d)
        if rt == 0 and state is not None:
            state = from_json(orjson.loads(orjson.dumps(to_json(state))))
        if state is not None:
            assert len(state.buckets) <= spec.buckets
        for when in (ts, ref.newest, (ref.newest or ts) + ahead, ts):
            if when is None:
                continue
            check(read(state, spec, when), ref.read(when), spec, f"step {i} read at {when}")
            check_cache(state, spec)
