"""Pure event-time sliding-window math: bucketed aggregates per key.

A window (:class:`WindowSpec`) cuts event time into fixed buckets of
``bucket_s`` seconds and keeps, per key, one small record per non-empty bucket
(never the events). :func:`add` folds one event into a key's
:class:`WindowState`; :func:`read` answers "what are the aggregates over the
window ending at time ``ts``" as a :class:`WindowValue`. Both are plain
functions of (state, spec, arguments): where the state lives (a dict, a Faust
table) is the business of :mod:`engine.state.store` (design principle 5).

Read range, at bucket granularity. Let ``cur`` be the start of the bucket that
holds ``ts`` and ``N = duration_s / bucket_s``. A read covers the buckets whose
start lies in ``[lo, hi]`` with ``lo = cur - (N - 1) * bucket_s`` and

* ``hi = cur`` when ``exclude_recent_s == 0`` (the still-open bucket counts),
* ``hi = cur - exclude_recent_s - bucket_s`` otherwise: only buckets that ended
  at least ``exclude_recent_s`` before ``ts`` (the open bucket and the
  ``exclude_recent_s / bucket_s`` buckets before it are left out). A 28-day
  baseline with day buckets that excludes the last 24 h therefore reads 26
  full days: today is open, and yesterday ended less than 24 h ago.

In words: a bucket is read iff it lies wholly inside ``(ts - duration_s,
ts - exclude_recent_s]``, taking the open bucket's end as ``ts``.

Speed. Each state caches the aggregates of the range it was last read over.
An add into that range updates the cache in O(1), and a read over the same
range is O(1). When an event opens a new bucket and the cache is over the
range a read in the previous newest bucket saw (the usual case: every event is
read right after its add), the cache slides along, so the next read is O(1)
too. Otherwise a read slides the cache bucket by bucket, or rebuilds it from
the <= N records when that is cheaper. Sliding is O(1) per bucket for count,
sum and bucket counts (sums use error-free TwoSum compensation, so values that
leave leave no rounding residue), O(bucket's distinct ids) for distinct, and
min / max / last / std are recomputed from the records only when the bucket
that left held the extreme (std: whenever a bucket leaves). The cache is
derived data: never serialised, rebuilt on the first read after :func:`from_json`.

Lateness. An event is refused with :class:`LateEvent` (a signal the caller
counts, not an error) when it is older than its key's newest event minus
``allowed_lateness_s``, when a :class:`WindowClock` passed to :func:`add` says
it is older than the window's watermark, or when its bucket has already left
the key's window (possible when ``allowed_lateness_s`` exceeds the window).
Anything else goes into its own bucket, even an older one.

Retention. A key keeps only buckets in ``[newest_bucket - (N - 1) * bucket_s,
newest_bucket]``: at most N records. A read at a time older than the key's
newest event therefore sees only the buckets still kept.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import StateError

__all__ = [
    "AGGREGATES",
    "DISTINCT_CAP",
    "LateEvent",
    "ValueWindowState",
    "WindowClock",
    "WindowSpec",
    "WindowState",
    "WindowValue",
    "add",
    "coverage",
    "default_bucket",
    "expired",
    "from_json",
    "read",
    "to_json",
]

AGGREGATES: frozenset[str] = frozenset(
    {"count", "sum", "min", "max", "mean", "std", "distinct", "last", "bucket_mean", "bucket_std"}
)
"""Every aggregate a window can keep. ``bucket_mean`` / ``bucket_std``: mean and
population std of the per-bucket event COUNTS over the read range, empty buckets
counting as 0 (what a "surge against its own baseline" rule needs)."""

NATURAL_BUCKETS_S: tuple[int, ...] = (60, 300, 900, 3600, 21600, 86400)
MIN_DURATION_S = 60
MAX_DURATION_S = 30 * 86400
MIN_BUCKET_S = 60
TARGET_BUCKETS = 48
MAX_BUCKETS = 1024
DEFAULT_LATENESS_S = 3600
DISTINCT_CAP = 4096
"""Most distinct values one bucket remembers. Past it, new values are not kept
and the read says ``distinct_exact = False`` (the count is then a lower bound)."""
# A cached m2 is updated in place as buckets leave (see _ValueKernel._m2_leave) for at most this many
# buckets in a row, and only while it stays above M2_KEEP times the largest value it was subtracted
# from; with about 2**-52 relative error per step that keeps std within ~1e-11 of an exact pass.
M2_LEAVES = 32
M2_KEEP = 1e-3

_INF = math.inf
_NINF = -math.inf
_DISTINCT_TYPES = (str, int, float)

# Bucket record layout of value windows (count-only windows store a bare int).
# The list is cut after the last field the spec needs; unused earlier fields are None.
_C, _S, _MN, _MX, _DS, _DC, _M2, _LV, _LT = range(9)


class _Dirty:
    """Marks a cached aggregate that must be recomputed from the bucket records."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DIRTY"


_DIRTY: Any = _Dirty()


def _extreme(pick: Callable[[list[Any]], Any], vals: list[Any]) -> tuple[Any, int]:
    """(min or max of the bucket values, how many buckets hold it); (None, 0) for none."""
    if not vals:
        return None, 0
    m = pick(vals)
    return m, vals.count(m)


def _last_ts(rec: list[Any]) -> Any:
    return rec[_LT]


def _two_sum_into(s: float, sc: float, x: float) -> tuple[float, float]:
    """Add ``x`` to the compensated pair ``(s, sc)`` and renormalise it.

    ``s + sc`` (as reals) tracks the exact sum to about eps**2 of the largest
    partial sum, so values that leave the window leave no rounding residue.
    """
    t = s + x
    bp = t - s
    sc += (s - (t - bp)) + (x - bp)
    hi = t + sc  # renormalise: keep |sc| <= ulp(hi)
    return hi, sc - (hi - t)


def default_bucket(duration_s: int) -> int:
    """Pick a natural bucket size (1m, 5m, 15m, 1h, 6h, 1d) giving at most 48 buckets.

    The smallest natural unit that divides ``duration_s`` into <= 48 buckets wins
    (fine resolution, bounded memory). Raises ``ValueError`` when none divides it:
    then the window needs an explicit ``bucket_s``.
    """
    for unit in NATURAL_BUCKETS_S:
        if duration_s % unit == 0 and duration_s // unit <= TARGET_BUCKETS:
            return unit
    raise ValueError(
        f"no natural bucket (1m, 5m, 15m, 1h, 6h, 1d) divides a {duration_s} s window into at most "
        f"{TARGET_BUCKETS} buckets; give bucket_s explicitly or round the duration"
    )


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """What a window keeps: name, length, bucket size, aggregates, read offset, lateness.

    ``bucket_s=None`` picks :func:`default_bucket`. ``exclude_recent_s`` (a multiple
    of ``bucket_s``) makes reads skip recent buckets, for baselines that must not
    contain the surge they are compared with. Invalid specs raise ``ValueError``
    naming the field; the rule-pack loader turns that into a located error.
    """

    name: str
    duration_s: int
    bucket_s: int | None = None
    aggregates: frozenset[str] = frozenset({"count"})
    exclude_recent_s: int = 0
    allowed_lateness_s: int = DEFAULT_LATENESS_S
    _kernel: Any = field(init=False, repr=False, compare=False, hash=False)
    _add: Any = field(init=False, repr=False, compare=False, hash=False)
    _read: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("window name must be a non-empty string")
        d = self.duration_s
        if not _is_int(d) or not MIN_DURATION_S <= d <= MAX_DURATION_S:
            raise ValueError(
                f"window {self.name!r}: duration_s must be an integer from {MIN_DURATION_S} "
                f"to {MAX_DURATION_S}, got {d!r}"
            )
        b = default_bucket(d) if self.bucket_s is None else self.bucket_s
        if not _is_int(b) or b < MIN_BUCKET_S:
            raise ValueError(f"window {self.name!r}: bucket_s must be an integer >= {MIN_BUCKET_S}, got {b!r}")
        if d % b:
            raise ValueError(f"window {self.name!r}: duration_s {d} is not a multiple of bucket_s {b}")
        if d // b > MAX_BUCKETS:
            raise ValueError(
                f"window {self.name!r}: {d // b} buckets is more than {MAX_BUCKETS}; use a larger bucket_s"
            )
        aggs = self.aggregates
        if isinstance(aggs, str) or not isinstance(aggs, Iterable):
            raise ValueError(f"window {self.name!r}: aggregates must be a set of names, got {aggs!r}")
        aggs = frozenset(aggs)
        unknown = sorted(a for a in aggs if a not in AGGREGATES)
        if unknown:
            raise ValueError(
                f"window {self.name!r}: unknown aggregate(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(AGGREGATES))}"
            )
        if not aggs:
            raise ValueError(f"window {self.name!r}: aggregates must not be empty")
        e = self.exclude_recent_s
        if not _is_int(e) or e < 0 or e % b:
            raise ValueError(
                f"window {self.name!r}: exclude_recent_s must be a non-negative multiple of bucket_s {b}, got {e!r}"
            )
        if e and d // b - e // b - 1 < 1:
            raise ValueError(f"window {self.name!r}: exclude_recent_s {e} leaves no bucket of a {d} s window to read")
        lat = self.allowed_lateness_s
        if not _is_int(lat) or lat < 0:
            raise ValueError(f"window {self.name!r}: allowed_lateness_s must be a non-negative integer, got {lat!r}")
        object.__setattr__(self, "bucket_s", b)
        object.__setattr__(self, "aggregates", aggs)
        counts_only = aggs <= {"count", "bucket_mean", "bucket_std"}
        kernel = _CountKernel(self) if counts_only else _ValueKernel(self)
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_add", kernel.add)  # bound methods: one call per add/read
        object.__setattr__(self, "_read", kernel.read)

    @property
    def buckets(self) -> int:
        """Number of buckets in the window (and the most records a key keeps)."""
        return self.duration_s // self.bucket_s  # type: ignore[operator]

    @property
    def read_buckets(self) -> int:
        """Number of buckets one read covers (the denominator of ``bucket_mean``)."""
        return self._kernel.nread

    def fingerprint(self) -> dict[str, Any]:
        """What the stored state depends on; a snapshot drops state whose fingerprint changed."""
        return {
            "name": self.name,
            "duration_s": self.duration_s,
            "bucket_s": self.bucket_s,
            "aggregates": sorted(self.aggregates),
        }


class LateEvent(Exception):
    """Signal, not an error: the event is too old for this window and was not counted.

    ``reason`` is ``"watermark"`` (older than the key's newest event, or the
    window clock, minus the allowed lateness) or ``"expired"`` (its bucket already
    left the key's window). The caller counts it in metrics and moves on.
    """

    def __init__(self, window: str, ts: float, watermark: float, reason: str) -> None:
        super().__init__(f"window {window!r}: event at {ts} is late ({reason}; limit {watermark})")
        self.window = window
        self.ts = ts
        self.watermark = watermark
        self.reason = reason


class WindowClock:
    """Event-time progress of one window across all keys: watermark = max event time - lateness.

    Passed to :func:`add`, it refuses events older than the watermark and
    advances with every accepted event. The store's eviction uses its watermark
    to drop keys no future read can see. Kept in snapshots.
    """

    __slots__ = ("allowed_lateness_s", "max_ts")

    def __init__(self, allowed_lateness_s: float, max_ts: float = _NINF) -> None:
        self.allowed_lateness_s = allowed_lateness_s
        self.max_ts = max_ts

    @classmethod
    def for_spec(cls, spec: WindowSpec) -> "WindowClock":
        """A fresh clock with the spec's allowed lateness."""
        return cls(spec.allowed_lateness_s)

    @property
    def watermark(self) -> float:
        """Events older than this are late; ``-inf`` before the first event."""
        return self.max_ts - self.allowed_lateness_s

    def observe(self, ts: float) -> None:
        """Advance the clock to ``ts`` if it is newer."""
        if ts > self.max_ts:
            self.max_ts = ts

    def is_late(self, ts: float) -> bool:
        """True when ``ts`` is older than the watermark."""
        return ts < self.max_ts - self.allowed_lateness_s

    def __repr__(self) -> str:
        return f"WindowClock(allowed_lateness_s={self.allowed_lateness_s}, max_ts={self.max_ts})"


class WindowState:
    """One key's window state: bucket records plus a cache of the last read range.

    ``newest`` is the newest event time seen for the key; ``buckets`` maps bucket
    start (seconds, a multiple of ``bucket_s``) to a record: an ``int`` count for
    count-only windows (this class), else (:class:`ValueWindowState`) a list
    ``[count, sum, min, max, distinct_set, distinct_capped, m2, last_value,
    last_ts]`` cut after the last field the spec needs (unneeded ones are None).
    ``m2`` is the sum of squared deviations from the bucket mean (Welford), not a
    sum of squares, so std stays accurate when the mean is large. Everything
    whose name starts with ``_`` is derived (recomputed by :func:`from_json`),
    never serialised.
    """

    __slots__ = ("newest", "buckets", "_nb", "_first", "_lo", "_hi", "_n", "_cc")

    def __init__(self, newest: float, newest_bucket: float) -> None:
        self.newest = newest
        self.buckets: dict[float, Any] = {}
        self._nb = newest_bucket  # start of the bucket holding ``newest``
        self._first = newest_bucket  # smallest bucket start held
        self._lo: float | None = None  # cached range [_lo, _hi]; None = no cache
        self._hi: float = 0
        self._n = 0  # events in range
        self._cc = 0  # sum of squared bucket counts (bucket_std)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(newest={self.newest}, buckets={len(self.buckets)})"


class ValueWindowState(WindowState):
    """State of a window over values or distinct ids: adds the cached value aggregates.

    (Count-only windows use the leaner :class:`WindowState`.)
    """

    __slots__ = ("_s", "_sc", "_m2", "_m2p", "_m2k", "_min", "_minc", "_max", "_maxc", "_lv", "_lt", "_dist", "_dcap")

    def __init__(self, newest: float, newest_bucket: float) -> None:
        super().__init__(newest, newest_bucket)
        self._s = 0.0  # sum (TwoSum: _s + _sc is the compensated value)
        self._sc = 0.0
        self._m2: Any = 0.0
        self._m2p = 0.0  # largest _m2 a bucket left from since _m2 was last exact (see _ValueKernel._m2_leave)
        self._m2k = 0  # buckets that left since then
        self._min: Any = None
        self._minc = 0  # buckets in range whose min equals _min (ties: constant prices are common)
        self._max: Any = None
        self._maxc = 0
        self._lv: Any = None
        self._lt: Any = None
        self._dist: Counter[Any] | None = None  # value -> number of buckets in range holding it
        self._dcap = 0  # capped buckets in range


class WindowValue:
    """The aggregates of one read. Only the spec's aggregates (and ``count``) are set.

    Reading an aggregate the window does not keep raises ``AttributeError``
    naming the window, so a rule cannot silently get ``None`` for a typo.
    Undefined values are ``None`` (min/max/mean/std/last of nothing); ``count``
    is 0, ``sum`` 0.0 and ``distinct`` 0 when empty. ``distinct_exact`` is False
    when some bucket hit :data:`DISTINCT_CAP` (``distinct`` is then a lower bound).
    """

    __slots__ = (
        "count", "sum", "min", "max", "mean", "std", "distinct", "distinct_exact",
        "last", "bucket_mean", "bucket_std",
    )  # fmt: skip
    _spec: WindowSpec  # set on the per-window subclass (see _value_class), not per instance

    def __getattr__(self, name: str) -> Any:
        if name in AGGREGATES or name == "distinct_exact":
            spec = self._spec
            raise AttributeError(
                f"window {spec.name!r} does not keep {name!r}; its aggregates are {sorted(spec.aggregates)}"
            )
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def as_dict(self) -> dict[str, Any]:
        """The aggregates that were computed, by name (for explanations and tests)."""
        out: dict[str, Any] = {}
        for name in WindowValue.__slots__:
            try:
                out[name] = object.__getattribute__(self, name)
            except AttributeError:
                pass
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"WindowValue({self._spec.name!r}, {inner})"


_new_value = object.__new__


def _value_class(spec: WindowSpec) -> type[WindowValue]:
    """A WindowValue subclass bound to ``spec``: errors and repr name the window at no per-read cost."""
    return type("WindowValue", (WindowValue,), {"__slots__": (), "_spec": spec, "__module__": __name__})


class _Kernel:
    """Range bookkeeping shared by both kinds of window; subclasses keep the aggregates."""

    __slots__ = ("spec", "name", "B", "span", "off", "nread", "L", "bm", "bs", "vcls")

    def __init__(self, spec: WindowSpec) -> None:
        b = spec.bucket_s
        n = spec.duration_s // b  # type: ignore[operator]
        e = spec.exclude_recent_s
        self.spec = spec
        self.name = spec.name
        self.B = b
        self.span = (n - 1) * b  # type: ignore[operator]
        self.off = 0 if e == 0 else e + b  # type: ignore[operator]
        self.nread = n if e == 0 else n - e // b - 1  # type: ignore[operator]
        self.L = spec.allowed_lateness_s
        aggs = spec.aggregates
        self.bm = "bucket_mean" in aggs
        self.bs = "bucket_std" in aggs
        self.vcls = _value_class(spec)

    # subclasses: _reset(st), _enter(st, rec), _leave(st, rec)

    def _late(self, st: WindowState, ts: float, k: float) -> None:
        """Raise LateEvent if an event older than the key's newest (at ``ts``, bucket ``k``) cannot be counted.

        The rest of what comes before touching the bucket (the clock check, the
        slide to a new newest bucket) is written out at the top of both kernels'
        ``add``, the same lines in each: a shared method would be one more call per
        add, +2 % instructions per event on the daytime mix (callgrind).
        """
        if ts < st.newest - self.L:
            raise LateEvent(self.name, ts, st.newest - self.L, "watermark")
        if k < st._nb - self.span:
            raise LateEvent(self.name, ts, st._nb - self.span, "expired")

    def _advance(self, st: WindowState, k: float) -> None:
        """Make ``k`` (about to receive an event) the newest bucket.

        Drops the buckets that left the window, taking them out of the cache.
        If the cache was over the range a read in the old newest bucket sees
        (the usual case: every event is read right after its add), it is slid
        to the range a read in ``k`` will see, so that read stays O(1).
        """
        old_nb = st._nb
        st._nb = k
        new_lo = k - self.span
        hi = st._hi
        if st._first < new_lo:
            self._drop_before(st, new_lo, k)
        if st._lo is not None and hi == old_nb - self.off:
            st._lo = new_lo
            new_hi = k - self.off
            st._hi = new_hi
            if self.off:  # buckets between the old and new read end enter (none exist above old_nb)
                bk = st.buckets
                B = self.B
                if (new_hi - hi) / B <= len(bk):
                    s = hi + B
                    while s <= new_hi:
                        rec = bk.get(s)
                        if rec is not None:
                            self._enter(st, rec)
                        s += B
                else:
                    for s, rec in bk.items():
                        if hi < s <= new_hi and s >= new_lo:
                            self._enter(st, rec)

    def _drop_before(self, st: WindowState, new_lo: float, k: float) -> None:
        """Forget the buckets older than ``new_lo`` (leaving the cache if they were in it)."""
        bk = st.buckets
        lo = st._lo
        hi = st._hi
        B = self.B
        first = st._first
        if (new_lo - first) / B <= len(bk):  # few steps: visit each start that leaves
            s = first
            while s < new_lo:
                rec = bk.pop(s, None)
                if rec is not None and lo is not None and lo <= s <= hi:
                    self._leave(st, rec)
                s += B
        else:
            for s in [s for s in bk if s < new_lo]:
                rec = bk.pop(s)
                if lo is not None and lo <= s <= hi:
                    self._leave(st, rec)
        # new smallest start: usually new_lo itself or just above (dense keys); else ask min()
        s = new_lo
        for _ in range(4):
            if s in bk:
                st._first = s
                return
            s += B
        st._first = min(bk) if bk else k

    def _move(self, st: WindowState, lo: float, hi: float) -> None:
        """Slide the cached range to ``[lo, hi]``: leave old buckets, enter new ones."""
        olo = st._lo
        ohi = st._hi
        st._lo = lo
        st._hi = hi
        bk = st.buckets
        B = self.B
        if olo is None or lo > ohi or hi < olo or (abs(lo - olo) + abs(hi - ohi)) / B > len(bk):
            if len(bk) == 1:  # a key seen in one bucket so far (most keys of sparse windows): enter it alone
                self._reset(st)
                for s, rec in bk.items():
                    if lo <= s <= hi:
                        self._enter(st, rec)
            else:
                self._rebuild(st, lo, hi)
        else:  # slide: visit only the starts that leave or enter
            get = bk.get
            s = olo
            while s < lo:
                rec = get(s)
                if rec is not None:
                    self._leave(st, rec)
                s += B
            s = hi + B
            while s <= ohi:
                rec = get(s)
                if rec is not None:
                    self._leave(st, rec)
                s += B
            s = lo
            while s < olo:
                rec = get(s)
                if rec is not None:
                    self._enter(st, rec)
                s += B
            s = ohi + B
            while s <= hi:
                rec = get(s)
                if rec is not None:
                    self._enter(st, rec)
                s += B

    def _rebuild(self, st: WindowState, lo: float, hi: float) -> None:  # pragma: no cover - overridden
        """Recompute the cache over ``[lo, hi]`` from the bucket records."""
        raise NotImplementedError

    def _reset(self, st: WindowState) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _enter(self, st: WindowState, rec: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _leave(self, st: WindowState, rec: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class _CountKernel(_Kernel):
    """Windows that only count (count, bucket_mean, bucket_std): a bucket is a bare int."""

    __slots__ = ()

    def add(self, st: WindowState | None, ts: float, x: Any, d: Any, clock: WindowClock | None) -> WindowState:
        k = ts - ts % self.B
        if clock is not None:  # same lines in both kernels' add: see _Kernel._late
            max_ts = clock.max_ts
            wm = max_ts - clock.allowed_lateness_s
            if ts < wm:
                raise LateEvent(self.name, ts, wm, "watermark")
            if ts > max_ts:
                clock.max_ts = ts
        if st is None:
            st = WindowState(ts, k)
            st.buckets[k] = 1
            return st
        newest = st.newest
        if ts > newest:
            st.newest = ts
            if k > st._nb:
                if st._lo is None and st._first >= k - self.span:
                    st._nb = k  # all _advance would do: no cache to slide, no bucket leaves
                else:
                    self._advance(st, k)
        elif ts < newest:
            self._late(st, ts, k)
        bk = st.buckets
        c = bk.get(k, 0)
        bk[k] = c + 1
        if not c and k < st._first:
            st._first = k
        lo = st._lo
        if lo is not None and lo <= k <= st._hi:
            st._n += 1
            st._cc += c + c + 1
        return st

    def read(self, st: WindowState | None, ts: float) -> WindowValue:
        cur = ts - ts % self.B
        hi = cur - self.off  # all read ranges have the same width: hi fixes lo
        v = _new_value(self.vcls)
        if st is None:
            n = cc = 0
        else:
            if st._hi != hi or st._lo is None:
                self._move(st, cur - self.span, hi)
            n = st._n
            cc = st._cc
        v.count = n
        if self.bm:
            v.bucket_mean = n / self.nread
        if self.bs:
            nr = self.nread
            v.bucket_std = math.sqrt(nr * cc - n * n) / nr
        return v

    def _rebuild(self, st: WindowState, lo: float, hi: float) -> None:
        n = cc = 0
        for s, c in st.buckets.items():
            if lo <= s <= hi:
                n += c
                cc += c * c
        st._n = n
        st._cc = cc

    def _reset(self, st: WindowState) -> None:
        st._n = 0
        st._cc = 0

    def _enter(self, st: WindowState, rec: int) -> None:
        st._n += rec
        st._cc += rec * rec

    def _leave(self, st: WindowState, rec: int) -> None:
        st._n -= rec
        st._cc -= rec * rec


def _record_maker(hs: bool, hmn: bool, hmx: bool, hd: bool, hm2: bool, hl: bool) -> Callable[[float, Any, Any], list[Any]]:
    """A function making a new bucket's record for one event, for the aggregates a window keeps.

    Fields in record order: count, sum, min, max, distinct set, distinct capped,
    m2, last value, last time; None where not kept, cut after the last kept one.
    The usual combinations get a one-list-display function; others fill a template.
    """
    flags = (hs, hmn, hmx, hd, hm2, hl)
    if flags == (True, False, False, False, True, False):  # mean / std
        return lambda ts, x, d: [1, x, None, None, None, None, 0.0]
    if flags == (True, False, False, False, False, False):  # sum / mean
        return lambda ts, x, d: [1, x]
    if flags == (False, True, False, False, False, False):  # min
        return lambda ts, x, d: [1, None, x]
    if flags == (False, True, True, False, False, False):  # min / max
        return lambda ts, x, d: [1, None, x, x]
    if flags == (False, True, True, False, False, True):  # min / max / last
        return lambda ts, x, d: [1, None, x, x, None, None, None, x, ts]
    top = max(i for i, kept in ((_S, hs), (_MN, hmn), (_MX, hmx), (_DC, hd), (_M2, hm2), (_LT, hl), (_C, True)) if kept)
    template: list[Any] = [None] * (top + 1)

    def new_record(ts: float, x: Any, d: Any) -> list[Any]:
        rec = template.copy()
        rec[_C] = 1
        if hs:
            rec[_S] = x
        if hmn:
            rec[_MN] = x
        if hmx:
            rec[_MX] = x
        if hd:
            rec[_DS] = {d}
            rec[_DC] = False
        if hm2:
            rec[_M2] = 0.0
        if hl:
            rec[_LV] = x
            rec[_LT] = ts
        return rec

    return new_record


class _ValueKernel(_Kernel):
    """Windows over event values and/or distinct ids: a bucket is a short list (see WindowState)."""

    __slots__ = ("nv", "hs", "hm2", "hmn", "hmx", "hl", "hd", "new_record", "a_sum", "a_mean", "a_std")

    def __init__(self, spec: WindowSpec) -> None:
        super().__init__(spec)
        a = spec.aggregates
        self.a_sum = "sum" in a
        self.a_mean = "mean" in a
        self.a_std = "std" in a
        self.hs = bool(a & {"sum", "mean", "std"})
        self.hm2 = self.a_std
        self.hmn = "min" in a
        self.hmx = "max" in a
        self.hl = "last" in a
        self.hd = "distinct" in a
        self.nv = bool(a & {"sum", "mean", "std", "min", "max", "last"})
        # new_record(ts, x, d): the record of a new bucket holding one event (a new bucket is
        # opened by about every other add), cut after the last kept field
        self.new_record = _record_maker(self.hs, self.hmn, self.hmx, self.hd, self.hm2, self.hl)

    def add(
        self, st: WindowState | None, ts: float, x: Any, d: Any, clock: WindowClock | None
    ) -> WindowState:
        if self.nv and (x is None or not _NINF < x < _INF):  # also refuses NaN
            raise ValueError(f"window {self.name!r} needs a finite numeric value, got {x!r}")
        if self.hd and type(d) not in _DISTINCT_TYPES:
            raise TypeError(f"window {self.name!r} needs a distinct id of type str, int or float, got {d!r}")
        k = ts - ts % self.B
        if clock is not None:  # same lines in both kernels' add: see _Kernel._late
            max_ts = clock.max_ts
            wm = max_ts - clock.allowed_lateness_s
            if ts < wm:
                raise LateEvent(self.name, ts, wm, "watermark")
            if ts > max_ts:
                clock.max_ts = ts
        if st is None:
            st = ValueWindowState(ts, k)
            st.buckets[k] = self.new_record(ts, x, d)
            return st
        newest = st.newest
        if ts > newest:
            st.newest = ts
            if k > st._nb:
                if st._lo is None and st._first >= k - self.span:
                    st._nb = k  # all _advance would do: no cache to slide, no bucket leaves
                else:
                    self._advance(st, k)
        elif ts < newest:
            self._late(st, ts, k)
        bk = st.buckets
        rec = bk.get(k)
        lo = st._lo
        cached = lo is not None and lo <= k <= st._hi
        if rec is None:
            rec = bk[k] = self.new_record(ts, x, d)
            if k < st._first:
                st._first = k
            if cached:
                self._enter(st, rec)
            return st
        # Each aggregate: update the bucket record, then (if the bucket is in the cached
        # range) the cache, so that each flag is tested once.
        c = rec[_C]
        rec[_C] = c + 1
        if cached:
            n = st._n
            st._n = n + 1
            if self.bs:
                st._cc += c + c + 1
        if self.hs:
            s = rec[_S]
            ns = s + x
            if self.hm2:
                rec[_M2] += (x - s / c) * (x - ns / (c + 1))
            rec[_S] = ns
            if cached:
                # The cache holds the exact sum of the bucket sums, so a bucket that
                # later leaves is subtracted without residue. The bucket sum moved by
                # exactly x - e where s + x == ns + e (TwoSum); add that with TwoSum.
                bp = ns - s
                e = (s - (ns - bp)) + (x - bp)
                s = st._s
                sc = st._sc
                m2 = st._m2 if self.hm2 else _DIRTY
                if m2 is not _DIRTY:
                    mean_old = (s + sc) / n
                t = s + x
                bp = t - s
                sc += (s - (t - bp)) + (x - bp) - e
                st._s = t
                st._sc = sc
                if m2 is not _DIRTY:
                    st._m2 = m2 + (x - mean_old) * (x - (t + sc) / (n + 1))
        if self.hmn and x < rec[_MN]:
            rec[_MN] = x
            if cached:  # the bucket's min fell to x
                m = st._min
                if m is not _DIRTY:
                    if x < m:
                        st._min = x
                        st._minc = 1
                    elif x == m:
                        st._minc += 1
        if self.hmx and x > rec[_MX]:
            rec[_MX] = x
            if cached:
                m = st._max
                if m is not _DIRTY:
                    if x > m:
                        st._max = x
                        st._maxc = 1
                    elif x == m:
                        st._maxc += 1
        if self.hl:
            if ts >= rec[_LT]:
                rec[_LV] = x
                rec[_LT] = ts
            if cached:
                lt = st._lt
                if lt is not _DIRTY and ts >= lt:
                    st._lv = x
                    st._lt = ts
        if self.hd:
            ds = rec[_DS]
            if d not in ds:
                if len(ds) < DISTINCT_CAP:
                    ds.add(d)
                    if cached:
                        st._dist[d] += 1  # type: ignore[index]
                elif not rec[_DC]:
                    rec[_DC] = True
                    if cached:
                        st._dcap += 1
        return st

    def read(self, st: WindowState | None, ts: float) -> WindowValue:
        cur = ts - ts % self.B
        hi = cur - self.off  # all read ranges have the same width: hi fixes lo
        v = _new_value(self.vcls)
        if st is None:
            self._fill_empty(v)
            return v
        if st._hi != hi or st._lo is None:
            self._move(st, cur - self.span, hi)
        if st._min is _DIRTY or st._max is _DIRTY or st._m2 is _DIRTY or st._lt is _DIRTY:
            self._refresh(st, st._lo, hi)
        n = st._n
        v.count = n
        if self.hs:
            total = st._s + st._sc
            if self.a_sum:
                v.sum = total
            if self.a_mean:
                v.mean = total / n if n else None
            if self.a_std:
                v.std = math.sqrt(st._m2 / n) if n and st._m2 > 0.0 else (0.0 if n else None)
        if self.hmn:
            v.min = st._min
        if self.hmx:
            v.max = st._max
        if self.hd:
            v.distinct = len(st._dist)  # type: ignore[arg-type]
            v.distinct_exact = st._dcap == 0
        if self.hl:
            v.last = st._lv
        if self.bm:
            v.bucket_mean = n / self.nread
        if self.bs:
            nr = self.nread
            v.bucket_std = math.sqrt(nr * st._cc - n * n) / nr
        return v

    def _fill_empty(self, v: WindowValue) -> None:
        v.count = 0
        if self.a_sum:
            v.sum = 0.0
        if self.a_mean:
            v.mean = None
        if self.a_std:
            v.std = None
        if self.hmn:
            v.min = None
        if self.hmx:
            v.max = None
        if self.hd:
            v.distinct = 0
            v.distinct_exact = True
        if self.hl:
            v.last = None
        if self.bm:
            v.bucket_mean = 0.0
        if self.bs:
            v.bucket_std = 0.0

    def _reset(self, st: WindowState) -> None:
        st._n = 0
        st._cc = 0
        st._s = 0.0
        st._sc = 0.0
        st._m2 = 0.0
        st._m2p = 0.0
        st._m2k = 0
        st._min = None
        st._minc = 0
        st._max = None
        st._maxc = 0
        st._lv = None
        st._lt = None
        st._dist = Counter() if self.hd else None
        st._dcap = 0

    def _enter(self, st: WindowState, rec: list[Any]) -> None:
        nb = rec[_C]
        na = st._n
        st._n = na + nb
        if self.bs:
            st._cc += nb * nb
        if self.hs:
            s = st._s
            sc = st._sc
            x = rec[_S]
            if self.hm2 and st._m2 is not _DIRTY:
                if na:  # Chan et al.: merge (na, mean_a, m2_a) with (nb, mean_b, m2_b)
                    delta = x / nb - (s + sc) / na
                    st._m2 += rec[_M2] + delta * delta * na * nb / (na + nb)
                else:
                    st._m2 = rec[_M2]
            st._s, st._sc = _two_sum_into(s, sc, x)
        if self.hmn:
            m = st._min
            if m is not _DIRTY:
                b = rec[_MN]
                if m is None or b < m:
                    st._min = b
                    st._minc = 1
                elif b == m:
                    st._minc += 1
        if self.hmx:
            m = st._max
            if m is not _DIRTY:
                b = rec[_MX]
                if m is None or b > m:
                    st._max = b
                    st._maxc = 1
                elif b == m:
                    st._maxc += 1
        if self.hl:
            lt = st._lt
            if lt is not _DIRTY and (lt is None or rec[_LT] > lt):
                st._lv = rec[_LV]
                st._lt = rec[_LT]
        if self.hd:
            st._dist.update(rec[_DS])  # type: ignore[union-attr]
            if rec[_DC]:
                st._dcap += 1

    def _leave(self, st: WindowState, rec: list[Any]) -> None:
        nb = rec[_C]
        n = st._n - nb
        if n == 0:
            self._reset(st)
            return
        st._n = n
        if self.bs:
            st._cc -= nb * nb
        if self.hs:
            st._s, st._sc = _two_sum_into(st._s, st._sc, -rec[_S])
            if self.hm2:
                self._m2_leave(st, rec, nb, n)
        if self.hmn and rec[_MN] == st._min:  # it held the min: recompute only if no tie is left
            st._minc -= 1
            if not st._minc:
                st._min = _DIRTY
        if self.hmx and rec[_MX] == st._max:
            st._maxc -= 1
            if not st._maxc:
                st._max = _DIRTY
        if self.hl:
            lt = st._lt
            if lt is not _DIRTY and rec[_LT] >= lt:
                st._lt = _DIRTY
        if self.hd:
            dist = st._dist
            for d in rec[_DS]:
                left = dist[d] - 1  # type: ignore[index]
                if left:
                    dist[d] = left  # type: ignore[index]
                else:
                    del dist[d]  # type: ignore[union-attr]
            if rec[_DC]:
                st._dcap -= 1

    def _m2_leave(self, st: WindowState, rec: list[Any], nb: int, n: int) -> None:
        """Take a leaving bucket out of the cached m2 (Chan et al.'s merge run backwards), or mark it dirty.

        In a window where every event opens its own bucket (per-minute metrics), some bucket leaves
        before nearly every read; recomputing m2 from all buckets each time was most of such a read.
        Subtracting can cancel digits, so the cache stays exact enough only while the result is not
        tiny next to the largest m2 it was subtracted from since the last exact pass (absolute errors
        there are about eps times that value) and for at most :data:`M2_LEAVES` buckets in a row;
        otherwise the next read recomputes it from the buckets.
        """
        m2 = st._m2
        if m2 is _DIRTY:
            return
        k = st._m2k
        if k >= M2_LEAVES:
            st._m2 = _DIRTY
            return
        peak = st._m2p
        if m2 > peak:
            st._m2p = peak = m2
        delta = rec[_S] / nb - (st._s + st._sc) / n  # the leaving bucket's mean minus the remaining mean
        left = m2 - rec[_M2] - delta * delta * n * nb / (n + nb)
        if left < peak * M2_KEEP:
            st._m2 = _DIRTY
        else:
            st._m2 = left
            st._m2k = k + 1

    def _rebuild(self, st: WindowState, lo: float, hi: float) -> None:
        """One pass over the records in range; every cached aggregate comes out clean."""
        self._reset(st)
        recs = [rec for s, rec in st.buckets.items() if lo <= s <= hi]
        if not recs:
            return
        n = cc = 0
        for rec in recs:
            c = rec[_C]
            n += c
            cc += c * c
        st._n = n
        st._cc = cc
        if self.hs:
            s = sc = 0.0
            for rec in recs:  # TwoSum: the cache is the exact sum of the bucket sums
                x = rec[_S]
                t = s + x
                bp = t - s
                sc += (s - (t - bp)) + (x - bp)
                s = t
            st._s = s + sc
            st._sc = sc - (st._s - s)
        if self.hmn:
            vals = [rec[_MN] for rec in recs]
            st._min = m = min(vals)
            st._minc = vals.count(m)
        if self.hmx:
            vals = [rec[_MX] for rec in recs]
            st._max = m = max(vals)
            st._maxc = vals.count(m)
        if self.hl:
            best = max(recs, key=_last_ts)
            st._lv = best[_LV]
            st._lt = best[_LT]
        if self.hm2:
            st._m2 = _DIRTY
            self._refresh(st, lo, hi)
        if self.hd:
            dist = st._dist
            for rec in recs:
                dist.update(rec[_DS])  # type: ignore[union-attr]
                if rec[_DC]:
                    st._dcap += 1

    def _refresh(self, st: WindowState, lo: float, hi: float) -> None:
        """Recompute the dirty min / max / last / m2 from the bucket records in range."""
        bk = st.buckets
        if st._first >= lo and st._nb <= hi:  # the usual case: every kept bucket is in the read range
            recs = bk.values()  # a view, same order: no copy
        else:
            recs = [rec for s, rec in bk.items() if lo <= s <= hi]
        if st._min is _DIRTY:
            st._min, st._minc = _extreme(min, [rec[_MN] for rec in recs])
        if st._max is _DIRTY:
            st._max, st._maxc = _extreme(max, [rec[_MX] for rec in recs])
        if st._lt is _DIRTY:
            if recs:
                best = max(recs, key=_last_ts)
                st._lt, st._lv = best[_LT], best[_LV]
            else:
                st._lt = st._lv = None
        if st._m2 is _DIRTY:
            # two-pass: the exact cached mean first, then each bucket's m2 plus its spread around it
            # (more stable than merging buckets one by one, and fewer operations per bucket)
            n = st._n
            mean = (st._s + st._sc) / n if n else 0.0
            st._m2 = sum([rec[_M2] + rec[_C] * (rec[_S] / rec[_C] - mean) ** 2 for rec in recs])
            st._m2p = 0.0
            st._m2k = 0


def add(
    state: WindowState | None,
    spec: WindowSpec,
    ts: float,
    value: float | None = None,
    distinct: Hashable | None = None,
    *,
    clock: WindowClock | None = None,
) -> WindowState:
    """Fold one event at event time ``ts`` into a key's state and return the state to store back.

    Mutates ``state`` in place when given (the caller still writes the result
    back: a Faust table needs the re-assignment). ``value`` is required when the
    window keeps a value aggregate, ``distinct`` (str/int/float) when it keeps
    ``distinct``. Raises :class:`LateEvent` for an event that cannot be counted
    (see the module docstring); ``ValueError``/``TypeError`` for a missing or
    non-finite value or a bad distinct id.
    """
    return spec._add(state, ts, value, distinct, clock)


def read(state: WindowState | None, spec: WindowSpec, ts: float) -> WindowValue:
    """Aggregates over the buckets lying wholly inside ``(ts - duration, ts - exclude_recent]``.

    May update the state's derived cache (never its content). ``state=None`` reads as empty.
    """
    return spec._read(state, ts)


def coverage(spec: WindowSpec, ts: float) -> tuple[float, float]:
    """Event times a read at ``ts`` covers, for explanations: ``start <= t < end``.

    With ``exclude_recent_s == 0`` the open bucket is read and ``end`` is ``ts``
    itself (inclusive: an event at ``ts`` counts).
    """
    k = spec._kernel
    cur = ts - ts % k.B
    return cur - k.span, (ts if k.off == 0 else cur - k.off + k.B)


def expired(state: WindowState | None, spec: WindowSpec, watermark: float) -> bool:
    """True when no read at a time >= ``watermark`` can see any bucket of ``state``.

    A store drops such keys (see :func:`engine.state.store.evict`).
    """
    if state is None:
        return True
    k = spec._kernel
    if watermark == _NINF:
        return False
    return state._nb < watermark - watermark % k.B - k.span


def _json_number(x: float) -> float | int:
    return int(x) if x == int(x) else x


def _sort_key(x: Any) -> tuple[int, Any]:
    return (1, x) if isinstance(x, str) else (0, x)


def to_json(state: WindowState) -> dict[str, Any]:
    """The state as plain JSON values: ``{"newest": ts, "buckets": [[start, record], ...]}``.

    A record is an int (count-only windows) or the bucket list with the distinct
    set as a sorted list. The derived cache is left out.
    """
    out: list[list[Any]] = []
    bk = state.buckets
    for s in sorted(bk):
        rec = bk[s]
        if type(rec) is int:
            out.append([_json_number(s), rec])
        else:
            out.append(
                [_json_number(s), [sorted(f, key=_sort_key) if type(f) is set else f for f in rec]]
            )
    return {"newest": state.newest, "buckets": out}


def _bad(msg: str) -> StateError:
    return StateError(f"malformed window state: {msg}")


def _is_num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def from_json(value: Any) -> WindowState:
    """Rebuild a state from :func:`to_json` output; raises ``StateError`` if it is malformed."""
    if not isinstance(value, dict) or set(value) != {"newest", "buckets"}:
        raise _bad("expected an object with 'newest' and 'buckets'")
    newest = value["newest"]
    buckets = value["buckets"]
    if not _is_num(newest):
        raise _bad(f"'newest' must be a number, got {newest!r}")
    if not isinstance(buckets, list) or not buckets:
        raise _bad("'buckets' must be a non-empty list")
    recs: dict[float, Any] = {}
    kinds: set[bool] = set()
    for entry in buckets:
        if not isinstance(entry, list) or len(entry) != 2 or not _is_num(entry[0]):
            raise _bad(f"bucket entry must be [start, record], got {entry!r}")
        start, rec = entry
        if start > newest or start in recs:
            raise _bad(f"bucket start {start!r} is after the newest event or repeated")
        if _is_int(rec):
            if rec < 1:
                raise _bad(f"bucket count must be >= 1, got {rec!r}")
            kinds.add(True)
            recs[start] = rec
            continue
        if not isinstance(rec, list) or not rec or not _is_int(rec[0]) or rec[0] < 1:
            raise _bad(f"bucket record must be a count or a list starting with a count, got {rec!r}")
        fields: list[Any] = []
        for i, f in enumerate(rec):
            if i == _DS and isinstance(f, list):
                if not all(type(d) in _DISTINCT_TYPES for d in f):
                    raise _bad("distinct values must be strings or numbers")
                fields.append(set(f))
            elif f is None or isinstance(f, bool) or _is_num(f):
                fields.append(f)
            else:
                raise _bad(f"unexpected bucket field {f!r}")
        kinds.add(False)
        recs[start] = fields
    if len(kinds) != 1:
        raise _bad("count-only and value bucket records are mixed")
    st = (WindowState if kinds == {True} else ValueWindowState)(newest, max(recs))
    st.buckets = recs
    st._first = min(recs)
    return st
