"""Train an anomaly model from history (``hongdun models train``).

Reads the model's feature set, runs the events through it (the same window
code the engine uses live), fits an IsolationForest, compiles it, calibrates
the alert threshold to a target alert rate on the training data, and writes
the artifact: ``forest.npz`` + ``training.json`` (threshold and how it was
chosen, training data size and hash, per-feature training distributions for
drift and explanations, evaluation metrics when labels are given) +
``manifest.json`` listing the sha256 of every file, ``features.yaml``
included, so a changed feature set is caught at load.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import orjson

from engine.anomaly.artifact import MANIFEST_FILE, save_forest
from engine.anomaly.features import FeatureStream, load_feature_set
from engine.anomaly.forest import CompiledForest
from engine.errors import Location
from engine.events.decode import EventDecoder
from engine.pipeline import iter_batches

TRAINING_FILE = "training.json"
FEATURES_FILE = "features.yaml"
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class TrainConfig:
    """How to fit and calibrate a model."""

    n_estimators: int = 100
    max_samples: int = 256
    seed: int = 0
    target_alert_rate: float = 0.005  # share of training events above the threshold


def feature_matrix(folder: Path, lines: Iterable[bytes]) -> tuple[np.ndarray, list[str], int]:
    """(X, event ids, rejected lines) for a model folder's feature set over JSONL lines."""
    fs = load_feature_set(folder / FEATURES_FILE)
    stream = FeatureStream(fs)
    decoder = EventDecoder()
    rows: list[list[float]] = []
    ids: list[str] = []
    rejected = 0
    for batch in iter_batches((l for l in lines if l.strip()), 5000):
        decoded = decoder.decode_batch([(l, Location()) for l in batch])
        rejected += len(decoded.rejects)
        for eid, vec in stream.process([e for e, _ in decoded.events]):
            ids.append(eid)
            rows.append(vec)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(fs.names)), ids, rejected


def _distributions(X: np.ndarray, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for j, name in enumerate(names):
        col = X[:, j]
        finite = col[~np.isnan(col)]
        q = np.quantile(finite, QUANTILES).tolist() if finite.size else []
        out[name] = {"quantiles": dict(zip(map(str, QUANTILES), q)), "null_share": float(np.isnan(col).mean()) if col.size else 0.0}
    return out


def _evaluate(risk: np.ndarray, ids: list[str], truth: list[dict[str, Any]] | None, threshold: float) -> dict[str, Any]:
    if not truth:
        return {}
    from sklearn.metrics import average_precision_score, roc_auc_score

    positive = {eid for t in truth if t.get("label") == "anomaly" for eid in t.get("event_ids", [])}
    y = np.array([eid in positive for eid in ids])
    if y.sum() == 0 or y.all():
        return {"labelled_anomalies": int(y.sum())}
    flagged = risk >= threshold
    tp = int((flagged & y).sum())
    return {
        "labelled_anomalies": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, risk)),
        "pr_auc": float(average_precision_score(y, risk)),
        "precision_at_threshold": tp / int(flagged.sum()) if flagged.any() else None,
        "recall_at_threshold": tp / int(y.sum()),
    }


def train_model(folder: str | os.PathLike[str], events_file: str | os.PathLike[str], *, created_at: str,
                config: TrainConfig = TrainConfig(), truth: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Fit, calibrate and write the model in ``folder``; return the training summary."""
    from sklearn.ensemble import IsolationForest

    root = Path(folder)
    fs = load_feature_set(root / FEATURES_FILE)
    raw = Path(events_file).read_bytes()
    X, ids, rejected = feature_matrix(root, raw.splitlines())
    if len(X) < 10:
        raise ValueError(f"only {len(X)} {'/'.join(fs.events)} events to train on; need at least 10")
    model = IsolationForest(n_estimators=config.n_estimators, max_samples=min(config.max_samples, len(X)),
                            random_state=config.seed).fit(X)
    forest = CompiledForest.from_sklearn(model)
    risk = forest.risk(X)
    threshold = float(np.quantile(risk, 1.0 - config.target_alert_rate))
    save_forest(forest, root, feature_names=fs.names, created_at=created_at)
    training = {
        "model": fs.model,
        "threshold": threshold,
        "calibration": {"method": "target alert rate on the training events", "target_alert_rate": config.target_alert_rate,
                        "observed_alert_rate": float((risk >= threshold).mean())},
        "training": {"events_file_sha256": hashlib.sha256(raw).hexdigest(), "rows": int(len(X)), "rejected_lines": rejected,
                     "event_types": list(fs.events), "n_estimators": config.n_estimators,
                     "max_samples": int(min(config.max_samples, len(X))), "seed": config.seed},
        "distributions": _distributions(X, fs.names),
        "metrics": _evaluate(risk, ids, truth, threshold),
    }
    data = orjson.dumps(training, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    (root / TRAINING_FILE).write_bytes(data)
    manifest_path = root / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["sha256"][TRAINING_FILE] = hashlib.sha256(data).hexdigest()
    manifest["sha256"][FEATURES_FILE] = hashlib.sha256((root / FEATURES_FILE).read_bytes()).hexdigest()
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.replace(tmp, manifest_path)
    return training
