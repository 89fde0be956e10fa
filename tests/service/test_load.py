"""Ingest load test on loopback: about 200,000 events posted over HTTP in NDJSON batches to a running
`hongdun serve`; nothing accepted is lost (accepted = processed = queued-and-drained), and the service's
alerts are exactly those of the embedded pipeline over the same events (the same pure pipeline inside).

Bounded: loopback only, one client (`hongdun post`, the reference client) posting in order, so the
comparison with the embedded run is exact, honouring 429 + Retry-After (the queue limit is set low so
back-pressure happens); no timed assertions (the rate is printed, not checked).
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.alerts.routing import Deployment
from engine.alerts.store import AlertFilter, open_store
from engine.errors import Location
from engine.pipeline import Pipeline, PipelineConfig, iter_batches
from tests.service.conftest import HANGZHOU, HONGDUN, start_service, stop_service

BATCH = 2_000


@pytest.fixture(scope="module")
def day_200k() -> bytes:
    from engine.simulate import run_simulation

    out = io.BytesIO()
    run_simulation(merchants=600, hours=24, seed=4242, out=out, truth_out=None, bad_rate=0.001)
    return out.getvalue()


def test_200k_events_no_loss(tmp_path: Path, day_200k: bytes, starter: Any) -> None:
    lines = [l for l in day_200k.splitlines(keepends=True) if l.strip()]
    assert len(lines) >= 195_000
    running = start_service(tmp_path, "rules/starter", "--queue-max", "20000", "--batch-size", "2000")
    day = tmp_path / "day.jsonl"
    day.write_bytes(day_200k)
    try:
        t0 = time.perf_counter()
        post = subprocess.run([HONGDUN, "post", str(day), "--url", running.url, "--batch-size", str(BATCH),
                               "--rejects", str(tmp_path / "rejects.jsonl")],
                              env={**os.environ, "HONGDUN_PLATFORM_KEY": running.platform_key},
                              capture_output=True, text=True, timeout=600)
        posted = time.perf_counter() - t0
        assert post.returncode == 0, post.stderr
        st = running.wait_processed(timeout_s=300)
        total = time.perf_counter() - t0
        _, _, metrics = running.request("GET", "/metrics")
    finally:
        stop_service(running)
    m = re.search(r"accepted ([\d,]+), rejected ([\d,]+) in (\d+) request\(s\)(?: \((\d+) answered 429)?", post.stderr)
    assert m, post.stderr
    sums = {"accepted": int(m[1].replace(",", "")), "rejected": int(m[2].replace(",", "")), "requests": int(m[3]),
            "throttled": int(m[4] or 0)}
    print(f"\nload: {len(lines):,} events in {sums['requests']} requests ({sums['throttled']} answered 429); "
          f"posted in {posted:.1f} s ({len(lines) / posted:,.0f} events/s), processed by {total:.1f} s "
          f"({len(lines) / total:,.0f} events/s end to end)")
    rejects = [orjson.loads(l) for l in (tmp_path / "rejects.jsonl").read_bytes().splitlines()]
    assert len(rejects) == sums["rejected"]
    assert sums["accepted"] + sums["rejected"] == len(lines) and sums["rejected"] > 0
    assert st["accepted"] == st["processed"] == sums["accepted"]
    assert st["queue_depth"] == 0
    events = sum(float(l.split()[-1]) for l in metrics.decode().splitlines() if l.startswith("hongdun_events_total{"))
    assert events == sums["accepted"]  # every accepted event went through the pipeline

    # the same pure pipeline over the same lines, in-process: same rejects, same alerts
    pipeline = Pipeline(starter, config=PipelineConfig(deployment=Deployment(frozenset({"330100"}), name=HANGZHOU)))
    expected: dict[str, int] = {}
    rejected: set[tuple[int, str]] = set()
    numbered = ((l, Location(file="day", line=n)) for n, l in enumerate(day_200k.splitlines(), 1) if l.strip())
    for batch in iter_batches(numbered, 5000):
        result = pipeline.process_raw(batch)
        rejected |= {(r.source["line"], r.reason) for r in result.rejects}
        for a in result.emitted:
            expected[a.alert_id] = max(expected.get(a.alert_id, 0), a.hits)
    assert rejected == {(r["line"], r["reason"]) for r in rejects}  # same lines refused for the same reasons
    with open_store(str(running.db)) as store:
        stored = {s.alert.alert_id: s.alert.hits for s in store.select(AlertFilter(limit=None))}
        assert store.verify() is None
    assert stored == expected and len(stored) > 100
