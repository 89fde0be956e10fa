"""Feature drift: population stability index (PSI) of live features against training.

Bins. Each feature's bins are cut at its *training* quantiles (the 1st … 99th
percentiles stored in ``training.json``, duplicates removed), giving at most
10 value bins ``(-inf, e1], (e1, e2], …, (ek, +inf)`` plus one bin for null
(NaN) values, so a feature that suddenly goes missing is drift too. The
training share of every bin is computed at training time with
:func:`bin_counts` itself and stored next to the edges (``psi.shares``), so a
tie-heavy feature (e.g. ``own_range`` is exactly 1.0 for 95 % of rows) keeps its
true mass instead of the nominal 1 % / 4 % / … quantile spacing.

PSI. ``sum_i (a_i - e_i) * ln(a_i / e_i)`` over the bins, ``e`` the training
shares and ``a`` the observed ones. A bin that is empty on one side would make
the term infinite, so both shares are floored at ``EPSILON = 1e-4`` before the
sum (not renormalised: the floor changes a share by at most 1e-4 per bin). With
that floor one bin going from 0 to 100 % contributes ``~9.2``; the usual
reading is < 0.1 stable, 0.1-0.25 watch, > 0.25 drift (:func:`verdict`).

Limits: PSI compares one-dimensional marginals, so a shift in how features
move *together* is invisible; with few observed rows the value is noisy
(``MIN_ROWS`` rows are required before a verdict is given); and quantile bins
are coarse in the tails (everything above the 99th percentile is one bin).

:class:`DriftMonitor` keeps only integer counts per (feature, bin), updated
with ``np.searchsorted`` + ``np.bincount``, so it can sit in the scoring path.
The pipeline hands it a few dozen rows per micro-batch; binning so few rows
costs mostly numpy's per-call overhead (one searchsorted per feature), so rows
are held until :data:`FLUSH_ROWS` have gathered and binned together. Every
reading (:meth:`DriftMonitor.report`, ``rows``) bins what is held first, so
what it reports is the same as binning batch by batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["EPSILON", "FLUSH_ROWS", "MIN_ROWS", "psi_edges", "bin_counts", "psi", "verdict", "DriftMonitor", "FeatureDrift"]

EPSILON = 1e-4
MIN_ROWS = 100
FLUSH_ROWS = 2048  # rows held before binning (bins are counts: when they are added does not change them)
STABLE, WATCH = 0.1, 0.25


def psi_edges(quantiles: Sequence[float]) -> list[float]:
    """Sorted unique finite training quantiles: the inner bin edges."""
    vals = sorted({float(q) for q in quantiles if q is not None and math.isfinite(float(q))})
    return vals


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Counts per bin: ``len(edges) + 1`` value bins (right-closed) and a last bin for NaN."""
    col = np.asarray(values, dtype=np.float64).reshape(-1)
    nan = np.isnan(col)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), col[~nan], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(np.int64)
    return np.append(counts, int(nan.sum()))


def psi(expected: Sequence[float], observed_counts: Sequence[float]) -> float:
    """PSI of observed counts against expected shares (both floored at :data:`EPSILON`)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), EPSILON)
    counts = np.asarray(observed_counts, dtype=np.float64)
    if e.shape != counts.shape:
        raise ValueError(f"{counts.shape[0]} observed bins for {e.shape[0]} training bins")
    total = counts.sum()
    if total <= 0:
        return float("nan")
    a = np.maximum(counts / total, EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def verdict(value: float, rows: int = MIN_ROWS) -> str:
    """``stable`` (< 0.1), ``watch`` (0.1-0.25), ``drift`` (> 0.25), or ``too few rows``."""
    if rows < MIN_ROWS or not math.isfinite(value):
        return "too few rows"
    if value < STABLE:
        return "stable"
    return "watch" if value <= WATCH else "drift"


@dataclass(frozen=True)
class FeatureDrift:
    """PSI of one feature and its reading."""

    feature: str
    psi: float
    verdict: str
    rows: int
    null_share: float
    training_null_share: float


class DriftMonitor:
    """Accumulates feature vectors as bin counts and reports PSI per feature.

    ``distributions`` is the ``distributions`` block of ``training.json``
    (each feature needs ``psi.edges`` and ``psi.shares``, written by
    ``hongdun models train``).
    """

    def __init__(self, feature_names: Sequence[str], distributions: Mapping[str, Any], *, source: str = "training.json") -> None:
        self.names = list(feature_names)
        self._edges: list[np.ndarray] = []
        self._expected: list[np.ndarray] = []
        for name in self.names:
            spec = distributions.get(name, {}).get("psi") if isinstance(distributions.get(name), dict) else None
            if not spec or "edges" not in spec or "shares" not in spec:
                raise ValueError(f"{source}: feature {name!r} has no PSI bins (retrain the model with this version)")
            edges = np.asarray(spec["edges"], dtype=np.float64)
            shares = np.asarray(spec["shares"], dtype=np.float64)
            if shares.shape != (edges.shape[0] + 2,):
                raise ValueError(f"{source}: feature {name!r} has {shares.shape[0]} bin shares for {edges.shape[0]} edges "
                                 f"(expected {edges.shape[0] + 2})")
            self._edges.append(edges)
            self._expected.append(shares)
        self._training_null = [float(distributions[n].get("null_share", 0.0)) for n in self.names]
        self._counts = [np.zeros(e.shape[0] + 2, dtype=np.int64) for e in self._edges]
        self._binned = 0
        self._held: list[np.ndarray] = []
        self._held_rows = 0

    @property
    def rows(self) -> int:
        """Feature vectors seen so far (held ones included)."""
        return self._binned + self._held_rows

    def update(self, X: np.ndarray) -> None:
        """Add a batch of feature vectors (shape ``(n, n_features)``); the rows are copied, the caller may reuse ``X``."""
        X = np.array(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.names):
            raise ValueError(f"expected shape (n, {len(self.names)}), got {X.shape}")
        self._held.append(X)
        self._held_rows += X.shape[0]
        if self._held_rows >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Bin the held rows into the counts."""
        if not self._held:
            return
        X = self._held[0] if len(self._held) == 1 else np.concatenate(self._held)
        for j, edges in enumerate(self._edges):
            self._counts[j] += bin_counts(X[:, j], edges)
        self._binned += X.shape[0]
        self._held, self._held_rows = [], 0

    def report(self) -> list[FeatureDrift]:
        """PSI and verdict per feature, in column order."""
        self._flush()
        out = []
        for j, name in enumerate(self.names):
            value = psi(self._expected[j], self._counts[j]) if self.rows else float("nan")
            null = float(self._counts[j][-1] / self.rows) if self.rows else 0.0
            out.append(FeatureDrift(name, value, verdict(value, self.rows), self.rows, null, self._training_null[j]))
        return out

    def psi_by_feature(self) -> dict[str, float]:
        """``{feature: psi}`` (NaN before any row), e.g. for the metrics gauge."""
        return {d.feature: d.psi for d in self.report()}
