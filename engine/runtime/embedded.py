"""The embedded runner: JSONL from a file or stdin through the pipeline, no broker.

Lines are read in micro-batches, each line tagged with its source position
(file:line) so a rejected line can be found again. Alerts, shadow alerts and
dead-letter records are written as JSON lines as soon as each batch is done.
Window state can be restored from and snapshotted to a folder so the next
run continues the windows.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO, Callable, Iterator

from engine.alerts.alert import Alert, encode_alert
from engine.errors import Location
from engine.pipeline import BatchResult, Pipeline


@dataclass
class RunSummary:
    """Totals of one run, for the printed summary."""

    lines: int = 0
    blank: int = 0
    bytes: int = 0
    seconds: float = 0.0
    alerts: list[Alert] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


class Progress:
    """A one-line progress display on a terminal (silent otherwise)."""

    def __init__(self, stream: IO[str], total_bytes: int | None, enabled: bool) -> None:
        self.stream = stream
        self.total = total_bytes
        self.enabled = enabled
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, lines: int, done_bytes: int, alerts: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        rate = lines / max(now - self.start, 1e-9)
        pct = f"{100 * done_bytes / self.total:5.1f}% " if self.total else ""
        self.stream.write(f"\r{pct}{lines:>10,} events  {rate:>9,.0f} ev/s  {alerts:>6,} alerts")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def read_batches(stream: IO[bytes], name: str, batch_size: int, summary: RunSummary,
                 max_wait_s: float | None = None) -> Iterator[list[tuple[bytes, Location]]]:
    """Yield batches of (line bytes, file:line) from a JSONL stream; blank lines are skipped.

    A regular file is read straight through. A pipe or terminal (a live feed on
    stdin) is read by a helper thread, and a partial batch is processed once no
    new line has arrived for ``max_wait_s`` (default 0.2 s), so a trickle of
    events is not held back until a thousand have arrived. Results never depend
    on where batches are cut.
    """
    if max_wait_s is None:
        max_wait_s = 0.2
    lines = _lines_from_file(stream) if _is_regular_file(stream) else _lines_from_pipe(stream, max_wait_s)
    batch: list[tuple[bytes, Location]] = []
    lineno = 0
    for line in lines:
        if line is None:  # the feed paused: hand over what we have
            if batch:
                yield batch
                batch = []
            continue
        lineno += 1
        summary.bytes += len(line)
        if not line.strip():
            summary.blank += 1
            continue
        batch.append((line.rstrip(b"\r\n"), Location(file=name, line=lineno)))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _is_regular_file(stream: IO[bytes]) -> bool:
    import os
    import stat

    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # in-memory streams have no descriptor
        return True


def _lines_from_file(stream: IO[bytes]) -> Iterator[bytes | None]:
    yield from stream


def _lines_from_pipe(stream: IO[bytes], max_wait_s: float) -> Iterator[bytes | None]:
    """Lines from a pipe, with None whenever no line arrived for ``max_wait_s``."""
    import queue
    import threading

    chunks: queue.Queue = queue.Queue(maxsize=64)  # bounded: a fast producer waits for the pipeline
    end = object()

    def pump() -> None:
        try:
            for line in stream:
                chunks.put(line)
        finally:
            chunks.put(end)

    threading.Thread(target=pump, name="hongdun-stdin", daemon=True).start()
    while True:
        try:
            item = chunks.get(timeout=max_wait_s)
        except queue.Empty:
            yield None
            continue
        if item is end:
            return
        yield item


def run_stream(
    pipeline: Pipeline,
    stream: IO[bytes],
    name: str,
    *,
    alerts_out: IO[bytes] | None = None,
    dead_out: IO[bytes] | None = None,
    shadow_out: IO[bytes] | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    on_batch: Callable[[BatchResult, float, int], None] | None = None,
) -> RunSummary:
    """Run a whole JSONL stream through the pipeline and write its outputs."""
    summary = RunSummary()
    start = time.perf_counter()
    n_alerts = 0
    for batch in read_batches(stream, name, batch_size, summary):
        t0 = time.perf_counter()
        result = pipeline.process_raw(batch)
        seconds = time.perf_counter() - t0
        summary.lines += len(batch)
        if alerts_out is not None and result.emitted:
            # new alerts and new versions of open ones, in event order: consumers upsert by alert_id
            alerts_out.write(b"".join(encode_alert(a) + b"\n" for a in result.emitted))
        if shadow_out is not None and result.shadow:
            shadow_out.write(b"".join(encode_alert(a) + b"\n" for a in result.shadow))
        if dead_out is not None and result.rejects:
            dead_out.write(b"".join(r.to_json() + b"\n" for r in result.rejects))
        for out in (alerts_out, shadow_out, dead_out):
            if out is not None:
                out.flush()  # a live feed's alerts reach their readers batch by batch
        summary.alerts.extend(result.alerts)
        n_alerts += len(result.alerts)
        if on_batch is not None:
            on_batch(result, seconds, len(batch))
        if progress is not None:
            progress.update(summary.lines, summary.bytes, n_alerts)
    summary.seconds = time.perf_counter() - start
    if progress is not None:
        progress.update(summary.lines, summary.bytes, n_alerts, force=True)
        progress.close()
    return summary


def tune_gc() -> None:
    """Make the cyclic garbage collector run rarely during streaming.

    The pipeline allocates many short-lived objects per event but creates no
    reference cycles on its hot path (events are untracked structs), so the
    default generation-0 threshold of 700 makes the collector scan the same
    long-lived pack and window objects thousands of times a second. Freezing
    what exists after start-up and raising the threshold removes that work.
    """
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def stdin_bytes() -> IO[bytes]:
    """Standard input as bytes."""
    return sys.stdin.buffer
