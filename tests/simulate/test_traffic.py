"""Background traffic looks like a platform feed: diurnal orders, order lifecycle, honest live rooms."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from .conftest import Run


def _ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


def _of(run: Run, etype: str) -> list[dict]:
    return [d for d in run.docs.values() if d["event_type"] == etype]


def test_orders_follow_the_daily_cycle(day_run: Run) -> None:
    by_hour = Counter(int(d["occurred_at"][11:13]) for d in _of(day_run, "order") if d["status"] == "paid")
    night = by_hour[3] + by_hour[4] + by_hour[5]
    morning = by_hour[10] + by_hour[11] + by_hour[12]
    evening = by_hour[20] + by_hour[21] + by_hour[22]
    assert morning > 4 * night and evening > 4 * night


def test_order_volume_is_heavy_tailed(day_run: Run) -> None:
    per_merchant = sorted(Counter(d["merchant"]["merchant_id"] for d in _of(day_run, "order")).values(), reverse=True)
    top = sum(per_merchant[: len(per_merchant) // 10])
    assert top > 0.35 * sum(per_merchant)


def test_order_lifecycle(day_run: Run) -> None:
    paid: dict[str, dict] = {}
    later = Counter()
    for d in _of(day_run, "order"):
        if d["status"] == "paid":
            paid[d["order_id_hash"]] = d
        else:
            later[d["status"]] += 1
            first = paid.get(d["order_id_hash"])
            if first is not None:  # its paid line may have been damaged
                assert d["paid_at"] == first["paid_at"] and _ts(d["occurred_at"]) > _ts(first["occurred_at"])
    n = len(paid)
    assert 0.02 * n < later["cancelled"] < 0.08 * n
    assert 0.003 * n < later["refunded"] < 0.15 * n  # most refunds come days later, after the run


def test_honest_rooms_and_metric_cadence(day_run: Run) -> None:
    fake = {e for t in day_run.truth if t["kind"] == "live_fake_viewers" for e in t["event_ids"]}
    sessions: dict[str, list[dict]] = defaultdict(list)
    for d in _of(day_run, "live_metrics"):
        sessions[d["session_id"]].append(d)
        if d["event_id"] not in fake:
            assert d["online_displayed"] <= 1.06 * d["online_measured"] + 1
            leavers = sum(d["dwell_hist"].values())
            if leavers >= 50:
                assert d["dwell_hist"]["lt_3s"] / leavers < 0.45
            assert d["new_acct_ratio"] < 0.4
    assert len(sessions) >= 10
    for metrics in sessions.values():
        times = sorted(_ts(m["occurred_at"]) for m in metrics)
        assert all((b - a) % 60 == 0 and b > a for a, b in zip(times, times[1:]))  # gaps: damaged lines
        assert sum(b - a == 60 for a, b in zip(times, times[1:])) >= 0.95 * (len(times) - 1) - 1  # short sessions: one damaged line


def test_utterances_every_10_to_20_seconds(day_run: Run) -> None:
    by_session: dict[str, list[float]] = defaultdict(list)
    for d in _of(day_run, "live_utterance"):
        by_session[d["session_id"]].append(_ts(d["occurred_at"]))
    gaps = [b - a for times in by_session.values() for a, b in zip(sorted(times), sorted(times)[1:])]
    assert gaps and sum(10 <= g <= 20 for g in gaps) / len(gaps) > 0.98


def test_live_orders_buy_the_item_on_the_link(day_run: Run) -> None:
    live = [d for d in _of(day_run, "order") if d.get("live_session_id")]
    assert live
    items = defaultdict(set)
    for d in _of(day_run, "live_metrics"):
        items[d["session_id"]].add((d["current_item_id"], d["link_price"]))
    for d in live:
        assert (d["sku_id"], d["unit_paid_price"]) in items[d["live_session_id"]] or not items[d["live_session_id"]]


def test_complaints_are_rare_and_diverse(day_run: Run) -> None:
    injected = {e for t in day_run.truth for e in t["event_ids"]}
    complaints = [
        d for d in _of(day_run, "complaint") if _ts(d["occurred_at"]) >= day_run.sim.t0 and d["event_id"] not in injected
    ]
    orders = [d for d in _of(day_run, "order") if d["status"] == "paid"]
    assert len(complaints) < 0.01 * len(orders)
    cats = Counter(d["problem_cat"] for d in complaints)
    assert len(cats) >= 6 and cats.most_common(1)[0][0] in ("质量", "售后服务")
    assert len({d["complainant_hash"] for d in complaints}) > 0.9 * len(complaints)
