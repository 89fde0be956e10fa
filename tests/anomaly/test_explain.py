"""Explanations: contributions add up to the depth saving, and a far-off feature comes first."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from engine.anomaly.explain import contributions, explain, node_samples
from engine.anomaly.forest import CompiledForest, average_path_length

NAMES = ["a", "b", "c", "d", "e"]


def _forest(seed: int = 0, n: int = 3000, **params) -> tuple[CompiledForest, IsolationForest, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(NAMES))) * np.array([1.0, 10.0, 0.1, 5.0, 2.0])
    X[:20, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = IsolationForest(n_estimators=60, random_state=seed, **params).fit(X)
    return CompiledForest.from_sklearn(model), model, X


def _stats(X: np.ndarray) -> dict:
    return {n: {"quantiles": {"0.05": float(np.nanquantile(X[:, j], 0.05)), "0.95": float(np.nanquantile(X[:, j], 0.95))}}
            for j, n in enumerate(NAMES)}


@pytest.mark.parametrize("params", [{}, {"max_samples": 100}, {"max_features": 0.6}])
def test_contributions_sum_to_the_depth_saving(params) -> None:
    forest, model, X = _forest(**params)
    Q = X[:300].copy()
    Q[5, 3] = 80.0
    Q[6, 1] = np.nan
    c = contributions(forest, Q)
    c_psi = float(average_path_length(np.array([forest.max_samples_]))[0])
    mean_depth = -np.log2(model.score_samples(Q) * -1.0) * c_psi
    np.testing.assert_allclose(c.sum(axis=1), c_psi - mean_depth, atol=1e-9)


def test_node_counts_are_recovered_from_the_artifact_arrays() -> None:
    forest, model, _ = _forest()
    n, _ = node_samples(forest)
    want = np.concatenate([e.tree_.n_node_samples for e in model.estimators_])
    np.testing.assert_array_equal(n, want)


@pytest.mark.parametrize("col", range(len(NAMES)))
def test_a_feature_pushed_far_outside_training_is_the_top_contributor(col: int) -> None:
    forest, _, X = _forest(seed=3)
    stats = _stats(X)
    rows = X[100:108].copy()
    rows[:, col] = np.nanmax(X[:, col]) + 50 * np.nanstd(X[:, col])
    batch = explain(forest, rows, NAMES, stats, top=3, units={"a": "yuan"})
    assert len(batch) == 8
    for expl in batch:
        assert expl[0].name == NAMES[col]
        assert expl[0].contribution > 0
        assert [e.contribution for e in expl] == sorted((e.contribution for e in expl), reverse=True)
    single = explain(forest, rows[:1], NAMES, stats, top=3)
    assert [e.name for e in single[0]] == [e.name for e in batch[0]]
    first = single[0][0]
    assert first.typical_low == pytest.approx(stats[NAMES[col]]["quantiles"]["0.05"])
    assert first.typical_high == pytest.approx(stats[NAMES[col]]["quantiles"]["0.95"])
    assert first.value == pytest.approx(float(np.float32(rows[0, col])), rel=1e-6)


def test_batch_and_single_rows_agree_and_bad_input_is_refused() -> None:
    forest, _, X = _forest()
    Q = X[:50]
    together = contributions(forest, Q)
    one_by_one = np.vstack([contributions(forest, Q[i : i + 1]) for i in range(len(Q))])
    np.testing.assert_allclose(together, one_by_one, atol=1e-12)
    with pytest.raises(ValueError, match="feature names"):
        explain(forest, Q, NAMES[:3], None)
    with pytest.raises(ValueError, match="features"):
        contributions(forest, Q[:, :3])
    out = explain(forest, Q[:2], NAMES, None, top=2)
    assert all(len(r) == 2 and r[0].typical_low is None for r in out)
    assert "levels" in out[0][0].describe()
