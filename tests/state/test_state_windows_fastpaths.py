"""The inlined fast paths of the window kernels keep the documented record layout and lateness rules."""
from __future__ import annotations

import math
import random
import statistics

import pytest

from engine.state.windows import M2_LEAVES, LateEvent, WindowClock, WindowSpec, add, read, to_json

T0 = 1_700_006_400.0


@pytest.mark.parametrize(
    ("aggregates", "record"),
    [
        ({"sum"}, [1, 2.5]),
        ({"min"}, [1, None, 2.5]),
        ({"max", "count"}, [1, None, None, 2.5]),
        ({"distinct"}, [1, None, None, None, ["d"], False]),
        ({"std"}, [1, 2.5, None, None, None, None, 0.0]),
        ({"last"}, [1, None, None, None, None, None, None, 2.5, T0 + 5]),
        (
            {"sum", "min", "max", "distinct", "std", "last"},
            [1, 2.5, 2.5, 2.5, ["d"], False, 0.0, 2.5, T0 + 5],
        ),
    ],
)
def test_new_bucket_record_is_cut_after_the_last_kept_field(aggregates: set[str], record: list) -> None:
    spec = WindowSpec("w", 600, 60, aggregates)
    st = add(None, spec, T0 + 5, 2.5, "d")
    st = add(st, spec, T0 + 65, 2.5, "d")  # a second key path: new bucket in an existing state
    assert to_json(st)["buckets"] == [[T0, record], [T0 + 60, [r + 60 if r == T0 + 5 else r for r in record]]]


@pytest.mark.parametrize("aggregates", [{"count"}, {"count", "min"}])
def test_clock_refusal_leaves_clock_and_state_alone(aggregates: set[str]) -> None:
    spec = WindowSpec("w", 600, 60, aggregates, allowed_lateness_s=100)
    clock = WindowClock.for_spec(spec)
    st = add(None, spec, T0 + 1000, 1.0, clock=clock)
    before = to_json(st)
    with pytest.raises(LateEvent) as info:
        add(st, spec, T0 + 899, 1.0, clock=clock)
    assert info.value.args == (f"window 'w': event at {T0 + 899} is late (watermark; limit {T0 + 900})",)
    assert (info.value.ts, info.value.watermark, info.value.reason) == (T0 + 899, T0 + 900, "watermark")
    assert clock.max_ts == T0 + 1000 and to_json(st) == before
    add(st, spec, T0 + 900, 1.0, clock=clock)  # at the watermark: counted, clock unchanged
    assert clock.max_ts == T0 + 1000 and st.newest == T0 + 1000


def test_clock_advances_before_the_keys_own_lateness_check() -> None:
    # key A's newest event is far ahead of the clock's max on key B: B's event passes the clock,
    # advances it, then is refused by A's own lateness (the clock keeps the advance, as before)
    spec = WindowSpec("w", 600, 60, {"count", "max"}, allowed_lateness_s=100)
    clock = WindowClock.for_spec(spec)
    a = add(None, spec, T0 + 1000, 1.0)  # no clock: only the key knows this time
    with pytest.raises(LateEvent) as info:
        add(a, spec, T0 + 500, 1.0, clock=clock)
    assert (info.value.watermark, info.value.reason) == (T0 + 900, "watermark")
    assert clock.max_ts == T0 + 500


def _per_minute_stds(values: list[float], *, minutes_kept: int = 10) -> list[tuple[float, float]]:
    """(window std, exact population std of the kept values) after each one-value-per-minute add."""
    spec = WindowSpec("w", minutes_kept * 60, 60, {"std", "mean"})
    st = None
    out = []
    for i, x in enumerate(values):
        ts = T0 + 60 * i + 7
        st = add(st, spec, ts, x)
        kept = values[max(0, i - minutes_kept + 1) : i + 1]
        out.append((read(st, spec, ts).std, statistics.pstdev(kept)))
    return out


def test_std_updated_in_place_as_buckets_leave_stays_exact_around_outliers() -> None:
    """One value per bucket (per-minute metrics): the cached m2 is updated as each bucket leaves rather
    than recomputed. A huge outlier entering and leaving would cancel every digit of the small spread
    left behind; the guard must send that read to an exact pass."""
    rng = random.Random(5)
    values = [100 + rng.gauss(0, 10) if i % 37 else 1e12 for i in range(1, 400)]
    values += [5.0 + 1e-3 * rng.random() for _ in range(100)]  # nearly constant after a spread-out stretch
    for i, (got, exact) in enumerate(_per_minute_stds(values)):
        assert math.isclose(got, exact, rel_tol=1e-9, abs_tol=1e-12), (i, got, exact)


def test_std_leave_update_is_used_when_it_is_safe() -> None:
    """The in-place update really runs: after a plain slide the cache is a number, not marked dirty."""
    spec = WindowSpec("w", 600, 60, {"std"})
    st = None
    for i in range(15):
        st = add(st, spec, T0 + 60 * i, float(i % 4))
        read(st, spec, T0 + 60 * i)
    st = add(st, spec, T0 + 60 * 15, 2.0)  # the bucket of minute 5 leaves
    assert isinstance(st._m2, float) and 0 < st._m2k <= M2_LEAVES
