"""Training writes a verifiable artifact whose scores match the model it fitted."""
from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from engine.anomaly.artifact import load_forest
from engine.anomaly.features import load_feature_set
from engine.anomaly.train import TrainConfig, feature_matrix, train_model
from engine.errors import ModelError

ROOT = Path(__file__).parents[2]


@pytest.fixture()
def trained(tmp_path: Path, small_stream):
    folder = tmp_path / "live-traffic"
    folder.mkdir()
    shutil.copy(ROOT / "models" / "live-traffic" / "features.yaml", folder / "features.yaml")
    events = tmp_path / "events.jsonl"
    events.write_bytes(small_stream[0])
    truth = [orjson.loads(l) for l in small_stream[1].splitlines() if l.strip()]
    summary = train_model(folder, events, created_at="2026-11-26T00:00:00+00:00", truth=truth,
                          config=TrainConfig(n_estimators=20, target_alert_rate=0.01))
    return folder, events, summary


def test_training_writes_a_checked_artifact(trained) -> None:
    folder, events, summary = trained
    fs = load_feature_set(folder / "features.yaml")
    forest = load_forest(folder, fs.names)
    X, ids, _ = feature_matrix(folder, events.read_bytes().splitlines())
    risk = forest.risk(X)
    assert abs(float((risk >= summary["threshold"]).mean()) - summary["calibration"]["observed_alert_rate"]) < 1e-12
    assert summary["training"]["rows"] == len(X)
    assert set(summary["distributions"]) == set(fs.names)
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert {"forest.npz", "training.json", "features.yaml"} <= set(manifest["sha256"])


def test_tampering_with_threshold_or_features_is_refused(trained) -> None:
    folder, _, _ = trained
    names = load_feature_set(folder / "features.yaml").names
    doc = orjson.loads((folder / "training.json").read_bytes())
    doc["threshold"] = 0.99
    (folder / "training.json").write_bytes(orjson.dumps(doc))
    with pytest.raises(ModelError, match="training.json"):
        load_forest(folder, names)


def test_a_changed_feature_set_is_refused(trained) -> None:
    folder, _, _ = trained
    path = folder / "features.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("unit: fraction", "unit: share", 1), encoding="utf-8")
    with pytest.raises(ModelError, match="features.yaml"):
        load_forest(folder, load_feature_set(path).names)


@pytest.mark.parametrize("folder", sorted(p.parent for p in (ROOT / "models").glob("*/manifest.json")), ids=lambda p: p.name)
def test_shipped_models_load_against_their_feature_sets(folder: Path) -> None:
    fs = load_feature_set(folder / "features.yaml")
    forest = load_forest(folder, fs.names)
    training = orjson.loads((folder / "training.json").read_bytes())
    assert 0 < training["threshold"] <= 1 and training["training"]["rows"] > 1000
    assert forest.n_features_in_ == len(fs.names)


def test_without_labels_the_threshold_is_a_target_alert_rate(tmp_path: Path, small_stream) -> None:
    folder = tmp_path / "listing-price"
    folder.mkdir()
    shutil.copy(ROOT / "models" / "listing-price" / "features.yaml", folder / "features.yaml")
    events = tmp_path / "events.jsonl"
    events.write_bytes(small_stream[0])
    summary = train_model(folder, events, created_at="2026-11-26T00:00:00+00:00",
                          config=TrainConfig(n_estimators=20, target_alert_rate=0.05))
    assert summary["calibration"]["method"] == "target alert rate on the training events"
    assert summary["calibration"]["observed_alert_rate"] == pytest.approx(0.05, abs=0.01)
    assert summary["metrics"] == {}
    dist = summary["distributions"]["price_vs_category_mean"]
    assert dist["median"] == pytest.approx(dist["quantiles"]["0.5"])
    assert sum(dist["psi"]["shares"]) == pytest.approx(1.0)
    assert summary["baseline"]["features"] == load_feature_set(folder / "features.yaml").names
