"""`hongdun alerts …`: the regulator's side of the alert store.

import alerts JSONL (from ``hongdun run --alerts``), list and show them, move
them through their life cycle (ack, advise, open-case, close), export alerts
JSONL or referral packages, and verify the hash chains. ``--db`` takes a
SQLite path or a ``postgresql://`` URL; ``HONGDUN_DB`` sets it, read here
only (the store itself never reads the environment).
"""
from __future__ import annotations

import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import orjson

from engine.alerts.store.status import STATUSES
from engine.rules.model import SEVERITIES

if TYPE_CHECKING:
    from engine.alerts.store import AlertStore, StoredAlert

DEFAULT_DB = "out/alerts.db"
_CHINA = timezone(timedelta(hours=8))

db_option = click.option("--db", "db", envvar="HONGDUN_DB", default=DEFAULT_DB, show_default=True,
                         help="alert store: SQLite file path or postgresql://… URL (env HONGDUN_DB)")
json_option = click.option("--json", "as_json", is_flag=True, help="JSON (one object per line) instead of a table")


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def _store(db: str, create: bool = False) -> Iterator["AlertStore"]:
    """The store at ``db``; only ``import`` may create a new SQLite file (a typo should not look empty)."""
    from engine.alerts.store import StoreError, open_store

    if not create and "://" not in db and db != ":memory:" and not Path(db).exists():
        _fail(f"{db}: no alert store here (import alerts first, or give --db / HONGDUN_DB)")
    try:
        store = open_store(db)
    except StoreError as exc:
        _fail(str(exc))
    try:
        yield store
    except StoreError as exc:
        _fail(str(exc))
    finally:
        store.close()


def _when(value: str | None) -> float | None:
    """Epoch seconds of a --since/--until value; dates and times without an offset are China time."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO date or time: {value!r} (e.g. 2026-03-01 or 2026-03-01T08:00)") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=_CHINA)).timestamp()


def _china_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width - (1 if len(text) > len(out) + 1 else 0):
            return out + "…"
        out, used = out + ch, used + w
    return out


def _table(headers: list[str], rows: list[list[str]], limits: dict[int, int] | None = None) -> str:
    """A plain text table that lines up Chinese (double-width) characters."""
    limits = limits or {}
    rows = [[_clip(c, limits[i]) if i in limits else c for i, c in enumerate(r)] for r in rows]
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    pad = lambda c, w: c + " " * (w - _width(c))  # noqa: E731
    lines = ["  ".join(pad(c, w) for c, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _stored_json(s: "StoredAlert") -> bytes:
    import msgspec

    return orjson.dumps({"status": s.status, "version": s.version, "record_hash": s.record_hash,
                         "alert": msgspec.to_builtins(s.alert)})


@click.group()
def alerts() -> None:
    """The alert store: import, list, show, ack/advise/open-case/close, export, verify."""


@alerts.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@db_option
def import_(path: str, db: str) -> None:
    """Load alerts JSONL (from `hongdun run --alerts`) into the store; replays change nothing.

    Every line is checked first: if any is not an alert, nothing is imported.
    """
    import msgspec

    from engine.alerts.alert import Alert

    decoder = msgspec.json.Decoder(Alert)
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    name = "<stdin>" if path == "-" else path
    parsed, errors = [], []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            parsed.append(decoder.decode(line))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            errors.append(f"{name}:{n}: not an alert: {exc}")
    if errors:
        for e in errors[:20]:
            click.echo(e, err=True)
        _fail(f"{len(errors)} bad line(s); nothing imported", 1)
    total: Counter[str] = Counter()
    with _store(db, create=True) as store:
        for i in range(0, len(parsed), 1000):
            total.update(store.put_many(parsed[i:i + 1000]))
    click.echo(f"{name}: {len(parsed)} alert(s): " + ", ".join(
        f"{k} {total[k]}" for k in ("inserted", "updated", "unchanged", "stale")), err=True)


@alerts.command("list")
@db_option
@click.option("--region", default=None, help="region code; a province (xx0000) or city (xxxx00) code covers its districts")
@click.option("--severity", default=None, type=click.Choice(SEVERITIES), help="at least this severity")
@click.option("--rule", "rule_id", default=None, help="rule id")
@click.option("--merchant", "merchant_id", default=None, help="merchant id")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(STATUSES), help="status (repeatable)")
@click.option("--since", default=None, help="event time from (ISO date/time; no offset = China time)")
@click.option("--until", default=None, help="event time before (ISO date/time)")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@json_option
def list_(db: str, region: str | None, severity: str | None, rule_id: str | None, merchant_id: str | None,
          statuses: tuple[str, ...], since: str | None, until: str | None, limit: int, as_json: bool) -> None:
    """List alerts, newest first, with filters."""
    from engine.alerts.store import AlertFilter

    try:
        where = AlertFilter(region=region, min_severity=severity, rule_id=rule_id, merchant_id=merchant_id,
                            statuses=statuses, since=_when(since), until=_when(until), limit=limit)
        with _store(db) as store:
            found = store.select(where)
    except ValueError as exc:
        _fail(f"--region: {exc}")
    if as_json:
        for s in found:
            click.echo(_stored_json(s))
        return
    if not found:
        click.echo("no alerts match", err=True)
        return
    rows = []
    for s in found:
        a = s.alert
        rows.append([a.alert_id[:12], _china_time(a.event_time), a.severity, s.status, a.rule_id,
                     a.merchant.name or a.merchant.merchant_id, a.merchant.op_region_code, str(a.hits),
                     a.disposition.kind if a.disposition else "", a.route.kind if a.route else ""])
    click.echo(_table(["id", "time (UTC+8)", "severity", "status", "rule", "merchant", "region", "hits",
                       "disposition", "route"], rows, {5: 24}))
    if len(found) == limit:
        click.echo(f"(first {limit}; use --limit for more)", err=True)


@alerts.command("show")
@click.argument("alert_id")
@db_option
@json_option
def show(alert_id: str, db: str, as_json: bool) -> None:
    """One alert: its evidence, versions and status history (id prefix accepted)."""
    import msgspec

    with _store(db) as store:
        aid = store.resolve(alert_id)
        s = store.get(aid)
        versions = store.versions(aid)
        changes = store.status_changes(aid)
    assert s is not None
    if as_json:
        click.echo(orjson.dumps({
            "status": s.status, "version": s.version, "record_hash": s.record_hash,
            "alert": msgspec.to_builtins(s.alert),
            "versions": [{"seq": v.seq, "version": v.version, "hits": v.alert.hits, "recorded_at": v.recorded_at,
                          "evidence_hash": v.evidence_hash, "record_hash": v.record_hash} for v in versions],
            "status_changes": [msgspec.to_builtins(c) for c in changes],
        }, option=orjson.OPT_INDENT_2))
        return
    a = s.alert
    m = a.merchant
    lines = [
        f"预警 {a.alert_id}  [{a.severity}] {s.status}",
        f"规则      {a.rule_id} {a.rule_title}（{a.pack} {a.pack_version}，{a.family}{'，轻微' if a.minor else ''}）",
        f"经营者    {m.name} ({m.merchant_id}{', ' + m.uscc if m.uscc else ''}) 平台 {a.platform}",
        f"地区      实际经营地 {m.op_region_code}，登记地 {m.reg_region_code}",
        f"时间      首次 {_china_time(a.event_time)}" + (f"，最近 {_china_time(a.last_seen)}" if a.last_seen else "")
        + f"，命中 {a.hits} 次" + (f"，对象 {a.subject}" if a.subject else ""),
        f"说明      {a.message}",
        "依据      " + "；".join(f"《{b.law}》({b.version}) {b.article}" + ("" if b.verified else "（待核）")
                             for b in a.legal_basis),
    ]
    if a.disposition:
        d = a.disposition
        lines.append(f"处置建议  {d.kind} ({d.code}){'，整改期限 ' + d.deadline if d.deadline else ''}：{d.reason}")
    if a.route:
        lines.append(f"管辖      {a.route.kind} → {a.route.region_code}：{a.route.basis}")
    lines.append(f"来源事件  {', '.join(a.source_event_ids)}")
    lines.append("版本      " + "；".join(f"v{v.version} 命中{v.alert.hits} 记录于 {v.recorded_at}" for v in versions))
    for c in changes:
        lines.append(f"状态      {c.at} {c.actor}: {c.from_status} → {c.to_status}" + (f"（{c.note}）" if c.note else ""))
    click.echo("\n".join(lines))


def _status_command(name: str, to_status: str, doc: str) -> Callable[..., None]:
    @alerts.command(name, help=doc)
    @click.argument("alert_id")
    @click.option("--by", "actor", required=True, help="who makes the change (recorded in the audit trail)")
    @click.option("--note", default="", help="why (recorded in the audit trail)")
    @db_option
    def command(alert_id: str, actor: str, note: str, db: str) -> None:
        from engine.alerts.store import StatusError

        with _store(db) as store:
            aid = store.resolve(alert_id)
            try:
                changed = store.set_status(aid, to_status, actor, note)
            except StatusError as exc:
                _fail(str(exc), 1)
        click.echo(f"{aid}: {to_status}" if changed else f"{aid}: already {to_status}; nothing recorded")

    return command


_status_command("ack", "acknowledged", "Acknowledge (签收) an alert.")
_status_command("advise", "advised", "Record that the merchant was advised (提醒告诫/行政指导).")
_status_command("open-case", "case_opened", "Record that a case was opened (立案).")
_status_command("close", "closed", "Close (办结) an alert; give --note for a false alarm.")


@alerts.command("export")
@db_option
@click.option("--out", "out", required=True, help="JSONL file (- for stdout), or a folder for --referrals")
@click.option("--referrals", is_flag=True, help="write one referral package per out-of-region alert into the --out folder")
@click.option("--pack", "pack_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="rule pack the alerts came from (its rule text goes into referral packages)")
@click.option("--events", "events_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="events JSONL the alerts came from (source events go into referral packages)")
@click.option("--region", "regions", multiple=True, help="this deployment's region codes (route alerts that carry no route)")
@click.option("--sender", default="", help="the referring bureau, for the covering letter")
@click.option("--zip", "as_zip", is_flag=True, help="write referral packages as zip files")
@click.option("--rule", "rule_id", default=None, help="only this rule")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="only these statuses")
@click.option("--since", default=None, help="event time from (ISO)")
@click.option("--until", default=None, help="event time before (ISO)")
def export(db: str, out: str, referrals: bool, pack_dir: str | None, events_path: str | None, regions: tuple[str, ...],
           sender: str, as_zip: bool, rule_id: str | None, statuses: tuple[str, ...], since: str | None,
           until: str | None) -> None:
    """Export alerts as JSONL, or referral packages for alerts outside this deployment's regions."""
    from engine.alerts.alert import encode_alert
    from engine.alerts.store import AlertFilter

    where = AlertFilter(rule_id=rule_id, statuses=statuses, since=_when(since), until=_when(until), limit=None)
    with _store(db) as store:
        found = [s.alert for s in store.select(where)]
    if not referrals:
        data = b"".join(encode_alert(a) + b"\n" for a in sorted(found, key=lambda a: (a.event_time, a.alert_id)))
        if out == "-":
            sys.stdout.buffer.write(data)
        else:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_bytes(data)
            click.echo(f"{out}: {len(found)} alert(s)", err=True)
        return
    written = _export_referrals(found, Path(out), pack_dir, events_path, regions, sender, as_zip)
    click.echo(f"{out}: {written} referral package(s)", err=True)


def _export_referrals(found: list[Any], out: Path, pack_dir: str | None, events_path: str | None,
                      regions: tuple[str, ...], sender: str, as_zip: bool) -> int:
    from engine.alerts.referral import build_referral, rule_text_from_pack, write_referral
    from engine.alerts.routing import REFERRAL, Deployment, route

    if pack_dir is None:
        _fail("--referrals needs --pack (the rule text goes into each package)")
    try:
        deployment = Deployment(region_codes=frozenset(regions), name=sender) if regions else None
    except ValueError as exc:
        _fail(f"--region: {exc}")
    chosen = []
    for a in found:
        r = route(a, deployment) if deployment else a.route
        if r is None:
            _fail(f"alert {a.alert_id} carries no route; give this deployment's --region codes")
        if r.kind == REFERRAL:
            chosen.append((a, r))
    wanted = {i for a, _ in chosen for i in a.source_event_ids}
    events: dict[str, bytes] = {}
    if events_path and wanted:
        with open(events_path, "rb") as f:
            for line in f:
                try:
                    eid = orjson.loads(line).get("event_id")
                except (orjson.JSONDecodeError, AttributeError):
                    continue  # damaged lines were dead-lettered by the run; they are no evidence
                if eid in wanted:
                    events[eid] = line.rstrip(b"\r\n")
    texts: dict[str, str] = {}
    for a, r in chosen:
        if a.rule_id not in texts:
            try:
                texts[a.rule_id] = rule_text_from_pack(pack_dir, a.rule_id)
            except KeyError:
                _fail(f"{pack_dir}: no rule {a.rule_id} (alert {a.alert_id}); export with the pack it came from")
        package = build_referral(a, [events[i] for i in a.source_event_ids if i in events], texts[a.rule_id],
                                 a.pack, a.pack_version, route=r, sender=sender)
        write_referral(package, out / f"{a.alert_id}.{'zip' if as_zip else 'json'}")
    return len(chosen)


@alerts.command("verify")
@click.argument("packages", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@db_option
def verify(packages: tuple[str, ...], db: str) -> None:
    """Recompute the store's hash chains (or check referral PACKAGES); exit 1 naming the first broken record."""
    if packages:
        from engine.alerts.referral import read_referral, verify_referral

        bad = 0
        for p in packages:
            problems = verify_referral(read_referral(p))
            bad += bool(problems)
            for problem in problems:
                click.echo(f"{p}: {problem}")
            if not problems:
                click.echo(f"{p}: ok")
        sys.exit(1 if bad else 0)
    with _store(db) as store:
        broken = store.verify()
        seq, head = store.head()
    if broken is not None:
        click.echo(f"BROKEN: {broken}")
        sys.exit(1)
    click.echo(f"ok: {seq} alert record(s) chained; head {head}")
