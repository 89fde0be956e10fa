"""Model artifacts: round trip, and refusal of anything tampered, mismatched or pickled."""
from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import numpy as np
import orjson
import pytest
from sklearn.ensemble import IsolationForest

from engine.anomaly.artifact import FOREST_FILE, MANIFEST_FILE, load_forest, save_forest
from engine.anomaly.forest import CompiledForest
from engine.errors import ModelError

FEATURES = ["price_z", "orders_1h", "refund_rate", "views_per_order", "new_listing"]
CREATED = "2026-11-26T04:00:00Z"


@pytest.fixture(scope="module")
def fitted() -> tuple[IsolationForest, CompiledForest, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, len(FEATURES)))
    model = IsolationForest(n_estimators=25, max_features=0.6, contamination=0.05, random_state=0).fit(X)
    probe = rng.normal(size=(300, len(FEATURES))) * 2
    return model, CompiledForest.from_sklearn(model), probe


@pytest.fixture()
def saved(tmp_path: Path, fitted) -> Path:
    save_forest(fitted[1], tmp_path / "m", feature_names=FEATURES, created_at=CREATED)
    return tmp_path / "m"


def _manifest(folder: Path) -> dict:
    return orjson.loads((folder / MANIFEST_FILE).read_bytes())


def _write_manifest(folder: Path, doc: dict) -> None:
    (folder / MANIFEST_FILE).write_bytes(orjson.dumps(doc))


def _replace_forest(folder: Path, data: bytes) -> None:
    """Put new bytes in forest.npz *and* fix the manifest hash, so only the content check can refuse it."""
    (folder / FOREST_FILE).write_bytes(data)
    doc = _manifest(folder)
    doc["sha256"][FOREST_FILE] = hashlib.sha256(data).hexdigest()
    _write_manifest(folder, doc)


def test_round_trip_identical_scores(saved: Path, fitted):
    model, forest, probe = fitted
    loaded = load_forest(saved, FEATURES)
    np.testing.assert_array_equal(loaded.score_samples(probe), forest.score_samples(probe))
    np.testing.assert_array_equal(loaded.decision_function(probe), forest.decision_function(probe))
    np.testing.assert_allclose(loaded.score_samples(probe), model.score_samples(probe), rtol=0, atol=1e-9)
    assert loaded.offset_ == forest.offset_ and loaded.max_samples_ == forest.max_samples_


def test_manifest_contents(saved: Path):
    doc = _manifest(saved)
    assert doc["format"] == "hongdun.isolation_forest" and doc["version"] == 1
    assert doc["feature_names"] == FEATURES and doc["n_features"] == len(FEATURES)
    assert doc["created_at"] == CREATED
    assert set(doc["libraries"]) >= {"numpy", "sklearn"}
    assert doc["sha256"][FOREST_FILE] == hashlib.sha256((saved / FOREST_FILE).read_bytes()).hexdigest()


def test_flipped_byte_refused_naming_file_and_hashes(saved: Path):
    path = saved / FOREST_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        load_forest(saved, FEATURES)
    msg = str(err.value)
    assert FOREST_FILE in msg and "sha256 mismatch" in msg
    assert err.value.location.file.endswith(FOREST_FILE)
    assert _manifest(saved)["sha256"][FOREST_FILE] in msg
    assert hashlib.sha256(bytes(data)).hexdigest() in msg


def test_feature_order_edited_refused(saved: Path):
    doc = _manifest(saved)
    doc["feature_names"][0], doc["feature_names"][1] = doc["feature_names"][1], doc["feature_names"][0]
    _write_manifest(saved, doc)
    with pytest.raises(ModelError, match="order differs") as err:
        load_forest(saved, FEATURES)
    assert "position 0" in str(err.value) and "'orders_1h'" in str(err.value)
    assert err.value.location.file.endswith(MANIFEST_FILE)


def test_feature_names_differ_refused(saved: Path):
    running = FEATURES[:-1] + ["brand_new_feature"]
    with pytest.raises(ModelError, match="brand_new_feature") as err:
        load_forest(saved, running)
    assert "new_listing" in str(err.value)


def test_pickle_renamed_to_npz_refused(saved: Path, fitted):
    _replace_forest(saved, pickle.dumps({"feature": fitted[1].feature_}))
    with pytest.raises(ModelError, match="refused") as err:
        load_forest(saved, FEATURES)
    assert err.value.location.file.endswith(FOREST_FILE)
    assert "pickle" in str(err.value).lower()


def test_npz_with_object_array_refused(saved: Path, fitted):
    f = fitted[1]
    buf = io.BytesIO()
    np.savez(
        buf,
        feature=f.feature_, threshold=f.threshold_, children=f.children_, missing_left=f.missing_left_,
        leaf_value=f.leaf_value_, roots=np.array([object()] * 3, dtype=object), max_depth=np.int64(f.max_depth_),
        offset=np.float64(f.offset_), max_samples=np.int64(f.max_samples_), n_features=np.int64(f.n_features_in_),
    )
    _replace_forest(saved, buf.getvalue())
    with pytest.raises(ModelError, match="refused") as err:
        load_forest(saved, FEATURES)
    assert err.value.location.file.endswith(FOREST_FILE)


def test_npz_with_wrong_arrays_refused(saved: Path):
    buf = io.BytesIO()
    np.savez(buf, something=np.zeros(3))
    _replace_forest(saved, buf.getvalue())
    with pytest.raises(ModelError, match="arrays are"):
        load_forest(saved, FEATURES)


def test_npz_with_broken_trees_refused(saved: Path, fitted):
    f = fitted[1]
    buf = io.BytesIO()
    np.savez(
        buf,
        feature=f.feature_, threshold=f.threshold_, children=np.full_like(f.children_, 10**9),
        missing_left=f.missing_left_, leaf_value=f.leaf_value_, roots=f.roots_, max_depth=np.int64(f.max_depth_),
        offset=np.float64(f.offset_), max_samples=np.int64(f.max_samples_), n_features=np.int64(f.n_features_in_),
    )
    _replace_forest(saved, buf.getvalue())
    with pytest.raises(ModelError, match="valid forest"):
        load_forest(saved, FEATURES)


def test_not_a_zip_refused(saved: Path):
    _replace_forest(saved, b"\x93NUMPY garbage")
    with pytest.raises(ModelError) as err:
        load_forest(saved, FEATURES)
    assert err.value.location.file.endswith(FOREST_FILE)


def test_missing_manifest_refused(saved: Path):
    (saved / MANIFEST_FILE).unlink()
    with pytest.raises(ModelError, match="manifest is missing") as err:
        load_forest(saved, FEATURES)
    assert err.value.location.file.endswith(MANIFEST_FILE)


def test_missing_forest_refused(saved: Path):
    (saved / FOREST_FILE).unlink()
    with pytest.raises(ModelError, match="forest.npz is missing") as err:
        load_forest(saved, FEATURES)
    assert err.value.location.file.endswith(FOREST_FILE)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(version=2), "unknown format version"),
        (lambda d: d.update(version="1"), "unknown format version"),
        (lambda d: d.update(format="something-else"), "unknown model format"),
        (lambda d: d.update(n_features=4), "n_features"),
        (lambda d: d.update(feature_names="price_z"), "feature_names"),
        (lambda d: d.update(sha256={}), "does not list forest.npz"),
        (lambda d: d["sha256"].update({"../secret": "00"}), "invalid file name"),
        (lambda d: d["sha256"].update({"extra.bin": "00"}), "extra.bin is missing"),
    ],
)
def test_bad_manifest_fields_refused(saved: Path, change, message):
    doc = _manifest(saved)
    change(doc)
    _write_manifest(saved, doc)
    with pytest.raises(ModelError, match=message):
        load_forest(saved, FEATURES)


@pytest.mark.parametrize("content", [b"[1, 2]", b'"manifest"', b"null", b"{not json"])
def test_non_object_or_invalid_manifest_refused(saved: Path, content: bytes):
    (saved / MANIFEST_FILE).write_bytes(content)
    with pytest.raises(ModelError) as err:
        load_forest(saved, FEATURES)
    assert err.value.location.file.endswith(MANIFEST_FILE)


def test_save_checks_feature_names(tmp_path: Path, fitted):
    with pytest.raises(ValueError):
        save_forest(fitted[1], tmp_path, feature_names=FEATURES[:-1], created_at=CREATED)
    with pytest.raises(ValueError):
        save_forest(fitted[1], tmp_path, feature_names=FEATURES[:-1] + [FEATURES[0]], created_at=CREATED)
    with pytest.raises(ValueError):
        save_forest(fitted[1], tmp_path, feature_names=FEATURES, created_at="")
