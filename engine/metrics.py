"""All Prometheus metrics of hongdun, declared in one place.

The container is built with an injected registry (tests and several pipelines
in one process get their own). Label sets are bounded: event type, reject
reason, rule id, severity, window name, pack — never a merchant or event id.
Runtimes call :meth:`Metrics.observe` once per batch with the pipeline's
cumulative counters; the container turns them into increments.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter as PromCounter, Gauge, Histogram, write_to_textfile

from engine.pipeline import Stats

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_E2E_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5,
                2.0, 3.0, 5.0, 10.0, 30.0)
_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class Metrics:
    """Prometheus metrics of one process, fed from pipeline counters batch by batch."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events = PromCounter("hongdun_events", "Events accepted by the pipeline", ["type"], registry=r)
        self.rejects = PromCounter("hongdun_rejects", "Inputs sent to the dead letter", ["reason"], registry=r)
        self.alerts = PromCounter("hongdun_alerts", "Alerts opened", ["rule", "severity"], registry=r)
        self.updates = PromCounter("hongdun_alert_updates", "New versions of open alerts", ["rule"], registry=r)
        self.shadow = PromCounter("hongdun_shadow_alerts", "Alerts of shadow rules (not sent)", ["rule"], registry=r)
        self.deduplicated = PromCounter("hongdun_deduplicated_hits", "Rule hits folded into an open alert", ["rule"], registry=r)
        self.late = PromCounter("hongdun_late_events", "Events too late for a window (not counted in it)", ["window"], registry=r)
        self.rule_errors = PromCounter("hongdun_rule_errors", "Rule evaluations that raised", ["rule"], registry=r)
        self.batch_size = Histogram("hongdun_batch_size", "Events per processed batch", buckets=_SIZE_BUCKETS, registry=r)
        self.batch_seconds = Histogram("hongdun_batch_seconds", "Processing time of one batch", buckets=_LATENCY_BUCKETS, registry=r)
        self.pack = Gauge("hongdun_pack_info", "Rule pack in use (value 1)", ["pack", "version"], registry=r)
        # distributed workers (engine/runtime/faust_app.py)
        self.latency = Histogram("hongdun_processing_latency_seconds", "From the Kafka timestamp of an event to its outputs being acked",
                                 buckets=_E2E_BUCKETS, registry=r)
        self.lag = Gauge("hongdun_consumer_lag", "Input records behind the partition's high watermark", ["partition"], registry=r)
        self.pack_rejects = PromCounter("hongdun_pack_rejects", "Published packs a worker refused (previous pack kept)", ["reason"], registry=r)
        # Bounded: one series per (model, feature) of the loaded feature sets (at most 64 features a model).
        self.model_psi = Gauge("hongdun_model_feature_psi", "Population stability index of a model feature against training",
                               ["model", "feature"], registry=r)
        self._seen: dict[str, Counter] = {}

    def set_pack(self, name: str, version: str) -> None:
        """Record which pack is live (the previous one's series is removed)."""
        self.pack.clear()
        self.pack.labels(pack=name, version=version).set(1)

    def observe_drift(self, monitors: dict[str, Any]) -> None:
        """Publish every model's PSI per feature from the pipeline's drift monitors (``Pipeline.drift``)."""
        for model, monitor in monitors.items():
            self.set_model_psi(model, monitor.psi_by_feature())

    def set_model_psi(self, model: str, psi_by_feature: dict[str, float]) -> None:
        """Publish one model's PSI per feature (from ``engine.anomaly.drift.DriftMonitor``); NaN is skipped."""
        for feature, value in psi_by_feature.items():
            if value == value:  # not NaN
                self.model_psi.labels(model=model, feature=feature).set(value)

    def observe(self, stats: Stats, batch_size: int, seconds: float) -> None:
        """Add what ``stats`` counted since the last call, and one batch's size and time."""
        self._add("events", stats.events, lambda k: self.events.labels(type=k))
        self._add("rejects", stats.rejects, lambda k: self.rejects.labels(reason=k))
        self._add("alerts", stats.alerts, lambda k: self.alerts.labels(rule=k[0], severity=k[1]))
        self._add("updates", stats.updates, lambda k: self.updates.labels(rule=k))
        self._add("shadow", stats.shadow, lambda k: self.shadow.labels(rule=k))
        self._add("deduplicated", stats.deduplicated, lambda k: self.deduplicated.labels(rule=k))
        self._add("late", stats.late, lambda k: self.late.labels(window=k))
        self._add("rule_errors", stats.rule_errors, lambda k: self.rule_errors.labels(rule=k))
        self.batch_size.observe(batch_size)
        self.batch_seconds.observe(seconds)

    def _add(self, name: str, current: Counter, child: Any) -> None:
        seen = self._seen.setdefault(name, Counter())
        for key, value in current.items():
            delta = value - seen[key]
            if delta > 0:
                child(key).inc(delta)
                seen[key] = value

    def write_textfile(self, path: str) -> None:
        """Write the metrics in the text format (for node_exporter's textfile collector)."""
        write_to_textfile(path, self.registry)


class ServiceMetrics(Metrics):
    """The worker metrics plus those of the HTTP service (`hongdun serve`): same names for the same things.

    Platform labels come from the service's auth file (a handful of
    platforms), never from request content.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        r = self.registry
        self.ingest_accepted = PromCounter("hongdun_ingest_accepted", "Events accepted over HTTP and durably queued",
                                           ["platform"], registry=r)
        self.ingest_rejected = PromCounter("hongdun_ingest_rejected", "Events refused at HTTP ingest (see hongdun_rejects)",
                                           ["platform"], registry=r)
        self.ingest_throttled = PromCounter("hongdun_ingest_throttled", "Ingest requests answered 429 (queue full)",
                                            registry=r)
        self.queue_depth = Gauge("hongdun_ingest_queue_depth", "Accepted events waiting for the pipeline", registry=r)
