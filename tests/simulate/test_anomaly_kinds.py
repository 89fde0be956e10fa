"""Anomaly kinds (label "anomaly") carry their statistical signal, and adding them changed nothing else."""
from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from datetime import datetime

import orjson
import pytest

from engine.simulate import RATE_PER_1000, Simulation

from .conftest import Run

ANOMALY_KINDS = (
    "live_engagement_too_regular", "live_engagement_mismatch", "price_small_steps", "price_far_from_category",
    "complaint_mix_shift",
)
#: sha256 over the sorted-key JSONL truth records of every non-anomaly incident of
#: Simulation(merchants=300, hours=24, seed=1), computed before the anomaly kinds existed (261 records).
GOLDEN_EXISTING_TRUTH = "1b8db542930af4df446b26e645fb39a008684aa02fcba2bf069b56e2772b409a"
GOLDEN_EXISTING_COUNT = 261


def _ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


def _cv(xs: list[float]) -> float:
    return statistics.pstdev(xs) / statistics.fmean(xs)


def _incidents(run: Run, kind: str) -> list[dict]:
    found = [t for t in run.truth if t["kind"] == kind]
    assert found, kind
    return found


def _events(run: Run, t: dict) -> list[dict]:
    assert t["event_ids"], t
    return sorted((run.by_id[e] for e in t["event_ids"]), key=lambda d: _ts(d["occurred_at"]))


@pytest.fixture(scope="module")
def idx(day_run: Run) -> dict:
    metrics: dict[str, list[dict]] = defaultdict(list)
    listings: dict[str, list[dict]] = defaultdict(list)
    complaints: dict[str, list[dict]] = defaultdict(list)
    for d in day_run.docs.values():
        et = d["event_type"]
        if et == "live_metrics":
            metrics[d["session_id"]].append(d)
        elif et == "listing":
            listings[d["sku_id"]].append(d)
        elif et == "complaint":
            complaints[d["merchant"]["merchant_id"]].append(d)
    for v in (*metrics.values(), *listings.values(), *complaints.values()):
        v.sort(key=lambda d: _ts(d["occurred_at"]))
    return {"metrics": metrics, "listings": listings, "complaints": complaints}


def test_every_anomaly_kind_is_in_the_day_run(day_run: Run) -> None:
    kinds = Counter(t["kind"] for t in day_run.truth if t["label"] == "anomaly")
    assert set(kinds) == set(ANOMALY_KINDS)
    for t in day_run.truth:
        if t["label"] == "anomaly":
            assert t["family"] == "anomaly" and t["merchant_id"] and t["event_ids"]
    assert {k for (f, k, label) in RATE_PER_1000 if label == "anomaly"} == set(ANOMALY_KINDS)
    # planned last: every anomaly incident id comes after every other incident id
    last_other = max(t["incident_id"] for t in day_run.truth if t["label"] in ("violation", "decoy"))
    assert min(t["incident_id"] for t in day_run.truth if t["label"] == "anomaly") > last_other


def test_anomaly_events_belong_to_no_other_incident(day_run: Run) -> None:
    owner: Counter[str] = Counter(e for t in day_run.truth if t["label"] != "malformed" for e in t["event_ids"])
    for t in day_run.truth:
        if t["label"] == "anomaly":
            assert all(owner[e] == 1 for e in t["event_ids"]), t["incident_id"]


def test_too_regular_room_is_almost_constant(day_run: Run) -> None:
    for t in _incidents(day_run, "live_engagement_too_regular"):
        ev = _events(day_run, t)
        assert len(ev) >= 15 and {d["event_type"] for d in ev} == {"live_metrics"}
        assert len({d["session_id"] for d in ev}) == 1
        gaps = {_ts(b["occurred_at"]) - _ts(a["occurred_at"]) for a, b in zip(ev, ev[1:])}
        assert gaps == {60.0}, gaps  # one contiguous span
        for field in ("comment_cnt", "like_cnt", "enter_uv", "online_measured"):
            assert _cv([d[field] for d in ev]) < 0.03, (t["incident_id"], field)
        assert _cv([d["comment_cnt"] / d["online_measured"] for d in ev]) < 0.03
        assert _cv([d["comment_uv"] / d["online_measured"] for d in ev]) < 0.03
        for d in ev:  # nothing LV-01 reads
            assert d["online_measured"] <= d["online_displayed"] <= 1.05 * d["online_measured"] + 1  # honest (background)
            dh = d["dwell_hist"]
            assert dh["lt_3s"] <= 0.6 * sum(dh.values()) and d["new_acct_ratio"] <= 0.4


def test_background_rooms_are_not_that_regular(idx: dict, day_run: Run) -> None:
    tagged = {e for t in day_run.truth if t["label"] != "malformed" for e in t["event_ids"]}
    regular = 0
    for ms in idx["metrics"].values():
        ms = [d for d in ms if d["event_id"] not in tagged]
        for i in range(0, len(ms) - 15, 15):
            w = ms[i:i + 15]
            if min(d["comment_cnt"] for d in w) > 0 and all(
                _cv([d[f] for d in w]) < 0.03 for f in ("comment_cnt", "like_cnt", "enter_uv")
            ):
                regular += 1
    assert regular == 0


def test_engagement_mismatch_likes_far_above_room_level(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "live_engagement_mismatch"):
        ev = _events(day_run, t)
        assert len(ev) >= 15 and {d["event_type"] for d in ev} == {"live_metrics"}
        sid = ev[0]["session_id"]
        ids = set(t["event_ids"])
        rest = [d["like_cnt"] / d["online_measured"] for d in idx["metrics"][sid] if d["event_id"] not in ids]
        normal = statistics.median(rest)
        ratios = [d["like_cnt"] / d["online_measured"] / normal for d in ev]
        assert statistics.median(ratios) >= 10 and min(ratios) >= 8 and max(ratios) <= 35, (t["incident_id"], ratios)
        for d in ev:
            assert d["comment_uv"] / d["online_measured"] < 0.01
            assert d["online_measured"] <= d["online_displayed"] <= 1.05 * d["online_measured"] + 1  # honest (background)


def test_price_small_steps(day_run: Run, idx: dict) -> None:
    for t in _incidents(day_run, "price_small_steps"):
        ev = _events(day_run, t)
        assert len(ev) >= 6
        for d in ev:
            assert d["event_type"] == "listing" and d["change_type"] == "price_update"
            assert d["sku_id"] == t["subject"] and "ref_price" not in d and "promo" not in d
        prices = [d["display_price"] for d in ev]
        for a, b in zip(prices, prices[1:]):
            assert 1.02 <= b / a <= 1.04, (t["incident_id"], prices)
        # the first step is a step too: from the listing shown before it (6+ steps in all)
        before = [d for d in idx["listings"][t["subject"]] if _ts(d["occurred_at"]) < _ts(ev[0]["occurred_at"])]
        assert before and 1.02 <= prices[0] / before[-1]["display_price"] <= 1.04
        assert all("ref_price" not in d for d in idx["listings"][t["subject"]])


def test_price_far_from_category(day_run: Run, idx: dict) -> None:
    prices: dict[str, list[float]] = defaultdict(list)
    for ls in idx["listings"].values():
        prices[ls[0]["category_std"]].append(ls[0]["display_price"])
    for t in _incidents(day_run, "price_far_from_category"):
        ev = _events(day_run, t)
        assert {d["event_type"] for d in ev} == {"listing"}
        assert {d["event_id"] for d in idx["listings"][t["subject"]]} == set(t["event_ids"])  # every snapshot
        for d in ev:
            ratio = d["display_price"] / statistics.median(prices[d["category_std"]])
            assert 5 <= ratio <= 20, (t["incident_id"], ratio)
            assert "ref_price" not in d and "promo" not in d


def test_complaint_mix_shift(day_run: Run, idx: dict) -> None:
    t0 = _ts(day_run.sim.summary()["start"])
    for t in _incidents(day_run, "complaint_mix_shift"):
        ev = _events(day_run, t)
        assert 3 <= len(ev) <= 6 and {d["event_type"] for d in ev} == {"complaint"}
        cats = Counter(d["problem_cat"] for d in ev)
        assert t["subject"] in ("食品安全", "安全") and cats[t["subject"]] > len(ev) / 2
        day = [d for d in idx["complaints"][t["merchant_id"]] if _ts(d["occurred_at"]) >= t0 and d["kind"] != "咨询"]
        assert len(day) < 10
        people: dict[str, set[str]] = defaultdict(set)
        for d in day:
            people[d["problem_cat"]].add(d["complainant_hash"])
        assert max(len(v) for v in people.values()) < 5


def test_existing_kinds_unchanged_by_anomaly_kinds() -> None:
    sim = Simulation(merchants=300, hours=24, seed=1)
    recs = [r for r in sim.truth() if r["label"] != "anomaly"]
    h = hashlib.sha256()
    for r in recs:
        h.update(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n")
    assert (len(recs), h.hexdigest()) == (GOLDEN_EXISTING_COUNT, GOLDEN_EXISTING_TRUTH)
    assert {r["kind"] for r in sim.truth() if r["label"] == "anomaly"} == set(ANOMALY_KINDS)


def test_anomaly_truth_is_deterministic() -> None:
    def anomalies() -> list[dict]:
        return [r for r in Simulation(merchants=120, hours=12, seed=5).truth() if r["label"] == "anomaly"]

    first = anomalies()
    assert first and first == anomalies()
