"""PSI per feature: zero on the training distribution, large under a shift, bins hold tied mass."""
from __future__ import annotations

import math

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from engine.anomaly.drift import EPSILON, DriftMonitor, bin_counts, psi, psi_edges, verdict
from engine.anomaly.train import QUANTILES, _distributions
from engine.metrics import Metrics

NAMES = ["price", "ratio", "flag"]


def _training(rng: np.random.Generator, n: int = 20_000) -> np.ndarray:
    X = np.column_stack([rng.lognormal(3, 0.5, n), np.ones(n), rng.integers(0, 2, n).astype(float)])
    X[: n // 20, 1] = rng.uniform(1.0, 2.0, n // 20)  # a tie-heavy feature: 95 % exactly 1.0
    X[: n // 50, 0] = np.nan
    return X


def test_bins_are_right_closed_with_a_null_bin() -> None:
    counts = bin_counts(np.array([0.5, 1.0, 1.5, 2.0, 9.0, np.nan]), [1.0, 2.0])
    assert counts.tolist() == [2, 2, 1, 1]  # (-inf, 1], (1, 2], (2, inf), null
    assert psi_edges([1.0, 1.0, 2.0, float("nan"), 0.5]) == [0.5, 1.0, 2.0]


def test_psi_is_small_on_the_same_distribution_and_large_under_a_shift() -> None:
    rng = np.random.default_rng(0)
    X = _training(rng)
    dist = _distributions(X, NAMES)
    same = DriftMonitor(NAMES, dist)
    for chunk in np.array_split(_training(np.random.default_rng(1)), 7):  # batches accumulate
        same.update(chunk)
    report = same.report()
    assert same.rows == 20_000
    assert all(d.psi < 0.01 and d.verdict == "stable" for d in report), report

    shifted = _training(np.random.default_rng(2))
    shifted[:, 0] *= 1.6          # prices up 60 %
    shifted[:4000, 1] = 1.5       # the tied feature spreads
    shifted[:, 2] = np.nan        # the flag goes missing
    drift = DriftMonitor(NAMES, dist)
    drift.update(shifted)
    by = {d.feature: d for d in drift.report()}
    assert by["price"].psi > 0.25 and by["price"].verdict == "drift"
    assert by["ratio"].psi > 0.25
    assert by["flag"].null_share == 1.0 and by["flag"].psi > 5  # everything in a bin training never saw


def test_small_batches_held_then_binned_report_what_one_big_batch_does() -> None:
    dist = _distributions(_training(np.random.default_rng(0)), NAMES)
    live = _training(np.random.default_rng(3), n=5_000)
    live[:, 0] *= 1.3
    whole = DriftMonitor(NAMES, dist)
    whole.update(live)
    held = DriftMonitor(NAMES, dist)
    buf = np.empty((25, 3))
    for start in range(0, 5_000, 25):  # pipeline-sized batches, the caller's buffer reused each time
        buf[:] = live[start : start + 25]
        held.update(buf)
        assert held.rows == start + 25
    assert [(d.psi, d.null_share, d.rows) for d in held.report()] == [(d.psi, d.null_share, d.rows) for d in whole.report()]
    held.update(live[:7])  # a reading after a few more rows includes them
    assert held.report()[0].rows == 5_007


def test_tied_mass_is_kept_in_the_training_shares() -> None:
    X = _training(np.random.default_rng(0))
    spec = _distributions(X, NAMES)["ratio"]["psi"]
    assert spec["shares"][0] == pytest.approx(0.95, abs=0.001)  # (-inf, 1.0] holds every exact 1.0
    assert sum(spec["shares"]) == pytest.approx(1.0)
    assert len(spec["shares"]) == len(spec["edges"]) + 2
    assert len(spec["edges"]) < len(QUANTILES)


def test_psi_formula_epsilon_and_verdicts() -> None:
    e = [0.5, 0.5, 0.0]
    assert psi(e, [50, 50, 0]) == pytest.approx(0.0, abs=1e-9)
    a = np.array([0.25, 0.75, 0.0])
    want = float(np.sum((np.maximum(a, EPSILON) - np.maximum(e, EPSILON)) * np.log(np.maximum(a, EPSILON) / np.maximum(e, EPSILON))))
    assert psi(e, [25, 75, 0]) == pytest.approx(want)
    assert math.isnan(psi(e, [0, 0, 0]))
    with pytest.raises(ValueError, match="bins"):
        psi(e, [1, 2])
    assert [verdict(v) for v in (0.05, 0.1, 0.2, 0.25, 0.3)] == ["stable", "watch", "watch", "watch", "drift"]
    assert verdict(0.5, rows=10) == "too few rows"


def test_monitor_refuses_old_training_files_and_feeds_the_gauge() -> None:
    with pytest.raises(ValueError, match="'price' has no PSI bins"):
        DriftMonitor(["price"], {"price": {"quantiles": {}}}, source="models/x/training.json")
    dist = _distributions(_training(np.random.default_rng(0)), NAMES)
    mon = DriftMonitor(NAMES, dist)
    with pytest.raises(ValueError, match="shape"):
        mon.update(np.zeros((3, 2)))
    mon.update(_training(np.random.default_rng(5))[:500])
    metrics = Metrics(CollectorRegistry())
    metrics.set_model_psi("listing_price", mon.psi_by_feature())
    got = metrics.registry.get_sample_value("hongdun_model_feature_psi", {"model": "listing_price", "feature": "price"})
    assert got == pytest.approx(mon.psi_by_feature()["price"])
