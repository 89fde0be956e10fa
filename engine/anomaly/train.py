"""Train an anomaly model from history (``hongdun models train``).

Reads the model's feature set, runs the events through it (the same window
code the engine uses live), fits an IsolationForest, compiles it, calibrates
the alert threshold and writes the artifact: ``forest.npz`` + ``training.json`` +
``manifest.json`` listing the sha256 of every file, ``features.yaml``
included, so a changed feature set is caught at load.

``training.json`` holds the threshold and how it was chosen (with labels: a
target false-alarm rate on the training events no incident covers; without:
a target alert rate on all training events, see :func:`_calibrate`), the
training data size and hash, per-feature distributions (quantiles, null
share, median, MAD, robust scale and PSI bins with their training shares:
what explanations, drift monitoring and the baseline read), the robust
z-score baseline calibrated the same way, and metrics against the labels.
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
    """Per-feature training distribution: quantiles, null share, median / MAD / robust scale, PSI bins.

    ``psi`` holds the bin edges (the unique training quantiles) and the share of
    training rows in each bin plus a separate null bin, computed with the very
    function drift monitoring uses (:func:`engine.anomaly.drift.bin_counts`),
    so ties (a feature that is 1.0 for most rows) keep their true mass.
    """
    from engine.anomaly.drift import bin_counts, psi_edges
    from engine.anomaly.evaluate import robust_scale

    out: dict[str, Any] = {}
    for j, name in enumerate(names):
        col = X[:, j]
        finite = col[~np.isnan(col)]
        q = np.quantile(finite, QUANTILES).tolist() if finite.size else []
        edges = psi_edges(q)
        counts = bin_counts(col, edges)
        median = float(np.median(finite)) if finite.size else None
        mad = float(np.median(np.abs(finite - median))) if finite.size else None
        out[name] = {
            "quantiles": dict(zip(map(str, QUANTILES), q)),
            "null_share": float(np.isnan(col).mean()) if col.size else 0.0,
            "median": median,
            "mad": mad,
            "robust_scale": robust_scale(finite),
            "psi": {"edges": edges, "shares": (counts / max(1, col.size)).tolist(), "rows": int(col.size)},
        }
    return out


def _labels(ids: list[str], truth: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(is anomaly, is normal) per event id: anomaly-labelled incident events, and events no incident covers."""
    positive = {eid for t in truth if t.get("label") == "anomaly" for eid in t.get("event_ids", [])}
    covered = {eid for t in truth for eid in t.get("event_ids", [])}
    return np.array([e in positive for e in ids], dtype=bool), np.array([e not in covered for e in ids], dtype=bool)


def _evaluate(risk: np.ndarray, ids: list[str], truth: list[dict[str, Any]] | None, threshold: float) -> dict[str, Any]:
    """Training-day metrics: anomaly-labelled events against events no incident covers.

    Events of rule-labelled incidents (violations, decoys) are neither positive
    nor negative here (see :mod:`engine.anomaly.evaluate` for why); how many of
    them the threshold flags is reported separately.
    """
    if not truth:
        return {}
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, normal = _labels(ids, truth)
    keep = y | normal
    if y.sum() == 0 or normal.sum() == 0:
        return {"labelled_anomalies": int(y.sum())}
    flagged = risk >= threshold
    tp = int((flagged & y).sum())
    fp = int((flagged & normal).sum())
    return {
        "labelled_anomalies": int(y.sum()),
        "negatives": "events no incident covers",
        "roc_auc": float(roc_auc_score(y[keep], risk[keep])),
        "pr_auc": float(average_precision_score(y[keep], risk[keep])),
        "precision_at_threshold": tp / (tp + fp) if tp + fp else None,
        "recall_at_threshold": tp / int(y.sum()),
        "flagged_rule_incident_events": int((flagged & ~keep).sum()),
    }


def _calibrate(risk: np.ndarray, ids: list[str], truth: list[dict[str, Any]] | None,
               rate: float) -> tuple[float, dict[str, Any]]:
    """The alert threshold and how it was chosen.

    With labels: the ``1 - rate`` quantile of the risk of training events that
    no incident covers, i.e. a target *false-alarm* rate on normal traffic.
    Without labels: the same quantile over all training events (a target
    alert rate). The first is preferred because a fixed alert budget is
    otherwise spent on the rule-named incidents of the training day (on the
    seed-101 day those are 5 % of livestream and 6 % of complaint events, ten
    times the 0.5 % budget), which left no alert for anything else.
    """
    if truth:
        _, normal = _labels(ids, truth)
        if normal.sum() >= 10:
            return float(np.quantile(risk[normal], 1.0 - rate)), {
                "method": "target false-alarm rate on training events no incident covers",
                "target_false_alarm_rate": rate, "normal_rows": int(normal.sum())}
    return float(np.quantile(risk, 1.0 - rate)), {"method": "target alert rate on the training events",
                                                  "target_alert_rate": rate}


def _baseline(X: np.ndarray, names: list[str], ids: list[str], truth: list[dict[str, Any]] | None,
              rate: float) -> dict[str, Any]:
    """Robust z-score baseline on the same features, calibrated exactly like the forest."""
    from engine.anomaly.evaluate import ZScoreBaseline

    base = ZScoreBaseline.fit(X, names)
    threshold, calibration = _calibrate(base.score(X), ids, truth, rate)
    return {**base.to_json(), "threshold": threshold, "calibration": calibration}


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
    threshold, calibration = _calibrate(risk, ids, truth, config.target_alert_rate)
    baseline = _baseline(X, fs.names, ids, truth, config.target_alert_rate)
    save_forest(forest, root, feature_names=fs.names, created_at=created_at)
    training = {
        "model": fs.model,
        "threshold": threshold,
        "calibration": {**calibration, "observed_alert_rate": float((risk >= threshold).mean())},
        "baseline": baseline,
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
