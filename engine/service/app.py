"""Wiring of `hongdun serve`: one aiohttp application, three worker threads, one consumer task.

Why aiohttp: it is already installed with faust-streaming (a dependency of
hongdun), so the service adds no runtime package; it is a mature, maintained
asyncio HTTP server with streaming bodies, a request size limit
(``client_max_size``) and graceful shutdown, and the service needs nothing
an ASGI framework would add (the OpenAPI document is written by hand and is
the contract; schemathesis checks the handlers against it).

Threads (each owns its SQLite connections; the event loop never blocks on a
database or on scoring):

* ``ingest`` — decode and validate a request's events, then commit them to
  the durable queue; one at a time, so queue commits never contend;
* ``api``    — the regulator's reads and audited status changes;
* ``pipe``   — the consumer: queue → pipeline → alert store, one batch per call.

Back-pressure: the number of queued events is tracked in :class:`Depth`; an
ingest request that would push it over ``queue_max_events`` gets 429 with a
Retry-After computed from the consumer's measured rate, and nothing of it
is queued.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from engine.alerts.store import open_store
from engine.anomaly.bank import ModelBank
from engine.events.decode import EventDecoder
from engine.metrics import ServiceMetrics
from engine.pipeline import Pipeline, PipelineConfig
from engine.rules.evaluator import CompiledPack
from engine.service import api, inbox
from engine.service.auth import Auth
from engine.service.config import ServiceConfig
from engine.service.ingest import IngestResult, split_body, validate
from engine.service.queue import IngestQueue
from engine.service.regulator import Regulator
from engine.service.worker import Consumer, open_shadow

log = logging.getLogger("hongdun.serve")
T = TypeVar("T")


class Depth:
    """Queued-but-unprocessed events, shared by the ingest thread and the consumer (locked)."""

    def __init__(self, value: int = 0) -> None:
        self._lock = threading.Lock()
        self.value = value

    def reserve(self, n: int, limit: int) -> bool:
        """Add ``n`` if the result stays within ``limit`` (an empty queue takes any one request)."""
        with self._lock:
            if self.value and self.value + n > limit:
                return False
            self.value += n
            return True

    def release(self, n: int) -> None:
        """Remove ``n`` (processed, or a reservation that was not queued)."""
        with self._lock:
            self.value -= n


class Service:
    """The running service: configuration, auth, threads, the consumer task and its counters."""

    def __init__(self, config: ServiceConfig, auth: Auth, compiled: CompiledPack, *, models: ModelBank | None = None,
                 metrics: ServiceMetrics | None = None, start_consumer: bool = True) -> None:
        self.config = config
        self.auth = auth
        self.compiled = compiled
        self.models = models  # an engine.anomaly.bank.ModelBank, or None (rules only)
        self.metrics = metrics or ServiceMetrics()
        self.metrics.set_pack(compiled.name, compiled.version)
        self.depth = Depth()
        self.throttled = 0
        self.rate = 5000.0  # events/s of the consumer, smoothed; for Retry-After
        self.start_consumer = start_consumer
        self._ingest_x = ThreadPoolExecutor(1, thread_name_prefix="hongdun-ingest")
        self._api_x = ThreadPoolExecutor(1, thread_name_prefix="hongdun-api")
        self._pipe_x = ThreadPoolExecutor(1, thread_name_prefix="hongdun-pipe")
        self._queue: IngestQueue | None = None
        self._decoder = EventDecoder()
        self._regulator: Regulator | None = None
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_snapshot = time.monotonic()

    # -- called by handlers ---------------------------------------------------
    async def run_ingest(self, body: bytes, content_type: str, platform: str) -> tuple[IngestResult, int]:
        """Validate and durably queue one request's events (ingest thread); returns the result and queue depth."""
        loop = asyncio.get_running_loop()
        result, depth = await loop.run_in_executor(self._ingest_x, self._ingest, body, content_type, platform)
        self.metrics.ingest_accepted.labels(platform=platform).inc(len(result.accepted))
        if result.rejects:
            self.metrics.ingest_rejected.labels(platform=platform).inc(len(result.rejects))
            for r in result.rejects:
                self.metrics.rejects.labels(reason=r["reason"]).inc()
        self._wake.set()
        return result, depth

    def _ingest(self, body: bytes, content_type: str, platform: str) -> tuple[IngestResult, int]:
        assert self._queue is not None
        items = split_body(body, content_type, self.config.max_events_per_request)
        result = validate(items, platform, self._decoder, f"POST /v1/events ({platform})", time.time())
        n = len(result.accepted)
        if not self.depth.reserve(n, self.config.queue_max_events):
            raise api.Throttled(self.retry_after(self.depth.value + n - self.config.queue_max_events))
        try:
            self._queue.enqueue(platform, result.day, result.accepted, result.dead)  # committed before the 2xx
        except BaseException:
            self.depth.release(n)
            raise
        return result, self.depth.value

    async def run_api(self, work: Callable[[Regulator], T]) -> T:
        """Run ``work(regulator)`` on the API thread."""
        assert self._regulator is not None
        reg = self._regulator
        return await asyncio.get_running_loop().run_in_executor(self._api_x, work, reg)

    def retry_after(self, excess: int) -> int:
        """Seconds a throttled client should wait."""
        return api.retry_seconds(max(excess, 1), self.rate)

    def count_throttled(self) -> None:
        """Count one 429 answer."""
        self.throttled += 1
        self.metrics.ingest_throttled.inc()

    # -- lifecycle ------------------------------------------------------------
    async def startup(self, app: web.Application) -> None:
        """Open the queue and stores in their threads, restore pipeline state, start the consumer."""
        loop = asyncio.get_running_loop()
        cfg = self.config
        self._queue = await loop.run_in_executor(self._ingest_x, IngestQueue, cfg.queue_path)
        self.depth.value = await loop.run_in_executor(self._ingest_x, self._queue.depth)
        self._regulator = await loop.run_in_executor(self._api_x, lambda: Regulator(
            open_store(cfg.db_url), IngestQueue(cfg.queue_path), cfg.pack_dir,
            cfg.deployment.name if cfg.deployment else ""))
        self._consumer = await loop.run_in_executor(self._pipe_x, self._make_consumer)
        self.metrics.queue_depth.set(self.depth.value)
        if self.start_consumer:
            self.begin_consuming()

    def begin_consuming(self) -> None:
        """Start the consumer task (at startup unless the service was built with ``start_consumer=False``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._consume(), name="hongdun-consumer")

    def _make_consumer(self) -> Consumer:
        from engine.runtime.state_dir import restore_state

        cfg = self.config
        pipeline = Pipeline(self.compiled, config=PipelineConfig(deployment=cfg.deployment), models=self.models)
        if (cfg.state_dir / "alert-state.json").exists():
            for warning in restore_state(pipeline, cfg.state_dir):
                log.warning("state: %s", warning)
        return Consumer(pipeline, open_store(cfg.db_url), IngestQueue(cfg.queue_path), self.metrics,
                        cfg.batch_size, open_shadow(cfg.data_dir))

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stopping:
            try:
                step = await loop.run_in_executor(self._pipe_x, consumer.step)
            except Exception:  # a store outage must not end the service: rows stay queued, try again
                log.exception("consumer step failed; retrying in 1 s (events stay queued)")
                await asyncio.sleep(1.0)
                continue
            if step.events:
                self.depth.release(step.events)
                self.metrics.queue_depth.set(self.depth.value)
                if step.seconds > 0:
                    self.rate = 0.8 * self.rate + 0.2 * (step.events / step.seconds)
            else:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.25)
                except asyncio.TimeoutError:
                    pass
            if time.monotonic() - self._last_snapshot > self.config.snapshot_every_s:
                await loop.run_in_executor(self._pipe_x, self._snapshot)

    def _snapshot(self) -> None:
        from engine.runtime.state_dir import save_state

        assert self._consumer is not None
        self._last_snapshot = time.monotonic()
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            save_state(self._consumer.pipeline, self.config.state_dir)
        except Exception:  # the service keeps running; the previous snapshot (if any) stays as it was
            log.exception("pipeline state snapshot to %s failed", self.config.state_dir)

    async def cleanup(self, app: web.Application) -> None:
        """Stop the consumer after its current batch, snapshot the pipeline state, close everything."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        loop = asyncio.get_running_loop()
        if self._consumer is not None:
            await loop.run_in_executor(self._pipe_x, self._snapshot)
            c = self._consumer
            await loop.run_in_executor(self._pipe_x, lambda: (c.store.close(), c.queue.close(),
                                                              c.shadow_out.close() if c.shadow_out else None))
        if self._regulator is not None:
            r = self._regulator
            await loop.run_in_executor(self._api_x, lambda: (r.store.close(), r.queue.close()))
        if self._queue is not None:
            await loop.run_in_executor(self._ingest_x, self._queue.close)
        for x in (self._ingest_x, self._api_x, self._pipe_x):
            x.shutdown(wait=True)


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """Unknown routes and methods answer JSON like the documented errors; a bug answers 500 without details."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            keep = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate", "retry-after")}
            return api.error(exc.status, exc.reason, keep)
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return api.error(500, "internal error (logged by the service)")


def build_app(service: Service) -> web.Application:
    """The aiohttp application of ``service`` (routes, limits, lifecycle hooks)."""
    app = web.Application(client_max_size=service.config.max_body_bytes, middlewares=[_errors])
    app[api.SERVICE] = service
    api.add_routes(app)
    inbox.add_routes(app)
    app.on_startup.append(service.startup)
    app.on_cleanup.append(service.cleanup)
    return app


def run_service(config: ServiceConfig, auth: Auth, compiled: CompiledPack, models: ModelBank | None = None,
                print_fn: Callable[[str], Any] = print) -> None:
    """Serve until SIGINT/SIGTERM (aiohttp's graceful shutdown runs :meth:`Service.cleanup`)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    service = Service(config, auth, compiled, models=models)
    app = build_app(service)
    print_fn(f"hongdun serve: http://{config.host}:{config.port}/inbox/  (API /openapi.json, metrics /metrics); "
             f"pack {compiled.name} {compiled.version}; queue {config.queue_path}; alerts {config.db_url}")
    web.run_app(app, host=config.host, port=config.port, print=None, access_log=None, handle_signals=True)


def data_dir_for(db_url: str, data_dir: str | None) -> Path:
    """The data folder: given, else the folder of a SQLite alert store, else ``out/serve``."""
    if data_dir:
        return Path(data_dir)
    if "://" not in db_url or db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///")).resolve().parent
    return Path("out/serve")


