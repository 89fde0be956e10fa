"""``hongdun models status`` and ``hongdun models evaluate`` (registered on the ``models`` group in engine/cli.py)."""
from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from engine.errors import HongdunError

__all__ = ["models_status", "models_evaluate", "model_status", "file_checks"]


def file_checks(folder: Path) -> list[tuple[str, str]]:
    """(file, status) for the manifest's files: ``ok``, ``missing`` or ``sha256 mismatch``."""
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return [("manifest.json", "missing")]
    try:
        doc = orjson.loads(manifest.read_bytes())
        hashes = dict(doc.get("sha256", {}))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        return [("manifest.json", f"unreadable: {exc}")]
    out = []
    for name, want in sorted(hashes.items()):
        path = folder / name
        if "/" in name or "\\" in name or not path.is_file():
            out.append((name, "missing"))
            continue
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        out.append((name, "ok" if got == str(want).lower() else f"sha256 mismatch (manifest {str(want)[:12]}…, file {got[:12]}…)"))
    return out


def model_status(folder: Path, events_file: str | None = None) -> dict[str, Any]:
    """What ``models status`` shows for one model folder, as data."""
    from engine.anomaly.artifact import load_forest
    from engine.anomaly.features import load_feature_set

    info: dict[str, Any] = {"model": folder.name, "files": file_checks(folder)}
    try:
        fs = load_feature_set(folder / "features.yaml")
        load_forest(folder, fs.names)
        info["loads"] = "ok"
    except HongdunError as exc:
        info["loads"] = f"refused: {exc}"
        return info
    training = orjson.loads((folder / "training.json").read_bytes())
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    info.update(created_at=manifest.get("created_at"), training=training.get("training", {}),
                threshold=training.get("threshold"), calibration=training.get("calibration", {}),
                metrics=training.get("metrics", {}))
    if events_file:
        from engine.anomaly.drift import DriftMonitor
        from engine.anomaly.train import feature_matrix

        monitor = DriftMonitor(fs.names, training.get("distributions", {}), source=str(folder / "training.json"))
        X, _, _ = feature_matrix(folder, Path(events_file).read_bytes().splitlines())
        monitor.update(X)
        info["drift"] = monitor.report()
    return info


def _print_status(info: dict[str, Any]) -> None:
    echo = click.echo
    echo(f"== {info['model']}")
    for name, status in info["files"]:
        echo(f"  {name:16s} {status}")
    echo(f"  load check       {info['loads']}")
    if info["loads"] != "ok":
        return
    tr, cal = info["training"], info["calibration"]
    echo(f"  trained          {info.get('created_at')} on {tr.get('rows', 0):,} {'/'.join(tr.get('event_types', []))} events "
         f"(events sha256 {str(tr.get('events_file_sha256', ''))[:12]}…), {tr.get('n_estimators')} trees, seed {tr.get('seed')}")
    rate = cal.get("target_false_alarm_rate", cal.get("target_alert_rate"))
    echo(f"  threshold        {info['threshold']:.4f} risk ({cal.get('method')}: {rate}; "
         f"observed alert rate on training {cal.get('observed_alert_rate', float('nan')):.4f})")
    m = info.get("metrics") or {}
    if "roc_auc" in m:
        echo(f"  training metrics ROC AUC {m['roc_auc']:.3f}, PR AUC {m['pr_auc']:.3f}")
    drift = info.get("drift")
    if drift:
        echo(f"  drift over {drift[0].rows:,} events (PSI; <0.1 stable, 0.1-0.25 watch, >0.25 drift):")
        echo(f"    {'feature':28s} {'PSI':>8s}  {'null now / training':>20s}  verdict")
        for d in drift:
            psi = "nan" if math.isnan(d.psi) else f"{d.psi:.3f}"
            echo(f"    {d.feature:28s} {psi:>8s}  {d.null_share:>9.3f} / {d.training_null_share:<9.3f}  {d.verdict}")


@click.command("status")
@click.option("--models", "models_dir", default="models", show_default=True, type=click.Path(exists=True, file_okay=False))
@click.option("--events", "events_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="recent events JSONL: also show PSI per feature against training")
@click.option("--model", "only", default=None, help="only this model folder")
def models_status(models_dir: str, events_path: str | None, only: str | None) -> None:
    """Per model: file checksums, training size and date, threshold, and (with --events) feature drift."""
    folders = sorted(p.parent for p in Path(models_dir).glob("*/features.yaml"))
    if only:
        folders = [f for f in folders if f.name == only]
        if not folders:
            click.echo(f"error: no model {only!r} under {models_dir}", err=True)
            sys.exit(2)
    bad = False
    for folder in folders:
        try:
            info = model_status(folder, events_path)
        except (HongdunError, ValueError) as exc:
            click.echo(f"== {folder.name}\n  error: {exc}")
            bad = True
            continue
        _print_status(info)
        bad |= info["loads"] != "ok"
    sys.exit(1 if bad else 0)


@click.command("evaluate")
@click.option("--model", "name", required=True, help="model folder name under --models")
@click.option("--events", "events_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--truth", "truth_path", required=True, type=click.Path(exists=True, dir_okay=False), help="truth incidents JSONL")
@click.option("--models", "models_dir", default="models", show_default=True, type=click.Path(exists=True, file_okay=False))
@click.option("--report", "report_path", default=None, help="write a Markdown section here")
@click.option("--picture", "picture_path", default=None, help="write an SVG of the score distributions here")
@click.option("--json", "json_path", default=None, help="write the metrics as JSON here")
def models_evaluate(name: str, events_path: str, truth_path: str, models_dir: str, report_path: str | None,
                    picture_path: str | None, json_path: str | None) -> None:
    """ROC / PR AUC, precision and recall at the threshold, per anomaly kind; forest vs robust z baseline."""
    from engine.anomaly.evaluate import evaluate_model, format_table, markdown_report, score_histogram_svg

    truth = [orjson.loads(l) for l in Path(truth_path).read_bytes().splitlines() if l.strip()]
    try:
        ev = evaluate_model(Path(models_dir) / name, events_path, truth)
    except (HongdunError, ValueError) as exc:
        click.echo(f"error: {name}: {exc}", err=True)
        sys.exit(1)
    click.echo(format_table(ev))
    if picture_path:
        Path(picture_path).write_text(score_histogram_svg(ev), encoding="utf-8")
    if report_path:
        pic = None
        if picture_path:
            try:
                pic = str(Path(picture_path).resolve().relative_to(Path(report_path).resolve().parent))
            except ValueError:
                pic = picture_path
        Path(report_path).write_text(markdown_report(ev, events_file=events_path, truth_file=truth_path, picture=pic),
                                     encoding="utf-8")
    if json_path:
        Path(json_path).write_bytes(orjson.dumps(ev.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
