"""The stream is valid schema v1, in arrival order, and malformed lines are exactly the recorded ones."""
from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

import msgspec
import orjson

from engine.events.schema import Event
from engine.events.uscc import is_valid_uscc
from engine.simulate import MAX_JITTER_S, Simulation, run_simulation

from .conftest import Run, make_run

_decode = msgspec.json.Decoder(Event).decode


def _valid(line: bytes) -> bool:
    try:
        event = _decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return False
    return event.merchant.uscc is None or is_valid_uscc(event.merchant.uscc)


def _ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


def test_lines_are_single_jsonl_records(day_run: Run) -> None:
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in day_run.lines)


def test_every_good_line_decodes_and_malformed_lines_are_exactly_the_recorded_ones(day_run: Run) -> None:
    failing = {i for i, line in enumerate(day_run.lines, 1) if not _valid(line)}
    recorded = {t["line"] for t in day_run.truth if t["label"] == "malformed"}
    assert recorded, "bad_rate > 0 should damage some lines"
    assert failing == recorded


def test_malformed_reasons_match_the_engine_decoder(day_run: Run) -> None:
    from engine.errors import Location
    from engine.events.decode import EventDecoder

    decoder = EventDecoder()
    for t in day_run.truth:
        if t["label"] != "malformed":
            continue
        result = decoder.decode(day_run.lines[t["line"] - 1], Location(line=t["line"]))
        assert getattr(result, "reason", None) == t["reason"], (t, result)


def test_malformed_kinds_are_all_represented(day_run: Run) -> None:
    kinds = Counter(t["kind"] for t in day_run.truth if t["label"] == "malformed")
    assert set(kinds) == {"garbage", "truncated", "invalid_utf8", "wrong_type", "bad_uscc", "unknown_event_type"}


def test_no_malformed_lines_without_bad_rate() -> None:
    sim = Simulation(merchants=30, hours=2, seed=3)
    lines = list(sim.lines())
    assert all(_valid(line) for line in lines)
    assert not [t for t in sim.truth() if t["label"] == "malformed"]


def test_arrival_order_and_bounded_jitter(day_run: Run) -> None:
    last_recv, high_water = 0.0, 0.0
    for doc in day_run.docs.values():
        occ, recv = _ts(doc["occurred_at"]), _ts(doc["received_at"])
        assert 0 <= recv - occ <= MAX_JITTER_S
        assert recv >= last_recv
        assert occ >= high_water - MAX_JITTER_S
        last_recv, high_water = recv, max(high_water, occ)


def test_event_ids_unique_and_truth_ids_exist(day_run: Run) -> None:
    ids = [d["event_id"] for d in day_run.docs.values()]
    assert len(ids) == len(set(ids))
    known = set(ids)
    for t in day_run.truth:
        if t["label"] != "malformed":
            assert t["event_ids"], t
            assert set(t["event_ids"]) <= known, t["incident_id"]


def test_truth_records_are_well_formed(day_run: Run) -> None:
    ids = [t["incident_id"] for t in day_run.truth]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    keys = {"incident_id", "label", "family", "kind", "merchant_id", "subject", "event_ids", "start", "end", "note"}
    for t in day_run.truth:
        assert keys <= set(t), t
        assert t["label"] in ("violation", "decoy", "anomaly", "malformed")
        assert _ts(t["start"]) <= _ts(t["end"])
        if t["label"] != "malformed":
            events = [day_run.by_id[e] for e in t["event_ids"]]
            if t["merchant_id"] is None:  # a professional claimant's complaints span merchants
                assert t["kind"] == "complaint_professional"
                assert {e["complainant_hash"] for e in events} == {t["subject"]}
            else:
                assert {e["merchant"]["merchant_id"] for e in events} == {t["merchant_id"]}


def test_warmup_emits_only_complaints_before_start(day_run: Run) -> None:
    start = day_run.sim.t0
    before = Counter(d["event_type"] for d in day_run.docs.values() if _ts(d["occurred_at"]) < start)
    assert set(before) == {"complaint"} and before["complaint"] > 20
    assert all(_ts(d["occurred_at"]) < day_run.sim.t1 for d in day_run.docs.values())


def test_summary_counts_match_the_stream(day_run: Run) -> None:
    summary = day_run.sim.summary()
    assert summary["lines"] == len(day_run.lines)
    assert summary["events_by_type"] == dict(sorted(Counter(d["event_type"] for d in day_run.docs.values()).items()))
    assert summary["malformed_lines"] == len(day_run.lines) - len(day_run.docs)
    kinds = Counter(f"{t['family']}/{t['kind']}" for t in day_run.truth if t["label"] != "malformed")
    assert summary["incidents_by_kind"] == dict(sorted(kinds.items()))
    families = Counter(t["family"] for t in day_run.truth if t["label"] != "malformed")
    assert summary["incidents_by_family"] == dict(sorted(families.items()))


def test_run_simulation_writes_the_same_bytes_as_lines() -> None:
    args = dict(merchants=25, hours=3, seed=11, bad_rate=0.01)
    out, truth, seen = io.BytesIO(), io.BytesIO(), []
    summary = run_simulation(out=out, truth_out=truth, progress=seen.append, **args)  # type: ignore[arg-type]
    sim = Simulation(**args)  # type: ignore[arg-type]
    assert out.getvalue() == b"".join(sim.lines())
    assert truth.getvalue() == b"".join(sim.truth_lines())
    assert summary == sim.summary()
    assert seen and seen[-1] == summary["lines"] and seen == sorted(seen)
    first = orjson.loads(truth.getvalue().splitlines()[0])
    assert list(first) == sorted(first)  # sorted keys


def test_fractional_hours_and_other_offsets() -> None:
    from datetime import timedelta, timezone

    start = datetime(2026, 6, 18, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    run = make_run(merchants=30, hours=1.5, seed=5, start=start)
    times = [_ts(d["occurred_at"]) for d in run.docs.values()]
    assert min(times) >= start.timestamp() and max(times) < start.timestamp() + 5400
    assert all(d["occurred_at"].endswith("+08:00") for d in run.docs.values())
