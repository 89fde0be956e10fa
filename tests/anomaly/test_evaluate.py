"""Evaluation: metrics match sklearn on known labels; rule-incident events are set aside; baseline is robust."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from engine.anomaly.evaluate import (ZScoreBaseline, evaluate_model, evaluate_scores, format_table, label_events,
                                     markdown_report, robust_scale, score_histogram_svg)
from engine.anomaly.train import TrainConfig, train_model

ROOT = Path(__file__).parents[2]


def test_labels_metrics_and_per_kind_numbers() -> None:
    truth = [{"label": "anomaly", "kind": "k1", "event_ids": ["a1", "a2"]},
             {"label": "anomaly", "kind": "k2", "event_ids": ["b1"]},
             {"label": "violation", "kind": "v", "event_ids": ["r1"]}]
    ids = ["a1", "a2", "b1", "r1", "n1", "n2", "n3", "n4"]
    labels = label_events(ids, truth)
    assert labels.tolist() == ["k1", "k1", "k2", "rule", "normal", "normal", "normal", "normal"]
    scores = np.array([0.9, 0.4, 0.7, 0.95, 0.8, 0.3, 0.2, 0.1])
    m = evaluate_scores("s", scores, 0.65, labels)
    keep = [0, 1, 2, 4, 5, 6, 7]
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    assert m.roc_auc == pytest.approx(roc_auc_score(y, scores[keep]))
    assert m.pr_auc == pytest.approx(average_precision_score(y, scores[keep]))
    assert m.pr_auc_all_negatives == pytest.approx(average_precision_score([1, 1, 1, 0, 0, 0, 0, 0], scores))
    # flagged: a1 (0.9), b1 (0.7), r1 (0.95, rule), n1 (0.8)
    assert (m.flagged, m.flagged_anomaly, m.flagged_normal, m.flagged_rule_incidents) == (4, 2, 1, 1)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3)
    assert m.per_kind["k1"]["recall"] == 0.5 and m.per_kind["k2"]["recall"] == 1.0
    assert m.per_kind["k2"]["roc_auc"] == pytest.approx(roc_auc_score([1, 0, 0, 0, 0], [0.7, 0.8, 0.3, 0.2, 0.1]))


def test_robust_z_baseline_scale_fallbacks_and_max() -> None:
    assert robust_scale(np.array([1.0, 2.0, 3.0, 4.0, 100.0])) == pytest.approx(1.4826 * 1.0)
    tied = np.array([1.0] * 8 + [2.0, 5.0])  # MAD 0 -> 1.2533 * mean |x - median|
    assert robust_scale(tied) == pytest.approx(1.2533 * 0.5)
    assert robust_scale(np.ones(5)) is None and robust_scale(np.array([])) is None
    X = np.column_stack([np.arange(10.0), np.ones(10), [np.nan] * 10])
    base = ZScoreBaseline.fit(X, ["a", "const", "null"])
    assert np.isnan(base.scale[1]) and np.isnan(base.scale[2])
    z = base.score(np.array([[4.5, 99.0, 3.0], [np.nan, 1.0, np.nan]]))
    assert z[0] == 0.0 and z[1] == 0.0  # the median of a; ignored columns never count
    far = base.score(np.array([[4.5 + 3 * base.scale[0], 1.0, np.nan]]))
    assert far[0] == pytest.approx(3.0)
    again = ZScoreBaseline.from_json(orjson.loads(orjson.dumps(base.to_json())), ["a", "const", "null"])
    np.testing.assert_array_equal(again.score(X), base.score(X))
    with pytest.raises(ValueError, match="differ"):
        ZScoreBaseline.from_json(base.to_json(), ["a", "b", "c"])


@pytest.fixture(scope="module")
def listing_model(tmp_path_factory, small_stream):
    tmp = tmp_path_factory.mktemp("eval")
    folder = tmp / "listing-price"
    folder.mkdir()
    shutil.copy(ROOT / "models" / "listing-price" / "features.yaml", folder / "features.yaml")
    events, truth_file = tmp / "events.jsonl", tmp / "truth.jsonl"
    events.write_bytes(small_stream[0])
    truth_file.write_bytes(small_stream[1])
    truth = [orjson.loads(l) for l in small_stream[1].splitlines() if l.strip()]
    summary = train_model(folder, events, created_at="2026-11-26T00:00:00+00:00", truth=truth,
                          config=TrainConfig(n_estimators=30, target_alert_rate=0.02))
    return folder, events, truth_file, truth, summary


def test_evaluate_model_on_a_small_stream(listing_model) -> None:
    folder, events, truth_file, truth, summary = listing_model
    assert summary["calibration"]["method"].startswith("target false-alarm rate")
    assert summary["baseline"]["threshold"] > 0
    ev = evaluate_model(folder, events, truth)
    assert ev.positives == sum(ev.positives_by_kind.values()) > 0
    assert ev.rows == ev.positives + ev.normal + ev.rule_incident_rows
    assert set(ev.positives_by_kind) <= {"price_small_steps", "price_far_from_category"}
    # the training day is the evaluation day here, so the stored training metrics must agree
    assert ev.forest.roc_auc == pytest.approx(summary["metrics"]["roc_auc"])
    assert ev.forest.recall == pytest.approx(summary["metrics"]["recall_at_threshold"])
    normal_flagged = int(((ev.scores["forest"] >= summary["threshold"]) & (ev.kinds == "normal")).sum())
    assert normal_flagged == ev.forest.flagged_normal
    assert normal_flagged <= int(np.ceil(0.02 * ev.normal)) + 1  # calibrated false-alarm rate on normal events
    table = format_table(ev)
    assert "robust z baseline" in table and "price_small_steps" in table
    report = markdown_report(ev, events_file="e.jsonl", truth_file="t.jsonl", picture="x.svg")
    assert report.startswith("## listing_price") and "![score distributions" in report
    svg = score_histogram_svg(ev)
    assert svg.startswith("<svg") and svg.count("<rect") > 40


def test_an_old_training_file_without_a_baseline_is_refused(listing_model, tmp_path: Path) -> None:
    folder, events, _, truth, _ = listing_model
    copy = tmp_path / "m"
    shutil.copytree(folder, copy)
    doc = orjson.loads((copy / "training.json").read_bytes())
    del doc["baseline"]
    data = orjson.dumps(doc)
    (copy / "training.json").write_bytes(data)
    manifest = orjson.loads((copy / "manifest.json").read_bytes())
    import hashlib
    manifest["sha256"]["training.json"] = hashlib.sha256(data).hexdigest()
    (copy / "manifest.json").write_bytes(orjson.dumps(manifest))
    with pytest.raises(ValueError, match="no 'baseline' block"):
        evaluate_model(copy, events, truth)
