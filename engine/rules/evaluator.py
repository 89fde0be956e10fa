"""Compile a loaded pack into per-event-type closures, collecting every error.

The result, :class:`CompiledPack`, is what the pipeline runs: for each event
type, the windows that event feeds (filter, key, value) and the rules that
evaluate on it (condition, escalations, subject, evidence, message). Everything
that can be decided once per pack is decided here, not per event.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from engine.errors import ConditionError, Location, PackError, PackErrors
from engine.events.schema import EVENT_TYPES
from engine.rules.compiler import Compiler, Fn, WindowRef
from engine.rules.context import EvalContext
from engine.rules.fields import resolve
from engine.rules.matcher import KeywordMatcher
from engine.rules.model import Pack, Rule, WindowDef
from engine.rules.template import Renderer, compile_template
from engine.state.windows import WindowSpec


@dataclass(frozen=True)
class CompiledWindow:
    """How one event type feeds one window."""

    name: str
    spec: WindowSpec
    where: Fn | None
    key: Callable[[EvalContext], tuple | None]
    value: Fn | None
    distinct: Fn | None


@dataclass(frozen=True)
class CompiledRule:
    """One rule compiled for one event type."""

    rule: Rule
    condition: Fn
    escalations: tuple[tuple[Fn, str | None, int], ...]
    subject: Fn | None
    evidence: tuple[tuple[str, Fn], ...]
    message: Renderer


@dataclass
class CompiledPack:
    """A pack ready to run: closures grouped by event type."""

    pack: Pack
    rules: dict[str, tuple[CompiledRule, ...]]
    feeds: dict[str, tuple[CompiledWindow, ...]]
    window_keys: dict[tuple[str, str], Callable[[EvalContext], tuple | None]]
    windows: dict[str, WindowSpec]
    matchers: dict[str, KeywordMatcher]
    models: frozenset[str] = field(default_factory=frozenset)
    scores_read: frozenset[str] = field(default_factory=frozenset)  # models some rule reads (score.NAME)
    model_windows: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> its window -> stored window name

    @property
    def name(self) -> str:
        return self.pack.name

    @property
    def version(self) -> str:
        return self.pack.version


def _key_fn(getters: list[Fn]) -> Callable[[EvalContext], tuple | None]:
    """A key reader returning a tuple of strings, or None when any part is null."""
    if len(getters) == 1:
        (g,) = getters

        def one(c: EvalContext) -> tuple | None:
            v = g(c)
            return None if v is None else (str(v),)

        return one

    if len(getters) == 2:
        g1, g2 = getters

        def two(c: EvalContext) -> tuple | None:
            a = g1(c)
            if a is None:
                return None
            b = g2(c)
            return None if b is None else (str(a), str(b))

        return two

    def many(c: EvalContext) -> tuple | None:
        out = []
        for g in getters:
            v = g(c)
            if v is None:
                return None
            out.append(str(v))
        return tuple(out)

    return many


def _compile_matchers(pack: Pack, errors: list[PackError]) -> dict[str, KeywordMatcher]:
    matchers: dict[str, KeywordMatcher] = {}
    for name, kl in pack.lists.items():
        try:
            matchers[name] = KeywordMatcher.compile(kl.terms, homophones=kl.homophones, numerals=kl.numerals)
        except ValueError as exc:
            errors.append(PackError(f"list {name!r}: {exc}", kl.loc))
    return matchers


_TEXT_FUNCTIONS = frozenset({"contains_any", "count_any", "near"})


def _primary_lists(pack: Pack) -> set[str]:
    """Lists named as the first list of a text function anywhere in the pack (not allow lists, not near's second)."""
    import ast

    conditions = [r.condition for r in pack.rules] + [e.condition for r in pack.rules for e in r.escalations]
    conditions += [c for w in pack.windows.values() for c in (w.where, w.value_condition, w.distinct_condition) if c]
    names: set[str] = set()
    for cond in conditions:
        for node in ast.walk(cond.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _TEXT_FUNCTIONS:
                if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                    names.add(node.args[1].value)
    return names


def _prefilter(pack: Pack) -> tuple[KeywordMatcher | None, frozenset[str]]:
    """One matcher over the terms of the lists rules search for, and which lists it covers.

    A text in which it finds nothing cannot match any covered list, so their text
    functions answer at once; most texts are clean. It covers lists used as the
    searched list of contains_any/count_any/near and having no one-character term
    (a list holding 券 would make the prefilter hit on almost every text). It is
    a superset of each covered list (homophone and numeral variants included), so
    it never hides a match.
    """
    covered = frozenset(n for n in _primary_lists(pack) if n in pack.lists and all(len(t) > 1 for t in pack.lists[n].terms))
    terms = list(dict.fromkeys(t for n in sorted(covered) for t in pack.lists[n].terms))
    if not terms:
        return None, frozenset()
    try:
        matcher = KeywordMatcher.compile(terms, homophones=any(pack.lists[n].homophones for n in covered), numerals=True)
    except ValueError:
        return None, frozenset()
    return matcher, covered


def _compile_windows(
    pack: Pack, matchers: dict[str, KeywordMatcher], errors: list[PackError], prefilter: KeywordMatcher | None = None
) -> tuple[dict[str, list[CompiledWindow]], dict[tuple[str, str], Callable], dict[str, WindowRef]]:
    feeds: dict[str, list[CompiledWindow]] = {t: [] for t in EVENT_TYPES}
    keys: dict[tuple[str, str], Callable] = {}
    shared_keys: dict[tuple[str, tuple], Callable] = {}  # one key reader per (event type, key paths): computed once per event
    refs: dict[str, WindowRef] = {}
    for w in pack.windows.values():
        earlier = dict(refs)  # a window may read only windows declared before it: no cycles, fixed feed order
        refs[w.name] = WindowRef(w.name, w.spec.aggregates, w.key)
        for etype in EVENT_TYPES:
            comp = Compiler(etype, w.events or (etype,), matchers, earlier, not_yet=frozenset(pack.windows) - set(earlier),
                            prefilter=prefilter)
            key_ok = all(resolve(etype, k) is not None for k in w.key)
            if key_ok:
                try:
                    shared = shared_keys.get((etype, w.key))
                    if shared is None:
                        shared = shared_keys[(etype, w.key)] = _key_fn([comp.compile_path(c).fn for c in w.key_conditions])
                    keys[(w.name, etype)] = shared
                except ConditionError as exc:
                    errors.append(exc)
                    continue
            if etype not in w.events:
                continue
            if not key_ok:
                missing = next(".".join(k) for k in w.key if resolve(etype, k) is None)
                errors.append(PackError(f"window {w.name!r}: {etype} events have no key field {missing!r}", w.loc))
                continue
            try:
                value = comp.node_of(w.value_condition) if w.value_condition else None
                distinct = comp.node_of(w.distinct_condition) if w.distinct_condition else None
                if value is not None and value.type.kind not in ("int", "float", "any"):
                    raise ConditionError(f"window {w.name!r}: value must be a number, not a {value.type.kind}", w.value_condition.origin)  # type: ignore[union-attr]
                if distinct is not None and distinct.type.kind not in ("str", "int", "float", "any"):
                    raise ConditionError(f"window {w.name!r}: distinct must be text or a number, not a {distinct.type.kind}", w.distinct_condition.origin)  # type: ignore[union-attr]
                feeds[etype].append(
                    CompiledWindow(
                        name=w.name,
                        spec=w.spec,
                        where=comp.compile(w.where) if w.where else None,
                        key=keys[(w.name, etype)],
                        value=value.fn if value else None,
                        distinct=distinct.fn if distinct else None,
                    )
                )
            except ConditionError as exc:
                errors.append(exc)
    return feeds, keys, refs


def _compile_rule(rule: Rule, etype: str, comp: Compiler) -> CompiledRule:
    """Compile every part of a rule, reporting the errors of all parts together."""
    errors: list[ConditionError] = []

    def attempt(build: Callable[[], Any]) -> Any:
        try:
            return build()
        except ConditionError as exc:
            errors.append(exc)
            return None

    condition = attempt(lambda: comp.compile(rule.condition))
    escalations = tuple(attempt(lambda e=e: (comp.compile(e.condition), e.to, e.by)) for e in rule.escalations)
    subject = attempt(lambda: comp.compile(rule.subject)) if rule.subject else None
    evidence = tuple(attempt(lambda e=e: (e.source, comp.compile_path(e).fn)) for e in rule.evidence)
    origin = Location(file=rule.message_loc.file, line=rule.message_loc.line, col=rule.message_loc.col, rule_id=rule.id)
    message = attempt(lambda: compile_template(rule.message, origin, comp))
    if errors:
        raise PackErrors(errors)  # type: ignore[arg-type]
    return CompiledRule(rule, condition, escalations, subject, evidence, message)


def compile_pack(pack: Pack, models: frozenset[str] = frozenset()) -> CompiledPack:
    """Compile every rule for every event type it names; raise PackErrors with all problems."""
    errors: list[PackError] = []
    matchers = _compile_matchers(pack, errors)
    prefilter = _prefilter(pack)
    feeds, keys, refs = _compile_windows(pack, matchers, errors, prefilter)
    rules: dict[str, list[CompiledRule]] = {t: [] for t in EVENT_TYPES}
    scores_read: set[str] = set()
    for rule in pack.rules:
        if rule.status == "disabled":
            continue
        seen: set[str] = set()
        for etype in rule.events:
            comp = Compiler(etype, rule.events, matchers, refs, models, prefilter=prefilter)
            try:
                rules[etype].append(_compile_rule(rule, etype, comp))
                scores_read |= comp.score_reads
            except PackErrors as exc:
                for err in exc.errors:
                    text = str(err)
                    if text not in seen:  # one report even if every event type fails the same way
                        seen.add(text)
                        errors.append(err)
    if errors:
        raise PackErrors(errors)
    return CompiledPack(
        pack=pack,
        rules={t: tuple(v) for t, v in rules.items()},
        feeds={t: tuple(v) for t, v in feeds.items()},
        window_keys=keys,
        windows={w.name: w.spec for w in pack.windows.values()},
        matchers=matchers,
        models=models,
        scores_read=frozenset(scores_read),
    )


def window_value_dict(name: str, spec: WindowSpec, value: Any) -> dict[str, Any]:
    """The declared aggregates of a window value, for evidence."""
    return {agg: getattr(value, agg) for agg in sorted(spec.aggregates)}


__all__ = ["CompiledPack", "CompiledRule", "CompiledWindow", "compile_pack", "window_value_dict", "WindowDef"]
