"""`hongdun report`: the day's alerts by family, severity, disposition and status, top merchants, rules whose
volume changed most, and reject rates per platform, with broken and silent feeds shown as blind spots."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from engine.alerts.alert import AlertDisposition
from engine.alerts.store import open_store
from engine.cli import main
from engine.service.queue import DeadLetter, IngestQueue
from tests.alerts.conftest import DAY, _make_alert

# 2026-03-01 10:00 China time
from tests.alerts.conftest import T0

CASE = AlertDisposition(kind="case", code="not_minor", reason="非轻微")
ADVICE = AlertDisposition(kind="advisory", code="first_minor", reason="首次轻微")


def _fill(tmp: Path) -> None:
    alerts = []
    # the report day: 3 x AD-01 (two merchants), 1 x PR-01 high; before: PR-01 every day for 7 days
    for i in range(3):
        alerts.append(_make_alert(T0 + i * 60, merchant_id="m-1" if i < 2 else "m-2", subject=f"s{i}",
                                  severity="high" if i == 0 else "medium", disposition=CASE if i else ADVICE))
    alerts.append(_make_alert(T0, rule_id="ST-PR-01", family="price", merchant_id="m-3", severity="critical",
                              disposition=CASE))
    for d in range(1, 8):
        for k in range(4):
            alerts.append(_make_alert(T0 - d * DAY, rule_id="ST-PR-01", family="price", merchant_id=f"m-p{k}",
                                      subject=f"d{d}", disposition=CASE))
    alerts.append(_make_alert(T0, merchant_id="m-sh", op_region="310115", subject="sh"))  # another region
    with open_store(str(tmp / "alerts.db")) as store:
        store.put_many(alerts)
        store.set_status(alerts[0].alert_id, "acknowledged", "张三")
    q = IngestQueue(tmp / "ingest.db")
    dead = lambda platform, n, reason="bad_json": [DeadLetter("2026-03-01", platform, "ingest", reason, b"{}")] * n  # noqa: E731
    q.enqueue("good-mall", "2026-03-01", [b"{}"] * 1000, dead("good-mall", 3))
    q.enqueue("broken-mall", "2026-03-01", [b"{}"] * 100, dead("broken-mall", 40) + dead("broken-mall", 10, "bad_uscc"))
    q.enqueue("silent-mall", "2026-02-27", [b"{}"] * 700, [])  # sent before, nothing on the day
    q.close()


def test_report_numbers_and_blind_spots(tmp_path: Path) -> None:
    _fill(tmp_path)
    out = tmp_path / "report"
    r = CliRunner().invoke(main, ["report", "--db", str(tmp_path / "alerts.db"), "--date", "2026-03-01",
                                  "--region", "330100", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "feed problems: broken-mall, silent-mall" in r.output
    rows = list(csv.reader(io.StringIO((out / "report.csv").read_text(encoding="utf-8-sig"))))
    got = {(s, k): v for s, k, _, v in rows[1:]}
    assert got[("summary", "alerts")] == "4"  # the Shanghai merchant's alert is outside --region
    assert got[("family", "advertising")] == "3" and got[("family", "price")] == "1"
    assert got[("severity", "critical")] == "1" and got[("severity", "high")] == "1" and got[("severity", "medium")] == "2"
    assert got[("disposition", "case")] == "3" and got[("disposition", "advisory")] == "1"
    assert got[("status", "acknowledged")] == "1" and got[("status", "new")] == "3"
    merchants = [k for s, k, _, _ in rows if s == "top_merchant"]
    assert merchants[0] == "m-1"  # most alerts
    changes = [(k, v) for s, k, _, v in rows if s == "rule_change"]
    assert dict(changes) == {"ST-PR-01": "-3.0", "ST-AD-01": "+3.0"}  # PR: 4 a day before, 1 today; AD: 0 -> 3
    assert got[("platform_reject_rate", "good-mall")] == f"{3 / 1003:.4f}"
    assert got[("platform_reject_rate", "broken-mall")] == f"{50 / 150:.4f}"
    assert got[("platform_accepted", "silent-mall")] == "0"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("监测盲区") >= 2 and "broken-mall" in html and "silent-mall" in html
    assert html.count("<svg") >= 4 and "<script" not in html


def test_report_without_ingest_counts_says_it_cannot_see_feeds(tmp_path: Path) -> None:
    _fill(tmp_path)
    (tmp_path / "ingest.db").unlink()
    r = CliRunner().invoke(main, ["report", "--db", str(tmp_path / "alerts.db"), "--date", "2026-03-01",
                                  "--out", str(tmp_path / "r")])
    assert r.exit_code == 0 and "cannot show ingest reject rates" in r.output
    assert "无接入统计" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_report_refuses_bad_arguments(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["report", "--db", str(tmp_path / "none.db"), "--date", "2026-03-01"]).exit_code == 2
    _fill(tmp_path)
    for args in (["--date", "2026-02-30"], ["--date", "2026-03-01", "--region", "33"]):
        r = runner.invoke(main, ["report", "--db", str(tmp_path / "alerts.db"), *args])
        assert r.exit_code == 2, r.output
