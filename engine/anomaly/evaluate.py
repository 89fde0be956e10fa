"""Evaluate an anomaly model against labelled events, next to a robust z-score baseline.

``hongdun models evaluate --model NAME --events FILE --truth FILE`` replays the
events through the model's feature set, scores them with the stored forest and
with :class:`ZScoreBaseline` (fitted on the same training day, stored in
``training.json``), and reports for both: ROC AUC, PR AUC (average precision),
precision and recall at the stored threshold, and per injected anomaly kind
the recall at the threshold and the ROC / PR AUC of that kind against normal
events.

Labels. Positives are the events of incidents labelled ``anomaly`` (the kinds
no rule names). Negatives are the events **no incident covers**. Events of
rule-labelled incidents (violations, decoys) are left out of the scores: a
forest that ranks a fake-viewer room high is not wrong, and counting those as
false alarms is what made the first cut show precision 0 for two models (all
their alerts were rule-named violations). How many of them each scorer flags
is reported on its own line, and ``pr_auc_all_negatives`` gives PR AUC with
every non-anomaly event as a negative, for comparison.

Baseline. Per feature ``z = (x - median) / (1.4826 * MAD)`` from the training
data; when the MAD is 0 (a feature that is constant for more than half of the
rows, e.g. ``own_range``), the scale falls back to ``1.2533 * mean |x -
median|`` (the usual modified-z rule), and a feature that is constant on the
whole training day is ignored. The score is ``max_j |z_j|`` over the non-null
features (0 when all are null): the injected anomalies are extreme in one or
two features, and a mean over ten features would dilute exactly those.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["robust_scale", "ZScoreBaseline", "ScorerMetrics", "Evaluation", "evaluate_scores", "evaluate_model",
           "format_table", "markdown_report", "label_events", "score_histogram_svg"]

_MAD_TO_SD = 1.4826
_MEANAD_TO_SD = 1.2533


def robust_scale(finite: np.ndarray) -> float | None:
    """``1.4826 * MAD``, else ``1.2533 * mean |x - median|``, else None (constant or empty column)."""
    if finite.size == 0:
        return None
    med = float(np.median(finite))
    dev = np.abs(finite - med)
    mad = float(np.median(dev))
    if mad > 0:
        return _MAD_TO_SD * mad
    mean_ad = float(dev.mean())
    return _MEANAD_TO_SD * mean_ad if mean_ad > 0 else None


@dataclass(frozen=True)
class ZScoreBaseline:
    """Robust z-score anomaly score: ``max_j |x_j - median_j| / scale_j`` over usable features."""

    names: tuple[str, ...]
    median: np.ndarray
    scale: np.ndarray  # NaN where the feature is ignored

    @classmethod
    def fit(cls, X: np.ndarray, names: Sequence[str]) -> "ZScoreBaseline":
        """Medians and robust scales of the training matrix, column by column."""
        med, scale = [], []
        for j in range(X.shape[1]):
            finite = X[:, j][~np.isnan(X[:, j])]
            med.append(float(np.median(finite)) if finite.size else math.nan)
            s = robust_scale(finite)
            scale.append(math.nan if s is None else s)
        return cls(tuple(names), np.asarray(med), np.asarray(scale))

    @classmethod
    def from_json(cls, doc: dict[str, Any], names: Sequence[str], *, source: str = "training.json") -> "ZScoreBaseline":
        """Read back what :meth:`to_json` wrote; the names must match the model's."""
        if list(doc.get("features", [])) != list(names):
            raise ValueError(f"{source}: baseline features {doc.get('features')} differ from the model's {list(names)}")
        nan = math.nan
        return cls(tuple(names), np.array([nan if v is None else v for v in doc["median"]], dtype=np.float64),
                   np.array([nan if v is None else v for v in doc["scale"]], dtype=np.float64))

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (null for unusable features)."""
        def clean(a: np.ndarray) -> list[float | None]:
            return [None if math.isnan(v) else float(v) for v in a.tolist()]
        return {"method": "max |robust z| over features; z = (x - median) / (1.4826 MAD), MeanAD fallback",
                "features": list(self.names), "median": clean(self.median), "scale": clean(self.scale)}

    def z(self, X: np.ndarray) -> np.ndarray:
        """Absolute robust z per feature (NaN for null values and ignored features)."""
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.abs(X - self.median) / self.scale

    def score(self, X: np.ndarray) -> np.ndarray:
        """``max |z|`` per row; 0 when every feature is null or ignored."""
        z = self.z(X)
        z = np.where(np.isnan(z), -np.inf, z)
        out = z.max(axis=1) if z.shape[1] else np.zeros(z.shape[0])
        return np.where(np.isfinite(out), out, 0.0)


@dataclass
class ScorerMetrics:
    """Metrics of one scorer (forest or baseline) on one labelled stream."""

    name: str
    threshold: float
    roc_auc: float | None
    pr_auc: float | None
    pr_auc_all_negatives: float | None
    precision: float | None
    recall: float | None
    flagged: int
    flagged_normal: int
    flagged_anomaly: int
    flagged_rule_incidents: int
    per_kind: dict[str, dict[str, float | int | None]] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Everything ``models evaluate`` reports for one model."""

    model: str
    rows: int
    positives: int
    normal: int
    rule_incident_rows: int
    positives_by_kind: dict[str, int]
    forest: ScorerMetrics
    baseline: ScorerMetrics
    scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    kinds: np.ndarray | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary (no per-event arrays)."""
        from dataclasses import asdict

        return {"model": self.model, "rows": self.rows, "positives": self.positives, "normal": self.normal,
                "rule_incident_rows": self.rule_incident_rows, "positives_by_kind": self.positives_by_kind,
                "forest": asdict(self.forest), "baseline": asdict(self.baseline)}


def label_events(ids: Sequence[str], truth: Iterable[dict[str, Any]]) -> np.ndarray:
    """Per event: the anomaly kind, ``"normal"`` (no incident), or ``"rule"`` (a violation / decoy event)."""
    kind: dict[str, str] = {}
    covered: set[str] = set()
    for t in truth:
        for eid in t.get("event_ids", []):
            covered.add(eid)
            if t.get("label") == "anomaly":
                kind[eid] = str(t.get("kind"))
    return np.array([kind.get(e, "rule" if e in covered else "normal") for e in ids], dtype=object)


def _auc(y: np.ndarray, s: np.ndarray) -> tuple[float | None, float | None]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if y.all() or not y.any():
        return None, None
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def evaluate_scores(name: str, scores: np.ndarray, threshold: float, labels: np.ndarray) -> ScorerMetrics:
    """Metrics of one score vector against :func:`label_events` labels."""
    normal = labels == "normal"
    rule = labels == "rule"
    anomaly = ~normal & ~rule
    keep = anomaly | normal
    roc, pr = _auc(anomaly[keep], scores[keep])
    _, pr_all = _auc(anomaly, scores)
    flagged = scores >= threshold
    tp, fp = int((flagged & anomaly).sum()), int((flagged & normal).sum())
    per_kind: dict[str, dict[str, float | int | None]] = {}
    for kind in sorted(set(labels[anomaly].tolist())):
        m = labels == kind
        sel = m | normal
        k_roc, k_pr = _auc(m[sel], scores[sel])
        per_kind[kind] = {"events": int(m.sum()), "recall": float((flagged & m).sum() / m.sum()),
                          "roc_auc": k_roc, "pr_auc": k_pr}
    return ScorerMetrics(
        name=name, threshold=float(threshold), roc_auc=roc, pr_auc=pr, pr_auc_all_negatives=pr_all,
        precision=tp / (tp + fp) if tp + fp else None, recall=tp / int(anomaly.sum()) if anomaly.any() else None,
        flagged=int(flagged.sum()), flagged_normal=fp, flagged_anomaly=tp,
        flagged_rule_incidents=int((flagged & rule).sum()), per_kind=per_kind)


def evaluate_model(folder: str | Path, events_file: str | Path, truth: list[dict[str, Any]]) -> Evaluation:
    """Load the model in ``folder`` (checked), replay ``events_file``, score and compare with the baseline."""
    import orjson

    from engine.anomaly.artifact import load_forest
    from engine.anomaly.features import load_feature_set
    from engine.anomaly.train import FEATURES_FILE, TRAINING_FILE, feature_matrix

    root = Path(folder)
    fs = load_feature_set(root / FEATURES_FILE)
    forest = load_forest(root, fs.names)
    training = orjson.loads((root / TRAINING_FILE).read_bytes())
    if "baseline" not in training:
        raise ValueError(f"{root / TRAINING_FILE}: no 'baseline' block; retrain the model with this version")
    baseline = ZScoreBaseline.from_json(training["baseline"], fs.names, source=str(root / TRAINING_FILE))
    X, ids, _ = feature_matrix(root, Path(events_file).read_bytes().splitlines())
    if not len(X):
        raise ValueError(f"{events_file}: no {'/'.join(fs.events)} events")
    labels = label_events(ids, truth)
    risk = forest.risk(X)
    zs = baseline.score(X)
    kinds = sorted(set(labels.tolist()) - {"normal", "rule"})
    return Evaluation(
        model=fs.model, rows=len(X), positives=int(np.isin(labels, kinds).sum()), normal=int((labels == "normal").sum()),
        rule_incident_rows=int((labels == "rule").sum()),
        positives_by_kind={k: int((labels == k).sum()) for k in kinds},
        forest=evaluate_scores("isolation forest", risk, float(training["threshold"]), labels),
        baseline=evaluate_scores("robust z baseline", zs, float(training["baseline"]["threshold"]), labels),
        scores={"forest": risk, "baseline": zs}, kinds=labels)


def _f(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def format_table(ev: Evaluation) -> str:
    """The evaluation as a Markdown table (readable in a terminal too)."""
    lines = [f"model {ev.model}: {ev.rows:,} events, {ev.positives:,} anomaly events, {ev.normal:,} normal, "
             f"{ev.rule_incident_rows:,} in rule-labelled incidents (left out of the scores)", "",
             "| scorer | ROC AUC | PR AUC | PR AUC (all negatives) | threshold | precision | recall | flagged: anomaly / normal / rule incidents |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for m in (ev.forest, ev.baseline):
        lines.append(f"| {m.name} | {_f(m.roc_auc)} | {_f(m.pr_auc)} | {_f(m.pr_auc_all_negatives)} | {m.threshold:.4g} | "
                     f"{_f(m.precision, 2)} | {_f(m.recall, 2)} | {m.flagged_anomaly} / {m.flagged_normal} / {m.flagged_rule_incidents} |")
    lines += ["", "| anomaly kind | events | forest recall | forest ROC AUC | forest PR AUC | baseline recall | baseline ROC AUC | baseline PR AUC |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, n in ev.positives_by_kind.items():
        f, b = ev.forest.per_kind.get(kind, {}), ev.baseline.per_kind.get(kind, {})
        lines.append(f"| {kind} | {n} | {_f(f.get('recall'), 2)} | {_f(f.get('roc_auc'))} | {_f(f.get('pr_auc'))} | "
                     f"{_f(b.get('recall'), 2)} | {_f(b.get('roc_auc'))} | {_f(b.get('pr_auc'))} |")
    return "\n".join(lines)


def markdown_report(ev: Evaluation, *, events_file: str, truth_file: str, picture: str | None = None) -> str:
    """A self-contained Markdown section for one model."""
    winner = "beats" if (ev.forest.pr_auc or 0) > (ev.baseline.pr_auc or 0) else "does **not** beat"
    parts = [f"## {ev.model}", "", f"Events `{events_file}`, truth `{truth_file}`.", "", format_table(ev), "",
             f"The forest {winner} the baseline on PR AUC ({_f(ev.forest.pr_auc)} vs {_f(ev.baseline.pr_auc)})."]
    if picture:
        parts += ["", f"![score distributions of {ev.model}]({picture})"]
    return "\n".join(parts) + "\n"


def score_histogram_svg(ev: Evaluation, *, bins: int = 40) -> str:
    """A small self-written SVG: forest and baseline score histograms, normal vs injected anomaly events.

    Each panel shows the share of normal events (grey) and of anomaly events
    (red) per score bin, on a square-root y axis so the small anomaly mass stays
    visible; the dashed line is the stored threshold.
    """
    if ev.kinds is None:
        raise ValueError("evaluation holds no per-event labels")
    width, height, pad = 360, 180, 30
    panels = []
    for p, (key, m) in enumerate((("forest", ev.forest), ("baseline", ev.baseline))):
        # The baseline's max |z| is heavy-tailed: plot log10(1 + z) so both ends stay readable.
        s = np.log10(1.0 + ev.scores[key]) if key == "baseline" else ev.scores[key]
        thr = math.log10(1.0 + m.threshold) if key == "baseline" else m.threshold
        normal = ev.kinds == "normal"
        anomaly = ~normal & (ev.kinds != "rule")
        lo = float(np.floor(np.quantile(s, 0.001) * 20) / 20)
        hi = float(np.ceil(max(float(s.max()), thr) * 20) / 20)
        hi = max(hi, lo + 0.05)
        edges = np.linspace(lo, hi, bins + 1)
        clipped = np.clip(s, lo, hi)
        hn = np.histogram(clipped[normal], edges)[0] / max(1, normal.sum())
        ha = np.histogram(clipped[anomaly], edges)[0] / max(1, anomaly.sum())
        top = math.sqrt(max(hn.max(initial=0), ha.max(initial=0), 1e-9))
        x0 = p * (width + pad) + pad
        bw = width / bins
        out = [f'<text x="{x0}" y="14" font-size="12">{m.name}: {ev.model}</text>']
        for i in range(bins):
            for h, color, off in ((hn, "#999", 0.0), (ha, "#d33", bw / 2)):
                bh = (height - 30) * math.sqrt(h[i]) / top
                out.append(f'<rect x="{x0 + i * bw + off:.1f}" y="{height - bh:.1f}" width="{bw / 2:.1f}" height="{bh:.1f}" fill="{color}"/>')
        tx = x0 + width * (min(thr, hi) - lo) / (hi - lo)
        out.append(f'<line x1="{tx:.1f}" y1="20" x2="{tx:.1f}" y2="{height}" stroke="#000" stroke-dasharray="4,3"/>')
        out.append(f'<line x1="{x0}" y1="{height}" x2="{x0 + width}" y2="{height}" stroke="#000"/>')
        out.append(f'<text x="{x0}" y="{height + 14}" font-size="10">{lo:.3g}</text>')
        out.append(f'<text x="{x0 + width - 30}" y="{height + 14}" font-size="10">{hi:.3g}</text>')
        out.append(f'<text x="{x0 + width / 2 - 30}" y="{height + 14}" font-size="10">{"risk" if key == "forest" else "log10(1 + max |z|)"}</text>')
        panels.append("\n".join(out))
    legend = (f'<rect x="{pad}" y="{height + 22}" width="10" height="10" fill="#999"/>'
              f'<text x="{pad + 14}" y="{height + 31}" font-size="11">normal events (share per bin, √ scale)</text>'
              f'<rect x="{pad + 250}" y="{height + 22}" width="10" height="10" fill="#d33"/>'
              f'<text x="{pad + 264}" y="{height + 31}" font-size="11">injected anomaly events</text>'
              f'<text x="{pad + 430}" y="{height + 31}" font-size="11">- - - threshold</text>')
    total_w = 2 * (width + pad) + pad
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{height + 40}" '
            f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n'
            + "\n".join(panels) + "\n" + legend + "\n</svg>\n")
