"""The one place where events, windows, rules and alerts meet.

:class:`Pipeline` is a pure, synchronous object built once from a compiled
pack: ``process(events) -> BatchResult(alerts, shadow, rejects)``. It knows
nothing about files, Kafka or Faust; the embedded runner and the Faust
workers only feed it batches and drain its results, so both behave the same.

Per event, in order: feed the windows that accept its type (each with its
filter, key and value), evaluate the rules for its type against a context
that caches normalised text and window reads, then turn hits into alerts
(escalation, dedup, deterministic id). Processing is strictly sequential
within a batch, so results do not depend on batch size.
"""
from __future__ import annotations

import time
from collections import Counter

import msgspec
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from engine.alerts.alert import Alert, AlertBasis, AlertFeature, AlertMerchant, AlertModel, alert_id
from engine.alerts.dedup import Deduplicator
from engine.alerts.leniency import LeniencyPolicy, RepeatPolicy, dispose, escalate_for_repeat
from engine.alerts.leniency import evict as evict_history
from engine.alerts.routing import Deployment, route
from engine.errors import Location
from engine.events import deadletter as dl
from engine.events.deadletter import Reject, make_reject
from engine.events.decode import EventDecoder
from engine.events.schema import EVENT_CLASSES, Envelope
from engine.rules.context import EvalContext
from engine.rules.evaluator import CompiledPack, CompiledRule, window_value_dict
from engine.rules.model import SEVERITIES, raise_severity
from engine.state import windows as W
from engine.state.store import MemoryStore, StateStore, sweep_interval
from engine.state.store import evict as evict_window

if TYPE_CHECKING:
    from engine.anomaly.bank import LoadedModel, ModelBank
    from engine.anomaly.vectorize import BatchExtractor

_TYPE_OF: dict[type, str] = {cls: name for name, cls in EVENT_CLASSES.items()}
_UNSET = object()
RECENT_HORIZON_S = 31 * 86400  # recent_alert() looks back at most 30 days
RECENT = "_recent"
_REJECTED: Any = object()  # marks an event whose model window update failed (already in the dead letter)
MODEL_FAMILY = "anomaly"
MODEL_SEVERITY = "low"  # a lead for review, not a finding: it never outranks a rule's warning
MODEL_DEDUP_S = 86_400.0  # one model alert per merchant and subject per day; later hits update it
_MODEL_SUBJECT = {"live_metrics": "room_id", "live_utterance": "room_id", "listing": "sku_id", "order": "sku_id"}
MODELS = "_models"  # per model: event time of the first event its windows saw (warm-up of its own alerts)
OPEN = "_open"  # open alerts by id, so later hits can emit updated versions  # per merchant: family -> [event time, rule id, alert id] of its latest alert


@dataclass(frozen=True)
class PipelineConfig:
    """Tunables of the pure pipeline (one frozen object; the CLI fills it)."""

    evict_every_s: float = 3600.0  # event time between sweeps of expired window keys
    max_source_ids: int = 20  # source event ids kept on one alert
    leniency: LeniencyPolicy = LeniencyPolicy()  # 首违免罚: first minor violation -> advisory
    repeat: RepeatPolicy | None = RepeatPolicy()  # severity +1 for a merchant that keeps violating
    deployment: Deployment | None = None  # regions this bureau covers; others become referrals


@dataclass
class BatchResult:
    """What one batch produced."""

    alerts: list[Alert] = field(default_factory=list)  # newly opened alerts
    updates: list[Alert] = field(default_factory=list)  # new versions of open alerts (same id, more hits)
    emitted: list[Alert] = field(default_factory=list)  # alerts and updates in event order: what sinks write
    shadow: list[Alert] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


@dataclass
class Explanation:
    """What one rule made of one event (for explain and pack tests)."""

    rule_id: str
    status: str
    fired: bool
    severity: str
    message: str
    matched: list[dict[str, Any]]
    windows: dict[str, dict[str, Any]]
    error: str | None = None


@dataclass
class Stats:
    """Counters the runners print and export as metrics (bounded label sets)."""

    events: Counter = field(default_factory=Counter)  # by event type
    rejects: Counter = field(default_factory=Counter)  # by reason
    alerts: Counter = field(default_factory=Counter)  # by (rule id, severity)
    shadow: Counter = field(default_factory=Counter)  # by rule id
    deduplicated: Counter = field(default_factory=Counter)  # by rule id
    updates: Counter = field(default_factory=Counter)  # new versions of open alerts, by rule id
    late: Counter = field(default_factory=Counter)  # by window name
    rule_errors: Counter = field(default_factory=Counter)  # by rule id
    scored: Counter = field(default_factory=Counter)  # events scored, by model
    model_warming: Counter = field(default_factory=Counter)  # scores above threshold held back during warm-up, by model


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


class Pipeline:
    """Compiled pack + state -> alerts. Feed it batches; it never raises on bad events."""

    def __init__(
        self,
        compiled: CompiledPack,
        store: StateStore | None = None,
        config: PipelineConfig = PipelineConfig(),
        clock: Callable[[], float] = time.time,
        decoder: EventDecoder | None = None,
        dedup_store: StateStore | None = None,
        models: "ModelBank | None" = None,
    ) -> None:
        self.models = models
        _check_model_windows(compiled, models)
        self.drift = _drift_monitors(models)  # per model: its features' distribution against training (PSI)
        self.compiled = compiled
        self.store = store if store is not None else MemoryStore()
        self.config = config
        self.clock = clock
        self.decoder = decoder or EventDecoder()
        self.alert_state = dedup_store if dedup_store is not None else MemoryStore()
        self.dedup = Deduplicator(self.alert_state)
        self.stats = Stats()
        self.clocks: dict[str, W.WindowClock] = {n: W.WindowClock.for_spec(s) for n, s in compiled.windows.items()}
        self._next_evict = float("-inf")  # event time of the next sweep of expired state
        self._window_sweeps: dict[str, float] = {}
        self._escalated: list[Alert] = []  # open alerts raised by a confirming alert, emitted as updates
        self._plan(compiled)

    @property
    def store(self) -> StateStore:
        """Window state. Assigning a new store (state restore, a runtime's own store) re-plans the feeds."""
        return self._store

    @store.setter
    def store(self, store: StateStore) -> None:
        self._store = store
        if hasattr(self, "_feeds"):
            self._plan(self.compiled)

    # -- public -------------------------------------------------------
    def swap_pack(self, compiled: CompiledPack) -> None:
        """Replace the compiled pack between batches (hot reload); window state is kept.

        With models loaded, the new pack must have been compiled with them
        (:func:`engine.anomaly.bank.compile_with_models`), or this raises
        ValueError and the old pack stays live.
        """
        _check_model_windows(compiled, self.models)
        for name, spec in compiled.windows.items():
            self.clocks.setdefault(name, W.WindowClock.for_spec(spec))
        self.compiled = compiled
        self._plan(compiled)

    def _plan(self, cp: CompiledPack) -> None:
        """Decide, once per pack, what each event type feeds and which models score it, and when.

        A model some rule reads (``score.NAME``) is *eager*: its windows are fed in
        a first pass over the batch, the batch's vectors are scored in one
        vectorised call, and the second pass (windows, rules, event by event)
        finds every score ready. Every other model is *lazy*: its windows are fed
        with the pack's in the one pass, its feature vector is taken right after
        (so it sees the windows exactly at its event), and the vectors are scored
        together when the batch ends (or before an eviction sweep), their alerts
        spliced in after their event's. Either way the results do not depend on
        batch size, and lazy models cost no second walk over the batch.
        """
        models = self.models.models if self.models is not None else ()
        eager = frozenset(m.name for m in models if m.name in cp.scores_read)
        eager_windows = {cp.model_windows[m.name][w] for m in models if m.name in eager for w in m.features.windows}

        live = getattr(self.store, "live_values", False) and hasattr(self.store, "table")

        def plan(ws: Iterable[Any]) -> tuple:
            # spec._add is what W.add calls, and a live store's table is a plain dict: both bound once
            # here save several calls per window per event on the hottest loop of the engine
            return tuple((w.name, w.where, w.key, w.value, w.distinct, w.spec._add,
                          self.store.table(w.name) if live else None) for w in ws)

        self._feeds = {t: plan(w for w in ws if w.name not in eager_windows) for t, ws in cp.feeds.items()}
        self._model_feeds = {t: plan(w for w in ws if w.name in eager_windows) for t, ws in cp.feeds.items()}
        # window reads by event type and name: key reader, the live store's dict (or None), the read kernel
        self._readers: dict[str, dict[str, tuple]] = {t: {} for t in cp.feeds}
        for (name, etype), keyfn in cp.window_keys.items():
            spec = cp.windows[name]
            self._readers.setdefault(etype, {})[name] = (keyfn, self.store.table(name) if live else None, spec._read)
        bank = self.models.scorers(cp.model_windows) if self.models is not None else {}
        self._scorers = bank  # by event type: (model index, model, extractor reading where this pack keeps its windows)
        eager_by_type = {t: tuple(s for s in scorers if s[1].name in eager) for t, scorers in bank.items()}
        self._lazy = {t: lazy for t, scorers in bank.items() if (lazy := tuple(s for s in scorers if s[1].name not in eager))}
        self._wide: dict[Any, bool] = {}  # by extractor: did its last batch bring enough rows for numpy (see _score_rows)
        # by event class: (type name, eager models scoring it, eager model windows it feeds) where either exists
        self._first_pass = {cls: (t, eager_by_type.get(t, ()), self._model_feeds[t]) for cls, t in _TYPE_OF.items()
                            if eager_by_type.get(t) or self._model_feeds[t]}
        self._live_store = getattr(self.store, "live_values", False)
        # per event class, looked up once per event: type name, window plan, lazy models, rules
        self._per_class = {cls: (t, self._feeds.get(t, ()), self._lazy.get(t), cp.rules.get(t, ()))
                           for cls, t in _TYPE_OF.items()}

    def process_raw(self, items: Sequence[tuple[bytes, Location]]) -> BatchResult:
        """Decode and process raw records; undecodable ones become rejects."""
        result = BatchResult()
        decoded = self.decoder.decode_batch(items)
        for reject in decoded.rejects:
            self.stats.rejects[reject.reason] += 1
        result.rejects.extend(decoded.rejects)
        pairs = decoded.events
        self._process_into([e for e, _ in pairs], [loc for _, loc in pairs], result)
        return result

    def process(self, events: Sequence[Envelope], sources: Sequence[Location] | None = None) -> BatchResult:
        """Process decoded events in order."""
        result = BatchResult()
        self._process_into(events, sources, result)
        return result

    def observe(self, event: Envelope) -> EvalContext:
        """Feed one event to the windows and return its evaluation context (rules not run).

        What ``explain`` and feature extraction build on: the context reads windows
        exactly as the rules would at this event.
        """
        etype = _TYPE_OF[type(event)]
        ctx = EvalContext(event, etype, event.occurred_at.timestamp(), self._read_window, recent_alerts=self._recent_alerts)
        self._feed_windows(ctx, self._model_feeds[etype] + self._feeds[etype])
        return ctx

    def explain(self, event: Envelope) -> list["Explanation"]:
        """Feed one event to the windows and evaluate every rule for its type, without dedup.

        Used by ``hongdun rules explain`` and the pack tests: it says, per rule,
        whether the condition held, at what severity, what matched and which
        window values were read.
        """
        etype = _TYPE_OF[type(event)]
        out: list[Explanation] = []
        try:
            ctx = self.observe(event)
            if self.models is not None:
                ctx.scores = self._score_one(ctx)
        except Exception as exc:  # reported, never raised
            return [Explanation(cr.rule.id, cr.rule.status, False, cr.rule.severity, "", [], {}, f"window update failed: {exc!r}")
                    for cr in self.compiled.rules[etype]]
        for cr in self.compiled.rules[etype]:
            ctx.begin_rule()
            try:
                fired = bool(cr.condition(ctx))
                error = None
            except Exception as exc:  # reported, never raised
                fired, error = False, repr(exc)
            severity = _escalated(cr, ctx) if fired else cr.rule.severity
            message = cr.message(ctx) if fired else ""
            out.append(
                Explanation(
                    rule_id=cr.rule.id,
                    status=cr.rule.status,
                    fired=fired,
                    severity=severity,
                    message=message,
                    matched=list(ctx.matches),
                    windows={n: window_value_dict(n, self.compiled.windows[n], v) for n, v in ctx.windows_seen.items()},
                    error=error,
                )
            )
        return out

    def _score_one(self, ctx: EvalContext) -> dict[str, float]:
        """Every model's score of one observed event (batch of one: for explain and pack tests, not streaming)."""
        import numpy as np

        assert self.models is not None
        return {m.name: float(m.forest.risk(np.asarray([extract(ctx)], dtype=np.float64))[0])
                for _, m, extract in self._scorers.get(ctx.etype, ())}

    # -- internals ----------------------------------------------------
    def _process_into(self, events: Sequence[Envelope], sources: Sequence[Location] | None, result: BatchResult) -> None:
        """Run every event in order; eager models score before, lazy ones after (see :meth:`_plan`)."""
        now_iso = _iso(self.clock())
        reader, recent = self._read_window, self._recent_alerts
        feed, run_rules = self._feed_windows, self._run_rules
        scored: list[EvalContext | None] | None = None
        leads: dict[int, list] = {}
        if self._first_pass:
            scored, leads = self._score_batch(events, sources, result, now_iso)
        lazy, wide = self._lazy, self._wide
        pending = _Pending() if lazy else None
        per_class = self._per_class
        refused = 0  # events a model window refused in the first pass: not counted as seen
        for i, ev in enumerate(events):
            etype, plan, scorers, type_rules = per_class[ev.__class__]
            ctx = scored[i] if scored is not None else None
            if ctx is None:
                ctx = EvalContext(ev, etype, ev.occurred_at.timestamp(), reader, None, recent)
            elif ctx is _REJECTED:
                refused += 1
                continue
            ts = ctx.ts
            if plan:
                try:
                    feed(ctx, plan)
                except Exception as exc:  # a window filter must never kill the worker
                    self._reject_event(result, ev, etype, sources, i, dl.WINDOW_ERROR, f"window update failed: {exc!r}")
                    continue
            if scorers:
                for mi, _, extractor in scorers:
                    pending.add(mi, extractor, i, extractor.take(ctx, wide.get(extractor, False)))  # type: ignore[union-attr]
            run_rules(type_rules, ctx, result, sources, i, now_iso)
            if i in leads:
                for model, risk, row in leads[i]:
                    alert = self._model_alert(model, ctx, risk, row, now_iso)
                    if alert is not None:
                        self._emit(alert, result)
            if scorers:
                pending.after(i, ctx, result)  # type: ignore[union-attr]
            if ts >= self._next_evict:
                if pending:
                    self._score_pending(pending, result, now_iso)
                self._maybe_evict(ts)
        if pending:
            self._score_pending(pending, result, now_iso)
        self._count_seen(events, scored if refused else None)

    def _count_seen(self, events: Sequence[Envelope], scored: list[Any] | None) -> None:
        """Count the batch's events by type (one C-level pass), leaving out those refused in the first pass."""
        by_class = Counter(map(type, events))
        if scored is not None:
            by_class.subtract(type(ev) for ev, ctx in zip(events, scored) if ctx is _REJECTED)
        seen = self.stats.events
        for cls, n in by_class.items():
            if n:
                seen[_TYPE_OF[cls]] += n

    def _score_batch(self, events: Sequence[Envelope], sources: Sequence[Location] | None, result: BatchResult,
                     now_iso: str) -> tuple[list[Any], dict[int, list]]:
        """First pass for eager models: feed their windows, take feature vectors, score them per model in one call.

        Returns the contexts made (scores set; ``_REJECTED`` where a model window
        update failed and the event went to the dead letter) and, by event index,
        the (model, risk, feature vector) of every score at or above its model's threshold.
        """
        first_pass = self._first_pass
        reader, recent = self._read_window, self._recent_alerts
        ctxs: list[Any] = [None] * len(events)
        rows = _Pending()
        for i, ev in enumerate(events):
            todo = first_pass.get(type(ev))
            if todo is None:  # no eager model scores or counts this event type
                continue
            etype, scorers, plan = todo
            ctx = ctxs[i] = EvalContext(ev, etype, ev.occurred_at.timestamp(), reader, {} if scorers else None, recent)
            try:
                if plan:
                    self._feed_windows(ctx, plan)
                vectors = [(mi, ex, ex.take(ctx, False)) for mi, _, ex in scorers]  # all or none: a rejected event scores nowhere
            except Exception as exc:  # a model window must never kill the worker either
                ctxs[i] = _REJECTED
                self._reject_event(result, ev, etype, sources, i, dl.WINDOW_ERROR, f"model window update failed: {exc!r}")
                continue
            for mi, ex, vector in vectors:
                rows.add(mi, ex, i, vector)
        leads: dict[int, list] = {}
        for i, model, risk, row in self._score_leads(rows, ctxs):
            leads.setdefault(i, []).append((model, risk, row))
        return ctxs, leads

    def _score_leads(self, pending: "_Pending", ctxs: Any) -> list[tuple]:
        """Score every model's pending vectors; the leads above threshold in event order, models in bank order."""
        leads: list[tuple] = []
        for extractor, (mi, idx, rows) in pending.rows.items():
            leads.extend((i, mi, model, risk, row) for i, model, risk, row in self._score_rows(mi, extractor, idx, rows, ctxs))
        leads.sort(key=lambda lead: lead[:2])
        return [(i, model, risk, row) for i, _, model, risk, row in leads]

    def _score_rows(self, mi: int, extractor: "BatchExtractor", idx: list[int], rows: list[list[Any]],
                    ctxs: Any) -> list[tuple]:
        """Score one model's rows (what its extractor took per event) in one call; return the leads above threshold.

        Sets each context's score. A lead is (event index, model, risk, feature
        vector); scores held back by the model's warm-up are counted, not
        returned. How many rows came decides whether the next batch's events
        keep their inputs (features computed with numpy over the batch) or
        their vectors (features per event): both give the same matrix.
        """
        import numpy as np

        assert self.models is not None
        if not idx:
            return []
        model = self.models.models[mi]
        X = extractor.matrix(rows)
        self._wide[extractor] = len(idx) >= extractor.MIN_ROWS
        risk = model.forest.risk(X)
        name = model.name
        for i, r in zip(idx, risk.tolist()):
            ctxs[i].scores[name] = r
        self.stats.scored[name] += len(idx)
        self.drift[name].update(X)
        above = np.flatnonzero(risk >= model.threshold)
        if model.features.warmup_s:
            since = self._model_start(name, ctxs[idx[0]].ts)  # the first in stream order: batch size cannot change it
            warm = [j for j in above.tolist() if ctxs[idx[j]].ts - since >= model.features.warmup_s]
            self.stats.model_warming[name] += len(above) - len(warm)
            above = np.asarray(warm, dtype=np.intp)
        if not len(above):
            return []
        # the row, not its explanation: most leads repeat an open alert, and only a new alert is explained
        return [(idx[j], model, float(risk[j]), X[j]) for j in above.tolist()]

    def _score_pending(self, pending: "_Pending", result: BatchResult, now_iso: str) -> None:
        """Score the lazy models' vectors taken so far; splice their alerts in after their events' outputs."""
        inserts: list[tuple[tuple[int, int, int], Alert]] = []
        for i, model, risk, row in self._score_leads(pending, pending.ctxs):
            alert = self._model_alert(model, pending.ctxs[i], risk, row, now_iso)
            if alert is not None:
                inserts.append((pending.ctxs[i].mark, alert))
        pending.clear()
        if inserts:
            _splice(result, inserts)

    def _run_rules(self, rules: tuple[CompiledRule, ...], ctx: EvalContext, result: BatchResult,
                   sources: Sequence[Location] | None, i: int, now_iso: str) -> None:
        for cr in rules:
            if ctx.matches:  # ctx.begin_rule(), inlined: this loop runs for every rule of every event
                ctx.matches = []
            if ctx.windows_seen:
                ctx.windows_seen = {}
            try:
                if not cr.condition(ctx):
                    continue
                alert = self._alert(cr, ctx, now_iso)
            except Exception as exc:
                self.stats.rule_errors[cr.rule.id] += 1
                self._reject_event(result, ctx.event, ctx.etype, sources, i, dl.RULE_ERROR, f"{cr.rule.id}: {exc!r}")
                continue
            if alert is not None:
                self._emit(alert, result)

    def _emit(self, alert: Alert, result: BatchResult) -> None:
        if alert.shadow:
            result.shadow.append(alert)
        elif alert.hits == 1:
            result.alerts.append(alert)
            result.emitted.append(alert)
        else:
            result.updates.append(alert)
            result.emitted.append(alert)
        if self._escalated:
            result.updates.extend(self._escalated)
            result.emitted.extend(self._escalated)
            self._escalated = []

    def _model_start(self, name: str, ts: float) -> float:
        """Event time this pipeline's state first fed model ``name`` (kept with the alert state, so snapshots keep it)."""
        stored = self.alert_state.get(MODELS, (name,))
        if stored is None:
            self.alert_state.put(MODELS, (name,), {"first": ts})  # type: ignore[arg-type]
            return ts
        return stored["first"]  # type: ignore[index]

    def _model_alert(self, model: "LoadedModel", ctx: EvalContext, risk: float, row: Any,
                     now_iso: str) -> Alert | None:
        """A model's own alert: an anomaly lead for review, with its top features and their training ranges.

        ``row`` is the event's feature vector. It is explained only when the lead opens
        a new alert: a lead that repeats an open one only counts a hit (a suspicious
        room stays above threshold minute after minute), and explaining was most of
        what such a lead cost.
        """
        ev = ctx.event
        m = ev.merchant
        rule_id = model.rule_id
        s = getattr(ev, _MODEL_SUBJECT.get(ctx.etype, ""), None)
        subject = None if s is None else str(s)
        new_id = alert_id(self.compiled.name, rule_id, m.merchant_id, subject, ev.event_id)
        aid, hits, opened = self.dedup.admit((rule_id, m.merchant_id, subject or ""), ctx.ts, MODEL_DEDUP_S, new_id)
        if not opened:
            self.stats.deduplicated[rule_id] += 1
            return self._update_open(aid, hits, ev.event_id, ctx.ts, now_iso)
        from engine.anomaly.bank import explain_rows  # numpy and the model code load only where models run

        why = explain_rows(model, row[None, :])[0]
        reasons = "；".join(f"{w['feature']}={_fmt(w['value'])}（训练时常见 {_fmt(w['typical_low'])}–{_fmt(w['typical_high'])}）"
                           for w in why)
        alert = Alert(
            alert_id=aid,
            pack=self.compiled.name,
            pack_version=self.compiled.version,
            rule_id=rule_id,
            rule_title=f"异常检测模型 {model.name}：{model.features.description}",
            family=MODEL_FAMILY,
            severity=MODEL_SEVERITY,
            base_severity=MODEL_SEVERITY,
            minor=False,
            platform=ev.platform,
            merchant=AlertMerchant(merchant_id=m.merchant_id, name=m.name, uscc=m.uscc,
                                   reg_region_code=m.reg_region_code, op_region_code=m.op_region_code),
            subject=subject,
            legal_basis=[],
            message=(f"异常线索（非违法认定，需人工研判）：模型 {model.name} 风险分 {risk:.2f}，"
                     f"超过阈值 {model.threshold:.2f}。主要因素：{reasons}"),
            values={"risk": round(risk, 6), "threshold": model.threshold},
            model=AlertModel(name=model.name, folder=model.folder, risk=risk, threshold=model.threshold,
                             calibration=model.calibration, manifest_sha256=model.digest,
                             top_features=[AlertFeature(**w) for w in why]),
            source_event_ids=[ev.event_id],
            event_time=_iso(ctx.ts),
            processed_at=now_iso,
            hits=hits,
            last_seen=_iso(ctx.ts),
        )
        self.stats.alerts[(rule_id, alert.severity)] += 1
        alert.disposition = dispose(alert, self.alert_state, self.config.leniency)
        if self.config.deployment is not None:
            alert.route = route(alert, self.config.deployment)
        self.alert_state.put(OPEN, (aid,), msgspec.to_builtins(alert))
        return alert

    def _reject_event(self, result: BatchResult, ev: Envelope, etype: str, sources: Sequence[Location] | None,
                      i: int, reason: str, message: str) -> None:
        import msgspec

        src = sources[i] if sources is not None and i < len(sources) else Location()
        raw = msgspec.json.encode(ev)
        result.rejects.append(make_reject(reason, message, raw, src, event_id=ev.event_id, event_type=etype))
        self.stats.rejects[reason] += 1

    def _feed_windows(self, ctx: EvalContext, plan: tuple) -> None:
        ts = ctx.ts
        store = self.store
        keys = ctx.memo  # windows sharing a key expression read it once, and so do this event's window reads
        live = self._live_store
        clocks = self.clocks  # looked up per event: runtimes may swap a window's clock (restore, partitions)
        for name, where, keyfn, valuefn, distinctfn, add, table in plan:
            if where is not None and not where(ctx):
                continue
            key = keys.get(keyfn, _UNSET)
            if key is _UNSET:
                key = keys[keyfn] = keyfn(ctx)
            if key is None:
                continue
            value = None
            if valuefn is not None:
                value = valuefn(ctx)
                if not isinstance(value, (int, float)):
                    continue  # nothing to aggregate for this event
            distinct = None
            if distinctfn is not None:
                distinct = distinctfn(ctx)
                if distinct is None:
                    continue
            before = table.get(key) if table is not None else store.get(name, key)
            try:
                state = add(before, ts, value, distinct, clocks[name])
            except W.LateEvent:
                self.stats.late[name] += 1
                continue
            if table is not None:
                if state is not before:
                    table[key] = state
            elif state is not before or not live:
                store.put(name, key, state)

    def _read_window(self, ctx: EvalContext, name: str) -> Any:
        how = self._readers[ctx.etype].get(name)
        if how is None:
            return None
        keyfn, table, read = how
        memo = ctx.memo
        key = memo.get(keyfn, _UNSET)  # usually computed when this event fed its windows
        if key is _UNSET:
            key = memo[keyfn] = keyfn(ctx)
        if key is None:
            return None
        return read(table.get(key) if table is not None else self._store.get(name, key), ctx.ts)

    def _recent_alerts(self, ctx: EvalContext) -> dict | None:
        return self.alert_state.get(RECENT, (ctx.event.merchant.merchant_id,))

    def _remember(self, merchant_id: str, family: str, ts: float, rule_id: str, aid: str) -> None:
        key = (merchant_id,)
        memory = self.alert_state.get(RECENT, key) or {}
        memory[family] = [ts, rule_id, aid]
        self.alert_state.put(RECENT, key, memory)

    def _alert(self, cr: CompiledRule, ctx: EvalContext, now_iso: str) -> Alert | None:
        rule = cr.rule
        ev = ctx.event
        severity = _escalated(cr, ctx)
        subject = None
        if cr.subject is not None:
            s = cr.subject(ctx)
            subject = None if s is None else str(s)
        m = ev.merchant
        new_id = alert_id(self.compiled.name, rule.id, m.merchant_id, subject, ev.event_id)
        aid, hits, opened = self.dedup.admit((rule.id, m.merchant_id, subject or ""), ctx.ts, rule.dedup_s, new_id)
        shadow = rule.status == "shadow"
        if not opened:
            self.stats.deduplicated[rule.id] += 1
            return self._update_open(aid, hits, ev.event_id, ctx.ts, now_iso)
        windows = {
            name: window_value_dict(name, self.compiled.windows[name], value) for name, value in ctx.windows_seen.items()
        }
        alert = Alert(
            alert_id=aid,
            pack=self.compiled.name,
            pack_version=self.compiled.version,
            rule_id=rule.id,
            rule_title=rule.title,
            family=rule.family,
            severity=severity,
            base_severity=rule.severity,
            minor=rule.minor,
            shadow=shadow,
            platform=ev.platform,
            merchant=AlertMerchant(
                merchant_id=m.merchant_id,
                name=m.name,
                uscc=m.uscc,
                reg_region_code=m.reg_region_code,
                op_region_code=m.op_region_code,
            ),
            subject=subject,
            legal_basis=[AlertBasis(law=b.law, version=b.version, article=b.article, verified=b.verified) for b in rule.basis],
            message=cr.message(ctx),
            matched=list(ctx.matches),
            values={name: _jsonable(fn(ctx)) for name, fn in cr.evidence},
            windows=windows,
            source_event_ids=[ev.event_id],
            event_time=_iso(ctx.ts),
            processed_at=now_iso,
            hits=hits,
            last_seen=_iso(ctx.ts),
        )
        cfg = self.config
        if shadow:
            self.stats.shadow[rule.id] += 1
        else:
            if cfg.repeat is not None:
                alert.severity, _ = escalate_for_repeat(alert, self.alert_state, cfg.repeat)
            self.stats.alerts[(rule.id, alert.severity)] += 1
            self._remember(m.merchant_id, rule.family, ctx.ts, rule.id, aid)
        alert.disposition = dispose(alert, self.alert_state, cfg.leniency)
        if cfg.deployment is not None:
            alert.route = route(alert, cfg.deployment)
        self.alert_state.put(OPEN, (aid,), msgspec.to_builtins(alert))
        if not shadow:
            self._escalate_confirmed(alert, ctx.ts, now_iso)
        return alert

    def _escalate_confirmed(self, alert: Alert, ts: float, now_iso: str) -> None:
        """A rule that found an open warning with recent_alert() confirms it: that warning rises one level.

        This is how a complaint that matches an open warning (same merchant,
        within the look-back the rule asked for) raises the warning's severity;
        the raised version is emitted like any other update of the open alert.
        """
        for m in alert.matched:
            if m.get("field") != "recent_alert":
                continue
            stored = self.alert_state.get(OPEN, (m["original"],))
            if stored is None:
                continue
            target = msgspec.convert(stored, Alert)
            raised = raise_severity(target.severity, 1)
            if raised == target.severity:
                continue
            target.severity = raised
            target.confirmed_by = sorted(set(target.confirmed_by) | {alert.alert_id})
            target.processed_at = now_iso
            self.alert_state.put(OPEN, (target.alert_id,), msgspec.to_builtins(target))
            self.stats.updates[target.rule_id] += 1
            self._escalated.append(target)

    def _update_open(self, aid: str, hits: int, event_id: str, ts: float, now_iso: str) -> Alert | None:
        """A later hit of an open alert: record it; emit a new version at hit 2, 4, 8, … or when its disposition changes.

        Emitting on powers of two keeps the number of versions logarithmic in the
        hits and independent of how the input was cut into batches, so replays
        produce exactly the same records.
        """
        stored = self.alert_state.get(OPEN, (aid,))
        if stored is None:  # opened before a restart without state: nothing to update
            return None
        alert = msgspec.convert(stored, Alert)
        alert.hits = hits
        alert.last_seen = _iso(ts)
        if len(alert.source_event_ids) < self.config.max_source_ids:
            alert.source_event_ids = alert.source_event_ids + [event_id]
        before = alert.disposition
        alert.disposition = dispose(alert, self.alert_state, self.config.leniency)
        self.alert_state.put(OPEN, (aid,), msgspec.to_builtins(alert))
        if hits & (hits - 1) == 0 or alert.disposition != before:
            alert.processed_at = now_iso
            self.stats.updates[alert.rule_id] += 1
            return alert
        return None

    def _maybe_evict(self, ts: float) -> None:
        if self._next_evict == float("-inf"):  # first event: start the sweep schedule
            self._next_evict = ts + self.config.evict_every_s
            return
        self._next_evict = ts + self.config.evict_every_s
        self.evict(ts)

    def evict(self, now_ts: float, force: bool = False) -> int:
        """Drop window keys and dedup entries that can no longer matter; return how many.

        A window is swept every :func:`engine.state.store.sweep_interval` of event time.
        """
        removed = 0
        for name, spec in self.compiled.windows.items():
            due = self._window_sweeps.get(name, float("-inf"))
            if force or now_ts >= due:
                removed += evict_window(self.store, spec, self.clocks[name].watermark)
                self._window_sweeps[name] = now_ts + sweep_interval(spec, self.config.evict_every_s)
        for aid in self.dedup.evict(now_ts):
            self.alert_state.delete(OPEN, (aid,))
            removed += 1
        removed += evict_history(self.alert_state, now_ts, self.config.leniency, self.config.repeat or RepeatPolicy())
        horizon = now_ts - RECENT_HORIZON_S
        for key, memory in list(self.alert_state.items(RECENT)):
            kept = {f: v for f, v in memory.items() if v[0] >= horizon}
            if kept != memory:
                removed += 1
                if kept:
                    self.alert_state.put(RECENT, key, kept)
                else:
                    self.alert_state.delete(RECENT, key)
        return removed


def _check_model_windows(compiled: CompiledPack, models: "ModelBank | None") -> None:
    """A pipeline with models needs a pack compiled with them (their windows and score names)."""
    if models is None:
        return
    stored = compiled.model_windows
    missing = [m.name for m in models.models
               if m.name not in compiled.models or m.name not in stored
               or any(stored[m.name].get(w) not in compiled.windows for w in m.features.windows)]
    if missing:
        raise ValueError(f"pack {compiled.name!r} was not compiled with model(s) {missing}: "
                         "use engine.anomaly.bank.compile_with_models")


def _drift_monitors(models: "ModelBank | None") -> dict[str, Any]:
    if models is None:
        return {}
    from engine.anomaly.drift import DriftMonitor

    return {m.name: DriftMonitor(m.features.names, m.distributions, source=f"{m.folder}/training.json") for m in models.models}


def _fmt(v: Any) -> str:
    return "空" if v is None else f"{v:.4g}"


def _escalated(cr: CompiledRule, ctx: EvalContext) -> str:
    """The rule's severity after its escalation conditions (``to`` a level, or ``by`` steps)."""
    severity = cr.rule.severity
    for cond, to, by in cr.escalations:
        if cond(ctx):
            severity = max(severity, to, key=SEVERITIES.index) if to else raise_severity(severity, by)
    return severity


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    import msgspec

    try:
        return msgspec.to_builtins(value)
    except Exception:
        return str(value)


class _Pending:
    """The lazy models' work of one batch: vectors by model, their events' contexts, and where each event's outputs end."""

    __slots__ = ("rows", "ctxs")

    def __init__(self) -> None:
        self.rows: dict[BatchExtractor, tuple[int, list[int], list[list[Any]]]] = {}  # by extractor: model, events, rows
        self.ctxs: dict[int, _Scored] = {}  # by event index

    def __bool__(self) -> bool:
        return bool(self.rows)

    def add(self, mi: int, extractor: "BatchExtractor", i: int, row: list[Any]) -> None:
        got = self.rows.get(extractor)
        if got is None:
            got = self.rows[extractor] = (mi, [], [])
        got[1].append(i)
        got[2].append(row)

    def after(self, i: int, ctx: EvalContext, result: BatchResult) -> None:
        """Event ``i`` is done: remember what its scoring needs (scores go there) and the length of each output list.

        Not the context itself: holding every scored event's context (its memo, text and
        window caches) until the batch ends kept them out of the allocator's reuse, and the
        rest of the batch ran measurably slower for it.
        """
        self.ctxs[i] = _Scored(ctx.event, ctx.etype, ctx.ts, (len(result.alerts), len(result.updates), len(result.emitted)))

    def clear(self) -> None:
        self.rows, self.ctxs = {}, {}


class _Scored:
    """What a lazily scored event keeps until its batch is scored: the fields a model alert reads, its
    scores, and its *mark*, the length of the result's alerts, updates and emitted lists right after it
    (where its model alerts are spliced in, see :func:`_splice`)."""

    __slots__ = ("event", "etype", "ts", "scores", "mark")

    def __init__(self, event: Any, etype: str, ts: float, mark: tuple[int, int, int]) -> None:
        self.event = event
        self.etype = etype
        self.ts = ts
        self.scores: dict[str, float] = {}
        self.mark = mark


def _splice(result: BatchResult, inserts: list[tuple[tuple[int, int, int], Alert]]) -> None:
    """Insert model alerts (in event order) into the result's lists at the marks taken after their events.

    A new alert goes to ``alerts``, a new version of an open one to ``updates``,
    both to ``emitted``: the same places :meth:`Pipeline._emit` would have put
    them had they been made inline, so the output does not depend on when scoring ran.
    """
    for slot, name in ((0, "alerts"), (1, "updates"), (2, "emitted")):
        items = [(mark[slot], a) for mark, a in inserts if slot == 2 or (a.hits == 1) == (slot == 0)]
        if not items:
            continue
        old: list[Alert] = getattr(result, name)
        new: list[Alert] = []
        j = 0
        for pos, alert in items:
            new.extend(old[j:pos])
            new.append(alert)
            j = pos
        new.extend(old[j:])
        old[:] = new


def iter_batches(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """Group an iterable into lists of at most ``size`` items."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
