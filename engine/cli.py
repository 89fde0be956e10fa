"""`hongdun` command line: run, simulate, schema, rules lint/test/explain, backtest, demo.

This is the only module that reads the environment and the terminal; it builds
frozen config objects and hands them to the pure parts.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO, Iterator

import click
import orjson

from engine.errors import HongdunError, Location, PackErrors


def _fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@contextlib.contextmanager
def _open_out(path: str | None) -> Iterator[IO[bytes] | None]:
    if path is None:
        yield None
        return
    if path == "-":
        yield sys.stdout.buffer
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        yield f


@contextlib.contextmanager
def _open_in(path: str) -> Iterator[tuple[IO[bytes], str, int | None]]:
    if path == "-":
        yield sys.stdin.buffer, "<stdin>", None
        return
    try:
        f = open(path, "rb")
    except OSError as exc:
        _fail(f"{path}: cannot open: {exc.strerror}")
    with f:
        yield f, path, os.fstat(f.fileno()).st_size


def _load_compiled(pack: str):
    from engine.rules.evaluator import compile_pack
    from engine.rules.loader import load_pack

    try:
        return compile_pack(load_pack(pack))
    except PackErrors as exc:
        click.echo(str(exc), err=True)
        click.echo(f"{len(exc.errors)} error(s) in pack {pack}", err=True)
        sys.exit(1)


@click.group()
@click.version_option(package_name="hongdun")
def main() -> None:
    """hongdun (红盾): streaming risk detection and early warnings for online merchants."""


def _load_engine(pack: str, models_dir: str | None):
    """The compiled pack and, with ``--models``, the verified models it scores with (exit 1 on any error)."""
    if not models_dir:
        return _load_compiled(pack), None
    from engine.anomaly.bank import ModelBank, compile_with_models, load_models
    from engine.rules.loader import load_pack

    try:
        models = load_models(models_dir)
        return compile_with_models(load_pack(pack), models), ModelBank(models)
    except PackErrors as exc:
        click.echo(str(exc), err=True)
        click.echo(f"{len(exc.errors)} error(s) in pack {pack}", err=True)
        sys.exit(1)
    except HongdunError as exc:
        _fail(str(exc), 1)


@main.command()
@click.option("--pack", "pack", required=True, type=click.Path(exists=True, file_okay=False), help="rule pack folder")
@click.option("--models", "models_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="score with every verified model in this folder (score.NAME in rules, model alerts)")
@click.option("--input", "input_path", required=True, help="JSONL events file, or - for stdin")
@click.option("--alerts", "alerts_path", default=None, help="write alerts as JSONL here")
@click.option("--dead-letter", "dead_path", default=None, help="write rejected lines (with reasons) here")
@click.option("--shadow", "shadow_path", default=None, help="write alerts of shadow rules here")
@click.option("--state", "state_dir", default=None, type=click.Path(file_okay=False), help="restore window state from and snapshot it to this folder")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--show", "show", default=20, show_default=True, type=click.IntRange(0, 100_000), help="alerts to print")
@click.option("--progress/--no-progress", default=None, help="progress line (default: on a terminal)")
@click.option("--regions", default=None, help="comma-separated region codes this bureau covers (others become referrals)")
@click.option("--bureau", default="", help="name of the bureau running this deployment")
@click.option("--db", "db_url", default=None, help="also write alerts to this alert store (SQLite path or postgresql://…)")
@click.option("--metrics-file", default=None, help="write Prometheus metrics here at the end (textfile-collector format)")
def run(pack: str, input_path: str, alerts_path: str | None, dead_path: str | None, shadow_path: str | None,
        state_dir: str | None, batch_size: int, show: int, progress: bool | None, regions: str | None = None,
        bureau: str = "", db_url: str | None = None, metrics_file: str | None = None, models_dir: str | None = None) -> None:
    """Score a JSONL event stream with a rule pack (and anomaly models) and print early warnings."""
    from engine.alerts.routing import Deployment
    from engine.pipeline import Pipeline, PipelineConfig
    from engine.runtime.embedded import Progress, run_stream, tune_gc
    from engine.runtime.summary import format_alert, format_summary
    from engine.runtime.state_dir import restore_state, save_state

    compiled, bank = _load_engine(pack, models_dir)
    tune_gc()
    deployment = None
    if regions:
        try:
            deployment = Deployment.parse(regions, name=bureau)
        except ValueError as exc:
            _fail(f"--regions: {exc}")
    pipeline = Pipeline(compiled, config=PipelineConfig(deployment=deployment), models=bank)
    if state_dir and Path(state_dir).exists():
        try:
            warnings = restore_state(pipeline, Path(state_dir))
        except HongdunError as exc:
            _fail(str(exc))
        for w in warnings:
            click.echo(f"state: {w}", err=True)
    dead_path = dead_path or (str(Path(alerts_path).with_name("dead-letter.jsonl")) if alerts_path and alerts_path != "-" else None)
    with _open_in(input_path) as (stream, name, size), _open_out(alerts_path) as alerts_out, \
            _open_out(dead_path) as dead_out, _open_out(shadow_path) as shadow_out:
        show_progress = sys.stderr.isatty() if progress is None else progress
        store = None
        if db_url:
            from engine.alerts.store import open_store

            if "://" not in db_url:
                Path(db_url).parent.mkdir(parents=True, exist_ok=True)
            store = open_store(db_url)
        metrics = None
        if metrics_file:
            from engine.metrics import Metrics

            metrics = Metrics()
            metrics.set_pack(compiled.name, compiled.version)

        def on_batch(result, seconds: float, size: int) -> None:
            if store is not None and result.emitted:
                store.put_many(result.emitted)
            if metrics is not None:
                metrics.observe(pipeline.stats, size, seconds)

        summary = run_stream(
            pipeline, stream, name,
            alerts_out=alerts_out, dead_out=dead_out, shadow_out=shadow_out,
            batch_size=batch_size, progress=Progress(sys.stderr, size, show_progress),
            on_batch=on_batch,
        )
    if metrics is not None:
        metrics.observe_drift(pipeline.drift)
        metrics.write_textfile(metrics_file)
    if state_dir:
        save_state(pipeline, Path(state_dir))
    to_stdout = alerts_path == "-"
    echo = (lambda s: click.echo(s, err=True)) if to_stdout else click.echo
    if show and summary.alerts:
        order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
        ranked = sorted(summary.alerts, key=lambda a: (order[a.severity], a.event_time))[:show]
        echo(f"early warnings (showing {len(ranked)} of {len(summary.alerts)}, most severe first):")
        for a in ranked:
            echo(format_alert(a))
        echo("")
    echo(format_summary(summary, pipeline.stats, f"{compiled.name} {compiled.version}"))
    if dead_path and sum(pipeline.stats.rejects.values()):
        echo(f"\nrejected lines with reasons: {dead_path}")
    if db_url:
        echo(f"alerts stored in {db_url} (hongdun alerts list --db {db_url})")


@main.command()
@click.option("--merchants", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--hours", default=24.0, show_default=True, type=click.FloatRange(0.1, 24 * 60))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--out", "out_path", default="-", show_default=True, help="events JSONL (- for stdout)")
@click.option("--truth", "truth_path", default=None, help="truth labels JSONL (never read by the engine)")
@click.option("--bad-rate", default=0.0, show_default=True, type=click.FloatRange(0, 0.5), help="fraction of malformed lines")
@click.option("--warmup-days", default=0, show_default=True, type=click.IntRange(0, 60), help="days of complaint history before the start")
def simulate(merchants: int, hours: float, seed: int, out_path: str, truth_path: str | None, bad_rate: float, warmup_days: int) -> None:
    """Generate a realistic platform event stream with labelled injected violations."""
    from engine.simulate import run_simulation

    with _open_out(out_path) as out, _open_out(truth_path) as truth:
        summary = run_simulation(merchants=merchants, hours=hours, seed=seed, out=out, truth_out=truth,
                                 bad_rate=bad_rate, warmup_days=warmup_days)
    click.echo(orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode(), err=True)


@main.command()
@click.option("--type", "event_type", default=None, help="only this event type")
@click.option("--alerts", "alerts", is_flag=True, help="the schema of the alert records hongdun emits instead")
def schema(event_type: str | None, alerts: bool) -> None:
    """Print the JSON Schema of the events hongdun accepts (or, with --alerts, of the alerts it emits)."""
    from engine.events.jsonschema import json_schema

    if alerts:
        from engine.alerts.alert import alert_json_schema

        click.echo(orjson.dumps(alert_json_schema(), option=orjson.OPT_INDENT_2).decode())
        return
    doc = json_schema()
    if event_type:
        defs = doc.get("$defs", {})
        match = [k for k, v in defs.items() if v.get("properties", {}).get("event_type", {}).get("enum") == [event_type]
                 or v.get("properties", {}).get("event_type", {}).get("const") == event_type]
        if not match:
            _fail(f"unknown event type {event_type!r}")
        doc = {"$defs": defs, "$ref": f"#/$defs/{match[0]}"}
    click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


@main.group()
def rules() -> None:
    """Work on rule packs: lint, test, explain."""


_MODELS_OPTION = click.option("--models", "models_dir", default=None, type=click.Path(exists=True, file_okay=False),
                              help="models the pack runs with (its rules may read score.NAME)")


@rules.command("lint")
@click.argument("pack", type=click.Path(exists=True, file_okay=False))
@_MODELS_OPTION
def rules_lint(pack: str, models_dir: str | None) -> None:
    """Report every error in a pack as file:line:col: rule-id: message; exit 1 if any."""
    from engine.rules.lint import lint_pack

    names: frozenset[str] = frozenset()
    if models_dir:
        from engine.anomaly.bank import load_models

        try:
            names = frozenset(m.name for m in load_models(models_dir))
        except HongdunError as exc:
            _fail(str(exc), 1)
    problems, warnings = lint_pack(pack, names)
    for w in warnings:
        click.echo(f"warning: {w}")
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} error(s)", err=True)
        sys.exit(1)
    click.echo(f"{pack}: ok", err=True)


@rules.command("test")
@click.argument("pack", type=click.Path(exists=True, file_okay=False))
@click.option("-v", "--verbose", is_flag=True, help="list passing examples too")
@_MODELS_OPTION
def rules_test(pack: str, verbose: bool, models_dir: str | None) -> None:
    """Run every inline example and case file of a pack; show what differed."""
    from engine.rules.testing import run_pack_tests

    compiled, bank = _load_engine(pack, models_dir)
    results, errors = run_pack_tests(compiled, bank)
    for e in errors:
        click.echo(e)
    failed = [r for r in results if not r.passed]
    for r in results:
        if verbose or not r.passed:
            mark = "ok  " if r.passed else "FAIL"
            kind = "fire " if r.example.fire else "quiet"
            click.echo(f"{mark} {r.where}: {kind} {r.detail}" + (f"  ({r.example.note})" if r.example.note else ""))
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed or errors:
        sys.exit(1)


@rules.command("doc")
@click.argument("pack", type=click.Path(exists=True, file_okay=False))
@click.option("--write", is_flag=True, help="update the table inside PACK/README.md instead of printing it")
def rules_doc(pack: str, write: bool) -> None:
    """Print (or write into the pack's README) the table of rules: id, title, basis, severity, minor."""
    from engine.rules.docgen import embed, rules_table

    compiled = _load_compiled(pack)
    table = rules_table(compiled.pack)
    if not write:
        click.echo(table)
        return
    readme = Path(pack) / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else f"# {compiled.name}\n"
    readme.write_text(embed(text, table), encoding="utf-8")
    click.echo(f"updated {readme}", err=True)


@rules.command("explain")
@click.argument("pack", type=click.Path(exists=True, file_okay=False))
@click.option("--event", "event_json", required=True, help="one event as JSON, or @FILE (the last line of a JSONL file; earlier lines fill the windows)")
@_MODELS_OPTION
def rules_explain(pack: str, event_json: str, models_dir: str | None) -> None:
    """Show which rules fire on an event, what matched and which window values they saw."""
    from engine.events.deadletter import Reject
    from engine.pipeline import Pipeline

    compiled, bank = _load_engine(pack, models_dir)
    pipeline = Pipeline(compiled, models=bank)
    if event_json.startswith("@"):
        lines = [l for l in Path(event_json[1:]).read_bytes().splitlines() if l.strip()]
        name = event_json[1:]
    else:
        lines, name = [event_json.encode()], "--event"
    if not lines:
        _fail("no event given")
    history = [(l, Location(file=name, line=i + 1)) for i, l in enumerate(lines[:-1])]
    if history:
        pipeline.process_raw(history)
    ev = pipeline.decoder.decode(lines[-1], Location(file=name, line=len(lines)))
    if isinstance(ev, Reject):
        _fail(f"{name}: event rejected: {ev.reason}: {ev.message}" + (f" at {ev.path}" if ev.path else ""), 1)
    for x in pipeline.explain(ev):
        verdict = "FIRES" if x.fired else "quiet"
        click.echo(f"{x.rule_id:12} {verdict:5} {x.severity if x.fired else '':8} {x.status if x.status != 'active' else ''}")
        if x.message:
            click.echo(f"    message: {x.message}")
        for m in x.matched:
            click.echo(f"    matched {m['term']!r} as {m['original']!r} in {m['field']}")
        for w, vals in x.windows.items():
            click.echo(f"    window {w}: " + ", ".join(f"{k}={v}" for k, v in vals.items()))
        if x.error:
            click.echo(f"    error: {x.error}")


@main.command()
@click.option("--pack", "pack", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False), help="events JSONL")
@click.option("--truth", "truth_path", required=True, type=click.Path(exists=True, dir_okay=False), help="truth incidents JSONL")
@click.option("--report", "report_path", default=None, help="write the Markdown report here")
@click.option("--note", "notes", multiple=True, help="extra 'key=value' lines for the report header")
@click.option("--score-from", default=None, help="RFC 3339 time: earlier events only build state (burn-in) and are not scored")
def backtest(pack: str, input_path: str, truth_path: str, report_path: str | None, notes: tuple[str, ...],
             score_from: str | None) -> None:
    """Score a pack against labelled events: precision, recall, volume and cost per rule and family."""
    from engine.backtest import load_truth, markdown_report, run_backtest
    from engine.runtime.embedded import Progress

    compiled = _load_compiled(pack)
    truth = load_truth(Path(truth_path))
    size = Path(input_path).stat().st_size
    bar = Progress(sys.stderr, None, sys.stderr.isatty())
    with open(input_path, "rb") as events:
        start = None
        if score_from:
            from engine.alerts.leniency import iso_ts

            try:
                start = iso_ts(score_from)
            except ValueError:
                _fail(f"--score-from: not an RFC 3339 time: {score_from!r}")
        result = run_backtest(compiled, events, truth, name=input_path, progress=lambda n: bar.update(n, 0, 0), score_from=start)
    bar.close()
    meta = {"pack": f"{pack} ({compiled.name} {compiled.version}, {len(compiled.pack.rules)} rules)", "events file": input_path,
            "truth file": truth_path, "input bytes": f"{size:,}", "scored from": score_from or "the first event"}
    for n in notes:
        k, _, v = n.partition("=")
        meta[k] = v
    report = markdown_report(result, meta)
    if report_path:
        Path(report_path).write_text(report, encoding="utf-8")
        click.echo(f"report: {report_path}", err=True)
    click.echo(report)


@main.command()
@click.option("--pack", default="rules/cn-platform", show_default=True, type=click.Path(exists=True, file_okay=False))
@click.option("--merchants", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--hours", default=24.0, show_default=True, type=click.FloatRange(0.1, 24 * 30))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--regions", default="330100", show_default=True, help="region codes the demo bureau covers")
@click.option("--models", "models_dir", default="models", show_default=True,
              help="anomaly models to score with ('' for rules only)")
def demo(pack: str, merchants: int, hours: float, seed: int, out_dir: str, regions: str, models_dir: str) -> None:
    """The main job on the embedded default: simulate a day, score it, print warnings, write alerts."""
    from engine.simulate import run_simulation

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    events, truth = out / "events.jsonl", out / "truth.jsonl"
    for stale in (out / "alerts.db", out / "alerts.db-wal", out / "alerts.db-shm"):
        stale.unlink(missing_ok=True)  # each demo run starts a fresh store
    click.echo(f"simulating {merchants} merchants x {hours:g} h (seed {seed}) -> {events}", err=True)
    with open(events, "wb") as ev_out, open(truth, "wb") as tr_out:
        sim = run_simulation(merchants=merchants, hours=hours, seed=seed, out=ev_out, truth_out=tr_out, bad_rate=0.0005)
    click.echo(orjson.dumps(sim, option=orjson.OPT_SORT_KEYS).decode(), err=True)
    ctx = click.get_current_context()
    ctx.invoke(run, pack=pack, input_path=str(events), alerts_path=str(out / "alerts.jsonl"),
               dead_path=str(out / "dead-letter.jsonl"), shadow_path=str(out / "shadow-alerts.jsonl"),
               state_dir=None, batch_size=1000, show=15, progress=None, regions=regions, bureau="杭州市市场监督管理局（演示）",
               db_url=str(out / "alerts.db"), models_dir=models_dir if models_dir and Path(models_dir).is_dir() else None)
    click.echo(f"\nalerts: {out / 'alerts.jsonl'}   truth labels: {truth}", err=True)


@main.group()
def models() -> None:
    """Anomaly models: train, status (checksums, drift), evaluate (against a z-score baseline)."""


@models.command("train")
@click.option("--model", "name", required=True, help="model folder name under --models")
@click.option("--events", "events_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--truth", "truth_path", default=None, type=click.Path(exists=True, dir_okay=False), help="labels, for evaluation metrics")
@click.option("--models", "models_dir", default="models", show_default=True, type=click.Path(file_okay=False))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--alert-rate", default=0.005, show_default=True, type=click.FloatRange(0.0001, 0.5), help="target share of events above the threshold")
def models_train(name: str, events_path: str, truth_path: str | None, models_dir: str, seed: int, alert_rate: float) -> None:
    """Fit an IsolationForest on history and write models/NAME (npz + manifest, no pickle)."""
    from datetime import datetime, timezone

    from engine.anomaly.train import TrainConfig, train_model

    truth = None
    if truth_path:
        truth = [orjson.loads(l) for l in Path(truth_path).read_bytes().splitlines() if l.strip()]
    try:
        summary = train_model(Path(models_dir) / name, events_path, truth=truth,
                              created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              config=TrainConfig(seed=seed, target_alert_rate=alert_rate))
    except (HongdunError, ValueError) as exc:
        _fail(f"{name}: {exc}", 1)
    shown = {k: summary[k] for k in ("threshold", "calibration", "training", "metrics")}
    click.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())


from engine.alerts.commands import alerts as _alerts_group  # noqa: E402

main.add_command(_alerts_group)

# commands that live beside the code they drive
from engine.anomaly.commands import models_evaluate as _models_evaluate, models_status as _models_status  # noqa: E402

models.add_command(_models_status)
models.add_command(_models_evaluate)


# distributed mode (engine/runtime/worker_commands.py)
from engine.runtime.worker_commands import produce as _produce, publish as _publish, tail as _tail, worker as _worker  # noqa: E402

main.add_command(_worker)
main.add_command(_produce)
rules.add_command(_publish)
_alerts_group.add_command(_tail)


from engine.service.commands import post_command, report_command, serve_command, tokens_command  # noqa: E402

main.add_command(serve_command)
main.add_command(tokens_command)
main.add_command(post_command)
main.add_command(report_command)

if __name__ == "__main__":  # pragma: no cover
    main()
