"""The durable ingest queue, the ingest dead letter and per-day counts, in one SQLite file.

An event the service accepted is a row in ``ingest_queue`` committed (WAL,
``synchronous=FULL``) before the HTTP 2xx goes out, so a crash after the
answer loses nothing: on restart the consumer continues with the rows still
queued. The consumer deletes rows only after their alerts are in the alert
store; a crash in between processes them again, which the store's
idempotent writes absorb.

Tables:

* ``ingest_queue``  — accepted, not yet processed events (raw bytes as posted)
* ``ingest_counts`` — per day, platform and outcome (``accepted``,
  ``processed``, ``rejected:<reason>``): the report's reject rates come
  from here, so a broken feed shows as a blind spot
* ``dead_letter``   — every rejected event with its reason record (stage
  ``ingest``: refused in the HTTP answer; ``pipeline``: a window or rule
  failed on it after it was accepted)
* ``event_sources`` — raw bytes of events named by alerts, for referral
  packages (kept after the queue row is gone)

Each thread opens its own :class:`IngestQueue` (SQLite connections are per thread).
"""
from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ACCEPTED = "accepted"
PROCESSED = "processed"
REJECTED = "rejected:"  # + reason

_DDL = (
    """CREATE TABLE IF NOT EXISTS ingest_queue (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        platform    TEXT NOT NULL,
        day         TEXT NOT NULL,
        received_at REAL NOT NULL,
        raw         BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ingest_counts (
        day      TEXT NOT NULL,
        platform TEXT NOT NULL,
        outcome  TEXT NOT NULL,
        n        INTEGER NOT NULL,
        PRIMARY KEY (day, platform, outcome)
    )""",
    """CREATE TABLE IF NOT EXISTS dead_letter (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        day      TEXT NOT NULL,
        platform TEXT NOT NULL,
        stage    TEXT NOT NULL,
        reason   TEXT NOT NULL,
        record   TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS event_sources (
        event_id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        raw      BLOB NOT NULL
    )""",
)
_BUMP = ("INSERT INTO ingest_counts (day, platform, outcome, n) VALUES (?, ?, ?, ?) "
         "ON CONFLICT (day, platform, outcome) DO UPDATE SET n = n + excluded.n")


@dataclass(frozen=True)
class Queued:
    """One queued event."""

    seq: int
    platform: str
    day: str
    raw: bytes


@dataclass(frozen=True)
class DeadLetter:
    """One rejected event for the dead letter: its day, platform, stage, reason and Reject JSON."""

    day: str
    platform: str
    stage: str
    reason: str
    record: bytes


class IngestQueue:
    """One connection to the queue file; use it from one thread only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")  # an accepted event must survive a power cut
        with self._tx():
            for stmt in _DDL:
                self.conn.execute(stmt)

    def _tx(self) -> "_Tx":
        return _Tx(self.conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    # -- ingest side --------------------------------------------------
    def enqueue(self, platform: str, day: str, raws: Sequence[bytes], dead: Sequence[DeadLetter]) -> None:
        """Queue ``raws`` and record ``dead`` (ingest rejects) and the counts, in one committed transaction."""
        now = time.time()
        with self._tx():
            self.conn.executemany("INSERT INTO ingest_queue (platform, day, received_at, raw) VALUES (?, ?, ?, ?)",
                                  [(platform, day, now, r) for r in raws])
            counts: Counter[tuple[str, str, str]] = Counter()
            if raws:
                counts[(day, platform, ACCEPTED)] += len(raws)
            self._dead(dead, counts)
            self._bump(counts)

    def depth(self) -> int:
        """How many events are queued and not yet processed."""
        return self.conn.execute("SELECT COUNT(*) FROM ingest_queue").fetchone()[0]

    # -- consumer side ------------------------------------------------
    def take(self, n: int) -> list[Queued]:
        """The oldest ``n`` queued events (they stay queued until :meth:`finish`)."""
        rows = self.conn.execute("SELECT seq, platform, day, raw FROM ingest_queue ORDER BY seq LIMIT ?", (n,)).fetchall()
        return [Queued(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    def finish(self, taken: Sequence[Queued], dead: Sequence[DeadLetter], sources: Iterable[tuple[str, str, bytes]]) -> None:
        """Remove processed events, count them, keep pipeline rejects and alert source events; one transaction."""
        if not taken:
            return
        counts: Counter[tuple[str, str, str]] = Counter((q.day, q.platform, PROCESSED) for q in taken)
        with self._tx():
            self.conn.execute("DELETE FROM ingest_queue WHERE seq <= ?", (taken[-1].seq,))
            self._dead(dead, counts)
            self.conn.executemany("INSERT OR IGNORE INTO event_sources (event_id, platform, raw) VALUES (?, ?, ?)",
                                  list(sources))
            self._bump(counts)

    # -- reads ----------------------------------------------------------
    def counts(self, day: str | None = None) -> list[tuple[str, str, str, int]]:
        """(day, platform, outcome, n) rows, for one day or all."""
        if day is None:
            return self.conn.execute("SELECT day, platform, outcome, n FROM ingest_counts ORDER BY 1, 2, 3").fetchall()
        return self.conn.execute("SELECT day, platform, outcome, n FROM ingest_counts WHERE day = ? ORDER BY 2, 3",
                                 (day,)).fetchall()

    def totals(self) -> Counter[str]:
        """Outcome -> total count over all days and platforms."""
        out: Counter[str] = Counter()
        for outcome, n in self.conn.execute("SELECT outcome, SUM(n) FROM ingest_counts GROUP BY outcome"):
            out[outcome] = n
        return out

    def sources(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        """Raw bytes of the given events, where kept."""
        out: dict[str, bytes] = {}
        for i in range(0, len(event_ids), 500):
            chunk = list(event_ids[i:i + 500])
            q = f"SELECT event_id, raw FROM event_sources WHERE event_id IN ({', '.join('?' for _ in chunk)})"
            out.update((r[0], bytes(r[1])) for r in self.conn.execute(q, chunk))
        return out

    def dead_letters(self, day: str | None = None, limit: int = 1000) -> list[tuple[str, str, str, str, str]]:
        """(day, platform, stage, reason, record JSON) of rejected events, oldest first."""
        if day is None:
            rows = self.conn.execute("SELECT day, platform, stage, reason, record FROM dead_letter ORDER BY seq LIMIT ?",
                                     (limit,))
        else:
            rows = self.conn.execute("SELECT day, platform, stage, reason, record FROM dead_letter WHERE day = ? "
                                     "ORDER BY seq LIMIT ?", (day, limit))
        return rows.fetchall()

    # -- internals ----------------------------------------------------
    def _dead(self, dead: Sequence[DeadLetter], counts: Counter[tuple[str, str, str]]) -> None:
        if not dead:
            return
        self.conn.executemany("INSERT INTO dead_letter (day, platform, stage, reason, record) VALUES (?, ?, ?, ?, ?)",
                              [(d.day, d.platform, d.stage, d.reason, d.record.decode("utf-8")) for d in dead])
        for d in dead:
            counts[(d.day, d.platform, REJECTED + d.reason)] += 1

    def _bump(self, counts: Counter[tuple[str, str, str]]) -> None:
        self.conn.executemany(_BUMP, [(*k, n) for k, n in counts.items()])


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
