"""`hongdun alerts …` end to end on a SQLite file (and one round on PostgreSQL)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from engine.alerts.alert import encode_alert
from engine.alerts.commands import alerts
from engine.alerts.referral import read_referral, verify_referral

from .conftest import DAY, T0

ROOT = Path(__file__).parents[2]


@pytest.fixture
def files(tmp_path, make_alert):
    """An alerts JSONL (two merchants in Hangzhou, one in Shanghai) and the events it came from."""
    alerts_ = [make_alert(T0, merchant_id="m-hz", op_region="330106"),
               make_alert(T0 + DAY, merchant_id="m-sh", op_region="310115", severity="high"),
               make_alert(T0 + 2 * DAY, merchant_id="m-nb", op_region="330203")]
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b"".join(encode_alert(a) + b"\n" for a in alerts_))
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps({"event_id": a.source_event_ids[0], "event_type": "listing"}) + b"\n"
                                for a in alerts_) + b"{damaged\n")
    return alerts_, path, events


def run(*args: str, env: dict | None = None, code: int = 0):
    result = CliRunner().invoke(alerts, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_import_is_idempotent_and_list_filters(tmp_path, files):
    alerts_, path, _ = files
    db = tmp_path / "a.db"
    assert "inserted 3" in run("import", path, "--db", db).output
    assert "unchanged 3" in run("import", path, "--db", db).output
    lines = run("list", "--db", db, "--json").output.splitlines()
    assert [orjson.loads(x)["alert"]["merchant"]["merchant_id"] for x in lines] == ["m-nb", "m-sh", "m-hz"]
    table = run("list", "--db", db, "--region", "330000", "--severity", "medium").output
    assert "m-" not in table.splitlines()[0] and len(table.splitlines()) == 3  # header + two rows
    assert "杭州某某贸易" in table
    assert run("list", "--db", db, "--since", "2026-03-02", "--until", "2026-03-03", "--json").output.count("\n") == 1
    assert "no alerts match" in run("list", "--db", db, "--status", "closed").output


def test_env_var_selects_the_database(tmp_path, files):
    _, path, _ = files
    db = tmp_path / "env.db"
    run("import", path, env={"HONGDUN_DB": str(db)})
    assert db.exists()


def test_bad_lines_import_nothing(tmp_path, files):
    _, path, _ = files
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(path.read_bytes() + b'{"alert_id": 1}\n')
    out = run("import", bad, "--db", tmp_path / "b.db", code=1).output
    assert f"{bad}:4: not an alert" in out and "nothing imported" in out
    assert not (tmp_path / "b.db").exists()


def test_status_commands_and_show(tmp_path, files):
    alerts_, path, _ = files
    db = tmp_path / "a.db"
    run("import", path, "--db", db)
    aid = alerts_[0].alert_id
    run("ack", aid[:8], "--by", "张三", "--db", db)
    run("advise", aid[:8], "--by", "张三", "--note", "已提醒告诫", "--db", db)
    run("close", aid[:8], "--by", "李四", "--note", "已整改", "--db", db)
    out = run("ack", aid[:8], "--by", "张三", "--db", db, code=1).output
    assert "cannot move from closed to acknowledged" in out
    assert "--by" in run("close", aid, "--db", db, code=2).output
    shown = run("show", aid[:8], "--db", db).output
    assert "ST-AD-01" in shown and "李四: advised → closed（已整改）" in shown
    doc = orjson.loads(run("show", aid, "--db", db, "--json").output)
    assert doc["status"] == "closed" and [c["to_status"] for c in doc["status_changes"]] == ["acknowledged", "advised", "closed"]
    assert "no alert id" in run("show", "ffff", "--db", db, code=2).output


def test_export_jsonl_round_trips(tmp_path, files):
    alerts_, path, _ = files
    db = tmp_path / "a.db"
    run("import", path, "--db", db)
    run("export", "--db", db, "--out", tmp_path / "out.jsonl")
    parse = lambda p: [orjson.loads(line) for line in p.read_bytes().splitlines()]  # noqa: E731
    assert parse(tmp_path / "out.jsonl") == parse(path)


def test_export_referrals_for_out_of_region_alerts(tmp_path, files):
    alerts_, path, events = files
    db = tmp_path / "a.db"
    run("import", path, "--db", db)
    out = tmp_path / "referrals"
    res = run("export", "--db", db, "--referrals", "--out", out, "--pack", ROOT / "rules" / "starter",
              "--events", events, "--region", "330100", "--sender", "杭州市市场监督管理局")
    assert "2 referral package(s)" in res.output  # Shanghai and Ningbo, not Hangzhou
    written = sorted(out.iterdir())
    assert {p.stem for p in written} == {alerts_[1].alert_id, alerts_[2].alert_id}
    for p in written:
        pkg = read_referral(p)
        assert verify_referral(pkg) == [] and pkg["missing_source_event_ids"] == []
        assert pkg["parts"]["rule"]["text"].lstrip().startswith("- id: ST-AD-01")
    assert "ok" in run("verify", *written).output
    tampered = tmp_path / "t.json"
    doc = read_referral(written[0])
    doc["parts"]["source_events"][0]["event_type"] = "order"
    tampered.write_bytes(orjson.dumps(doc))
    assert "sha256.source_events" in run("verify", tampered, code=1).output
    assert "carries no route" in run("export", "--db", db, "--referrals", "--out", out, "--pack",
                                     ROOT / "rules" / "starter", code=2).output


def test_verify_exits_1_and_names_the_edited_record(tmp_path, files):
    alerts_, path, _ = files
    db = tmp_path / "a.db"
    run("import", path, "--db", db)
    assert run("verify", "--db", db).output.startswith("ok: 3 alert record(s)")
    victim = alerts_[1].alert_id
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alert_records SET evidence = REPLACE(evidence, 'high', 'low') WHERE alert_id = ?", (victim,))
    out = run("verify", "--db", db, code=1).output
    assert out.startswith("BROKEN: alert_records #2") and victim in out


def test_cli_on_postgresql(pg_url, files):
    _, path, _ = files
    assert "inserted 3" in run("import", path, "--db", pg_url).output
    assert "unchanged 3" in run("import", path, "--db", pg_url).output
    assert run("verify", "--db", pg_url).output.startswith("ok: 3")


def test_reading_a_missing_store_fails_instead_of_creating_it(tmp_path):
    db = tmp_path / "typo.db"
    assert "no alert store here" in run("list", "--db", db, code=2).output
    assert not db.exists()
