"""The one consumer: queued events -> pipeline -> alert store, in micro-batches.

It runs in a single dedicated thread (the pipeline is a sequential object and
SQLite connections belong to their thread), called by the service's event
loop one batch at a time, so the HTTP handlers never wait for scoring. Per
batch, in this order:

1. take the oldest queued events (they stay queued),
2. decode and run them through the pipeline (the same calls as
   ``Pipeline.process_raw``, keeping each event's queue row so alerts can
   name their source bytes),
3. store emitted alerts (idempotent by id and content),
4. in one queue transaction: delete the rows, count them as processed, keep
   rejects of this stage in the dead letter and the source bytes of every
   event an alert names (for referral packages).

A crash between 3 and 4 processes the batch again after restart: the store
ignores alerts it already holds, so nothing is lost or doubled.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from engine.alerts.alert import encode_alert
from engine.alerts.store import AlertStore
from engine.errors import Location
from engine.events.deadletter import Reject
from engine.metrics import Metrics
from engine.pipeline import BatchResult, Pipeline
from engine.service.queue import DeadLetter, IngestQueue, Queued


@dataclass(frozen=True)
class Step:
    """What one consumer step did."""

    events: int  # taken from the queue and processed (accepted or rejected by a window/rule)
    alerts: int  # alerts and new versions stored
    seconds: float


class Consumer:
    """Drains the ingest queue through the pipeline into the alert store (one thread only)."""

    def __init__(self, pipeline: Pipeline, store: AlertStore, queue: IngestQueue, metrics: Metrics,
                 batch_size: int, shadow_out: IO[bytes] | None = None) -> None:
        self.pipeline = pipeline
        self.store = store
        self.queue = queue
        self.metrics = metrics
        self.batch_size = batch_size
        self.shadow_out = shadow_out

    def step(self) -> Step:
        """Process up to one batch; ``Step(0, …)`` when the queue is empty."""
        taken = self.queue.take(self.batch_size)
        if not taken:
            return Step(0, 0, 0.0)
        t0 = time.perf_counter()
        by_seq = {q.seq: q for q in taken}
        result, event_rows = self._run(taken)
        if result.emitted:
            self.store.put_many(result.emitted)
        if self.shadow_out is not None and result.shadow:
            self.shadow_out.write(b"".join(encode_alert(a) + b"\n" for a in result.shadow))
            self.shadow_out.flush()
        dead = [self._dead(r, by_seq) for r in result.rejects]
        named = {i for a in result.emitted for i in a.source_event_ids}
        sources = [(eid, q.platform, q.raw) for eid, q in event_rows.items() if eid in named]
        self.queue.finish(taken, dead, sources)
        seconds = time.perf_counter() - t0
        self.metrics.observe(self.pipeline.stats, len(taken), seconds)
        if self.pipeline.drift:
            self.metrics.observe_drift(self.pipeline.drift)
        return Step(len(taken), len(result.emitted), seconds)

    def _run(self, taken: list[Queued]) -> tuple[BatchResult, dict[str, Queued]]:
        p = self.pipeline
        items = [(q.raw, Location(file=f"queue:{q.platform}", line=q.seq)) for q in taken]
        decoded = p.decoder.decode_batch(items)
        for reject in decoded.rejects:  # validated at ingest, so only after a decoder change
            p.stats.rejects[reject.reason] += 1
        by_seq = {q.seq: q for q in taken}
        event_rows = {ev.event_id: by_seq[loc.line] for ev, loc in decoded.events if loc.line is not None}
        result = p.process([e for e, _ in decoded.events], [loc for _, loc in decoded.events])
        result.rejects[:0] = decoded.rejects
        return result, event_rows

    @staticmethod
    def _dead(reject: Reject, by_seq: dict[int, Queued]) -> DeadLetter:
        q = by_seq.get(reject.source.get("line", -1))
        return DeadLetter(q.day if q else "", q.platform if q else "", "pipeline", reject.reason, reject.to_json())


def open_shadow(data_dir: Path) -> IO[bytes]:
    """The shadow-alert JSONL file of the service (appended; shadow rules are never sent to regulators)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return open(data_dir / "shadow-alerts.jsonl", "ab")
