"""A fitted scikit-learn ``IsolationForest`` compiled into flat numpy arrays.

Why: scoring with ``IsolationForest.score_samples`` costs a Python-level loop
over trees plus input validation and joblib dispatch on every call, which
dominates for the small batches a streaming engine scores. :class:`CompiledForest`
packs every tree into one set of node arrays (global node ids, so a tree is
just a root offset) and walks *all samples x all trees* together, one numpy
gather per level. The result equals sklearn's ``score_samples`` to float
rounding (the tests hold it to 1e-9 absolute) because it reproduces each step:

* input is cast to ``float32`` first, as sklearn's ``validate_data`` does, and
  compared (promoted to float64) against the float64 thresholds with ``<=``;
* ``NaN`` goes to the side the tree recorded in ``missing_go_to_left``;
* each leaf's value is ``depth(leaf) + c(n_leaf_samples) - 1`` computed exactly
  as sklearn's ``_parallel_compute_tree_depths`` does, ``c`` being
  ``_average_path_length``;
* per-tree feature subsets (``estimators_features_`` when ``max_features < 1``)
  are folded into the node's feature index, so the walk indexes the full row;
* the normaliser is ``n_trees * c(max_samples_)``, and a zero normaliser
  (a single training sample) gives a score of ``-0.5``, as in sklearn.

The object follows scikit-learn conventions (fitted attributes end in ``_``,
``score_samples`` / ``decision_function`` mean what they mean in sklearn) and
adds :meth:`CompiledForest.risk`, the project's higher-is-riskier score.
It holds only numpy arrays, so it can be stored without pickle
(see :mod:`engine.anomaly.artifact`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CompiledForest", "average_path_length"]

_TREE_LEAF = -1
_BLOCK_PAIRS = 25_600  # (sample, tree) pairs walked at once; 256 rows at 100 trees


def average_path_length(n: np.ndarray | float) -> np.ndarray:
    """``c(n)``: mean path length of an unsuccessful BST search in ``n`` items.

    Same formula and branch points as sklearn's private ``_average_path_length``
    (0 for ``n <= 1``, 1 for ``n == 2``, else ``2(ln(n-1)+gamma) - 2(n-1)/n``);
    re-implemented so the scorer does not depend on a private sklearn name.
    """
    arr = np.asarray(n, dtype=np.float64)
    shape = arr.shape
    arr = arr.reshape(1, -1)
    out = np.zeros(arr.shape)
    mask_1 = arr <= 1
    mask_2 = arr == 2
    rest = ~np.logical_or(mask_1, mask_2)
    out[mask_1] = 0.0
    out[mask_2] = 1.0
    out[rest] = 2.0 * (np.log(arr[rest] - 1.0) + np.euler_gamma) - 2.0 * (arr[rest] - 1.0) / arr[rest]
    return out.reshape(shape)


class CompiledForest:
    """Flat-array isolation forest scorer, numerically equal to sklearn's.

    Fitted attributes (all numpy, nothing else is needed to score):

    ``feature_`` (n_nodes,) intp
        Column of the *full* input row each node tests (0 at leaves).
    ``threshold_`` (n_nodes,) float64
        Split value; a sample goes left when ``x <= threshold``.
    ``children_`` (n_nodes, 2) intp
        Global ids of the left and right child. Leaves point to themselves,
        so extra walk steps past a leaf are no-ops.
    ``missing_left_`` (n_nodes,) bool
        Where ``NaN`` goes at this node (sklearn's ``missing_go_to_left``).
    ``leaf_value_`` (n_nodes,) float64
        Path length credited at a leaf: ``depth + c(n_node_samples) - 1``; 0 elsewhere.
    ``roots_`` (n_trees,) intp
        Global id of each tree's root.
    ``max_depth_`` int
        Deepest leaf over all trees: the number of walk steps.
    ``offset_`` float
        As sklearn: ``decision_function = score_samples - offset_``.
    ``max_samples_`` int
        Sub-sample size each tree was grown on; fixes the normaliser ``c(max_samples_)``.
    ``n_features_in_`` int
        Width of the rows the forest expects.
    """

    def __init__(
        self,
        *,
        feature: np.ndarray,
        threshold: np.ndarray,
        children: np.ndarray,
        missing_left: np.ndarray,
        leaf_value: np.ndarray,
        roots: np.ndarray,
        max_depth: int,
        offset: float,
        max_samples: int,
        n_features_in: int,
    ) -> None:
        """Build from raw arrays and check that they form valid, depth-bounded trees.

        Raises ``ValueError`` on any inconsistency, because these arrays may
        come from disk: an index out of range or a cycle must be refused here
        rather than crash or loop during scoring.
        """
        self.feature_ = np.ascontiguousarray(feature, dtype=np.intp)
        self.threshold_ = np.ascontiguousarray(threshold, dtype=np.float64)
        self.children_ = np.ascontiguousarray(children, dtype=np.intp)
        self.missing_left_ = np.ascontiguousarray(missing_left, dtype=bool)
        self.leaf_value_ = np.ascontiguousarray(leaf_value, dtype=np.float64)
        self.roots_ = np.ascontiguousarray(roots, dtype=np.intp)
        self.max_depth_ = int(max_depth)
        self.offset_ = float(offset)
        self.max_samples_ = int(max_samples)
        self.n_features_in_ = int(n_features_in)
        self._validate()
        self._any_missing_left = bool(self.missing_left_.any())
        self._denominator = float(len(self.roots_) * average_path_length(np.array([self.max_samples_]))[0])
        self._compile_walk()

    def _compile_walk(self) -> None:
        """Derive the arrays the walk reads (never stored; rebuilt from the public ones).

        Measured choices (see ``benchmarks/bench_forest.py``):

        * *doubled node ids*: the walk carries ``2 * node``; per-node arrays are
          repeated twice and the child table holds ``2 * child`` with the right
          child first, so one step is ``node = child[node + (x <= t)]`` with no
          multiply and no negation;
        * *float32 thresholds rounded down*: for a float32 ``x``,
          ``x <= t64`` iff ``x <= t32`` where ``t32`` is the largest float32
          not above ``t64``; the gather reads half the bytes and the result is
          bit-for-bit the float64 comparison sklearn makes.
        """
        with np.errstate(over="ignore"):
            t32 = self.threshold_.astype(np.float32)
        above = t32.astype(np.float64) > self.threshold_
        t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
        self._feat2 = np.repeat(self.feature_, 2)
        self._thr2 = np.repeat(t32, 2)
        self._miss2 = np.repeat(self.missing_left_, 2)
        self._child2 = np.ascontiguousarray(2 * self.children_[:, ::-1]).reshape(-1)
        self._roots2 = 2 * self.roots_
        self._value2 = np.repeat(self.leaf_value_, 2)
        # Rows per block so a block's (rows x trees) work arrays stay cache-sized:
        # measured ~25% faster at batch 1,000 than one big block.
        self._block_rows = max(1, _BLOCK_PAIRS // len(self.roots_))

    # ------------------------------------------------------------------ build
    @classmethod
    def from_sklearn(cls, model: Any) -> "CompiledForest":
        """Compile a fitted ``sklearn.ensemble.IsolationForest``.

        Uses the same per-tree quantities sklearn computes at fit time
        (``compute_node_depths`` and ``_average_path_length`` of
        ``n_node_samples``) and the model's ``_max_samples`` (what sklearn's
        own scorer normalises with; equal to ``max_samples_``).
        """
        from sklearn.ensemble import IsolationForest

        if not isinstance(model, IsolationForest):
            raise TypeError(f"expected a fitted sklearn IsolationForest, got {type(model).__name__}")
        if not hasattr(model, "estimators_"):
            raise ValueError("the IsolationForest is not fitted")
        n_features = int(model.n_features_in_)
        subsample = int(model._max_features) != n_features
        max_samples = int(getattr(model, "_max_samples", model.max_samples_))

        feats, thrs, kids, miss, vals, roots = [], [], [], [], [], []
        base = 0
        max_depth = 0
        for tree_est, features in zip(model.estimators_, model.estimators_features_):
            tree = tree_est.tree_
            n = int(tree.node_count)
            left = np.asarray(tree.children_left, dtype=np.intp)
            right = np.asarray(tree.children_right, dtype=np.intp)
            is_leaf = left == _TREE_LEAF
            ids = np.arange(n, dtype=np.intp)
            child = np.empty((n, 2), dtype=np.intp)
            child[:, 0] = np.where(is_leaf, ids, left) + base
            child[:, 1] = np.where(is_leaf, ids, right) + base
            f = np.asarray(tree.feature, dtype=np.intp).copy()
            f[is_leaf] = 0
            if subsample:
                f = np.asarray(features, dtype=np.intp)[f]
                f[is_leaf] = 0
            thr = np.asarray(tree.threshold, dtype=np.float64).copy()
            thr[is_leaf] = np.inf
            depths = np.asarray(tree.compute_node_depths(), dtype=np.float64)
            apl = average_path_length(np.asarray(tree.n_node_samples))
            value = np.where(is_leaf, depths + apl - 1.0, 0.0)
            mgl = getattr(tree, "missing_go_to_left", None)
            mgl = np.zeros(n, dtype=bool) if mgl is None else np.asarray(mgl, dtype=bool)
            feats.append(f)
            thrs.append(thr)
            kids.append(child)
            miss.append(mgl & ~is_leaf)
            vals.append(value)
            roots.append(base)
            max_depth = max(max_depth, int(tree.max_depth))
            base += n
        return cls(
            feature=np.concatenate(feats),
            threshold=np.concatenate(thrs),
            children=np.concatenate(kids),
            missing_left=np.concatenate(miss),
            leaf_value=np.concatenate(vals),
            roots=np.asarray(roots, dtype=np.intp),
            max_depth=max_depth,
            offset=float(model.offset_),
            max_samples=max_samples,
            n_features_in=n_features,
        )

    def _validate(self) -> None:
        """Refuse arrays that are not a set of finite-depth binary trees over ``n_features_in_`` columns."""
        n = self.feature_.shape[0]
        if self.feature_.ndim != 1 or n == 0:
            raise ValueError("feature must be a non-empty 1-d array")
        for name, arr in (("threshold", self.threshold_), ("missing_left", self.missing_left_), ("leaf_value", self.leaf_value_)):
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
        if self.children_.shape != (n, 2):
            raise ValueError(f"children has shape {self.children_.shape}, expected ({n}, 2)")
        if self.roots_.ndim != 1 or self.roots_.shape[0] == 0:
            raise ValueError("roots must be a non-empty 1-d array")
        if self.n_features_in_ < 1:
            raise ValueError("n_features_in must be >= 1")
        if self.max_samples_ < 1:
            raise ValueError("max_samples must be >= 1")
        if not (0 <= self.max_depth_ <= 64):
            raise ValueError(f"max_depth {self.max_depth_} out of range [0, 64]")
        if not np.isfinite(self.offset_):
            raise ValueError("offset is not finite")
        if self.children_.min() < 0 or self.children_.max() >= n:
            raise ValueError("children index out of range")
        if self.roots_.min() < 0 or self.roots_.max() >= n:
            raise ValueError("root index out of range")
        if self.feature_.min() < 0 or self.feature_.max() >= self.n_features_in_:
            raise ValueError(f"feature index out of range [0, {self.n_features_in_})")
        if np.isnan(self.threshold_).any():
            raise ValueError("threshold contains NaN")
        if not np.all(np.isfinite(self.leaf_value_)):
            raise ValueError("leaf_value is not finite")
        # Every path from a root must reach a leaf (a self-loop) within max_depth steps.
        ids = np.arange(n, dtype=np.intp)
        is_leaf = (self.children_[:, 0] == ids) & (self.children_[:, 1] == ids)
        frontier = np.unique(self.roots_)
        for _ in range(self.max_depth_):
            frontier = np.unique(self.children_[frontier].reshape(-1))
        if not is_leaf[frontier].all():
            raise ValueError(f"some paths do not reach a leaf within max_depth={self.max_depth_}")

    # ---------------------------------------------------------------- scoring
    @property
    def n_estimators_(self) -> int:
        """Number of trees."""
        return int(self.roots_.shape[0])

    def _check_X(self, X: Any) -> np.ndarray:
        """Cast to C-contiguous float32 (as sklearn does before scoring) and check the width."""
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if X32.ndim != 2:
            raise ValueError(f"expected a 2-d array of shape (n_samples, {self.n_features_in_}), got ndim={X32.ndim}")
        if X32.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X32.shape[1]} features, but the forest expects {self.n_features_in_}")
        return X32

    def leaves(self, X: Any) -> np.ndarray:
        """Global leaf id reached by every (sample, tree): shape ``(n_samples, n_trees)``."""
        X32 = self._check_X(X)
        out = np.empty((X32.shape[0], self.n_estimators_), dtype=np.intp)
        for start in range(0, X32.shape[0], self._block_rows):
            out[start : start + self._block_rows] = self._walk(X32[start : start + self._block_rows]) // 2
        return out

    def _walk(self, X32: np.ndarray) -> np.ndarray:
        """Doubled leaf ids for a block of rows: the level-by-level walk.

        Every (sample, tree) pair advances one level per step with three
        gathers and a compare; leaves loop to themselves, so after
        ``max_depth_`` steps every pair sits on its leaf whatever its depth.
        ``x <= t`` is False for NaN, so NaN goes right as in sklearn, unless
        the node has ``missing_go_to_left`` (handled only when a NaN is present).
        """
        n, d = X32.shape
        flat = X32.reshape(-1)
        feat, thr, child = self._feat2, self._thr2, self._child2
        node = np.broadcast_to(self._roots2, (n, self._roots2.shape[0]))
        with_nan = self._any_missing_left and bool(np.isnan(flat).any())
        if n == 1 and not with_nan:
            # Batch-1 fast path: the row offset is 0, so skip the add.
            for _ in range(self.max_depth_):
                node = child[node + (flat[feat[node]] <= thr[node])]
            return node
        row = (np.arange(n, dtype=np.intp) * d)[:, None]
        for _ in range(self.max_depth_):
            x = flat[row + feat[node]]
            go_left = x <= thr[node]
            if with_nan:
                go_left |= np.isnan(x) & self._miss2[node]
            node = child[node + go_left]
        return node

    def score_samples(self, X: Any) -> np.ndarray:
        """Opposite of the anomaly score of the original paper, as sklearn defines it.

        ``-2 ** (-E[h(x)] / c(max_samples_))``, in ``[-1, 0)``: lower is more
        abnormal. Equals ``IsolationForest.score_samples`` within 1e-9.
        """
        return -self._paper_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative means outlier, as in sklearn."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """``-1`` for outliers and ``1`` for inliers, as sklearn's ``predict``."""
        decision = self.decision_function(X)
        out = np.ones(decision.shape[0], dtype=int)
        out[decision < 0] = -1
        return out

    def risk(self, X: Any) -> np.ndarray:
        """The project's risk score, higher = riskier: ``2 ** (-E[h(x)] / c(max_samples_))``.

        This is the anomaly score ``s(x, n)`` of Liu et al.'s Isolation Forest
        paper and exactly ``-score_samples(X)``: always in ``(0, 1]``; near 1
        for points isolated in few splits, about 0.5 or below for normal
        points, and 0.5 is the paper's (and ``contamination='auto'``'s)
        boundary. No rescaling is applied, so thresholds mean the same as in
        the literature and in sklearn.
        """
        return self._paper_score(X)

    def _paper_score(self, X: Any) -> np.ndarray:
        """``2 ** (-depth_sum / (n_trees * c(max_samples_)))``, the same expression as sklearn."""
        X32 = self._check_X(X)
        depths = np.empty(X32.shape[0], dtype=np.float64)
        for start in range(0, X32.shape[0], self._block_rows):
            node = self._walk(X32[start : start + self._block_rows])
            depths[start : start + self._block_rows] = self._value2[node].sum(axis=1)
        if self._denominator == 0.0:
            # One training sample: sklearn sets the ratio to 1, i.e. a score of 2 ** -1.
            return 2.0 ** -np.ones_like(depths)
        return 2.0 ** (-(depths / self._denominator))

    def __repr__(self) -> str:
        return (
            f"CompiledForest(n_estimators={self.n_estimators_}, n_nodes={self.feature_.shape[0]}, "
            f"max_depth={self.max_depth_}, max_samples={self.max_samples_}, n_features={self.n_features_in_})"
        )
