"""`hongdun serve`, `hongdun tokens` and `hongdun report`: the service's command line.

Registered on the main CLI at the end of engine/cli.py. Like the rest of the
CLI, only this module reads the environment (``HONGDUN_DB``).
"""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

import click
import orjson

from engine.alerts.commands import DEFAULT_DB


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


@click.command("serve")
@click.option("--pack", "pack_dir", required=True, type=click.Path(exists=True, file_okay=False), help="rule pack folder")
@click.option("--models", "models_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="anomaly models folder (every model in it is verified and scored)")
@click.option("--db", "db", envvar="HONGDUN_DB", default=DEFAULT_DB, show_default=True,
              help="alert store: SQLite path or postgresql://… (env HONGDUN_DB)")
@click.option("--data", "data_dir", default=None, type=click.Path(file_okay=False),
              help="ingest queue and pipeline state folder [default: the SQLite store's folder, else out/serve]")
@click.option("--auth", "auth_file", default=None, type=click.Path(dir_okay=False),
              help="platform keys and bureau tokens (from `hongdun tokens`) [default: DATA/auth.json]")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--regions", default=None, help="comma-separated region codes this bureau covers (others become referrals)")
@click.option("--bureau", default="", help="name of the bureau running this deployment (referral letters)")
@click.option("--queue-max", default=200_000, show_default=True, type=click.IntRange(1, 100_000_000),
              help="queued events above which ingest answers 429 + Retry-After")
@click.option("--max-request-events", default=20_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--max-body-mb", default=16, show_default=True, type=click.IntRange(1, 1024))
@click.option("--batch-size", default=2_000, show_default=True, type=click.IntRange(1, 100_000))
def serve_command(pack_dir: str, models_dir: str | None, db: str, data_dir: str | None, auth_file: str | None,
                  host: str, port: int, regions: str | None, bureau: str, queue_max: int, max_request_events: int,
                  max_body_mb: int, batch_size: int) -> None:
    """Run the service: HTTP ingest, durable queue, pipeline, alert store, regulator API, web inbox, /metrics."""
    import logging

    from engine.alerts.routing import Deployment
    from engine.runtime.embedded import tune_gc
    from engine.service.app import data_dir_for, run_service
    from engine.cli import _load_engine
    from engine.service.auth import AuthError, load_auth
    from engine.service.config import ServiceConfig

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    data = data_dir_for(db, data_dir)
    auth_path = Path(auth_file) if auth_file else data / "auth.json"
    if not auth_path.exists():
        _fail(f"{auth_path}: no auth file; create one with `hongdun tokens --out {auth_path} --platform NAME "
              f"--bureau 'NAME=REGION[,REGION]'` (it prints the secrets once)")
    try:
        auth = load_auth(auth_path)
    except AuthError as exc:
        _fail(str(exc))
    deployment = None
    if regions:
        try:
            deployment = Deployment.parse(regions, name=bureau)
        except ValueError as exc:
            _fail(f"--regions: {exc}")
    if "://" not in db:
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    compiled, models = _load_engine(pack_dir, models_dir)
    try:
        config = ServiceConfig(pack_dir=Path(pack_dir), db_url=db, data_dir=data, auth_file=auth_path,
                               models_dir=Path(models_dir) if models_dir else None, host=host, port=port,
                               deployment=deployment, max_body_bytes=max_body_mb * 1024 * 1024,
                               max_events_per_request=max_request_events, queue_max_events=queue_max,
                               batch_size=batch_size)
    except ValueError as exc:
        _fail(str(exc))
    tune_gc()
    run_service(config, auth, compiled, models, print_fn=lambda s: click.echo(s, err=True))


@click.command("tokens")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="auth file to write (hashes only)")
@click.option("--platform", "platforms", multiple=True, help="a platform that may post events (repeatable)")
@click.option("--bureau", "bureaus", multiple=True,
              help="NAME=REGION[,REGION…]: a bureau and the region codes its token sees (repeatable)")
@click.option("--force", is_flag=True, help="overwrite an existing auth file (every old key stops working)")
def tokens_command(out: str, platforms: tuple[str, ...], bureaus: tuple[str, ...], force: bool) -> None:
    """Create platform API keys and bureau tokens: the file keeps SHA-256 hashes, the secrets are printed once (JSON)."""
    from engine.service.auth import make_auth, write_auth

    if Path(out).exists() and not force:
        _fail(f"{out} exists; give --force to replace it (all existing keys and tokens stop working)")
    parsed = []
    for b in bureaus:
        name, sep, codes = b.partition("=")
        if not sep or not name.strip() or not codes.strip():
            _fail(f"--bureau {b!r}: expected NAME=REGION[,REGION…], e.g. 杭州市市场监督管理局=330100")
        parsed.append((name.strip(), [c.strip() for c in codes.split(",") if c.strip()]))
    if not platforms and not parsed:
        _fail("give at least one --platform or --bureau")
    try:
        doc, secrets = make_auth(list(platforms), parsed)
    except ValueError as exc:
        _fail(f"--bureau: {exc}")
    write_auth(doc, Path(out))
    click.echo(orjson.dumps(secrets, option=orjson.OPT_INDENT_2).decode())
    click.echo(f"{out}: written (hashes only); the secrets above are shown once: hand them over now", err=True)


@click.command("report")
@click.option("--db", "db", envvar="HONGDUN_DB", default=DEFAULT_DB, show_default=True,
              help="alert store: SQLite path or postgresql://… (env HONGDUN_DB)")
@click.option("--date", "day", required=True, help="the China-time day, YYYY-MM-DD")
@click.option("--region", default=None, help="only this region code (a province or city code covers its districts)")
@click.option("--data", "data_dir", default=None, type=click.Path(file_okay=False),
              help="the service's data folder (ingest counts for reject rates) [default: the SQLite store's folder]")
@click.option("--out", "out", default="out/report", show_default=True, type=click.Path(file_okay=False))
def report_command(db: str, day: str, region: str | None, data_dir: str | None, out: str) -> None:
    """Write the daily early-warning report: report.html (charts) and report.csv."""
    from engine.alerts.routing import region_prefix
    from engine.alerts.store import StoreError, open_store
    from engine.service.app import data_dir_for
    from engine.service.queue import IngestQueue
    from engine.service.report import collect, write_report

    try:
        when = date.fromisoformat(day)
    except ValueError:
        _fail(f"--date: not a date YYYY-MM-DD: {day!r}")
    if region is not None:
        try:
            region_prefix(region)
        except ValueError as exc:
            _fail(f"--region: {exc}")
    if "://" not in db and not Path(db).exists():
        _fail(f"{db}: no alert store here (give --db or HONGDUN_DB)")
    queue_path = data_dir_for(db, data_dir) / "ingest.db"
    queue = IngestQueue(queue_path) if queue_path.exists() else None
    if queue is None:
        click.echo(f"note: {queue_path} not found: the report cannot show ingest reject rates (blind spots)", err=True)
    try:
        with open_store(db) as store:
            rep = collect(store, queue, when, region)
    except StoreError as exc:
        _fail(str(exc))
    finally:
        if queue is not None:
            queue.close()
    html, csv_path = write_report(rep, Path(out))
    broken = [f.platform for f in rep.feeds if f.warning]
    click.echo(f"{html}, {csv_path}: {rep.total} alert(s) on {when}" + (f"; feed problems: {', '.join(broken)}" if broken else ""),
               err=True)


@click.command("post")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="the service")
@click.option("--key", envvar="HONGDUN_PLATFORM_KEY", required=True,
              help="the platform's API key (prefer the env var HONGDUN_PLATFORM_KEY to the command line)")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--rejects", "rejects_path", default=None, help="write the rejected lines' reasons here (JSONL)")
def post_command(path: str, url: str, key: str, batch_size: int, rejects_path: str | None) -> None:
    """Post a JSONL events file to `hongdun serve` in batches (in order; waits and resends on 429)."""
    import asyncio

    from engine.service.client import PostError, post_lines

    stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        summary = asyncio.run(post_lines(url, key, stream, batch_size))
    except PostError as exc:
        _fail(f"{url}: {exc}", 1)
    except OSError as exc:
        _fail(f"{url}: cannot connect: {exc}", 1)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if rejects_path:
        Path(rejects_path).parent.mkdir(parents=True, exist_ok=True)
        Path(rejects_path).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in summary.rejects))
    click.echo(f"{path}: accepted {summary.accepted:,}, rejected {summary.rejected:,} in {summary.requests} request(s)"
               + (f" ({summary.throttled} answered 429 and were resent)" if summary.throttled else ""), err=True)
    for r in summary.rejects[:10]:
        click.echo(f"  line {r['line']}: {r['reason']}: {r['message']}" + (f" at {r['path']}" if r.get("path") else ""),
                   err=True)
