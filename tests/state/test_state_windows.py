"""Unit tests of engine.state.windows: specs, worked examples, lateness, expiry, memory, JSON."""
from __future__ import annotations

import math
import random
import statistics

import orjson
import pytest

from engine.errors import StateError
from engine.state import windows as w
from engine.state.windows import (
    LateEvent,
    WindowClock,
    WindowSpec,
    add,
    coverage,
    default_bucket,
    expired,
    from_json,
    read,
    to_json,
)

DAY = 86400
HOUR = 3600
T0 = 1_700_006_400.0  # a UTC midnight (multiple of 86400)


# ---------------------------------------------------------------- specs


@pytest.mark.parametrize(
    "duration, bucket",
    [
        (60, 60),
        (600, 60),
        (2700, 60),
        (HOUR, 300),
        (2 * HOUR, 300),
        (6 * HOUR, 900),
        (DAY, HOUR),
        (2 * DAY, HOUR),
        (7 * DAY, 6 * HOUR),
        (28 * DAY, DAY),
        (30 * DAY, DAY),
    ],
)
def test_default_bucket_is_natural_and_at_most_48(duration: int, bucket: int) -> None:
    assert default_bucket(duration) == bucket
    assert duration // bucket <= 48
    assert WindowSpec("x", duration).bucket_s == bucket


def test_default_bucket_refuses_durations_without_a_natural_unit() -> None:
    with pytest.raises(ValueError, match="bucket_s explicitly"):
        default_bucket(90)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"duration_s": 59}, "duration_s"),
        ({"duration_s": 31 * DAY}, "duration_s"),
        ({"duration_s": True}, "duration_s"),
        ({"duration_s": 600.0}, "duration_s"),
        ({"duration_s": 600, "bucket_s": 30}, "bucket_s"),
        ({"duration_s": 600, "bucket_s": 90}, "multiple"),
        ({"duration_s": 30 * DAY, "bucket_s": 60}, "buckets"),
        ({"duration_s": 600, "aggregates": {"count", "median"}}, "'median'"),
        ({"duration_s": 600, "aggregates": set()}, "empty"),
        ({"duration_s": 600, "aggregates": "count"}, "set of names"),
        ({"duration_s": 600, "exclude_recent_s": 30}, "exclude_recent_s"),
        ({"duration_s": 600, "bucket_s": 60, "exclude_recent_s": 540}, "leaves no bucket"),
        ({"duration_s": 600, "allowed_lateness_s": -1}, "allowed_lateness_s"),
    ],
)
def test_invalid_specs_name_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WindowSpec("bad", **kwargs)


def test_spec_normalises_aggregates_and_is_hashable() -> None:
    a = WindowSpec("x", 600, aggregates=["min", "count"])
    b = WindowSpec("x", 600, 60, frozenset({"count", "min"}))
    assert a == b and hash(a) == hash(b)
    assert a.aggregates == frozenset({"min", "count"})
    assert a.fingerprint() == {"name": "x", "duration_s": 600, "bucket_s": 60, "aggregates": ["count", "min"]}
    assert a.buckets == 10 and a.read_buckets == 10
    assert WindowSpec("y", 600, 60, exclude_recent_s=120).read_buckets == 7


# ---------------------------------------------------------------- read results


def test_empty_reads() -> None:
    spec = WindowSpec("all", 600, aggregates=w.AGGREGATES)
    v = read(None, spec, T0)
    assert v.as_dict() == {
        "count": 0,
        "sum": 0.0,
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "distinct": 0,
        "distinct_exact": True,
        "last": None,
        "bucket_mean": 0.0,
        "bucket_std": 0.0,
    }
    counts = WindowSpec("c", 600, aggregates={"count", "bucket_mean", "bucket_std"})
    assert read(None, counts, T0).as_dict() == {"count": 0, "bucket_mean": 0.0, "bucket_std": 0.0}


def test_reading_an_aggregate_the_window_does_not_keep_names_the_window() -> None:
    spec = WindowSpec("complaints_24h", DAY)
    v = read(add(None, spec, T0), spec, T0)
    assert v.count == 1
    with pytest.raises(AttributeError, match="complaints_24h.*'min'"):
        _ = v.min
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = v.nonsense
    assert "count=1" in repr(v)


def test_surge_against_28_day_baseline_excluding_last_24h() -> None:
    """2 complaints a day for 30 days, then 20 in the last hours: the baseline does not see the surge."""
    recent = WindowSpec("complaints_24h", DAY)
    base = WindowSpec(
        "complaints_base", 28 * DAY, aggregates={"bucket_mean", "bucket_std", "count"}, exclude_recent_s=DAY
    )
    assert base.bucket_s == DAY and base.read_buckets == 26  # today is open, yesterday ended < 24 h ago
    sr = sb = None
    for day in range(30):
        for t in (3 * HOUR, 15 * HOUR):
            ts = T0 + day * DAY + t
            sr = add(sr, recent, ts)
            sb = add(sb, base, ts)
    now = T0 + 30 * DAY + 10 * HOUR
    for i in range(20):
        ts = now - i * 60
        sr = add(sr, recent, ts)
        sb = add(sb, base, ts)
    r = read(sr, recent, now)
    b = read(sb, base, now)
    assert r.count == 20 + 1  # the 15:00 complaint of yesterday is inside the last 24 h
    assert b.count == 52 and b.bucket_mean == 2.0 and b.bucket_std == 0.0
    z = (r.count - b.bucket_mean) / max(b.bucket_std, 1.0)  # a rule's surge score
    assert z > 10


def test_lowest_paid_price_per_sku_in_7_days() -> None:
    spec = WindowSpec("price_7d", 7 * DAY, aggregates={"min", "max", "mean", "count"})
    st = None
    prices = [(0, 99.0), (1, 89.5), (3, 12.0), (6, 95.0), (9, 97.0)]  # (day, price)
    for day, p in prices:
        st = add(st, spec, T0 + day * DAY + 12 * HOUR, p)
    v = read(st, spec, T0 + 9 * DAY + 12 * HOUR)
    assert v.min == 12.0  # day 3 is still inside 7 days
    v = read(st, spec, T0 + 10 * DAY + 13 * HOUR)
    assert v.min == 95.0 and v.max == 97.0 and v.count == 2 and v.mean == 96.0


def test_distinct_complainants_and_last() -> None:
    spec = WindowSpec("complainants_7d", 7 * DAY, aggregates={"distinct", "last", "count"})
    st = None
    for i, who in enumerate(["u1", "u2", "u1", "u3", "u2"]):
        st = add(st, spec, T0 + i * HOUR, float(i), distinct=who)
    v = read(st, spec, T0 + 5 * HOUR)
    assert (v.count, v.distinct, v.distinct_exact, v.last) == (5, 3, True, 4.0)


def test_std_is_accurate_with_a_large_common_offset() -> None:
    """M2 per bucket (not a sum of squares): prices near 1e9 keep their std."""
    spec = WindowSpec("p", DAY, aggregates={"std", "mean"})
    rng = random.Random(1)
    vals = [1e9 + rng.randint(0, 10_000) / 100 for _ in range(5000)]
    st = None
    for i, v in enumerate(vals):
        st = add(st, spec, T0 + i * 10.0, v)
    got = read(st, spec, T0 + 5000 * 10.0)
    assert math.isclose(got.std, statistics.pstdev(vals), rel_tol=1e-9)


def test_sum_leaves_no_residue_when_buckets_slide_out() -> None:
    spec = WindowSpec("s", 600, 60, {"sum", "mean"})
    st = None
    for x in (1e9, 0.02, 0.01, 0.3):
        st = add(st, spec, T0, x)
    read(st, spec, T0)  # build the cache over the first bucket
    st = add(st, spec, T0 + 540, 0.0)
    st = add(st, spec, T0 + 541, 0.7)
    assert read(st, spec, T0 + 541).sum == pytest.approx(1e9 + 1.03, rel=1e-15)
    v = read(st, spec, T0 + 600)  # the first bucket left
    assert v.sum == 0.7 and v.mean == 0.35


def test_reads_do_not_change_state_content() -> None:
    spec = WindowSpec("p", HOUR, aggregates=w.AGGREGATES)
    st = None
    for i in range(50):
        st = add(st, spec, T0 + i * 97.0, float(i % 7), distinct=i % 5)
    before = to_json(st)
    for t in (T0, T0 + 4000, T0 + 10_000, T0 + 2000):
        read(st, spec, t)
    assert to_json(st) == before


def test_coverage_describes_the_read_interval() -> None:
    spec = WindowSpec("x", 600, 60)
    assert coverage(spec, T0 + 125) == (T0 + 120 - 540, T0 + 125)
    base = WindowSpec("b", 28 * DAY, DAY, exclude_recent_s=DAY)
    assert coverage(base, T0 + 10 * HOUR) == (T0 - 27 * DAY, T0 - DAY)


# ---------------------------------------------------------------- values and ids


def test_value_windows_need_a_finite_value() -> None:
    spec = WindowSpec("p", 600, aggregates={"min"})
    for bad in (None, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite numeric value"):
            add(None, spec, T0, bad)
    counts = WindowSpec("c", 600)
    assert read(add(None, counts, T0, 5.0), counts, T0).count == 1  # a value is simply not needed


def test_distinct_windows_need_a_scalar_id() -> None:
    spec = WindowSpec("d", 600, aggregates={"distinct"})
    for bad in (None, ("a", "b"), ["a"], b"x"):
        with pytest.raises(TypeError, match="distinct id"):
            add(None, spec, T0, distinct=bad)


# ---------------------------------------------------------------- lateness


def test_late_within_lateness_goes_to_its_own_bucket() -> None:
    spec = WindowSpec("c", 600, 60, {"count", "bucket_std"}, allowed_lateness_s=300)
    st = add(None, spec, T0 + 500)
    st = add(st, spec, T0 + 250)  # 250 s late: accepted, into an older bucket
    assert sorted(st.buckets) == [T0 + 240, T0 + 480]
    assert read(st, spec, T0 + 500).count == 2
    assert read(st, spec, T0 + 250).count == 1  # a read at the late event's time sees only its past


def test_events_older_than_the_key_watermark_are_refused_and_leave_state_alone() -> None:
    spec = WindowSpec("c", 600, 60, aggregates={"count", "sum"}, allowed_lateness_s=300)
    st = add(None, spec, T0 + 1000, 1.0)
    before = to_json(st)
    with pytest.raises(LateEvent) as info:
        add(st, spec, T0 + 699, 1.0)
    assert info.value.reason == "watermark" and info.value.watermark == T0 + 700 and info.value.window == "c"
    assert to_json(st) == before
    add(st, spec, T0 + 700, 1.0)  # exactly at the watermark: accepted


def test_event_whose_bucket_left_the_window_is_refused_as_expired() -> None:
    spec = WindowSpec("c", 300, 60, allowed_lateness_s=3600)  # lateness longer than the window
    st = add(None, spec, T0 + 1000)
    with pytest.raises(LateEvent) as info:
        add(st, spec, T0 + 600)
    assert info.value.reason == "expired"
    add(st, spec, T0 + 780)  # bucket T0+780 is still kept (newest bucket 960, span 240)


def test_window_clock_refuses_across_keys_and_advances() -> None:
    spec = WindowSpec("c", 600, allowed_lateness_s=100)
    clock = WindowClock.for_spec(spec)
    assert clock.watermark == -math.inf and not clock.is_late(0)
    a = add(None, spec, T0 + 1000, clock=clock)  # key A
    assert clock.max_ts == T0 + 1000 and clock.watermark == T0 + 900
    with pytest.raises(LateEvent) as info:
        add(None, spec, T0 + 850, clock=clock)  # key B, first event, but behind the window's clock
    assert info.value.reason == "watermark"
    add(None, spec, T0 + 950, clock=clock)  # within lateness: fine, clock unchanged
    assert clock.max_ts == T0 + 1000
    add(a, spec, T0 + 1200, clock=clock)
    assert clock.watermark == T0 + 1100 and clock.is_late(T0 + 1099)
    clock.observe(T0 + 1)
    assert clock.max_ts == T0 + 1200


# ---------------------------------------------------------------- expiry and memory


def test_expired_when_no_bucket_is_left_for_reads_at_the_watermark() -> None:
    spec = WindowSpec("c", 600, 60)  # reads at t cover buckets from floor(t) - 540
    st = add(None, spec, T0 + 10)  # bucket T0
    assert not expired(st, spec, -math.inf)
    assert not expired(st, spec, T0 + 599)
    assert expired(st, spec, T0 + 600)
    assert expired(None, spec, T0)
    assert read(st, spec, T0 + 599).count == 1 and read(st, spec, T0 + 600).count == 0


def test_memory_is_bounded_by_the_number_of_buckets() -> None:
    spec = WindowSpec("p", 7 * DAY, HOUR, {"min", "max", "sum", "std", "last", "count"}, allowed_lateness_s=2 * HOUR)
    rng = random.Random(7)
    st = None
    t = T0
    for _ in range(100_000):
        t += rng.expovariate(1 / 30)  # ~35 days of events
        st = add(st, spec, t - rng.uniform(0, HOUR), rng.uniform(1, 100))
        assert len(st.buckets) <= spec.buckets
    assert len(st.buckets) == spec.buckets == 168
    assert all(isinstance(rec, list) and len(rec) <= 9 for rec in st.buckets.values())


def test_distinct_sets_are_capped_and_reads_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w, "DISTINCT_CAP", 5)
    spec = WindowSpec("d", 600, 60, {"distinct"})
    st = None
    for i in range(12):
        st = add(st, spec, T0 + 1, distinct=f"u{i}")
    v = read(st, spec, T0 + 1)
    assert v.distinct == 5 and v.distinct_exact is False  # a lower bound
    assert all(len(rec[w._DS]) <= 5 for rec in st.buckets.values())
    st = add(st, spec, T0 + 61, distinct="u0")
    st = add(st, spec, T0 + 61, distinct="zz")
    v = read(st, spec, T0 + 61)
    assert v.distinct == 6 and v.distinct_exact is False
    v = read(st, spec, T0 + 600)  # the capped bucket left: exact again
    assert v.distinct == 2 and v.distinct_exact is True


# ---------------------------------------------------------------- JSON


def test_json_round_trip_keeps_reads() -> None:
    spec = WindowSpec("p", HOUR, 300, w.AGGREGATES, exclude_recent_s=300)
    st = None
    for i in range(200):
        st = add(st, spec, T0 + i * 17.0, i * 0.5, distinct=[3, "b", 1, "a", 2.5][i % 5])
    data = orjson.loads(orjson.dumps(to_json(st)))
    assert data["buckets"][0][1][w._DS] == [1, 2.5, 3, "a", "b"]  # numbers first, then strings, sorted
    again = from_json(data)
    for t in (T0 + 3000, T0 + 3400, T0 + 5000):
        assert read(again, spec, t).as_dict() == read(st, spec, t).as_dict()
    assert to_json(again) == to_json(st)
    counts = WindowSpec("c", HOUR)
    sc = add(add(None, counts, T0), counts, T0 + 1000)
    assert to_json(sc) == {"newest": T0 + 1000, "buckets": [[int(T0), 1], [int(T0) + 900, 1]]}
    assert read(from_json(to_json(sc)), counts, T0 + 1000).count == 2


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"newest": 1.0},
        {"newest": "x", "buckets": [[0, 1]]},
        {"newest": 100.0, "buckets": []},
        {"newest": 100.0, "buckets": [[0]]},
        {"newest": 100.0, "buckets": [[0, 0]]},
        {"newest": 100.0, "buckets": [[200, 1]]},
        {"newest": 100.0, "buckets": [[0, 1], [0, 2]]},
        {"newest": 100.0, "buckets": [[0, 1], [60, [1, 2.0]]]},
        {"newest": 100.0, "buckets": [[0, [1, "x"]]]},
        {"newest": 100.0, "buckets": [[0, [1, None, None, None, [[1]], False]]]},
        {"newest": 100.0, "buckets": [[0, [0, 1.0]]]},
    ],
)
def test_malformed_json_state_is_refused(bad: object) -> None:
    with pytest.raises(StateError, match="malformed window state"):
        from_json(bad)
