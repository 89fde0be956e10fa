"""The distributed runtime: the pure pipeline as a Faust worker on Kafka.

Thin like the embedded runner: Faust delivers micro-batches of raw records, this
module tags each with its topic/partition/offset, hands them to
:class:`engine.pipeline.Pipeline`, produces what comes out, and keeps state in
a Kafka-changelogged table. Only :mod:`engine.runtime` imports Faust.

One batch (``stream.take_events``), per input partition in arrival order:

1. decode; events of types that need a *cross-merchant* window (see
   :mod:`engine.runtime.topology`) are sent to the re-key topic keyed by the
   window key and the batch waits for the window values to come back;
2. run the pipeline (windows, rules, alerts) with state from the table;
3. produce alerts, shadow alerts and dead-letter records and await every ack;
4. write the partition's *marker* (last offset, window clocks; on the re-key
   side also each source partition's clocks) and every state key changed in
   the batch, and await them; then a one-record *seal*
   (it keeps the broker's reported changelog end exact, see docs/distributed.md);
5. return to Faust, which acks the batch's offsets; they are committed after.

At-least-once: an offset is acked only after its outputs and its state are in
Kafka. After a crash the events after the last commit come again; those up to
the marker were fully processed, so they are replayed one by one against the
table with a replay guard (a key already holding the event is not changed) and
their outputs, already produced, are not sent again. Alert ids are
deterministic, so any duplicate an alert consumer sees is an exact replay.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import os
import shutil
import tempfile
import time
import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import orjson

from engine.errors import HongdunError, Location, PackErrors
from engine.events import deadletter as dl
from engine.events.deadletter import make_reject
from engine.events.decode import DEFAULT_MAX_BYTES, EventDecoder
from engine.pipeline import MODELS, Pipeline, PipelineConfig, _TYPE_OF
from engine.rules.context import EvalContext
from engine.rules.evaluator import CompiledPack
from engine.runtime.faust_store import TableStore, json_codec, sweeping, window_codec
from engine.runtime.rekey_sweep import SEEN, RekeySweeper
from engine.runtime.topology import Plan, TopologyError, plan_for, restrict
from engine.state import windows as W

if TYPE_CHECKING:
    from engine.anomaly.bank import LoadedModel, ModelBank

log = logging.getLogger("hongdun.worker")


@dataclass(frozen=True)
class Topics:
    """Topic names of one deployment (all derived from a prefix unless given)."""

    events: str
    alerts: str
    dead_letter: str
    shadow: str
    control: str
    rekey: str
    replies: str

    @classmethod
    def from_prefix(cls, prefix: str = "hongdun", **override: str | None) -> "Topics":
        names = dict(events=f"{prefix}-events", alerts=f"{prefix}-alerts", dead_letter=f"{prefix}-dead-letter",
                     shadow=f"{prefix}-shadow-alerts", control=f"{prefix}-control", rekey=f"{prefix}-rekey",
                     replies=f"{prefix}-rekey-replies")
        names.update({k: v for k, v in override.items() if v})
        return cls(**names)


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs; built by the CLI (the only place that reads the environment)."""

    broker: str
    pack_dir: str
    topics: Topics = field(default_factory=Topics.from_prefix)
    group: str = "hongdun"
    partitions: int = 4
    replication: int = 1
    store: str = "memory"  # memory | rocksdb
    data_dir: str = "hongdun-data"
    web_host: str = "0.0.0.0"
    web_port: int = 6066
    session_timeout_s: float = 10.0
    heartbeat_s: float = 3.0
    batch_size: int = 1000
    batch_within_s: float = 0.05
    commit_interval_s: float = 1.0
    max_event_bytes: int = DEFAULT_MAX_BYTES
    max_message_bytes: int = 16 * 1024 * 1024  # what the consumer will fetch (oversized events are dead-lettered)
    reply_timeout_s: float = 60.0
    seal_changelog: bool = True
    fetch_wait_s: float = 0.05
    pipeline: PipelineConfig = PipelineConfig()
    log_level: str = "info"


# --------------------------------------------------------------------------
# pack handling

def bundle_pack(folder: str | Path) -> bytes:
    """A pack folder as one JSON document (what ``rules publish`` sends to the control topic)."""
    root = Path(folder)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(root.glob("*.yaml"))}
    if (root / "tests").is_dir():
        files.update({f"tests/{p.name}": p.read_text(encoding="utf-8") for p in sorted((root / "tests").glob("*.yaml"))})
    return orjson.dumps({"format": "hongdun-pack/1", "name": root.name, "files": files})


def compile_bundle(data: bytes, models: "Sequence[LoadedModel] | None" = None) -> CompiledPack:
    """Compile a published bundle; raises PackErrors / ValueError / TopologyError if it is unusable.

    A worker that scores models compiles every pack with them (their ``MODEL/`` windows added,
    ``score.NAME`` readable), exactly as it compiled its start pack.
    """
    from engine.rules.evaluator import compile_pack
    from engine.rules.loader import load_pack

    doc = orjson.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != "hongdun-pack/1" or not isinstance(doc.get("files"), dict):
        raise ValueError("not a hongdun pack bundle (format hongdun-pack/1)")
    tmp = Path(tempfile.mkdtemp(prefix="hongdun-pack-"))
    try:
        for name, text in doc["files"].items():
            path = (tmp / name).resolve()
            if tmp.resolve() not in path.parents or not name.endswith(".yaml"):
                raise ValueError(f"bad file name in bundle: {name!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if models:
            from engine.anomaly.bank import compile_with_models

            cp = compile_with_models(load_pack(tmp), models)
        else:
            cp = compile_pack(load_pack(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    plan_for(cp)  # refuse packs that cannot run partitioned
    return cp


def marker_doc(last: int, clocks: dict[str, W.WindowClock], sources: dict[int, dict[str, W.WindowClock]]) -> bytes:
    """A partition's marker: its last processed offset, its window clocks and (re-key side) each source's clocks.

    Without the source clocks a restarted worker would not know how far each merchant partition had
    got on a re-key partition: neither which of their events are late nor what may be swept.
    """
    def times(cs: dict[str, W.WindowClock]) -> dict[str, float | None]:
        return {n: (c.max_ts if c.max_ts != float("-inf") else None) for n, c in cs.items()}

    doc: dict[str, Any] = {"o": last, "c": times(clocks)}
    if sources:
        doc["s"] = {str(src): times(cs) for src, cs in sources.items()}
    return orjson.dumps(doc)


def read_marker(raw: bytes) -> tuple[int, dict[str, float | None], dict[int, dict[str, float | None]]]:
    """(last offset, window clock times, source partition -> its clock times) from :func:`marker_doc` bytes."""
    doc = orjson.loads(raw)
    return doc["o"], doc.get("c", {}), {int(src): cs for src, cs in doc.get("s", {}).items()}


def _observe(clocks: dict[str, W.WindowClock], times: dict[str, float | None]) -> None:
    for name, max_ts in times.items():
        if name in clocks and max_ts is not None:
            clocks[name].observe(max_ts)


class PartitionedPipeline(Pipeline):
    """The pipeline on a merchant partition: cross-merchant windows are read from values attached to the event."""

    cross: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attached: dict[int, dict[str, Any]] = {}
        self._sweeps: dict[int, tuple[float, dict[str, float]]] = {}  # by partition: its sweep schedule
        self._current: int | None = None

    def enter_partition(self, partition: int) -> None:
        """Events of ``partition`` come next: use its own sweep schedule (event time is per partition).

        With one schedule for all, the partition ahead in event time would cross every sweep
        time first and sweep only its own keys (see :meth:`evict`), and a partition always
        behind would never be swept.
        """
        if self._current is not None:
            self._sweeps[self._current] = (self._next_evict, self._window_sweeps)
        self._current = partition
        self._next_evict, self._window_sweeps = self._sweeps.get(partition, (float("-inf"), {}))

    def evict(self, now_ts: float, force: bool = False) -> int:
        """Sweep expired state of the partition being processed only, by that partition's own event time.

        One pipeline serves every partition this worker holds, and event time is per partition
        (its window clocks are swapped in per batch); after a hand-over or on a backlog, partitions
        can be hours or days apart. A sweep over every key at the time of whichever event triggered
        it dropped state a lagging partition still needed: an open alert's dedup entry (its next hit
        opened a second alert), a merchant's violation history (a repeat judged a first violation).
        Each partition's keys are swept when its own events trigger a sweep.
        """
        stores = [s for s in (self.store, self.alert_state) if isinstance(s, TableStore)]
        with sweeping(stores):
            return super().evict(now_ts, force)

    def _read_window(self, ctx: EvalContext, name: str) -> Any:
        if name in self.cross:
            values = self.attached.get(id(ctx.event))
            return None if values is None else values.get(name)
        return super()._read_window(ctx, name)


def value_to_json(value: Any) -> dict[str, Any]:
    return value.as_dict()


def value_from_json(spec: W.WindowSpec, doc: dict[str, Any]) -> Any:
    value = W.read(None, spec, 0.0)  # an empty value of the window's own class
    for k, v in doc.items():
        object.__setattr__(value, k, v)
    return value


def _no_reader(ctx: EvalContext, name: str) -> Any:
    return None


# --------------------------------------------------------------------------
# the Faust app

def seek_uncommitted_to_start(consumer: Any, topics: set[str]) -> None:
    """Make Faust's "seek to committed offsets" also rewind partitions that have no committed offset.

    Works around a record-loss fault of faust-streaming 0.15.3 (``Recovery.on_recovery_completed``):
    it resumes the stream partitions, awaits ``perform_seek()`` (one ``committed()`` round trip per
    partition, during which the fetcher already hands records to the agents' queues), then calls
    ``flow_control.resume()``, which clears those queues. A partition with a committed offset is sought
    back to it, so the dropped records are fetched again; aiokafka does not seek a partition without
    one (committed None or 0), so its fetch position stays past the dropped records and they are never
    delivered by this process — events silently skipped after a worker starts on a backlog it never
    committed (first start, or a crash or rebalance before the first commit). Measured on the Kafka
    tests (SIGKILL restart, nothing committed): in about one start in three the agent never saw a run
    of 1 to 748 consecutive offsets of one partition although aiokafka had fetched them; where it was
    logged, ``ThrowableQueue.clear`` in ``on_recovery_completed`` had dropped exactly that many.

    Here such partitions are sought to their earliest offset (the position ``auto_offset_reset=earliest``
    gives them anyway). The consumer's flow is stopped first, so that no record fetched from the old
    positions reaches the agents once the seeks are done (records of a partition would otherwise come
    out of order: the rest of the last fetch, then the re-fetch); both Faust callers clear the queues
    and resume the flow right after. What the agents received before is a prefix of each partition and
    comes again, in order: the batch code drops duplicates and replays offsets at or below the
    partition's marker with the guard.
    """
    seek_to_committed = consumer.seek_to_committed

    async def _seek_to_committed() -> Any:
        was_active = consumer.flow_active
        consumer.stop_flow()
        try:
            committed = await seek_to_committed()
            uncommitted = [tp for tp, offset in committed.items()
                           if tp.topic in topics and (offset is None or offset <= 0)]
            if uncommitted:
                earliest = await consumer.earliest_offsets(*uncommitted)
                for tp in uncommitted:
                    start = earliest.get(tp)
                    if start is not None:
                        await consumer.seek(tp, start)
                log.info("no committed offset for %s: fetching them from their earliest offset",
                         ", ".join(f"{tp.topic}/{tp.partition}" for tp in sorted(uncommitted)))
        except BaseException:
            if was_active:
                consumer.resume_flow()
            raise
        return committed

    consumer.seek_to_committed = _seek_to_committed


def split_by_partition(events: list) -> dict[int, list]:
    """A batch's events per partition, in offset order, each offset once.

    Kafka delivers a partition in offset order; a record delivered twice (Faust re-fetching after a
    seek, see :func:`seek_uncommitted_to_start`) may come again, possibly in the same batch. The
    log order is the offset order, so sorting restores it and the copy is dropped.
    """
    parts: dict[int, dict[int, Any]] = defaultdict(dict)
    for ev in events:
        parts[ev.message.partition].setdefault(ev.message.offset, ev)
    return {p: [byoff[o] for o in sorted(byoff)] for p, byoff in parts.items()}


class _PartitionEvent:
    """Stands in for Faust's current event so a table write goes to an explicit partition."""

    __slots__ = ("message", "__weakref__")

    def __init__(self, topic: str, partition: int) -> None:
        from types import SimpleNamespace

        self.message = SimpleNamespace(topic=topic, partition=partition)


class FaustTableBackend:
    """Raw access to a Faust table with explicit partitions (memory or RocksDB store)."""

    def __init__(self, table: Any, topic: str) -> None:
        from faust import streams

        self.table = table
        self.topic = topic
        self._ctxvar = streams._current_event
        self._events: dict[int, _PartitionEvent] = {}
        self.pending: list[tuple[int, bytes, bytes | None]] = []

    def _enter(self, partition: int) -> Any:
        ev = self._events.get(partition)
        if ev is None:
            ev = self._events[partition] = _PartitionEvent(self.topic, partition)
        return self._ctxvar.set(weakref.ref(ev))

    def get(self, key: bytes) -> bytes | None:
        try:
            return self.table.data[key]
        except KeyError:
            return None

    def set(self, partition: int, key: bytes, value: bytes) -> None:
        token = self._enter(partition)
        try:
            self.table.data[key] = value
        finally:
            self._ctxvar.reset(token)
        self.pending.append((partition, key, value))

    def delete(self, partition: int, key: bytes) -> None:
        token = self._enter(partition)
        try:
            del self.table.data[key]
        except KeyError:
            pass
        finally:
            self._ctxvar.reset(token)
        self.pending.append((partition, key, None))

    async def send(self, producer: Any) -> list:
        """Send the pending changelog records straight to the producer (not through Faust's
        per-message buffer, which costs ~0.1 ms a record); return their futures."""
        topic = self.table.changelog_topic.get_topic_name()
        futs = [await producer.send(topic, key, value, partition, None, None) for partition, key, value in self.pending]
        self.pending = []
        return futs

    def persisted(self, metas: list) -> None:
        """Tell the store which changelog offsets it holds (RocksDB: where recovery resumes)."""
        from faust.types import TP

        top: dict[int, int] = {}
        for m in metas:
            if m is not None and m.offset > top.get(m.partition, -1):
                top[m.partition] = m.offset
        topic = self.table.changelog_topic.get_topic_name()
        for partition, offset in top.items():
            try:
                self.table.data.set_persisted_offset(TP(topic, partition), offset)
            except Exception:  # the memory store keeps no offsets
                pass

    def iter_prefix(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in list(self.table.data.items()) if k.startswith(prefix) and v is not None]


class Worker:
    """Builds the Faust app and holds the per-process state of one worker."""

    def __init__(self, config: WorkerConfig, compiled: CompiledPack, metrics: Any | None = None,
                 models: "ModelBank | None" = None) -> None:
        import faust

        from engine.metrics import Metrics

        self.config = config
        self.metrics = metrics if metrics is not None else Metrics()
        self.models = models  # anomaly models the merchant partitions score with (None: rules only)
        self.nonce = uuid.uuid4().hex[:12]
        self._seq = 0
        self.started = time.monotonic()
        self.first_event_at: float | None = None
        self.processed = 0
        self.pending_pack: CompiledPack | None = None
        self._pending_sends: list = []
        self._positions: dict[int, int] = {}
        self._stale = False
        self._batches_running = 0
        self._fetch_tuned = False
        self._joined = False
        from collections import Counter

        self.timing: Counter = Counter()
        self._timing_logged = time.monotonic()
        self.generation = 0
        self.assigned: set[int] = set()
        self.markers: dict[tuple[str, int], int] = {}
        self.clocks: dict[tuple[str, int], dict[str, W.WindowClock]] = {}
        self.replies: dict[str, asyncio.Future] = {}
        t = config.topics
        store_url = "memory://" if config.store == "memory" else "rocksdb://"
        stream_topics = {t.events, t.rekey, t.replies}

        class App(faust.App):  # type: ignore[misc]
            def _new_consumer(self) -> Any:
                consumer = super()._new_consumer()
                seek_uncommitted_to_start(consumer, stream_topics)
                return consumer

        self.app = app = App(
            config.group,
            broker=config.broker,
            store=store_url,
            datadir=config.data_dir,
            web_enabled=True,
            web_host=config.web_host,
            web_bind=config.web_host,
            web_port=config.web_port,
            web_in_thread=False,
            autodiscover=False,
            topic_partitions=config.partitions,
            topic_replication_factor=config.replication,
            broker_session_timeout=config.session_timeout_s,
            broker_heartbeat_interval=config.heartbeat_s,
            broker_commit_interval=config.commit_interval_s,
            broker_max_poll_records=500,
            stream_buffer_maxsize=65536,
            consumer_auto_offset_reset="earliest",
            consumer_max_fetch_size=config.max_message_bytes,
            producer_max_request_size=config.max_message_bytes,
            producer_linger=0.002,
            key_serializer="raw",
            value_serializer="raw",
            table_standby_replicas=0,
        )
        self.events_topic = app.topic(t.events, partitions=config.partitions, key_type=bytes, value_type=bytes,
                                      key_serializer="raw", value_serializer="raw")
        self.rekey_topic = app.topic(t.rekey, partitions=config.partitions, key_type=bytes, value_type=bytes,
                                     key_serializer="raw", value_serializer="raw")
        self.replies_topic = app.topic(t.replies, partitions=config.partitions, key_type=bytes, value_type=bytes,
                                       key_serializer="raw", value_serializer="raw")
        self.out_topics = [app.topic(n, partitions=config.partitions, value_serializer="raw", key_serializer="raw")
                           for n in (t.alerts, t.dead_letter, t.shadow)]
        self.control_topic = app.topic(t.control, partitions=1, compacting=True, value_serializer="raw",
                                       key_serializer="raw")
        self.state_table = app.Table("state", partitions=config.partitions, key_type=bytes, value_type=bytes)
        self.xstate_table = app.Table("xstate", partitions=config.partitions, key_type=bytes, value_type=bytes)
        backend = FaustTableBackend(self.state_table, t.events)
        xbackend = FaustTableBackend(self.xstate_table, t.rekey)
        self.backends = {t.events: backend, t.rekey: xbackend}
        # the pipeline's model warm-up start is keyed by model name alone: kept per merchant partition
        self.stores = {t.events: [TableStore(backend, b"w", window_codec()),
                                  TableStore(backend, b"a", json_codec(), per_partition={MODELS})],
                       t.rekey: [TableStore(xbackend, b"w", window_codec()), TableStore(xbackend, b"a", json_codec())]}
        wstore, astore = self.stores[t.events]
        self.pipeline = PartitionedPipeline(compiled, store=wstore, config=config.pipeline,
                                            decoder=EventDecoder(max_bytes=config.max_event_bytes), dedup_store=astore,
                                            models=models)
        xw, xa = self.stores[t.rekey]
        self.xpipelines: dict[int, Pipeline] = {}
        self._xstores = (xw, xa)
        self._xsweeper = RekeySweeper(config.pipeline.evict_every_s)
        self._install(compiled)
        self.metrics.set_pack(compiled.name, compiled.version)
        self._wire()

    # -- pack ------------------------------------------------------------------
    def _install(self, compiled: CompiledPack) -> None:
        plan = plan_for(compiled)
        self.plan: Plan = plan
        cross = plan.cross_windows
        local = restrict(compiled, frozenset(compiled.windows) - cross, keep_rules=True)
        self.pipeline.swap_pack(local)
        self.pipeline.cross = cross
        self.compiled = compiled
        self._xgroups = [(g.index, g.windows) for g in plan.groups]  # what the re-key side sweeps
        xw, xa = self._xstores
        for g in plan.groups:
            xp = self.xpipelines.get(g.index)
            restricted = restrict(compiled, frozenset(g.windows), keep_rules=False)
            if xp is None:
                self.xpipelines[g.index] = Pipeline(restricted, store=xw, config=self.config.pipeline, dedup_store=xa)
            else:
                xp.swap_pack(restricted)
        for clocks in self.clocks.values():
            for name, spec in compiled.windows.items():
                clocks.setdefault(name, W.WindowClock.for_spec(spec))

    def _clocks_for(self, topic: str, partition: int) -> dict[str, W.WindowClock]:
        c = self.clocks.get((topic, partition))
        if c is None:
            c = self.clocks[(topic, partition)] = {n: W.WindowClock.for_spec(s) for n, s in self.compiled.windows.items()}
        return c

    @staticmethod
    def _use_clocks(pipe: Pipeline, clocks: dict[str, W.WindowClock]) -> None:
        """Load a partition's window clocks into the pipeline's own clock objects (event time is per partition)."""
        for name, clock in pipe.clocks.items():
            mine = clocks.get(name)
            clock.max_ts = mine.max_ts if mine is not None else float("-inf")

    @staticmethod
    def _keep_clocks(pipe: Pipeline, clocks: dict[str, W.WindowClock]) -> None:
        for name, clock in pipe.clocks.items():
            mine = clocks.get(name)
            if mine is None:
                mine = clocks[name] = W.WindowClock(clock.allowed_lateness_s)
            mine.max_ts = clock.max_ts

    # -- wiring ----------------------------------------------------------------
    def _wire(self) -> None:
        app = self.app
        cfg = self.config

        @app.task
        async def _start() -> None:
            for topic in [*self.out_topics, self.control_topic, self.rekey_topic, self.replies_topic]:
                await topic.maybe_declare()
            await self._read_control(initial=True)

        self._packs_loaded = False

        @app.agent(self.events_topic, name="hongdun-events")
        async def process_events(stream: Any) -> None:
            async for events in stream.take_events(cfg.batch_size, within=cfg.batch_within_s):
                await self._guarded(self._process_batch, events)

        @app.agent(self.rekey_topic, name="hongdun-rekey")
        async def process_rekey(stream: Any) -> None:
            async for events in stream.take_events(cfg.batch_size, within=min(cfg.batch_within_s, 0.01)):
                await self._guarded(self._process_rekey, events)  # a merchant partition is waiting: go at once

        @app.agent(self.replies_topic, name="hongdun-replies")
        async def collect_replies(stream: Any) -> None:
            async for value in stream:
                try:
                    doc = orjson.loads(value)
                except orjson.JSONDecodeError:
                    continue
                fut = self.replies.pop(doc.get("r", ""), None)
                if fut is not None and not fut.done():
                    fut.set_result(doc)

        @app.on_partitions_revoked.connect
        async def _revoked(app_: Any, revoked: Any = (), **kw: Any) -> None:
            self._rebalanced()

        @app.on_partitions_assigned.connect
        async def _assigned(app_: Any, assigned: Any = (), **kw: Any) -> None:
            self.assigned = {tp.partition for tp in assigned if tp.topic == cfg.topics.events}
            self._joined = True
            self._rebalanced()

        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        @app.page("/metrics")
        async def metrics_page(web: Any, request: Any) -> Any:
            self._update_lag()
            if self.pipeline.drift:
                self.metrics.observe_drift(self.pipeline.drift)
            return web.bytes(generate_latest(self.metrics.registry), content_type="text/plain; version=0.0.4")

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"ok": True})

        @app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            ready = self.is_ready()
            body = {"ready": ready, "pack": self.compiled.name, "version": self.compiled.version,
                    "models": self.models.info() if self.models is not None else [],
                    "partitions": sorted(self.assigned), "processed": self.processed,
                    "startup_to_first_event_s": None if self.first_event_at is None else self.first_event_at - self.started,
                    "batches": self.timing["batches"],
                    "ms_per_batch": {k: round(1000 * v / max(self.timing["batches"], 1), 2) for k, v in self.timing.items()
                                     if k not in ("batches", "events")}}
            return web.json(body, status=200 if ready else 503)

    def is_ready(self) -> bool:
        app = self.app
        try:
            recovered = app.tables.recovery.completed.is_set()
        except AttributeError:
            recovered = True
        # a worker of a group with more members than partitions is ready with no partition
        return bool(self._packs_loaded and not app.rebalancing and recovered and self._joined)

    def _rebalanced(self) -> None:
        self.generation += 1
        self._stale = True  # caches are dropped before the next batch (never under a running one)
        for fut in self.replies.values():
            if not fut.done():
                fut.set_exception(_Revoked())
        self.replies.clear()

    def _update_lag(self) -> None:
        try:
            consumer = self.app.consumer
            for tp in consumer.assignment():
                if tp.topic != self.config.topics.events:
                    continue
                hw = consumer.highwater(tp)
                pos = self._positions.get(tp.partition)
                if hw is not None and pos is not None:
                    self.metrics.lag.labels(partition=str(tp.partition)).set(max(hw - pos - 1, 0))
        except Exception:  # metrics must never break the page
            pass

    # -- control topic (hot reload) ------------------------------------------
    async def _read_control(self, initial: bool) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        servers = self.config.broker.replace("kafka://", "").split(";")
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, group_id=None,
                                    auto_offset_reset="earliest", fetch_max_bytes=self.config.max_message_bytes,
                                    max_partition_fetch_bytes=self.config.max_message_bytes)
        await consumer.start()
        try:
            tp = TopicPartition(self.config.topics.control, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            latest: bytes | None = None
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for rec in batch.get(tp, []):
                    latest = rec.value
            if latest is not None:
                await self._apply_bundle(latest, source="control topic (at start)")
            self._packs_loaded = True
            log.info("pack %s %s live; following %s for new packs", self.compiled.name, self.compiled.version,
                     self.config.topics.control)
            while True:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for rec in batch.get(tp, []):
                    await self._apply_bundle(rec.value, source=f"{tp.topic}/{tp.partition}@{rec.offset}")
        finally:
            await consumer.stop()

    async def _apply_bundle(self, data: bytes | None, source: str) -> None:
        if data is None:
            return
        loop = asyncio.get_running_loop()
        try:
            models = self.models.models if self.models is not None else None
            compiled = await loop.run_in_executor(None, compile_bundle, data, models)
        except (PackErrors, HongdunError, ValueError, TopologyError, orjson.JSONDecodeError) as exc:
            self.metrics.pack_rejects.labels(reason=type(exc).__name__).inc()
            log.error("pack from %s rejected; %s %s stays live:\n%s", source, self.compiled.name,
                      self.compiled.version, exc)
            return
        self.pending_pack = compiled
        log.info("pack %s %s from %s compiled; live from the next batch", compiled.name, compiled.version, source)
        if not self._batches_running:
            self._maybe_swap()  # idle: no batch to wait for

    def _maybe_swap(self) -> None:
        compiled, self.pending_pack = self.pending_pack, None
        if compiled is None:
            return
        try:
            self._install(compiled)
        except (TopologyError, ValueError) as exc:  # checked in compile_bundle already; kept for safety
            self.metrics.pack_rejects.labels(reason=type(exc).__name__).inc()
            log.error("pack %s %s rejected: %s", compiled.name, compiled.version, exc)
            return
        self.metrics.set_pack(compiled.name, compiled.version)
        log.info("pack %s %s is live", compiled.name, compiled.version)

    # -- batches ---------------------------------------------------------------
    async def _guarded(self, fn: Any, events: list) -> None:
        """Run one batch; on a failure that could lose data, stop the process before Faust acks the batch."""
        while not self._packs_loaded:
            await asyncio.sleep(0.05)
        if self._stale:
            self._stale = False
            for stores in self.stores.values():
                for s in stores:
                    s.flush()
                    s.invalidate()
            self.markers.clear()
            self.clocks.clear()
        if not self._fetch_tuned:
            self._tune_fetch_wait()
        self._maybe_swap()
        self._batches_running += 1
        try:
            await fn(events)
        except _Revoked:
            # our partitions moved while the batch waited for cross-merchant values: exit without
            # acking, so the new owner processes the batch again (at-least-once).
            log.warning("partitions revoked during a batch waiting for re-keyed window values; restarting worker")
            os._exit(75)
        except Exception:
            ranges = ", ".join(f"{evs[0].message.topic}/{p}@{evs[0].message.offset}-{evs[-1].message.offset}"
                               for p, evs in sorted(split_by_partition(events).items()))
            log.exception("batch %s failed; exiting before its offsets are acked (at-least-once)", ranges)
            logging.shutdown()
            os._exit(70)
        finally:
            self._batches_running -= 1

    def _tune_fetch_wait(self) -> None:
        """Shorten the consumer's fetch long-poll (Faust fixes it at 1.5 s).

        A batch that needs cross-merchant values waits for two hops through Kafka (re-key, reply);
        on a broker that holds a fetch for its whole max wait when the data arrives on another
        partition, every hop could cost up to 1.5 s. ``fetch_wait_s`` bounds it (default 0.05 s).
        """
        try:
            fetcher = self.app.consumer._thread._ensure_consumer()._fetcher
            fetcher._fetch_max_wait_ms = int(self.config.fetch_wait_s * 1000)
            self._fetch_tuned = True
        except Exception:  # consumer not started yet, or another driver: keep Faust's default
            pass

    async def _marker(self, topic: str, partition: int) -> int:
        key = (topic, partition)
        m = self.markers.get(key)
        if m is None:
            raw = self.backends[topic].get(b"m%d" % partition)
            m = -1
            if raw is not None:
                m, clocks, sources = read_marker(raw)
                _observe(self._clocks_for(topic, partition), clocks)
                for src, src_clocks in sources.items():  # re-key side: per source partition
                    _observe(self._clocks_for(topic, (partition, src)), src_clocks)
            self.markers[key] = m
        return m

    async def _process_batch(self, events: list) -> None:
        t0 = time.perf_counter()
        topic = self.config.topics.events
        wstore, astore = self.stores[topic]
        pipe = self.pipeline
        outputs: list[tuple[str, bytes | None, bytes, int | None]] = []
        partitions = split_by_partition(events)
        # 1. decode, ask for cross-merchant window values
        work = []
        waits: list[asyncio.Future] = []
        for p, evs in partitions.items():
            marker = await self._marker(topic, p)
            items = [(e.message.value if e.message.value is not None else b"",
                      Location(topic=topic, partition=p, offset=e.message.offset)) for e in evs]
            raw_of = {id(loc): raw for raw, loc in items}
            decoded = pipe.decoder.decode_batch(items)
            for rej in decoded.rejects:
                pipe.stats.rejects[rej.reason] += 1
            asks = {}
            if self.plan.groups:
                for ev, loc in decoded.events:
                    etype = _TYPE_OF[type(ev)]
                    groups = self.plan.groups_for(etype)
                    if groups:
                        asks[id(ev)] = self._ask(ev, etype, loc, raw_of[id(loc)], groups, waits)
            work.append((p, evs, decoded, asks, marker))
        # 2. wait for the values, then run the pipeline per partition
        t_ask = time.perf_counter()
        if waits:
            await self._send_all([])  # the requests go out now
            await self.app.producer.flush()
            await self._await_replies(waits)
        t_wait = time.perf_counter()
        results = []
        for p, evs, decoded, asks, marker in work:
            last = evs[-1].message.offset
            clocks = self._clocks_for(topic, p)
            self._use_clocks(pipe, clocks)
            pipe.enter_partition(p)
            wstore.begin(p, last)
            astore.begin(p, last)
            ok_events, ok_locs, rejects = [], [], list(decoded.rejects)
            for ev, loc in decoded.events:
                ask = asks.get(id(ev))
                if ask is not None:
                    values, error = self._collect(ask)
                    if error is not None:
                        rejects.append(make_reject(dl.WINDOW_ERROR, error, ask["raw"], loc, event_id=ev.event_id,
                                                   event_type=_TYPE_OF[type(ev)]))
                        pipe.stats.rejects[dl.WINDOW_ERROR] += 1
                        continue
                    pipe.attached[id(ev)] = values
                ok_events.append(ev)
                ok_locs.append(loc)
            fresh_rejects = [r for r in rejects if r.source.get("offset", -1) > marker]
            replay = [(e, l) for e, l in zip(ok_events, ok_locs) if l.offset <= marker]
            live = [(e, l) for e, l in zip(ok_events, ok_locs) if l.offset > marker]
            if replay:
                log.warning("%s/%s: replaying offsets %s-%s processed before a crash or rebalance (state guarded, "
                            "outputs already produced)", topic, p, replay[0][1].offset, replay[-1][1].offset)
            for ev, loc in replay:  # processed before a crash: state guarded, outputs already produced
                for s in (wstore, astore):
                    s.replaying(loc.offset)
                pipe.process([ev], [loc])
                for s in (wstore, astore):
                    s.replaying(None)
            result = pipe.process([e for e, _ in live], [l for _, l in live])
            self._keep_clocks(pipe, clocks)
            pipe.attached.clear()
            result.rejects = fresh_rejects + result.rejects
            results.append((p, evs, result, len(replay)))
        # 3. produce outputs and wait for every ack
        t = self.config.topics
        from engine.alerts.alert import encode_alert

        for p, evs, result, _ in results:
            for a in result.emitted:
                outputs.append((t.alerts, a.merchant.merchant_id.encode(), encode_alert(a), None))
            for a in result.shadow:
                outputs.append((t.shadow, a.merchant.merchant_id.encode(), encode_alert(a), None))
            for r in result.rejects:
                log.warning("dead-letter %s/%s@%s: %s: %s", r.source.get("topic"), r.source.get("partition"),
                            r.source.get("offset"), r.reason, r.message[:200])
                outputs.append((t.dead_letter, None, r.to_json(), None))
        t_pipe = time.perf_counter()
        await self._send_all(outputs)
        t_send = time.perf_counter()
        # 4. state: marker, keys, seal
        await self._flush_state(topic, results_partitions=[(p, evs[-1].message.offset) for p, evs, _, _ in results])
        t_state = time.perf_counter()
        tm = self.timing
        tm["batches"] += 1
        tm["events"] += len(events)
        tm["decode+ask"] += t_ask - t0
        tm["wait"] += t_wait - t_ask
        tm["pipeline"] += t_pipe - t_wait
        tm["send"] += t_send - t_pipe
        tm["state"] += t_state - t_send
        if time.monotonic() - self._timing_logged > 10:
            self._timing_logged = time.monotonic()
            b = max(tm["batches"], 1)
            log.info("batch timing since start: %d batches, %.0f events each; ms per batch: %s", tm["batches"], tm["events"] / b,
                     ", ".join(f"{k} {1000 * v / b:.1f}" for k, v in tm.items() if k not in ("batches", "events")))
        # 5. metrics; Faust acks the batch when we return
        now = time.time()
        n = len(events)
        for ev in events:
            ts = ev.message.timestamp
            if ts:
                self.metrics.latency.observe(max(now - ts, 0.0))
        for p, evs, _, _ in results:
            self._positions[p] = evs[-1].message.offset
        self.processed += n
        if self.first_event_at is None:
            self.first_event_at = time.monotonic()
            log.info("first batch processed %.2f s after start", self.first_event_at - self.started)
        self.metrics.observe(pipe.stats, n, time.perf_counter() - t0)

    async def _await_replies(self, waits: list) -> None:
        deadline = time.monotonic() + self.config.reply_timeout_s
        pending = set(waits)
        while pending:
            done, pending = await asyncio.wait(pending, timeout=0.5)
            for f in done:
                f.result()  # raises _Revoked
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} re-keyed window lookups unanswered after "
                                   f"{self.config.reply_timeout_s} s")

    def _ask(self, ev: Any, etype: str, loc: Location, raw: bytes, groups: tuple, waits: list) -> dict:
        ctx = EvalContext(ev, etype, ev.occurred_at.timestamp(), _no_reader)
        ask: dict[str, Any] = {"raw": raw, "futs": []}
        for g in groups:
            keyfn = self.compiled.window_keys.get((g.windows[0], etype))
            key = keyfn(ctx) if keyfn is not None else None
            if key is None:
                continue
            self._seq += 1
            rid = f"{self.nonce}:{self._seq}"
            fut = asyncio.get_running_loop().create_future()
            self.replies[rid] = fut
            headers = [("hd-src", orjson.dumps([loc.topic, loc.partition, loc.offset])), ("hd-rid", rid.encode()),
                       ("hd-group", str(g.index).encode())]
            # sent in event-time order (see _send_all): a cross-merchant key then sees its events in time order
            self._pending_sends.append(((ctx.ts, loc.partition, loc.offset, g.index),
                                        (self.config.topics.rekey, orjson.dumps(list(key)), raw, None, None, headers)))
            ask["futs"].append(fut)
            waits.append(fut)
        return ask

    def _collect(self, ask: dict) -> tuple[dict[str, Any], str | None]:
        values: dict[str, Any] = {}
        for fut in ask["futs"]:
            doc = fut.result()
            if doc.get("e"):
                return {}, doc["e"]
            for name, v in doc.get("v", {}).items():
                spec = self.compiled.windows.get(name)
                if spec is not None and v is not None:
                    values[name] = value_from_json(spec, v)
        return values, None

    async def _send_all(self, outputs: list) -> None:
        producer = self.app.producer
        futs = []
        if self._pending_sends:
            # merge the partitions' requests by event time, each partition's in its offset order (the
            # source-offset bookkeeping on the re-keyed side relies on it)
            by_part: dict[int, list] = defaultdict(list)
            for item in self._pending_sends:
                by_part[item[0][1]].append(item)
            merged = heapq.merge(*by_part.values(), key=lambda item: item[0][0])
            futs.extend([await producer.send(*args) for _, args in merged])
            self._pending_sends = []
        for topic, key, value, partition in outputs:
            futs.append(await producer.send(topic, key, value, partition, None, None))
        if futs:
            await asyncio.gather(*futs)

    async def _flush_state(self, topic: str, results_partitions: list[tuple[int, int]]) -> None:
        backend = self.backends[topic]
        stores = self.stores[topic]
        producer = self.app.producer
        if not any(s.pending() for s in stores) and not results_partitions and not backend.pending:
            return
        for p, last in results_partitions:
            clocks = self._clocks_for(topic, p)
            # never lower the marker: a batch of replayed offsets (all at or below it) must not make
            # the next owner process them again as new
            last = max(self.markers.get((topic, p), -1), last)
            sources = self._source_clocks(topic, p) if topic == self.config.topics.rekey else {}
            backend.set(p, b"m%d" % p, marker_doc(last, clocks, sources))
            self.markers[(topic, p)] = last
        # marker first, then the keys, in one go: Kafka keeps a partition's records in order, so any
        # key of this batch that is durable has its marker before it
        for s in stores:
            s.flush()
        futs = await backend.send(producer)
        if futs:
            backend.persisted(list(await asyncio.gather(*futs)))
        if self.config.seal_changelog:
            # a one-record batch after the keys (see the module docstring)
            for p, last in results_partitions:
                backend.set(p, b"s%d" % p, b"%d" % last)
            seal = await backend.send(producer)
            await asyncio.gather(*seal)

    # -- the re-keyed topic: cross-merchant windows ------------------------------
    async def _process_rekey(self, events: list) -> None:
        topic = self.config.topics.rekey
        xw, xa = self.stores[topic]
        outputs = []
        results_partitions = []
        for p, evs in split_by_partition(events).items():
            marker = await self._marker(topic, p)
            last = evs[-1].message.offset
            xw.begin(p, last)
            xa.begin(p, last)
            for e in evs:
                headers = dict(e.message.headers or [])
                try:
                    src_topic, src_p, src_o = orjson.loads(headers["hd-src"])
                    rid = headers["hd-rid"].decode()
                    gi = int(headers["hd-group"])
                except (KeyError, ValueError, orjson.JSONDecodeError):
                    log.warning("re-key %s/%s@%s: record without hongdun headers ignored", topic, p, e.message.offset)
                    continue
                # event time per source partition: merchant partitions progress unevenly (one catching up a
                # backlog), and a clock shared by all of them would refuse the lagging one's events as late
                src_clocks = self._clocks_for(topic, (p, src_p))
                reply = self._cross_values(e, gi, p, src_clocks, (src_p, src_o), e.message.offset <= marker)
                reply["r"] = rid
                outputs.append((self.config.topics.replies, e.message.key, orjson.dumps(reply), src_p))
            self._sweep_rekey(topic, p)
            results_partitions.append((p, last))
        await self._send_all(outputs)
        await self._flush_state(topic, results_partitions)

    def _source_clocks(self, topic: str, partition: int) -> dict[int, dict[str, W.WindowClock]]:
        """The window clocks of every source partition re-key partition ``partition`` has heard from, by source."""
        return {key[1][1]: c for key, c in self.clocks.items()
                if key[0] == topic and isinstance(key[1], tuple) and key[1][0] == partition}

    def _sweep_rekey(self, topic: str, p: int) -> None:
        """Drop re-key partition ``p``'s expired cross-merchant keys, at its slowest source's watermark."""
        xw, xa = self.stores[topic]
        with sweeping((xw, xa), p):
            self._xsweeper.sweep(p, self.compiled.windows, self._xgroups, list(self._source_clocks(topic, p).values()),
                                 xw, xa)

    def _cross_values(self, e: Any, gi: int, p: int, clocks: dict, src: tuple[int, int], replay: bool) -> dict:
        xp = self.xpipelines.get(gi)
        if xp is None:
            return {"e": f"no cross-merchant window group {gi} in pack {self.compiled.name} {self.compiled.version}"}
        xw, xa = self.stores[self.config.topics.rekey]
        decoded = xp.decoder.decode(e.message.value, Location(topic=self.config.topics.rekey, partition=p,
                                                               offset=e.message.offset))
        if not hasattr(decoded, "occurred_at"):
            return {"e": f"re-keyed event does not decode: {getattr(decoded, 'message', decoded)}"}
        etype = _TYPE_OF[type(decoded)]
        group = self.plan.groups[gi] if gi < len(self.plan.groups) else None
        if group is None:
            return {"e": "unknown window group"}
        ctx0 = EvalContext(decoded, etype, decoded.occurred_at.timestamp(), _no_reader)
        keyfn = self.compiled.window_keys.get((group.windows[0], etype))
        key = keyfn(ctx0) if keyfn is not None else None
        seen_key = (str(gi), *(key or ()))
        seen = xa.get(SEEN, seen_key) or {}
        # a source event seen before (re-sent after its merchant partition moved): read, do not count again
        again = replay or seen.get(str(src[0]), -1) >= src[1]
        self._use_clocks(xp, clocks)
        if again:
            for s in (xw, xa):
                s.replaying(-1 if not replay else e.message.offset)
        try:
            ctx = xp.observe(decoded)
            values = {}
            ts = ctx.ts
            for name in group.windows:
                kf = self.compiled.window_keys.get((name, etype))
                k = kf(ctx) if kf is not None else None
                if k is None:
                    values[name] = None
                    continue
                values[name] = value_to_json(W.read(xw.get(name, k), self.compiled.windows[name], ts))
        except Exception as exc:  # a window filter must never kill the worker
            return {"e": f"window update failed: {exc!r}"}
        finally:
            self._keep_clocks(xp, clocks)
            if xp.stats.late:  # late events of cross-merchant windows show in the worker's metrics
                self.pipeline.stats.late.update(xp.stats.late)
                xp.stats.late.clear()
            for s in (xw, xa):
                s.replaying(None)
        if not again:
            seen[str(src[0])] = src[1]
            xa.put(SEEN, seen_key, seen)
        return {"v": values}

    # -- running -----------------------------------------------------------------
    def run(self) -> None:
        """Run the worker until it is stopped (blocks)."""
        from faust import Worker as FaustWorker

        worker = FaustWorker(self.app, loglevel=self.config.log_level, quiet=True)
        worker.execute_from_commandline()


class _Revoked(Exception):
    """Our partitions were revoked while a batch waited for re-keyed values."""
