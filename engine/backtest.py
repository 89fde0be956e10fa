"""Backtest a rule pack against labelled events (``hongdun backtest``).

Runs the pack over an event file exactly as ``hongdun run`` would, then
scores the alerts against truth incidents (from ``hongdun simulate --truth``
or a labelled production sample in the same format). Definitions:

* An alert **hits** an incident when one of its source events is one of the
  incident's events.
* **TP** alert: hits a violation incident. **FP** alert: hits none (hitting a
  decoy — a legal look-alike — is the worst kind of FP and is counted apart).
* A violation incident is **caught** when any active alert hits it. Family
  recall = caught / incidents of that family; a rule's recall is the share of
  its family's incidents (on the event types it reads) that *this* rule caught.
* **Cost**: mean wall time of the rule's compiled condition per evaluation, in
  µs, measured in the same run (timer overhead included, so an upper bound).

Shadow rules are scored too and marked, so a rule can be proven before it goes
live.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Callable

import orjson

from engine.alerts.alert import Alert
from engine.alerts.leniency import iso_ts
from engine.errors import Location
from engine.pipeline import Pipeline, iter_batches
from engine.rules.evaluator import CompiledPack, CompiledRule


@dataclass
class RuleScore:
    """Backtest figures of one rule."""

    rule_id: str
    title: str
    family: str
    status: str
    alerts: int = 0
    tp: int = 0
    fp: int = 0
    decoy_hits: int = 0
    caught: set[str] = field(default_factory=set)
    eligible: int = 0  # incidents of its family on its event types
    evaluations: int = 0
    eval_ns: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return len(self.caught) / self.eligible if self.eligible else None

    @property
    def fn(self) -> int:
        return self.eligible - len(self.caught)

    @property
    def cost_us(self) -> float | None:
        return self.eval_ns / self.evaluations / 1000 if self.evaluations else None


@dataclass
class FamilyScore:
    """Backtest figures of one rule family (all its active rules together)."""

    family: str
    alerts: int = 0
    tp: int = 0
    fp: int = 0
    incidents: int = 0
    caught: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.incidents if self.incidents else None


@dataclass
class BacktestResult:
    """Everything a backtest measured."""

    pack: str
    version: str
    events: int
    rejects: int
    seconds: float
    rules: list[RuleScore]
    families: list[FamilyScore]
    missed: list[dict[str, Any]]
    false_alarms: list[Alert]


def _timed(cr: CompiledRule, score: RuleScore) -> CompiledRule:
    cond = cr.condition
    clock = time.perf_counter_ns

    def timed(ctx: Any) -> Any:
        t0 = clock()
        try:
            return cond(ctx)
        finally:
            score.eval_ns += clock() - t0
            score.evaluations += 1

    return replace(cr, condition=timed)


def run_backtest(compiled: CompiledPack, events: IO[bytes], truth: list[dict[str, Any]], name: str = "events",
                 progress: Callable[[int], None] | None = None, score_from: float | None = None) -> BacktestResult:
    """Run the pack over ``events`` and score alerts against ``truth`` incidents.

    With ``score_from`` (epoch seconds), events before it only build state (a
    burn-in, like the history a deployment starts with) and alerts raised on
    them are not scored.
    """
    scores = {r.id: RuleScore(r.id, r.title, r.family, r.status) for r in compiled.pack.rules if r.status != "disabled"}
    timed = replace(compiled, rules={t: tuple(_timed(cr, scores[cr.rule.id]) for cr in rules) for t, rules in compiled.rules.items()})
    pipeline = Pipeline(timed, clock=lambda: 0.0)
    alerts: list[Alert] = []
    n = rejects = 0
    start = time.perf_counter()
    lines = ((l.rstrip(b"\r\n"), Location(file=name, line=i + 1)) for i, l in enumerate(events) if l.strip())
    for batch in iter_batches(lines, 1000):
        r = pipeline.process_raw(batch)
        new = r.alerts + r.shadow
        if score_from is not None:
            new = [a for a in new if iso_ts(a.event_time) >= score_from]
        alerts += new
        n += len(batch)
        rejects += len(r.rejects)
        if progress is not None:
            progress(n)
    seconds = time.perf_counter() - start

    incidents = [t for t in truth if t.get("label") in ("violation", "decoy")]
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in incidents:
        for eid in t.get("event_ids", []):
            by_event[eid].append(t)
    rule_types = {r.id: set(r.events) for r in compiled.pack.rules}
    caught_any: set[str] = set()
    false_alarms: list[Alert] = []
    for a in alerts:
        s = scores[a.rule_id]
        s.alerts += 1
        hits = [t for eid in a.source_event_ids for t in by_event.get(eid, [])]
        violations = [t for t in hits if t["label"] == "violation"]
        if violations:
            s.tp += 1
            ids = {t["incident_id"] for t in violations if t["family"] == s.family}
            s.caught |= ids
            if not a.shadow:
                caught_any |= {t["incident_id"] for t in violations}
        else:
            s.fp += 1
            s.decoy_hits += any(t["label"] == "decoy" for t in hits)
            if not a.shadow:
                false_alarms.append(a)
    violations = [t for t in incidents if t["label"] == "violation"]
    if score_from is not None:
        violations = [t for t in violations if iso_ts(t["end"]) >= score_from]
    event_types = _incident_types(violations)
    for s in scores.values():
        s.eligible = sum(1 for t in violations if t["family"] == s.family and event_types[t["incident_id"]] & rule_types[s.rule_id])
    families: dict[str, FamilyScore] = {}
    for s in scores.values():
        if s.status != "active":
            continue
        f = families.setdefault(s.family, FamilyScore(s.family))
        f.alerts += s.alerts
        f.tp += s.tp
        f.fp += s.fp
    for t in violations:
        f = families.setdefault(t["family"], FamilyScore(t["family"]))
        f.incidents += 1
        f.caught += t["incident_id"] in caught_any
    missed = [t for t in violations if t["incident_id"] not in caught_any]
    return BacktestResult(compiled.name, compiled.version, n, rejects, seconds, sorted(scores.values(), key=lambda s: s.rule_id),
                          sorted(families.values(), key=lambda f: f.family), missed, false_alarms)


def _incident_types(incidents: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Event types of each incident, from the optional ``event_types`` field or every type."""
    from engine.events.schema import EVENT_TYPES

    return {t["incident_id"]: set(t.get("event_types") or EVENT_TYPES) for t in incidents}


def load_truth(path: Path) -> list[dict[str, Any]]:
    """Read a truth JSONL file."""
    return [orjson.loads(l) for l in path.read_bytes().splitlines() if l.strip()]


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def markdown_report(result: BacktestResult, meta: dict[str, Any]) -> str:
    """The backtest as a Markdown report (per rule, per family, misses, false alarms)."""
    per10k = 10_000 / result.events if result.events else 0.0
    out = [f"# Backtest: {result.pack} {result.version}", ""]
    out.append("| setting | value |")
    out.append("|---|---|")
    for k, v in meta.items():
        out.append(f"| {k} | {v} |")
    out.append(f"| events | {result.events:,} ({result.rejects:,} rejected) |")
    out.append(f"| run time | {result.seconds:.1f} s ({result.events / max(result.seconds, 1e-9):,.0f} events/s, with per-rule timers) |")
    out += ["", "## Families", "", "| family | alerts | TP | FP | precision | incidents | caught | recall |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for f in result.families:
        out.append(f"| {f.family} | {f.alerts} | {f.tp} | {f.fp} | {_fmt(f.precision)} | {f.incidents} | {f.caught} | {_fmt(f.recall)} |")
    out += ["", "## Rules", "", "| rule | family | status | alerts | TP | FP | decoy hits | FN | precision | recall | alerts / 10k events | cost µs |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in result.rules:
        out.append(
            f"| {s.rule_id} {s.title} | {s.family} | {s.status} | {s.alerts} | {s.tp} | {s.fp} | {s.decoy_hits} | {s.fn} | "
            f"{_fmt(s.precision)} | {_fmt(s.recall)} | {s.alerts * per10k:.2f} | {_fmt(s.cost_us, 2)} |"
        )
    out += ["", "Definitions: an alert is a true positive when one of its source events belongs to a labelled violation; "
            "family recall counts a violation as caught when any active alert hits it; a rule's recall is the share of its "
            "family's violations (on the event types it reads) that this rule itself caught, so rules that split a family "
            "between them each show partial recall. Cost is the mean time of one evaluation of the rule's condition."]
    if result.missed:
        out += ["", f"## Missed violations ({len(result.missed)})", "", "| incident | family | kind | merchant | note |", "|---|---|---|---|---|"]
        for t in result.missed[:40]:
            out.append(f"| {t['incident_id']} | {t['family']} | {t['kind']} | {t['merchant_id']} | {t.get('note', '')} |")
    if result.false_alarms:
        out += ["", f"## False alarms ({len(result.false_alarms)})", "", "| rule | merchant | message |", "|---|---|---|"]
        for a in result.false_alarms[:40]:
            out.append(f"| {a.rule_id} | {a.merchant.merchant_id} | {a.message} |")
    counts = Counter(a.rule_id for a in result.false_alarms)
    if counts:
        out += ["", "False alarms by rule: " + ", ".join(f"{k} {v}" for k, v in counts.most_common())]
    return "\n".join(out) + "\n"
