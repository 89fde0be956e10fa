"""The regulator API on a running `hongdun serve`: region scope (a token never reads or changes another
region's alert), audited status changes, filters, referral packages, daily stats, metrics."""
from __future__ import annotations

from typing import Any

from engine.alerts.store import open_store
from tests.service.conftest import HANGZHOU, SHANGHAI


def _all(served: Any, token: str, query: str = "") -> list[dict[str, Any]]:
    status, body = served.json("GET", f"/v1/alerts?limit=1000{query}", token)
    assert status == 200, body
    return body["alerts"]


def test_everything_posted_was_processed(served_day: Any, small_stream: tuple[bytes, bytes]) -> None:
    lines = [l for l in small_stream[0].splitlines() if l.strip()]
    answers = served_day.extra["answers"]
    accepted = sum(a["accepted"] for a in answers)
    rejected = sum(a["rejected"] for a in answers)
    assert accepted + rejected == len(lines) and rejected > 0  # the stream has damaged lines
    st = served_day.extra["status"]
    assert st["accepted"] == st["processed"] == accepted and st["queue_depth"] == 0


def test_each_bureau_sees_only_its_regions(served_day: Any) -> None:
    hz, sh = served_day.tokens[HANGZHOU], served_day.tokens[SHANGHAI]
    mine, theirs = _all(served_day, hz), _all(served_day, sh)
    assert mine and theirs
    assert all(a["region_code"].startswith("3301") for a in mine)
    assert all(a["region_code"].startswith("31") for a in theirs)
    assert not {a["alert_id"] for a in mine} & {a["alert_id"] for a in theirs}
    # asking for the other region through a filter does not widen the scope
    assert _all(served_day, hz, f"&region={theirs[0]['region_code']}") == []
    assert served_day.json("GET", "/v1/me", sh)[1] == {"name": SHANGHAI, "regions": ["310000"]}


def test_a_token_cannot_read_or_change_another_regions_alert(served_day: Any) -> None:
    hz, sh = served_day.tokens[HANGZHOU], served_day.tokens[SHANGHAI]
    target = _all(served_day, sh, "&status=new")[-1]["alert_id"]
    for method, path, body in [("GET", f"/v1/alerts/{target}", None), ("GET", f"/v1/alerts/{target}/referral", None),
                               ("POST", f"/v1/alerts/{target}/ack", {"by": "张三"}),
                               ("POST", f"/v1/alerts/{target}/disposition", {"kind": "advised", "by": "张三"}),
                               ("POST", f"/v1/alerts/{target}/close", {"by": "张三", "note": "误报"})]:
        status, answer = served_day.json(method, path, hz, body)
        assert status == 404, (method, path, answer)  # same answer as for an alert that does not exist
        assert answer["error"] == f"no alert {target} in this bureau's regions"
    status, detail = served_day.json("GET", f"/v1/alerts/{target}", sh)
    assert status == 200 and detail["status"] == "new" and detail["status_changes"] == []
    with open_store(str(served_day.db)) as store:
        assert store.status_changes(target) == []


def test_status_changes_are_audited(served_day: Any) -> None:
    hz = served_day.tokens[HANGZHOU]
    alert = _all(served_day, hz, "&status=new&family=price")[0]
    aid = alert["alert_id"]
    assert served_day.json("POST", f"/v1/alerts/{aid}/close", hz, {"by": "王五"})[0] == 409  # new -> closed not allowed
    status, r = served_day.json("POST", f"/v1/alerts/{aid}/ack", hz, {"by": "王五", "note": "已签收"})
    assert status == 200 and r == {"alert_id": aid, "status": "acknowledged", "status_cn": "已签收", "changed": True}
    assert served_day.json("POST", f"/v1/alerts/{aid}/ack", hz, {"by": "王五"})[1]["changed"] is False
    assert served_day.json("POST", f"/v1/alerts/{aid}/disposition", hz,
                           {"kind": "advised", "by": "王五", "note": "已电话提醒告诫"})[1]["status"] == "advised"
    assert served_day.json("POST", f"/v1/alerts/{aid}/close", hz, {"by": "赵六", "note": "已整改"})[1]["status"] == "closed"
    _, detail = served_day.json("GET", f"/v1/alerts/{aid}", hz)
    moves = [(c["from"], c["to"], c["actor"], c["note"]) for c in detail["status_changes"]]
    assert moves == [("new", "acknowledged", f"王五（{HANGZHOU}）", "已签收"),
                     ("acknowledged", "advised", f"王五（{HANGZHOU}）", "已电话提醒告诫"),
                     ("advised", "closed", f"赵六（{HANGZHOU}）", "已整改")]
    assert detail["allowed"] == []
    with open_store(str(served_day.db)) as store:
        assert len(store.status_changes(aid)) == 3
        assert store.verify() is None  # the audit chain holds


def test_bad_requests_are_400(served_day: Any) -> None:
    hz = served_day.tokens[HANGZHOU]
    for query in ("severity=huge", "limit=0", "limit=abc", "since=yesterday", "region=33", "until=2026-02-30",
                  "status=open"):
        assert served_day.json("GET", f"/v1/alerts?{query}", hz)[0] == 400, query
    aid = _all(served_day, hz)[0]["alert_id"]
    for body in ({}, {"by": ""}, {"by": "张三", "extra": 1}, {"by": 5}, {"by": "张三", "kind": "case_opened"}):
        assert served_day.json("POST", f"/v1/alerts/{aid}/ack", hz, body)[0] == 400, body
    assert served_day.json("GET", "/v1/alerts/not-an-id", hz)[0] == 400
    assert served_day.json("GET", "/v1/alerts", None)[0] == 401
    assert served_day.json("GET", "/v1/alerts", served_day.platform_key)[0] == 401  # a platform key is no bureau token


def test_filters_detail_evidence_and_referral(served_day: Any) -> None:
    hz = served_day.tokens[HANGZHOU]
    high = _all(served_day, hz, "&severity=high")
    assert high and all(a["severity"] in ("high", "critical") for a in high)
    ads = _all(served_day, hz, "&family=advertising")
    assert ads and all(a["family"] == "advertising" for a in ads)
    times = [a["event_time"] for a in _all(served_day, hz)]
    assert times == sorted(times, reverse=True)
    # an advertising alert's matched terms are highlighted where they occur in the original text
    detail = None
    for a in ads:
        _, d = served_day.json("GET", f"/v1/alerts/{a['alert_id']}", hz)
        if any(e["spans"] for e in d["evidence"]):
            detail = d
            break
    assert detail is not None
    originals = {m["original"] for m in detail["alert"]["matched"]}
    for e in detail["evidence"]:
        for s, t in e["spans"]:
            assert e["text"][s:t] in originals
    assert detail["versions"][0]["version"] == 1 and detail["alert"]["legal_basis"]
    status, package = served_day.json("GET", f"/v1/alerts/{detail['alert']['alert_id']}/referral", hz)
    assert status == 200 and package["format"] == "hongdun-referral"
    assert package["missing_source_event_ids"] == []  # the service kept the source events as posted
    from engine.alerts.referral import verify_referral

    assert verify_referral(package) == []


def test_daily_stats_and_metrics(served_day: Any) -> None:
    hz = served_day.tokens[HANGZHOU]
    status, daily = served_day.json("GET", "/v1/stats/daily?days=3", hz)
    assert status == 200 and len(daily["days"]) == 3
    assert sum(map(sum, daily["series"].values())) == len(_all(served_day, hz, "&since=" + daily["days"][0]))
    status, headers, svg = served_day.request("GET", "/v1/stats/daily?days=3&format=svg", hz)
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml") and b"<svg" in svg
    status, _, text = served_day.request("GET", "/metrics")
    metrics = text.decode()
    events = sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith("hongdun_events_total{"))
    assert events == served_day.extra["status"]["processed"]  # every event the pipeline took, by type
    for name in ("hongdun_rejects_total", "hongdun_alerts_total", "hongdun_batch_seconds_bucket", "hongdun_pack_info",
                 "hongdun_ingest_queue_depth", "hongdun_ingest_accepted_total"):
        assert name in metrics, name
