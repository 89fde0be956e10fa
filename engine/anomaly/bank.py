"""The anomaly models a running engine scores with: loading, verification, wiring into a pack.

A model folder (``models/NAME/``) is verified before anything in it is used:
:func:`load_model` checks every sha256 in the manifest (``features.yaml``
included) and that the forest's feature names equal the feature set's, then
reads the threshold and the training distributions from ``training.json``.

The pipeline runs a model's windows in the same state store as the rule pack's,
under the prefix ``MODEL/`` so names cannot clash: :func:`with_model_windows`
returns the pack with them added, and :class:`ModelBank` holds, per event type,
the compiled feature extractor of every model that scores that type.

A model window defined exactly like one of the pack's (same events, key,
filter, value, length, buckets, lateness; its aggregates a subset) is not kept
twice: :func:`compile_with_models` lets the model read the pack's window, so
a busy event type (every order, for a merchant's order count) feeds it once.
Only models no rule reads are shared this way: a model a rule reads is scored
before its batch's rules run, from windows of its own (see ``engine.pipeline``).
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from engine.anomaly.artifact import MANIFEST_FILE, load_forest
from engine.anomaly.explain import explain
from engine.anomaly.features import FeatureSet, compile_extractor, load_feature_set
from engine.anomaly.vectorize import BatchExtractor
from engine.anomaly.forest import CompiledForest
from engine.errors import Location, ModelError, PackErrors
from engine.rules.evaluator import CompiledPack, compile_pack
from engine.rules.expr import Condition
from engine.rules.model import Pack, WindowDef

FEATURES_FILE = "features.yaml"
TRAINING_FILE = "training.json"


@dataclass(frozen=True)
class LoadedModel:
    """A verified model: forest, feature set, alert threshold and training ranges."""

    name: str  # as rules read it: score.NAME
    folder: str
    features: FeatureSet
    forest: CompiledForest
    threshold: float  # risk in [0, 1] at or above which the model raises its own alert
    calibration: str
    distributions: dict[str, Any]  # per-feature training quantiles: typical ranges in explanations, drift
    digest: str  # sha256 of the manifest: which exact artifact scored an alert

    @property
    def window_prefix(self) -> str:
        return f"{self.name}/"

    @property
    def rule_id(self) -> str:
        """The id a model's own alerts carry (a model is not a rule, but alerts need one stable id)."""
        return "MODEL-" + self.name.upper().replace("_", "-")


def load_model(folder: str | Path) -> LoadedModel:
    """Load and verify one model folder; ModelError names the file and what is wrong."""
    root = Path(folder)
    try:
        fs = load_feature_set(root / FEATURES_FILE)
    except PackErrors as exc:
        raise ModelError(f"feature set does not load: {exc.errors[0]}", Location(file=str(root / FEATURES_FILE))) from None
    forest = load_forest(root, fs.names)  # verifies every checksum and the feature schema
    manifest_bytes = (root / MANIFEST_FILE).read_bytes()
    manifest = json.loads(manifest_bytes)
    listed = manifest.get("sha256", {})
    for name in (FEATURES_FILE, TRAINING_FILE):
        if name not in listed:
            raise ModelError(f"manifest does not list {name}", Location(file=str(root / MANIFEST_FILE)))
    training_path = root / TRAINING_FILE
    data = training_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != listed[TRAINING_FILE].lower():
        raise ModelError(f"sha256 mismatch for {TRAINING_FILE} (changed while loading)", Location(file=str(training_path)))
    training = json.loads(data)
    threshold = training.get("threshold")
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ModelError(f"threshold must be a risk in [0, 1], found {threshold!r}", Location(file=str(training_path)))
    return LoadedModel(
        name=fs.model,
        folder=root.name,
        features=fs,
        forest=forest,
        threshold=float(threshold),
        calibration=_calibration_text(training.get("calibration")),
        distributions=training.get("distributions") if isinstance(training.get("distributions"), dict) else {},
        digest=hashlib.sha256(manifest_bytes).hexdigest(),
    )


def load_models(folder: str | Path, names: Sequence[str] | None = None) -> list[LoadedModel]:
    """Every model under ``folder`` (a sub-folder with a manifest), or only ``names``, verified."""
    root = Path(folder)
    if not root.is_dir():
        raise ModelError("models folder does not exist", Location(file=str(root)))
    found = sorted(p for p in root.iterdir() if (p / MANIFEST_FILE).is_file())
    if names is not None:
        wanted = set(names)
        missing = wanted - {p.name for p in found}
        if missing:
            raise ModelError(f"no model folder {sorted(missing)} (found: {[p.name for p in found]})", Location(file=str(root)))
        found = [p for p in found if p.name in wanted]
    models = [load_model(p) for p in found]
    seen: dict[str, str] = {}
    for m in models:
        if m.name in seen:
            raise ModelError(f"models {seen[m.name]} and {m.folder} both call themselves {m.name!r}", Location(file=str(root)))
        seen[m.name] = m.folder
    return models


def with_model_windows(pack: Pack, models: Sequence[LoadedModel],
                       shared: dict[str, dict[str, str]] | None = None) -> Pack:
    """The pack plus every model's windows, renamed ``MODEL/window`` (declared after the pack's own).

    ``shared`` (model -> its window -> the pack window it reads instead) names
    windows that are not added because the pack already keeps them.
    """
    windows = dict(pack.windows)
    for m in models:
        reuse = (shared or {}).get(m.name, {})
        for name, w in m.features.windows.items():
            if name in reuse:
                continue
            stored = m.window_prefix + name
            windows[stored] = dataclasses.replace(w, name=stored, spec=dataclasses.replace(w.spec, name=stored))
    return dataclasses.replace(pack, windows=windows)


def _reads_state(cond: Condition | None) -> bool:
    """Whether a window's filter or value reads other windows or scores (then its meaning depends on names)."""
    if cond is None:
        return False
    return any(isinstance(n, ast.Name) and n.id in ("window", "score") for n in ast.walk(cond.tree))


def _signature(w: WindowDef) -> tuple | None:
    """Everything that decides a window's content except its name and aggregates; None if not comparable."""
    conds = (w.where, w.value_condition, w.distinct_condition)
    if any(_reads_state(c) for c in conds):
        return None
    spec = w.spec
    return (w.events, w.key, *(None if c is None else ast.dump(c.tree) for c in conds),
            spec.duration_s, spec.bucket_s, spec.exclude_recent_s, spec.allowed_lateness_s)


def shared_windows(pack: Pack, model: LoadedModel) -> dict[str, str]:
    """The model's windows the pack already keeps: model window -> pack window with the same definition."""
    by_signature: dict[tuple, list[WindowDef]] = {}
    for w in pack.windows.values():
        sig = _signature(w)
        if sig is not None:
            by_signature.setdefault(sig, []).append(w)
    out: dict[str, str] = {}
    for name, w in model.features.windows.items():
        sig = _signature(w)
        for candidate in by_signature.get(sig, []) if sig is not None else []:
            if w.spec.aggregates <= candidate.spec.aggregates:
                out[name] = candidate.name
                break
    return out


class ModelBank:
    """Per event type, the models that score it and their compiled feature extractors."""

    def __init__(self, models: Sequence[LoadedModel]) -> None:
        self.models = tuple(models)
        self._scorers: dict[tuple, dict[str, tuple[tuple[int, LoadedModel, BatchExtractor], ...]]] = {}

    def scorers(self, stored: dict[str, dict[str, str]]) -> dict[str, tuple[tuple[int, LoadedModel, BatchExtractor], ...]]:
        """Per event type: (model index, model, extractor) reading each model's windows where ``stored`` says.

        ``stored`` is a compiled pack's ``model_windows`` (model -> window -> stored
        name); a model it does not list reads its own ``MODEL/`` windows. Cached
        per mapping, so a hot reload to a pack with the same sharing recompiles nothing.
        """
        cache_key = tuple(sorted((m, tuple(sorted(ws.items()))) for m, ws in stored.items()))
        got = self._scorers.get(cache_key)
        if got is not None:
            return got
        plan: dict[str, list[tuple[int, LoadedModel, BatchExtractor]]] = {}
        for i, m in enumerate(self.models):
            names = stored.get(m.name) or {w: m.window_prefix + w for w in m.features.windows}
            for etype in m.features.events:
                plan.setdefault(etype, []).append((i, m, compile_extractor(m.features, etype, stored=names)))
        got = self._scorers[cache_key] = {t: tuple(v) for t, v in plan.items()}
        return got

    @property
    def names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models)

    def info(self) -> list[dict[str, Any]]:
        """One line per model for logs and ``/metrics`` labels."""
        return [{"model": m.name, "folder": m.folder, "threshold": m.threshold, "manifest_sha256": m.digest[:12]}
                for m in self.models]


def _calibration_text(cal: Any) -> str:
    if isinstance(cal, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(cal.items()) if not isinstance(v, (dict, list)))
    return str(cal or "")


def compile_with_models(pack: Pack, models: Sequence[LoadedModel], share: bool = True) -> CompiledPack:
    """Compile a pack for a pipeline that also scores ``models`` (their windows added, score.NAME readable).

    With ``share``, a window of a model no rule reads that the pack already keeps
    (see :func:`shared_windows`) is read from the pack's window instead of being
    kept twice. The result's ``model_windows`` says where each model window lives.
    """
    names = frozenset(m.name for m in models)
    shared = {m.name: reuse for m in models if (reuse := shared_windows(pack, m))} if share else {}
    compiled = compile_pack(with_model_windows(pack, models, shared), models=names)
    if set(shared) & compiled.scores_read:  # rare: a rule reads a sharing model, which must keep windows of its own
        shared = {name: reuse for name, reuse in shared.items() if name not in compiled.scores_read}
        compiled = compile_pack(with_model_windows(pack, models, shared), models=names)
    stored = {m.name: {w: shared.get(m.name, {}).get(w, m.window_prefix + w) for w in m.features.windows} for m in models}
    return dataclasses.replace(compiled, model_windows=stored)


def explain_rows(model: LoadedModel, X: np.ndarray, top: int = 3) -> list[list[dict[str, Any]]]:
    """The ``top`` features behind each row's score, as alert-ready dicts (value, unit, typical training range)."""
    units = {f.name: f.unit for f in model.features.features}
    rows = explain(model.forest, X, model.features.names, model.distributions, top=top, units=units)
    return [[{"feature": c.name, "value": c.value, "unit": c.unit, "contribution": round(c.contribution, 4),
              "typical_low": c.typical_low, "typical_high": c.typical_high} for c in row] for row in rows]


__all__ = ["LoadedModel", "ModelBank", "compile_with_models", "explain_rows", "load_model", "load_models",
           "shared_windows", "with_model_windows"]
