"""Why did the forest score this event high: per-feature contributions, cheap enough per alert.

Method (path attribution by isolation mass). An isolation forest scores a row
by its mean path length ``E[h]``; the risk is ``2 ** (-E[h] / c(psi))``, ``c(psi)``
being the expected path length of a normal row. In tree ``t`` the row saves
``delta_t = c(psi) - h_t`` levels (negative when it lands deeper than usual).
That saving is shared among the splits on the row's path in proportion to how
much of the tree's training sub-sample each split cut away from the row:
the split from node ``u`` to child ``v`` gets weight ``ln(n_u / n_v)``, ``n`` the
training rows that reached the node. These weights telescope: along a path
they sum to ``ln(n_root / n_leaf)``, so each tree's ``delta_t`` is split
exactly, and a feature's contribution is the sum of its splits' shares,
averaged over trees. Hence, by construction::

    sum over features of contribution == c(psi) - E[h]   (trees whose root is a leaf aside)

i.e. contributions are in *levels of depth saved* and add up to the quantity the
risk is a monotone function of. A split that sends the row into a branch with
2 of 200 rows gets ``ln 100 ≈ 4.6`` shares; a split near the root that halves
the sample (usually chosen on an irrelevant feature) gets ``ln 2 ≈ 0.7``.
This is close in spirit to DIFFI (Carletti et al., 2020) and to the
depth-based attribution of tree SHAP for isolation forests, but costs one walk
(the same level-by-level gathers as scoring), with no background data set.

The per-node training counts ``n`` are not stored in the artifact; they are
recovered from it: a leaf's value is ``edges from the root + c(n_leaf)`` and ``c`` is
strictly increasing on the integers, so ``n_leaf`` is read back exactly, and an
inner node's count is the sum of its children's. A forest whose leaf values do
not invert to integer counts is refused.

Limits: it is an attribution of the *forest's* decision, not a causal
statement; features that are split on together share credit (two correlated
features split the saving between them); the ``c(n_leaf) - 1`` term of a
leaf is attributed to the path's splits like the rest; and for rows scored as
normal most contributions are negative and mean little. The typical range
shown next to each value is the training 5th-95th percentile.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from engine.anomaly.forest import CompiledForest, average_path_length

__all__ = ["FeatureContribution", "contributions", "explain", "node_samples"]

_CACHE: "weakref.WeakKeyDictionary[CompiledForest, tuple[np.ndarray, np.ndarray]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class FeatureContribution:
    """One feature's part in a score, with its value and the training's typical range."""

    name: str
    value: float | None
    contribution: float
    typical_low: float | None
    typical_high: float | None
    unit: str = ""

    def describe(self) -> str:
        """E.g. ``likes_per_commenter = 6607 (typical 21.5-61.3 likes per commenter), +2.41 levels``."""
        val = "null" if self.value is None else f"{self.value:.4g}"
        rng = "" if self.typical_low is None else f" (typical {self.typical_low:.4g}–{self.typical_high:.4g}{' ' + self.unit if self.unit else ''})"
        return f"{self.name} = {val}{rng}, {self.contribution:+.2f} levels"


def node_samples(forest: CompiledForest) -> tuple[np.ndarray, np.ndarray]:
    """(training rows per node, ln(rows) per node) recovered from the leaf values; cached per forest."""
    hit = _CACHE.get(forest)
    if hit is not None:
        return hit
    n_nodes = forest.feature_.shape[0]
    ids = np.arange(n_nodes)
    children = forest.children_
    is_leaf = (children[:, 0] == ids) & (children[:, 1] == ids)
    depth = np.full(n_nodes, -1, dtype=np.int64)
    frontier = forest.roots_
    depth[frontier] = 0
    levels = [frontier]
    for d in range(1, forest.max_depth_ + 1):
        kids = children[frontier][~is_leaf[frontier]].reshape(-1)
        if kids.size == 0:
            break
        depth[kids] = d
        levels.append(kids)
        frontier = kids
    if (depth < 0).any():
        raise ValueError("forest has nodes unreachable from any root")
    psi = max(forest.max_samples_, 1)
    table = average_path_length(np.arange(1, psi + 1, dtype=np.float64))
    # leaf_value = (edges from the root) + c(n_leaf): sklearn counts the root as depth 1, then subtracts 1.
    want = forest.leaf_value_[is_leaf] - depth[is_leaf]
    pos = np.clip(np.searchsorted(table, want - 1e-9), 0, psi - 1)
    if not np.allclose(table[pos], want, atol=1e-6):
        raise ValueError("leaf values do not correspond to whole training-row counts; cannot attribute")
    n = np.zeros(n_nodes, dtype=np.float64)
    n[is_leaf] = pos + 1
    for level in reversed(levels):
        inner = level[~is_leaf[level]]
        n[inner] = n[children[inner, 0]] + n[children[inner, 1]]
    out = (n, np.log(n))
    _CACHE[forest] = out
    return out


def contributions(forest: CompiledForest, X: Any) -> np.ndarray:
    """Contribution of every feature to every row's depth saving: shape ``(n_rows, n_features)``.

    Rows sum to ``c(psi) - E[h(x)]`` over the trees whose root is not a leaf
    (all trees of any forest fitted on more than one distinct row).
    """
    X32 = forest._check_X(X)
    n_rows, d = X32.shape
    _, logn = node_samples(forest)
    c_psi = float(average_path_length(np.array([forest.max_samples_]))[0])
    n_trees = forest.n_estimators_
    out = np.zeros((n_rows, d), dtype=np.float64)
    x64 = X32.astype(np.float64)
    for start in range(0, n_rows, max(1, forest._block_rows)):
        xb = x64[start : start + forest._block_rows]
        nb = xb.shape[0]
        node = np.broadcast_to(forest.roots_, (nb, n_trees)).copy()
        rows = np.arange(nb)[:, None]
        feats, gains = [], []
        for _ in range(forest.max_depth_):
            f = forest.feature_[node]
            x = xb[rows, f]
            left = x <= forest.threshold_[node]
            nan = np.isnan(x)
            if nan.any():
                left = np.where(nan, forest.missing_left_[node], left)
            child = np.where(left, forest.children_[node, 0], forest.children_[node, 1])
            feats.append(f)
            gains.append(logn[node] - logn[child])  # 0 once the walk sits on a leaf
            node = child
        total = logn[forest.roots_][None, :] - logn[node]  # ln(n_root / n_leaf) per (row, tree)
        delta = c_psi - forest.leaf_value_[node]
        scale = np.divide(delta, total, out=np.zeros_like(delta), where=total > 0) / n_trees
        flat_rows = (np.arange(nb) * d)[:, None]
        acc = np.zeros(nb * d, dtype=np.float64)
        for f, g in zip(feats, gains):
            acc += np.bincount((flat_rows + f).reshape(-1), weights=(g * scale).reshape(-1), minlength=nb * d)
        out[start : start + nb] = acc.reshape(nb, d)
    return out


def _typical(stats: Mapping[str, Any] | None, name: str) -> tuple[float | None, float | None]:
    q = ((stats or {}).get(name) or {}).get("quantiles") or {}
    lo, hi = q.get("0.05"), q.get("0.95")
    return (None, None) if lo is None or hi is None else (float(lo), float(hi))


def explain(forest: CompiledForest, X: Any, feature_names: Sequence[str], training_stats: Mapping[str, Any] | None,
            top: int = 3, units: Mapping[str, str] | None = None) -> list[list[FeatureContribution]]:
    """The ``top`` features by contribution for every row of ``X`` (a batch; one row is a batch of 1).

    ``training_stats`` is the ``distributions`` block of ``training.json``: its
    5 % and 95 % quantiles give the typical range. ``units`` maps feature name
    to unit (``FeatureSet`` units). Features are ordered by contribution,
    highest first; ties keep column order.
    """
    names = list(feature_names)
    if len(names) != forest.n_features_in_:
        raise ValueError(f"{len(names)} feature names for a forest of {forest.n_features_in_} features")
    if top < 1:
        raise ValueError("top must be >= 1")
    X64 = np.asarray(X, dtype=np.float64)
    contrib = contributions(forest, X64)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    ranges = [_typical(training_stats, n) for n in names]
    units = units or {}
    out: list[list[FeatureContribution]] = []
    for i, cols in enumerate(order):
        row = []
        for j in cols.tolist():
            v = float(X64[i, j])
            lo, hi = ranges[j]
            row.append(FeatureContribution(names[j], None if math.isnan(v) else v, float(contrib[i, j]), lo, hi,
                                           units.get(names[j], "")))
        out.append(row)
    return out
