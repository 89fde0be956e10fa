"""Platform-side Kafka tools: the reference producer, the alert tail, pack publishing.

Plain aiokafka (no Faust): this is what a platform runs, and what any Kafka
client can reproduce. The wire format of the input topic (docs/distributed.md):

* value: one event as UTF-8 JSON (the same object as one line of the JSONL
  input of ``hongdun run``, schema in docs/events.md), at most 1 MiB;
* key: the merchant id (``merchant.merchant_id``) as UTF-8 bytes, so the
  default (murmur2) partitioner puts all of a merchant's events on one
  partition; a record without a key is still processed if it lands on the
  partition its merchant hashes to, so always set it;
* event time is ``occurred_at`` in the event; the Kafka timestamp is only used
  to measure latency.
"""
from __future__ import annotations

import asyncio
import sys
import time
from typing import IO, Iterable

import orjson


def servers(broker: str) -> list[str]:
    """``kafka://h1:9092;h2:9092`` (Faust style) or ``h1:9092,h2:9092`` -> bootstrap list."""
    out = []
    for part in broker.replace(",", ";").split(";"):
        part = part.strip()
        if part.startswith("kafka://"):
            part = part[len("kafka://"):]
        if part:
            out.append(part)
    return out


def merchant_key(line: bytes) -> bytes | None:
    """The partition key of one JSONL event: its merchant id, or None if the line is not readable."""
    try:
        doc = orjson.loads(line)
        mid = doc["merchant"]["merchant_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return str(mid).encode() if mid is not None else None


async def ensure_topics(broker: str, topics: dict[str, int], compacted: Iterable[str] = ()) -> list[str]:
    """Create the topics that do not exist yet (name -> partitions); return the names created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=servers(broker))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(name, n, 1, topic_configs={"cleanup.policy": "compact"} if name in set(compacted) else {})
                  for name, n in topics.items() if name not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except Exception as exc:  # raced with another creator
                if "exist" not in str(exc).lower():
                    raise
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def produce(broker: str, topic: str, lines: Iterable[bytes], *, rate: float | None = None,
                  max_request_bytes: int = 16 * 1024 * 1024, linger_ms: int = 5,
                  on_sent: object | None = None) -> tuple[int, int]:
    """Send JSONL events keyed by merchant id; return (sent, skipped blank lines).

    ``rate`` (events/s) paces the sends; every send is acknowledged before returning.
    """
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=servers(broker), linger_ms=linger_ms, acks="all",
                                max_request_size=max_request_bytes, enable_idempotence=False)
    await producer.start()
    sent = skipped = 0
    futs: list[asyncio.Future] = []
    start = time.perf_counter()
    try:
        for line in lines:
            line = line.rstrip(b"\r\n")
            if not line.strip():
                skipped += 1
                continue
            futs.append(await producer.send(topic, line, key=merchant_key(line)))
            sent += 1
            if len(futs) >= 5000:
                await asyncio.gather(*futs)
                futs = []
            if rate:
                ahead = sent / rate - (time.perf_counter() - start)
                if ahead > 0.002:
                    await asyncio.sleep(ahead)
        if futs:
            await asyncio.gather(*futs)
        await producer.flush()
    finally:
        await producer.stop()
    return sent, skipped


async def publish_bundle(broker: str, topic: str, bundle: bytes, key: bytes = b"pack") -> int:
    """Send a pack bundle to the (compacted) control topic; return its offset."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=servers(broker), acks="all", max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, bundle, key=key)
        return meta.offset
    finally:
        await producer.stop()


async def tail(broker: str, topic: str, out: IO[bytes], *, from_beginning: bool = True, limit: int | None = None,
               idle_timeout_s: float | None = None, group: str | None = None) -> int:
    """Print records of ``topic`` as JSON lines until ``limit`` records or ``idle_timeout_s`` without one."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers(broker), group_id=group,
                                auto_offset_reset="earliest" if from_beginning else "latest",
                                enable_auto_commit=group is not None, max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    n = 0
    last = time.monotonic()
    try:
        while limit is None or n < limit:
            batch = await consumer.getmany(timeout_ms=200)
            got = False
            for _tp, records in batch.items():
                for rec in records:
                    if limit is not None and n >= limit:
                        break
                    out.write(rec.value + b"\n")
                    n += 1
                    got = True
            if got:
                out.flush()
                last = time.monotonic()
            elif idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                break
    finally:
        await consumer.stop()
    return n


def read_lines(stream: IO[bytes]) -> Iterable[bytes]:
    for line in stream:
        yield line


def stdin_lines() -> Iterable[bytes]:
    return read_lines(sys.stdin.buffer)
