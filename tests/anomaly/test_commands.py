"""`hongdun models status` and `hongdun models evaluate` from the command line."""
from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from engine.anomaly.train import TrainConfig, train_model
from engine.cli import main

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, small_stream):
    tmp = tmp_path_factory.mktemp("cmd")
    events, truth = tmp / "events.jsonl", tmp / "truth.jsonl"
    events.write_bytes(small_stream[0])
    truth.write_bytes(small_stream[1])
    labels = [orjson.loads(l) for l in small_stream[1].splitlines() if l.strip()]
    root = tmp / "models"
    for name in ("listing-price", "merchant-complaints"):
        (root / name).mkdir(parents=True)
        shutil.copy(ROOT / "models" / name / "features.yaml", root / name / "features.yaml")
        train_model(root / name, events, created_at="2026-11-26T00:00:00+00:00", truth=labels,
                    config=TrainConfig(n_estimators=20))
    return root, events, truth


def test_status_shows_files_training_threshold_and_drift(models_dir) -> None:
    root, events, _ = models_dir
    res = CliRunner().invoke(main, ["models", "status", "--models", str(root), "--events", str(events)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "== listing-price" in out and "== merchant-complaints" in out
    assert out.count("forest.npz       ok") == 2 and "load check       ok" in out
    assert "threshold" in out and "target false-alarm rate" in out
    # the evaluation day is the training day: every feature is stable
    assert "price_vs_category_mean" in out and "drift over" in out
    drift_lines = [l for l in out.splitlines() if l.startswith("    ") and l.split()[0] not in ("feature",)]
    assert len(drift_lines) == 12 and all(l.rstrip().endswith("stable") for l in drift_lines), out  # 6 + 6 features


def test_status_reports_a_tampered_file_and_fails(models_dir, tmp_path: Path) -> None:
    root, _, _ = models_dir
    copy = tmp_path / "models"
    shutil.copytree(root, copy)
    blob = bytearray((copy / "listing-price" / "forest.npz").read_bytes())
    blob[-10] ^= 0xFF
    (copy / "listing-price" / "forest.npz").write_bytes(bytes(blob))
    res = CliRunner().invoke(main, ["models", "status", "--models", str(copy)])
    assert res.exit_code == 1
    assert "forest.npz       sha256 mismatch" in res.output and "refused" in res.output
    assert "== merchant-complaints" in res.output  # the other model is still shown


def test_evaluate_writes_table_report_picture_and_json(models_dir, tmp_path: Path) -> None:
    root, events, truth = models_dir
    report, pic, js = tmp_path / "r.md", tmp_path / "p.svg", tmp_path / "m.json"
    res = CliRunner().invoke(main, ["models", "evaluate", "--model", "listing-price", "--models", str(root),
                                    "--events", str(events), "--truth", str(truth), "--report", str(report),
                                    "--picture", str(pic), "--json", str(js)])
    assert res.exit_code == 0, res.output
    assert "| isolation forest |" in res.output and "| robust z baseline |" in res.output
    assert "(p.svg)" in report.read_text(encoding="utf-8")
    assert pic.read_text(encoding="utf-8").startswith("<svg")
    doc = orjson.loads(js.read_bytes())
    assert doc["model"] == "listing_price" and doc["forest"]["roc_auc"] is not None
    bad = CliRunner().invoke(main, ["models", "evaluate", "--model", "nope", "--models", str(root),
                                    "--events", str(events), "--truth", str(truth)])
    assert bad.exit_code == 1 and "nope" in bad.output
