"""Run a pack's inline examples and case files (``hongdun rules test``).

Each example runs in a fresh pipeline: its ``given`` events are processed
first (they fill the windows), then the example event is explained and the
rule's verdict is compared with what the example expects. Example events are
partial: they are merged onto a realistic default event of their type (all
sharing one default merchant, so windows keyed by merchant meet) and
then decoded exactly like platform input, so an example that is not a valid
event fails with the decoder's reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import orjson

from engine.errors import Location
from engine.events.deadletter import Reject
from engine.events.decode import EventDecoder
from engine.events.examples import deep_merge, default_event
from engine.rules.evaluator import CompiledPack
from engine.rules.loader import load_case_file
from engine.rules.model import Example


@dataclass
class ExampleResult:
    """The outcome of one example."""

    rule_id: str
    example: Example
    passed: bool
    detail: str

    @property
    def where(self) -> str:
        return str(self.example.loc)


def _decode(decoder: EventDecoder, partial: dict, event_id: str, loc: Location):
    base = default_event(partial["event_type"])
    base["merchant"] = default_event("listing")["merchant"]  # one merchant unless an example names another
    event = deep_merge(base, partial)
    event["event_id"] = event_id
    decoded = decoder.decode(orjson.dumps(event), loc)
    return decoded


def run_example(compiled: CompiledPack, rule_id: str, example: Example, models: Any = None) -> ExampleResult:
    """Run one example against a fresh pipeline and compare the rule's verdict.

    ``models`` (a ModelBank) scores the example events, for packs whose rules read score.MODEL.
    """
    from engine.pipeline import Pipeline

    pipeline = Pipeline(compiled, clock=lambda: 0.0, models=models)
    decoder = pipeline.decoder
    for i, partial in enumerate(example.given):
        ev = _decode(decoder, partial, f"given-{i}", example.loc)
        if isinstance(ev, Reject):
            return ExampleResult(rule_id, example, False, f"given event {i + 1} is not a valid event: {ev.message} at {ev.path}")
        pipeline.process([ev])
    ev = _decode(decoder, example.event, "example", example.loc)
    if isinstance(ev, Reject):
        return ExampleResult(rule_id, example, False, f"example event is not a valid event: {ev.message} at {ev.path}")
    outcome = next((x for x in pipeline.explain(ev) if x.rule_id == rule_id), None)
    if outcome is None:
        return ExampleResult(rule_id, example, False, "rule did not run on this event type (disabled?)")
    if outcome.error:
        return ExampleResult(rule_id, example, False, f"rule raised {outcome.error}")
    if outcome.fired == example.fire:
        return ExampleResult(rule_id, example, True, "fired" if outcome.fired else "quiet")
    want = "fire" if example.fire else "stay quiet"
    seen = f"matched={[m['term'] for m in outcome.matched]} windows={outcome.windows}"
    return ExampleResult(rule_id, example, False, f"expected the rule to {want} but it {'fired' if outcome.fired else 'stayed quiet'}; {seen}")


def iter_examples(compiled: CompiledPack) -> Iterable[tuple[str, Example]]:
    """Inline examples of every non-disabled rule, then the pack's case files."""
    for rule in compiled.pack.rules:
        if rule.status == "disabled":
            continue
        for ex in rule.examples:
            yield rule.id, ex


def run_pack_tests(compiled: CompiledPack, models: Any = None) -> tuple[list[ExampleResult], list[str]]:
    """Run all examples and case files (scored by ``models`` when given); return results and case-file errors."""
    results = [run_example(compiled, rid, ex, models) for rid, ex in iter_examples(compiled)]
    errors: list[str] = []
    by_id = {r.id: r.events for r in compiled.pack.rules}
    for path in compiled.pack.case_files:
        cases, errs = load_case_file(path, lambda rid: by_id.get(rid, ()))
        errors.extend(str(e) for e in errs)
        results.extend(run_example(compiled, rid, ex, models) for rid, ex in cases)
    return results, errors
