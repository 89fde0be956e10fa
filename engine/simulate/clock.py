"""Simulated time: fast RFC 3339 formatting and the daily activity curves.

Times inside the simulator are integer epoch seconds. Formatting a
``datetime`` per event is too slow for the event rates we need, so
:class:`TimeFormatter` caches the ``YYYY-MM-DDTHH:`` prefix of each hour and
appends a precomputed ``MM:SS`` string. The diurnal curves are indexed by the
local (China standard time) hour of day, whatever offset the output uses.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))
CST_OFFSET_S = 8 * 3600

_MMSS = [f"{s // 60:02d}:{s % 60:02d}" for s in range(3600)]

# Relative activity per local hour (mean 1.0 after normalisation): low 3-6 h,
# peaks 10-12 h and 20-23 h, as in platform traffic reports.
_ORDER_CURVE = [
    0.70, 0.45, 0.25, 0.13, 0.09, 0.09, 0.16, 0.32, 0.55, 0.80, 1.15, 1.25,
    1.05, 0.90, 0.95, 0.95, 0.90, 0.88, 0.95, 1.10, 1.40, 1.55, 1.45, 1.05,
]
# Complaints are filed in waking hours, with a lunch and an evening bump.
_COMPLAINT_CURVE = [
    0.25, 0.12, 0.05, 0.03, 0.03, 0.05, 0.15, 0.45, 0.90, 1.35, 1.45, 1.35,
    1.10, 1.20, 1.40, 1.40, 1.35, 1.25, 1.15, 1.25, 1.40, 1.35, 1.05, 0.60,
]


def _normalise(curve: list[float]) -> tuple[float, ...]:
    mean = sum(curve) / len(curve)
    return tuple(v / mean for v in curve)


ORDER_DIURNAL = _normalise(_ORDER_CURVE)
COMPLAINT_DIURNAL = _normalise(_COMPLAINT_CURVE)


def local_hour(ts: int) -> int:
    """Hour of day (0-23) in China standard time for epoch seconds ``ts``."""
    return ((ts + CST_OFFSET_S) // 3600) % 24


class TimeFormatter:
    """Formats epoch seconds as RFC 3339 in one fixed UTC offset, fast.

    Results are memoised per second (most events of an hour share a few
    thousand distinct seconds); the memo is dropped when it grows large.
    """

    _MEMO_MAX = 50_000

    def __init__(self, offset_s: int = CST_OFFSET_S) -> None:
        self._tz = timezone(timedelta(seconds=offset_s))
        sign = "+" if offset_s >= 0 else "-"
        off = abs(offset_s)
        self._suffix = f"{sign}{off // 3600:02d}:{(off % 3600) // 60:02d}"
        self._offset_s = offset_s
        self._prefixes: dict[int, str] = {}
        self._memo: dict[int, str] = {}

    def __call__(self, ts: int) -> str:
        s = self._memo.get(ts)
        if s is not None:
            return s
        local = ts + self._offset_s
        within = local % 3600
        hour = local - within
        prefix = self._prefixes.get(hour)
        if prefix is None:
            if len(self._prefixes) > 4096:
                self._prefixes.clear()
            prefix = datetime.fromtimestamp(ts - within, self._tz).strftime("%Y-%m-%dT%H:")
            self._prefixes[hour] = prefix
        s = prefix + _MMSS[within] + self._suffix
        if len(self._memo) >= self._MEMO_MAX:
            self._memo.clear()
        self._memo[ts] = s
        return s

    def date(self, ts: int) -> str:
        """Local calendar date ``YYYYMMDD`` (used in human-looking ids)."""
        return self(ts)[:10].replace("-", "")


def epoch(dt: datetime) -> int:
    """Epoch seconds of an aware datetime (rejects naive ones: no wall-clock guessing)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("start must be timezone-aware (e.g. 2026-11-11T00:00:00+08:00)")
    return int(dt.timestamp())
