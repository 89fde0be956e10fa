"""Feature sets: the named, documented inputs of an anomaly model, written like rules.

A model folder holds ``features.yaml``::

    model: live_traffic            # read in rule conditions as score.live_traffic
    events: [live_metrics]
    windows:                       # same format as a rule pack's windows
      room_measured_2m:
        events: [live_metrics]
        key: room_id
        value: online_measured
        duration: 2m
        bucket: 1m
        aggregates: [min, max]
    features:
      displayed_per_measured:
        expr: ratio(online_displayed, online_measured)
        unit: ratio
        description: viewers shown to the public per viewer measured by the platform

Each ``expr`` is compiled by the rule compiler, so features get the same
safety (whitelisted expressions, no eval), the same null-safety and the same
file:line:col errors as rule conditions. A null feature becomes NaN, which the
compiled forest routes like scikit-learn does; true/false become 1/0. The
order of ``features`` is the column order of the model and is pinned in the
model's manifest, so a model and its feature set cannot silently drift apart.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from engine.errors import Location, PackError, PackErrors
from engine.rules.compiler import Compiler, WindowRef
from engine.rules.context import EvalContext
from engine.rules.expr import Condition
from engine.rules.loader import parse_duration, _condition, _Ctx, _event_types, _keys, _load_window, _str
from engine.rules.model import Pack, WindowDef
from engine.rules.yamlsrc import LMap, load_yaml_file

if TYPE_CHECKING:
    from engine.anomaly.vectorize import BatchExtractor

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP_KEYS = {"model", "description", "events", "windows", "features", "warmup"}
_FEATURE_KEYS = {"expr", "unit", "description"}
MAX_FEATURES = 64


@dataclass(frozen=True)
class FeatureDef:
    """One named feature: its expression, unit and meaning."""

    name: str
    expr: Condition
    unit: str
    description: str
    loc: Location


@dataclass(frozen=True)
class FeatureSet:
    """The features of one model, in column order, and the windows they read."""

    model: str
    description: str
    events: tuple[str, ...]
    windows: dict[str, WindowDef]
    features: tuple[FeatureDef, ...]
    source: str
    warmup_s: int = 0  # event time the windows need after a cold start before the model's own alerts are trusted

    @property
    def names(self) -> list[str]:
        """Feature names in column order (what a model manifest pins)."""
        return [f.name for f in self.features]

    def as_pack(self) -> Pack:
        """A rule-less pack holding this set's windows, so the pipeline machinery can feed them."""
        return Pack(name=f"features:{self.model}", version="1", description=self.description, lists={},
                    windows=dict(self.windows), rules=(), root=self.source, digest="")


def load_feature_set(path: str | Path) -> FeatureSet:
    """Read a ``features.yaml``; raise PackErrors listing every problem with its location."""
    path = Path(path)
    ctx = _Ctx([], file=str(path))
    try:
        doc = load_yaml_file(path)
    except PackError as exc:
        raise PackErrors([exc]) from None
    features: list[FeatureDef] = []
    windows: dict[str, WindowDef] = {}
    model = description = ""
    warmup_s = 0
    events: tuple[str, ...] = ()
    if _keys(ctx, doc, path.name, _TOP_KEYS, {"model", "events", "features"}):
        model = _str(ctx, doc, "model", "feature set") or ""
        if not _NAME.match(model):
            ctx.err(f"model name {model!r}: use lower_snake_case (rules read it as score.{model or 'NAME'})", doc.loc_of("model"))
        description = _str(ctx, doc, "description", "feature set") or ""
        if "warmup" in doc:
            try:
                warmup_s = parse_duration(doc["warmup"], doc.loc_of("warmup"), "warmup")
            except PackError as exc:
                ctx.errors.append(exc)
        events = _event_types(ctx, doc, "events", "feature set")
        block = doc.get("windows", LMap())
        if isinstance(block, LMap):
            for name, value in block.items():
                w = _load_window(ctx, name, value, {})
                if w is not None:
                    windows[name] = w
        else:
            ctx.err("windows must be a mapping of name -> definition", doc.loc_of("windows"))
        fblock = doc["features"]
        if not isinstance(fblock, LMap) or not fblock:
            ctx.err("features must be a non-empty mapping of name -> {expr, unit, description}", doc.loc_of("features"))
        else:
            if len(fblock) > MAX_FEATURES:
                ctx.err(f"more than {MAX_FEATURES} features", doc.loc_of("features"))
            for name, spec in fblock.items():
                where = fblock.key_locs[name]
                if not _NAME.match(name):
                    ctx.err(f"feature name {name!r}: use lower_snake_case", where)
                if not _keys(ctx, spec, f"feature {name!r}", _FEATURE_KEYS, {"expr", "unit", "description"}):
                    continue
                expr = _condition(ctx, spec["expr"], spec.loc_of("expr"), None, f"feature {name!r} expr")
                unit = _str(ctx, spec, "unit", f"feature {name!r}") or ""
                text = _str(ctx, spec, "description", f"feature {name!r}") or ""
                if not unit.strip() or not text.strip():
                    ctx.err(f"feature {name!r} needs a unit and a description", where)
                if expr is not None:
                    features.append(FeatureDef(name, expr, unit, text, where))
    if ctx.errors:
        raise PackErrors(ctx.errors)
    return FeatureSet(model, description, events, windows, tuple(features), str(path), warmup_s)


Extractor = Callable[[EvalContext], list[float]]


def compile_features(fs: FeatureSet, event_type: str, window_prefix: str = "",
                     stored: dict[str, str] | None = None) -> Extractor:
    """A closure that turns one event's context into the model's feature vector (NaN for null).

    ``window_prefix`` is prepended to the names the feature set's windows are
    stored under, so a model's windows can live beside a rule pack's in one
    state store without clashing (the engine uses ``MODEL/``). ``stored`` maps
    a window to the exact name it is read from instead (a pack window it shares).
    """
    comp = _compiler(fs, event_type, window_prefix, stored)
    errors: list[PackError] = []
    fns = []
    for f in fs.features:
        try:
            compiled = comp.node_of(f.expr)
        except PackError as exc:
            errors.append(exc)
            continue
        if compiled.type.kind not in ("int", "float", "bool", "any"):
            errors.append(PackError(f"feature {f.name!r} is a {compiled.type.kind}, not a number", f.loc))
            continue
        fns.append(compiled.fn)
    if errors:
        raise PackErrors(errors)

    nan = math.nan
    failures = (TypeError, ValueError, ZeroDivisionError, OverflowError)

    def one(fn: Callable[[EvalContext], object], ctx: EvalContext) -> float:
        try:
            return _as_feature(fn(ctx))
        except failures:
            return nan

    def extract(ctx: EvalContext) -> list[float]:
        try:
            values = [fn(ctx) for fn in fns]
        except failures:  # rare: redo feature by feature so only the failing one becomes NaN
            return [one(fn, ctx) for fn in fns]
        # the common case, a finite float, passes as is (x - x is 0.0 only for finite x)
        return [v if v.__class__ is float and v - v == 0.0 else _as_feature(v) for v in values]

    return extract


def compile_extractor(fs: FeatureSet, event_type: str, window_prefix: str = "",
                      stored: dict[str, str] | None = None) -> "BatchExtractor":
    """The feature set as a :class:`~engine.anomaly.vectorize.BatchExtractor`: per event, or inputs per event
    and arithmetic per batch, with the same vectors (bit for bit).

    Same arguments as :func:`compile_features`, which checks the set (and raises
    its errors) once for both forms.
    """
    from engine.anomaly.vectorize import BatchExtractor, BatchProgram

    extract = compile_features(fs, event_type, window_prefix, stored)
    program = BatchProgram(_compiler(fs, event_type, window_prefix, stored), [f.expr for f in fs.features])
    return BatchExtractor(extract, program)


def _compiler(fs: FeatureSet, event_type: str, window_prefix: str, stored: dict[str, str] | None) -> Compiler:
    refs = {name: WindowRef((stored or {}).get(name, window_prefix + name), w.spec.aggregates, w.key)
            for name, w in fs.windows.items()}
    return Compiler(event_type, fs.events, {}, refs)


def _as_feature(v: object) -> float:
    """A feature value as a model input: numbers and true/false as floats; null, text, lists, inf, NaN as NaN."""
    if v is None or isinstance(v, (str, list, tuple)):
        return math.nan
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def feature_docs(fs: FeatureSet) -> str:
    """The feature table of a model as Markdown: name, unit, meaning, expression."""
    rows = ["| feature | unit | meaning | expression |", "|---|---|---|---|"]
    for f in fs.features:
        rows.append(f"| `{f.name}` | {f.unit} | {f.description} | `{f.expr.source}` |")
    return "\n".join(rows)


__all__ = ["FeatureDef", "FeatureSet", "load_feature_set", "compile_extractor", "compile_features", "feature_docs"]


class FeatureStream:
    """Feature vectors of a model for a stream of events, with the model's windows kept up to date.

    It runs the pipeline's window feeding over the feature set's windows (a
    rule-less pack), so training and scoring see exactly the window values the
    engine computes live. Used to build training matrices and, later, to score.
    """

    def __init__(self, fs: FeatureSet) -> None:
        from engine.pipeline import Pipeline
        from engine.rules.evaluator import compile_pack

        self.fs = fs
        self.pipeline = Pipeline(compile_pack(fs.as_pack()), clock=lambda: 0.0)
        self.extractors = {t: compile_features(fs, t) for t in fs.events}

    def process(self, events: list) -> list[tuple[str, list[float]]]:
        """Feed every event to the windows; return (event id, vector) for events of the model's types."""
        out: list[tuple[str, list[float]]] = []
        observe = self.pipeline.observe
        for ev in events:
            ctx = observe(ev)
            extract = self.extractors.get(ctx.etype)
            if extract is not None:
                out.append((ev.event_id, extract(ctx)))
        return out
