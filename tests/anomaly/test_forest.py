"""CompiledForest must score exactly as sklearn's IsolationForest (within 1e-9)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.ensemble import IsolationForest

from engine.anomaly.forest import CompiledForest, average_path_length

TOL = 1e-9


def _data(seed: int, n: int = 600, d: int = 6, *, duplicates: bool = False, constant: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 100, size=d)
    if duplicates:
        X[:, 0] = np.round(X[:, 0])  # many ties
        X[: n // 3] = X[0]  # a third of the rows identical
    if constant:
        X[:, 1] = 3.25
        X[:, -1] = 0.0
    return X


def _fit(X: np.ndarray, **params) -> IsolationForest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_samples > n_samples warning
        return IsolationForest(**params).fit(X)


def _assert_same(model: IsolationForest, forest: CompiledForest, X: np.ndarray) -> None:
    np.testing.assert_allclose(forest.score_samples(X), model.score_samples(X), rtol=0, atol=TOL)
    np.testing.assert_allclose(forest.decision_function(X), model.decision_function(X), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_estimators", [1, 10, 100])
@pytest.mark.parametrize("max_samples", [16, "auto"])
@pytest.mark.parametrize("max_features", [1.0, 0.5])
@pytest.mark.parametrize("contamination", ["auto", 0.1])
def test_equal_to_sklearn(seed, n_estimators, max_samples, max_features, contamination):
    X = _data(seed, duplicates=seed == 1, constant=seed == 2)
    model = _fit(
        X,
        n_estimators=n_estimators,
        max_samples=max_samples,
        max_features=max_features,
        contamination=contamination,
        random_state=seed,
    )
    forest = CompiledForest.from_sklearn(model)
    assert forest.offset_ == model.offset_
    assert forest.max_samples_ == model.max_samples_
    assert forest.n_estimators_ == n_estimators
    rng = np.random.default_rng(seed + 100)
    # Unseen points (wider than training), training points, exact duplicates of thresholds' neighbourhoods.
    probe = np.vstack([rng.normal(size=(1000, X.shape[1])) * X.std(axis=0) * 3, X[:200]])
    for batch in (1, 7, 1000):
        _assert_same(model, forest, probe[:batch])
    _assert_same(model, forest, probe)


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_thresholds_exact_float32_boundaries(batch):
    """Values sitting exactly on (float32-rounded) thresholds go the same way as in sklearn."""
    X = _data(5, n=300, d=4)
    model = _fit(X, n_estimators=20, random_state=5)
    forest = CompiledForest.from_sklearn(model)
    rng = np.random.default_rng(7)
    thr = forest.threshold_[np.isfinite(forest.threshold_)]
    feats = forest.feature_[np.isfinite(forest.threshold_)]
    probe = rng.normal(size=(batch, 4)) * X.std(axis=0)
    for i in range(batch):
        k = rng.integers(len(thr))
        t32 = np.float32(thr[k])
        probe[i, feats[k]] = float(rng.choice([t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))]))
    _assert_same(model, forest, probe)


def test_float32_input_and_nan():
    X = _data(3, n=400, d=5)
    model = _fit(X, n_estimators=30, random_state=3)
    forest = CompiledForest.from_sklearn(model)
    probe = np.random.default_rng(4).normal(size=(500, 5)) * X.std(axis=0)
    probe[::3, 2] = np.nan
    probe[::7, 0] = np.nan
    _assert_same(model, forest, probe)
    _assert_same(model, forest, probe[:1])
    _assert_same(model, forest, probe.astype(np.float32))
    np.testing.assert_array_equal(forest.predict(probe), model.predict(probe))


def test_single_training_sample_and_tiny_fits():
    for n in (1, 2, 3):
        X = _data(9, n=n, d=3)
        model = _fit(X, n_estimators=5, random_state=0)
        forest = CompiledForest.from_sklearn(model)
        _assert_same(model, forest, _data(10, n=20, d=3))


def test_risk_is_minus_score_in_unit_interval():
    X = _data(11)
    model = _fit(X, n_estimators=50, random_state=11)
    forest = CompiledForest.from_sklearn(model)
    probe = np.vstack([X[:100], X[:5] * 50])
    risk = forest.risk(probe)
    np.testing.assert_array_equal(risk, -forest.score_samples(probe))
    assert np.all((risk > 0) & (risk <= 1))
    # Far-out points are riskier than training points.
    assert risk[-5:].min() > np.median(risk[:100])


def test_empty_batch_and_bad_width():
    X = _data(12, d=4)
    forest = CompiledForest.from_sklearn(_fit(X, n_estimators=3, random_state=0))
    assert forest.score_samples(np.empty((0, 4))).shape == (0,)
    assert forest.leaves(np.empty((0, 4))).shape == (0, 3)
    with pytest.raises(ValueError, match="features"):
        forest.score_samples(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="2-d"):
        forest.score_samples(np.zeros(4))


def test_average_path_length_matches_sklearn():
    from sklearn.ensemble._iforest import _average_path_length

    n = np.array([0, 1, 2, 3, 4, 10, 255, 256, 1e6])
    np.testing.assert_array_equal(average_path_length(n), _average_path_length(n))


def test_leaves_match_sklearn_apply():
    X = _data(13, d=6)
    model = _fit(X, n_estimators=8, max_features=0.5, random_state=13)
    forest = CompiledForest.from_sklearn(model)
    probe = X[:50]
    leaves = forest.leaves(probe)
    for t, (est, feats) in enumerate(zip(model.estimators_, model.estimators_features_)):
        local = est.apply(probe[:, feats].astype(np.float32))
        np.testing.assert_array_equal(leaves[:, t] - forest.roots_[t], local)


def test_rejects_broken_arrays():
    X = _data(14, d=3)
    f = CompiledForest.from_sklearn(_fit(X, n_estimators=2, random_state=0))
    base = dict(
        feature=f.feature_, threshold=f.threshold_, children=f.children_, missing_left=f.missing_left_,
        leaf_value=f.leaf_value_, roots=f.roots_, max_depth=f.max_depth_, offset=f.offset_,
        max_samples=f.max_samples_, n_features_in=f.n_features_in_,
    )
    CompiledForest(**base)
    cyc = f.children_.copy()
    cyc[1] = [0, 0]  # a node pointing back to the root: never reaches a leaf
    bad = [
        dict(children=np.full_like(f.children_, len(f.feature_))),
        dict(children=cyc),
        dict(feature=np.full_like(f.feature_, 3)),
        dict(roots=np.array([-1])),
        dict(max_depth=f.max_depth_ - 1),
        dict(threshold=f.threshold_[:-1]),
        dict(leaf_value=np.full_like(f.leaf_value_, np.nan)),
    ]
    for change in bad:
        with pytest.raises(ValueError):
            CompiledForest(**{**base, **change})


def test_from_sklearn_rejects_other_objects():
    with pytest.raises(TypeError):
        CompiledForest.from_sklearn(object())
    with pytest.raises(ValueError, match="not fitted"):
        CompiledForest.from_sklearn(IsolationForest())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.integers(1, 4)),
        elements=st.sampled_from([-1e30, -2.5, -1.0, 0.0, 1e-8, 0.5, 1.0, 3.0, 1e30]),
    ),
    seed=st.integers(0, 2**16),
    max_features=st.sampled_from([1.0, 0.5]),
)
def test_equal_to_sklearn_property(X, seed, max_features):
    """Coarse values (many ties, constants, huge magnitudes) still score identically."""
    model = _fit(X, n_estimators=5, max_samples=min(8, X.shape[0]), max_features=max_features, random_state=seed)
    forest = CompiledForest.from_sklearn(model)
    probe = np.vstack([X, np.random.default_rng(seed).choice([-3.0, 0.25, 1.0, 1e31], size=(10, X.shape[1]))])
    _assert_same(model, forest, probe)
